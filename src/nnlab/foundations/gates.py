"""Logic gates as single logistic units, the lecture's XOR network, and a corrected two-unit XNOR/XOR.

Source: lecture "Introduction to Deep Learning with PyTorch", slides on logic gates:
OR = sigma(2 x1 + 2 x2 - 1), AND = sigma(2 x1 + 2 x2 - 3), and an XOR built from two units.
"""

from __future__ import annotations

import numpy as np

from nnlab.foundations.activations import sigmoid

# The four inputs (x1, x2) of a two-input gate, in truth-table order.
GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)

# (w1, w2, b) of the lecture's gates.
LECTURE_OR = (2.0, 2.0, -1.0)
LECTURE_AND = (2.0, 2.0, -3.0)


def logistic_unit(x: np.ndarray, w1: float, w2: float, b: float) -> np.ndarray:
    """One logistic unit sigma(w1 x1 + w2 x2 + b) on the rows of x (N, 2)."""
    x = np.asarray(x, dtype=float)
    return sigmoid(w1 * x[:, 0] + w2 * x[:, 1] + b)


def truth_table(outputs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Read unit outputs as booleans 0/1: 1 where output >= threshold (0.5 for a logistic unit)."""
    return (np.asarray(outputs) >= threshold).astype(int)


def lecture_xor_network(x: np.ndarray) -> np.ndarray:
    """The XOR network printed on the slide, sigma(2 x1 + 2 x2 - 1) + sigma(-2 x1 - 2 x2 + 1).

    Its two units have opposite arguments a and -a, and sigma(a) + sigma(-a) = 1, so this
    equals 1 at every input: it computes no gate at all. Kept to document the slide's error.
    """
    return logistic_unit(x, 2.0, 2.0, -1.0) + logistic_unit(x, -2.0, -2.0, 1.0)


def xnor_network(x: np.ndarray, *, gain: float = 5.0) -> np.ndarray:
    """XNOR ("both inputs the same") as AND + NOR: sigma(k(2x1+2x2-3)) + sigma(k(-2x1-2x2+1)).

    AND fires only at (1,1), NOR only at (0,0), so their sum is high exactly when the inputs
    agree. The gain k sharpens the units: at mixed inputs the sum is 2 sigma(-k), below 0.5
    only for k > ln 3 ~ 1.1, so the lecture's gain k = 1 gets (0,1) and (1,0) wrong.
    """
    return logistic_unit(x, 2.0 * gain, 2.0 * gain, -3.0 * gain) + logistic_unit(x, -2.0 * gain, -2.0 * gain, gain)


def xor_network(x: np.ndarray, *, gain: float = 5.0) -> np.ndarray:
    """XOR as the complement of `xnor_network`: 1 - (AND + NOR), high exactly when the inputs differ."""
    return 1.0 - xnor_network(x, gain=gain)
