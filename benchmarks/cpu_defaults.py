"""The CNN defaults on this CPU, timed as a user runs them: the whole `nnlab train cnn` command.

Targets (for a 2-core AVX2-only CPU, where `--precision auto` computes in float32):
- `nnlab train cnn` (mnist-5k): >= 99.0% test accuracy in <= 90 s of wall time;
- `nnlab train cnn --data fashion-mnist`: >= 92% test accuracy in <= 1.6x the time of ONE epoch of
  PyTorch's MNIST-example recipe (its network, Adadelta lr 1.0, batch 64, float32: the plain loop of
  benchmarks/cnn_speed.py), that epoch timed in the same run, just before.
Each command runs in its own process, one after the other; the CPU class and the precision that
`auto` chose are printed first (`nnlab env`). Imitate an AVX2-only CPU on a bigger one with
`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2` (the printed class then says AVX2).
Run: python benchmarks/cpu_defaults.py [--data mnist-5k fashion-mnist] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CNN_SPEED = Path(__file__).with_name("cnn_speed.py")
TARGETS = {"mnist-5k": (0.99, "s <= 90"), "fashion-mnist": (0.92, "s <= 1.6x one example epoch")}


def nnlab(*args: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlab", *args], capture_output=True, text=True, cwd=cwd,
                          check=True)


def train_command(data: str, folder: str) -> tuple[float, float]:
    """Wall seconds of `nnlab train cnn --data DATA` (start-up, training, evaluation, plots) and its test accuracy."""
    started = time.perf_counter()
    nnlab("train", "cnn", "--data", data, "--out", "runs", cwd=folder)
    seconds = time.perf_counter() - started
    run = sorted(Path(folder, "runs", "cnn").iterdir())[-1]
    return seconds, json.loads((run / "report.json").read_text())["test"]["accuracy"]


def example_epoch(data: str) -> float:
    """Training seconds of one epoch of PyTorch's MNIST-example recipe, in a process of its own."""
    out = subprocess.run([sys.executable, str(CNN_SPEED), "--one", data, "plain", "1"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["mnist-5k", "fashion-mnist"], choices=sorted(TARGETS))
    parser.add_argument("--repeats", type=int, default=1, help="commands per data set (medians are compared)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("\n".join(line for line in nnlab("env", cwd=folder).stdout.splitlines()
                        if line.startswith(("torch", "cpu:", "precision:"))))
        for data in args.data:
            accuracy_target, time_target = TARGETS[data]
            print(f"\n{data}: nnlab train cnn --data {data} (defaults); target >= {accuracy_target:.0%}, {time_target}")
            rows = []
            for repeat in range(args.repeats):
                example = example_epoch(data) if data == "fashion-mnist" else None
                seconds, accuracy = train_command(data, folder)
                rows.append((seconds, accuracy, example))
                against = f", {seconds / example:.2f}x one example epoch of {example:.1f} s" if example else ""
                print(f"  run {repeat + 1}: {seconds:.1f} s, test accuracy {accuracy:.4f}{against}")
            seconds = statistics.median(r[0] for r in rows)
            accuracy = statistics.median(r[1] for r in rows)
            if data == "fashion-mnist":
                ratio = statistics.median(r[0] / r[2] for r in rows)
                met = accuracy >= accuracy_target and ratio <= 1.6
                print(f"  median: {seconds:.1f} s = {ratio:.2f}x one example epoch, accuracy {accuracy:.4f}: "
                      f"{'met' if met else 'NOT met'}")
            else:
                met = accuracy >= accuracy_target and seconds <= 90
                print(f"  median: {seconds:.1f} s, accuracy {accuracy:.4f}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
