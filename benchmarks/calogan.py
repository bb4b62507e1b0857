"""CaloGAN fidelity: train the default generator per particle, judge it against held-out simulated showers.

For each particle: `nnlab train calogan --particle P` with the defaults (epochs from the
command line), then the report `nnlab evaluate` writes: nnlab's classifier AUC on high-level
observables and on cells, the CaloChallenge classifier's AUC on low- and high-level features (quick size), the
share of showers whose layer-1 cells are whole multiples of one energy, and the separation power of every
observable. Prints a summary row per particle and the observables above 0.05; with --bf16 a second row judges
the same generator's showers drawn under bf16 autocast (as benchmarks/calogan_speed.py times them).
`--source second` trains on files of the test-only second shower source (tests/second_source.py: other depth and
lateral laws, continuous deposits) instead of nnlab's simulator: a generator must learn any file.
Run: python benchmarks/calogan.py [--particles eplus gamma] [--source simulator|second] [--bf16]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

from nnlab import api

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.second_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", nargs="+", default=["eplus", "gamma"])
    parser.add_argument("--epochs", type=int, default=None, help="default: the task's")
    parser.add_argument("--set", action="append", default=[], help="extra config overrides")
    parser.add_argument("--bf16", action="store_true", help="also judge showers generated under bf16 autocast")
    parser.add_argument("--source", choices=("simulator", "second"), default="simulator",
                        help="train on nnlab's simulator (default) or on files of the test-only second source")
    parser.add_argument("--n", type=int, default=20_000, help="second source: showers per particle file")
    args = parser.parse_args()
    logging.getLogger("nnlab").setLevel(logging.WARNING)
    print(f"source: {args.source}")
    print(f"{'particle':<8} {'epochs':>6} {'train s':>8} {'AUC obs':>8} {'AUC cells':>9} {'CC low':>7} {'CC high':>7} "
          f"{'quanta':>11} {'mean S':>7} {'max S':>6} {'S<0.05':>7}")
    with tempfile.TemporaryDirectory() as out:
        for particle in args.particles:
            overrides = [f"data.particles={particle}", *args.set]
            if args.source == "second":
                from tests import second_source

                path = Path(out) / f"second_{particle}.h5"
                second_source.write(path, particle, args.n, seed=2017)
                overrides.append(f"data.files={path}")
            if args.epochs:
                overrides.append(f"train.epochs={args.epochs}")
            result = api.train("calogan", overrides=overrides, out_dir=out)
            seconds = sum(row["seconds"] for row in result.history)
            _print_row(particle, len(result.history), seconds, result.report.values[particle])
            if args.bf16:
                report = api.evaluate(result.run.path, bf16=True)
                _print_row(f"{particle} bf16", len(result.history), seconds, report.values[particle])


def _print_row(label: str, epochs: int, seconds: float, values: dict) -> None:
    powers = {r["observable"]: r["separation_power"] for r in values["separation"]
              if r["separation_power"] is not None}
    auc, challenge, quanta = values["classifier_auc"], values.get("calochallenge", {}), values["whole_quanta"]
    low, high = (challenge[level]["auc"] if level in challenge else float("nan") for level in ("low", "high"))
    print(f"{label:<8} {epochs:>6} {seconds:8.0f} {auc['observables']:8.3f} {auc['cells']:9.3f} {low:7.3f} "
          f"{high:7.3f} {quanta['generated']:5.3f}/{quanta['reference']:5.3f} {np.mean(list(powers.values())):7.3f} "
          f"{max(powers.values()):6.3f} {sum(v < 0.05 for v in powers.values()):>3}/{len(powers)}", flush=True)
    worst = sorted(((v, k) for k, v in powers.items() if v >= 0.05), reverse=True)
    print("         above 0.05: " + ", ".join(f"{k} {v:.2f}" for v, k in worst))


if __name__ == "__main__":
    main()
