"""Where and how a process computes: its place in a torchrun launch, its device, its precision."""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import random
from collections.abc import Mapping

import numpy as np
import torch

from nnlab.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Launch:
    """How this process was started: alone, or as one rank of a torchrun launch."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    argv: tuple[str, ...] = ()

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], argv: tuple[str, ...] = ()) -> Launch:
        """Read torchrun's RANK, LOCAL_RANK and WORLD_SIZE (absent: a single process)."""
        try:
            return cls(rank=int(environ.get("RANK", 0)), local_rank=int(environ.get("LOCAL_RANK", 0)),
                       world_size=int(environ.get("WORLD_SIZE", 1)), argv=argv)
        except ValueError as error:
            raise ConfigError(f"bad torchrun environment (RANK/LOCAL_RANK/WORLD_SIZE): {error}") from None


def resolve_device(name: str, *, local_rank: int = 0) -> torch.device:
    """Turn "auto", "cpu", "cuda", "cuda:N" or "mps" into a device that exists on this machine."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device '{name}' (use auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{name}' requested but CUDA is not available here (use --device cpu)")
        if device.index is None:
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device '{name}' requested but MPS is not available here (use --device cpu)")
    return device


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context for a precision setting: bf16-mixed runs matmuls and convs in bfloat16.

    bf16 needs no gradient scaling (its exponent range is float32's), so no GradScaler is used.
    """
    if precision != "bf16-mixed":
        return contextlib.nullcontext()  # cheaper than a disabled torch.autocast, entered every step
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


# glibc's mallopt parameters (malloc.h) and the values nnlab sets: blocks up to 32 MiB (a batch of 10,000
# showers' cells is 20 MB) come from the heap, and up to 256 MiB of freed heap is kept for the next batch
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
RETAINED_HEAP_BYTES, HEAP_BLOCK_BYTES = 256 << 20, 32 << 20
_memory = {"retained": False}  # set once per process by retain_freed_memory


def retain_freed_memory() -> bool:
    """Have glibc keep freed memory for reuse rather than hand it back to the OS at once; True if set.

    By default glibc maps each block above 128 KiB-32 MiB afresh and trims the heap's free top, so
    the temporaries a batch frees (1-20 MB each) are faulted in again, page by page, in the next
    batch: ~3,000 page faults a CaloGAN generator batch of 1,024, 55,000 a simulator chunk of
    10,000 showers, 11 and 1,100 with these settings (docs/benchmarks.md; PyTorch's CPU tuning
    guide swaps the allocator for the same reason). Only on glibc, and not where the user set
    glibc's own MALLOC_*_ variables; the process keeps at most 256 MiB more than it uses.
    """
    if not _glibc():
        return False
    if any(os.environ.get(name) for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")):
        return False
    mallopt = ctypes.CDLL(None).mallopt  # returns 1 where it took the value
    mmap_set = mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES)
    trim_set = mallopt(M_TRIM_THRESHOLD, RETAINED_HEAP_BYTES)
    _memory["retained"] = bool(mmap_set and trim_set)
    return _memory["retained"]


def freed_memory_retained() -> bool:
    """Whether `retain_freed_memory` took effect in this process: env.json records it, as it moves timings."""
    return _memory["retained"]


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not POSIX, or a C library other than glibc
        return False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run is repeatable on the CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
