"""The README's tour as a new user runs it, with its output in a log: how long nnlab is ever silent.

Each command runs in a fresh folder with its output piped (no terminal, so progress comes as log
lines, as in CI or a log file) and every line is timed as it arrives. Two silences are reported:
- "before a phase": from the start, or from any line but a progress line, to the next line (a phase
  that reported ends with a "done" line, so what follows it counts here). Target: <= 10 s (+1 s of
  slack): every phase longer than that shows its progress by then, start-up and loading included;
- "within a phase": from a progress line to the next line (they come every 30 s). Target: <= 31 s.
The default classifier of `train gan` is trained into a fresh cache unless --cache-dir names one,
so its phase is measured too. Long trainings are shortened with --epochs; the phases are the same.
Run: python benchmarks/silences.py [--only WORD ...] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from nnlab.reporting import describe_environment

TOUR = (
    "foundations xor",
    "train iris",
    "evaluate runs/iris/latest",
    "train cnn",
    "inspect runs/cnn/latest",
    "train gan --epochs 2",
    "evaluate runs/gan/latest",
    "sample runs/gan/latest -n 64 --seed 1 --interpolate 10",
    "restore runs/gan/latest inpaint -n 16",
    "simulate --particle gamma -n 10000 --energy 1:100 --seed 1 -o gamma.h5",
    "evaluate-sim gamma.h5",
    "train calo-classifier --particles gamma,piplus --epochs 2",
    "train calogan --particle eplus --epochs 2",
    "evaluate runs/calogan/latest",
    "sample runs/calogan/latest --particle eplus --energy 50 -n 10000 -o fake.h5",
)
# Progress.line: 'epoch 2/7: 412/938 batches (44%), 1:01, about 1:17 left', 'simulating: 120 showers, 12 s'
PROGRESS_LINE = re.compile(r": [\d,]+(/[\d,]+)? [a-z ]+( \(\d+%\))?, (\d+ s|[\d:]+:\d\d)")
BEFORE_PHASE_S, WITHIN_PHASE_S = 11.0, 31.0


def timed_lines(command: list[str], cwd: str, env: dict[str, str]) -> tuple[list[tuple[float, str]], float, int]:
    """Every line `command` writes (stdout and stderr together) with the seconds since its start when it came."""
    started = time.monotonic()
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as process:
        lines = [(time.monotonic() - started, line.rstrip("\n")) for line in process.stdout]
    return lines, time.monotonic() - started, process.returncode


def silences(lines: list[tuple[float, str]], ended: float) -> tuple[tuple[float, str], tuple[float, str]]:
    """The longest silence before a phase's first line and within a phase, each with the line that ended it."""
    before, within = (0.0, ""), (0.0, "")
    last_at, last_progress = 0.0, False
    for at, line in [*lines, (ended, "(exit)")]:
        gap = (at - last_at, line)
        if last_progress:
            within = max(within, gap)
        else:
            before = max(before, gap)
        last_at, last_progress = at, bool(PROGRESS_LINE.search(line))
    return before, within


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="run only the commands that contain one of these words")
    parser.add_argument("--cache-dir", help="XDG_CACHE_HOME for the runs (default: a fresh one)")
    args = parser.parse_args()
    print("\n".join(describe_environment()), flush=True)
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "XDG_CACHE_HOME": args.cache_dir or os.path.join(folder, "cache")}
        print(f"\n{'command':<76} {'wall s':>7} {'before a phase':>15} {'within':>7}")
        for command in TOUR:
            if args.only and not any(word in command for word in args.only):
                continue
            argv = [sys.executable, "-m", "nnlab", *command.split()]
            if command.startswith("train"):
                argv += ["--out", "runs"]
            lines, wall, code = timed_lines(argv, folder, env)
            (before, before_line), (within, within_line) = silences(lines, wall)
            met = code == 0 and before <= BEFORE_PHASE_S and within <= WITHIN_PHASE_S
            failed |= not met
            print(f"{command:<76} {wall:7.1f} {before:15.1f} {within:7.1f}  {'' if met else 'MISSED'}", flush=True)
            if not met:
                print(f"    exit {code}; the longest silence ended at: {before_line[:100]!r}" + (
                    f"; within a phase: {within_line[:100]!r}" if within > WITHIN_PHASE_S else ""), flush=True)
    print(f"\ntargets: <= {BEFORE_PHASE_S:.0f} s silent before a phase's first line, <= {WITHIN_PHASE_S:.0f} s "
          f"between its progress lines: {'missed' if failed else 'met'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
