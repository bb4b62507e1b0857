"""Checkpoints that hold only tensors and plain values, carry a format version, and rebuild their run.

Loading uses `torch.load(weights_only=True)`: a checkpoint is never unpickled blindly. Final
weights also go to safetensors, which holds no code at all.
"""

from __future__ import annotations

import io
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
from nnlab.files import write_bytes_atomic

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, payload: Mapping[str, Any]) -> Path:
    """Write a checkpoint atomically (temp file, then rename), stamped with the format version."""
    buffer = io.BytesIO()  # serialised in memory: a full disk is then a plain OSError, not torch's stream errors
    torch.save({"format_version": FORMAT_VERSION, **payload}, buffer)
    return write_bytes_atomic(path, buffer.getbuffer())


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
    _check_training_state(payload, path)
    return payload


def _check_training_state(payload: Mapping[str, Any], path: Path) -> None:
    """The fields a resume reads, of the types the Trainer writes: a damaged checkpoint fails here, in one line,
    not as a KeyError deep inside the restore."""
    def fail(field: str, what: str) -> CheckpointError:
        return CheckpointError(f"{path}: damaged checkpoint: '{field}' {what}")

    resumable = "optimizers" in payload  # last.pt; best.pt holds the weights and the history only
    for field in ("models", "optimizers", "schedulers") if resumable else ("models",):
        states = payload.get(field)
        if not isinstance(states, dict) or not all(isinstance(v, dict) for v in states.values()):
            raise fail(field, "is not a mapping of state dicts")
    if not all(isinstance(t, torch.Tensor) for state in payload["models"].values() for t in state.values()):
        raise fail("models", "holds values that are not tensors")
    if resumable and not isinstance(payload.get("task_state"), dict):
        raise fail("task_state", "is not a mapping")
    rng = payload.get("rng")
    if resumable and not (isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8 and rng.dim() == 2
                          and rng.shape[1] == torch.get_rng_state().numel()):
        raise fail("rng", "is not a stack of random-generator states")
    try:
        history = json.loads(payload.get("history_json"))
    except (TypeError, ValueError, RecursionError):
        raise fail("history_json", "is not JSON text") from None
    if not (isinstance(history, list) and all(
            isinstance(row, dict) and all(isinstance(v, (int, float)) for v in row.values())
            and isinstance(row.get("epoch"), int) and isinstance(row.get("step"), int) for row in history)):
        raise fail("history_json", "is not a list of epochs of numbers")
    best = payload.get("best")
    if not (isinstance(best, dict) and isinstance(best.get("value"), (int, float, type(None)))
            and isinstance(best.get("epoch"), int)):
        raise fail("best", "is not the best epoch and its value")
    if resumable and not isinstance(payload.get("bad_epochs"), int):
        raise fail("bad_epochs", "is not a whole number")


def load_state(module: nn.Module | torch.optim.Optimizer | Any, state: Mapping[str, Any], *,
               what: str, source: str | os.PathLike) -> None:
    """`load_state_dict` with a one-line error naming the first tensor that does not fit."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:  # a damaged or foreign state
        detail = " ".join(str(error).split())
        raise CheckpointError(f"{source}: the saved {what} does not fit this model ({detail[:240]})") from None


def save_weights_state(path: str | os.PathLike, states: Mapping[str, Mapping[str, torch.Tensor]], *,
                       metadata: Mapping[str, str]) -> Path:
    """Write every module's state dict as one safetensors file with keys "<module>.<tensor>"."""
    from safetensors.torch import save

    tensors = {f"{name}.{key}": value.detach().cpu().contiguous()
               for name, state in states.items() for key, value in state.items()}
    return write_bytes_atomic(path, save(tensors, metadata=dict(metadata)))


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
        state = submodule_state(tensors, name + ".")
        for key, expected in module.state_dict().items():  # load_state_dict would cast int8 or float16 silently
            if key in state and state[key].dtype != expected.dtype:
                raise CheckpointError(f"{path}: '{name}.{key}' holds {str(state[key].dtype).removeprefix('torch.')}"
                                      f" values; this model keeps {str(expected.dtype).removeprefix('torch.')}")
        load_state(module, state, what=f"'{name}' weights", source=path)
    return metadata


def submodule_state(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries under `prefix`, with the prefix removed: one module's state dict."""
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def config_metadata(task: str, config: Mapping[str, Any]) -> dict[str, str]:
    """The safetensors metadata that lets a weights file name its task and rebuild its model."""
    from nnlab import __version__

    return {"task": task, "format_version": str(FORMAT_VERSION), "nnlab_version": __version__,
            "config": json.dumps(config)}


def copied_state(value: Any) -> Any:
    """A copy of nested dicts/lists of tensors and plain values: tensors cloned, containers rebuilt.

    State dicts hold nothing else mutable, and this is ~5x faster than copy.deepcopy, which
    made up a quarter of a tiny Iris epoch.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {key: copied_state(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(copied_state(item) for item in value)
    return value


def payload_for_disk(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint payload: the history as JSON text (plain values only, however many epochs)."""
    payload = {key: value for key, value in snapshot.items() if key != "history"}
    return {**payload, "history_json": json.dumps(snapshot["history"])}
