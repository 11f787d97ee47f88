"""The synthetic accompaniment: drums, bass, chords and pads, and lead instruments in the
voice's range (the *distractors* a melody tracker takes for the voice).

Each part is rendered on its own (dark parts at a quarter of the rate, then upsampled) and
returned unnormalised; :func:`.synthetic.generate_track` sets the levels and mixes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from .dsp import (CTRL_RATE, fade, harmonics, harmonics_rms, highpass, lowpass, midi_to_hz,
                  peaking_sos, smoothstep)
from .harmony import Song
from .voice import Note, UNVOICED, VOICED_THRESHOLD, noise_burst, oscillator

LEAD_INSTRUMENTS = ("guitar", "sax", "violin", "flute", "synth", "clarinet")


def _render_notes(rng: np.random.Generator, out: np.ndarray, sample_rate: int, notes,
                  *, bright: tuple[float, float, float], decay: float | None, attack: float,
                  release: float, odd: bool = False, detune_cents: float = 0.0) -> None:
    """Add fixed-pitch notes into out (in place).

    notes : iterable of (start s, duration s, f0 Hz, velocity)
    bright : (start, end, time constant s) of the harmonic roll-off frequency in Hz: harmonic k
        has amplitude exp(-k f0 / roll-off), so a falling roll-off is a pluck's darkening decay
    decay : amplitude time constant (s), None for sustained
    detune_cents : > 0 adds a second, detuned oscillator (chorus, pads)
    """
    n_total = len(out)
    for start, dur, f0, vel in notes:
        s = int(round(start * sample_rate))
        if s >= n_total or f0 <= 0:
            continue
        hold = dur + release
        if decay is not None:
            hold = min(hold, 7.0 * decay)  # -60 dB: stop computing
        length = min(int(round(hold * sample_rate)), n_total - s)
        if length < 16:
            continue
        t = np.arange(length, dtype=np.float32) / np.float32(sample_rate)
        if bright[0] == bright[1]:
            roll = np.float32(bright[0])
        else:
            roll = bright[1] + (bright[0] - bright[1]) * np.exp(-t / bright[2])
        osc = np.zeros(length, dtype=np.float32)
        for cents in ((0.0, detune_cents) if detune_cents > 0 else (0.0,)):
            freq = f0 * 2.0 ** (cents / 1200.0)
            # float32 is plenty for a fixed pitch over a few seconds, and twice as fast
            phase = np.mod(2.0 * np.pi * freq * np.arange(length) / sample_rate
                           + rng.uniform(0, 2 * np.pi), 2.0 * np.pi).astype(np.float32)
            # Normalised by the RMS at the steady brightness: a pluck gets quieter as it darkens.
            wave = harmonics(phase, freq, -freq / roll, sample_rate, odd=odd)
            osc += wave / np.float32(harmonics_rms(-freq / bright[1], freq, sample_rate))
        env = fade(length, int(attack * sample_rate), int(release * sample_rate))
        if decay is not None:
            env = env * np.exp(-t / decay)
        out[s:s + length] += vel * env * osc


def _part_rate(sample_rate: int, divisor: int) -> int:
    """A lower rate to render a dark part at (then upsampled): a quarter of the work per halving."""
    if sample_rate % divisor or sample_rate // divisor < 8000:
        return sample_rate
    return sample_rate // divisor


def _upsample(x: np.ndarray, rate: int, sample_rate: int, n: int) -> np.ndarray:
    """Resample a part rendered at rate to sample_rate, exactly n samples long (float64)."""
    if rate != sample_rate:
        import soxr

        x = soxr.resample(np.asarray(x, dtype=np.float32), rate, sample_rate, quality="HQ")
    out = np.zeros(n)
    m = min(n, len(x))
    out[:m] = x[:m]
    return out


def render_drums(rng: np.random.Generator, song: Song, n: int, sample_rate: int) -> np.ndarray:
    sr = sample_rate
    out = np.zeros(n)

    def kick() -> np.ndarray:
        length = int(0.35 * sr)
        t = np.arange(length) / sr
        f = rng.uniform(40.0, 55.0) + rng.uniform(60.0, 120.0) * np.exp(-t / 0.03)
        body = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / rng.uniform(0.12, 0.3))
        click = noise_burst(rng, "k", length, sr) * np.exp(-t / 0.003) * 0.3
        return body + click

    def snare() -> np.ndarray:
        length = int(0.25 * sr)
        t = np.arange(length) / sr
        tone = np.sin(2 * np.pi * rng.uniform(170.0, 230.0) * t) * np.exp(-t / 0.04)
        rattle = noise_burst(rng, "sh", length, sr) * np.exp(-t / rng.uniform(0.06, 0.15))
        return 0.5 * tone + 0.7 * rattle

    def hat(open_: bool) -> np.ndarray:
        length = int((0.35 if open_ else 0.08) * sr)
        t = np.arange(length) / sr
        x = signal.sosfilt(highpass(sr, 7000.0), rng.standard_normal(length))
        return x * np.exp(-t / (0.12 if open_ else rng.uniform(0.015, 0.04)))

    samples = {"kick": [kick() for _ in range(2)], "snare": [snare() for _ in range(2)],
               "hat": [hat(False) for _ in range(3)], "ohat": [hat(True)]}
    levels = {"kick": 1.0, "snare": rng.uniform(0.5, 0.9), "hat": rng.uniform(0.1, 0.3),
              "ohat": rng.uniform(0.1, 0.25)}
    # One bar in 16ths: kick on 1 and 3 plus extras, snare on 2 and 4, hats in 8ths or 16ths.
    extra_kicks = rng.choice([3, 6, 10, 11, 14], size=int(rng.integers(0, 3)), replace=False)
    kick_steps = {0, 8} | {int(s) for s in extra_kicks}
    snare_steps = {4, 12} if rng.random() < 0.85 else {8}
    hat_div = 2 if rng.random() < 0.7 else 1
    step = song.beat / 4
    hits = []
    for bar_start in np.arange(0.0, n / sr, 16 * step):
        for k in range(16):
            t = bar_start + k * step
            if k in kick_steps:
                hits.append(("kick", t, rng.uniform(0.85, 1.0)))
            if k in snare_steps:
                hits.append(("snare", t, rng.uniform(0.8, 1.0)))
            if k % hat_div == 0:
                kind = "ohat" if (k == 14 and rng.random() < 0.3) else "hat"
                hits.append((kind, t, rng.uniform(0.5, 1.0) * (1.0 if k % 4 == 0 else 0.7)))
    for kind, t, vel in hits:
        s = int(round((t + rng.normal(0.0, 0.004)) * sr))
        if s < 0 or s >= n:
            continue
        x = samples[kind][int(rng.integers(len(samples[kind])))]
        m = min(len(x), n - s)
        out[s:s + m] += levels[kind] * vel * x[:m]
    return out


def render_bass(rng: np.random.Generator, song: Song, n: int, sample_rate: int) -> np.ndarray:
    full_rate, full_n = sample_rate, n
    sample_rate = _part_rate(full_rate, 4)  # a bass has nothing above a few kHz
    n = int(math.ceil(full_n * sample_rate / full_rate)) + 1
    out = np.zeros(n, dtype=np.float32)
    base = int(rng.integers(28, 40))  # E1..D#2 region for the roots
    division = float(rng.choice([0.5, 1.0, 1.0, 2.0]))  # beats per note
    notes = []
    for start, end, pcs, root in song.chords:
        midi = base + (root - base) % 12
        t = start
        while t < min(end, n / sample_rate):
            m = midi + (12 if rng.random() < 0.1 else 0) + (7 if rng.random() < 0.1 else 0)
            notes.append((t, division * song.beat * 0.9, float(midi_to_hz(m)),
                          rng.uniform(0.7, 1.0)))
            t += division * song.beat
    kind = rng.random()
    if kind < 0.5:  # finger bass: dark pluck
        _render_notes(rng, out, sample_rate, notes, bright=(1500.0, 400.0, 0.15), decay=0.8,
                      attack=0.005, release=0.05)
    elif kind < 0.8:  # synth bass: odd harmonics, sustained
        _render_notes(rng, out, sample_rate, notes, bright=(900.0, 600.0, 0.3), decay=None,
                      attack=0.01, release=0.04, odd=True)
    else:  # picked: bright attack
        _render_notes(rng, out, sample_rate, notes, bright=(3500.0, 600.0, 0.08), decay=0.6,
                      attack=0.003, release=0.05)
    out = signal.sosfilt(lowpass(float(sample_rate), 2500.0), out)
    return _upsample(out, sample_rate, full_rate, full_n)


def _chord_voicing(pcs: list[int], low: int, high: int) -> list[int]:
    """MIDI notes of a chord's pitch classes, stacked upwards from low (within high)."""
    notes, m = [], low
    for pc in pcs:
        m = m + (pc - m) % 12
        if m > high:
            m -= 12
        notes.append(m)
    return sorted(set(notes))


def render_chords(rng: np.random.Generator, song: Song, n: int, sample_rate: int,
                   instrument: str) -> np.ndarray:
    # Dark parts are rendered at a quarter of the rate, bright ones at half, then upsampled.
    sr = _part_rate(sample_rate, 2 if instrument in ("piano", "guitar") else 4)
    n_part = int(math.ceil(n * sr / sample_rate)) + 1
    out = np.zeros(n_part, dtype=np.float32)
    beat = song.beat
    low = int(rng.integers(50, 58))
    notes = []
    patterns = ([0.0], [0.0, 2.0], [0.0, 1.0, 2.0, 3.0], [0.0, 1.5, 3.0], [0.0, 0.5, 1.5, 2.5, 3.0])
    pattern = patterns[int(rng.integers(len(patterns)))]
    for start, end, pcs, root in song.chords:
        if start >= n / sample_rate:
            break
        voicing = _chord_voicing(pcs, low, low + 16)
        if instrument in ("organ", "pad"):
            for m in voicing:
                notes.append((start, end - start, float(midi_to_hz(m)), rng.uniform(0.6, 0.9)))
            continue
        bar = 4 * beat
        for bar_start in np.arange(start, end - 1e-6, bar):
            for p in pattern:
                t = bar_start + p * beat
                if t >= end:
                    continue
                nxt = [q for q in pattern if q > p]
                dur = ((nxt[0] if nxt else 4.0) - p) * beat
                spread = rng.uniform(0.008, 0.02) if instrument == "guitar" else 0.0
                up = rng.random() < 0.3
                order = voicing[::-1] if up else voicing
                for j, m in enumerate(order):
                    notes.append((t + j * spread, min(dur, end - t), float(midi_to_hz(m)),
                                  rng.uniform(0.6, 1.0)))
    if instrument == "piano":
        _render_notes(rng, out, sr, notes, bright=(rng.uniform(3000, 5000), 700.0, 0.25),
                      decay=rng.uniform(0.6, 1.5), attack=0.002, release=0.08)
        out = signal.sosfilt(peaking_sos(rng.uniform(200, 400), 3.0, 1.0, sr), out)
    elif instrument == "guitar":
        _render_notes(rng, out, sr, notes, bright=(rng.uniform(3500, 6000), 900.0, 0.12),
                      decay=rng.uniform(0.3, 0.8), attack=0.002, release=0.05)
        for f, g, q in ((110.0, 4.0, 1.5), (rng.uniform(200, 260), 3.0, 2.0), (2500.0, 4.0, 1.2)):
            out = signal.sosfilt(peaking_sos(f, g, q, sr), out)
    elif instrument == "epiano":
        _render_notes(rng, out, sr, notes, bright=(1800.0, 500.0, 0.4), decay=rng.uniform(1.0, 2.0),
                      attack=0.003, release=0.1)
    elif instrument == "organ":
        _render_notes(rng, out, sr, notes, bright=(rng.uniform(1500, 3000),) * 2 + (1.0,),
                      decay=None, attack=0.01, release=0.05, odd=rng.random() < 0.5)
        t = np.arange(n_part) / sr
        out = out * (1.0 + 0.15 * np.sin(2 * np.pi * rng.uniform(5.5, 7.0) * t))  # Leslie
    else:  # pad: slow attack, detuned pair, dark
        _render_notes(rng, out, sr, notes, bright=(rng.uniform(600, 1500),) * 2 + (1.0,),
                      decay=None, attack=rng.uniform(0.2, 0.6), release=rng.uniform(0.1, 0.3),
                      detune_cents=rng.uniform(6.0, 14.0))
        out = signal.sosfilt(lowpass(float(sr), rng.uniform(2000, 5000)), out)
    return _upsample(out, sr, sample_rate, n)


# ----------------------------------------------------------------------------------------------
# Distractors: lead instruments in the vocal range
# ----------------------------------------------------------------------------------------------

@dataclass
class _LeadStyle:
    bright: float  # harmonic roll-off (Hz)
    odd: bool
    eq: tuple  # ((freq, gain dB, q), ...) fixed body resonances: no formant motion
    attack: float
    release: float
    decay: float | None  # pluck decay time constant (s)
    vib_rate: float
    vib_depth: float  # cents; 0 = none
    vib_delay: float
    glide_p: float  # probability of portamento between notes
    breath: float  # breath-noise level relative to the tone (flute, sax)


def _lead_style(rng: np.random.Generator, instrument: str) -> _LeadStyle:
    u = rng.uniform
    if instrument == "guitar":
        return _LeadStyle(u(3000, 6000), False,
                          ((u(1500, 2500), 6.0, 1.0), (u(4000, 5000), -12, 0.7)),
                          0.003, 0.05, u(0.5, 1.3), u(4.0, 5.5),
                          0.0 if rng.random() < 0.5 else u(20, 50), u(0.2, 0.4), 0.15, 0.0)
    if instrument == "sax":
        return _LeadStyle(u(2500, 4500), False,
                          ((u(500, 800), 6.0, 1.5), (u(1500, 2500), 5.0, 1.5)),
                          u(0.03, 0.06), 0.06, None, u(4.5, 5.8), u(10, 30), 0.05, 0.2, 0.04)
    if instrument == "violin":
        return _LeadStyle(u(4000, 7000), False,
                          ((280.0, 5.0, 2.0), (450.0, 4.0, 2.0), (1000.0, 3.0, 1.5),
                           (2800.0, 6.0, 1.2)),
                          u(0.06, 0.15), 0.08, None, u(5.5, 7.0), u(10, 25), u(0.03, 0.1), 0.35,
                          0.0)
    if instrument == "flute":
        return _LeadStyle(u(700, 1400), False, ((u(1500, 2500), 2.0, 1.0),), u(0.04, 0.08), 0.06,
                          None, u(4.5, 5.5), u(5, 15), 0.05, 0.2, 0.08)
    if instrument == "clarinet":
        return _LeadStyle(u(1800, 3000), True, ((u(1200, 1800), 4.0, 1.5),), u(0.03, 0.05), 0.05,
                          None, 5.0, 0.0, 0.0, 0.1, 0.01)
    # synth lead: bright, portamento, LFO vibrato straight from the note start (or none)
    return _LeadStyle(u(4000, 8000), rng.random() < 0.4, ((u(800, 2000), 3.0, 0.8),), 0.01, 0.05,
                      None, u(5.0, 6.0), 0.0 if rng.random() < 0.5 else u(15, 35), 0.0, 0.6, 0.0)


def plan_lead_notes(rng: np.random.Generator, song: Song, windows: list[tuple[float, float]],
                     center: float, long_notes: bool) -> list[tuple[float, float, float]]:
    """(start s, end s, cents) notes inside the given time windows."""
    beat = song.beat
    pool = song.melody_notes(center - 8, center + 8)
    if len(pool) == 0:
        return []
    idx = int(np.argmin(np.abs(pool - center)))
    durs = np.array([1.0, 2.0, 3.0, 4.0] if long_notes else [0.25, 0.5, 0.5, 1.0, 1.5, 2.0])
    notes = []
    for w0, w1 in windows:
        t = math.ceil(w0 / (beat / 2)) * (beat / 2)
        while t < w1 - 0.1:
            dur = min(beat * float(rng.choice(durs)), w1 - t)
            if dur < 0.08:
                break
            idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(pool) - 1))
            notes.append((t, t + dur * rng.uniform(0.8, 1.0), 100.0 * pool[idx]))
            t += dur
            if long_notes and rng.random() < 0.25:
                t += beat * float(rng.choice([1.0, 2.0]))
    return notes


def render_lead(rng: np.random.Generator, notes, instrument: str, n: int,
                 sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """-> (audio (n,), F0 at control rate (n_ctrl,), 0 where silent)."""
    R = CTRL_RATE
    n_ctrl = int(math.ceil(n / sample_rate * R)) + 2
    style = _lead_style(rng, instrument)
    cents = np.full(n_ctrl, np.nan)
    amp = np.zeros(n_ctrl)
    vib_depth = np.zeros(n_ctrl)
    spans = [(int(round(s * R)), min(int(round(e * R)), n_ctrl - 1), c) for s, e, c in notes]
    spans = [sp for sp in spans if sp[1] - sp[0] >= 10]
    # Legato: a note that starts within 120 ms of the previous one's end may be slurred to it
    # (no new attack, portamento); otherwise it is re-articulated.
    legato = [k > 0 and sp[0] - spans[k - 1][1] < 0.12 * R and rng.random() < style.glide_p
              for k, sp in enumerate(spans)]
    for k, (a, b, c) in enumerate(spans):
        if legato[k]:
            a = spans[k - 1][1] + 1  # close the gap: the tone goes on
        slur_next = k + 1 < len(spans) and legato[k + 1]
        cents[a:b + 1] = c
        t = np.arange(b - a + 1) / R
        env = fade(b - a + 1, 0 if legato[k] else max(1, int(style.attack * R)),
                    0 if slur_next else int(style.release * R))
        if not legato[k]:
            env[0] = 0.0
        if style.decay is not None:
            env *= np.exp(-t / style.decay)
        amp[a:b + 1] = np.maximum(amp[a:b + 1], env * rng.uniform(0.75, 1.0))
        if style.vib_depth > 0 and b - a > 0.25 * R:
            vib_depth[a:b + 1] = style.vib_depth * np.clip((t - style.vib_delay) / 0.1, 0, 1)
        if legato[k]:
            prev_c = spans[k - 1][2]
            w = min(int(rng.uniform(0.03, 0.1) * R), (b - a) // 2)
            u = np.arange(w) / max(w, 1)
            cents[a:a + w] = prev_c + (c - prev_c) * smoothstep(u)
        elif instrument == "guitar" and rng.random() < 0.25:  # bend up into the note
            w = min(int(rng.uniform(0.05, 0.12) * R), (b - a) // 2)
            u = np.arange(w) / max(w, 1)
            cents[a:a + w] -= float(rng.choice([100.0, 200.0])) * (1.0 - smoothstep(u))
    have = ~np.isnan(cents)
    if not have.any():
        return np.zeros(n), np.zeros(n_ctrl)
    pos = np.where(have, np.arange(n_ctrl), 0)
    np.maximum.accumulate(pos, out=pos)
    pos[:int(np.argmax(have))] = int(np.argmax(have))
    cents = cents[pos]
    vib_phase = 2 * np.pi * style.vib_rate * np.arange(n_ctrl) / R + rng.uniform(0, 2 * np.pi)
    vib = vib_depth * np.sin(vib_phase)
    f0_ctrl = midi_to_hz((cents + vib) / 100.0)
    f0, amp_a, phase = oscillator(rng, f0_ctrl, amp, n, sample_rate)
    wave = harmonics(phase, f0, -f0 / style.bright, sample_rate, odd=style.odd)
    out = wave * amp_a
    if style.breath > 0:
        out += style.breath * amp_a * noise_burst(rng, "breath", n, sample_rate)
    for f, g, q in style.eq:
        out = signal.sosfilt(peaking_sos(f, g, q, sample_rate), out)
    f0_ctrl = np.where(amp >= VOICED_THRESHOLD, f0_ctrl, 0.0)
    return out, f0_ctrl


def voice_rests(phrases: list[list[Note]], seconds: float) -> list[tuple[float, float]]:
    """Time windows (s) where the voice is silent and a fill fits, with a margin either side."""
    spans = [(p[0].cons_start if p[0].consonant in UNVOICED else p[0].start, p[-1].end)
             for p in phrases]
    rests, t = [], 0.0
    for s, e in spans:
        if s - t > 0.7:
            rests.append((t + 0.1 if t > 0 else 0.05, s - 0.25))
        t = e
    if seconds - t > 0.7:
        rests.append((t + 0.1, seconds - 0.05))
    return rests
