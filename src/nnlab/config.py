"""Typed configs: nested frozen dataclasses, read from YAML and overridden with `--set a.b=c`.

Precedence: dataclass defaults < `--config FILE` < `--set` overrides. Every value is coerced
to its field's type, and an unknown key or a bad value raises a one-line `ConfigError`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from nnlab.errors import ConfigError

C = TypeVar("C")

PRECISIONS = ("auto", "32", "bf16-mixed")  # train.precision and `nnlab sample --precision`
LOGGERS = ("none", "tensorboard")  # train.logger: where epoch metrics go besides metrics.csv
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def choices(*allowed: str, default: str) -> Any:
    """A string field that accepts only `allowed` values (checked when a config is built)."""
    return dataclasses.field(default=default, metadata={"choices": allowed})


def in_range(interval: str, *, default: Any) -> Any:
    """A number field (or each number of a tuple field) that must lie in `interval`, written as in
    mathematics: "[0, 1)", "(0, inf)", "[1, inf)". Checked when a config is built, so a bad value
    stops with one line naming the key rather than deep inside torch or NumPy."""
    return dataclasses.field(default=default, metadata={"range": _Interval.parse(interval)})


@dataclasses.dataclass(frozen=True)
class _Interval:
    text: str
    low: float
    high: float
    low_closed: bool
    high_closed: bool

    @classmethod
    def parse(cls, text: str) -> _Interval:
        low, high = (float(part) for part in text[1:-1].split(","))
        return cls(text, low, high, text[0] == "[", text[-1] == "]")

    def __contains__(self, value: float) -> bool:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What every task's training shares: the loop, the optimiser, the schedule, the hardware."""

    epochs: int = in_range("[1, inf)", default=10)
    batch_size: int = in_range("[1, inf)", default=64)  # global: split evenly over the processes of a torchrun launch
    lr: float = in_range("(0, inf)", default=1e-3)
    optimizer: str = choices("adam", "adamw", "sgd", "adadelta", default="adam")
    momentum: float = in_range("[0, 1)", default=0.9)  # sgd only
    betas: tuple[float, ...] = in_range("[0, 1)", default=(0.9, 0.999))  # adam/adamw
    weight_decay: float = in_range("[0, inf)", default=0.0)
    scheduler: str = choices("none", "cosine", "onecycle", "step", default="none")
    # "step": lr factor applied once per epoch (PyTorch MNIST example)
    step_gamma: float = in_range("(0, inf)", default=0.7)
    warmup: float = in_range("[0, 1)", default=0.25)  # "onecycle": fraction of the steps spent rising to the peak lr
    grad_clip: float = in_range("[0, inf)", default=0.0)  # max gradient norm; 0 turns clipping off
    label_smoothing: float = in_range("[0, 1)", default=0.0)  # classification cross-entropy only
    early_stopping: int = in_range("[0, inf)", default=0)  # patience in epochs without improvement; 0 turns it off
    # stop after the batch that brings the epochs' wall time (resumed ones, evaluation and scoring too) to this many
    # seconds; that epoch is evaluated and recorded, and a resumed run goes on with the next. 0 turns it off.
    # Opt-in: where it stops depends on the machine's speed, not on the seed. The learning-rate schedule still spans
    # `epochs`.
    time_budget_s: float = in_range("[0, inf)", default=0.0)
    # save at most this often, and always at the end, early stop or Ctrl-C
    checkpoint_every_s: float = in_range("[0, inf)", default=10.0)
    seed: int = in_range("[0, inf)", default=0)
    # torchrun only: how long a process waits for the others at a synchronisation point before it reports a lost
    # process and stops (a frozen one stalled the run for torch's 30 minutes); rank 0 alone scores each epoch
    dist_timeout_s: float = in_range("(0, inf)", default=300.0)
    device: str = "auto"  # auto, cpu, cuda, cuda:N, mps
    # auto: bf16-mixed where the device computes bf16 natively (AMX, AVX512-BF16, CUDA with bf16), else 32
    precision: str = choices(*PRECISIONS, default="auto")
    logger: str = choices(*LOGGERS, default="none")  # tensorboard: event files in RUN/tensorboard/ as well


def to_dict(config: Any) -> dict[str, Any]:
    """Return the config as plain dicts, lists and scalars (what YAML and checkpoints hold)."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return {f.name: (to_dict(v) if dataclasses.is_dataclass(v) else plain(v))
            for f in dataclasses.fields(config) for v in [getattr(config, f.name)]}


def from_dict(cls: type[C], values: Mapping[str, Any], *, prefix: str = "") -> C:
    """Build `cls` from a (possibly partial) mapping, checking keys and coercing every value."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {values!r:.80}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key '{prefix}{unknown[0]}' "
                          f"(valid keys: {', '.join(prefix + k for k in fields)})")
    kwargs = {}
    for name, value in values.items():
        key = prefix + name
        if dataclasses.is_dataclass(hints[name]):
            kwargs[name] = from_dict(hints[name], value, prefix=key + ".")
        else:
            kwargs[name] = _coerce(value, hints[name], key, fields[name].metadata)
    return cls(**kwargs)


def merge(config: C, values: Mapping[str, Any]) -> C:
    """Return `config` with the entries of a nested mapping (from YAML or --set) replacing its values."""
    return from_dict(type(config), _deep_update(to_dict(config), values))


def _deep_update(base: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise ConfigError(f"expected a mapping of config sections, got {values!r:.80}")
    merged = dict(base)
    for key, value in values.items():
        if isinstance(merged.get(key), dict) and isinstance(value, Mapping):
            merged[key] = _deep_update(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_overrides(assignments: Iterable[str]) -> dict[str, Any]:
    """Turn ["train.lr=0.1", "model.hidden_dims=32,32"] into a nested mapping of raw strings."""
    nested: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value (for example train.lr=0.01), got '{assignment}'")
        *parents, leaf = key.strip().split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: '{part}' is a value, not a section")
        node[leaf] = value.strip()
    return nested


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping from `path`, with one-line errors for a missing, malformed or hostile file.

    A config is a few KB of plain values: at most MAX_CONFIG_BYTES are read (`--config /dev/zero` ends),
    no alias is expanded (774 bytes of nested aliases once expanded to 4 GB in an error message), and
    nothing nests deeper than MAX_CONFIG_DEPTH (100,000 brackets gave a RecursionError).
    """
    import yaml

    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: over {MAX_CONFIG_BYTES >> 10} KiB, too large for a config file")
    try:
        values = yaml.load(text, Loader=_config_loader())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of config sections, got {type(values).__name__}")
    return values


MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_DEPTH = 16


@functools.cache
def _config_loader() -> type:
    """PyYAML's safe loader that refuses aliases and nesting deeper than MAX_CONFIG_DEPTH, before building."""
    import yaml

    class ConfigLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not read in a config",
                                                  self.peek_event().start_mark)
            if self.depth >= MAX_CONFIG_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_CONFIG_DEPTH} levels",
                                                  self.peek_event().start_mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return ConfigLoader


def dump_yaml(values: Mapping[str, Any]) -> str:
    """Serialise a plain mapping to YAML text in field order."""
    import yaml

    return yaml.safe_dump(dict(values), sort_keys=False)


def _coerce(value: Any, hint: Any, key: str, rules: Mapping[str, Any]) -> Any:
    """Coerce one value (from YAML or a --set string) to the field's type, check its `choices` or
    `in_range` rule, or raise ConfigError."""
    try:
        result = _coerce_type(value, hint)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: {value!r:.80} is not a valid {_type_name(hint)}") from None
    allowed, interval = rules.get("choices"), rules.get("range")
    if allowed is not None and result not in allowed:
        raise ConfigError(f"{key}: {value!r:.80} is not one of {', '.join(allowed)}")
    if interval is not None:
        for number in result if isinstance(result, tuple) else () if result is None else (result,):
            if number not in interval:
                raise ConfigError(f"{key}: {number!r} is not in {interval.text}")
    return result


def _coerce_type(value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null", ""}):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _coerce_type(value, inner[0])
    if origin is tuple:
        items = _split_list(value)
        return tuple(_coerce_type(v, args[0]) for v in items)
    if hint is bool:
        return _to_bool(value)
    if hint is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value) if not isinstance(value, str) else int(value.strip())
    if hint is float:
        if isinstance(value, bool):
            raise ValueError(value)
        result = float(value)
        if not math.isfinite(result):
            raise ValueError(value)
        return result
    if hint is str:
        if isinstance(value, (dict, list)):
            raise ValueError(value)
        return str(value)
    raise TypeError(f"unsupported config type {hint}")


def _split_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        text = value.strip().removeprefix("[").removesuffix("]")
        return [part.strip() for part in text.split(",") if part.strip()]
    return [value]


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    return {bool: "boolean (true/false)", int: "integer", float: "finite number", str: "string"}.get(
        hint, str(hint))
