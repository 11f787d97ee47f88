"""Whether an audio file ends before its own header says it should (cut short by a copy or a
download that stopped). Each check reads only the file's header and tail.

:func:`truncation_of` returns None for a complete file (or one whose format cannot tell), else
a short phrase saying what is missing.
"""
from __future__ import annotations

import struct
from pathlib import Path

#: How far from the end to look for the last Ogg page (a page is at most 65 307 bytes).
OGG_TAIL_BYTES = 70_000


def wav_truncation(path: Path) -> str | None:
    """A RIFF/WAVE file whose ``data`` chunk claims more bytes than the file holds."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        endian = "<" if head[:4] == b"RIFF" else ">"
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            name, length = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if name == b"data":
                if length in (0, 0xFFFFFFFF):  # written by a stream that never knew its length
                    return None
                missing = offset + 8 + length - size
                if missing > 0:
                    return f"{missing} of its {length} bytes of samples are missing"
                return None
            offset += 8 + length + (length & 1)
    return None


def ogg_truncation(path: Path) -> str | None:
    """An Ogg file (Vorbis, Opus, FLAC) whose last page is cut or is not the end of the stream."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(4) != b"OggS":
            return None
        start = max(size - OGG_TAIL_BYTES, 0)
        f.seek(start)
        tail = f.read()
    last = tail.rfind(b"OggS")
    while last >= 0:
        page = tail[last:]
        if len(page) >= 27:
            n_segments = page[26]
            if len(page) >= 27 + n_segments:
                length = 27 + n_segments + sum(page[27:27 + n_segments])
                if length > len(page):
                    return "its last page is cut off"
                if not page[5] & 0x04:
                    return "it stops before the end of its stream"
                return None
        last = tail.rfind(b"OggS", 0, last)  # a page header cut in the middle: look further back
    return "its last page is cut off"


def _has_length_header(path: Path) -> bool:
    """Whether an MP3 starts with a Xing/Info/VBRI header (an exact frame count)."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    return any(tag in head for tag in (b"Xing", b"Info", b"VBRI"))


def decoded_shortfall(path: Path, declared_frames: int, decoded_frames: int,
                      tolerance_frames: int) -> str | None:
    """Compare the decoded length with the length the header declares."""
    if declared_frames > 0 and decoded_frames < declared_frames - tolerance_frames:
        return f"only {decoded_frames} of its {declared_frames} samples could be decoded"
    return None


def truncation_of(path: Path, declared_frames: int = 0, decoded_frames: int = 0) -> str | None:
    """Why ``path`` looks cut short, or None.

    declared_frames / decoded_frames : the length the header gives and the length decoded (per
        channel), for formats that declare it (FLAC, MP3 with a Xing/Info header).
    """
    ext = path.suffix.lower()
    if ext == ".wav":
        return wav_truncation(path)
    if ext in (".ogg", ".oga", ".opus"):
        return ogg_truncation(path)
    if ext == ".flac":
        return decoded_shortfall(path, declared_frames, decoded_frames, 0)
    if ext == ".mp3" and _has_length_header(path):
        # Two MP3 frames (2 x 1152 samples) of slack for encoder delay and padding.
        return decoded_shortfall(path, declared_frames, decoded_frames, 2 * 1152)
    return None
