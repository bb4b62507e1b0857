"""The cell layout CaloGAN's networks pass showers in: the three layer images as one flat (B, 504) tensor."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nnlab.physics.geometry import LAYER_SHAPES

N_CELLS = tuple(h * w for h, w in LAYER_SHAPES)  # (288, 144, 72)
LOG_CELL_SCALE = 10.0  # log1p of the hottest cells (~20 GeV in MeV) is ~10: inputs of order 1


def flatten_layers(layers: Sequence[torch.Tensor]) -> torch.Tensor:
    """The three layer images as one (B, 504) tensor: D's input, and what the gradient penalty perturbs."""
    return torch.cat([image.flatten(1) for image in layers], dim=1)


def split_cells(cells: torch.Tensor) -> list[torch.Tensor]:
    """Inverse of `flatten_layers`: (B, 504) -> [(B, 3, 96), (B, 12, 12), (B, 12, 6)]."""
    chunks = torch.split(cells, N_CELLS, dim=1)
    return [chunk.reshape(len(cells), *shape) for chunk, shape in zip(chunks, LAYER_SHAPES)]


def cells_per_layer(cells: torch.Tensor) -> torch.Tensor:
    """(B, 504) cells -> (B, 3) layer energies, in the cells' unit."""
    return torch.stack([part.sum(dim=1) for part in torch.split(cells, N_CELLS, dim=1)], dim=1)
