"""F0 candidates for a stretch, as Tony offers pitch-track candidates: the octave above, the octave
below, and the second-strongest source in the network's saliency.

The editor cycles through them on the selected stretch (:meth:`core.document.session.Session.
next_candidate`). Times in seconds, F0 in Hz (0 = no voice), saliency on the 256-bin F0 grid of
:mod:`core.music.pitch`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..music import pitch
from ..separation.corrections import f0_outside_range

#: Around the F0 the user sees, and around each of its octaves, this many semitones either side
#: of the saliency are masked before the second source is decoded (vibrato and the saliency's
#: own width stay inside the mask).
MASK_SEMITONES = 1.5
#: The second source is voiced where its masked saliency reaches this. Half the melody's
#: :data:`core.music.pitch.VOICING_THRESHOLD`: the network is trained to light up the sung melody
#: alone, so whatever else it hears (a second voice, a lead instrument) only leaves a residue well
#: below the melody's peaks, and the melody's threshold would leave most of it unvoiced. On the
#: demo song (shipped model), with the F0 and its octaves masked the saliency's peak on a voiced
#: frame is 0.005 at the median and 0.06 at the 90th percentile (the melody's own: 0.93, 0.99);
#: a second source is found on 8 % of the voiced frames at 0.05, 4.7 % at 0.1. Not measured
#: against annotated second sources: the user judges each candidate by ear and eye.
SECOND_SOURCE_THRESHOLD = 0.5 * pitch.VOICING_THRESHOLD


@dataclass(frozen=True)
class Candidate:
    """A labelled trajectory for a stretch of frames: Hz per frame, 0 = no voice."""

    label: str
    f0_hz: np.ndarray


def mask_f0_and_octaves(saliency: np.ndarray, f0_hz: np.ndarray, *,
                        semitones: float = MASK_SEMITONES) -> np.ndarray:
    """A copy of ``saliency`` (N_F0_BINS, n) with every voiced frame's F0 (``f0_hz``, (n,)) and
    all its octaves on the grid set to zero, ``semitones`` either side."""
    masked = np.array(saliency, dtype=np.float32, copy=True)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced = np.flatnonzero(f0_hz > 0)
    octave = 12 * pitch.BINS_PER_SEMITONE
    rows = np.arange(masked.shape[0], dtype=np.float64)[:, None]
    # Distance (bins) from each row to the nearest octave of the frame's F0.
    offset = np.mod(rows - pitch.hz_to_f0_bin(f0_hz[voiced])[None, :] + octave / 2, octave)
    near = np.abs(offset - octave / 2) <= semitones * pitch.BINS_PER_SEMITONE
    masked[:, voiced] = np.where(near, 0.0, masked[:, voiced])
    return masked


def f0_candidates(saliency: np.ndarray, f0_hz: np.ndarray, start: int, stop: int, *,
                  threshold: float = SECOND_SOURCE_THRESHOLD) -> list[Candidate]:
    """The other trajectories the frames ``[start, stop)`` could have, in the order offered.

    saliency : the network's F0 saliency, (N_F0_BINS, n_frames)
    f0_hz : (n_frames,) the F0 the user sees (the estimate, corrections where corrected)
    returns : "octave above" and "octave below" (the voiced frames moved an octave, unvoiced ones
        kept), then "second source": the saliency with ``f0_hz`` and its octaves masked out
        (:func:`mask_f0_and_octaves`; on corrected frames the saliency of a separation with the
        corrections imposed is the correction itself, which the mask removes too) decoded with
        :func:`core.music.pitch.saliency_to_f0` at ``threshold``. Each trajectory has
        ``stop - start`` frames. A candidate without a voiced frame, or with one outside
        :data:`core.separation.corrections.F0_RANGE_HZ`, is left out.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)[start:stop]
    column = np.asarray(saliency, dtype=np.float32)[:, start:stop]
    found = [Candidate("octave above", f0 * 2.0), Candidate("octave below", f0 / 2.0)]
    if column.shape[1]:
        second = pitch.saliency_to_f0(mask_f0_and_octaves(column, f0), threshold=threshold)
        found.append(Candidate("second source", second))
    return [c for c in found if (c.f0_hz > 0).any() and not f0_outside_range(c.f0_hz).any()]
