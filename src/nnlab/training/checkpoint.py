"""Checkpoints that hold only tensors and plain values, carry a format version, and rebuild their run.

Loading uses `torch.load(weights_only=True)`: a checkpoint is never unpickled blindly. Final
weights also go to safetensors, which holds no code at all.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nnlab.errors import CheckpointError
from nnlab.files import atomic_path

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, payload: Mapping[str, Any]) -> Path:
    """Write a checkpoint atomically (temp file, then rename), stamped with the format version."""
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **payload}, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, *, task: str) -> dict[str, Any]:
    """Read a checkpoint of `task` safely; anything else (corrupt, foreign, other task) is a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable nnlab checkpoint ({reason[:160]})") from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise CheckpointError(f"{path} is not an nnlab checkpoint (no format version)")
    if payload["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {payload['format_version']}, "
                              f"this nnlab reads format {FORMAT_VERSION}")
    if payload.get("task") != task:
        raise CheckpointError(f"{path} was made by task '{payload.get('task')}', not '{task}'")
    return payload


def load_state(module: nn.Module | torch.optim.Optimizer | Any, state: Mapping[str, Any], *,
               what: str, source: str | os.PathLike) -> None:
    """`load_state_dict` with a one-line error naming the first tensor that does not fit."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as error:
        detail = " ".join(str(error).split())
        raise CheckpointError(f"{source}: the saved {what} does not fit this model ({detail[:240]})") from None


def save_weights_state(path: str | os.PathLike, states: Mapping[str, Mapping[str, torch.Tensor]], *,
                       metadata: Mapping[str, str]) -> Path:
    """Write every module's state dict as one safetensors file with keys "<module>.<tensor>"."""
    from safetensors.torch import save_file

    tensors = {f"{name}.{key}": value.detach().cpu().contiguous()
               for name, state in states.items() for key, value in state.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=dict(metadata))
    return Path(path)


def read_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file, with a one-line error if it is missing or broken."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no weights at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            tensors, metadata = {key: handle.get_tensor(key) for key in handle.keys()}, handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors file ({error})") from None
    for key, tensor in tensors.items():  # NaN weights would answer every question silently wrong
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path} holds NaN or infinite values in {key}: the weights of a diverged "
                                  "or damaged run")
    return tensors, metadata


def load_weights(path: str | os.PathLike, modules: Mapping[str, nn.Module], *, task: str) -> dict[str, str]:
    """Load a safetensors file written by `save_weights_state` into `modules`; return its metadata."""
    tensors, metadata = read_weights(path)
    if metadata.get("task") != task:
        raise CheckpointError(f"{path} holds weights of task '{metadata.get('task')}', not '{task}'")
    for name, module in modules.items():
        load_state(module, submodule_state(tensors, name + "."), what=f"'{name}' weights", source=path)
    return metadata


def submodule_state(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries under `prefix`, with the prefix removed: one module's state dict."""
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def config_metadata(task: str, config: Mapping[str, Any]) -> dict[str, str]:
    """The safetensors metadata that lets a weights file name its task and rebuild its model."""
    from nnlab import __version__

    return {"task": task, "format_version": str(FORMAT_VERSION), "nnlab_version": __version__,
            "config": json.dumps(config)}
