"""GANs on 2 CPU cores: FID-CNN against its floor, precision, recall, time per epoch, restoration PSNR.

For each (model, data set) it trains one default-config GAN (epochs from its recipe or the
command line) within the targets' 10 minutes (`--time-budget`, seconds; 0: no budget), scores it
with `nnlab evaluate` (the classifier trained once per data set and cached), and prints one
table row. Training time is the sum of the epochs' wall times, scoring excluded.
Run: python benchmarks/gan.py [--data mnist-5k fashion-mnist] [--models mlp dcgan] [--epochs 40 15]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile

from nnlab import api
from nnlab.data.registry import default_cache_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["mnist-5k", "fashion-mnist"])
    parser.add_argument("--models", nargs="+", default=["mlp", "dcgan"])
    parser.add_argument("--epochs", type=int, nargs="+", default=[], help="one per data set; default: its recipe")
    parser.add_argument("--set", action="append", default=[], help="extra config overrides for every run")
    parser.add_argument("--time-budget", type=float, default=600.0,
                        help="seconds of training at most per run (default: the targets' 10 minutes)")
    args = parser.parse_args()
    logging.getLogger("nnlab").setLevel(logging.WARNING)
    cache = default_cache_dir(os.environ)
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for i, data in enumerate(args.data):
            epochs = [f"train.epochs={args.epochs[i]}"] if i < len(args.epochs) else []
            for model in args.models:
                overrides = [f"data.source={data}", f"model.arch={model}", "score.every=0",
                             f"train.time_budget_s={args.time_budget}", *epochs, *args.set]
                result = api.train("gan", overrides=overrides, out_dir=out, cache_dir=cache)
                rows.append(_row(data, model, result))
                print(rows[-1], flush=True)
    print(f"\n{'data':<14} {'model':<6} {'epochs':>6} {'s/epoch':>8} {'train s':>8} {'FID-CNN':>8} {'floor':>6} "
          f"{'ratio':>6} {'prec':>5} {'recall':>6} {'inpaint dB':>11} {'denoise dB':>11}")
    print("\n".join(rows))


def _row(data: str, model: str, result: api.TrainResult) -> str:
    """One table row; training time is the sum of the epochs' wall times in the run's history."""
    scores = result.report.values["scores"]
    seconds = sum(row["seconds"] for row in result.history)
    ratio = scores["fid_cnn"] / scores["fid_cnn_floor"]
    return (f"{data:<14} {model:<6} {len(result.history):>6} {seconds / len(result.history):8.2f} {seconds:8.1f} "
            f"{scores['fid_cnn']:8.2f} {scores['fid_cnn_floor']:6.2f} {ratio:6.1f} {scores['precision']:5.3f} "
            f"{scores['recall']:6.3f} {scores['inpaint']['psnr_gain']:+11.2f} {scores['denoise']['psnr_gain']:+11.2f}")


if __name__ == "__main__":
    main()
