"""The sine guide: a soft tone that follows an F0 trajectory, to hear the melody being edited."""
from __future__ import annotations

import numpy as np

from ..progress import Job, Progress

#: Fade (s) at voicing edges so the guide starts and stops without clicks.
FADE_SECONDS = 0.01
#: Samples rendered per progress step.
BLOCK_SAMPLES = 1 << 20


def sine_guide_iter(frame_times: np.ndarray, f0_hz: np.ndarray, n_samples: int,
                    sample_rate: int, *, amplitude: float = 0.2) -> Job[np.ndarray]:
    """Render the guide; yields ``Progress("guide", fraction)``.

    frame_times, f0_hz : the trajectory, seconds and Hz (0 = silent), shape (n_frames,)
    returns : float32 mono signal, shape (n_samples,), peak ``amplitude``

    The phase is accumulated across blocks so the tone is continuous; between frames the
    frequency is interpolated linearly, and the amplitude ramps over ``FADE_SECONDS``.
    """
    frame_times = np.asarray(frame_times, dtype=np.float64)
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    out = np.zeros(n_samples, dtype=np.float32)
    if len(frame_times) == 0 or not (f0_hz > 0).any():
        yield Progress("guide", 1.0)
        return out
    # Hold the last voiced frequency through unvoiced frames so fades do not glide to 0 Hz.
    voiced = (f0_hz > 0).astype(np.float64)
    idx = np.where(f0_hz > 0, np.arange(len(f0_hz)), 0)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(f0_hz > 0, f0_hz, f0_hz[idx])
    first = int(np.argmax(f0_hz > 0))
    filled[:first] = f0_hz[first]
    # Amplitude envelope on the frame grid smoothed to FADE_SECONDS.
    hop = float(np.median(np.diff(frame_times))) if len(frame_times) > 1 else 0.01
    width = max(int(round(FADE_SECONDS / hop)), 1)
    gain = np.convolve(voiced, np.ones(width) / width, mode="same") if width > 1 else voiced
    phase = 0.0
    for start in range(0, n_samples, BLOCK_SAMPLES):
        stop = min(start + BLOCK_SAMPLES, n_samples)
        t = np.arange(start, stop) / sample_rate
        freq = np.interp(t, frame_times, filled)
        step = 2.0 * np.pi * freq / sample_rate
        phases = phase + np.cumsum(step)
        phase = float(phases[-1] % (2.0 * np.pi))
        out[start:stop] = (amplitude * np.interp(t, frame_times, gain) * np.sin(phases)).astype(np.float32)
        yield Progress("guide", stop / n_samples)
    return out
