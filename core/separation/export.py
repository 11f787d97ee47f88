"""Writing results: stems, the F0 as CSV, beats. Every file is written atomically."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..audio.fileio import write_text_atomic
from ..audio.io import save_audio
from ..errors import IsoldeError


def write_frame_csv(path: str | os.PathLike, column: str, times: np.ndarray,
                    values: np.ndarray, decimals: int = 3) -> Path:
    """CSV with header ``time,<column>``: one row per frame, seconds and the value."""
    buffer = io.StringIO()
    buffer.write(f"time,{column}\n")
    for t, v in zip(np.asarray(times, dtype=float), np.asarray(values, dtype=float)):
        buffer.write(f"{t:.6f},{v:.{decimals}f}\n")
    write_text_atomic(path, buffer.getvalue())
    return Path(path)


def write_f0_csv(path: str | os.PathLike, times: np.ndarray, f0_hz: np.ndarray) -> Path:
    """CSV with header ``time,f0``: one row per frame, seconds and Hz (0 = no voice)."""
    return write_frame_csv(path, "f0", times, f0_hz)


def write_confidence_csv(path: str | os.PathLike, times: np.ndarray,
                         confidence: np.ndarray) -> Path:
    """CSV with header ``time,confidence``: one row per F0 frame, seconds and 0..1
    (:mod:`core.separation.confidence`; 1 on frames the user corrected)."""
    return write_frame_csv(path, "confidence", times, confidence, decimals=4)


def check_output_folder(outdir: str | os.PathLike, *, inputs: tuple = ()) -> Path:
    """Create ``outdir`` if needed and make sure it is writable and overwrites no input."""
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IsoldeError(f"Cannot create output folder {outdir}: {exc.strerror or exc}") from exc
    if not os.access(outdir, os.W_OK):
        raise IsoldeError(f"Output folder is not writable: {outdir}")
    return outdir


def write_stems(outdir: Path, vocals: np.ndarray, accompaniment: np.ndarray, sample_rate: int, *,
                extension: str = ".wav", subtype: str | None = "FLOAT",
                protect: tuple = ()) -> list[Path]:
    """Write ``vocals`` and ``accompaniment`` (n_channels, n_samples) into ``outdir``.

    protect : paths that must never be overwritten (the input song).
    """
    written = []
    protected = {Path(p).resolve() for p in protect}
    for name, samples in (("vocals", vocals), ("accompaniment", accompaniment)):
        target = outdir / f"{name}{extension}"
        if target.resolve() in protected:
            raise IsoldeError(f"Refusing to overwrite the input file {target}")
        written.append(save_audio(target, samples, sample_rate, subtype=subtype))
    return written
