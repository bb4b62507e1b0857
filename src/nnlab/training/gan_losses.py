"""Adversarial losses as pure functions of the discriminator's raw logits, plus the WGAN-GP penalty.

Sources: Goodfellow et al. 2014 (minimax and non-saturating), Salimans et al. 2016 (one-sided
label smoothing), Arjovsky et al. 2017 and Gulrajani et al. 2017 (WGAN, gradient penalty),
Lim & Ye 2017 / Miyato et al. 2018 (hinge). Every D loss is (term on real) + (term on fake).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

LOSSES = ("nonsaturating", "minimax", "wgan-gp", "hinge")
BCE_LOSSES = ("nonsaturating", "minimax")


def discriminator_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor, *,
                       label_smoothing: float = 0.0) -> torch.Tensor:
    """D's loss (scalar, float32) for the loss family `kind`, from logits (B,) on real and fake images.

    BCE families (Goodfellow et al. 2014, eq. 1): -log D(x) - log(1 - D(G(z))), with the real
    target lowered to 1 - label_smoothing (one-sided: fake targets stay 0, Salimans et al.
    2016, sec. 3.4). WGAN critic: mean(fake) - mean(real) (Arjovsky et al. 2017); the penalty
    is added by the caller. Hinge: mean(relu(1 - real)) + mean(relu(1 + fake)).
    """
    _check_kind(kind)
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if label_smoothing and kind not in BCE_LOSSES:
        raise ValueError(f"label smoothing applies to the BCE losses {BCE_LOSSES}, not {kind!r}")
    real, fake = real_logits.float(), fake_logits.float()  # bf16 logits would round the loss
    if kind in BCE_LOSSES:  # D's objective is the same in both; only G's differs
        real_target = torch.full_like(real, 1.0 - label_smoothing)
        return (F.binary_cross_entropy_with_logits(real, real_target)
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss (scalar, float32) from D's logits (B,) on generated images.

    minimax: G minimises log(1 - D(G(z))) = log sigmoid(-l) = -softplus(l) (Goodfellow et al.
    2014, eq. 1). Its gradient -sigmoid(l) vanishes when D confidently rejects the fakes
    (l -> -inf), exactly early in training. nonsaturating: G minimises -log D(G(z)) =
    softplus(-l) instead, same fixed point, gradient -sigmoid(-l) -> -1 there (their sec. 3).
    WGAN and hinge: -mean(l) (Lim & Ye 2017 use the WGAN generator loss for hinge).
    """
    _check_kind(kind)
    fake = fake_logits.float()
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()  # = BCE-with-logits against ones
    if kind == "minimax":
        return -F.softplus(fake).mean()
    return -fake.mean()


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, *,
                     labels: torch.Tensor | None = None, generator: torch.Generator,
                     blocks: Sequence[int] | None = None) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] (Gulrajani et al. 2017, eq. 3), scalar float32.

    x_hat = eps * real + (1 - eps) * fake with eps ~ U[0, 1] per sample, drawn from the
    seeded `generator`; both ends are detached, so the penalty trains D only. create_graph
    keeps the gradient differentiable so that the penalty's own gradient reaches D's
    weights. Summing the logits before differentiating gives each sample its own gradient
    only because D treats samples independently (no BatchNorm, see nnlab.models.gan). The
    weight (lambda = 10 in the paper) is the caller's.

    With `blocks` (sizes that split each flattened sample, e.g. a calorimeter's layers), each
    block's gradient norm is held to 1 and the penalties summed: D is then 1-Lipschitz in
    every block, and cannot spend one shared budget on one block while it ignores the others.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    eps_shape = (len(real),) + (1,) * (real.dim() - 1)  # (B, 1, 1, 1): one mixing weight per sample
    eps = torch.rand(eps_shape, generator=generator, device=generator.device).to(real.device, real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)  # (B, 1, 28, 28)
    logits = discriminator(x_hat) if labels is None else discriminator(x_hat, labels)  # (B,)
    (grad,) = torch.autograd.grad(logits.float().sum(), x_hat, create_graph=True)  # (B, 1, 28, 28)
    grad = grad.float().flatten(1)  # (B, n_features)
    sizes = [grad.shape[1]] if blocks is None else list(blocks)  # no blocks: the whole sample is one
    norms = torch.stack([part.norm(dim=1) for part in torch.split(grad, sizes, dim=1)], dim=1)  # (B, n_blocks)
    return ((norms - 1.0) ** 2).sum(dim=1).mean()


def _check_kind(kind: str) -> None:
    if kind not in LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}: choose one of {', '.join(LOSSES)}")
