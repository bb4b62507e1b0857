"""Where and how a process computes: its place in a torchrun launch, its device, its precision."""

from __future__ import annotations

import contextlib
import dataclasses
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


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run is repeatable on the CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
