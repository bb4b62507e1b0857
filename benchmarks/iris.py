"""Framework overhead: Iris trained by nnlab's Trainer vs a plain hand-written PyTorch loop.

Both train the same model (same init, data, optimiser, batch size and epochs) and report the
same numbers every epoch: training loss and accuracy, validation loss and accuracy (the plain
loop the usual hand-written way, `.item()` per batch). nnlab also logs each epoch, keeps
metrics.csv, checkpoints and the best weights.
Run: python benchmarks/iris.py [--epochs 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
import torch.nn.functional as F

from nnlab.api import resolve_config
from nnlab.tasks.iris import IrisTask
from nnlab.training.rundir import RunDir
from nnlab.training.runtime import Launch, seed_everything
from nnlab.training.trainer import Trainer


def build(epochs: int) -> IrisTask:
    config = resolve_config("iris", overrides=[f"train.epochs={epochs}"])
    seed_everything(config.train.seed)
    task = IrisTask(config, device=torch.device("cpu"))
    task.build(training=True)
    return task


def time_nnlab(epochs: int, out_dir: str) -> tuple[float, float]:
    task = build(epochs)
    trainer = Trainer(task.config.train, device=torch.device("cpu"), launch=Launch(), task_name="iris",
                      config={"task": "iris"})
    trainer.setup(task)
    run = RunDir.new(out_dir, "iris")
    started = time.perf_counter()
    history = trainer.fit(run)
    return time.perf_counter() - started, history[-1]["val_acc"]


def time_plain(epochs: int) -> tuple[float, float]:
    task = build(epochs)
    model, optimizer = task.models["model"], task.optimizers["model"]
    (x, y), (x_val, y_val) = task.train_data, task.val_data
    batch_size = task.config.train.batch_size
    started = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        generator = torch.Generator().manual_seed(epoch)
        loss_sum, correct = 0.0, 0
        for index in torch.randperm(len(x), generator=generator).split(batch_size):
            logits = model(x[index])
            loss = F.cross_entropy(logits, y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == y[index]).sum().item()
        model.eval()
        with torch.no_grad():  # the epoch's metrics, as the Trainer reports them: the same work
            logits = model(x_val)
            epoch_metrics = {"train_loss": loss_sum / len(x), "train_acc": correct / len(x),
                             "val_loss": F.cross_entropy(logits, y_val).item(),
                             "val_acc": (logits.argmax(1) == y_val).float().mean().item()}
    return time.perf_counter() - started, epoch_metrics["val_acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    nnlab_times, plain_times = [], []
    with tempfile.TemporaryDirectory() as out_dir:
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            seconds, nnlab_acc = time_nnlab(args.epochs, out_dir)
            nnlab_times.append(seconds)
            seconds, plain_acc = time_plain(args.epochs)
            plain_times.append(seconds)
    nnlab_s, plain_s = min(nnlab_times), min(plain_times)
    print(f"Iris, {args.epochs} epochs, best of {args.repeats}, {torch.get_num_threads()} threads")
    print(f"{'loop':<8} {'total s':>8} {'ms/epoch':>9} {'val acc':>8}")
    print(f"{'nnlab':<8} {nnlab_s:8.3f} {1e3 * nnlab_s / args.epochs:9.3f} {nnlab_acc:8.3f}")
    print(f"{'plain':<8} {plain_s:8.3f} {1e3 * plain_s / args.epochs:9.3f} {plain_acc:8.3f}")
    print(f"framework overhead per epoch: {100 * (nnlab_s / plain_s - 1):+.1f}%")


if __name__ == "__main__":
    main()
