"""Automatic levels of the F0 editor's background: which values the colour map's ends show.

The background (:func:`core.document.background.spectrogram_on_f0_grid`, or the F0 saliency) is a
float32 picture of about 0..1. Fixed levels suit a sparse song but turn a dense produced mix, whose
bins mostly sit within 30 dB of its peak (median about 0.65 against 0.4 for a sparse one), into an
even wash in which the melody's harmonics do not stand out. So the floor is put at the picture's
median (half the bins show as the colour map's darkest colour) and the ceiling a little above
its 99.9th percentile (the loudest bins stay short of the brightest colour, under the F0 curves).
"""
from __future__ import annotations

import numpy as np

#: The ceiling sits this fraction of (99.9th percentile - floor) above the 99.9th percentile.
HEADROOM = 0.15
#: Percentiles are taken on every n-th frame (a 5-minute song has 18750 frames).
FRAME_STRIDE = 4
#: The narrowest span between floor and ceiling.
MIN_SPAN = 0.05


def auto_levels(picture: np.ndarray) -> tuple[float, float]:
    """(floor, ceiling) for ``picture`` (float, (n_bins, n_frames)); (0, 1) when it is empty."""
    picture = np.asarray(picture)
    if picture.size == 0:
        return 0.0, 1.0
    sample = picture[:, ::FRAME_STRIDE]
    floor, top = (float(v) for v in np.percentile(sample, [50.0, 99.9]))
    ceiling = top + HEADROOM * max(top - floor, 0.0)
    return floor, max(ceiling, floor + MIN_SPAN)
