"""The photon-or-hadron network: a small CNN per calorimeter layer plus the layer energies.

The three CaloGAN layers have different shapes (3x96, 12x12, 12x6), so each gets its own
convolutional stream; their pooled features meet the log layer energies in an MLP.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class LayerStream(nn.Module):
    """Two 3x3 convolutions and global pooling over one layer image (B, 1, H, W) -> (B, 2 * width)."""

    def __init__(self, width: int):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.convs(image)  # (B, width, H, W)
        return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)  # (B, 2 width)


class CaloClassifier(nn.Module):
    """Class logits from the three layer images (log-scaled energies) and the log layer energies."""

    def __init__(self, *, n_classes: int, n_layers: int = 3, width: int = 16, hidden_dims: Sequence[int] = (64,)):
        super().__init__()
        self.streams = nn.ModuleList(LayerStream(width) for _ in range(n_layers))
        layers: list[nn.Module] = []
        for dim in hidden_dims:
            layers += [nn.LazyLinear(dim), nn.ReLU()]
        self.head = nn.Sequential(*layers, nn.LazyLinear(n_classes))

    def forward(self, images: Sequence[torch.Tensor], energies: torch.Tensor) -> torch.Tensor:
        features = [stream(image.unsqueeze(1)) for stream, image in zip(self.streams, images)]
        return self.head(torch.cat([*features, energies], dim=1))  # (B, n_classes)
