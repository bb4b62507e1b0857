"""Inspection of a CNN: filters, feature maps and activation maximisation on seeded models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnlab.data.synthetic import make_shapes
from nnlab.evaluation.inspection import (
    activation_maximisation,
    feature_maps,
    first_layer_filters,
    target_activation,
    total_variation,
)
from nnlab.models.cnn import build_cnn


@pytest.fixture(scope="module")
def trained_state() -> dict:
    """Weights of `fast` after 20 Adam steps on 64 synthetic shapes: logits that depend on the image."""
    images, labels = make_shapes(64, seed=0)
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)  # (64, 1, 28, 28)
    model = _fresh()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(20):
        loss = F.cross_entropy(model(x), torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.state_dict()


@pytest.fixture
def model(trained_state) -> torch.nn.Module:
    model = _fresh()
    model.load_state_dict(trained_state)
    return model.train()


def _fresh() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_cnn("fast", n_classes=10)


def test_first_layer_filters_are_the_kernels(model):
    filters = first_layer_filters(model)
    assert filters.shape == (32, 3, 3)
    np.testing.assert_array_equal(filters, model.features.conv1.weight.detach()[:, 0].numpy())


def test_first_layer_filters_average_colour_channels():
    torch.manual_seed(0)
    model = build_cnn("lecture", n_classes=10, in_channels=3)
    expected = model.features.conv1.weight.detach().mean(dim=1).numpy()
    np.testing.assert_allclose(first_layer_filters(model), expected)


def test_feature_maps_follow_every_conv_and_keep_the_mode(model):
    maps = feature_maps(model, torch.rand(1, 1, 28, 28))
    assert [name for name, _ in maps] == [name for name, _ in model.conv_layers()]
    assert [m.shape for _, m in maps] == [(32, 28, 28), (64, 14, 14), (64, 14, 14), (128, 7, 7)]
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_feature_maps_use_eval_mode(model):
    x = torch.rand(1, 1, 28, 28)
    first = feature_maps(model, x)
    second = feature_maps(model, x)  # train-mode BatchNorm would normalise over the single image
    for (_, a), (_, b) in zip(first, second):
        np.testing.assert_array_equal(a, b)
    with torch.no_grad():
        expected = model.eval().features.conv1(x)[0].numpy()
    np.testing.assert_allclose(first[0][1], expected, rtol=1e-6, atol=1e-6)


def _value(model: torch.nn.Module, picture: np.ndarray, target) -> float:
    return target_activation(model, torch.from_numpy(picture).reshape(1, 1, 28, 28), target)


def test_activation_maximisation_raises_a_class_logit(model):
    start = activation_maximisation(model, target=3, seed=1, steps=0)
    image = activation_maximisation(model, target=3, seed=1, steps=60)
    assert image.shape == (28, 28) and image.min() >= 0.0 and image.max() <= 1.0
    random = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    assert _value(model, image, 3) > _value(model, start, 3) + 1.0
    assert _value(model, image, 3) > _value(model, random, 3) + 1.0


def test_activation_maximisation_raises_a_channel_far_above_random_images(model):
    target = ("features.conv3", 5)  # before BatchNorm: small, arbitrary scale, so no priors
    start = activation_maximisation(model, target=target, seed=1, steps=0)
    image = activation_maximisation(model, target=target, seed=1, steps=60, l2=0.0, tv=0.0)
    randoms = [_value(model, r, target) for r in np.random.default_rng(0).random((10, 28, 28), dtype=np.float32)]
    spread = np.std(randoms)
    assert _value(model, image, target) > _value(model, start, target) + 10 * spread
    assert _value(model, image, target) > max(randoms) + 10 * spread


def test_activation_maximisation_priors_smooth_the_image(model):
    plain = activation_maximisation(model, target=3, seed=1, steps=60, l2=0.0, tv=0.0)
    smooth = activation_maximisation(model, target=3, seed=1, steps=60)
    assert total_variation(torch.from_numpy(smooth)) < 0.5 * total_variation(torch.from_numpy(plain))


def test_activation_maximisation_is_seeded_and_leaves_the_model_alone(model):
    model.head.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = activation_maximisation(model, target=7, seed=3, steps=20)
    second = activation_maximisation(model, target=7, seed=3, steps=20)
    other = activation_maximisation(model, target=7, seed=4, steps=20)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert [p.requires_grad for p in model.parameters()] == flags
    assert model.training


def test_activation_maximisation_names_a_missing_layer(model):
    with pytest.raises(ValueError, match="features.conv1"):
        activation_maximisation(model, target=("features.nope", 0), seed=0, steps=1)
