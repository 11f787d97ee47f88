"""The synthetic singing voice, whose F0 is known exactly.

Notes on a scale at the song's tempo, in phrases separated by rests with breaths before them. The
source is a band-limited glottal-like pulse train shaped per STFT frame by a spectral tilt and five
vowel formants that move from vowel to vowel (diphthongs, nasal murmurs, formant tuning on high
notes), with vibrato, portamento, scoops, drift and jitter, aspiration noise, and fricative and
plosive consonants at note onsets (unvoiced: F0 = 0 there). See :mod:`.synthetic` for how the
F0 reference is taken from the same curve the oscillator runs on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from .dsp import (CTRL_RATE, bandpass, fade, filter_frames, harmonics, hz_to_midi, lowpass_noise,
                  midi_to_hz, moving_average, peaking_sos, smoothstep, stft_size)
from .harmony import Song

#: The voice's F0 never leaves this range (Hz).
VOICE_F0_RANGE = (90.0, 900.0)
#: A frame is voiced where the voiced amplitude is at least this fraction of its full level
#: (about -26 dB): the ramp-in and ramp-out ends of a note carry no usable pitch.
VOICED_THRESHOLD = 0.05

# Formants (Hz) of sung vowels for an adult male voice, F1..F5; female voices scale them up.
VOWELS = {
    "a": (730.0, 1150.0, 2450.0, 3350.0, 4200.0),
    "e": (480.0, 1850.0, 2550.0, 3350.0, 4250.0),
    "i": (300.0, 2200.0, 2950.0, 3500.0, 4300.0),
    "o": (520.0, 880.0, 2450.0, 3300.0, 4200.0),
    "u": (330.0, 780.0, 2300.0, 3250.0, 4150.0),
    "ae": (650.0, 1650.0, 2450.0, 3350.0, 4200.0),
    "er": (480.0, 1350.0, 1700.0, 3300.0, 4200.0),
}
VOWEL_NAMES = tuple(VOWELS)
VOWEL_P = np.array([0.26, 0.16, 0.14, 0.17, 0.11, 0.09, 0.07])
# Voiced consonants keep F0 but swap the vowel formants for a murmur.
NASALS = {
    "m": (260.0, 1000.0, 2200.0, 3300.0, 4200.0),
    "n": (260.0, 1500.0, 2500.0, 3300.0, 4200.0),
    "l": (380.0, 1100.0, 2600.0, 3300.0, 4200.0),
}
BANDWIDTHS = np.array([70.0, 90.0, 140.0, 200.0, 260.0])
# Consonant classes: unvoiced fricatives and plosives (F0 = 0) and voiced murmurs.
CONSONANTS = ("s", "sh", "f", "h", "t", "k", "p", "m", "n", "l")
CONSONANT_P = np.array([0.14, 0.08, 0.06, 0.10, 0.14, 0.10, 0.08, 0.12, 0.10, 0.08])
UNVOICED = {"s", "sh", "f", "h", "t", "k", "p"}
PLOSIVES = {"t", "k", "p"}
# Consonant loudness relative to the voiced RMS, dB (low, high).
CONSONANT_DB = {"s": (-9, -3), "sh": (-10, -4), "f": (-20, -12), "h": (-18, -10),
                "t": (-6, 0), "k": (-8, -2), "p": (-12, -5)}


@dataclass
class Note:
    onset: float  # nominal onset on the beat grid (s)
    dur: float  # nominal duration (s)
    cents: float  # target pitch, MIDI * 100
    start: float = 0.0  # voiced start (s)
    end: float = 0.0  # voiced end (s)
    vowel: str = "a"
    vowel2: str | None = None  # diphthong target
    consonant: str | None = None
    cons_start: float = 0.0
    cons_dur: float = 0.0
    legato: bool = False  # glides from the previous note without a break in voicing
    gain: float = 1.0


@dataclass
class _Singer:
    female: bool
    center: float  # MIDI
    low: float
    high: float
    formant_scale: np.ndarray  # (5,)
    bandwidths: np.ndarray  # (5,) Hz
    peaks_db: np.ndarray  # (5,) formant peak heights
    tilt_freq: float
    tilt_slope: float
    rolloff: float
    hnr_db: float
    vib_rate: float
    vib_depth: float  # cents (peak deviation)
    f_roll: float


def make_singer(rng: np.random.Generator) -> _Singer:
    female = bool(rng.random() < 0.5)
    lo_lim, hi_lim = hz_to_midi(VOICE_F0_RANGE[0]) + 1.3, hz_to_midi(VOICE_F0_RANGE[1]) - 1.3
    center = rng.uniform(59.0, 70.0) if female else rng.uniform(47.0, 58.0)
    low = max(lo_lim, center - rng.uniform(6.0, 10.0))
    high = min(hi_lim, center + rng.uniform(6.0, 10.0))
    scale = np.array([1.0, 1.0, 1.0, 1.0, 1.0]) * rng.uniform(0.94, 1.06)
    if female:
        scale *= np.array([1.15, 1.17, 1.15, 1.1, 1.08])
    peaks = np.array([rng.uniform(12, 18), rng.uniform(10, 16), rng.uniform(8, 14),
                      rng.uniform(5, 10), rng.uniform(3, 8)])
    if rng.random() < 0.25:  # "singer's formant": a strong cluster around 3 kHz
        peaks[2:4] += rng.uniform(4.0, 8.0)
    straight = rng.random() < 0.12
    return _Singer(
        female=female, center=center, low=low, high=high, formant_scale=scale,
        bandwidths=BANDWIDTHS * rng.uniform(0.9, 1.4, size=5), peaks_db=peaks,
        # Glottal source (-12 dB/octave) plus lip radiation (+6): about -6 dB/octave overall.
        tilt_freq=rng.uniform(100.0, 250.0), tilt_slope=rng.uniform(0.8, 1.2),
        rolloff=rng.uniform(5000.0, 10000.0), hnr_db=rng.uniform(12.0, 30.0),
        vib_rate=rng.uniform(5.0, 7.0),
        vib_depth=rng.uniform(0.0, 12.0) if straight else rng.uniform(15.0, 70.0),
        f_roll=4000.0)


def _plan_phrases(rng: np.random.Generator, song: Song, singer: _Singer,
                  seconds: float) -> list[list[Note]]:
    """Notes on the beat grid, grouped in phrases; articulation (consonants, legato) included."""
    beat = song.beat
    pool = song.melody_notes(singer.low, singer.high)
    idx = int(np.argmin(np.abs(pool - singer.center)))
    durations = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
    dur_p = np.array([0.3, 0.34, 0.1, 0.16, 0.07, 0.03])
    steps = np.array([-4, -3, -2, -1, 0, 1, 2, 3, 4])
    step_p = np.array([0.03, 0.06, 0.14, 0.22, 0.1, 0.22, 0.14, 0.06, 0.03])
    t = round(rng.uniform(0.3, 2.0) / (beat / 2)) * (beat / 2)
    t = max(t, 0.3)
    phrases = []
    while t < seconds - 0.3:
        phrase = []
        idx = int(np.clip(idx + rng.integers(-3, 4), 0, len(pool) - 1))
        for _ in range(int(rng.integers(2, 9))):
            if t > seconds - 0.15:
                break
            idx += int(rng.choice(steps, p=step_p))
            if idx < 0 or idx >= len(pool):  # reflect at the ends of the range
                idx = int(np.clip(-idx if idx < 0 else 2 * (len(pool) - 1) - idx, 0, len(pool) - 1))
            dur = beat * float(rng.choice(durations, p=dur_p))
            cents = 100.0 * pool[idx] + rng.normal(0.0, 8.0)  # singers are not perfectly in tune
            phrase.append(Note(onset=t, dur=dur, cents=cents, gain=rng.uniform(0.7, 1.0)))
            t += dur
        if phrase:
            phrases.append(phrase)
        t += beat * float(rng.choice([1.0, 1.5, 2.0, 2.0, 3.0, 4.0]))
    for phrase in phrases:
        _articulate(rng, phrase, seconds)
    return [p for p in phrases if p]


def _consonant_duration(rng: np.random.Generator, c: str) -> float:
    if c in PLOSIVES:  # closure + burst + aspiration
        return rng.uniform(0.05, 0.11)
    if c in ("s", "sh"):
        return rng.uniform(0.07, 0.16)
    if c == "f":
        return rng.uniform(0.06, 0.12)
    if c == "h":
        return rng.uniform(0.05, 0.1)
    return rng.uniform(0.05, 0.09)  # voiced murmur (m, n, l), inside the note


def _articulate(rng: np.random.Generator, phrase: list[Note], seconds: float) -> None:
    for j, note in enumerate(phrase):
        note.vowel = str(rng.choice(VOWEL_NAMES, p=VOWEL_P))
        if note.dur > 0.45 and rng.random() < 0.2:
            note.vowel2 = str(rng.choice(VOWEL_NAMES, p=VOWEL_P))
        note.start = note.onset
        note.end = note.onset + note.dur  # trimmed below by the next note's consonant
        cons = None
        if rng.random() < (0.65 if j == 0 else 0.4):
            cons = str(rng.choice(CONSONANTS, p=CONSONANT_P))
        if cons is not None:
            cdur = _consonant_duration(rng, cons)
            if cons in UNVOICED:
                if j > 0:
                    prev = phrase[j - 1]
                    if note.onset - cdur - prev.start < 0.09:
                        cons = None  # no room in the previous note
                    else:
                        prev.end = note.onset - cdur
                elif note.onset - cdur < 0.0:
                    cons = None
            if cons is not None:
                note.consonant, note.cons_dur = cons, cdur
                note.cons_start = note.onset - cdur if cons in UNVOICED else note.onset
        if j > 0:
            prev = phrase[j - 1]
            if note.consonant is None or note.consonant not in UNVOICED:
                if rng.random() < 0.15 and note.onset - prev.start > 0.2:  # staccato
                    prev.end = note.onset - rng.uniform(0.04, 0.12)
                else:
                    note.legato = True
    last = phrase[-1]
    last.end = min(last.onset + last.dur * rng.uniform(0.7, 0.95), seconds - 0.02)
    last.end = max(last.end, last.start + 0.08)
    while phrase and phrase[-1].end > seconds - 0.02:  # a note cut by the end of the song
        phrase.pop()
    if phrase:
        phrase[0].legato = False


def _voice_controls(rng: np.random.Generator, phrases: list[list[Note]], singer: _Singer,
                    n_ctrl: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Control curves at CTRL_RATE: (cents, amplitude, formants (5, n_ctrl))."""
    R = CTRL_RATE
    cents = np.full(n_ctrl, np.nan)
    amp_mask = np.zeros(n_ctrl)  # voiced-segment envelope (ramps included)
    gain = np.ones(n_ctrl)
    vib_depth = np.zeros(n_ctrl)
    vib_rate = np.full(n_ctrl, singer.vib_rate)
    formants = np.tile(np.array(VOWELS["a"])[:, None], (1, n_ctrl))

    def idx(t: float) -> int:
        return int(np.clip(round(t * R), 0, n_ctrl - 1))

    for phrase in phrases:
        # Split the phrase into voiced segments (legato runs).
        segments, current = [], []
        for note in phrase:
            if current and not note.legato:
                segments.append(current)
                current = []
            current.append(note)
        if current:
            segments.append(current)
        for seg in segments:
            i0, i1 = idx(seg[0].start), idx(seg[-1].end)
            if i1 - i0 < 20:
                continue
            for k, note in enumerate(seg):
                a, b = idx(note.start), idx(note.end)
                cents[a:b + 1] = note.cents
                gain[a:b + 1] = note.gain
                fa = idx(note.cons_start if note.consonant in UNVOICED else note.start)
                next_start = idx(seg[k + 1].start) if k + 1 < len(seg) else b
                formants[:, fa:max(next_start, b) + 1] = np.array(VOWELS[note.vowel])[:, None]
                if note.vowel2 is not None:
                    d = idx(note.start + 0.6 * (note.end - note.start))
                    formants[:, d:b + 1] = np.array(VOWELS[note.vowel2])[:, None]
                if note.consonant in NASALS:
                    e = idx(note.start + note.cons_dur)
                    formants[:, a:e] = np.array(NASALS[note.consonant])[:, None]
                    gain[a:e] *= 0.35
                # Vibrato: delayed onset, ramped depth, faded before the note ends.
                length = (note.end - note.start)
                if length > 0.3:
                    delay = rng.uniform(0.12, 0.35)
                    ramp = rng.uniform(0.15, 0.4)
                    t = (np.arange(a, b + 1) / R) - note.start
                    depth = singer.vib_depth * rng.uniform(0.6, 1.25)
                    env = np.clip((t - delay) / ramp, 0.0, 1.0) * np.clip((length - t) / 0.06, 0, 1)
                    vib_depth[a:b + 1] = depth * env
                    vib_rate[a:b + 1] = singer.vib_rate + rng.uniform(-0.3, 0.3)
            # Portamento at legato boundaries, overshoot after big upward leaps.
            for k in range(1, len(seg)):
                p0, p1 = seg[k - 1].cents, seg[k].cents
                tau = min(0.25, rng.uniform(0.04, 0.1) + 0.01 * abs(p1 - p0) / 100.0)
                tb = seg[k].start
                a = max(idx(tb - 0.3 * tau), idx(seg[k - 1].start) + 1)
                b = min(idx(tb + 0.7 * tau), idx(seg[k].end) - 1)
                if b > a:
                    u = (np.arange(a, b + 1) - a) / (b - a)
                    cents[a:b + 1] = p0 + (p1 - p0) * smoothstep(u)
                    if p1 - p0 >= 200 and rng.random() < 0.5:
                        n_b = min(int(0.12 * R), idx(seg[k].end) - b - 1)
                        if n_b > 5:
                            bump = np.sin(np.pi * np.arange(n_b) / n_b)
                            cents[b + 1:b + 1 + n_b] += rng.uniform(10.0, 35.0) * bump
            # Scoop into the first note, sometimes a fall off the last one.
            if rng.random() < 0.5:
                n_s = min(int(rng.uniform(0.04, 0.1) * R), (i1 - i0) // 3)
                u = np.arange(n_s) / max(n_s, 1)
                cents[i0:i0 + n_s] -= rng.uniform(30.0, 150.0) * (1.0 - u) ** 2
            if seg[-1] is phrase[-1] and rng.random() < 0.15:
                n_f = min(int(rng.uniform(0.08, 0.2) * R), (i1 - i0) // 3)
                u = np.arange(n_f) / max(n_f, 1)
                cents[i1 - n_f:i1] -= rng.uniform(80.0, 300.0) * u ** 2
            # Segment envelope: raised-cosine attack and release; dips between legato notes.
            attack = int(rng.uniform(0.015, 0.05) * R)
            if seg[0].consonant in PLOSIVES:
                attack = int(0.01 * R)
            release = int(rng.uniform(0.04, 0.15) * R)
            env = fade(i1 - i0 + 1, attack, release)
            env[0] = 0.0
            for note in seg[1:]:
                c = idx(note.start) - i0
                w = int(0.06 * R)
                lo, hi = max(c - w // 2, 0), min(c + w // 2, len(env))
                u = (np.arange(lo, hi) - (c - w // 2)) / w
                env[lo:hi] *= 1.0 - rng.uniform(0.1, 0.3) * np.sin(np.pi * u) ** 2
            amp_mask[i0:i1 + 1] = np.maximum(amp_mask[i0:i1 + 1], env)

    voiced = amp_mask > 0
    # Fill the unvoiced gaps with the neighbouring pitch so that the phase runs on smoothly.
    have = ~np.isnan(cents)
    if not have.any():
        cents[:] = 100.0 * singer.center
    else:
        pos = np.where(have, np.arange(n_ctrl), 0)
        np.maximum.accumulate(pos, out=pos)
        first = int(np.argmax(have))
        pos[:first] = first
        cents = cents[pos]

    vib_phase = 2.0 * np.pi * np.cumsum(vib_rate) / R + rng.uniform(0, 2 * np.pi)
    vib = vib_depth * np.sin(vib_phase)
    drift = rng.uniform(3.0, 10.0) * lowpass_noise(rng, n_ctrl, R, 1.5)
    jitter = rng.uniform(1.0, 4.0) * lowpass_noise(rng, n_ctrl, R, 12.0)
    cents = cents + vib + drift + jitter

    # Amplitude: smoothed note dynamics x segment envelope x tremolo x shimmer.
    gain = moving_average(gain, int(0.03 * R))
    tremolo = 1.0 + rng.uniform(0.0, 0.12) * np.sin(vib_phase) * (vib_depth > 0)
    shimmer = 1.0 + 0.03 * lowpass_noise(rng, n_ctrl, R, 30.0)
    amp = gain * amp_mask * tremolo * np.clip(shimmer, 0.8, 1.2)
    amp[~voiced] = 0.0

    formants = moving_average(formants, int(0.045 * R)) * singer.formant_scale[:, None]
    # Formant tuning: sopranos raise F1 above F0 on high notes rather than lose the fundamental.
    f0_smooth = midi_to_hz(cents / 100.0)
    formants[0] = np.maximum(formants[0], 1.08 * f0_smooth)
    formants[1] = np.maximum(formants[1], formants[0] + 200.0)
    return cents, amp, formants


def _voice_envelope(freqs: np.ndarray, formants: np.ndarray, singer: _Singer) -> np.ndarray:
    """Spectral envelope per frame (linear gain), tilt x formant peaks.

    freqs : (n_bins,) Hz; formants : (n_frames, 5) Hz -> (n_frames, n_bins)
    """
    f = np.maximum(freqs, 1.0)[None, :]
    env = (1.0 + (f / singer.tilt_freq) ** 2) ** (-0.5 * singer.tilt_slope)
    env = env * (1.0 + (f / singer.rolloff) ** 4) ** -0.5
    f2 = f * f
    for k in range(5):
        fk = formants[:, k:k + 1]
        peak = 10.0 ** (singer.peaks_db[k] / 20.0) - 1.0
        shape = 1.0 / (1.0 + ((f2 - fk * fk) / (singer.bandwidths[k] * f)) ** 2)
        env = env * (1.0 + peak * shape)
    return env


def oscillator(rng: np.random.Generator, f0_ctrl: np.ndarray, amp_ctrl: np.ndarray, n: int,
                sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Control-rate F0 (Hz) and amplitude -> audio-rate F0 (n,), amplitude (n,) and the
    oscillator's phase (n,) from a random start: the running sum of that same F0, so the F0 a
    track reports is exactly the one heard. The phase is float32 once wrapped: a 240th harmonic
    is still exact to 1e-4 rad, and twice as fast."""
    t_audio = np.arange(n) / sample_rate
    t_ctrl = np.arange(len(f0_ctrl)) / CTRL_RATE
    f0 = np.interp(t_audio, t_ctrl, f0_ctrl)
    amp = np.interp(t_audio, t_ctrl, amp_ctrl)
    phase = 2.0 * np.pi * np.cumsum(f0) / sample_rate + rng.uniform(0.0, 2.0 * np.pi)
    return f0, amp, np.mod(phase, 2.0 * np.pi).astype(np.float32)


def render_voice(rng: np.random.Generator, song: Song, singer: _Singer, seconds: float,
                  sample_rate: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """-> (vocals (n,), f0 at control rate (n_ctrl,), voiced mask at control rate, phrases)."""
    R = CTRL_RATE
    n_ctrl = int(math.ceil(n / sample_rate * R)) + 2
    phrases = _plan_phrases(rng, song, singer, seconds)
    cents, amp, formants = _voice_controls(rng, phrases, singer, n_ctrl)
    f0_ctrl = np.clip(midi_to_hz(cents / 100.0), *VOICE_F0_RANGE)
    voiced_ctrl = amp >= VOICED_THRESHOLD

    f0, amp_a, phase32 = oscillator(rng, f0_ctrl, amp, n, sample_rate)
    harmonic = harmonics(phase32, f0, -f0 / singer.f_roll, sample_rate) * amp_a
    # Aspiration noise with a harmonics-to-noise density ratio of hnr_db.
    h = 10.0 ** (singer.hnr_db / 10.0)
    noise = rng.standard_normal(n) * amp_a * np.sqrt(sample_rate / (4.0 * f0 * h))

    n_fft = stft_size(sample_rate)
    hop = n_fft // 4
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    # The DSF decays as exp(-f / f_roll); undo it so that the envelope alone sets the spectrum.
    comp = np.exp(np.minimum(freqs / singer.f_roll, 30.0))
    breath_shape = freqs / (freqs + 1500.0)

    def gains(m0: int, m1: int):
        centres = np.clip((np.arange(m0, m1) * hop - n_fft // 2) / sample_rate, 0, None)
        fr_idx = np.clip(np.round(centres * R).astype(int), 0, n_ctrl - 1)
        env = _voice_envelope(freqs, formants[:, fr_idx].T, singer)
        return env * comp, env * breath_shape

    voiced = filter_frames([harmonic, noise], gains, n_fft)

    vocals = voiced
    voiced_rms = float(np.sqrt(np.mean(voiced[amp_a > 0.3] ** 2))) if np.any(amp_a > 0.3) else 1.0
    for k, phrase in enumerate(phrases):
        for note in phrase:
            if note.consonant in UNVOICED:
                _add_consonant(rng, vocals, note.consonant, note.cons_start, note.cons_dur,
                               voiced_rms, sample_rate)
        prev_end = phrases[k - 1][-1].end if k > 0 else 0.0
        _add_breath(rng, vocals, phrase, prev_end, voiced_rms, sample_rate)
    return vocals, f0_ctrl, voiced_ctrl, phrases


def noise_burst(rng: np.random.Generator, kind: str, length: int, sample_rate: int) -> np.ndarray:
    bands = {"s": (4500.0, 11000.0), "sh": (2000.0, 6500.0), "f": (1200.0, 9000.0),
             "h": (400.0, 4000.0), "t": (3000.0, 10000.0), "k": (1200.0, 4500.0),
             "p": (250.0, 2500.0), "breath": (400.0, 5500.0)}
    lo, hi = bands[kind]
    x = signal.sosfilt(bandpass(sample_rate, lo, hi, 1 if kind in ("h", "breath") else 2),
                       rng.standard_normal(length + 64))[64:]
    return x / (np.sqrt(np.mean(x * x)) + 1e-12)


def _add_consonant(rng: np.random.Generator, out: np.ndarray, kind: str, start: float,
                   dur: float, ref_rms: float, sample_rate: int) -> None:
    s = int(round(start * sample_rate))
    length = int(round(dur * sample_rate))
    length = min(length, len(out) - s)
    if length <= 8 or s < 0:
        return
    level = ref_rms * 10.0 ** (rng.uniform(*CONSONANT_DB[kind]) / 20.0)
    if kind in PLOSIVES:
        # Closure (silence), a short burst, then a breathy release into the vowel.
        closure = int(length * rng.uniform(0.35, 0.55))
        rest = length - closure
        t = np.arange(rest) / sample_rate
        burst = noise_burst(rng, kind, rest, sample_rate) * np.exp(-t / rng.uniform(0.003, 0.008))
        asp = noise_burst(rng, "h", rest, sample_rate) * 0.25 * fade(rest, rest // 4, rest // 3)
        out[s + closure:s + length] += level * (burst + asp)
    else:
        env = fade(length, int(length * rng.uniform(0.2, 0.4)),
                    int(length * rng.uniform(0.15, 0.3)))
        out[s:s + length] += level * env * noise_burst(rng, kind, length, sample_rate)


def _add_breath(rng: np.random.Generator, out: np.ndarray, phrase: list[Note], prev_end: float,
                ref_rms: float, sample_rate: int) -> None:
    """An inhalation just before the phrase, if the rest before it (since prev_end, s) allows."""
    if rng.random() > 0.7:
        return
    first = phrase[0]
    begin = first.cons_start if first.consonant in UNVOICED else first.start
    dur = rng.uniform(0.2, 0.45)
    end = begin - rng.uniform(0.05, 0.2)
    start = end - dur
    if start < prev_end + 0.1:
        return
    s, length = int(round(start * sample_rate)), int(round(dur * sample_rate))
    u = np.arange(length) / length
    env = np.sin(np.pi * u) ** 1.5
    level = ref_rms * 10.0 ** (rng.uniform(-26.0, -16.0) / 20.0)
    burst = noise_burst(rng, "breath", length, sample_rate)
    burst = signal.sosfilt(peaking_sos(rng.uniform(900.0, 1900.0), 8.0, 2.0, sample_rate), burst)
    out[s:s + length] += level * env * burst
