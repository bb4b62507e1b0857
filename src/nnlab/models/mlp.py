"""Feed-forward networks (lecture: "feed-forward nets", "basic usage of PyTorch" on Iris)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}


class Standardize(nn.Module):
    """(x - mean) / std with the training set's statistics stored as buffers.

    Keeping them in the model means `predict` takes raw measurements, and the saved weights
    carry everything needed to reproduce the preprocessing.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).clone())
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-8).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MLP(nn.Module):
    """Linear layers with an activation (and optional dropout) between them; raw logits out."""

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], out_dim: int, *,
                 activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        widths = [in_dim, *hidden_dims]
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(widths[-1], out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (B, out_dim)
