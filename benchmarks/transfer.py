"""Transfer learning: 1,000 labelled Fashion-MNIST images, from scratch vs starting from MNIST.

Trains `fast` on mnist-5k once, then for several seeds trains on a stratified 1,000-image
Fashion-MNIST subset (a) from scratch, (b) from the MNIST features, fine-tuning everything,
(c) from the MNIST features frozen, training only the head. Prints the test accuracy on the
10,000 Fashion-MNIST test images. Run: python benchmarks/transfer.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile

from nnlab import api

SETUPS = {
    "from scratch": [],
    "MNIST init, fine-tune all": ["model.init_from={mnist}"],
    "MNIST init, frozen features": ["model.init_from={mnist}", "model.freeze=features"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    logging.getLogger("nnlab").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as out:
        mnist = api.train("cnn", overrides=["data.source=mnist-5k"], out_dir=out).run.path
        accuracy = {name: [] for name in SETUPS}
        for seed in args.seeds:
            for name, extra in SETUPS.items():
                overrides = ["data.source=fashion-mnist", f"data.n_train={args.n_train}", f"data.subset_seed={seed}",
                             f"train.seed={seed}", f"train.epochs={args.epochs}",
                             *(o.format(mnist=mnist) for o in extra)]
                result = api.train("cnn", overrides=overrides, out_dir=out)
                accuracy[name].append(result.report.values["test"]["accuracy"])
    print(f"Fashion-MNIST, {args.n_train} training images, {args.epochs} epochs, model fast, "
          f"seeds {' '.join(map(str, args.seeds))}; test accuracy on 10,000 images")
    for name, values in accuracy.items():
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{name:<28} {statistics.mean(values):.4f} +- {spread:.4f}   ({' '.join(f'{v:.4f}' for v in values)})")


if __name__ == "__main__":
    main()
