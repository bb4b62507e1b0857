"""Seeing inside a trained CNN (lecture: "what does a CNN learn?"): first-layer filters,
feature maps and activation maximisation, i.e. gradient ascent on the input image
(Erhan et al. 2009; Simonyan et al. 2013, with the L2 and total-variation priors of
Mahendran & Vedaldi 2015).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn


def first_layer_filters(model: nn.Module) -> np.ndarray:
    """The first convolution's kernels (C_out, kh, kw), averaged over input channels if there are several.

    `model` needs a `conv_layers()` method (every nnlab CNN has one).
    """
    _, conv = model.conv_layers()[0]
    return conv.weight.detach().float().mean(dim=1).cpu().numpy()  # (C_out, kh, kw)


def feature_maps(model: nn.Module, image: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """The output (C, h, w) of every convolution for one image (1, C_in, H, W), in forward order.

    Forward hooks record each convolution's output during one eval-mode pass without
    gradients; the model's train/eval mode is restored afterwards.
    """
    outputs: dict[str, torch.Tensor] = {}
    layers = model.conv_layers()

    def recorder(name: str):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            outputs[name] = output.detach()
        return hook

    handles = [conv.register_forward_hook(recorder(name)) for name, conv in layers]
    try:
        with torch.no_grad(), _eval_mode(model):
            model(image.to(_device(model)))
    finally:
        for handle in handles:
            handle.remove()
    return [(name, outputs[name][0].float().cpu().numpy()) for name, _ in layers]  # (C, h, w) each


def activation_maximisation(
    model: nn.Module,
    *,
    target: tuple[str, int] | int,
    seed: int,
    steps: int = 200,
    lr: float = 0.1,
    l2: float = 1e-3,
    tv: float = 1e-2,
    image_size: tuple[int, int] = (28, 28),
    value_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """The image (H, W) that most excites `target`, found by gradient ascent on the pixels.

    `target` is a class index (its logit is maximised) or (conv layer name, channel) (that
    channel's mean activation is maximised). Starting from faint seeded noise, Adam updates
    the pixels to raise target - l2 * sum(u^2) - tv * total variation(u), with u the image
    rescaled to 0..1; the priors keep it from filling with high-frequency noise. Pixels are
    clamped to `value_range`, the range the model was trained on. The penalties are in units
    of the target: a conv channel before BatchNorm has an arbitrary scale and may need
    smaller ones. The model runs in eval mode with its parameters frozen; its modes and
    requires_grad flags are restored afterwards.
    """
    lo, hi = value_range
    device = _device(model)
    generator = torch.Generator().manual_seed(seed)
    n_in = model.conv_layers()[0][1].in_channels
    noise = torch.rand(1, n_in, *image_size, generator=generator)  # (1, C, H, W)
    x = (lo + 0.1 * (hi - lo) * noise).to(device).requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr * (hi - lo))  # `lr` is a fraction of the pixel range per step
    with _frozen(model), _eval_mode(model), _objective(model, target) as objective:
        for _ in range(steps):
            unit = (x - lo) / (hi - lo)  # the penalties do not depend on the input scaling
            loss = -objective(x) + l2 * unit.pow(2).sum() + tv * total_variation(unit)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                x.clamp_(lo, hi)
    return x.detach()[0].mean(dim=0).cpu().numpy()  # (H, W)


def target_activation(model: nn.Module, x: torch.Tensor, target: tuple[str, int] | int) -> float:
    """The quantity `activation_maximisation` raises, for an image batch of one (1, C, H, W)."""
    with torch.no_grad(), _eval_mode(model), _objective(model, target) as objective:
        return float(objective(x.to(_device(model))))


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences between neighbouring pixels: small for smooth images."""
    dy = x[..., 1:, :] - x[..., :-1, :]  # (B, C, H - 1, W)
    dx = x[..., :, 1:] - x[..., :, :-1]  # (B, C, H, W - 1)
    return dy.pow(2).sum() + dx.pow(2).sum()


@contextlib.contextmanager
def _objective(model: nn.Module, target: tuple[str, int] | int) -> Iterator:
    """Yield f(x) -> scalar tensor: the target class logit, or a conv channel's mean activation."""
    if not isinstance(target, tuple):
        index = int(target)
        yield lambda x: model(x)[0, index].float()
        return
    name, channel = target
    layers = dict(model.conv_layers())
    if name not in layers:
        raise ValueError(f"no convolution {name!r}: choose one of {', '.join(layers)}")
    captured: list[torch.Tensor] = []
    handle = layers[name].register_forward_hook(lambda module, args, output: captured.append(output))

    def channel_mean(x: torch.Tensor) -> torch.Tensor:
        captured.clear()
        model(x)
        return captured[0][0, channel].float().mean()

    try:
        yield channel_mean
    finally:
        handle.remove()


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode (dropout off, BatchNorm running statistics) for the block, then each module's own mode back."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


@contextlib.contextmanager
def _frozen(model: nn.Module) -> Iterator[None]:
    """Parameters without gradients for the block (only the image is optimised), then the old flags back."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
