"""Feed-forward network of any depth with hand-written forward and backward passes (backpropagation).

Source: lecture "Introduction to Deep Learning with PyTorch", multilayer perceptron and
backpropagation. Hidden layers use sigmoid, tanh or ReLU; the output is a softmax trained
with cross-entropy. Everything is vectorised over the batch; rows are samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnlab.errors import NnlabError
from nnlab.foundations.activations import cross_entropy, get_activation, softmax

Params = list[tuple[np.ndarray, np.ndarray]]  # per layer: W (n_in, n_out), b (n_out,)


@dataclass(frozen=True)
class ForwardCache:
    """What backward needs: the input to every layer, every pre-activation z, and the output logits."""

    inputs: list[np.ndarray]
    pre_activations: list[np.ndarray]
    logits: np.ndarray


def init_params(layer_sizes: list[int], *, rng: np.random.Generator, scale: float | None = None) -> Params:
    """Random weights N(0, scale^2) (default 1/sqrt(n_in)) and small random biases for each layer.

    Random, non-zero values break the symmetry between hidden units (equal units would
    receive equal gradients forever) and make gradient tests meaningful.
    """
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise NnlabError(f"layer_sizes needs at least an input and an output size >= 1, got {layer_sizes}")
    params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        std = 1.0 / np.sqrt(n_in) if scale is None else scale
        params.append((rng.normal(0.0, std, (n_in, n_out)), rng.normal(0.0, 0.1, n_out)))
    return params


def forward(params: Params, x: np.ndarray, *, activation: str = "sigmoid") -> ForwardCache:
    """Run the network on x (B, n_in): z_l = a_{l-1} W_l + b_l, a_l = phi(z_l); the last z is the logits."""
    phi, _ = get_activation(activation)
    a = np.asarray(x, dtype=float)
    inputs, zs = [], []
    for i, (w, b) in enumerate(params):
        inputs.append(a)
        z = a @ w + b  # (B, n_out)
        zs.append(z)
        a = phi(z) if i < len(params) - 1 else z
    return ForwardCache(inputs, zs, zs[-1])


def backward(params: Params, cache: ForwardCache, labels: np.ndarray, *, activation: str = "sigmoid") -> Params:
    """Gradients (dW, db) of the mean cross-entropy for every layer, by backpropagation.

    Output: dL/dz_L = (softmax(z_L) - onehot(labels)) / B. Each layer: dW = a_{l-1}^T delta,
    db = sum_batch delta, and delta_{l-1} = (delta W_l^T) * phi'(z_{l-1}).
    """
    _, dphi = get_activation(activation)
    n = len(labels)
    delta = softmax(cache.logits)
    delta[np.arange(n), labels] -= 1.0
    delta /= n  # (B, n_out)
    grads: Params = []
    for i in range(len(params) - 1, -1, -1):
        grads.append((cache.inputs[i].T @ delta, delta.sum(axis=0)))
        if i > 0:
            delta = (delta @ params[i][0].T) * dphi(cache.pre_activations[i - 1])
    return grads[::-1]


def loss_and_gradients(
    params: Params, x: np.ndarray, labels: np.ndarray, *, activation: str = "sigmoid"
) -> tuple[float, Params]:
    """Mean cross-entropy of the network on (x, integer labels) and its gradients for every layer."""
    labels = np.asarray(labels, dtype=int)
    cache = forward(params, x, activation=activation)
    return cross_entropy(cache.logits, labels), backward(params, cache, labels, activation=activation)


def predict(params: Params, x: np.ndarray, *, activation: str = "sigmoid") -> np.ndarray:
    """Most probable class (argmax of the logits) for each row of x."""
    return np.argmax(forward(params, x, activation=activation).logits, axis=1)


def train(
    params: Params,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    activation: str = "sigmoid",
    learning_rate: float = 0.5,
    n_epochs: int = 1000,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[Params, np.ndarray]:
    """Plain (minibatch) gradient descent; returns the new parameters and the full-batch loss per epoch.

    batch_size None means full batch. Minibatches are reshuffled each epoch with `rng`,
    which is required then so that every run is reproducible.
    """
    if batch_size is not None and rng is None:
        raise NnlabError("minibatch training needs a random generator (rng) for the shuffling")
    labels = np.asarray(labels, dtype=int)
    params = [(w.copy(), b.copy()) for w, b in params]
    losses = np.empty(n_epochs)
    for epoch in range(n_epochs):
        order = np.arange(len(x)) if batch_size is None else rng.permutation(len(x))
        step = len(x) if batch_size is None else batch_size
        for start in range(0, len(x), step):
            idx = order[start : start + step]
            _, grads = loss_and_gradients(params, x[idx], labels[idx], activation=activation)
            params = [(w - learning_rate * gw, b - learning_rate * gb) for (w, b), (gw, gb) in zip(params, grads)]
        losses[epoch] = cross_entropy(forward(params, x, activation=activation).logits, labels)
    return params, losses
