"""Make dry stems sound produced: a vocal chain and an accompaniment bus, drawn at random.

Produced songs differ from MIR-1K's karaoke clips less in what is sung than in how it is mixed:
the voice is equalised, compressed, sent to a plate or hall reverb and a delay, sometimes doubled,
and the wet part belongs to the vocal stem (as in MUSDB18); the accompaniment is compressed and
equalised as a bus. These functions apply such chains with `pedalboard`'s processors, with every
setting drawn from an ``np.random.Generator`` so that the same generator state gives the same
result.

All signals are mono float32, shape (n_samples,), at ``sample_rate`` Hz. Effects with a tail
(reverb, delay) should be given some signal before the part that is kept (``pre_roll``), so that
a crop starts inside a reverberant performance and not with a dry onset.
"""
from __future__ import annotations

import numpy as np


def _board(plugins):
    from pedalboard import Pedalboard

    return Pedalboard(plugins)


def _at_level_of(processed: np.ndarray, original: np.ndarray) -> np.ndarray:
    """``processed`` scaled to the RMS of ``original`` (left as it is when it is silent), float32:
    the chains change a stem's colour, not the level the caller drew for it."""
    rms_in = float(np.sqrt(np.mean(original ** 2)) + 1e-9)
    rms_out = float(np.sqrt(np.mean(processed ** 2)) + 1e-9)
    return (processed * (rms_in / rms_out if rms_out > 1e-7 else 1.0)).astype(np.float32)


def vocal_chain(voice: np.ndarray, sample_rate: int, rng: np.random.Generator, *,
                pre_roll: int = 0, reverb_probability: float = 0.7,
                delay_probability: float = 0.3, double_probability: float = 0.2) -> np.ndarray:
    """A random vocal production chain: high-pass, EQ, compression, reverb/delay, a double.

    voice : (n_samples,) dry voice; the first ``pre_roll`` samples feed the effects' tails only
    returns : (n_samples - pre_roll,) float32, the processed (wet) voice, same loudness within
        a few dB as the dry one (make-up gain follows the compressor's threshold)
    """
    from pedalboard import (Compressor, Delay, Gain, HighpassFilter, PeakFilter, Reverb,
                            LowShelfFilter)

    voice = np.asarray(voice, dtype=np.float32)
    out = voice.copy()
    if double_probability > 0 and rng.random() < double_probability:
        # A second take: the same line 12-35 ms late, detuned by a few cents, 6-12 dB down.
        import soxr

        cents = rng.uniform(-12, 12)
        factor = 2.0 ** (cents / 1200.0)
        second = soxr.resample(voice, sample_rate * factor, sample_rate)
        lag = int(rng.uniform(0.012, 0.035) * sample_rate)
        shifted = np.zeros_like(voice)
        n = min(len(voice) - lag, len(second))
        if n > 0:
            shifted[lag:lag + n] = second[:n]
        out = out + shifted * np.float32(10 ** (-rng.uniform(6, 12) / 20))
    threshold = rng.uniform(-30.0, -14.0)
    ratio = rng.uniform(2.0, 6.0)
    plugins = [
        HighpassFilter(cutoff_frequency_hz=float(rng.uniform(70, 160))),
        LowShelfFilter(cutoff_frequency_hz=float(rng.uniform(150, 400)),
                       gain_db=float(rng.uniform(-4, 1))),
        PeakFilter(cutoff_frequency_hz=float(rng.uniform(1800, 5000)),
                   gain_db=float(rng.uniform(0, 5)), q=float(rng.uniform(0.5, 1.5))),
        Compressor(threshold_db=float(threshold), ratio=float(ratio),
                   attack_ms=float(rng.uniform(2, 15)), release_ms=float(rng.uniform(50, 250))),
        Gain(gain_db=float(-threshold * (1 - 1 / ratio) * 0.5)),
    ]
    if rng.random() < delay_probability:
        plugins.append(Delay(delay_seconds=float(rng.uniform(0.1, 0.45)),
                             feedback=float(rng.uniform(0.1, 0.4)), mix=float(rng.uniform(0.05, 0.2))))
    if rng.random() < reverb_probability:
        plugins.append(Reverb(room_size=float(rng.uniform(0.2, 0.9)),
                              damping=float(rng.uniform(0.2, 0.7)),
                              wet_level=float(rng.uniform(0.05, 0.35)), dry_level=1.0,
                              width=0.0))
    wet = _board(plugins)(out[None, :], sample_rate)[0]
    return _at_level_of(wet[pre_roll:], voice[pre_roll:])


def stem_eq(stem: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A random corrective EQ on a stem that was mixed already (a real produced vocal or
    accompaniment): low shelf, one bell and high shelf, each +-6 dB, level kept. Gives the few
    real productions at hand other tonal balances without another compressor or reverb.

    stem : (n_samples,) float32; returns the same shape.
    """
    from pedalboard import HighShelfFilter, LowShelfFilter, PeakFilter

    x = np.asarray(stem, dtype=np.float32)
    board = _board([
        LowShelfFilter(cutoff_frequency_hz=float(rng.uniform(80, 400)),
                       gain_db=float(rng.uniform(-6, 6))),
        PeakFilter(cutoff_frequency_hz=float(np.exp(rng.uniform(np.log(300), np.log(4000)))),
                   gain_db=float(rng.uniform(-6, 6)), q=float(rng.uniform(0.7, 2.0))),
        HighShelfFilter(cutoff_frequency_hz=float(rng.uniform(2000, 6000)),
                        gain_db=float(rng.uniform(-6, 6))),
    ])
    return _at_level_of(board(x[None, :], sample_rate)[0], x)


def accompaniment_bus(accompaniment: np.ndarray, sample_rate: int,
                      rng: np.random.Generator) -> np.ndarray:
    """A random bus chain on the accompaniment: tilt EQ and glue compression, level kept.

    accompaniment : (n_samples,) float32; returns the same shape.
    """
    from pedalboard import Compressor, HighShelfFilter, LowShelfFilter

    x = np.asarray(accompaniment, dtype=np.float32)
    board = _board([
        LowShelfFilter(cutoff_frequency_hz=float(rng.uniform(80, 250)),
                       gain_db=float(rng.uniform(-2, 5))),
        HighShelfFilter(cutoff_frequency_hz=float(rng.uniform(2500, 6000)),
                        gain_db=float(rng.uniform(-3, 4))),
        Compressor(threshold_db=float(rng.uniform(-24, -10)), ratio=float(rng.uniform(1.5, 4)),
                   attack_ms=float(rng.uniform(5, 30)), release_ms=float(rng.uniform(80, 300))),
    ])
    return _at_level_of(board(x[None, :], sample_rate)[0], x)
