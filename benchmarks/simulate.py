"""Throughput and peak memory of the shower simulator (not run in CI).

Measures showers per second per particle for N = 1e3, 1e4, 1e5 (streamed in chunks, as
`simulate_to_file` does, so memory should not grow with N), peak traced memory
(tracemalloc, a separate pass so tracing does not slow the timed one) and, with
`--baseline`, the brute-force GFlash spot simulation of the tests (Geant4's algorithm:
every spot drawn and binned) for comparison. Prints a table of what it measured.

    python benchmarks/simulate.py [--sizes 1000 10000 100000] [--particles eplus gamma piplus]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from nnlab.physics.simulator import iter_showers


def run(particle: str, n: int, *, chunk_size: int, seed: int = 0) -> float:
    """Seconds to simulate and discard `n` showers in chunks."""
    start = time.perf_counter()
    for _ in iter_showers(particle, n, seed=seed, chunk_size=chunk_size):
        pass
    return time.perf_counter() - start


def peak_memory_mb(particle: str, n: int, *, chunk_size: int) -> float:
    """Peak Python + NumPy memory (tracemalloc) while streaming `n` showers."""
    tracemalloc.start()
    try:
        run(particle, n, chunk_size=chunk_size)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def baseline_rate(n_per_energy: int = 100) -> float:
    """Showers per second of the brute-force spot simulation over energies spread like 1-100 GeV."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from physics.gflash_reference import spot_showers

    from nnlab.physics import em_shower
    from nnlab.physics.geometry import calogan_calorimeter

    calo = calogan_calorimeter()
    energies = np.linspace(5.0, 95.0, 10)
    start = time.perf_counter()
    for i, energy in enumerate(energies):
        profile = em_shower.fluctuated_profile(np.array([energy]), calo.material, np.random.default_rng(i))
        spot_showers(profile, energy, n_per_energy, calorimeter=calo, rng=np.random.default_rng(i))
    return len(energies) * n_per_energy / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    """Time each particle at each size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--particles", nargs="+", default=["eplus", "gamma", "piplus"])
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--baseline", action="store_true", help="also time the brute-force spot simulation")
    args = parser.parse_args(argv)
    run("eplus", 1000, chunk_size=1000)  # warm-up: imports, caches
    print(f"cpus available: {len(os.sched_getaffinity(0))}, numpy {np.__version__}, chunk_size {args.chunk_size}")
    print(f"{'particle':<8} {'N':>8} {'seconds':>9} {'showers/s':>10} {'peak MB':>8}")
    for particle in args.particles:
        for n in args.sizes:
            seconds = run(particle, n, chunk_size=args.chunk_size)
            memory = float("nan") if args.no_memory else peak_memory_mb(particle, n, chunk_size=args.chunk_size)
            print(f"{particle:<8} {n:>8} {seconds:>9.2f} {n / seconds:>10.0f} {memory:>8.1f}", flush=True)
    if args.baseline:
        print(f"brute-force GFlash spots (eplus, 5-95 GeV): {baseline_rate():.0f} showers/s")


if __name__ == "__main__":
    main()
