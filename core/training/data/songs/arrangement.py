"""Band arrangements in the styles of records, as note lists for a General-MIDI synthesizer.

Rendered accompaniment only helps the separation network when it resembles the accompaniment of
produced songs: random programs playing block chords over a straight beat do not (they were
measured to make the network worse on real records). So an arrangement here is written the way a
band plays: a style (rock, pop ballad, acoustic, electronic, R&B, metal) sets the tempo range, the
drum grooves, the bass rhythm, how the chords are played (strummed guitars with per-string delays,
palm-muted power chords, arpeggios, voiced keys with voice leading, sustained pads, brass stabs)
and which instruments play; the song is a few 4- or 8-bar verse and chorus sections over common
progressions in a random key, with drum fills at section ends, crashes on downbeats, velocity
accents, swing where the style swings and a few ms of human timing. Some sections carry a lead
instrument in the singer's range (saxophone, violin, flute, synth lead, guitar solo): a melody
that is *not* a voice, the distractor the network has to learn to leave in the accompaniment.

Everything is drawn from one ``np.random.Generator``: the same generator state gives the same
song. Times are seconds, pitches MIDI note numbers, velocities 1-127.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
#: Progressions as 0-based scale degrees, one chord per slot.
PROGRESSIONS = {
    "major": [(0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 4, 3), (0, 5, 3, 4), (3, 0, 4, 5),
              (0, 2, 3, 4), (0, 4, 3, 3), (3, 4, 0, 0), (1, 4, 0, 5), (0, 3, 5, 4)],
    "minor": [(0, 5, 2, 6), (0, 3, 6, 2), (0, 6, 5, 6), (0, 3, 4, 0), (5, 6, 0, 0),
              (0, 5, 3, 4), (0, 2, 6, 3), (0, 0, 5, 6)],
}
# Drum notes of the General-MIDI percussion map.
KICK, SNARE, STICK, CLAP, HAT, PEDAL_HAT, OPEN_HAT = 36, 38, 37, 39, 42, 44, 46
CRASH, RIDE, TAMB, SHAKER = 49, 51, 54, 70
TOMS = (50, 48, 47, 45, 43, 41)


@dataclass
class Style:
    name: str
    weight: float
    tempo: tuple[float, float]
    minor_share: float
    kits: tuple[int, ...]            # GM drum kit programs (bank 128)
    kick: tuple[str, ...]            # 16-step kick patterns, "x" hit
    snare: tuple[str, ...]
    hats: tuple[str, ...]            # "x" closed, "o" open, "r" ride, "s" shaker, "t" tambourine
    swing: tuple[float, float]       # delay of the off 16ths, fraction of a 16th
    bass_programs: tuple[int, ...]
    bass_rhythm: tuple[str, ...]     # 16 steps: "r" root, "o" octave, "f" fifth, "p" passing
    chords: tuple[tuple[str, tuple[int, ...]], ...]   # (how it is played, programs)
    pads: tuple[int, ...]
    brass_share: float
    leads: tuple[int, ...]
    lead_share: float


STYLES = {s.name: s for s in [
    Style("rock", 3.0, (92, 150), 0.4, (0, 16, 8),
          ("x.......x.x.....", "x......xx.......", "x.x.....x.x....."),
          ("....x.......x...", "....x.......x..x"), ("x.x.x.x.x.x.x.x.", "x.x.x.x.x.x.x.o."),
          (0.0, 0.0), (33, 34), ("r.r.r.r.r.r.r.rp", "r.r.r.r.r.o.r.r."),
          (("power", (29, 30)), ("strum", (27, 29)), ("keys", (16, 18, 0))),
          (48, 89), 0.1, (30, 29, 65, 81), 0.5),
    Style("ballad", 2.5, (64, 88), 0.3, (0, 8),
          ("x.........x.....", "x.......x.......", "x......x..x....."),
          ("....x.......x...",), ("x.x.x.x.x.x.x.x.", "x...x...x...x..."),
          (0.0, 0.1), (33, 35, 32), ("r.......f.....p.", "r.........r...p."),
          (("arp", (0, 1, 4, 24)), ("keys", (0, 4, 2)), ("strum", (25,))),
          (48, 49, 89, 50), 0.05, (40, 73, 65, 71, 22), 0.5),
    Style("pop", 3.0, (90, 124), 0.3, (0, 8, 24),
          ("x.....x...x.....", "x.......x.x.....", "x..x..x...x....."),
          ("....x.......x...",), ("x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "..x...x...x...x."),
          (0.0, 0.05), (33, 38, 34), ("r..r..r.r..r..rp", "r.r.r.r.r.r.r.r."),
          (("keys", (0, 4, 90)), ("strum", (25, 27)), ("arp", (0, 5))),
          (48, 89, 90, 50), 0.3, (65, 80, 40, 73, 30), 0.45),
    Style("acoustic", 1.5, (80, 128), 0.3, (0, 40, 32),
          ("x.......x.......", "x.....x.x......."), ("....x.......x...",),
          ("s.s.s.s.s.s.s.s.", "ssssssssssssssss", "....t.......t..."),
          (0.0, 0.15), (32, 33), ("r.......f.......", "r.....r.f.......", "r...f...r...f..p"),
          (("strum", (25, 24)), ("arp", (24, 25)), ("keys", (0, 21))),
          (48, 49), 0.0, (40, 73, 22, 71), 0.5),
    Style("electronic", 1.5, (100, 130), 0.5, (24, 25),
          ("x...x...x...x...", "x...x...x...x..x"), ("....x.......x...",),
          ("..o...o...o...o.", "x.o.x.o.x.o.x.o.", "xxoxxxoxxxoxxxox"),
          (0.0, 0.0), (38, 39, 87), ("..r...r...r...r.", "r.r.r.o.r.r.r.o.", "rrororrororrorro"),
          (("stab", (81, 90, 62)), ("arp", (81, 80, 4)), ("keys", (90, 4))),
          (88, 89, 90, 95), 0.1, (80, 81, 84, 87), 0.5),
    Style("rnb", 1.5, (68, 98), 0.5, (25, 0, 24),
          ("x......x..x.....", "x.....x...x..x..", "x..x......x....."),
          ("....x.......x...", "....x.......x..x"), ("xxxxxxxxxxxxxxxx", "x.x.x.x.x.x.x.xo"),
          (0.12, 0.3), (33, 38, 35), ("r......or.r...p.", "r..r......r.o.p."),
          (("keys7", (4, 5, 0)), ("muted", (27, 28, 26))),
          (48, 89, 49), 0.35, (65, 66, 80, 40), 0.45),
    Style("metal", 1.0, (100, 180), 0.9, (16, 0),
          ("x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "x..x..x.x..x..x."),
          ("....x.......x...", "x...x...x...x..."), ("r.r.r.r.r.r.r.r.", "x.x.x.x.x.x.x.x."),
          (0.0, 0.0), (34, 33), ("r.r.r.r.r.r.r.r.", "rrrrrrrrrrrrrrrr"),
          (("power", (30, 29)),), (48, 50, 19), 0.0, (30, 29, 81), 0.5),
]}


@dataclass
class Part:
    """One instrument track: what a single synthesizer pass renders to one stem.

    notes : (start s, end s, pitch, velocity) tuples
    controls : (time s, MIDI controller number, value) tuples, e.g. modulation (vibrato)
    pan : -1 (left) to 1 (right); double : a second take panned opposite
    gain_db : the stem's level in the mix relative to the drums; drive : distortion on the stem
    """

    name: str
    role: str
    program: int
    is_drum: bool = False
    notes: list = field(default_factory=list)
    pan: float = 0.0
    gain_db: float = 0.0
    double: bool = False
    drive: bool = False
    reverb: float = 0.2
    controls: list = field(default_factory=list)


@dataclass
class Song:
    style: str
    tempo: float
    key: int
    mode: str
    sections: list            # (kind, first bar, n_bars)
    parts: list
    bar_seconds: float


def _choice(rng, items):
    return items[int(rng.integers(len(items)))]


def _chord_pcs(key: int, mode: str, degree: int, seventh: bool) -> list[int]:
    scale = MAJOR if mode == "major" else MINOR
    steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
    return [(key + scale[(degree + s) % 7]) % 12 for s in steps]


def _voice(pcs: list[int], previous: list[int] | None, low: int, high: int, rng) -> list[int]:
    """A close voicing of the pitch classes in [low, high], the nearest to ``previous``."""
    options = []
    for inv in range(len(pcs)):
        order = pcs[inv:] + pcs[:inv]
        for base in range(low, high - 12):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                notes.append(notes[-1] + (pc - notes[-1]) % 12)
            if notes[-1] <= high:
                options.append(notes)
    if not options:
        return [low + (pcs[0] - low) % 12]
    if previous is None:
        return _choice(rng, options)
    centre = float(np.mean(previous))
    return min(options, key=lambda v: abs(float(np.mean(v)) - centre) + 0.1 * rng.random())


class _Writer:
    """Turns beat positions into humanised seconds for one song."""

    def __init__(self, song_tempo: float, swing: float, rng):
        self.beat = 60.0 / song_tempo
        self.swing = swing
        self.rng = rng

    def time(self, beat: float, jitter_ms: float = 4.0) -> float:
        frac = beat * 4 - np.floor(beat * 4 + 1e-6)
        step = int(np.floor(beat * 4 + 1e-6))
        if step % 2 == 1 and frac < 1e-3:
            beat += self.swing / 4
        return max(0.0, beat * self.beat + self.rng.normal(0, jitter_ms / 1000))

    def note(self, part: Part, beat: float, length: float, pitch: int, vel: float,
             jitter_ms: float = 4.0) -> None:
        start = self.time(beat, jitter_ms)
        end = max(start + 0.03, (beat + length) * self.beat - 0.01)
        vel = int(np.clip(vel + self.rng.normal(0, 6), 1, 127))
        part.notes.append((start, end, int(pitch), vel))


def _drums(song: Song, style: Style, w: _Writer, rng) -> Part:
    part = Part("drums", "drums", int(_choice(rng, style.kits)), is_drum=True, reverb=0.15)
    for kind, first, n_bars in song.sections:
        full = kind == "chorus"
        kick = _choice(rng, style.kick)
        snare = _choice(rng, style.snare)
        hats = _choice(rng, style.hats)
        if full and rng.random() < 0.5 and style.name in ("rock", "pop", "metal"):
            hats = "r.r.r.r.r.r.r.r." if rng.random() < 0.5 else "o.x.o.x.o.x.o.x."
        side_stick = style.name in ("ballad", "acoustic") and not full and rng.random() < 0.6
        for b in range(n_bars):
            bar = (first + b) * 4.0
            fill = b == n_bars - 1 and rng.random() < 0.7
            steps = 16 if not fill else int(_choice(rng, (8, 12)))
            for s in range(steps):
                t = bar + s / 4
                accent = 1.0 if s % 4 == 0 else (0.85 if s % 2 == 0 else 0.7)
                if kick[s] == "x" or (s == 0 and b == 0):
                    w.note(part, t, 0.25, KICK, 110 * accent + 10, 2.0)
                if snare[s] == "x":
                    w.note(part, t, 0.25, STICK if side_stick else
                           (CLAP if style.name == "electronic" else SNARE), 112 * accent + 8, 3.0)
                h = hats[s]
                if h != ".":
                    pitch = {"x": HAT, "o": OPEN_HAT, "r": RIDE, "s": SHAKER, "t": TAMB}[h]
                    w.note(part, t, 0.25, pitch, (82 if s % 2 == 0 else 60) * (0.95 if full else 0.85))
            if b == 0 and (full or rng.random() < 0.4):
                w.note(part, bar, 2.0, CRASH, 105)
            if fill:
                toms = list(TOMS) if rng.random() < 0.6 else [SNARE] * 6
                for k, s in enumerate(range(steps, 16)):
                    w.note(part, bar + s / 4, 0.25, toms[min(k * 6 // (16 - steps), 5)], 85 + 3 * k)
    return part


def _bass(song: Song, style: Style, chords, w: _Writer, rng) -> Part:
    part = Part("bass", "bass", int(_choice(rng, style.bass_programs)), gain_db=2.5, reverb=0.0)
    rhythm = _choice(rng, style.bass_rhythm)
    scale = MAJOR if song.mode == "major" else MINOR
    for i, (beat, length, pcs) in enumerate(chords):
        root = 28 + (pcs[0] - 28) % 12
        if root < 33:
            root += 12
        nxt = chords[i + 1][2][0] if i + 1 < len(chords) else pcs[0]
        n_steps = int(round(length * 4))
        for s in range(n_steps):
            c = rhythm[s % 16]
            if c == ".":
                continue
            pitch = {"r": root, "o": root + 12, "f": root + 7}.get(c, root)
            if c == "p":
                if s < n_steps - 2:
                    pitch = root + _choice(rng, (7, 12, 10))
                else:   # approach the next root from a step below or above
                    target = 28 + (nxt - 28) % 12 + (12 if 28 + (nxt - 28) % 12 < 33 else 0)
                    below = [target - d for d in (1, 2) if (target - d - song.key) % 12 in scale]
                    pitch = _choice(rng, below + [target + 1, target - 1])
            nxt_hit = next((k for k in range(s + 1, n_steps) if rhythm[k % 16] != "."), n_steps)
            dur = (nxt_hit - s) / 4 * (0.9 if style.name != "metal" else 0.6)
            w.note(part, beat + s / 4, dur, pitch, 100 if s % 4 == 0 else 85, 3.0)
    return part


STRUM = ("D.D.DUDU", "D.DUDUDU", "D..UDUDU", "D.D.D.D.", "D..D..D.")


def _chords(song: Song, style: Style, how: str, program: int, chords, w: _Writer, rng) -> Part:
    part = Part(how, "chords", program, reverb=0.25)
    previous = None
    strum = _choice(rng, STRUM)
    stab = "x..x..x...x..x.." if rng.random() < 0.5 else "..x...x...x...x."
    for beat, length, pcs in chords:
        sect = _section_at(song, beat)
        if how == "power" or (how == "strum" and program in (29, 30)):
            root = 40 + (pcs[0] - 40) % 12
            shape = [root, root + 7, root + 12]
            palm = sect == "verse" and rng.random() < 0.7
            for s in range(0, int(length * 4), 2 if (palm or style.name != "metal") else 1):
                if not palm and s % 8 != 0 and rng.random() < 0.5:
                    continue
                dur = 0.2 if palm else (min(2.0, length - s / 4) if s % 8 == 0 else 0.45)
                for k, p in enumerate(shape):
                    w.note(part, beat + s / 4 + k * 0.004, dur, p, 100 if palm else 112, 2.0)
        elif how == "strum":
            root = 40 + (pcs[0] - 40) % 12
            third = pcs[1] - pcs[0]
            shape = [root, root + 7, root + 12, root + 12 + third % 12, root + 19, root + 24]
            for s8, c in enumerate(strum * int(max(1, length // 4))):
                if c == "." or s8 / 2 >= length:
                    continue
                order = shape if c == "D" else shape[::-1][:4]
                gap = rng.uniform(0.008, 0.02)
                for k, p in enumerate(order):
                    start = beat + s8 / 2
                    w.note(part, start + k * gap / w.beat, 0.5 if c == "U" else 1.0, p,
                           (95 if c == "D" else 75) - 3 * k, 2.0)
        elif how == "arp":
            voicing = _voice(pcs, previous, 55, 76, rng)
            previous = voicing
            bass = 45 + (pcs[0] - 45) % 12     # the left hand: A2-G#3, above the bass guitar
            seq = [bass, bass + 7] + voicing + voicing[-2:0:-1]
            step = 0.5 if style.name != "electronic" else 0.25
            for k in range(int(length / step)):
                w.note(part, beat + k * step, step * 2.5, seq[k % len(seq)], 80 - 10 * (k % 2), 5.0)
        elif how in ("keys", "keys7", "stab", "muted"):
            pcs_now = _chord_pcs(song.key, song.mode, _degree(song, pcs), how == "keys7") \
                if how == "keys7" else pcs
            voicing = _voice(pcs_now, previous, 55 if how != "muted" else 60, 79, rng)
            previous = voicing
            if how == "keys7":   # spread: the root below, the 3rd and 7th on top
                voicing = [voicing[0] - 12] + voicing[1:]
            if how in ("stab", "muted"):
                for s in range(int(length * 4)):
                    if stab[s % 16] == "x":
                        for p in voicing:
                            w.note(part, beat + s / 4, 0.2, p, 95, 3.0)
            else:
                hits = [0.0, 1.5, 2.5] if rng.random() < 0.5 else [0.0, 2.0]
                hits = [h for h in hits if h < length] or [0.0]
                for j, h in enumerate(hits):
                    end = hits[j + 1] if j + 1 < len(hits) else length
                    for k, p in enumerate(voicing + [43 + (pcs[0] - 43) % 12]):
                        w.note(part, beat + h + k * 0.003, end - h, p, 85 if h == 0 else 70, 6.0)
    return part


def _degree(song: Song, pcs) -> int:
    scale = MAJOR if song.mode == "major" else MINOR
    return scale.index((pcs[0] - song.key) % 12) if (pcs[0] - song.key) % 12 in scale else 0


def _section_at(song: Song, beat: float) -> str:
    for kind, first, n in song.sections:
        if first * 4 <= beat < (first + n) * 4:
            return kind
    return "verse"


def _pad(song: Song, program: int, chords, w: _Writer, rng, only_chorus: bool) -> Part:
    part = Part("pad", "pad", program, gain_db=-9.0, reverb=0.4)
    previous = None
    for beat, length, pcs in chords:
        if only_chorus and _section_at(song, beat) != "chorus":
            continue
        voicing = _voice(pcs, previous, 52, 76, rng)
        previous = voicing
        spread = [voicing[0] - 12] + voicing[1:] + [voicing[1] + 12]   # open, wide voicing
        for p in spread:
            w.note(part, beat, length, p, 70, 10.0)
    return part


def _brass(song: Song, program: int, chords, w: _Writer, rng) -> Part:
    part = Part("brass", "brass", program, gain_db=-7.0, reverb=0.3)
    previous = None
    for beat, length, pcs in chords:
        if _section_at(song, beat) != "chorus":
            continue
        voicing = _voice(pcs, previous, 58, 80, rng)
        previous = voicing
        for h in ((0.0, 1.5) if rng.random() < 0.5 else (2.5, 3.5)):
            if h < length:
                for p in voicing:
                    w.note(part, beat + h, 0.35, p, 105, 4.0)
    return part


def _lead(song: Song, program: int, chords, w: _Writer, rng) -> Part:
    """A melody in the singer's range (about G3-C6) over the sections that have one."""
    part = Part("lead", "lead", program, gain_db=-4.0, reverb=0.3, drive=program in (29, 30))
    scale = MAJOR if song.mode == "major" else MINOR
    notes_ok = [p for p in range(55, 85) if (p - song.key) % 12 in scale]
    sections = [s for s in song.sections if rng.random() < 0.6] or [song.sections[-1]]
    pos = len(notes_ok) // 2
    for kind, first, n_bars in sections:
        for bar in range(first, first + n_bars):
            if rng.random() < 0.3:
                continue    # a rest: phrases breathe
            beat = bar * 4.0 + _choice(rng, (0.0, 0.5, 1.0))
            while beat < bar * 4 + 4:
                length = float(_choice(rng, (0.5, 0.5, 1.0, 1.0, 1.5, 2.0)))
                pos = int(np.clip(pos + rng.integers(-2, 3), 0, len(notes_ok) - 1))
                w.note(part, beat, length * 0.95, notes_ok[pos], 95, 8.0)
                start, end = part.notes[-1][:2]
                if end - start > 0.35:   # vibrato that sets in late, as players do
                    part.controls += [(start, 1, 0), (start + 0.25, 1, int(rng.integers(30, 80))),
                                      (end, 1, 0)]
                beat += length
    return part


def arrange(rng: np.random.Generator, seconds: float, style: str) -> Song:
    """A song in ``style`` (a key of :data:`STYLES`) of at least ``seconds`` plus two bars,
    drawn from ``rng``."""
    style = STYLES[style]
    tempo = float(rng.uniform(*style.tempo))
    mode = "minor" if rng.random() < style.minor_share else "major"
    key = int(rng.integers(12))
    bar_s = 4 * 60.0 / tempo
    n_bars = int(np.ceil(seconds / bar_s)) + 2
    sections, bar, kind = [], 0, _choice(rng, ("verse", "chorus"))
    progs = {k: PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
             for k in ("verse", "chorus")}
    while bar < n_bars:
        length = 8 if rng.random() < 0.5 else 4
        sections.append((kind, bar, length))
        bar += length
        kind = "chorus" if kind == "verse" else "verse"
    song = Song(style.name, tempo, key, mode, sections, [], bar_s)
    chords = []     # (start beat, length in beats, pitch classes)
    for kind, first, n in sections:
        prog = progs[kind]
        per_chord = 4.0 if rng.random() < 0.7 or style.name == "ballad" else 8.0
        for k in range(int(n * 4 / per_chord)):
            deg = prog[k % len(prog)]
            chords.append((first * 4.0 + k * per_chord, per_chord,
                           _chord_pcs(key, mode, deg, style.name == "rnb" and rng.random() < 0.5)))
    w = _Writer(tempo, float(rng.uniform(*style.swing)), rng)
    parts = [_drums(song, style, w, rng), _bass(song, style, chords, w, rng)]
    n_chord_parts = 1 + int(rng.random() < 0.6)
    for j in rng.permutation(len(style.chords))[:n_chord_parts]:
        how, programs = style.chords[int(j)]
        part = _chords(song, style, how, int(_choice(rng, programs)), chords, w, rng)
        part.drive = part.program in (29, 30)
        guitar = 24 <= part.program <= 31
        part.double = guitar and rng.random() < (0.95 if part.drive else 0.7)
        part.pan = 0.0 if part.double else float(rng.uniform(-0.6, 0.6))
        part.gain_db = -1.5 if part.drive else -4.5    # a doubled guitar wall near the drums
        parts.append(part)
    if style.pads and rng.random() < 0.7:
        parts.append(_pad(song, int(_choice(rng, style.pads)), chords, w, rng,
                          only_chorus=rng.random() < 0.5))
    if rng.random() < style.brass_share:
        parts.append(_brass(song, int(_choice(rng, (61, 62, 56))), chords, w, rng))
    if rng.random() < style.lead_share:
        lead = _lead(song, int(_choice(rng, style.leads)), chords, w, rng)
        lead.pan = float(rng.uniform(-0.3, 0.3))
        parts.append(lead)
    for p in parts:
        p.gain_db += float(rng.uniform(-1.5, 1.5))
    song.parts = parts
    return song
