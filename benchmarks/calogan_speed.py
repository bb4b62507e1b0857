"""CaloGAN generator throughput on this machine, beside the simulator's and CaloGAN's published figure.

Showers per second of `nnlab.models.calogan.inference.generate` (the generator `nnlab train calogan`
builds by default, untrained, its spots and layer energies fitted to simulated showers: speed
depends on the weights only through how many cells are hit) at batch 1, 128, 1,024
and 10,000 in fp32 and bf16 autocast, and of the simulator for e+ at 1-100 GeV, each the best
of three timings, as `timeit` advises; and the generator's rate, in the precision that `nnlab sample`
picks on this CPU (`--precision auto`: bf16 where it is native, else float32), over the simulator's at
batch 1,024 and 10,000 from rounds that time the two in turn, as this machine's speed drifts
by 10-50% between minutes (a ratio of two bests taken a minute apart moves with it). Then the
same for the generator compiled by torch.compile (`CompiledGenerator`) at batch 1,024 and 10,000,
after its one-off compilation (timed). CaloGAN (Paganini et al. 2018, table 2) needs 2.0 ms per
shower on a CPU at batch 1,024, i.e. 500 showers per second.
Run: python benchmarks/calogan_speed.py [--threads 2] [--device cpu] [--glibc-defaults]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nnlab.memory import retain_freed_memory
from nnlab.models.calogan.generator import CaloGenerator
from nnlab.models.calogan.inference import CompiledGenerator, generate
from nnlab.models.calogan.layout import flatten_layers
from nnlab.physics.simulator import iter_showers
from nnlab.tasks.calogan import CaloGANModelConfig, make_generator
from nnlab.training.runtime import PRECISION_NAMES, cpu_class, resolve_precision

BATCHES = (1, 128, 1024, 10_000)
CALOGAN_CPU_SHOWERS_PER_S = 1 / 2.0e-3  # 2.0 ms per shower at batch 1,024


REPEATS = 3  # each rate is the best of this many timings: this machine's speed drifts by 10-20% within minutes
PAIRED_ROUNDS = 7  # rounds of the generator and the simulator timed in turn, for their ratio
PAIRED_BATCHES = (1024, 10_000)


def generator_rate(G: CaloGenerator | CompiledGenerator, batch: int, dtype: torch.dtype | None, *,
                   min_seconds: float = 1.0, repeats: int = REPEATS) -> float:
    """Showers per second of `generate` in batches of `batch`: the best of `repeats` runs of at least `min_seconds`."""
    energies = np.random.default_rng(0).uniform(1, 100, batch)
    generate(G, energies, batch_size=batch, seed=0, autocast_dtype=dtype)  # warm-up
    rates = []
    for _ in range(repeats):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < min_seconds:
            generate(G, energies, batch_size=batch, seed=count, autocast_dtype=dtype)
            count += batch
        rates.append(count / (time.perf_counter() - started))
    return max(rates)


def simulator_rate(n: int = 10_000, repeats: int = REPEATS) -> tuple[float, dict[str, np.ndarray]]:
    """Showers per second of the simulator (e+, 1-100 GeV; the best of `repeats` runs of n), and its showers."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for showers in iter_showers("eplus", n, seed=0, chunk_size=n):
            pass
        rates.append(n / (time.perf_counter() - started))
    return max(rates), showers


def paired_ratios(G: CaloGenerator | CompiledGenerator, batch: int, dtype: torch.dtype | None,
                  rounds: int = PAIRED_ROUNDS) -> np.ndarray:
    """The generator's rate over the simulator's, the two timed in turn in each round (which goes first
    alternates): a drift of the machine's speed then reaches both sides of each ratio alike."""
    ratios = []
    for i in range(rounds):
        if i % 2:
            generated = generator_rate(G, batch, dtype, repeats=1)
            simulated = simulator_rate(repeats=1)[0]
        else:
            simulated = simulator_rate(repeats=1)[0]
            generated = generator_rate(G, batch, dtype, repeats=1)
        ratios.append(generated / simulated)
    return np.array(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="leave glibc's malloc as it is (by default freed memory is retained, as nnlab's CLI does)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    retained = not args.glibc_defaults and retain_freed_memory()  # as `nnlab sample` does, for G and simulator
    model = CaloGANModelConfig()
    simulated, showers = simulator_rate()
    torch.manual_seed(0)  # the same weights each run: how many cells they hit sets part of the speed
    G = make_generator(model, n_particles=1)
    cells = flatten_layers([torch.from_numpy(showers[f"layer_{k}"]).float() for k in range(3)])
    energy = torch.from_numpy(showers["energy"][:, 0]).float()
    particle = torch.zeros(len(energy), dtype=torch.long)
    if model.round_to_spots:  # spots of the simulator's size: the random counts drawn at real rates
        G.fit_spot_energy(cells, energy, particle)
    if G.energy_model is not None:  # layer energies drawn as in a trained run
        G.fit_layer_energies(cells, energy, particle, steps=model.energy_fit_steps, seed=0)
    G = G.to(args.device)
    print(f"torch {torch.__version__}, {args.device} (CPU class {cpu_class()}), {torch.get_num_threads()} threads, "
          f"freed memory "
          f"{'retained' if retained else 'returned (glibc defaults)'}; "
          f"G has {sum(p.numel() for p in G.parameters()):,} parameters")
    print(f"simulator (e+, 1-100 GeV): {simulated:,.0f} showers/s; CaloGAN on CPU (published): "
          f"{CALOGAN_CPU_SHOWERS_PER_S:,.0f} showers/s at batch 1,024")
    print(f"{'batch':>7} {'fp32 showers/s':>15} {'bf16 showers/s':>15} {'bf16 / simulator':>17}")
    for batch in BATCHES:
        fp32 = generator_rate(G, batch, None)
        bf16 = generator_rate(G, batch, torch.bfloat16)
        print(f"{batch:>7} {fp32:15,.0f} {bf16:15,.0f} {bf16 / simulated:16.1f}x", flush=True)
    auto = resolve_precision("auto", torch.device(args.device))  # what `nnlab sample` draws in by default
    print_paired(G, auto)
    compiled = CompiledGenerator(G)
    print("compiled (torch.compile, the weights frozen in); the first call of each batch size and dtype compiles:")
    print(f"{'batch':>7} {'fp32 showers/s':>15} {'bf16 showers/s':>15} {'bf16 / simulator':>17} {'compiling':>10}")
    for batch in PAIRED_BATCHES:
        energies = np.random.default_rng(0).uniform(1, 100, batch)
        started = time.perf_counter()
        for dtype in (None, torch.bfloat16):
            generate(compiled, energies, batch_size=batch, seed=0, autocast_dtype=dtype)
        compiling = time.perf_counter() - started
        fp32 = generator_rate(compiled, batch, None)
        bf16 = generator_rate(compiled, batch, torch.bfloat16)
        print(f"{batch:>7} {fp32:15,.0f} {bf16:15,.0f} {bf16 / simulated:16.1f}x {compiling:9.0f}s", flush=True)
    print_paired(compiled, auto, "compiled ")


def print_paired(G: CaloGenerator | CompiledGenerator, precision: str, what: str = "") -> None:
    print(f"{what}{PRECISION_NAMES[precision]} (auto) / simulator, the two timed in turn ({PAIRED_ROUNDS} rounds): "
          f"median of the rounds' ratios (range)")
    for batch in PAIRED_BATCHES:
        ratios = paired_ratios(G, batch, torch.bfloat16 if precision == "bf16-mixed" else None)
        print(f"{batch:>7} {np.median(ratios):.1f}x ({ratios.min():.1f}-{ratios.max():.1f}x)", flush=True)


if __name__ == "__main__":
    main()
