"""Latent search with a tiny generator whose targets G(z_true) have a perfect fit: recovery, in-painting, PSNR."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nnlab.evaluation.latent_search import (denoise, hole_masks, inpaint, interpolate, psnr, search_latent,
                                            strongest_directions)
from nnlab.models.gan import Generator, build_gan

LATENT_DIM = 4
FAST = {"steps": 150, "lr": 0.05, "n_restarts": 3}


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: thread hand-offs cost more than they save


@pytest.fixture
def G() -> Generator:
    torch.manual_seed(0)  # PyTorch's default init: varied images, unlike a fresh GAN's N(0, 0.02)
    body = nn.Sequential(nn.Linear(LATENT_DIM, 32), nn.Tanh(), nn.Linear(32, 28 * 28), nn.Tanh(),
                         nn.Unflatten(1, (1, 28, 28)))
    return Generator(body, latent_dim=LATENT_DIM)


def _targets(G: Generator, n: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    z_true = torch.randn(n, LATENT_DIM, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return z_true, G(z_true)


def _half_mask(n: int) -> torch.Tensor:
    mask = torch.zeros(n, 1, 28, 28)
    mask[..., :14, :] = 1  # the top half observed, the bottom half to fill in
    return mask


def _masked_error(G: Generator, z: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return ((mask * (G(z) - target)) ** 2).flatten(1).sum(1) / mask.flatten(1).sum(1)  # (B,)


def test_search_recovers_a_fit_far_better_than_zero_or_random_latents(G):
    _, target = _targets(G)
    mask = _half_mask(3)
    z = search_latent(G, target, mask, seed=0, **FAST)
    assert z.shape == (3, LATENT_DIM)
    fitted = _masked_error(G, z, target, mask)
    at_zero = _masked_error(G, torch.zeros(3, LATENT_DIM), target, mask)
    at_random = _masked_error(G, torch.randn(3, LATENT_DIM, generator=torch.Generator().manual_seed(2)), target, mask)
    assert torch.all(fitted < 0.01 * at_zero) and torch.all(fitted < 0.01 * at_random)


def test_search_is_seeded_and_leaves_the_generator_as_it_was(G):
    _, target = _targets(G, 2)
    G.train()
    G.body[0].weight.requires_grad_(False)  # a flag the search must restore, not reset
    before = {k: v.clone() for k, v in G.state_dict().items()}
    flags = [p.requires_grad for p in G.parameters()]
    z1 = search_latent(G, target, _half_mask(2), seed=5, steps=20, n_restarts=2)
    z2 = search_latent(G, target, _half_mask(2), seed=5, steps=20, n_restarts=2)
    assert torch.equal(z1, z2)
    assert G.training and [p.requires_grad for p in G.parameters()] == flags
    assert all(p.grad is None for p in G.parameters())
    for key, value in G.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_inpaint_keeps_observed_pixels_and_fills_the_hole_from_the_fit(G):
    _, target = _targets(G)
    mask = _half_mask(3)
    damaged = torch.where(mask.bool(), target, torch.ones_like(target))  # white hole
    filled = inpaint(G, damaged, mask, seed=0, **FAST)
    assert torch.equal(filled[mask.bool()], damaged[mask.bool()])  # observed pixels verbatim
    hole = ~mask.bool()
    assert (filled - target)[hole].abs().mean() < 0.1 * (damaged - target)[hole].abs().mean()


def test_denoise_projects_onto_the_generator_and_stays_in_range(G):
    _, clean = _targets(G)
    noisy = clean + 0.3 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(3))
    restored = denoise(G, noisy, seed=0, **FAST)
    assert restored.shape == clean.shape and restored.min() >= -1 and restored.max() <= 1
    assert torch.all(psnr(restored, clean) > psnr(noisy, clean) + 10)


def test_psnr_golden_values():
    # a constant error e everywhere: MSE = e^2, PSNR = 10 log10(range^2 / e^2) = 20 log10(2 / 0.1) dB
    a = torch.zeros(2, 1, 28, 28)
    values = psnr(a, a + 0.1)
    torch.testing.assert_close(values, torch.full((2,), 20 * math.log10(20.0), dtype=torch.float64))
    assert psnr(a, a + 0.1, data_range=1.0)[0].item() == pytest.approx(20.0)
    assert psnr(a, a)[0].item() == math.inf


def test_interpolate_hits_both_ends_and_slerp_keeps_the_norm(G):
    z0, z1 = torch.randn(2, LATENT_DIM, generator=torch.Generator().manual_seed(4))
    for spherical in (True, False):
        path = interpolate(G, z0, z1, n_steps=5, spherical=spherical)
        assert path.shape == (5, 1, 28, 28)
        with torch.no_grad():
            torch.testing.assert_close(path[[0, -1]], G(torch.stack([z0, z1])))
    unit0, unit1 = z0 / z0.norm(), z1 / z1.norm()
    midpoint_images = interpolate(G, unit0, unit1, n_steps=3)[1]
    with torch.no_grad():  # slerp between unit vectors: the midpoint is the normalised sum, on the sphere
        torch.testing.assert_close(midpoint_images, G(((unit0 + unit1) / (unit0 + unit1).norm())[None])[0])


def test_interpolate_and_search_pass_labels_to_a_conditional_generator():
    G, _ = build_gan("mlp", latent_dim=3, n_classes=4, generator=torch.Generator().manual_seed(0))
    z0, z1 = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    assert interpolate(G, z0, z1, n_steps=4, labels=2).shape == (4, 1, 28, 28)
    target = torch.zeros(2, 1, 28, 28)
    z = search_latent(G, target, torch.ones_like(target), labels=torch.tensor([0, 3]), seed=0, steps=3, n_restarts=2)
    assert z.shape == (2, 3)


def test_bad_masks_are_rejected(G):
    target = torch.zeros(1, 1, 28, 28)
    with pytest.raises(ValueError, match="only 0"):
        search_latent(G, target, torch.full_like(target, 0.5), seed=0)
    with pytest.raises(ValueError, match="both be"):
        search_latent(G, target, torch.ones(1, 28, 28), seed=0)


def test_hole_masks_cut_one_square_of_the_requested_size():
    masks = hole_masks(50, torch.Size([28, 28]), hole=10, generator=torch.Generator().manual_seed(0))
    assert masks.shape == (50, 1, 28, 28)
    assert ((1 - masks).flatten(1).sum(1) == 100).all()


class LinearGenerator(nn.Module):
    """G(z) = A z as a 1x4x4 image: its Jacobian is A everywhere, so the strongest directions are known."""

    def __init__(self, a: torch.Tensor):
        super().__init__()
        self.a = nn.Parameter(a)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return (z @ self.a.T).reshape(len(z), 1, 4, 4)


def test_the_strongest_directions_are_the_jacobians_top_right_singular_vectors():
    torch.manual_seed(0)
    a = torch.randn(16, 6, dtype=torch.float64)
    found = strongest_directions(LinearGenerator(a), torch.randn(6, dtype=torch.float64), k=3)
    _, singular, expected = torch.linalg.svd(a, full_matrices=False)
    assert found.shape == (3, 6) and singular[0] > singular[1] > singular[2]
    for got, want in zip(found, expected[:3]):  # each up to its sign
        assert torch.allclose(got.abs(), want.abs(), atol=1e-6) and abs(float(got @ want)) == pytest.approx(1.0)
    # a unit step along the first moves the image by the largest singular value, the most any unit step can
    with torch.no_grad():
        step = LinearGenerator(a)(found[:1]).flatten().norm()
    assert float(step) == pytest.approx(float(singular[0]), rel=1e-6)
