"""The CaloChallenge classifier test at both sizes: what it costs on this machine and what it reads.

Reference: N e+ showers from nnlab's simulator (seed 1, 1-100 GeV). Judged against it with
`shower_classifiers.protocol_test` at the full size (3 x 2048, 50 epochs) and the quick one (3 x
256, 20 epochs), on low- and high-level features:
- the floor: N more simulated showers (seed 2), which no classifier should tell apart (AUC 0.5);
- with --run RUN: a calogan run's showers, drawn at the reference's energies.
Prints AUC, JSD (bits) and the epoch kept, and the seconds each test took.
Run: python benchmarks/calo_protocol.py [-n 4000] [--run RUN] [--sizes quick full]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nnlab.api import load_run
from nnlab.evaluation.shower_classifiers import PROTOCOLS, protocol_test
from nnlab.physics.simulator import simulate
from nnlab.reporting import describe_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4000, help="showers on each side (default 4,000)")
    parser.add_argument("--run", help="also judge this calogan run's showers")
    parser.add_argument("--sizes", nargs="+", default=["quick", "full"], choices=list(PROTOCOLS))
    args = parser.parse_args()
    print("\n".join(describe_environment()), flush=True)
    reference = simulate("eplus", args.n, seed=1, profile=False)
    judged = {"simulator, seed 2 (the floor)": simulate("eplus", args.n, seed=2, profile=False)}
    if args.run:
        _, task = load_run(args.run)
        index = task.particles.index("eplus")
        generated = task.generate_like({**reference, "particle": np.full(args.n, index)}, seed=1)
        judged[f"calogan run {args.run}"] = generated
    print(f"\n{args.n:,} e+ showers a side, 1-100 GeV\n")
    print(f"{'judged':<44} {'size':<6} {'level':<5} {'AUC':>6} {'JSD':>6} {'epoch':>6} {'seconds':>8}")
    for name, showers in judged.items():
        for size in args.sizes:
            for level in ("low", "high"):
                started = time.perf_counter()
                found = protocol_test(reference, showers, level=level, protocol=PROTOCOLS[size])
                print(f"{name[:44]:<44} {size:<6} {level:<5} {found['auc']:6.3f} {found['jsd']:6.3f} "
                      f"{found['epoch_kept']:6d} {time.perf_counter() - started:8.1f}", flush=True)


if __name__ == "__main__":
    main()
