"""The ladder of slightly changed real images that a GAN's FID-CNN and KID-CNN are read against."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.evaluation.fid_cnn import LADDER, FeatureSpace, degradations, gaussian_blur, ladder
from nnlab.models.cnn import build_cnn
from nnlab.models.image_classifier import ImageClassifier


def test_each_step_changes_the_images_as_named():
    x = torch.rand(200, 28, 28, generator=torch.Generator().manual_seed(0))
    steps = degradations(seed=1)
    assert (steps["Gaussian noise, sigma 0.05"](x) - x).std().item() == pytest.approx(0.05, rel=0.02)
    assert (steps["Gaussian noise, sigma 0.02"](x) - x).std().item() == pytest.approx(0.02, rel=0.02)
    shifted = steps["shifted 1 px right"](x)
    assert torch.equal(shifted[:, :, 1:], x[:, :, :-1]) and torch.all(shifted[:, :, 0] == 0)
    assert torch.allclose(gaussian_blur(torch.full((1, 28, 28), 0.3), 0.5), torch.full((1, 28, 28), 0.3))
    blurred = gaussian_blur(torch.zeros(1, 9, 9).index_put_((torch.tensor([0]), torch.tensor([4]),
                                                              torch.tensor([4])), torch.tensor(1.0)), 0.5)
    g = np.exp(-np.arange(-2, 3) ** 2 / 0.5)  # the 5-tap kernel of sigma 0.5, normalised
    assert blurred[0, 4, 3:6].numpy() == pytest.approx(g[1:4] / g.sum() * g[2] / g.sum(), rel=1e-5)
    assert set(LADDER) <= set(steps)


def test_the_ladder_scores_each_step_and_more_noise_scores_worse():
    torch.manual_seed(0)
    network = build_cnn("fast", n_classes=10)
    space = FeatureSpace(ImageClassifier(network, 0.5, 0.25).eval(), "untrained", torch.device("cpu"), "32")
    rng = torch.Generator().manual_seed(2)
    real = torch.rand(200, 28, 28, generator=rng) ** 3  # dark, MNIST-like grey levels
    reference = space.embed(torch.rand(200, 28, 28, generator=rng) ** 3)[0]
    found = ladder(space, real, reference, seed=1)
    assert list(found) == list(LADDER)
    assert found["Gaussian noise, sigma 0.05"]["fid_cnn"] > found["Gaussian noise, sigma 0.02"]["fid_cnn"] > 0
    assert found["Gaussian noise, sigma 0.05"]["kid_cnn"] > found["Gaussian noise, sigma 0.02"]["kid_cnn"]
    assert all(step["kid_cnn_se"] > 0 for step in found.values())
