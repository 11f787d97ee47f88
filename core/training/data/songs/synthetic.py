"""Synthetic multitrack songs whose vocal F0 is known exactly.

Every song is generated from a random generator alone (no samples, no files): a singing voice over
an accompaniment of drums, bass, chords, pads and, most of the time, *distractors*: lead instruments
(guitar, sax, violin, flute, synth, clarinet) that play melodies in the singer's range, in the
voice's rests and sometimes over it. Those are the classic error a melody tracker makes and the user
of Isolde has to correct, so the model must learn that they belong to the accompaniment.

The voice
    Notes on a scale at the song's tempo, in phrases separated by rests with breaths before them.
    The source is a band-limited glottal-like pulse train (all harmonics up to Nyquist, in closed
    form, so there is no aliasing) shaped per STFT frame by a spectral tilt and five vowel formants
    that move from vowel to vowel (diphthongs, nasal murmurs, formant tuning on high notes).
    Vibrato of 5-7 Hz whose depth varies and which starts late in each note, portamento between
    legato notes, scoops, overshoots and falls, slow drift and jitter, aspiration noise, fricative
    and plosive consonants at note onsets (unvoiced: F0 = 0 there), and a register that is either
    male or female (F0 about 90-900 Hz).

The F0
    ``Track.f0_hz[k]`` is the instantaneous F0 the synthesis used at ``f0_times[k] = k * 10 ms``,
    exactly: the oscillator's phase is the running sum of that same curve. It is 0 in rests, during
    unvoiced consonants and breaths, and where the voiced amplitude is below
    :data:`VOICED_THRESHOLD` of its full level (the first and last few ms of each voiced stretch).
    So the vocal stem is not silent everywhere f0 = 0: consonants, breaths and (in half of the
    songs) the reverb tail of the voice are there, as in real vocal stems.

Speed: everything is vectorised numpy/scipy (the harmonic series is summed in closed form, dark
accompaniment parts are rendered at a quarter of the rate and upsampled); an 8 s song at 44.1 kHz
takes about 0.2 s of CPU on one core
(``python -m core.training.data.songs.synthetic --benchmark``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import signal

from ..base import Dataset, Track
from ..pyin_cache import F0_HOP_SECONDS, n_f0_frames

#: Rate of the control curves (pitch, amplitude, formants), Hz. Fine enough for 7 Hz vibrato and
#: 15 Hz jitter, and every 10 ms F0 frame falls exactly on a control point.
CTRL_RATE = 1000
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

MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
}
# Chord progressions as scale degrees (0 = tonic), a chord per bar.
PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 0), (0, 3, 5, 4),
                (1, 4, 0, 0), (0, 6, 5, 4), (0, 5, 2, 6), (0, 2, 3, 4), (0, 0, 3, 4))

LEAD_INSTRUMENTS = ("guitar", "sax", "violin", "flute", "synth", "clarinet")


def midi_to_hz(midi):
    """MIDI note number(s) -> Hz (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(hz):
    """Hz -> MIDI note number(s); hz must be > 0."""
    return 69.0 + 12.0 * np.log2(np.asarray(hz, dtype=np.float64) / 440.0)


# ----------------------------------------------------------------------------------------------
# Oscillators and filters
# ----------------------------------------------------------------------------------------------

def dsf(phase: np.ndarray, log_a, n, w=0.0) -> np.ndarray:
    """Band-limited harmonic series ``sum_{k=1..n} a**k cos(k phase)
    + w a**(n+1) cos((n+1) phase)``.

    Closed form (a discrete summation formula), so the cost is O(len(phase)) whatever n is: that is
    what lets a 90 Hz voice carry its ~240 harmonics up to Nyquist cheaply.
    phase : radians, any shape (wrapped to [0, 2 pi) here, which leaves the sum unchanged);
    log_a : log of the per-harmonic decay a (< 0), scalar or like phase;
    n : number of full harmonics, integer valued, scalar or like phase;
    w : weight in [0, 1] of harmonic n+1 (the taper), scalar or like phase.
    """
    phase = np.mod(phase, 2.0 * np.pi)
    a = np.exp(log_a)
    an1 = np.exp((n + 1) * log_a)
    c1 = np.cos(phase)
    cn1 = np.cos((n + 1) * phase)
    num = a * c1 - a * a - an1 * cn1 + an1 * a * np.cos(n * phase)
    return num / (1.0 - 2.0 * a * c1 + a * a) + w * an1 * cn1


def _harmonic_count(f0, limit, dtype):
    x = np.maximum(limit / f0, 0.0)
    n = np.floor(x)
    return n.astype(dtype), (x - n).astype(dtype)


def harmonics(phase: np.ndarray, f0, log_a, sample_rate: float, odd: bool = False) -> np.ndarray:
    """All harmonics of f0 (Hz) below Nyquist, harmonic k with amplitude a**k = exp(k log_a).

    phase : radians, the running integral of 2 pi f0 (float32 or float64; the result has its dtype);
    f0 : Hz, scalar or like phase. The highest harmonic fades in and out with the fractional part
    of (limit / f0) instead of switching, so a gliding or vibrating F0 never clicks.
    odd=True keeps only the odd harmonics (clarinet, square-like synth).
    """
    dtype = phase.dtype
    f0 = np.asarray(f0, dtype=np.float64)
    limit = 0.5 * sample_rate - 2.0 * f0 - 20.0  # the tapered harmonic stays below Nyquist
    log_a = np.asarray(log_a).astype(dtype)
    n, w = _harmonic_count(f0, limit, dtype)
    out = dsf(phase, log_a, n, w)
    if odd:
        # Remove the even harmonics: the series of 2 f0 with decay a**2, same upper limit.
        n2, w2 = _harmonic_count(2.0 * f0, limit, dtype)
        out = out - dsf(2.0 * phase, 2.0 * log_a, n2, w2)
    return out


def harmonics_rms(log_a: float, f0: float, sample_rate: float) -> float:
    """Approximate RMS of :func:`harmonics` for scalar parameters (sqrt of half the power sum)."""
    n = max((0.5 * sample_rate - 2.0 * f0 - 20.0) / f0, 1.0)
    a2 = math.exp(2.0 * log_a)
    return math.sqrt(0.5 * a2 * (1.0 - a2 ** n) / (1.0 - a2)) + 1e-12


def _clip_band(sample_rate: float, low: float, high: float) -> tuple[float, float]:
    high = min(high, 0.45 * sample_rate)
    low = min(low, 0.5 * high)
    return low, high


@lru_cache(maxsize=64)
def _bandpass(sample_rate: int, low: float, high: float, order: int = 2) -> np.ndarray:
    low, high = _clip_band(sample_rate, low, high)
    return signal.butter(order, [low, high], btype="bandpass", fs=sample_rate, output="sos")


@lru_cache(maxsize=64)
def _lowpass(sample_rate: float, cutoff: float, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff, 0.45 * sample_rate)
    return signal.butter(order, cutoff, btype="lowpass", fs=sample_rate, output="sos")


@lru_cache(maxsize=64)
def _highpass(sample_rate: int, cutoff: float, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff, 0.4 * sample_rate)
    return signal.butter(order, cutoff, btype="highpass", fs=sample_rate, output="sos")


def peaking_sos(freq: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """One second-order peaking-EQ section (shape (1, 6)): +gain_db at freq (Hz), width freq/q."""
    freq = min(freq, 0.45 * sample_rate)
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / sample_rate
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1.0 + alpha * amp, -2.0 * np.cos(w0), 1.0 - alpha * amp])
    a = np.array([1.0 + alpha / amp, -2.0 * np.cos(w0), 1.0 - alpha / amp])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


def _lowpass_noise(rng: np.random.Generator, n: int, rate: float, cutoff: float) -> np.ndarray:
    """Smooth random curve: white noise low-passed at cutoff (Hz), unit standard deviation."""
    x = signal.sosfilt(_lowpass(float(rate), float(cutoff)), rng.standard_normal(n + 200))[200:]
    return x / (np.std(x) + 1e-12)


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along the last axis (width samples), same length."""
    if width <= 1:
        return x
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    pad = width // 2
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, width - 1 - pad)], mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, kernel, mode="valid")
    return np.stack([np.convolve(row, kernel, mode="valid") for row in xp])


def _stft_size(sample_rate: int) -> int:
    """FFT size of about 46 ms: resolves the harmonics of a 90 Hz voice."""
    return 1 << int(round(math.log2(0.0464 * sample_rate)))


def _filter_frames(signals: list[np.ndarray], gains, n_fft: int, block: int = 128) -> np.ndarray:
    """Time-varying filtering by STFT: sum_i signal_i filtered by gains(m0, m1)[i], overlap-added.

    signals : equally long float arrays (n,); gains(m0, m1) returns, for frames m0..m1-1, one
    array (m1 - m0, n_fft/2 + 1) of linear gains per signal. Hann windows, hop n_fft/4, frame m
    covering signal[m*hop - n_fft : m*hop]. Frames are processed in blocks so that memory stays
    small for long songs. Returns float64 (n,).
    """
    hop = n_fft // 4
    n = len(signals[0])
    n_frames = (n + n_fft) // hop + 1
    win = _hann(n_fft)
    views = []
    for x in signals:
        xp = np.zeros(n_frames * hop + n_fft)
        xp[n_fft:n_fft + n] = x
        views.append(np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop][:n_frames])
    out = np.zeros(n_frames * hop + 2 * n_fft)
    block -= block % 4
    for m0 in range(0, n_frames, block):
        m1 = min(m0 + block, n_frames)
        spec = sum(g * np.fft.rfft(v[m0:m1] * win, axis=1) for v, g in zip(views, gains(m0, m1)))
        frames = np.fft.irfft(spec, n=n_fft, axis=1) * win
        # With hop = n_fft/4, frames r, r+4, r+8 ... tile the signal without overlap: four adds.
        for r in range(4):
            tiles = frames[r::4].reshape(-1)
            start = (m0 + r) * hop
            out[start:start + tiles.size] += tiles
    return out[n_fft:n_fft + n] / 1.5  # sum of squared Hann windows at 75 % overlap


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def _fade(n: int, attack: int, release: int) -> np.ndarray:
    """Raised-cosine fade-in over attack samples and fade-out over release samples, length n."""
    env = np.ones(n)
    attack, release = min(attack, n), min(release, n)
    if attack > 0:
        env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    if release > 0:
        env[n - release:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(release) + 1) / release)
    return env


# ----------------------------------------------------------------------------------------------
# The song: key, tempo, chords
# ----------------------------------------------------------------------------------------------

@dataclass
class Song:
    """Key, tempo and harmony shared by every part of one synthetic song."""

    tempo: float  # beats per minute
    root: int  # pitch class of the key, 0 = C
    mode: str
    scale: tuple  # pitch classes of the 7-note scale, relative to root
    melody_scale: tuple  # the notes the melodies use (the scale or a pentatonic subset)
    chords: list = field(default_factory=list)  # (start s, end s, [pitch classes], root pc)

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    def melody_notes(self, low: float, high: float) -> np.ndarray:
        """MIDI numbers of the melody scale in [low, high]."""
        m = np.arange(int(math.ceil(low)), int(math.floor(high)) + 1)
        return m[np.isin((m - self.root) % 12, self.melody_scale)]


def make_song(rng: np.random.Generator, seconds: float) -> Song:
    mode = str(rng.choice(list(MODES), p=[0.42, 0.3, 0.1, 0.1, 0.08]))
    scale = MODES[mode]
    if rng.random() < 0.3:  # pentatonic melodies: drop the 4th and 7th (major) or 2nd and 6th
        keep = (0, 1, 2, 4, 5) if mode in ("major", "mixolydian") else (0, 2, 3, 4, 6)
        melody_scale = tuple(scale[i] for i in keep)
    else:
        melody_scale = scale
    song = Song(tempo=float(rng.uniform(70.0, 150.0)), root=int(rng.integers(12)), mode=mode,
                scale=scale, melody_scale=melody_scale)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bars_per_chord = float(rng.choice([0.5, 1.0, 1.0, 1.0, 2.0]))
    chord_len = 4.0 * song.beat * bars_per_chord
    t, i = 0.0, 0
    while t < seconds + chord_len:
        degree = progression[i % len(progression)]
        n_tones = 4 if rng.random() < 0.3 else 3  # sevenths now and then
        pcs = [(song.root + scale[(degree + 2 * j) % 7]) % 12 for j in range(n_tones)]
        song.chords.append((t, t + chord_len, pcs, pcs[0]))
        t += chord_len
        i += 1
    return song


# ----------------------------------------------------------------------------------------------
# The voice
# ----------------------------------------------------------------------------------------------

@dataclass
class _Note:
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


def _make_singer(rng: np.random.Generator) -> _Singer:
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
                  seconds: float) -> list[list[_Note]]:
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
            phrase.append(_Note(onset=t, dur=dur, cents=cents, gain=rng.uniform(0.7, 1.0)))
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


def _articulate(rng: np.random.Generator, phrase: list[_Note], seconds: float) -> None:
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


def _voice_controls(rng: np.random.Generator, phrases: list[list[_Note]], singer: _Singer,
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
                    cents[a:b + 1] = p0 + (p1 - p0) * _smoothstep(u)
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
            env = _fade(i1 - i0 + 1, attack, release)
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
    drift = rng.uniform(3.0, 10.0) * _lowpass_noise(rng, n_ctrl, R, 1.5)
    jitter = rng.uniform(1.0, 4.0) * _lowpass_noise(rng, n_ctrl, R, 12.0)
    cents = cents + vib + drift + jitter

    # Amplitude: smoothed note dynamics x segment envelope x tremolo x shimmer.
    gain = _moving_average(gain, int(0.03 * R))
    tremolo = 1.0 + rng.uniform(0.0, 0.12) * np.sin(vib_phase) * (vib_depth > 0)
    shimmer = 1.0 + 0.03 * _lowpass_noise(rng, n_ctrl, R, 30.0)
    amp = gain * amp_mask * tremolo * np.clip(shimmer, 0.8, 1.2)
    amp[~voiced] = 0.0

    formants = _moving_average(formants, int(0.045 * R)) * singer.formant_scale[:, None]
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


def _oscillator(rng: np.random.Generator, f0_ctrl: np.ndarray, amp_ctrl: np.ndarray, n: int,
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


def _render_voice(rng: np.random.Generator, song: Song, singer: _Singer, seconds: float,
                  sample_rate: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """-> (vocals (n,), f0 at control rate (n_ctrl,), voiced mask at control rate, phrases)."""
    R = CTRL_RATE
    n_ctrl = int(math.ceil(n / sample_rate * R)) + 2
    phrases = _plan_phrases(rng, song, singer, seconds)
    cents, amp, formants = _voice_controls(rng, phrases, singer, n_ctrl)
    f0_ctrl = np.clip(midi_to_hz(cents / 100.0), *VOICE_F0_RANGE)
    voiced_ctrl = amp >= VOICED_THRESHOLD

    f0, amp_a, phase32 = _oscillator(rng, f0_ctrl, amp, n, sample_rate)
    harmonic = harmonics(phase32, f0, -f0 / singer.f_roll, sample_rate) * amp_a
    # Aspiration noise with a harmonics-to-noise density ratio of hnr_db.
    h = 10.0 ** (singer.hnr_db / 10.0)
    noise = rng.standard_normal(n) * amp_a * np.sqrt(sample_rate / (4.0 * f0 * h))

    n_fft = _stft_size(sample_rate)
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

    voiced = _filter_frames([harmonic, noise], gains, n_fft)

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


def _noise_burst(rng: np.random.Generator, kind: str, length: int, sample_rate: int) -> np.ndarray:
    bands = {"s": (4500.0, 11000.0), "sh": (2000.0, 6500.0), "f": (1200.0, 9000.0),
             "h": (400.0, 4000.0), "t": (3000.0, 10000.0), "k": (1200.0, 4500.0),
             "p": (250.0, 2500.0), "breath": (400.0, 5500.0)}
    lo, hi = bands[kind]
    x = signal.sosfilt(_bandpass(sample_rate, lo, hi, 1 if kind in ("h", "breath") else 2),
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
        burst = _noise_burst(rng, kind, rest, sample_rate) * np.exp(-t / rng.uniform(0.003, 0.008))
        asp = _noise_burst(rng, "h", rest, sample_rate) * 0.25 * _fade(rest, rest // 4, rest // 3)
        out[s + closure:s + length] += level * (burst + asp)
    else:
        env = _fade(length, int(length * rng.uniform(0.2, 0.4)),
                    int(length * rng.uniform(0.15, 0.3)))
        out[s:s + length] += level * env * _noise_burst(rng, kind, length, sample_rate)


def _add_breath(rng: np.random.Generator, out: np.ndarray, phrase: list[_Note], prev_end: float,
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
    burst = _noise_burst(rng, "breath", length, sample_rate)
    burst = signal.sosfilt(peaking_sos(rng.uniform(900.0, 1900.0), 8.0, 2.0, sample_rate), burst)
    out[s:s + length] += level * env * burst


# ----------------------------------------------------------------------------------------------
# Accompaniment
# ----------------------------------------------------------------------------------------------

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
        env = _fade(length, int(attack * sample_rate), int(release * sample_rate))
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


def _render_drums(rng: np.random.Generator, song: Song, n: int, sample_rate: int) -> np.ndarray:
    sr = sample_rate
    out = np.zeros(n)

    def kick() -> np.ndarray:
        length = int(0.35 * sr)
        t = np.arange(length) / sr
        f = rng.uniform(40.0, 55.0) + rng.uniform(60.0, 120.0) * np.exp(-t / 0.03)
        body = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / rng.uniform(0.12, 0.3))
        click = _noise_burst(rng, "k", length, sr) * np.exp(-t / 0.003) * 0.3
        return body + click

    def snare() -> np.ndarray:
        length = int(0.25 * sr)
        t = np.arange(length) / sr
        tone = np.sin(2 * np.pi * rng.uniform(170.0, 230.0) * t) * np.exp(-t / 0.04)
        rattle = _noise_burst(rng, "sh", length, sr) * np.exp(-t / rng.uniform(0.06, 0.15))
        return 0.5 * tone + 0.7 * rattle

    def hat(open_: bool) -> np.ndarray:
        length = int((0.35 if open_ else 0.08) * sr)
        t = np.arange(length) / sr
        x = signal.sosfilt(_highpass(sr, 7000.0), rng.standard_normal(length))
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


def _render_bass(rng: np.random.Generator, song: Song, n: int, sample_rate: int) -> np.ndarray:
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
    out = signal.sosfilt(_lowpass(float(sample_rate), 2500.0), out)
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


def _render_chords(rng: np.random.Generator, song: Song, n: int, sample_rate: int,
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
        out = signal.sosfilt(_lowpass(float(sr), rng.uniform(2000, 5000)), out)
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


def _plan_lead_notes(rng: np.random.Generator, song: Song, windows: list[tuple[float, float]],
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


def _render_lead(rng: np.random.Generator, notes, instrument: str, n: int,
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
        env = _fade(b - a + 1, 0 if legato[k] else max(1, int(style.attack * R)),
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
            cents[a:a + w] = prev_c + (c - prev_c) * _smoothstep(u)
        elif instrument == "guitar" and rng.random() < 0.25:  # bend up into the note
            w = min(int(rng.uniform(0.05, 0.12) * R), (b - a) // 2)
            u = np.arange(w) / max(w, 1)
            cents[a:a + w] -= float(rng.choice([100.0, 200.0])) * (1.0 - _smoothstep(u))
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
    f0, amp_a, phase = _oscillator(rng, f0_ctrl, amp, n, sample_rate)
    wave = harmonics(phase, f0, -f0 / style.bright, sample_rate, odd=style.odd)
    out = wave * amp_a
    if style.breath > 0:
        out += style.breath * amp_a * _noise_burst(rng, "breath", n, sample_rate)
    for f, g, q in style.eq:
        out = signal.sosfilt(peaking_sos(f, g, q, sample_rate), out)
    f0_ctrl = np.where(amp >= VOICED_THRESHOLD, f0_ctrl, 0.0)
    return out, f0_ctrl


def _voice_rests(phrases: list[list[_Note]], seconds: float) -> list[tuple[float, float]]:
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


# ----------------------------------------------------------------------------------------------
# Mixing
# ----------------------------------------------------------------------------------------------

def _reverb_ir(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    rt60 = rng.uniform(0.3, 1.4)
    length = int(min(rt60, 1.0) * sample_rate)
    t = np.arange(length) / sample_rate
    ir = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
    ir = signal.sosfilt(_lowpass(float(sample_rate), rng.uniform(3000.0, 8000.0), 1), ir)
    pre = int(rng.uniform(0.01, 0.03) * sample_rate)
    return np.concatenate([np.zeros(pre), ir / np.sqrt(np.sum(ir ** 2))])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-12


def _to_grid(ctrl: np.ndarray, n_f0: int) -> np.ndarray:
    """Control-rate curve -> the 10 ms grid (every 10th control point, exactly)."""
    step = int(round(F0_HOP_SECONDS * CTRL_RATE))
    idx = np.minimum(np.arange(n_f0) * step, len(ctrl) - 1)
    return ctrl[idx].astype(np.float64)


def generate_track(rng: np.random.Generator, seconds: float = 8.0, sample_rate: int = 44100,
                   *, name: str = "synthetic", group: str | None = None) -> Track:
    """One synthetic song.

    rng : the only source of randomness (same generator state -> same song, bit for bit)
    seconds : duration (s); sample_rate : Hz (the STFT and filters adapt to it)
    Returns a :class:`Track`: mono float32 ``vocals`` and ``accompaniment`` of
    ``round(seconds * sample_rate)`` samples, ``f0_times = k * 0.01`` s and ``f0_hz`` the voice's
    exact F0 (0 = unvoiced). ``meta`` holds the song's parameters and, under "distractors", one
    entry per lead line: {"instrument", "role" ("fills" | "counter" | "harmony"), "f0_hz" (on the
    same grid, 0 where it is silent)}.
    """
    sr = int(sample_rate)
    n = int(round(seconds * sr))
    if n < sr // 4:
        raise ValueError(f"seconds must be at least 0.25, got {seconds}")
    n_f0 = n_f0_frames(n, sr)
    song = make_song(rng, seconds)
    singer = _make_singer(rng)
    vocals, f0_ctrl, voiced_ctrl, phrases = _render_voice(rng, song, singer, seconds, sr, n)
    f0_hz = np.where(_to_grid(voiced_ctrl.astype(float), n_f0) > 0, _to_grid(f0_ctrl, n_f0), 0.0)

    # Accompaniment parts, each normalised to unit RMS, then mixed at random levels (dB).
    parts: dict[str, np.ndarray] = {}
    if rng.random() < 0.85:
        parts["drums"] = _render_drums(rng, song, n, sr)
    if rng.random() < 0.9:
        parts["bass"] = _render_bass(rng, song, n, sr)
    chord_instruments = ["piano", "guitar", "epiano", "organ"]
    n_chord = 1 if rng.random() < 0.7 else 2
    for inst in rng.choice(chord_instruments, size=n_chord, replace=False):
        parts[str(inst)] = _render_chords(rng, song, n, sr, str(inst))
    if rng.random() < 0.5:
        parts["pad"] = _render_chords(rng, song, n, sr, "pad")
    levels_db = {"drums": (-3, 3), "bass": (-6, 0), "piano": (-8, -1), "guitar": (-8, -1),
                 "epiano": (-9, -2), "organ": (-10, -3), "pad": (-12, -5), "lead": (-7, 0)}

    distractors = []
    leads = list(rng.permutation(LEAD_INSTRUMENTS))
    # Where the voice actually sings (its notes wander around the singer's centre).
    sung = [nt.cents / 100.0 for p in phrases for nt in p]
    voice_center = float(np.median(sung)) if sung else singer.center
    lead_parts = []
    if rng.random() < 0.8:  # fills in the vocal rests, in the singer's range
        rests = _voice_rests(phrases, seconds)
        center = voice_center + float(rng.choice([0, 0, 0, 0, 12, -12, 7, -5]))
        notes = _plan_lead_notes(rng, song, rests, center, long_notes=False)
        if notes:
            inst = str(leads.pop())
            audio, f0c = _render_lead(rng, notes, inst, n, sr)
            lead_parts.append(audio)
            distractors.append({"instrument": inst, "role": "fills", "f0_hz": _to_grid(f0c, n_f0)})
    if rng.random() < 0.4:  # a second melody over the voice
        inst = str(leads.pop())
        if rng.random() < 0.3:  # harmony: the voice's own notes a third or sixth away
            shift = float(rng.choice([-9, -4, -3, 3, 4, 8, 9]))
            notes = [(nt.start, nt.end, nt.cents + 100 * shift) for p in phrases for nt in p]
            role = "harmony"
        else:
            center = voice_center + float(rng.choice([0, 0, 12, -12, 5]))
            notes = _plan_lead_notes(rng, song, [(0.0, seconds)], center, long_notes=True)
            role = "counter"
        if notes:
            audio, f0c = _render_lead(rng, notes, inst, n, sr)
            lead_parts.append(audio)
            distractors.append({"instrument": inst, "role": role, "f0_hz": _to_grid(f0c, n_f0)})

    accompaniment = np.zeros(n)
    for key, part in parts.items():
        accompaniment += part * (10.0 ** (rng.uniform(*levels_db[key]) / 20.0) / _rms(part))
    for part in lead_parts:
        # Leads are normalised on their active samples: they may play only a few seconds.
        active = np.abs(part) > 1e-4 * (np.max(np.abs(part)) + 1e-12)
        level = _rms(part[active]) if active.any() else 1.0
        accompaniment += part * (10.0 ** (rng.uniform(*levels_db["lead"]) / 20.0) / level)

    reverb = bool(rng.random() < 0.5)
    if reverb:
        ir = _reverb_ir(rng, sr)
        wet_v, wet_a = 10.0 ** (rng.uniform(-20, -10, size=2) / 20.0)
        vocals = vocals + wet_v * signal.oaconvolve(vocals, ir)[:n]
        accompaniment = accompaniment + wet_a * signal.oaconvolve(accompaniment, ir)[:n]

    ratio_db = float(rng.uniform(-6.0, 6.0))
    if _rms(vocals) > 1e-6:  # a very short song may have no phrase at all
        vocals = vocals * (_rms(accompaniment) / _rms(vocals)) * 10.0 ** (ratio_db / 20.0)
    peak = max(np.max(np.abs(vocals)), np.max(np.abs(accompaniment)),
               np.max(np.abs(vocals + accompaniment)))
    scale = rng.uniform(0.5, 0.95) / peak
    vocals = (vocals * scale).astype(np.float32)
    accompaniment = (accompaniment * scale).astype(np.float32)

    meta = {
        "generator": "isolde-synthetic-1",
        "tempo_bpm": song.tempo,
        "key": int(song.root),
        "mode": song.mode,
        "register": "female" if singer.female else "male",
        "vibrato_rate_hz": singer.vib_rate,
        "vibrato_depth_cents": singer.vib_depth,
        "vocal_to_accompaniment_db": ratio_db,
        "accompaniment_parts": sorted(parts),
        "reverb": reverb,
        "distractors": distractors,
    }
    return Track(name=name, group=group if group is not None else name, vocals=vocals,
                 accompaniment=accompaniment, sample_rate=sr,
                 f0_times=np.arange(n_f0, dtype=np.float64) * F0_HOP_SECONDS, f0_hz=f0_hz,
                 meta=meta)


class SyntheticDataset(Dataset):
    """``n_tracks`` synthetic songs, generated on demand.

    Track i depends only on (seed, i): ``load(i)`` returns the same song every time, on every
    machine with the same numpy. Names are "synthetic_0007"; each song is its own group (there is
    no singer to keep together: every song draws a new voice).
    """

    def __init__(self, n_tracks: int, seconds: float = 8.0, sample_rate: int = 44100,
                 seed: int = 0):
        if n_tracks < 0:
            raise ValueError("n_tracks must be >= 0")
        self.seconds = float(seconds)
        self.sample_rate = int(sample_rate)
        self.seed = int(seed)
        self.names = [f"synthetic_{i:04d}" for i in range(n_tracks)]
        self.groups = list(self.names)

    def load(self, index: int) -> Track:
        if not 0 <= index < len(self.names):
            raise IndexError(f"track {index} out of range (0..{len(self.names) - 1})")
        rng = np.random.default_rng([self.seed, index])
        return generate_track(rng, self.seconds, self.sample_rate, name=self.names[index])


def _benchmark(n: int = 10, seconds: float = 8.0, sample_rate: int = 44100) -> None:
    ds = SyntheticDataset(n, seconds, sample_rate)
    ds.load(0)  # warm caches (filter designs, imports)
    wall, cpu = [], []
    for i in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        ds.load(i)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"{n} tracks of {seconds:g} s at {sample_rate} Hz, per track: wall mean "
          f"{np.mean(wall):.3f} s (max {np.max(wall):.3f}), CPU mean {np.mean(cpu):.3f} s "
          f"(max {np.max(cpu):.3f})")


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(description="Synthetic song generator")
    parser.add_argument("--benchmark", action="store_true")
    parser.add_argument("--write", metavar="DIR", help="write a few songs as WAV for listening")
    parser.add_argument("-n", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    if args.write:
        from pathlib import Path

        from ....audio.io import save_audio

        out = Path(args.write)
        out.mkdir(parents=True, exist_ok=True)
        ds = SyntheticDataset(args.n, args.seconds)
        for i in range(args.n):
            track = ds.load(i)
            for part, x in (("mix", track.mixture), ("vocals", track.vocals),
                            ("accompaniment", track.accompaniment)):
                save_audio(out / f"{track.name}_{part}.wav", x, track.sample_rate)
    else:
        _benchmark(args.n, args.seconds)
