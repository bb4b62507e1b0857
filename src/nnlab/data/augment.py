"""Random shifts, rotations and zooms of image batches (training augmentation), and pixels as floats in 0..1.

Each image draws its own amounts from a seeded generator, so a resumed run augments as it would have.
"""

from __future__ import annotations

import torch
from torch import nn


def random_shift(x: torch.Tensor, *, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image (B, H, W) by its own random (dy, dx) in [-max_shift, max_shift], zero-filled.

    One gather over a padded batch: no Python loop over images.
    """
    if max_shift <= 0:
        return x
    b, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4)  # (B, H + 2s, W + 2s)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, b), generator=generator).to(x.device)
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)  # (B, H)
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W)


def random_affine(x: torch.Tensor, *, max_shift: float, max_rotation: float, max_zoom: float,
                  generator: torch.Generator) -> torch.Tensor:
    """Rotate, scale and shift each image (B, H, W) by its own random amounts, zero-filled, bilinear.

    Rotation uniform in +-max_rotation degrees, scale in [1 - max_zoom, 1 + max_zoom], shift
    in +-max_shift pixels: one affine grid and one grid_sample for the whole batch. uint8
    images come back as float 0..1 (what `unit_pixels` makes of either).
    """
    b, h, w = x.shape
    u = torch.rand(4, b, generator=generator).to(x.device) * 2 - 1  # (4, B) uniform in [-1, 1]
    angle = torch.deg2rad(u[0] * max_rotation)
    scale = 1.0 + u[1] * max_zoom
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale  # output -> input: the inverse map
    shift_x, shift_y = -u[2] * max_shift * 2 / w, -u[3] * max_shift * 2 / h  # pixels in grid units
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)  # (B, 2, 3)
    grid = nn.functional.affine_grid(theta, [b, 1, h, w], align_corners=False)
    return nn.functional.grid_sample(unit_pixels(x)[:, None], grid, align_corners=False)[:, 0]  # (B, H, W)


def unit_pixels(x: torch.Tensor) -> torch.Tensor:
    """Images as float in 0..1, whether they come as uint8 0..255 or already as float 0..1."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()  # float() copied a uint8 tensor
