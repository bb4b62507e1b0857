"""PyTorch's DCGAN example, re-implemented for 28x28 grey images: its shapes, initialisation and one seeded step."""

from __future__ import annotations

import pytest
import torch

from nnlab.models.peer_dcgan import BATCH_SIZE, LATENT_DIM, LR, PeerDCGAN, peer_discriminator, peer_generator


def test_the_generator_and_discriminator_have_the_example_layout_at_28x28():
    G, D = peer_generator(), peer_discriminator()
    z = torch.randn(5, LATENT_DIM, 1, 1)
    images = G(z)
    assert images.shape == (5, 1, 28, 28) and images.abs().max() <= 1
    p = D(images)
    assert p.shape == (5,) and torch.all((p > 0) & (p < 1))
    shapes = [tuple(m.weight.shape) for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert shapes == [(100, 256, 4, 4), (256, 128, 3, 3), (128, 64, 4, 4), (64, 1, 4, 4)]
    shapes = [tuple(m.weight.shape) for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert shapes == [(64, 1, 4, 4), (128, 64, 4, 4), (256, 128, 3, 3), (1, 256, 4, 4)]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules()) == 2  # none on D's first layer


def test_the_initialisation_is_the_examples_and_is_seeded():
    a, b = PeerDCGAN.create(seed=3), PeerDCGAN.create(seed=3)
    for p, q in zip(a.G.state_dict().values(), b.G.state_dict().values()):
        assert torch.equal(p, q)
    weights = torch.cat([m.weight.flatten() for m in a.G.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert weights.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    scales = torch.cat([m.weight for m in a.D.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01)


def test_one_seeded_step_moves_every_weight_by_adams_first_step_and_repeats_exactly():
    real = torch.rand(BATCH_SIZE, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    runs = []
    for _ in range(2):
        peer = PeerDCGAN.create(seed=1)
        before = {name: p.detach().clone() for name, p in [*peer.G.named_parameters(), *peer.D.named_parameters()]}
        losses = peer.step(real)
        after = dict([*peer.G.named_parameters(), *peer.D.named_parameters()])
        runs.append((losses, {name: after[name].detach().clone() for name in before}))
        # Adam's first step is lr * g / (|g| + eps): every weight with a gradient moves by lr (bias-corrected)
        for name, value in before.items():
            moved = (after[name] - value).abs()
            assert moved.max().item() == pytest.approx(LR, rel=1e-3), name
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][name], runs[1][1][name]) for name in runs[0][1])


def test_training_runs_for_its_wall_time_and_draws_seeded_samples():
    peer = PeerDCGAN.create(seed=0)
    trained = peer.train(torch.randint(0, 256, (100, 28, 28), dtype=torch.uint8), seconds=0.2, seed=0)
    assert trained["steps"] >= 1 and trained["seconds"] >= 0.2
    assert trained["epochs"] == pytest.approx(trained["steps"] / 2)  # 100 images: batches of 64 and 36
    first, again = peer.generate(70, seed=5), peer.generate(70, seed=5)
    assert first.shape == (70, 28, 28) and 0 <= first.min() and first.max() <= 1
    assert torch.equal(first, again)
