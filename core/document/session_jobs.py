"""A session's long jobs: open a song, analyse it, update the network, go back to the base model.

Each is a generator yielding :class:`~core.progress.Progress` that stops at the next step once its
:class:`~core.progress.CancelFlag` is set. A job snapshots what it needs when it starts and commits
to the session only if the song is still the one it started on (``session._still_current``), so
opening another song while a job runs is safe. Commits happen in the thread that runs the job
and emit the session's events there.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..audio.envelope import MinMaxPyramid
from ..audio.io import Audio, check_not_silent, load_audio, to_mono
from ..child_process import ChildProcess
from ..errors import Cancelled, IsoldeError, ProjectError
from ..progress import CancelFlag, Job, Progress, scaled
from ..separation.corrections import Corrections

#: Rough costs used to split Update DNN's progress bar between its two steps, so that the
#: fraction grows about evenly with time and a time-left estimate holds from the start: seconds
#: per adaptation step, and for separating, a fixed part plus a part per second of song
#: (``benchmarks/update_dnn_speed.py`` on a 2-core CPU, the melody's pitch measured again: 12
#: steps in 1.7-2.6 s; a 4-minute song separated again in 6.4-7.0 s, a 24-second one in
#: 0.7-1.0 s; only the ratios matter).
ADAPT_SECONDS_PER_STEP = 0.18
SEPARATE_SECONDS_FIXED = 0.2
SEPARATE_SECONDS_PER_SONG_SECOND = 0.027
#: Songs longer than this (s) have their beats tracked in a child process (see analyse_iter).
BEATS_IN_CHILD_SECONDS = 30.0
ADAPT_MODULE = "core.separation.adapt"


def adapt_available() -> bool:
    """Whether :mod:`core.separation.adapt` (Update DNN's fine-tuning) is in this build."""
    return importlib.util.find_spec(ADAPT_MODULE) is not None


@dataclass(frozen=True)
class Stage:
    """A separation result with the model that produced it (one side of an A/B comparison).

    envelopes : the result's waveform envelopes by name, kept so that swapping is instant
    """

    result: object  # core.separation.separate.SeparationResult
    model: object   # core.separation.models.JointModel
    envelopes: dict = field(default_factory=dict)


def cancellable(job: Job, cancel: CancelFlag | None) -> Job:
    """Pass a job's progress through, raising :class:`Cancelled` between steps once asked to."""
    while True:
        if cancel is not None and cancel.is_set():
            job.close()
            raise Cancelled("Cancelled; nothing was changed")
        try:
            report = next(job)
        except StopIteration as stop:
            return stop.value
        yield report


def open_iter(session, path: str | Path, *, expected_sha256: str | None = None,
              cancel: CancelFlag | None = None, validate=None) -> Job[Audio]:
    """Read a song and make it the document; then compute the editor's background.

    validate : called with the :class:`Audio` before anything changes; what it raises stops
        the opening with the session as it was.

    Emits "audio" (plus "corrections", "model", "view": all reset) once the samples are in,
    then "analysis" when the background is ready. The adapted model, if any, is dropped: it
    belongs to the song it learnt from.
    """
    from .background import spectrogram_on_f0_grid
    from ..separation.models.store import sha256_of
    from ..separation.separate import model_input

    path = Path(path)
    yield Progress("opening", 0.0, path.name)
    audio = load_audio(path)
    sha = sha256_of(path)
    if expected_sha256 is not None and sha != expected_sha256:
        raise ProjectError(f"The song changed since the project was saved: {path}")
    yield Progress("opening", 0.3, path.name)
    envelope = MinMaxPyramid(audio.samples, audio.sample_rate)
    if cancel is not None and cancel.is_set():
        raise Cancelled("Opening was cancelled")
    if validate is not None:
        validate(audio)
    with session._lock:
        session._generation += 1
        generation = session._generation
        session.audio, session.audio_sha256, session._mono16 = audio, sha, None
        session._segment_spectra = None
        session.result = session.previous = session.beats = session.background = None
        session._envelopes = {"mixture": envelope}
        session.history.reset(Corrections())
        session._saved_corrections = session.history.current
        session.model = session.base_model
        session.view = replace(session.view, time_range=None, selection=None)
        session.project_path = None
    for name in ("audio", "corrections", "model", "view"):
        session.events.emit(name)
    yield Progress("spectrogram", 0.5, path.name)
    mono16 = model_input(audio)
    background = spectrogram_on_f0_grid(mono16)
    with session._lock:
        session._still_current(generation)
        session._mono16, session.background = mono16, background
    session.events.emit("analysis")
    yield Progress("spectrogram", 1.0, path.name)
    return audio


def _separate(session, audio, model, corrections, generation, cancel, mono16=None) -> Job:
    """Separate with ``model``, steered by ``corrections``; returns a Stage (not committed).
    mono16 : what the networks hear of ``audio``, when the caller has it (the session keeps it)."""
    from ..separation.separate import separate_iter
    check_not_silent(audio)
    device = session.device
    model.to(device)
    job = separate_iter(audio, model, device=device, with_beats=False,
                        corrections=corrections, mono16=mono16)
    result = yield from cancellable(job, cancel)
    result.meta["corrections"] = corrections  # what the stems were made with (core.document.preview)
    # Envelopes here, in the job's thread: a long song's take ~0.1 s.
    envelopes = {"vocals": MinMaxPyramid(result.vocals, audio.sample_rate),
                 "accompaniment": MinMaxPyramid(result.accompaniment, audio.sample_rate)}
    session._still_current(generation)
    return Stage(result, model, envelopes)


def _warm_segment_spectra(session, n_frames: int) -> None:
    """Compute the spectrum the stroke previews search
    (:class:`core.document.preview.SegmentSpectra`) here, in the analysis's thread, so that the
    first stroke is as quick as the next ones (0.1-0.16 s for a 4-minute song)."""
    from ..separation.separate import exemplar_segments

    session.segment_spectra().segment(*exemplar_segments(n_frames)[0])


def analyse_iter(session, cancel: CancelFlag | None = None) -> Job[object]:
    """Separate the song with the current model, then track beats (once per song).

    Emits "separation" as soon as the stems and F0 are in, then "beats".
    Returns the :class:`~core.separation.separate.SeparationResult`.

    For songs longer than :data:`BEATS_IN_CHILD_SECONDS` the beats are tracked in a child
    process, started first so that it runs beside the separation at a lower priority: madmom
    holds the GIL for up to a second at a time, which would freeze the editor in a thread.
    """
    from ..music.beats import track_beats, track_beats_iter

    audio, model, corrections, generation = session._start_job()
    beats_child = None
    if session.beats is None and audio.duration_seconds > BEATS_IN_CHILD_SECONDS:
        beats_child = ChildProcess(track_beats, to_mono(audio.samples), audio.sample_rate,
                                   nice=10, name="isolde-beats")
    try:
        stage = yield from scaled(_separate(session, audio, model, corrections, generation,
                                            cancel), 0.0, 0.8)
        session.commit_stage(stage, generation, keep_previous=False)
        _warm_segment_spectra(session, stage.result.analysis.n_frames)
        if session.beats is None:
            if beats_child is not None:
                job = beats_child.wait_iter("beats", cancel=cancel,
                                            expected_seconds=3.0 + 0.04 * audio.duration_seconds)
            else:
                job = cancellable(track_beats_iter(audio.samples, audio.sample_rate), cancel)
            grid = yield from scaled(job, 0.8, 1.0)
            with session._lock:
                session._still_current(generation)
                session.beats = grid
            session.events.emit("beats")
    finally:
        if beats_child is not None:
            beats_child.stop()
    yield Progress("done", 1.0)
    return stage.result


def _adapt_config(session, adapt):
    """Adaptation settings from the user's settings (None = the module's defaults)."""
    steps = getattr(session.settings, "adapt_steps", None)
    config_type = getattr(adapt, "AdaptConfig", None)
    if steps is None or config_type is None \
            or steps == getattr(adapt, "DEFAULT_ADAPT_STEPS", None):
        return None
    try:
        return config_type(steps=int(steps))
    except TypeError:
        return None


def adapt_share(steps: int, song_seconds: float) -> float:
    """The part of Update DNN's progress bar given to adaptation (the rest is separation), in
    proportion to the expected time of each; between 0.1 and 0.9."""
    adapt = ADAPT_SECONDS_PER_STEP * max(int(steps), 1)
    separate = SEPARATE_SECONDS_FIXED + SEPARATE_SECONDS_PER_SONG_SECOND * float(song_seconds)
    return min(max(adapt / (adapt + separate), 0.1), 0.9)


def update_dnn_iter(session, cancel: CancelFlag | None = None) -> Job[object]:
    """Fine-tune the base model on the corrections, then separate again ("Update DNN").

    The adaptation always starts from the base model with all the corrections, so the result
    depends on the corrections only, not on how often the button was pressed. The result and
    model before the update are kept in ``session.previous`` (A/B, ``session.undo_update``).
    """
    if not adapt_available():
        raise IsoldeError(f"Updating the network needs {ADAPT_MODULE}, which this build lacks")
    adapt = importlib.import_module(ADAPT_MODULE)
    audio, _, corrections, generation = session._start_job(need_result=True)
    if corrections.is_empty:
        raise IsoldeError("Correct the F0 first (draw or delete some of it): the update "
                          "learns from your corrections")
    config = _adapt_config(session, adapt)
    steps = config.steps if config is not None else getattr(adapt, "DEFAULT_ADAPT_STEPS", 12)
    split = adapt_share(steps, audio.duration_seconds)
    mono16 = session.model_input()
    job = adapt.adapt_iter(session.base_model, mono16, corrections,
                           config=config, device=str(session.device), cancel=cancel)
    adapted = yield from scaled(cancellable(job, cancel), 0.0, split)
    stage = yield from scaled(_separate(session, audio, adapted, corrections, generation, cancel,
                                        mono16), split, 1.0)
    session.commit_stage(stage, generation, keep_previous=True)
    return stage.result


def reset_model_iter(session, cancel: CancelFlag | None = None) -> Job[object]:
    """Go back to the base model and separate again (the current result becomes "previous")."""
    audio, _, corrections, generation = session._start_job()
    stage = yield from _separate(session, audio, session.base_model, corrections, generation,
                                 cancel)
    session.commit_stage(stage, generation, keep_previous=True)
    return stage.result


def preview_iter(session, cancel: CancelFlag | None = None) -> Job[bool]:
    """Re-separate the stretch whose corrections changed since the stems were made.

    See :mod:`core.document.preview`. Writes the new vocals into the current result in place (a player
    reading the stems hears them at once), rebuilds the stems' envelopes and emits "stems".
    Returns False when there was nothing to do or the result changed meanwhile.
    """
    from .preview import apply_update, changed_frames, reseparate_iter

    with session._lock:
        audio, model, result = session.audio, session.model, session.result
        corrections, generation = session.corrections, session._generation
    if audio is None or model is None or result is None:
        return False
    heard = result.meta.get("corrections")
    changed = changed_frames(heard or Corrections(), corrections, result.analysis.n_frames)
    if changed is None:
        return False
    job = reseparate_iter(model, audio.samples, audio.sample_rate, session.model_input(),
                          result.analysis, result.analysis.network_f0_hz(), corrections,
                          *changed, device=session.device, spectra=session.segment_spectra())
    update = yield from cancellable(job, cancel)
    with session._lock:
        session._still_current(generation)
        if session.result is not result or result.meta.get("corrections") is not heard:
            return False  # a new separation, or another preview, came in meanwhile
        apply_update(result, audio.samples, update)
        result.meta["corrections"] = corrections
    envelopes = {"vocals": MinMaxPyramid(result.vocals, audio.sample_rate),
                 "accompaniment": MinMaxPyramid(result.accompaniment, audio.sample_rate)}
    with session._lock:
        if session.result is result:
            session._envelopes.update(envelopes)
    session.events.emit("stems")
    return True
