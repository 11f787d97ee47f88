"""The ``isolde`` command line.

    isolde [SONG]                      open the editor (the demo song when SONG is omitted)
    isolde separate INPUT [INPUT ...] [-o OUTDIR] [--model FILE] [--device auto|cpu|cuda]
                          [--corrections FILE.csv] [--adapt-steps N] [--mask-confidence A]
                          [--start S] [--end S] [--sample-format float32|pcm24|pcm16]
                          [--network-pitch]
    isolde train / evaluate / simulate ...   (see ``isolde COMMAND --help``)

Errors the user can fix are one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import __version__
from .errors import Cancelled, IsoldeError

#: Sub-commands implemented in other modules: each has ``configure_parser(p)`` and
#: ``command(args)``.
EXTERNAL_COMMANDS = {
    "train": ("core.training.train",
              "Train a model on MIR-1K, MUSDB18, MedleyDB and synthetic songs"),
    "evaluate": ("core.training.evaluate",
                 "Score a model on a dataset split (vocal SDR, melody metrics)"),
    "simulate": ("core.training.simulate",
                 "The correction simulation: 0-100 %% of the F0 corrected"),
}


def _configure_separate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="+",
                        help="audio file (WAV, FLAC, OGG, MP3, M4A/AAC, ALAC, Opus; any rate and "
                             "channels); several, or a folder of them, are separated one after "
                             "another")
    parser.add_argument("-o", "--outdir", default=None,
                        help="output folder (default: '<input name>_isolde' beside the input; "
                             "with several inputs, OUTDIR/<input name> for each)")
    parser.add_argument("--model", default=None, help="model file (.safetensors with its .json card)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--corrections", default=None, metavar="FILE.csv",
                        help="F0 corrections (header time,f0; f0=0 means no voice) to adapt to")
    parser.add_argument("--adapt-steps", type=int, default=None, metavar="N",
                        help="fine-tuning steps on the corrections before separating")
    parser.add_argument("--mask-confidence", type=float, default=None, metavar="ALPHA",
                        help="write stems with a binary mask (Deep Karaoke): a bin is voice "
                             "where the network is at least ALPHA sure (0 < ALPHA < 1), else "
                             "accompaniment; less bleed, more artefacts (default: the soft mask)")
    parser.add_argument("--start", type=float, default=None, metavar="SECONDS",
                        help="separate only the song from this time on (the stems hold the "
                             "section; f0.csv, confidence.csv, beats.csv and --corrections keep "
                             "the song's clock)")
    parser.add_argument("--end", type=float, default=None, metavar="SECONDS",
                        help="separate only the song up to this time (see --start)")
    parser.add_argument("--sample-format", default="float32", choices=STEM_SAMPLE_FORMATS,
                        help="the stems' samples: 32-bit float (default, lossless), 24- or "
                             "16-bit PCM; always at the input's own rate and channels")
    parser.add_argument("--network-pitch", action="store_true",
                        help="write the F0 as the network decodes it, without measuring its "
                             "pitch again on the separated vocal (faster; less exact)")


#: ``--sample-format`` choices (the keys of :data:`core.audio.io.SUBTYPES`, named here so that
#: starting the editor does not import the audio stack first).
STEM_SAMPLE_FORMATS = ("float32", "pcm16", "pcm24")
#: What ``isolde separate`` writes, all together or not at all.
RESULT_NAMES = ("vocals.wav", "accompaniment.wav", "f0.csv", "confidence.csv", "beats.csv")


def separate_command(args: argparse.Namespace) -> int:
    """``isolde separate``: every check that can fail cheaply comes before the separation."""
    from .separation.output_set import OutputSet, sigterm_as_interrupt

    with sigterm_as_interrupt():
        inputs = _expand_folders(args.input)
        if len(inputs) == 1 and inputs == args.input:
            return _separate(argparse.Namespace(**{**vars(args), "input": inputs[0]}), OutputSet)
        return _separate_several(argparse.Namespace(**{**vars(args), "input": inputs}),
                                 OutputSet)


def _expand_folders(inputs: list[str]) -> list[str]:
    """Each folder among ``inputs`` replaced by the audio files directly inside it, by name."""
    from .audio.io import READ_EXTENSIONS

    expanded = []
    for name in inputs:
        path = Path(name)
        if not path.is_dir():
            expanded.append(name)
            continue
        songs = sorted(str(p) for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in READ_EXTENSIONS)
        if not songs:
            raise IsoldeError(f"No audio file in the folder {path} "
                              f"({', '.join(e.lstrip('.') for e in READ_EXTENSIONS)})")
        expanded.extend(songs)
    return expanded


def _separate_several(args: argparse.Namespace, output_set) -> int:
    """Each input in turn, each into its own folder; a song that fails gets its one line and
    the others go on. Exit status 2 when any failed."""
    if args.corrections is not None:
        raise IsoldeError("--corrections belong to one song: give a single INPUT with them")
    if args.mask_confidence is not None:  # options every song shares: refused once, up front
        from .separation.separate import check_mask_confidence
        check_mask_confidence(args.mask_confidence)
    _check_section(args.start, args.end)
    outdirs = [(Path(args.outdir) / Path(path).stem if args.outdir
                else Path(path).with_name(Path(path).stem + "_isolde")) for path in args.input]
    seen: dict[Path, str] = {}
    for path, outdir in zip(args.input, outdirs):
        key = outdir.resolve()
        if key in seen:
            raise IsoldeError(f"{seen[key]} and {path} would both be written to {outdir}: "
                              "rename one, or separate them one at a time")
        seen[key] = path
    failed = 0
    for k, (path, outdir) in enumerate(zip(args.input, outdirs), start=1):
        print(f"isolde: [{k}/{len(args.input)}] {path}", file=sys.stderr)
        one = argparse.Namespace(**{**vars(args), "input": path, "outdir": str(outdir)})
        try:
            code = _separate(one, output_set)
        except IsoldeError as exc:
            print(f"isolde: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if code:
            return code  # interrupted: stop here
    if failed:
        print(f"isolde: {failed} of {len(args.input)} songs could not be separated",
              file=sys.stderr)
    return 2 if failed else 0


def _separate(args: argparse.Namespace, output_set) -> int:
    import numpy as np

    from .audio.io import SUBTYPES, load_audio, load_audio_section
    from .music.beats import write_beats_csv
    from .separation.export import write_confidence_csv, write_f0_csv, write_stems
    from .separation.model_files import load_checked_model as load_model
    from .progress import run_with_bar
    from .separation.separate import (binary_mask, check_mask_confidence, pick_device,
                                      separate_iter)
    from .separation.stream import should_stream, write_stems_iter

    source = Path(args.input)
    if args.mask_confidence is not None:
        check_mask_confidence(args.mask_confidence)  # before any output folder is made
    sectioned = _check_section(args.start, args.end)
    subtype = SUBTYPES[args.sample_format]
    outdir = Path(args.outdir) if args.outdir else source.with_name(source.stem + "_isolde")
    outputs = output_set(outdir, RESULT_NAMES, protect=(source,))
    outputs.check()
    device = pick_device(args.device)
    model = load_model(args.model, device=device, allow_waveform=True)
    adapting = args.corrections is not None or args.adapt_steps is not None
    if adapting and getattr(model, "is_waveform", False):
        raise IsoldeError("A time-domain model (Wave-U-Net) has no F0 to correct or adapt: "
                          "--corrections and --adapt-steps need a spectrogram model")
    corrections = None
    offset = 0.0  # where the separated audio starts in the song (s)
    if not adapting and not sectioned and should_stream(source):
        # A long file: read and written block by block (core.separation.stream).
        downmix, analysis, beats = run_with_bar(
            _streamed_analysis(source, model, device, outputs, not args.network_pitch),
            description="isolde")
        sample_rate, frame_times, f0 = downmix.sample_rate, analysis.frame_times, analysis.f0_hz()
        stems_mask = (analysis.vocal_mask if args.mask_confidence is None
                      else binary_mask(analysis.vocal_mask, args.mask_confidence))

        def write_all_stems(staging):
            run_with_bar(write_stems_iter(downmix, stems_mask, staging, subtype=subtype),
                         description="isolde")
    else:
        if sectioned:  # only the section is read where the format allows
            offset = args.start or 0.0
            audio, song_seconds = load_audio_section(source, offset, args.end)
        else:
            audio = load_audio(source)
            song_seconds = audio.duration_seconds
        if adapting:
            # Refuse a bad corrections file or --adapt-steps before any output folder is made.
            corrections = _adapt_module().cli_corrections(args, song_seconds).within(
                offset, offset + audio.duration_seconds)
        # Two float32 stems of the input's shape, the CSVs (about 20 bytes a 16 ms frame).
        outputs.check(needed_bytes=2 * 4 * audio.samples.size
                      + int(audio.duration_seconds * 2000))
        if adapting:
            model, corrections = _adapt_module().adapt_for_cli(args, audio, model, device,
                                                               corrections=corrections)
        job = separate_iter(audio, model, device=device, corrections=corrections,
                            mask_confidence=args.mask_confidence,
                            measure_pitch=not args.network_pitch)
        result = run_with_bar(job, description="isolde")
        analysis, beats, sample_rate = result.analysis, result.beats, result.sample_rate
        frame_times, f0 = result.frame_times, result.f0_hz
        if corrections is not None:
            f0 = corrections.apply_to_f0(frame_times, f0)

        def write_all_stems(staging):
            write_stems(staging, result.vocals, result.accompaniment, sample_rate,
                        subtype=subtype, protect=(source,))
    with outputs.staged() as staging:
        try:
            write_all_stems(staging)
            write_f0_csv(staging / "f0.csv", frame_times + offset, f0)
            confidence = (analysis.f0_confidence() if analysis.f0_saliency is not None
                          else np.zeros(len(f0), dtype=np.float32))
            if corrections is not None:
                corrected, _ = corrections.to_frames(frame_times)
                confidence[corrected] = 1.0  # the user said what is there
            write_confidence_csv(staging / "confidence.csv", frame_times + offset, confidence)
            write_beats_csv(staging / "beats.csv", beats.shifted(offset))
        except IsoldeError as exc:
            raise outputs.staged_error(exc) from None
        interrupted = outputs.commit()
    print(f"Wrote {outdir}/vocals.wav, accompaniment.wav, f0.csv, confidence.csv, beats.csv",
          file=sys.stderr)
    if interrupted:
        print(f"isolde: interrupted while the results were moved into place; all five were "
              f"written to {outdir}", file=sys.stderr)
        return 130
    return 0


def _streamed_analysis(source: Path, model, device, outputs, measure_pitch: bool):
    """Read a long file block by block, check there is room for its results, analyse it."""
    from .progress import scaled
    from .separation.stream import analyse_file_iter, read_downmix_iter

    downmix = yield from scaled(read_downmix_iter(source), 0.0, 0.15)
    # Two float32 stems of the input's shape, the CSVs (about 20 bytes a 16 ms frame).
    seconds = downmix.n_samples / downmix.sample_rate
    outputs.check(needed_bytes=2 * 4 * downmix.n_channels * downmix.n_samples
                  + int(seconds * 2000))
    analysis, beats = yield from scaled(
        analyse_file_iter(downmix, model, device=device, measure_pitch=measure_pitch), 0.15, 1.0)
    return downmix, analysis, beats


def _adapt_module():
    try:
        return importlib.import_module("core.separation.adapt")
    except ModuleNotFoundError as exc:
        if exc.name != "core.separation.adapt":
            raise
        raise IsoldeError("--corrections/--adapt-steps are not available in this build") from None


def _check_section(start: float | None, end: float | None) -> bool:
    """Refuse a ``--start``/``--end`` pair that cannot name a section; True when one is given."""
    import math

    for name, value in (("--start", start), ("--end", end)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise IsoldeError(f"{name} must be a time in seconds, 0 or more (got {value:g})")
    if start is not None and end is not None and end <= start:
        raise IsoldeError(f"--end ({end:g} s) must come after --start ({start:g} s)")
    return start is not None or end is not None



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isolde", description="Isolde: human-in-the-loop singing-voice separation.")
    parser.add_argument("--version", action="version", version=f"isolde {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sep = sub.add_parser("separate", help="Separate a song into vocals and accompaniment")
    _configure_separate(sep)
    sep.set_defaults(handler=separate_command)
    for name, (module_name, help_text) in EXTERNAL_COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        p = sub.add_parser(name, help=help_text)
        module.configure_parser(p)
        p.set_defaults(handler=module.command)
    return parser


def _run_editor(argv: list[str]) -> int:
    try:
        from app.main import main as editor_main
    except ModuleNotFoundError as exc:
        raise IsoldeError(f"The editor is not available ({exc.name} missing); "
                          "use 'isolde separate INPUT'") from exc
    return int(editor_main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {"separate", *EXTERNAL_COMMANDS}
    try:
        if not argv or (argv[0] not in known and not argv[0].startswith("-")):
            return _run_editor(argv)
        args = build_parser().parse_args(argv)
        if getattr(args, "handler", None) is None:
            build_parser().print_help()
            return 0
        return int(args.handler(args) or 0)
    except Cancelled as exc:
        print(f"isolde: cancelled: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("isolde: cancelled, nothing was written", file=sys.stderr)
        return 130
    except IsoldeError as exc:
        print(f"isolde: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
