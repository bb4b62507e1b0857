"""Training augmentation: random shifts and affine maps, each image its own, seeded."""

from __future__ import annotations

import torch

from nnlab.data.augment import random_affine, random_shift


def test_random_shift_moves_each_image_by_its_own_offset():
    x = torch.zeros(64, 5, 5, dtype=torch.uint8)
    x[:, 2, 2] = 1
    shifted = random_shift(x, max_shift=2, generator=torch.Generator().manual_seed(0))
    positions = shifted.flatten(1).argmax(1)
    assert shifted.sum() == 64  # a centred pixel never falls off a 2-pixel shift
    assert len(set(positions.tolist())) > 10  # offsets differ between images
    edge = torch.zeros(1, 5, 5, dtype=torch.uint8)
    edge[0, 0, 0] = 1
    moved = [random_shift(edge, max_shift=1, generator=torch.Generator().manual_seed(s)).sum() for s in range(20)]
    assert min(moved) == 0 and max(moved) == 1  # zero-filled, not wrapped around


def test_random_affine_is_the_identity_at_zero_and_moves_each_image_its_own_way():
    x = torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8)
    same = random_affine(x, max_shift=0, max_rotation=0, max_zoom=0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(same, x.float() / 255)  # bilinear samples at the pixel centres themselves
    blob = torch.zeros(64, 28, 28)
    blob[:, 12:16, 12:16] = 1.0
    moved = random_affine(blob, max_shift=2, max_rotation=15, max_zoom=0.1,
                          generator=torch.Generator().manual_seed(0))
    again = random_affine(blob, max_shift=2, max_rotation=15, max_zoom=0.1,
                          generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(moved, again)  # seeded
    mass = moved.sum(dim=(1, 2))
    assert torch.all((mass > 16 * 0.8**2) & (mass < 16 * 1.2**2))  # area scales with zoom squared, nothing lost
    assert len({tuple(m.flatten().round(decimals=3).tolist()) for m in moved}) == 64  # each image its own transform
    assert moved.min() >= 0 and moved.max() <= 1
