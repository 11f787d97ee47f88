"""MedleyDB: multitracks with per-stem instrument labels and melody annotations.

Layout read here::

    root/Audio/<Track>/<Track>_MIX.wav
    root/Audio/<Track>/<Track>_METADATA.yaml        (or root/Metadata/<Track>_METADATA.yaml)
    root/Audio/<Track>/<Track>_STEMS/<Track>_STEM_01.wav ...
    root/Annotations/Melody_Annotations/MELODY2/<Track>_MELODY2.csv   (rows: time s, f0 Hz)

The metadata lists the stems with their instrument ("male singer", "female singer", "vocalists",
"electric bass" ...). Vocal stems are those whose instrument contains one of
:data:`VOCAL_KEYWORDS`; they are summed into ``vocals`` and the other stems into
``accompaniment`` (or, when a stem file is missing, accompaniment = mix - vocals; MedleyDB's mix
is not exactly the sum of its stems, so that fallback is approximate). Tracks without a vocal stem
are skipped. Group = the artist (the track name up to the first "_").

Reference F0: MELODY2 annotates the melody whichever instrument carries it, so it is used only
where the vocal stem is active (within :data:`ACTIVE_DB` of its loudest frame). Where the voice is
active but the annotation is silent, or names a pitch the vocal stem does not sing (more than a
semitone away from the stem's pYIN F0, octave errors of pYIN excepted), the stem's own pYIN F0 is
used. Without an annotation, pYIN of the vocal stem alone.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ...audio.io import load_audio, resample
from ...errors import AudioError
from .base import Dataset, Track
from .pyin_cache import active_frames, default_cache_dir, f0_to_grid, grid_times, reference_f0

#: A stem is vocal if its instrument label contains one of these (lower case).
VOCAL_KEYWORDS = ("singer", "vocal")
#: Voice activity threshold relative to the vocal stem's loudest 40 ms (dB). Higher than pYIN's
#: silence gate because MedleyDB stems can carry the bleed of other instruments.
ACTIVE_DB = -40.0


# ----------------------------------------------------------------------------------------------
# A tolerant reader for the small subset of YAML that MedleyDB metadata uses
# ----------------------------------------------------------------------------------------------

def _scalar(text: str):
    text = text.strip()
    if text in ("", "~", "null"):
        return None if text else ""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else inner
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(x) for x in inner.split(",")] if inner else []
    if text == "{}":
        return {}
    return text


_KEY = re.compile(r"^(?P<key>[^:#][^:]*?)\s*:(?:\s+(?P<value>.*))?$")


def parse_simple_yaml(text: str) -> dict:
    """Nested mappings by indentation, ``key: scalar``, ``- item`` lists, ``[]``/``{}``, quotes.

    Enough for MedleyDB's metadata files; anything it does not understand is skipped rather than
    fatal (a damaged line costs that field, not the track).
    """
    lines = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), stripped))
    pos = 0

    def block(indent: int):
        nonlocal pos
        if pos < len(lines) and lines[pos][1].startswith("- ") or (
                pos < len(lines) and lines[pos][1] == "-"):
            items = []
            while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("-"):
                items.append(_scalar(lines[pos][1][1:]))
                pos += 1
                while pos < len(lines) and lines[pos][0] > indent:  # nested under an item: skip
                    pos += 1
            return items
        mapping = {}
        while pos < len(lines) and lines[pos][0] == indent:
            match = _KEY.match(lines[pos][1])
            pos += 1
            if match is None:
                continue
            key, value = match.group("key").strip().strip("'\""), match.group("value")
            if value is not None and value.strip():
                mapping[key] = _scalar(value)
            elif pos < len(lines) and (lines[pos][0] > indent or (
                    lines[pos][0] == indent and lines[pos][1].startswith("-"))):
                mapping[key] = block(lines[pos][0])
            else:
                mapping[key] = None
        return mapping

    result = {}
    while pos < len(lines):
        start = pos
        part = block(lines[pos][0])
        if isinstance(part, dict):
            result.update(part)
        if pos == start:  # a line that fits nowhere (odd indentation): skip it
            pos += 1
    return result


def read_metadata(path: Path) -> dict:
    """A MedleyDB ``*_METADATA.yaml`` as a dict (PyYAML when installed, else the parser above)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        import yaml
    except ImportError:
        return parse_simple_yaml(text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return parse_simple_yaml(text)
    return data if isinstance(data, dict) else {}


def read_melody_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A MELODY annotation: rows "time,f0" (s, Hz; f0 <= 0 unvoiced) -> (times, f0_hz) float64."""
    times, f0 = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.replace(";", ",").replace("\t", ",").split(",")
        if len(fields) < 2:
            continue
        try:
            t, f = float(fields[0]), float(fields[1])
        except ValueError:
            continue  # a header or a damaged row
        times.append(t)
        f0.append(max(f, 0.0))
    times_a, f0_a = np.asarray(times, dtype=np.float64), np.asarray(f0, dtype=np.float64)
    order = np.argsort(times_a, kind="stable")
    return times_a[order], f0_a[order]


def is_vocal(instrument) -> bool:
    """True for labels such as "male singer", "female singer", "vocalists"."""
    labels = instrument if isinstance(instrument, list) else [instrument]
    return any(k in str(label).lower() for label in labels for k in VOCAL_KEYWORDS)


class MedleyDBDataset(Dataset):
    """MedleyDB tracks that have at least one vocal stem.

    root : the folder holding Audio/ (and Annotations/)
    sample_rate : resample to this rate (Hz); None keeps the files' rate (44100)
    cache_dir : pYIN cache; None: :func:`~core.training.data.pyin_cache.default_cache_dir`
    pyin_check : False uses the annotation wherever the voice is active and pYIN only for tracks
        without one (faster, but trusts MELODY2 where another instrument carries the melody)
    """

    def __init__(self, root: str | os.PathLike, *, sample_rate: int | None = None,
                 cache_dir: str | os.PathLike | None = None, pyin_check: bool = True):
        self.root = Path(root)
        self.sample_rate = sample_rate
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.pyin_check = pyin_check
        audio_dir = self.root / "Audio"
        if not audio_dir.is_dir():
            raise AudioError(f"Not a MedleyDB folder (no Audio/ inside): {self.root}")
        self.tracks: list[dict] = []
        for folder in sorted((d for d in audio_dir.iterdir() if d.is_dir()), key=lambda d: d.name):
            info = self._scan(folder)
            if info is not None:
                self.tracks.append(info)
        self.names = [t["name"] for t in self.tracks]
        self.groups = [t["name"].split("_", 1)[0] for t in self.tracks]

    def _scan(self, folder: Path) -> dict | None:
        name = folder.name
        candidates = [folder / f"{name}_METADATA.yaml",
                      self.root / "Metadata" / f"{name}_METADATA.yaml"]
        meta_path = next((p for p in candidates if p.is_file()), None)
        if meta_path is None:
            return None
        meta = read_metadata(meta_path)
        stems = meta.get("stems") or {}
        if not isinstance(stems, dict):
            return None
        stem_dir = folder / str(meta.get("stem_dir") or f"{name}_STEMS")
        vocal, other = [], []
        for key in sorted(stems):
            stem = stems[key]
            if not isinstance(stem, dict) or not stem.get("filename"):
                continue
            entry = (stem_dir / str(stem["filename"]), stem.get("instrument"))
            (vocal if is_vocal(stem.get("instrument")) else other).append(entry)
        if not vocal:
            return None  # instrumental: nothing to learn the voice from
        annotation = (self.root / "Annotations" / "Melody_Annotations" / "MELODY2"
                      / f"{name}_MELODY2.csv")
        return {"name": name, "folder": folder, "vocal": vocal, "other": other,
                "mix": folder / str(meta.get("mix_filename") or f"{name}_MIX.wav"),
                "annotation": annotation if annotation.is_file() else None,
                "artist": meta.get("artist"), "has_bleed": meta.get("has_bleed")}

    def _mono(self, path: Path, rate: int | None) -> tuple[np.ndarray, int]:
        audio = load_audio(path)
        target = rate if rate is not None else self.sample_rate
        mono = audio.mono()
        if target is not None and audio.sample_rate != target:
            return resample(mono, audio.sample_rate, target), target
        return mono, audio.sample_rate

    def load(self, index: int) -> Track:
        info = self.tracks[index]
        rate = None
        vocal_parts = []
        for path, _ in info["vocal"]:
            if not path.is_file():
                raise AudioError(f"MedleyDB vocal stem missing: {path}")
            x, rate = self._mono(path, rate)
            vocal_parts.append(x)
        other_missing = any(not p.is_file() for p, _ in info["other"])
        if other_missing or not info["other"]:
            if not info["mix"].is_file():
                raise AudioError(
                    f"MedleyDB track has neither all its stems nor a mix: {info['folder']}")
            mix, _ = self._mono(info["mix"], rate)
            n = min([len(mix)] + [len(v) for v in vocal_parts])
            vocals = np.sum([v[:n] for v in vocal_parts], axis=0, dtype=np.float32)
            accompaniment = (mix[:n] - vocals).astype(np.float32)
            source = "mix-vocals"
        else:
            other_parts = [self._mono(p, rate)[0] for p, _ in info["other"]]
            n = min(len(x) for x in vocal_parts + other_parts)
            vocals = np.sum([v[:n] for v in vocal_parts], axis=0, dtype=np.float32)
            accompaniment = np.sum([o[:n] for o in other_parts], axis=0, dtype=np.float32)
            source = "stems"
        times, f0, f0_source = self._reference_f0(info, vocals, rate)
        return Track(name=info["name"], group=self.groups[index],
                     vocals=np.ascontiguousarray(vocals, dtype=np.float32),
                     accompaniment=np.ascontiguousarray(accompaniment, dtype=np.float32),
                     sample_rate=int(rate), f0_times=times, f0_hz=f0,
                     meta={"dataset": "medleydb", "path": str(info["folder"]),
                           "artist": info["artist"], "has_bleed": info["has_bleed"],
                           "vocal_instruments": [str(i) for _, i in info["vocal"]],
                           "accompaniment_from": source, "f0_source": f0_source})

    def _reference_f0(self, info: dict, vocals: np.ndarray,
                      rate: int) -> tuple[np.ndarray, np.ndarray, str]:
        times = grid_times(len(vocals), rate)
        active = active_frames(vocals, rate, len(times), ACTIVE_DB)
        key = f"medleydb_{info['name']}"
        if info["annotation"] is None:
            _, pyin = reference_f0(vocals, rate, self.cache_dir, key)
            return times, np.where(active, pyin, 0.0), "pyin"
        ann_t, ann_f = read_melody_csv(info["annotation"])
        f0 = np.where(active, f0_to_grid(ann_t, ann_f, times), 0.0)
        if not self.pyin_check:
            return times, f0, "melody2"
        _, pyin = reference_f0(vocals, rate, self.cache_dir, key)
        with np.errstate(divide="ignore", invalid="ignore"):
            cents = np.abs(1200.0 * np.log2(pyin / f0))
        agree = (cents < 100.0) | (np.abs(cents - 1200.0) < 100.0)  # pYIN octave errors
        use_pyin = active & (pyin > 0) & ((f0 <= 0) | ~agree)
        f0 = np.where(use_pyin, pyin, f0)
        return times, f0, "melody2+pyin"
