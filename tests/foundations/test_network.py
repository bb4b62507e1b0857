"""Hand-written backpropagation against torch.autograd in float64; the simple trainer."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlab.errors import NnlabError
from nnlab.foundations import network

TORCH_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _random_problem(seed: int, activation: str):
    """Random depth (1-4 layers), widths, batch and classes; weights N(0, 1) so no unit is trivial."""
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(1, 7, rng.integers(2, 6))]
    sizes[-1] = int(rng.integers(2, 6))  # at least two classes
    params = network.init_params(sizes, rng=rng, scale=1.0)
    params = [(w, b + rng.normal(0, 1, b.shape)) for w, b in params]
    batch = int(rng.integers(1, 8))
    x = rng.normal(0, 2, (batch, sizes[0]))
    return params, x, rng.integers(0, sizes[-1], batch)


def _torch_loss_and_grads(params, x, labels, activation):
    tensors = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in params]
    a = torch.tensor(x)
    for i, (w, b) in enumerate(tensors):
        a = a @ w + b
        if i < len(tensors) - 1:
            a = TORCH_ACTIVATIONS[activation](a)
    loss = torch.nn.functional.cross_entropy(a, torch.tensor(labels))
    loss.backward()
    return loss.item(), [(w.grad.numpy(), b.grad.numpy()) for w, b in tensors]


def _assert_close_relative(ours: np.ndarray, theirs: np.ndarray, rel: float = 1e-8) -> None:
    """|ours - theirs| <= rel * max|theirs| elementwise (relative to the array's scale)."""
    scale = max(np.max(np.abs(theirs)), 1e-300)
    assert np.max(np.abs(ours - theirs)) <= rel * scale


def _check_against_torch(seed: int, activation: str) -> None:
    params, x, labels = _random_problem(seed, activation)
    loss, grads = network.loss_and_gradients(params, x, labels, activation=activation)
    t_loss, t_grads = _torch_loss_and_grads(params, x, labels, activation)
    assert loss == pytest.approx(t_loss, rel=1e-12)
    for (gw, gb), (tw, tb) in zip(grads, t_grads, strict=True):
        _assert_close_relative(gw, tw)
        _assert_close_relative(gb, tb)


@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
@pytest.mark.parametrize("seed", range(12))
def test_backprop_matches_autograd_seeded_sweep(activation, seed):
    _check_against_torch(seed, activation)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), activation=st.sampled_from(list(TORCH_ACTIVATIONS)))
def test_backprop_matches_autograd_hypothesis(seed, activation):
    _check_against_torch(seed, activation)


def test_gradients_are_not_trivially_zero():
    params, x, labels = _random_problem(3, "tanh")
    _, grads = network.loss_and_gradients(params, x, labels, activation="tanh")
    assert all(np.max(np.abs(gw)) > 1e-4 for gw, _ in grads)


def _blobs(rng: np.random.Generator, n_per_class: int = 40):
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = np.vstack([c + rng.normal(0, 0.7, (n_per_class, 2)) for c in centres])
    return x, np.repeat(np.arange(3), n_per_class)


@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
@pytest.mark.parametrize("batch_size", [None, 16])
def test_train_fits_three_blobs(activation, batch_size):
    rng = np.random.default_rng(0)
    x, labels = _blobs(rng)
    params = network.init_params([2, 8, 3], rng=rng)
    before = [w.copy() for w, _ in params]
    trained, losses = network.train(
        params, x, labels, activation=activation, learning_rate=0.5, n_epochs=100, batch_size=batch_size, rng=rng
    )
    assert losses[-1] < 0.25 * losses[0]
    assert np.mean(network.predict(trained, x, activation=activation) == labels) > 0.95
    for w, w_before in zip((w for w, _ in params), before):
        np.testing.assert_array_equal(w, w_before)  # train returns new arrays, the caller's stay untouched


def test_minibatch_training_is_reproducible_and_needs_a_generator():
    x, labels = _blobs(np.random.default_rng(1))
    params = network.init_params([2, 4, 3], rng=np.random.default_rng(2))
    runs = [
        network.train(params, x, labels, n_epochs=5, batch_size=8, rng=np.random.default_rng(7))[1] for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    with pytest.raises(NnlabError, match="rng"):
        network.train(params, x, labels, n_epochs=1, batch_size=8)


def test_bad_layer_sizes_are_user_errors():
    with pytest.raises(NnlabError):
        network.init_params([3], rng=np.random.default_rng(0))
