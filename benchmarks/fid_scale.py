"""How strict is FID-CNN? Real images, slightly degraded, scored against the held-out test set.

A GAN's FID-CNN is read against the real-vs-real floor (training against test images). This
puts the ratio on a scale: N real training images, blurred, noised, shifted by a pixel or
quantised, scored like generated ones (`nnlab evaluate`: the same cached classifier, the same
10,000 test images). With `--run`, a GAN run's N samples (seed 1, as `evaluate` draws them)
join the table. Run: python benchmarks/fid_scale.py [--data fashion-mnist] [--n 10000] [--run RUN]
"""

from __future__ import annotations

import argparse
import logging
import os

import numpy as np
import torch

from nnlab import api
from nnlab.data.registry import default_cache_dir, load_images
from nnlab.evaluation.fid_cnn import degradations, real_sample
from nnlab.evaluation.generative import frechet_distance, kernel_distance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--n", type=int, default=10_000, help="images per scored set (evaluate: 10,000)")
    parser.add_argument("--run", help="a GAN run on the same data: its samples join the table")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("nnlab").setLevel(logging.WARNING)
    device = torch.device("cpu")
    space = api.RunClassifiers(device=device, cache_dir=default_cache_dir(os.environ), echo=print).default(args.data)
    data = load_images(args.data)
    test = space.embed(data.test_images / np.float32(255))[0]
    real = real_sample(torch.from_numpy(data.train_images), args.n, seed=args.seed)  # (N, H, W) in [0, 1]
    rows = {"real (the floor)": real, **{name: change(real) for name, change in degradations(args.seed).items()}}
    if args.run:
        _, task = api.load_run(args.run, device="cpu")
        rows["samples of the --run GAN"] = torch.from_numpy(task.generate(args.n, seed=1))
    print(f"FID-CNN and KID-CNN against the {len(test):,} {args.data} test images, {args.n:,} images a set, "
          f"features of {space.source}" + (f"; --run {args.run}" if args.run else ""))
    print(f"{'':<30} {'FID-CNN':>8} {'':>17} {'KID-CNN':>9} {'(+- s.e.)':>10}")
    floor = 0.0
    for name, images in rows.items():
        features = space.embed(images.clamp(0, 1))[0]
        distance = frechet_distance(features, test)
        kid, kid_se = kernel_distance(features, test)
        floor = floor or distance  # the first row: real images
        print(f"{name:<30} {distance:8.3f} {distance / floor:7.1f}x the floor {kid:9.4f} {kid_se:10.4f}", flush=True)


if __name__ == "__main__":
    main()
