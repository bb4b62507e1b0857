"""Activation functions and their derivatives: logistic sigmoid, tanh, ReLU, softmax.

Source: lecture "Introduction to Deep Learning with PyTorch", sections on the logistic
function and on the softmax output layer. All functions are NumPy only and overflow-free.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnlab.errors import NnlabError

Activation = Callable[[np.ndarray], np.ndarray]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function sigma(z) = 1 / (1 + exp(-z)), stable for any float input.

    exp is only ever taken of -|z| <= 0, so it cannot overflow at z = -1000 (the naive
    formula computes exp(1000) = inf there and warns).
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))  # in (0, 1]
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z: np.ndarray) -> np.ndarray:
    """Derivative sigma'(z) = sigma(z) (1 - sigma(z)) = sigma(z) sigma(-z), used by backpropagation.

    The product form sigma(z) sigma(-z) avoids cancellation in 1 - sigma(z) for large z.
    """
    return sigmoid(z) * sigmoid(-np.asarray(z, dtype=float))


def tanh_derivative(z: np.ndarray) -> np.ndarray:
    """Derivative of tanh: 1 - tanh(z)^2."""
    return 1.0 - np.tanh(z) ** 2


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit max(z, 0)."""
    return np.maximum(z, 0.0)


def relu_derivative(z: np.ndarray) -> np.ndarray:
    """Derivative of ReLU: 1 where z > 0, else 0 (the value 0 at z = 0 matches PyTorch)."""
    return (np.asarray(z) > 0).astype(float)


ACTIVATIONS: dict[str, tuple[Activation, Activation]] = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (np.tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
}


def get_activation(name: str) -> tuple[Activation, Activation]:
    """Return (function, derivative) for a hidden-layer activation name; unknown names raise NnlabError."""
    if name not in ACTIVATIONS:
        raise NnlabError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def log_softmax(y: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax: y_k - log sum_i exp(y_i), computed after subtracting max(y) so exp never overflows."""
    y = np.asarray(y, dtype=float)
    shifted = y - np.max(y, axis=axis, keepdims=True)  # largest entry is 0
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax p_k = exp(y_k) / sum_i exp(y_i), stable for large logits (max subtracted first).

    The usual sign: the largest logit gets the largest probability, as in every library.
    The lecture slide prints exp(-y_k), which only flips the sign of the logits.
    """
    y = np.asarray(y, dtype=float)
    e = np.exp(y - np.max(y, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy -log p_{label} of softmax(logits) (B, K) against integer labels (B,)."""
    logp = log_softmax(logits, axis=-1)
    return float(-np.mean(logp[np.arange(len(labels)), labels]))
