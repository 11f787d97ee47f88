"""Accompaniment that sounds like a record: band arrangements rendered by FluidSynth and mixed.

The separation network learns what accompaniment is from its training data; accompaniment made
of oscillators or of random General-MIDI programs playing block chords does not resemble the
records users bring (it was measured to make the network worse on them). Here each song is an
arrangement in a record style (:mod:`core.training.data.songs.arrangement`), rendered with the
General-MIDI sound font (Debian ``fluid-soundfont-gm``) by the ``fluidsynth`` program, one pass per
instrument track, so that every instrument is its own stem. The stems are mixed as an engineer
would: drums, bass and kick in the centre, doubled guitars panned left and right, keys and pads
wide, levels with drums and bass prominent, distortion on rock and metal guitars, kick-keyed
"pumping" in dance mixes, a reverb send, then a mix-bus chain (`pedalboard`: EQ, glue compression,
limiter) to a modern level of about -16 to -10 dBFS RMS with peaks below 0 dBFS, at 44.1 kHz stereo.

The songs have no voice (the training sampler puts real singing over them): ``vocals`` is silent
and ``f0_hz`` zero, also where a lead instrument plays a melody in the singer's range.

Song ``i`` depends only on ``(seed, i)``. Rendering a 20 s song takes a few seconds, so each is
rendered once and cached as 24-bit stereo FLAC (with its description as JSON beside it) under
``cache_dir``, keyed by seed, index, length, rate and :data:`RECIPE`; the cache is always what is
returned, so a first load and a later one give the same samples.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ....errors import IsoldeError
from ..base import Dataset, Track
from ..pyin_cache import grid_times
from .arrangement import STYLES, Part, arrange

#: Changes whenever the arrangement or the mix changes, so old cache files are not reused.
RECIPE = "rendered-4"
#: The General-MIDI sound font of Debian's fluid-soundfont-gm.
SOUND_FONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: The FluidSynth command-line program.
FLUIDSYNTH = "fluidsynth"
INSTALL_HINT = "apt-get install fluidsynth fluid-soundfont-gm"


def _check_tools(sound_font: Path) -> str:
    exe = shutil.which(FLUIDSYNTH)
    if exe is None:
        raise IsoldeError(f"FluidSynth is not installed: {INSTALL_HINT}")
    if not Path(sound_font).is_file():
        raise IsoldeError(f"General MIDI sound font not found at {sound_font}: {INSTALL_HINT}")
    return exe


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(index), stream, 0x150])


def song_style(index: int, seed: int = 0) -> str:
    """The style of song ``index`` (cheap: no rendering), e.g. "rock"."""
    names = list(STYLES)
    weights = np.array([STYLES[n].weight for n in names])
    return names[int(_rng(seed, index, 1).choice(len(names), p=weights / weights.sum()))]


def _synthesize(part: Part, exe: str, sound_font: Path, sample_rate: int, n: int,
                workdir: Path) -> np.ndarray:
    """One FluidSynth pass over one instrument track: (2, n) float32, dry (no synth reverb)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=part.program, is_drum=part.is_drum, name=part.name)
    for start, end, pitch, vel in _untangle(part.notes):
        inst.notes.append(pretty_midi.Note(velocity=int(vel), pitch=int(pitch),
                                           start=float(start), end=float(end)))
    for time, number, value in part.controls:
        inst.control_changes.append(pretty_midi.ControlChange(int(number), int(value), float(time)))
    midi.instruments.append(inst)
    mid, wav = workdir / f"{part.name}.mid", workdir / f"{part.name}.wav"
    midi.write(str(mid))
    cmd = [exe, "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(sample_rate),
           "-O", "float", "-T", "wav", "-F", str(wav), str(sound_font), str(mid)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not wav.is_file():
        last = (result.stderr or result.stdout or "no output").strip().splitlines()[-1:]
        raise IsoldeError(f"FluidSynth failed to render {part.name}: {' '.join(last)}")
    audio, _ = sf.read(str(wav), dtype="float32", always_2d=True)
    audio = audio.T[:2]
    out = np.zeros((2, n), dtype=np.float32)
    m = min(n, audio.shape[1])
    out[:, :m] = audio[:, :m]
    return out


def _untangle(notes: list) -> list:
    """Notes with each one ending before the next one of the same pitch starts: in MIDI a note-off
    of an overlapping earlier note would cut the later one short (a strum into a ringing chord)."""
    out, by_pitch = [], {}
    for note in sorted(notes, key=lambda n: (n[2], n[0])):
        by_pitch.setdefault(note[2], []).append(list(note))
    for same in by_pitch.values():
        for a, b in zip(same, same[1:]):
            a[1] = min(a[1], max(a[0] + 0.005, b[0] - 0.002))
        out += [tuple(n) for n in same]
    return sorted(out)


def _retake(part: Part, rng: np.random.Generator) -> Part:
    """A second performance of a part (for doubling): timing and velocities played again."""
    notes = []
    for start, end, pitch, vel in part.notes:
        shift = rng.normal(0, 0.007)
        notes.append((max(0.0, start + shift), end + shift, pitch,
                      int(np.clip(vel + rng.normal(0, 6), 1, 127))))
    return Part(part.name + "_double", part.role, part.program, part.is_drum, notes, -part.pan,
                part.gain_db, False, part.drive, part.reverb, list(part.controls))


def _pan(stem: np.ndarray, pan: float, keep_stereo: bool, width: float = 1.0) -> np.ndarray:
    """Place a (2, n) stem: mono and panned with constant power, or stereo narrowed and balanced."""
    theta = (np.clip(pan, -1, 1) + 1) * np.pi / 4
    left, right = np.cos(theta) * np.sqrt(2), np.sin(theta) * np.sqrt(2)
    if keep_stereo:
        mid, side = (stem[0] + stem[1]) / 2, (stem[0] - stem[1]) / 2 * width
        return np.stack([(mid + side) * left, (mid - side) * right]).astype(np.float32)
    mono = stem.mean(axis=0)
    return np.stack([mono * left, mono * right]).astype(np.float32)


def _sidechain(drums: Part, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """The gain (n,) float32 of a compressor keyed by the kick: 3-8 dB down at each kick, back
    within 100-250 ms (the "pumping" of dance mixes)."""
    depth = 1 - 10 ** (-rng.uniform(3, 8) / 20)
    tau = rng.uniform(0.04, 0.08) * sample_rate
    dips = np.zeros(n)
    for start, _, pitch, _ in drums.notes:
        k = int(start * sample_rate)
        if pitch == 36 and k < n:
            dips[k] = 1.0
    # A dip at each kick, decaying exponentially: a one-pole filter over the impulses.
    from scipy.signal import lfilter

    env = np.minimum(lfilter([1.0], [1.0, -np.exp(-1 / tau)], dips), 1.0)
    return (1 - depth * env).astype(np.float32)


def _active_rms(x: np.ndarray, sample_rate: int) -> float:
    """RMS over the 50 ms blocks where a stem plays (within 40 dB of its loudest block)."""
    hop = sample_rate // 20
    n = x.shape[-1] // hop
    if n == 0:
        return float(np.sqrt(np.mean(x ** 2)) + 1e-12)
    blocks = np.mean(x[..., :n * hop].reshape(-1, n, hop) ** 2, axis=(0, 2))
    active = blocks[blocks > blocks.max() * 1e-4]
    return float(np.sqrt(active.mean()) + 1e-12) if active.size else 1e-12


def _process_stem(stem: np.ndarray, part: Part, sample_rate: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Insert effects of one (2, n) stem: distortion and a cabinet-like band for driven guitars,
    shelving EQ on the drums, a high-pass on everything but drums and bass."""
    from pedalboard import (Distortion, HighpassFilter, HighShelfFilter, LowpassFilter,
                            LowShelfFilter, Pedalboard, PeakFilter)

    chain = []
    if part.drive:
        chain += [HighpassFilter(90.0), Distortion(drive_db=float(rng.uniform(8, 20))),
                  PeakFilter(float(rng.uniform(1500, 3000)), 3.0, 1.0)]
        cab = float(rng.uniform(4500, 6500))     # a speaker cabinet: two poles above ~5 kHz
        chain += [LowpassFilter(cab), LowpassFilter(cab)]
    if part.role == "drums":     # weight on the kick, cymbals tamed, as on a drum bus
        chain += [LowShelfFilter(float(rng.uniform(60, 100)), float(rng.uniform(1, 4))),
                  HighShelfFilter(float(rng.uniform(5000, 8000)), float(rng.uniform(-5, -1)))]
    if part.role not in ("drums", "bass"):
        chain.append(HighpassFilter(float(rng.uniform(90, 160))))
    if not chain:
        return stem
    return Pedalboard(chain)(stem, sample_rate).astype(np.float32)


def _bus(mix: np.ndarray, sample_rate: int, rng: np.random.Generator,
         target_rms_db: float) -> np.ndarray:
    """The mix-bus chain: EQ, glue compression, then gain into a limiter to ``target_rms_db``
    (dBFS, RMS of both channels); peaks end below -0.3 dBFS."""
    from pedalboard import (Compressor, HighShelfFilter, HighpassFilter, Limiter,
                            LowShelfFilter, Pedalboard, PeakFilter)

    rms_db = 20 * np.log10(np.sqrt(np.mean(mix ** 2)) + 1e-12)
    eq_comp = Pedalboard([
        HighpassFilter(float(rng.uniform(25, 35))),
        LowShelfFilter(float(rng.uniform(70, 120)), float(rng.uniform(1, 4))),
        PeakFilter(float(rng.uniform(250, 500)), float(rng.uniform(-3, 0)), 1.0),
        HighShelfFilter(float(rng.uniform(7000, 11000)), float(rng.uniform(-2, 2))),
        Compressor(threshold_db=float(rms_db + rng.uniform(-2, 4)), ratio=float(rng.uniform(2, 4)),
                   attack_ms=float(rng.uniform(10, 30)), release_ms=float(rng.uniform(100, 250))),
    ])
    mix = eq_comp(mix, sample_rate).astype(np.float32)
    limiter = Pedalboard([Limiter(threshold_db=-1.0, release_ms=float(rng.uniform(60, 150)))])
    gain_db = target_rms_db - 20 * np.log10(np.sqrt(np.mean(mix ** 2)) + 1e-12)
    out = mix
    for _ in range(3):    # the limiter takes some level away: aim again
        out = limiter(mix * np.float32(10 ** (gain_db / 20)), sample_rate)
        got = 20 * np.log10(np.sqrt(np.mean(out ** 2)) + 1e-12)
        if abs(got - target_rms_db) < 0.3:
            break
        gain_db += target_rms_db - got
    peak = float(np.max(np.abs(out)))
    if peak > 0.966:     # -0.3 dBFS: the limiter's overshoot on fast transients
        out = out * np.float32(0.966 / peak)
    return out.astype(np.float32)


def render_song(index: int, seed: int = 0, seconds: float = 20.0, sample_rate: int = 44100, *,
                sound_font: str | os.PathLike | None = None) -> tuple[np.ndarray, dict]:
    """Render and mix song ``index`` of ``seed``.

    returns : (stereo, meta); stereo float32 of shape (2, round(seconds * sample_rate)), peaks
        below 0 dBFS; meta {"style", "tempo" (BPM), "key", "mode", "instruments" (list of str),
        "sections", "level_dbfs" (target RMS)}
    """
    sound_font = Path(sound_font) if sound_font is not None else SOUND_FONT
    exe = _check_tools(sound_font)
    rng = _rng(seed, index, 0)
    song = arrange(rng, seconds + 2.0, style=song_style(index, seed))
    n = int(round(seconds * sample_rate))
    offset = int(song.bar_seconds * rng.uniform(1.0, 1.9) * sample_rate)
    total = offset + n + sample_rate // 2
    reverb_send = np.zeros((2, total), dtype=np.float32)
    mix = np.zeros((2, total), dtype=np.float32)
    instruments = []
    with tempfile.TemporaryDirectory(prefix="isolde-render-") as tmp:
        duck = None
        if song.style == "electronic" or (song.style in ("pop", "rnb") and rng.random() < 0.25):
            duck = _sidechain(song.parts[0], total, sample_rate, rng)
        for part in song.parts:
            takes = [part]
            if part.double:
                part.pan = float(rng.uniform(0.6, 1.0)) * (1 if rng.random() < 0.5 else -1)
                takes.append(_retake(part, rng))
            for take in takes:
                stem = _synthesize(take, exe, sound_font, sample_rate, total, Path(tmp))
                stem = _process_stem(stem, take, sample_rate, rng)
                stereo = take.role in ("drums", "pad", "chords") and not take.double \
                    and not take.name.endswith("_double") and not take.drive
                stem = _pan(stem, take.pan, stereo, width=1.0 if take.role != "bass" else 0.0)
                level = 0.1 * 10 ** (take.gain_db / 20) / _active_rms(stem, sample_rate)
                if len(takes) == 2:
                    level *= 0.75
                stem *= np.float32(level)
                if duck is not None and not take.is_drum:
                    stem *= duck
                mix += stem
                reverb_send += stem * np.float32(take.reverb)
            instruments.append(_describe(part))
    from pedalboard import Pedalboard, Reverb

    reverb = Pedalboard([Reverb(room_size=float(rng.uniform(0.3, 0.8)), damping=0.5,
                                wet_level=1.0, dry_level=0.0, width=1.0)])
    mix += reverb(reverb_send, sample_rate).astype(np.float32) * np.float32(rng.uniform(0.3, 0.6))
    target = float(rng.uniform(-16.0, -10.0))
    out = _bus(mix, sample_rate, rng, target)[:, offset:offset + n]
    meta = {"style": song.style, "tempo": round(song.tempo, 2), "key": song.key,
            "mode": song.mode, "instruments": instruments,
            "sections": [f"{kind}:{length}" for kind, _, length in song.sections],
            "level_dbfs": round(target, 2)}
    return np.ascontiguousarray(out, dtype=np.float32), meta


def _describe(part: Part) -> str:
    import pretty_midi

    if part.is_drum:
        return f"drums: kit {part.program}"
    name = pretty_midi.program_to_instrument_name(part.program)
    return f"{part.name}{' (doubled)' if part.double else ''}: {name}"


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("isolde")) / "rendered"


class RenderedSongs(Dataset):
    """``n_songs`` rendered accompaniments (no voice), each rendered once and then cached.

    Track.accompaniment : float32 (n,), the mono mix (mean of left and right) of the stereo
    render; Track.vocals : zeros (n,); Track.f0_hz : zeros on the 10 ms grid; group : the style.
    """

    def __init__(self, n_songs: int, *, seed: int = 0, seconds: float = 20.0,
                 sample_rate: int = 44100, cache_dir: str | os.PathLike | None = None):
        if n_songs <= 0:
            raise IsoldeError("RenderedSongs needs a positive number of songs")
        self.seed, self.seconds, self.sample_rate = int(seed), float(seconds), int(sample_rate)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.names = [f"rendered_{i:05d}" for i in range(n_songs)]
        self.groups = [song_style(i, self.seed) for i in range(n_songs)]

    def cache_path(self, index: int) -> Path:
        """The FLAC file of song ``index`` (its JSON description has the suffix .json)."""
        key = f"{RECIPE}|{self.seed}|{index}|{self.seconds!r}|{self.sample_rate}"
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        return self.cache_dir / f"rendered_s{self.seed}_{index:05d}_{digest}.flac"

    def stereo(self, index: int) -> tuple[np.ndarray, dict]:
        """The cached render of song ``index``: ((2, n) float32, meta), rendering it if needed."""
        if not 0 <= index < len(self.names):
            raise IndexError(index)
        path = self.cache_path(index)
        meta_path = path.with_suffix(".json")
        if not (path.is_file() and meta_path.is_file()):
            audio, meta = render_song(index, self.seed, self.seconds, self.sample_rate)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            _atomic_write(meta_path, lambda p: p.write_text(json.dumps(meta, indent=1)))
            _atomic_write(path, lambda p: sf.write(str(p), audio.T, self.sample_rate,
                                                   format="FLAC", subtype="PCM_24"))
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        if rate != self.sample_rate:
            raise IsoldeError(f"Rendered cache file {path} has the wrong rate: delete it")
        return audio.T.copy(), json.loads(meta_path.read_text())

    def load(self, index: int) -> Track:
        audio, meta = self.stereo(index)
        n = audio.shape[1]
        times = grid_times(n, self.sample_rate)
        return Track(name=self.names[index], group=meta["style"],
                     vocals=np.zeros(n, dtype=np.float32),
                     accompaniment=audio.mean(axis=0).astype(np.float32),
                     sample_rate=self.sample_rate, f0_times=times,
                     f0_hz=np.zeros_like(times), meta=meta)


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp" + path.suffix,
                               dir=str(path.parent))
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
