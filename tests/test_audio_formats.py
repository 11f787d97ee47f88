"""Songs in M4A (AAC, ALAC) and Opus open through PyAV, in the library and on the command line,
with the same one-line errors as other formats for junk and truncated files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.audio.io import READ_EXTENSIONS, load_audio
from core.cli import main
from core.errors import AudioError

av = pytest.importorskip("av")

RATE = 48000


def _tone(seconds: float = 2.0, channels: int = 2) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return np.stack([0.3 * np.sin(2 * np.pi * (330 + 110 * c) * t)
                     for c in range(channels)]).astype(np.float32)


def encode(path: Path, samples: np.ndarray, codec: str, container: str) -> Path:
    """Write ``samples`` (channels, n) float32 with an FFmpeg encoder."""
    layout = "stereo" if samples.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=RATE)
        stream.layout = layout
        fmt = stream.codec_context.codec.audio_formats[0].name
        pts = 0
        for i in range(0, samples.shape[1], 1024):
            block = samples[:, i:i + 1024]
            if fmt == "fltp":
                data = block
            elif fmt == "s16p":
                data = (block * 32767).astype(np.int16)
            elif fmt == "s32p":
                data = (block * 2147483647).astype(np.int32)
            elif fmt == "flt":
                data = block.T.reshape(1, -1)
            else:
                data = (block.T.reshape(1, -1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt,
                                               layout=layout)
            frame.sample_rate, frame.pts = RATE, pts
            pts += block.shape[1]
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


FORMATS = [("song.m4a", "aac", "ipod"), ("song_alac.m4a", "alac", "ipod"),
           ("song.opus", "libopus", "ogg"), ("song.aac", "aac", "adts")]


@pytest.mark.parametrize("name, codec, container", FORMATS)
def test_compressed_songs_open(tmp_path, name, codec, container):
    x = _tone()
    audio = load_audio(encode(tmp_path / name, x, codec, container))
    assert audio.sample_rate == RATE and audio.n_channels == 2
    assert abs(audio.n_samples - x.shape[1]) < 0.05 * RATE  # encoder priming and padding
    middle = audio.samples[:, RATE // 2:RATE * 3 // 2]  # away from the edges' transients
    rms = np.sqrt(np.mean(middle ** 2, axis=1))
    assert np.allclose(rms, 0.3 / np.sqrt(2), rtol=0.1)  # a 0.3 sine in each channel
    assert Path(name).suffix in READ_EXTENSIONS


def test_alac_is_lossless(tmp_path):
    x = _tone(1.0, channels=1)
    audio = load_audio(encode(tmp_path / "a.m4a", x, "alac", "ipod"))
    quantised = np.round(x * 32767) / 32768
    assert audio.n_samples == x.shape[1]
    assert np.allclose(audio.samples, quantised, atol=1e-4)


@pytest.mark.parametrize("name, codec, container", FORMATS[:3])
def test_truncated_compressed_songs_are_refused(tmp_path, name, codec, container):
    whole = encode(tmp_path / name, _tone(3.0), codec, container)
    cut = tmp_path / ("cut_" + name)
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    with pytest.raises(AudioError, match="truncated|Not a readable"):
        load_audio(cut)


def test_junk_named_m4a_is_one_line_on_the_command_line(tmp_path, capsys, tiny_model_file):
    junk = tmp_path / "junk.m4a"
    junk.write_bytes(b"not a song at all " * 100)
    code = main(["separate", str(junk), "-o", str(tmp_path / "out"), "--model",
                 str(tiny_model_file)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Not a readable audio file" in err
    assert not (tmp_path / "out").exists()


def test_separate_an_m4a(tmp_path, capsys, tiny_model_file):
    import soundfile as sf

    song = encode(tmp_path / "song.m4a", _tone(2.0), "aac", "ipod")
    out = tmp_path / "out"
    code = main(["separate", str(song), "-o", str(out), "--model", str(tiny_model_file)])
    assert code == 0, capsys.readouterr().err
    info = sf.info(out / "vocals.wav")
    assert info.samplerate == RATE and info.frames == load_audio(song).n_samples


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3"])
def test_long_files_read_exactly_as_in_one_piece(tmp_path, ext):
    """Songs are read in blocks (bounded memory): the samples must be those of a single read."""
    import soundfile as sf

    from core.audio.io import READ_BLOCK_FRAMES, save_audio

    seconds = 3 * READ_BLOCK_FRAMES / 44100 + 0.3
    t = np.arange(int(44100 * seconds)) / 44100
    x = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)])
    path = save_audio(tmp_path / f"long{ext}", x.astype(np.float32), 44100)
    whole, _ = sf.read(str(path), dtype="float32", always_2d=True)
    assert np.array_equal(load_audio(path).samples, whole.T)
