"""The block both CaloGAN networks stack: Linear and LeakyReLU layers, with no normalisation across the batch."""

from __future__ import annotations

from torch import nn

LEAKY_SLOPE = 0.2


def mlp(in_dim: int, width: int, n_hidden: int = 2) -> nn.Sequential:
    """`n_hidden` Linear + LeakyReLU layers, all `width` wide: the streams of G and D."""
    layers: list[nn.Module] = []
    for fan_in in [in_dim] + [width] * (n_hidden - 1):
        layers += [nn.Linear(fan_in, width), nn.LeakyReLU(LEAKY_SLOPE)]
    return nn.Sequential(*layers)
