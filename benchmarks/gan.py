"""nnlab's GANs against PyTorch's own DCGAN example, on the same images for the same wall time, scored alike.

Each job is DATA:MODEL:SECONDS. An nnlab model (mlp, dcgan) is `nnlab train gan` with its
defaults and a time budget (it stops after the batch that spends it), then `nnlab evaluate`.
The peer (`peer`: nnlab.models.peer_dcgan, the pytorch/examples dcgan recipe) trains on the
same training images for the same budget and is scored like `evaluate` scores: as many samples
(seed 1), the same cached classifier, the same held-out test images, the same real images for
the floor. Every score comes with the ladder of slightly changed real images at the same N, so
a number can be read. Sample sheets (64 samples, seed 1) go to --sheets.
Run: python benchmarks/gan.py [JOB ...] [--sheets docs/figures]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from nnlab import api
from nnlab.data.registry import default_cache_dir, load_images
from nnlab.evaluation.fid_cnn import real_sample, scores
from nnlab.models.peer_dcgan import PeerDCGAN
from nnlab.plots.images import write_image_grid_png
from nnlab.reporting import describe_environment

JOBS = ("mnist-5k:mlp:300", "fashion-mnist:dcgan:600", "fashion-mnist:peer:600")  # the nnlab 9 targets
N_EVAL = 10_000  # samples scored, as `nnlab evaluate` (capped at the training set's size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", nargs="*", default=list(JOBS), help=f"DATA:MODEL:SECONDS (default: {' '.join(JOBS)})")
    parser.add_argument("--set", action="append", default=[], help="config overrides for every nnlab run")
    parser.add_argument("--sheets", type=Path, help="folder for each job's sample sheet, gan_DATA_MODEL.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("nnlab").setLevel(logging.WARNING)
    cache = default_cache_dir(os.environ)
    classifiers = api.RunClassifiers(device=torch.device("cpu"), cache_dir=cache, echo=print)
    print("\n".join(describe_environment()), flush=True)
    found: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory() as out:
        for job in args.jobs:
            data, model, seconds = job.split(":")
            if model == "peer":
                scored, sheet = _peer(data, float(seconds), classifiers, seed=args.seed, sheet_dir=Path(out))
            else:
                scored, sheet = _nnlab(data, model, float(seconds), args.set + [f"train.seed={args.seed}"], out,
                                       cache)
            found[data, model] = scored
            if args.sheets:
                args.sheets.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(sheet, args.sheets / f"gan_{data}_{model}.png")
            print(_row(data, model, scored), flush=True)
    _table(found)


def _nnlab(data: str, model: str, seconds: float, overrides: list[str], out: str,
           cache: Path) -> tuple[dict, Path]:
    """Train and evaluate an nnlab GAN with its defaults for `data` and `model`, at most `seconds` of training."""
    result = api.train("gan", overrides=[f"data.source={data}", f"model.arch={model}", "score.every=0",
                                         f"train.time_budget_s={seconds}", *overrides], out_dir=out, cache_dir=cache)
    scored = dict(result.report.values["scores"])
    per_epoch = math.ceil(len(result.task.train_data[0]) / result.task.config.train.batch_size)
    scored["epochs"] = result.history[-1]["step"] / per_epoch  # the budget may end the last epoch early
    scored["train_s"] = sum(row["seconds"] for row in result.history)
    return scored, result.run.path / "plots" / "samples.png"


def _peer(data: str, seconds: float, classifiers: api.RunClassifiers, *, seed: int,
          sheet_dir: Path) -> tuple[dict, Path]:
    """Train the peer for `seconds` on the training images, and score it as `nnlab evaluate` scores a run."""
    images = load_images(data)
    train = torch.from_numpy(images.train_images)
    peer = PeerDCGAN.create(seed)
    trained = peer.train(train, seconds=seconds, seed=seed)
    space = classifiers.default(data)
    test = space.embed(images.test_images / np.float32(255))[0]
    n = min(N_EVAL, len(train))
    generated = peer.generate(n, seed=1).numpy()
    scored = scores(space, generated, test, n_classes=len(images.class_names), real=real_sample(train, n))
    scored["epochs"], scored["train_s"] = trained["epochs"], trained["seconds"]
    sheet = write_image_grid_png(generated[:64], sheet_dir / f"peer_{data}.png", n_cols=8)
    return scored, sheet


def _row(data: str, model: str, s: dict) -> str:
    restored = (f"{s['inpaint']['psnr_gain']:+11.2f} {s['denoise']['psnr_gain']:+11.2f}" if "inpaint" in s
                else f"{'-':>11} {'-':>11}")
    return (f"{data:<14} {model:<6} {s['epochs']:>7.1f} {s['train_s']:8.1f} {s['fid_cnn']:8.2f} "
            f"{s['fid_cnn'] / s['fid_cnn_floor']:6.1f}x {s['kid_cnn']:7.4f} +- {s['kid_cnn_se']:.4f} "
            f"{s['precision']:5.3f} {s['recall']:6.3f} {min(s['class_histogram']):7.3f} {restored}")


def _table(found: dict[tuple[str, str], dict]) -> None:
    print(f"\n{'data':<14} {'model':<6} {'epochs':>7} {'train s':>8} {'FID-CNN':>8} {'ratio':>7} "
          f"{'KID-CNN':>7} {'(s.e.)':>9} {'prec':>5} {'recall':>6} {'rarest':>7} {'inpaint dB':>11} {'denoise dB':>11}")
    for (data, model), s in found.items():
        print(_row(data, model, s))
    for data in dict.fromkeys(data for data, _ in found):
        first = next(s for (d, _), s in found.items() if d == data)
        print(f"\n{data}: the floor (real training vs test images) FID-CNN {first['fid_cnn_floor']:.3f}, "
              f"KID-CNN {first['kid_cnn_floor']:.4f} +- {first['kid_cnn_floor_se']:.4f}; real images changed a little:")
        for name, step in first["ladder"].items():
            print(f"  {name:<28} FID-CNN {step['fid_cnn']:8.3f} {step['fid_cnn'] / first['fid_cnn_floor']:6.1f}x "
                  f"KID-CNN {step['kid_cnn']:7.4f} +- {step['kid_cnn_se']:.4f}")
        peer = found.get((data, "peer"))
        for (d, model), s in found.items():
            if peer is not None and d == data and model != "peer":
                print(f"  {model} against the peer: FID-CNN {s['fid_cnn'] / peer['fid_cnn']:.2f}x, "
                      f"KID-CNN {s['kid_cnn'] / peer['kid_cnn']:.2f}x, precision {s['precision']:.3f} vs "
                      f"{peer['precision']:.3f}, recall {s['recall']:.3f} vs {peer['recall']:.3f}")


if __name__ == "__main__":
    main()
