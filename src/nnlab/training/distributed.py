"""torch.distributed glue: process group set-up, DDP wrapping, cross-rank reductions, sharded output.

One launcher only: `torchrun --nproc-per-node N -m nnlab train|simulate|sample ...` (gloo on CPU, nccl
on CUDA).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from nnlab.training.runtime import Launch

T = TypeVar("T")


@contextlib.contextmanager
def process_group(launch: Launch, device: torch.device, *, timeout_s: float = 300.0) -> Iterator[None]:
    """Join the torchrun process group for the duration of a run (nothing to do for one process).

    A collective that waits longer than `timeout_s` for another process fails (see `lost_process`).
    """
    if not launch.distributed or dist.is_initialized():
        yield
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, rank=launch.rank, world_size=launch.world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    previous = signal.signal(signal.SIGTERM, _stopped_by_launcher)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        dist.destroy_process_group()


class StoppedByLauncher(RuntimeError):
    """torchrun ends the other processes when one fails (SIGTERM): they stop as if they had lost it themselves."""


def _stopped_by_launcher(signum: int, frame: object) -> NoReturn:
    raise StoppedByLauncher("the launcher stopped this process (SIGTERM) after another one failed")


def exit_worker(status: int) -> NoReturn:
    """End a torchrun worker process now, skipping the interpreter's shutdown.

    DDP keeps gloo's process group, and so its worker threads, alive past destroy_process_group
    (a PyTorch limitation). A worker thread that drops a finished collective's tensors while the
    interpreter shuts down needs the GIL, cannot take it, and aborts the process (SIGABRT), so
    torchrun reports a finished run as failed: 10 of 67 two-process `nnlab train iris` runs on
    a 2-core machine kept busy by two other processes; 0 of 60 with this exit. Everything nnlab
    writes is closed and in place by now: only the logs and the standard streams need flushing.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def lost_process(error: BaseException) -> str | None:
    """What went wrong, in one line, when `error` is a collective that lost another process (killed, frozen
    past the timeout, its machine gone); None for any other error."""
    if not is_active():
        return None
    text = " ".join(str(error).split())
    if not (isinstance(error, (StoppedByLauncher, getattr(dist, "DistError", ()))) or any(
            marker in text for marker in ("gloo", "NCCL", "Connection reset", "Connection closed", "Timed out"))):
        return None
    reason = text.split("] ", 1)[-1].split(". This is typically", 1)[0]  # gloo's message, without its source path
    return f"rank {dist.get_rank()} lost contact with another process of this " \
           f"distributed run ({reason[:120]})"


def is_active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """Wrap a trainable module in DistributedDataParallel when running under torchrun."""
    if not is_active() or not any(p.requires_grad for p in module.parameters()):
        return module
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside a DDP (or torch.compile) wrapper, for checkpoints and evaluation.

    Only those wrappers: other modules with a `.module` (torch's AveragedModel) are models in
    their own right, saved with their own state.
    """
    while isinstance(module, nn.parallel.DistributedDataParallel) or hasattr(module, "_orig_mod"):
        module = module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module._orig_mod
    return module


def _comm_device() -> torch.device:
    """NCCL moves only CUDA tensors; gloo moves CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks (identity for one process); the result is on the input's device."""
    if not is_active():
        return tensor
    moved = tensor.to(_comm_device(), copy=True)
    dist.all_reduce(moved, op=dist.ReduceOp.SUM)
    return moved.to(tensor.device)


def all_gather(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's copy of a same-shaped tensor, in rank order (a one-element list for one process)."""
    if not is_active():
        return [tensor]
    moved = tensor.to(_comm_device()).contiguous()
    gathered = [torch.empty_like(moved) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, moved)
    return [t.to(tensor.device) for t in gathered]


def broadcast_object(value: object) -> object:
    """Rank 0's value of a small picklable object on every rank."""
    if not is_active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def write_sharded(path: str | os.PathLike, launch: Launch,
                  write: Callable[[Path, tuple[int, int]], T]) -> tuple[T, Path | None]:
    """`write(target, (rank, world size))` writes one process's share of a file's showers to `target`.

    Alone: the whole file, at `path`. Under torchrun: each rank writes its shard (nnlab.data.shards), all
    wait for the last, and rank 0 joins them into `path`. Returns this rank's result and, on rank 0 of
    a torchrun launch, the joined file.
    """
    if not launch.distributed:
        return write(Path(path), (0, 1)), None
    from nnlab.data.shards import join_shards, shard_path

    target = shard_path(path, launch.rank, launch.world_size)
    target.parent.mkdir(parents=True, exist_ok=True)
    with process_group(launch, torch.device("cpu")):
        written = write(target, (launch.rank, launch.world_size))
        dist.barrier()  # every shard is in place (each is renamed there only when whole)
        joined = join_shards(path, launch.world_size, attrs={"shards": launch.world_size}) if launch.is_main else None
    return written, joined
