"""The cnn task's network: pixel standardisation in front of one of the CNN architectures."""

from __future__ import annotations

import torch
from torch import nn

from nnlab.models.mlp import Standardize


class ImageClassifier(nn.Module):
    """Pixel standardisation + a CNN; with frozen features, their BatchNorm statistics stay frozen too."""

    def __init__(self, network: nn.Module, mean: float, std: float, *, freeze_features: bool = False):
        super().__init__()
        self.standardize = Standardize(torch.tensor(mean), torch.tensor(std))
        self.network = network
        self.freeze_features = freeze_features
        if freeze_features:
            self.network.features.requires_grad_(False)

    def train(self, mode: bool = True) -> ImageClassifier:
        super().train(mode)
        if self.freeze_features:
            self.network.features.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(self.standardize(x))  # (B, n_classes)

    def conv_layers(self) -> list[tuple[str, nn.Conv2d]]:
        return self.network.conv_layers()
