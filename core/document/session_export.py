"""Exporting a session: vocal and accompaniment, the corrected F0 as CSV, the melody as MIDI.

Audio is written at the song's own sample rate and channel count as WAV or FLAC, 16/24-bit PCM or
32-bit float; every file is written atomically and none may replace the song itself. A section
(the editor's selection) exports that part alone: stems and MIDI start at its start, the F0 CSV
keeps the song's clock, as ``isolde separate --start/--end`` does.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..audio.io import SUBTYPES, save_audio, section_frames
from ..errors import IsoldeError
from ..music.midi import f0_to_notes, tempo_from_beats, write_midi
from ..progress import Job, Progress, scaled
from ..separation.export import check_output_folder, write_f0_csv
from ..separation.separate import apply_mask_iter, binary_mask, check_mask_confidence

AUDIO_FORMATS = ("wav", "flac")
WHAT = ("vocals", "accompaniment", "f0", "midi")


def export_names(stem: str, audio_format: str) -> dict[str, str]:
    """File names for each exported item of a song called ``stem``."""
    return {"vocals": f"{stem}_vocals.{audio_format}",
            "accompaniment": f"{stem}_accompaniment.{audio_format}",
            "f0": f"{stem}_f0.csv", "midi": f"{stem}_melody.mid"}


def export_iter(session, outdir: str | os.PathLike, *, audio_format: str | None = None,
                subtype: str | None = None, what: tuple[str, ...] = WHAT,
                mask_confidence: float | None = None,
                section: tuple[float, float] | None = None) -> Job[list[Path]]:
    """Write the chosen items into ``outdir``; returns the written paths.

    audio_format : "wav" or "flac" (default: the settings'); subtype : "pcm16", "pcm24" or
    "float32" (default: the settings'; FLAC has no float, it falls back to 24-bit)
    mask_confidence : None for the stems as heard (the soft mask), or alpha in (0, 1) to write
        them with Deep Karaoke's binary mask (:func:`core.separation.separate.binary_mask`)
    section : None for the whole song, or (start, end) in seconds: that part alone, its files
        named ``STEM_START-ENDs_...``
    """
    if mask_confidence is not None:
        check_mask_confidence(mask_confidence)
    audio_format = (audio_format or getattr(session.settings, "export_format", "wav")).lower()
    subtype = (subtype or getattr(session.settings, "export_subtype", "pcm24")).lower()
    if audio_format not in AUDIO_FORMATS:
        raise IsoldeError(f"Unknown export format {audio_format!r}: use wav or flac")
    if subtype not in SUBTYPES:
        raise IsoldeError(f"Unknown sample format {subtype!r}: use {', '.join(SUBTYPES)}")
    if audio_format == "flac" and subtype == "float32":
        subtype = "pcm24"
    unknown = set(what) - set(WHAT)
    if unknown:
        raise IsoldeError(f"Cannot export {', '.join(sorted(unknown))}")
    if session.audio is None or session.result is None:
        raise IsoldeError("Nothing to export yet: open a song and wait for the analysis")
    audio, result = session.audio, session.result
    outdir = check_output_folder(outdir)
    stem = audio.path.stem if audio.path is not None else "song"
    first, last = 0, audio.n_samples
    if section is not None:
        first, last = section_frames(audio.n_samples, audio.sample_rate, section[0], section[1],
                                     "the selection")
        stem = f"{stem}_{first / audio.sample_rate:.2f}-{last / audio.sample_rate:.2f}s"
    names = export_names(stem, audio_format)
    protected = audio.path.resolve() if audio.path is not None else None
    targets = {item: outdir / names[item] for item in what}
    for target in targets.values():
        if protected is not None and target.resolve() == protected:
            raise IsoldeError(f"Refusing to overwrite the input file {target}")
    times, f0, _ = session.effective_f0()
    vocals, accompaniment = result.vocals, result.accompaniment
    if mask_confidence is not None and {"vocals", "accompaniment"} & set(what):
        mask = binary_mask(result.analysis.vocal_mask, mask_confidence)
        vocals = yield from scaled(apply_mask_iter(audio.samples, audio.sample_rate, mask), 0.0, 0.5)
        accompaniment = audio.samples - vocals
    start_seconds, end_seconds = first / audio.sample_rate, last / audio.sample_rate
    inside = (times >= start_seconds) & (times < end_seconds)
    times, f0 = times[inside], f0[inside]
    vocals, accompaniment = vocals[:, first:last], accompaniment[:, first:last]
    written = []
    for n, item in enumerate(what):
        yield Progress("exporting", n / len(what), names[item])
        target = targets[item]
        if item in ("vocals", "accompaniment"):
            samples = vocals if item == "vocals" else accompaniment
            save_audio(target, samples, audio.sample_rate, subtype=SUBTYPES[subtype])
        elif item == "f0":
            write_f0_csv(target, times, f0)
        else:
            beats = session.beats.beat_times if session.beats is not None else None
            write_midi(target, f0_to_notes(times - start_seconds, f0),
                       tempo_bpm=tempo_from_beats(beats))
        written.append(target)
    yield Progress("exporting", 1.0)
    return written
