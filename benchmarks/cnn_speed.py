"""CNN training speed and accuracy: the `lecture` recipe vs nnlab's `fast` defaults, and a plain loop.

`lecture` is trained exactly as PyTorch's MNIST example does (Adadelta lr 1.0, StepLR 0.7 per
epoch, batch 64, fp32, no augmentation); `fast` with `nnlab train cnn` defaults. Each row runs
in its own process so peak memory is its own. Test accuracy is measured after every epoch
(outside the timed training). Run: python benchmarks/cnn_speed.py [--data mnist-5k fashion-mnist]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

LECTURE = ["model.arch=lecture", "train.optimizer=adadelta", "train.lr=1.0", "train.scheduler=step",
           "train.step_gamma=0.7", "train.batch_size=64", "train.precision=32", "train.label_smoothing=0",
           "train.weight_decay=0", "data.max_shift=0", "data.max_rotation=0", "data.max_zoom=0",
           "model.channels_last=false"]
RECIPES = {"lecture": LECTURE, "fast": []}
TARGETS = {"mnist-5k": 0.99, "fashion-mnist": 0.91}


def build(data: str, overrides: list[str]):
    from nnlab.api import resolve_config
    from nnlab.tasks.cnn import CNNTask
    from nnlab.training.runtime import seed_everything

    config = resolve_config("cnn", overrides=[f"data.source={data}", *overrides])
    seed_everything(config.train.seed)
    task = CNNTask(config, device=torch.device("cpu"))
    task.build(training=True)
    seed_everything(config.train.seed)  # as `nnlab train` does: the same dropout stream, the same numbers
    task.val_data = task.test_data  # watched after each epoch, never used to pick a checkpoint
    return task


def train_flops_per_sample(task) -> float:
    """FLOPs of one forward + backward pass per image, counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    x = task._pixels(task.train_data[0][:16])
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(task.models["model"](x), task.train_data[1][:16]).backward()
    task.models["model"].zero_grad()
    return counter.get_total_flops() / 16


def run_nnlab(data: str, recipe: str, epochs: int) -> dict:
    """Train through nnlab's Trainer, timing the training part of each epoch only."""
    from nnlab.training.runtime import Launch
    from nnlab.training.trainer import Trainer

    task = build(data, [*RECIPES[recipe], f"train.epochs={epochs}"])
    flops = train_flops_per_sample(task)
    trainer = Trainer(task.config.train, device=torch.device("cpu"), launch=Launch(), task_name="cnn", config={})
    trainer.setup(task)
    seconds, accuracy = [], []
    for epoch in range(epochs):
        trainer.step.epoch = epoch
        started = time.perf_counter()
        trainer._train_epoch(task, trainer.step)
        seconds.append(time.perf_counter() - started)
        accuracy.append(trainer._evaluate(task)["val_acc"])
    return _result(task, seconds, accuracy, flops)


def run_plain(data: str, epochs: int) -> dict:
    """The lecture recipe in a plain hand-written loop, the way PyTorch's MNIST example writes it."""
    task = build(data, [*LECTURE, f"train.epochs={epochs}"])
    model, (x, y) = task.models["model"], task.train_data
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    seconds, accuracy = [], []
    for epoch in range(epochs):
        model.train()
        started = time.perf_counter()
        for index in torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).split(64):
            loss = F.cross_entropy(model(x[index].unsqueeze(1).float() / 255), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        seconds.append(time.perf_counter() - started)
        probs = task.probabilities((task.test_data[0],))
        accuracy.append(float((probs.argmax(1) == task.test_data[1].numpy()).mean()))
    return _result(task, seconds, accuracy, train_flops_per_sample(task))


def _result(task, seconds: list[float], accuracy: list[float], flops: float) -> dict:
    n = len(task.train_data[0])
    return {"n_train": n, "seconds": seconds, "accuracy": accuracy, "samples_per_s": n * len(seconds) / sum(seconds),
            "gflops": flops * n * len(seconds) / sum(seconds) / 1e9,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def matmul_peak_gflops(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """The machine's measured matrix-multiply throughput, the roofline the CNNs are compared with."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def one(data: str, recipe: str, epochs: int) -> None:
    result = run_plain(data, epochs) if recipe == "plain" else run_nnlab(data, recipe, epochs)
    print(json.dumps(result))


def time_to(target: float, result: dict) -> str:
    elapsed = 0.0
    for seconds, accuracy in zip(result["seconds"], result["accuracy"]):
        elapsed += seconds
        if round(accuracy, 6) >= target:  # 990 of 1,000 is 0.99 however float32 rounds the mean
            return f"{elapsed:.1f}"
    return "not reached"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["mnist-5k", "fashion-mnist"])
    parser.add_argument("--epochs", type=int, nargs=2, default=None, metavar=("LECTURE", "FAST"),
                        help="epochs for the lecture recipe and for fast (default: 14 30 on mnist-5k, 5 3 on fashion)")
    parser.add_argument("--one", nargs=3, metavar=("DATA", "RECIPE", "EPOCHS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args.one[0], args.one[1], int(args.one[2]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; matmul peak "
          f"fp32 {matmul_peak_gflops(torch.float32):.0f} GFLOP/s, "
          f"bf16 {matmul_peak_gflops(torch.bfloat16):.0f} GFLOP/s")
    for data in args.data:
        epochs = dict(zip(("lecture", "fast"), args.epochs or ((14, 30) if data == "mnist-5k" else (5, 3))))
        epochs["plain"] = epochs["lecture"]
        target = TARGETS.get(data, 0.99)
        print(f"\n{data}: test accuracy after each epoch; time to {target:.0%} counts training seconds only")
        print(f"{'recipe':<8} {'epochs':>6} {'s/epoch':>8} {'samples/s':>10} {'GFLOP/s':>8} {'peak MB':>8} "
              f"{'final acc':>9} {'s to target':>11}  accuracy per epoch")
        for recipe in ("lecture", "plain", "fast"):
            out = subprocess.run([sys.executable, __file__, "--one", data, recipe, str(epochs[recipe])],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            curve = " ".join(f"{a:.4f}" for a in r["accuracy"])
            print(f"{recipe:<8} {len(r['seconds']):>6} {sum(r['seconds']) / len(r['seconds']):8.2f} "
                  f"{r['samples_per_s']:10.0f} {r['gflops']:8.1f} {r['peak_mb']:8.0f} {r['accuracy'][-1]:9.4f} "
                  f"{time_to(target, r):>11}  {curve}")


if __name__ == "__main__":
    main()
