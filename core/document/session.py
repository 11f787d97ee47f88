"""The document: one song, its analysis, the user's corrections and the (adapted) model.

The editor and the tests drive the same :class:`Session`. Views observe it through
``session.events`` (names in :data:`core.document.events.EVENT_NAMES`) and send it commands; long
work is a generator (``open_iter``, ``analyse_iter``, ``update_dnn_iter``, ``export_iter``; written
in :mod:`core.document.session_jobs` and :mod:`core.document.session_export`) that yields
:class:`~core.progress.Progress`, can be cancelled with a :class:`~core.progress.CancelFlag`
between steps, and commits its result to the session at its end, emitting events from whatever
thread ran it. Project and recovery files are in :mod:`core.document.session_files`. Edits
(``draw``, ``erase``, ``clear``, ``shift_octaves``, ``next_candidate``, ``undo``, ``redo``) are
quick and meant for the thread that owns the views.

A job snapshots what it needs when it starts and commits only if the song is still the one it
started on, so opening another song while a job runs is safe. This module imports no Qt.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..audio import spectral
from ..audio.envelope import MinMaxPyramid
from ..audio.io import Audio
from ..errors import Cancelled, CorrectionsError, IsoldeError, ModelError
from ..music.bars import nearest_beat
from ..progress import CancelFlag, Job
from ..separation.corrections import Corrections, clamp_f0, f0_outside_range, range_problem
from . import session_jobs, settings_access
from .events import EventHub
from .f0_candidates import Candidate, f0_candidates
from .f0_edits import corrected_frames, shift_octaves, snap_to_ridge, snap_to_semitones
from .history import History
from .session_jobs import Stage, adapt_available
from .view_state import MIDI_LIMITS, ViewState


def describe_device(device) -> str:
    """"CPU" or "GPU: <name>" for the status bar."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    return "CPU"


#: The pitch range fitted to a melody spans at least this many semitones...
FIT_MIN_SEMITONES = 24.0
#: ...with this margin (semitones) above and below the melody's 2nd and 98th percentiles.
FIT_MARGIN_SEMITONES = 4.0

#: Waveform envelopes that belong to a separation result.
STAGE_ENVELOPES = ("vocals", "accompaniment")
#: What :meth:`Session.next_candidate` calls the F0 as it was before the cycle began.
AS_BEFORE = "as before"


@dataclass
class CandidateCycle:
    """Consecutive "Next candidate" presses on one selection: the candidates found when the first
    press came, the frame times they cover, which one is shown (``len(candidates)``: none, the F0
    as before), and the corrections and result it was shown on (another edit starts a new cycle)."""

    key: object
    selection: tuple[float, float]
    times: np.ndarray
    candidates: list[Candidate]
    index: int
    shown: Corrections
    result: object


class Session:
    """The open song and everything the editor knows about it.

    audio : the song (None before one is opened); audio_sha256 : hex digest of its file
    result : the current :class:`~core.separation.separate.SeparationResult` (None before analysis)
    previous : the result and model before the last update, for A/B and "undo update"
    beats : :class:`~core.music.beats.BeatGrid` or None
    background : log spectrogram on the F0 grid, float32 (N_F0_BINS, n_frames) in [0, 1]
    base_model / model : the model as loaded, and the one in use (an adapted copy after updates)
    """

    def __init__(self, *, settings=None, recovery_dir: str | Path | None = None) -> None:
        self.events = EventHub()
        self.settings = settings if settings is not None else settings_access.load()
        self.recovery_dir = recovery_dir
        self.audio: Audio | None = None
        self.audio_sha256: str | None = None
        self.result = None
        self.previous: Stage | None = None
        self.beats = None
        self.background: np.ndarray | None = None
        self.base_model = None
        self.model = None
        self.model_path: Path | None = None
        self.model_problem: str | None = None
        self.history: History[Corrections] = History(Corrections())
        self.view = ViewState()
        self.project_path: Path | None = None
        #: Something the last project open wants the user to know (a model it could not use).
        self.open_notice: str | None = None
        #: SHA-256 of the song whose recovery copy is being offered to the user (kept meanwhile).
        self.recovery_offered: str | None = None
        self._saved_corrections = self.history.current
        self._mono16: np.ndarray | None = None
        self._segment_spectra = None  # core.document.preview.SegmentSpectra, see segment_spectra
        self._envelopes: dict[str, MinMaxPyramid] = {}
        self._generation = 0
        self._lock = threading.RLock()
        self._swapped = False  # A/B: the previous result is the one in use
        self._confidence_cache: tuple | None = None  # (result, its per-frame confidence)
        self._candidate_cycle: CandidateCycle | None = None

    # ------------------------------------------------------------------ state
    @property
    def corrections(self) -> Corrections:
        return self.history.current

    @property
    def duration(self) -> float:
        return self.audio.duration_seconds if self.audio is not None else 0.0

    @property
    def is_dirty(self) -> bool:
        """Corrections changed since the project was last saved or opened."""
        return self.corrections is not self._saved_corrections

    @property
    def is_adapted(self) -> bool:
        return self.model is not None and self.model is not self.base_model

    @property
    def ab_state(self) -> str | None:
        """Which side of the A/B comparison is in use: "latest" (the newest result, e.g. after
        Update DNN), "previous" (swapped back with ``swap_ab``), or None without a previous one."""
        if self.previous is None or self.result is None:
            return None
        return "previous" if self._swapped else "latest"

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    @property
    def device(self):
        from ..separation.separate import pick_device

        return pick_device(getattr(self.settings, "device", "auto"))

    def frame_times(self) -> np.ndarray:
        """Analysis frame times (s), shape (n_frames,): the result's, or the song's frame grid."""
        if self.result is not None:
            return self.result.frame_times
        if self.audio is None:
            return np.zeros(0)
        n = spectral.n_frames_for(int(round(self.duration * spectral.MODEL_SAMPLE_RATE)))
        return spectral.frame_times(n)

    def estimated_f0(self) -> np.ndarray:
        """The network's F0 (Hz, 0 = no voice) per frame; zeros before analysis."""
        return np.asarray(self.result.f0_hz) if self.result is not None \
            else np.zeros(len(self.frame_times()))

    def f0_confidence(self) -> np.ndarray:
        """How sure the network is of each frame's F0 (0..1, :mod:`core.separation.confidence`); 1
        where the user corrected it; zeros before analysis."""
        times = self.frame_times()
        if self.result is None or self.result.analysis.f0_saliency is None:
            return np.zeros(len(times), dtype=np.float32)
        cached = self._confidence_cache
        if cached is None or cached[0] is not self.result:
            cached = (self.result, self.result.analysis.f0_confidence())
            self._confidence_cache = cached
        corrected, _ = corrected_frames(self.corrections, times)
        return np.where(corrected, np.float32(1.0), cached[1])

    def doubtful_stretches(self) -> list[tuple[float, float]]:
        """Uncorrected stretches where the F0 is most likely wrong, longest first (s)."""
        from ..separation.confidence import doubtful_stretches

        end = self.duration
        return [(t0, min(t1, end)) for t0, t1 in
                doubtful_stretches(self.frame_times(), self.f0_confidence()) if t0 < end]

    def effective_f0(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frame times s, F0 Hz the user sees, corrected bool) per analysis frame."""
        times = self.frame_times()
        corrected, f0 = corrected_frames(self.corrections, times)
        return times, np.where(corrected, f0, self.estimated_f0()), corrected

    def model_input(self) -> np.ndarray:
        """The 16 kHz mono signal the model hears (cached per song)."""
        from ..separation.separate import model_input

        if self.audio is None:
            raise IsoldeError("Open a song first")
        if self._mono16 is None:
            self._mono16 = model_input(self.audio)
        return self._mono16

    def segment_spectra(self):
        """The song's spectrum for the stroke previews, kept between them
        (:class:`core.document.preview.SegmentSpectra`; a new one for a new song)."""
        from .preview import SegmentSpectra

        spectra = self._segment_spectra = SegmentSpectra.of_song(self._segment_spectra,
                                                                 self.model_input())
        return spectra

    def envelope(self, name: str) -> MinMaxPyramid | None:
        """Waveform envelope of "mixture", "vocals" or "accompaniment" (None if not there yet)."""
        return self._envelopes.get(name)

    # ------------------------------------------------------------------ model
    def load_model(self, path: str | Path | None = None) -> None:
        """Load the base model (the bundled one when ``path`` is None); raises ModelError.

        On failure the reason stays in :attr:`model_problem` for the status bar.
        """
        from ..separation.model_files import load_checked_model as load_model
        from ..separation.models.store import DEFAULT_MODEL

        target = Path(path) if path is not None else DEFAULT_MODEL
        try:
            if path is None and not target.exists():
                raise ModelError(f"The trained model is missing ({target}); analysis and "
                                 "separation are off until it is installed")
            model = load_model(target, device="cpu")
        except ModelError as exc:
            self.model_problem = str(exc)
            self.events.emit("model")
            raise
        self.use_base_model(model, target)

    def use_base_model(self, model, path: Path | None) -> None:
        """Make an already loaded model the base model (and the one in use)."""
        with self._lock:
            self.base_model = self.model = model
            self.model_path, self.model_problem, self.previous = path, None, None
        self.events.emit("model")

    def model_card(self) -> dict | None:
        """The JSON card of the base model file, or None."""
        from ..separation.models.store import read_card

        if self.model_path is None:
            return None
        try:
            return read_card(self.model_path)
        except ModelError:
            return None

    # ------------------------------------------------------------------ jobs
    def _start_job(self, *, need_model: bool = True, need_result: bool = False):
        if self.audio is None:
            raise IsoldeError("Open a song first")
        if need_model and self.model is None:
            raise ModelError(self.model_problem or "No model is loaded")
        if need_result and self.result is None:
            raise IsoldeError("Wait for the analysis to finish first")
        return self.audio, self.model, self.corrections, self._generation

    def _still_current(self, generation: int) -> None:
        if generation != self._generation:
            raise Cancelled("Another song was opened; this result was dropped")

    def open_iter(self, path: str | Path, *, expected_sha256: str | None = None,
                  cancel: CancelFlag | None = None, validate=None) -> Job[Audio]:
        """Read a song and make it the document (see :func:`.session_jobs.open_iter`)."""
        self.open_notice = None
        return session_jobs.open_iter(self, path, expected_sha256=expected_sha256, cancel=cancel,
                                      validate=validate)

    def analyse_iter(self, cancel: CancelFlag | None = None) -> Job[object]:
        """Separate and track beats (see :func:`core.document.session_jobs.analyse_iter`)."""
        return session_jobs.analyse_iter(self, cancel)

    def update_dnn_iter(self, cancel: CancelFlag | None = None) -> Job[object]:
        """"Update DNN": adapt, then separate again (see :func:`.session_jobs.update_dnn_iter`)."""
        return session_jobs.update_dnn_iter(self, cancel)

    def preview_iter(self, cancel: CancelFlag | None = None) -> Job[bool]:
        """Hear the corrections at once (see :func:`core.session_jobs.preview_iter`)."""
        return session_jobs.preview_iter(self, cancel)

    def reset_model_iter(self, cancel: CancelFlag | None = None) -> Job[object]:
        """Back to the base model (see :func:`core.document.session_jobs.reset_model_iter`)."""
        return session_jobs.reset_model_iter(self, cancel)

    def commit_stage(self, stage: "Stage", generation: int, *, keep_previous: bool) -> None:
        """Make ``stage`` current (from a job); the current one becomes :attr:`previous`."""
        with self._lock:
            self._still_current(generation)
            if keep_previous and self.result is not None:
                self.previous = self._current_stage()
            self._restore(stage)
            self._swapped = False
        self.events.emit("model")
        self.events.emit("separation")

    def swap_ab(self) -> bool:
        """Exchange the current and the previous result (A/B listening); False if there is none."""
        with self._lock:
            if self.previous is None or self.result is None:
                return False
            current = self._current_stage()
            self._restore(self.previous)
            self.previous = current
            self._swapped = not self._swapped
        self.events.emit("model")
        self.events.emit("separation")
        return True

    def undo_update(self) -> bool:
        """Return to the result and model before the last update; False if there is none."""
        with self._lock:
            if self.previous is None:
                return False
            self._restore(self.previous)
            self.previous = None
            self._swapped = False
        self.events.emit("model")
        self.events.emit("separation")
        return True

    def _current_stage(self) -> "Stage":
        return Stage(self.result, self.model, {name: self._envelopes[name]
                                               for name in STAGE_ENVELOPES if name in self._envelopes})

    def _restore(self, stage: "Stage") -> None:
        self.result, self.model = stage.result, stage.model
        self._envelopes.update(stage.envelopes)

    def export_iter(self, outdir: str | Path, **options) -> Job[list[Path]]:
        """Write stems, F0 CSV and MIDI into ``outdir``; see :func:`.session_export.export_iter`."""
        from .session_export import export_iter

        return export_iter(self, outdir, **options)

    # ------------------------------------------------------------------ edits
    def _edit(self, corrections: Corrections, key=None) -> None:
        self.history.push(corrections, key)
        self.events.emit("corrections")

    def snap_span(self, t0: float, t1: float) -> tuple[float, float]:
        """``(t0, t1)`` (s) with each end moved to its nearest beat when snapping to beats is on
        and the song has beats; unchanged when both ends would land on the same beat."""
        if not self.view.snap_to_beats or self.beats is None:
            return float(t0), float(t1)
        a, b = nearest_beat(self.beats, t0), nearest_beat(self.beats, t1)
        return (a, b) if a != b else (float(t0), float(t1))

    def draw(self, times, f0_hz, *, stroke=None, free: bool = False) -> None:
        """Set the F0 (Hz) at ``times`` (s); everything corrected between them is replaced.

        stroke : any hashable naming the pen gesture; repeated calls with the same stroke (the
            whole stroke so far each time) make a single undo step.
        free : draw exactly what was given, even with the magnetic pen on
        With the magnetic pen on (``view.magnetic_pen``), each drawn F0 moves onto the nearest
        ridge of the song's picture within a semitone (:func:`core.document.f0_edits.snap_to_ridge`).
        With snapping to beats on, the drawn times are stretched so that the stroke starts and
        ends on the nearest beats (see :meth:`snap_span`).
        """
        times = np.asarray(times, dtype=np.float64)
        f0_hz = np.asarray(f0_hz, dtype=np.float64)
        if self.view.magnetic_pen and not free and self.background is not None:
            f0_hz = snap_to_ridge(times, f0_hz, self.background)
        if self.view.snap_to_semitones:
            f0_hz = snap_to_semitones(f0_hz)
        f0_hz = clamp_f0(f0_hz)  # the pen stops at the edges of the F0 range
        if len(times) > 1 and times[-1] > times[0]:
            a, b = self.snap_span(times[0], times[-1])
            times = a + (times - times[0]) * (b - a) / (times[-1] - times[0])
        self._edit(self.history.base_for(stroke).draw(times, f0_hz), stroke)

    def erase(self, t0: float, t1: float, *, stroke=None) -> None:
        """Mark ``[t0, t1]`` (s) as "no voice" (ends on beats when snapping to beats)."""
        t0, t1 = self.snap_span(*sorted((float(t0), float(t1))))
        self._edit(self.history.base_for(stroke).erase(t0, t1), stroke)

    def clear(self, t0: float, t1: float) -> None:
        """Forget the corrections in ``[t0, t1]`` (s): the network decides there again."""
        self._edit(self.corrections.clear(t0, t1))

    def shift_octaves(self, t0: float, t1: float, octaves: int) -> bool:
        """Move the melody in ``[t0, t1]`` (s) by whole octaves (estimate used where uncorrected).

        Returns False, changing nothing, when the shift would take some of it outside the F0
        range (:data:`core.separation.corrections.F0_RANGE_HZ`).
        """
        shifted = shift_octaves(self.corrections, self.frame_times(), self.estimated_f0(),
                                t0, t1, int(octaves))
        if f0_outside_range(shifted.f0_hz).any():
            return False
        self._edit(shifted)
        return True

    def next_candidate(self) -> str | None:
        """Replace the F0 in the selection by its next candidate
        (:func:`core.document.f0_candidates.f0_candidates`: octave above, octave below, second
        source), then by the F0 as it was before the first press (:data:`AS_BEFORE`), and round.

        Returns the label of what is shown, or None (nothing changed) without a selection, a
        saliency or a candidate. The candidates are found on the first press, from the F0 the
        user sees then; consecutive presses on the same selection are one undo step, and coming
        back to :data:`AS_BEFORE` takes that step back. A candidate is drawn like a free pen stroke
        (the magnet off; the F0 range, semitone and beat snapping as for the pen); the selection
        becomes corrected, unvoiced frames as "no voice".
        """
        selection = self.view.selection
        cycle = self._candidate_cycle
        if cycle is None or cycle.selection != selection or cycle.shown is not self.corrections \
                or cycle.result is not self.result:
            cycle = self._start_candidate_cycle()
            if cycle is None:
                return None
        cycle.index = (cycle.index + 1) % (len(cycle.candidates) + 1)
        if cycle.index == len(cycle.candidates):
            if self.history.base_for(cycle.key) is not self.corrections:
                self.undo()  # the cycle's own step: the corrections are exactly as before
            label = AS_BEFORE
        else:
            candidate = cycle.candidates[cycle.index]
            self.draw(cycle.times, candidate.f0_hz, stroke=cycle.key, free=True)
            label = candidate.label
        cycle.shown = self.corrections
        return label

    def _start_candidate_cycle(self) -> CandidateCycle | None:
        selection = self.view.selection
        if selection is None or self.result is None \
                or self.result.analysis.f0_saliency is None:
            return None
        times, f0, _ = self.effective_f0()
        frames = np.flatnonzero((times >= selection[0]) & (times <= selection[1]))
        if len(frames) == 0:
            return None
        start, stop = int(frames[0]), int(frames[-1]) + 1
        found = f0_candidates(self.result.analysis.f0_saliency, f0, start, stop)
        if not found:
            return None
        self._candidate_cycle = CandidateCycle(object(), selection, times[start:stop], found, -1,
                                               self.corrections, self.result)
        return self._candidate_cycle

    def set_corrections(self, corrections: Corrections) -> None:
        """Replace all corrections (import, restore) as one undoable step."""
        problem = range_problem(corrections.f0_hz)
        if problem is not None:
            raise CorrectionsError(problem)
        if self.audio is not None:
            corrections.check_fits(self.duration)
        self._edit(corrections)

    def undo(self) -> None:
        if self.history.can_undo:
            self.history.undo()
            self.events.emit("corrections")

    def redo(self) -> None:
        if self.history.can_redo:
            self.history.redo()
            self.events.emit("corrections")

    def set_selection(self, t0: float | None, t1: float | None = None) -> None:
        """Select ``[t0, t1]`` (s, clipped to the song; ends on beats when snapping to beats),
        or nothing with ``t0=None``."""
        selection = None
        if t0 is not None and t1 is not None:
            t0, t1 = self.snap_span(*sorted((float(t0), float(t1))))
            a, b = sorted((max(float(t0), 0.0), min(float(t1), self.duration or float(t1))))
            selection = (a, b) if b > a else None
        self.view = replace(self.view, selection=selection)
        self.events.emit("view")

    def fit_pitch_range(self) -> tuple[float, float] | None:
        """Show the pitch range of the melody the user sees (estimate and corrections).

        The range runs from the melody's 2nd to its 98th percentile (MIDI), widened by
        FIT_MARGIN_SEMITONES each side and to at least FIT_MIN_SEMITONES, kept within
        MIDI_LIMITS. Returns the new ``view.pitch_range``; None (nothing changed) without a
        voiced frame.
        """
        from ..music.pitch import hz_to_midi

        _, f0, _ = self.effective_f0()
        voiced = f0[f0 > 0]
        if len(voiced) == 0:
            return None
        low, high = np.percentile(hz_to_midi(voiced), [2.0, 98.0])
        low, high = low - FIT_MARGIN_SEMITONES, high + FIT_MARGIN_SEMITONES
        missing = FIT_MIN_SEMITONES - (high - low)
        if missing > 0:
            low, high = low - missing / 2, high + missing / 2
        shift = max(MIDI_LIMITS[0] - low, 0.0) - max(high - MIDI_LIMITS[1], 0.0)
        low = max(low + shift, MIDI_LIMITS[0])
        high = min(high + shift, MIDI_LIMITS[1])
        self.set_view_options(pitch_range=(float(low), float(high)))
        return self.view.pitch_range

    def set_view_options(self, **changes) -> None:
        """Change view-state fields (snap, loop, listen, follow...) and emit "view"."""
        self.view = ViewState.from_dict({**self.view.to_dict(), **changes})
        self.events.emit("view")

    # ------------------------------------------------------------------ files
    def save_project(self, path: str | Path) -> Path:
        from .session_files import save_session_project

        return save_session_project(self, path)

    def open_project_iter(self, path: str | Path, cancel: CancelFlag | None = None) -> Job[Path]:
        from .session_files import open_project_iter

        return open_project_iter(self, path, cancel)

    def mark_saved(self, project_path: Path | None) -> None:
        self.project_path = project_path
        self._saved_corrections = self.corrections

    def autosave(self):
        """Write the crash-recovery copy of the corrections (see :mod:`core.document.recovery`)."""
        from .session_files import autosave

        return autosave(self)

    def pending_recovery(self):
        """Recovered corrections for this song that differ from the current ones, or None."""
        from .session_files import pending_recovery

        return pending_recovery(self)

    def restore_recovery(self, recovery) -> None:
        from .session_files import restore_recovery

        restore_recovery(self, recovery)

    def forget_recovery(self) -> None:
        from .session_files import forget_recovery

        forget_recovery(self)
