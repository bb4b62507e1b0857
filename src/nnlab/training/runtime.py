"""Where and how a process computes: its place in a torchrun launch, its device, its precision."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import random
from collections.abc import Mapping

import numpy as np
import torch

from nnlab.config import PRECISIONS
from nnlab.errors import ConfigError

log = logging.getLogger("nnlab")


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


NATIVE_BF16_CPUS = ("AMX", "AVX512-BF16", "ARM-BF16")  # cpu_class() values whose cores compute bf16 themselves
PRECISION_NAMES = {"32": "float32", "bf16-mixed": "bf16 autocast"}  # for messages
_warned: set[str] = set()  # one emulated-bf16 warning per process and device type


@functools.lru_cache(maxsize=1)
def cpu_class() -> str:
    """What this CPU computes natively, as nnlab's benchmarks name it: AMX, AVX512-BF16, ARM-BF16, AVX512,
    AVX2 or ATen's own name (DEFAULT, ...).

    Reads what torch will use, not only what the chip has: ATen's kernel choice (ATEN_CPU_CAPABILITY)
    and oneDNN's bf16 support (ONEDNN_MAX_CPU_ISA), so `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`
    makes a bigger CPU report, and behave as, AVX2.
    """
    capability = torch.backends.cpu.get_cpu_capability()  # "AVX2", "AVX512", "DEFAULT", ...
    try:
        chip = dict(torch.cpu.get_capabilities())  # the hardware's flags (torch >= 2.9)
    except AttributeError:
        chip = {"avx512_bf16": torch.cpu._is_avx512_bf16_supported(), "amx_bf16": torch.cpu._is_amx_tile_supported()}
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():  # oneDNN's kernels may use bf16 (the ISA cap allows)
        if chip.get("amx_bf16"):
            return "AMX"
        if chip.get("avx512_bf16"):
            return "AVX512-BF16"
        if chip.get("bf16") or chip.get("sve_bf16"):
            return "ARM-BF16"
    return capability


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 matrix products natively (else bf16 autocast is emulated, and slow)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_class() in NATIVE_BF16_CPUS
    return False  # MPS and the rest: float32


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a run computes in: "auto" is bf16-mixed where `device` computes bf16 natively, else 32.

    On an AVX2-only CPU oneDNN emulates bf16, and a CNN epoch under bf16 autocast took 10x the float32
    one (docs/benchmarks.md#precision-and-the-cpu-nnlab-6); an explicit bf16-mixed there still runs, with one warning.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16-mixed" if native_bf16(device) else "32"
    if precision == "bf16-mixed" and not native_bf16(device) and device.type not in _warned:
        _warned.add(device.type)
        where = f"this CPU ({cpu_class()})" if device.type == "cpu" else f"device {device}"
        log.warning(f"warning: {where} has no native bf16: bf16-mixed is emulated and several times slower "
                    f"than float32 (--precision auto picks 32 here)")
    return precision


def describe_precision(precision: str, device: torch.device) -> str:
    """One line saying what `precision` resolves to on `device`, and why: printed once per run."""
    resolved = resolve_precision(precision, device)
    name = PRECISION_NAMES[resolved]
    where = f"CPU {cpu_class()}" if device.type == "cpu" else str(device)
    native = "computes bf16 natively" if native_bf16(device) else "has no native bf16"
    return f"precision: {name} ({precision}; {where} {native})"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context for a precision setting (auto, 32, bf16-mixed): bf16-mixed runs matmuls and
    convs in bfloat16.

    bf16 needs no gradient scaling (its exponent range is float32's), so no GradScaler is used.
    """
    if resolve_precision(precision, device) != "bf16-mixed":
        return contextlib.nullcontext()  # cheaper than a disabled torch.autocast, entered every step
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def derived_seed(seed: int, part: int) -> int:
    """The seed of part `part` of a request drawn in parts (part 0: `seed` itself, so a request small enough
    for one part draws what it always did)."""
    return seed if part == 0 else int(np.random.SeedSequence([seed, part]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run is repeatable on the CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
