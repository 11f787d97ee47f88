"""The user's F0 corrections: spans drawn (F0 in Hz) or deleted ("no voice here").

A :class:`Corrections` is an immutable, time-sorted set of points ``(time s, f0 Hz)``, ``f0 = 0``
meaning "no voice". Points closer than :data:`SPAN_GAP_SECONDS` to each other form one continuous
corrected span; inside a span the F0 is interpolated in log frequency (nearest point where either
neighbour is 0). Analysis frames outside every span are uncorrected: the network decides there.

The CSV form (used by ``isolde separate --corrections``) has the header ``time,f0`` and one row
per point. Editing returns a new object, which makes undo a matter of keeping the old one.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import spectral
from ..audio.fileio import write_text_atomic
from ..errors import CorrectionsError
from ..music import pitch
from ..music.pitch import interpolate_f0

#: Points closer than this (s) belong to the same corrected span.
SPAN_GAP_SECONDS = 0.05
#: Spacing (s) of the points written when a range is deleted or filled.
FILL_STEP_SECONDS = 0.01
#: Below this frequency (Hz) a drawn F0 weights the vocal mask towards its harmonics.
HARMONIC_BAND_HZ = 4000.0
#: Share of the mask kept between the harmonics of a drawn F0.
HARMONIC_FLOOR = 0.3
#: Share of the mask kept where the voice was deleted (see :func:`mask_weights`).
DELETED_WEIGHT = 0.5
#: Times may lie this far (s) outside the song before a corrections file is refused.
TIME_TOLERANCE_SECONDS = 0.1
#: What a voiced correction may be (Hz): the F0 grid's range, C2 to its top bin (about D#6).
#: Drawing and shifting stay inside it; files (CSV, projects, recovery) outside it are refused.
F0_RANGE_HZ = (float(pitch.F0_FMIN_HZ), float(pitch.f0_bin_to_hz(pitch.N_F0_BINS - 1)))
#: Slack (Hz) for values rounded when written (files keep 1e-4 Hz).
F0_RANGE_SLACK_HZ = 0.01
#: Largest corrections CSV read (bytes), as for project files.
MAX_CSV_BYTES = 64 * 1024 * 1024


def f0_outside_range(f0_hz) -> np.ndarray:
    """True where a voiced F0 (Hz) lies outside :data:`F0_RANGE_HZ`; 0 (no voice) is inside."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    lo, hi = F0_RANGE_HZ
    return (f0_hz > 0) & ((f0_hz < lo - F0_RANGE_SLACK_HZ) | (f0_hz > hi + F0_RANGE_SLACK_HZ))


def clamp_f0(f0_hz) -> np.ndarray:
    """Voiced F0 values (Hz) moved into :data:`F0_RANGE_HZ`; 0 stays 0."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    return np.where(f0_hz > 0, np.clip(f0_hz, *F0_RANGE_HZ), np.maximum(f0_hz, 0.0))


def range_problem(f0_hz) -> str | None:
    """A one-line reason when some voiced F0 lies outside :data:`F0_RANGE_HZ`, else None."""
    outside = f0_outside_range(f0_hz)
    if not outside.any():
        return None
    value = float(np.asarray(f0_hz, dtype=np.float64)[outside][0])
    lo, hi = F0_RANGE_HZ
    return f"F0 {value:g} Hz is outside the range Isolde can correct ({lo:.1f}-{hi:.1f} Hz, or 0)"


def exemplar_inputs(corrected: np.ndarray, f0_hz: np.ndarray, estimated_f0: np.ndarray,
                    quiet: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the F0 the user sees (Hz), the frames heard as the accompaniment alone), each (n_frames,).

    corrected, f0_hz : the corrections per model frame (:meth:`Corrections.to_frames`);
    estimated_f0 : the network's trajectory (Hz); quiet : bool or None, frames the network is
    sure hold no voice (:func:`core.separation.exemplars.quiet_frames`). The user's deletions
    and the quiet frames nobody corrected are heard as the accompaniment alone.
    """
    deleted = corrected & (f0_hz <= 0)
    if quiet is not None:
        deleted |= np.asarray(quiet, dtype=bool) & ~corrected
    return np.where(corrected, f0_hz, np.asarray(estimated_f0, dtype=np.float64)), deleted


def mask_weights(corrected: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
    """What the corrections say about the vocal mask, as a factor per bin and frame.

    corrected : bool (n_frames,); f0_hz : (n_frames,) Hz, the corrected F0 (0 = deleted)
    returns : float32 (N_BINS, n_frames). 1 on uncorrected frames; :data:`DELETED_WEIGHT` where
    the user deleted the voice; where they drew an F0, bins below :data:`HARMONIC_BAND_HZ` get
    ``floor + (1 - floor) * H`` with ``H`` the drawn F0's harmonic mask: energy between the
    harmonics of the F0 the user heard is unlikely to be that voice, but is not ruled out
    (``floor``), since the drawn curve is only as exact as a mouse (without the weighting, the
    produced excerpts lose 0.2 dB at 100 % corrected).

    A deletion says "no sung pitch here": the separation net already hears no F0 there, and
    the mask it leaves is halved rather than zeroed, because frames with no pitch still hold
    breath, consonants, harmonies and the reverb of the last note, which belong to the vocal.
    ``isolde simulate --unadapted``, the reference F0 as corrections, medians of per-clip gains
    over no correction at 100 % / 50 % / 4 s worst first, weights 0 / 0.25 / 0.5 / 1: MIR-1K (24)
    +0.93 / +0.98 / +0.92 / +0.40, +0.13 / +0.15 / +0.17 / +0.12, +0.31 / +0.34 / +0.35 / +0.32
    dB; produced excerpts (11, cross-validated) +0.54 / +0.92 / +1.11 / +0.51, -0.10 / +0.14 /
    +0.44 / +0.37, -0.66 / -0.02 / +0.39 / +0.22 dB, with 6 / 3 / 1 / 0 of 11 worse by more than
    0.5 dB at 4 s. The pYIN reference's "no voice" holds real singing on the produced excerpts
    (the true vocal 6-15 dB below the mix there), as a quick right-drag over a note's breath or
    tail would; where deletions catch only a quiet vocal (``--listening``), 0.5 costs 0.06 dB
    against 0 at 100 % on MIR-1K and nothing at 4 s on the produced excerpts, 0.12 dB at 100 %
    and 0.06 at 4 s there when the musician also deletes a vocal 20-30 dB under its loud level
    (``docs/research-notes.md``, "Deleting the voice: halve, not mute").
    """
    corrected = np.asarray(corrected, dtype=bool)
    f0_hz = np.where(corrected, np.asarray(f0_hz, dtype=np.float64), 0.0)
    bins = spectral.bin_frequencies()
    weight = np.ones((len(bins), len(f0_hz)), dtype=np.float32)
    drawn = corrected & (f0_hz > 0)
    if drawn.any():
        harmonics = pitch.harmonic_mask(f0_hz, bins)
        low = bins < HARMONIC_BAND_HZ
        weight[np.ix_(low, drawn)] = (HARMONIC_FLOOR
                                      + (1 - HARMONIC_FLOOR) * harmonics[np.ix_(low, drawn)])
    weight[:, corrected & ~drawn] = DELETED_WEIGHT
    return weight


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class Corrections:
    """times : float64 (n,), seconds, sorted; f0_hz : float64 (n,), Hz, 0 = no voice."""

    times: np.ndarray = field(default_factory=_empty)
    f0_hz: np.ndarray = field(default_factory=_empty)

    def __post_init__(self):
        times = np.asarray(self.times, dtype=np.float64).ravel()
        f0 = np.asarray(self.f0_hz, dtype=np.float64).ravel()
        if times.shape != f0.shape:
            raise CorrectionsError("corrections need one F0 per time")
        order = np.argsort(times, kind="stable")
        object.__setattr__(self, "times", times[order])
        object.__setattr__(self, "f0_hz", np.maximum(f0[order], 0.0))

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.times)

    @property
    def is_empty(self) -> bool:
        return len(self.times) == 0

    def spans(self) -> list[tuple[int, int]]:
        """Index ranges ``[start, stop)`` of the points that form each continuous span."""
        if self.is_empty:
            return []
        breaks = np.nonzero(np.diff(self.times) >= SPAN_GAP_SECONDS)[0] + 1
        edges = [0, *breaks.tolist(), len(self.times)]
        return list(zip(edges[:-1], edges[1:]))

    def span_times(self) -> list[tuple[float, float]]:
        """(first, last) time of each span, in seconds."""
        return [(float(self.times[a]), float(self.times[b - 1])) for a, b in self.spans()]

    def to_frames(self, frame_times: np.ndarray,
                  tolerance: float = spectral.HOP_SECONDS / 2) -> tuple[np.ndarray, np.ndarray]:
        """Per analysis frame: (corrected bool (n,), F0 Hz (n,), 0 = no voice or uncorrected)."""
        frame_times = np.asarray(frame_times, dtype=np.float64)
        corrected = np.zeros(len(frame_times), dtype=bool)
        f0 = np.zeros(len(frame_times), dtype=np.float64)
        for a, b in self.spans():
            t, v = self.times[a:b], self.f0_hz[a:b]
            inside = (frame_times >= t[0] - tolerance) & (frame_times <= t[-1] + tolerance)
            if not inside.any():
                continue
            clipped = np.clip(frame_times[inside], t[0], t[-1])
            f0[inside] = interpolate_f0(t, v, clipped) if len(t) > 1 else v[0]
            corrected |= inside
        return corrected, f0

    def apply_to_f0(self, frame_times: np.ndarray, estimated_f0: np.ndarray) -> np.ndarray:
        """The trajectory the user sees: corrected frames exactly as corrected, others estimated."""
        corrected, f0 = self.to_frames(frame_times)
        return np.where(corrected, f0, np.asarray(estimated_f0, dtype=np.float64))

    def _chunk_frames(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`to_frames` for model frames ``start:stop`` (a chunk of the song)."""
        return self.to_frames(np.arange(start, stop) * spectral.HOP_SECONDS)

    def drawn_frames(self, start: int, stop: int) -> np.ndarray:
        """bool (stop - start,): the frames ``start:stop`` of the song where the user drew an F0."""
        corrected, f0 = self._chunk_frames(start, stop)
        return corrected & (f0 > 0)

    def saliency_override(self, start: int, stop: int, saliency, *, drawn: bool = True):
        """Impose the corrections on a chunk of saliency (frames ``start:stop`` of the song).

        saliency : torch tensor (batch, N_F0_BINS, stop - start); corrected frames are replaced by
        the blurred target of the corrected F0 (all zero where deleted). Used so that the
        separation net hears the user's melody even before any fine-tuning. With ``drawn``
        False only the deletions are imposed: the drawn frames keep the network's saliency.
        """
        import torch

        corrected, f0 = self._chunk_frames(start, stop)
        if not drawn:
            corrected = corrected & (f0 <= 0)
        if not corrected.any():
            return saliency
        target = torch.from_numpy(pitch.f0_to_saliency(f0)).to(saliency)
        keep = torch.from_numpy(~corrected).to(saliency.device)
        return torch.where(keep[None, None, :], saliency, target[None])

    def refine_mask(self, start: int, stop: int, vocal_mask):
        """Impose the corrections on a chunk of the vocal mask (frames ``start:stop`` of the song).

        vocal_mask : torch tensor (batch, N_BINS, stop - start) in [0, 1], multiplied by
        :func:`mask_weights` of the chunk's corrections.
        """
        import torch

        corrected, f0 = self._chunk_frames(start, stop)
        if not corrected.any():
            return vocal_mask
        return vocal_mask * torch.from_numpy(mask_weights(corrected, f0)).to(vocal_mask)[None]

    def exemplar_frames(self, estimated_f0: np.ndarray, quiet: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What :func:`core.separation.exemplars.combine_with_exemplars` hears, per model frame:
        (the F0 the user sees (Hz), deleted bool, corrected bool), each (n_frames,); see
        :func:`exemplar_inputs`. estimated_f0 : (n_frames,) Hz, the network's trajectory."""
        corrected, f0 = self.to_frames(spectral.frame_times(len(estimated_f0)))
        return (*exemplar_inputs(corrected, f0, estimated_f0, quiet), corrected)

    def check_fits(self, duration_seconds: float) -> None:
        """Refuse corrections whose times lie outside the song by more than 0.1 s."""
        if self.is_empty:
            return
        lo, hi = float(self.times[0]), float(self.times[-1])
        if lo < -TIME_TOLERANCE_SECONDS or hi > duration_seconds + TIME_TOLERANCE_SECONDS:
            raise CorrectionsError(
                f"Corrections run from {lo:.2f} s to {hi:.2f} s, outside the song "
                f"(0 to {duration_seconds:.2f} s)")

    def within(self, start_seconds: float, end_seconds: float) -> "Corrections":
        """The points from ``start_seconds`` to ``end_seconds``, their times counted from
        ``start_seconds`` (for a section of the song separated on its own)."""
        keep = (self.times >= start_seconds) & (self.times <= end_seconds)
        return Corrections(self.times[keep] - start_seconds, self.f0_hz[keep])

    # ------------------------------------------------------------------ edits (return new objects)
    def _without(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        keep = (self.times < t0) | (self.times > t1)
        return self.times[keep], self.f0_hz[keep]

    def draw(self, times, f0_hz) -> "Corrections":
        """Replace whatever was corrected between the first and last drawn time by the new points."""
        times = np.asarray(times, dtype=np.float64).ravel()
        f0_hz = np.asarray(f0_hz, dtype=np.float64).ravel()
        if len(times) == 0:
            return self
        t, f = self._without(times.min(), times.max())
        return Corrections(np.concatenate([t, times]), np.concatenate([f, f0_hz]))

    def erase(self, t0: float, t1: float) -> "Corrections":
        """Mark ``[t0, t1]`` as "no voice" (the right-button gesture)."""
        t0, t1 = sorted((float(t0), float(t1)))
        n = max(int(math.ceil((t1 - t0) / FILL_STEP_SECONDS)), 1)
        new_times = np.linspace(t0, t1, n + 1)
        return self.draw(new_times, np.zeros_like(new_times))

    def clear(self, t0: float, t1: float) -> "Corrections":
        """Forget the corrections in ``[t0, t1]``: the network decides there again."""
        t0, t1 = sorted((float(t0), float(t1)))
        return Corrections(*self._without(t0, t1))

    def transpose(self, t0: float, t1: float, semitones: float) -> "Corrections":
        """Shift the corrected F0 in ``[t0, t1]`` by ``semitones`` (12 = an octave up)."""
        inside = (self.times >= min(t0, t1)) & (self.times <= max(t0, t1))
        f0 = self.f0_hz.copy()
        f0[inside] *= 2.0 ** (semitones / 12.0)
        return Corrections(self.times, f0)

    # ------------------------------------------------------------------ files
    def to_csv_text(self) -> str:
        out = io.StringIO()
        out.write("time,f0\n")
        for t, f in zip(self.times, self.f0_hz):
            out.write(f"{t:.6f},{f:.4f}\n")
        return out.getvalue()

    def save_csv(self, path: str | os.PathLike) -> Path:
        write_text_atomic(path, self.to_csv_text())
        return Path(path)

    @classmethod
    def from_csv_text(cls, text: str, source: str = "corrections") -> "Corrections":
        rows = list(csv.reader(io.StringIO(text)))
        rows = [r for r in rows if any(cell.strip() for cell in r)]
        if not rows or [c.strip().lower() for c in rows[0]] != ["time", "f0"]:
            raise CorrectionsError(f"{source}: the first line must be the header 'time,f0'")
        times, f0 = [], []
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != 2:
                raise CorrectionsError(f"{source}, line {number}: expected two values 'time,f0'")
            try:
                t, f = float(row[0]), float(row[1])
            except ValueError:
                raise CorrectionsError(f"{source}, line {number}: not a number: {','.join(row)}") from None
            if not (math.isfinite(t) and math.isfinite(f)) or f < 0:
                raise CorrectionsError(f"{source}, line {number}: time and f0 must be finite, f0 >= 0")
            problem = range_problem([f])
            if problem is not None:
                raise CorrectionsError(f"{source}, line {number}: {problem}")
            times.append(t)
            f0.append(f)
        return cls(np.array(times), np.array(f0))

    @classmethod
    def load_csv(cls, path: str | os.PathLike) -> "Corrections":
        """Read a corrections CSV (UTF-8, with or without a byte-order mark, at most
        :data:`MAX_CSV_BYTES`); raises :class:`CorrectionsError` with a one-line reason."""
        path = Path(path)
        try:
            if not path.is_file():
                if not path.exists():
                    raise FileNotFoundError(path)
                raise CorrectionsError(f"Expected a corrections file, got a folder, pipe or "
                                       f"device: {path}")
            with open(path, "rb") as f:
                data = f.read(MAX_CSV_BYTES + 1)
        except FileNotFoundError:
            raise CorrectionsError(f"No such corrections file: {path}") from None
        except OSError as exc:
            raise CorrectionsError(f"Cannot read corrections file {path}: "
                                   f"{exc.strerror or exc}") from None
        if len(data) > MAX_CSV_BYTES:
            raise CorrectionsError(f"Corrections file is implausibly large (over "
                                   f"{MAX_CSV_BYTES // (1024 * 1024)} MB): {path}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CorrectionsError(f"Cannot read corrections file {path}: not UTF-8 text") from None
        return cls.from_csv_text(text, source=str(path))
