"""What Deep Karaoke's binary mask trades: vocal SDR, SIR and SAR against the soft mask (printed).

    .venv/bin/python benchmarks/mask_confidence.py produced:../shared/data/pro-excerpts
    .venv/bin/python benchmarks/mask_confidence.py mir1k:../shared/data/mir1k --limit 24

Each clip of the dataset's validation split is separated once with the shipped model (as
``isolde separate`` does, no correction); its vocal mask is then applied soft and binarised at
several confidences (:func:`core.separation.separate.binary_mask`), and every version is scored
by BSS Eval v3 (mir_eval, 512-tap filters). Printed: medians of SDR, SIR (accompaniment left in
the vocal) and SAR (artefacts), and the mean paired SDR change against the soft mask.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.audio.io import Audio  # noqa: E402
from core.progress import run  # noqa: E402
from core.separation.separate import apply_mask_iter, binary_mask, separate_iter  # noqa: E402

ALPHAS = (None, 0.2, 0.35, 0.5, 0.65)


def scores(track, vocals: np.ndarray) -> tuple[float, float, float]:
    import mir_eval

    reference = np.stack([track.vocals, track.accompaniment]).astype(np.float64)
    estimate = np.stack([vocals, track.mixture - vocals]).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(reference, estimate,
                                                                compute_permutation=False)
    return float(sdr[0]), float(sir[0]), float(sar[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="KIND:PATH with stems, e.g. produced:PATH or mir1k:PATH")
    parser.add_argument("--limit", type=int, default=None, help="clips spread over the split")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    from core.separation.model_files import load_checked_model
    from core.training.simulate import _spread, _validation_split

    model = load_checked_model(args.model)
    dataset = _validation_split(args.dataset)
    results = {alpha: [] for alpha in ALPHAS}
    for index in _spread(len(dataset), args.limit):
        track = dataset.load(index)
        audio = Audio(track.mixture[None, :], track.sample_rate)
        result = run(separate_iter(audio, model, with_beats=False))
        for alpha in ALPHAS:
            mask = (result.analysis.vocal_mask if alpha is None
                    else binary_mask(result.analysis.vocal_mask, alpha))
            vocals = run(apply_mask_iter(audio.samples, track.sample_rate, mask))[0]
            results[alpha].append(scores(track, vocals))
        print(track.name, flush=True)
    soft = np.array(results[None])[:, 0]
    for alpha, rows in results.items():
        x = np.array(rows)
        name = "soft" if alpha is None else f"binary {alpha:g}"
        print(f"{name:>12}: SDR {np.nanmedian(x[:, 0]):5.2f}  SIR {np.nanmedian(x[:, 1]):5.2f}  "
              f"SAR {np.nanmedian(x[:, 2]):5.2f} dB (medians); SDR vs soft, mean "
              f"{np.nanmean(x[:, 0] - soft):+.2f} dB")


if __name__ == "__main__":
    main()
