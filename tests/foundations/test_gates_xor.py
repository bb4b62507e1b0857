"""The lecture's gates, its XOR slide and its correction, and why one logistic unit cannot do XOR."""

import itertools

import numpy as np
import pytest

from nnlab.foundations import gates, xor
from nnlab.foundations.network import predict

X = gates.GATE_INPUTS  # rows 00, 01, 10, 11


def test_lecture_or_and_and_units_reproduce_their_truth_tables():
    # Lecture slides: OR = sigma(2 x1 + 2 x2 - 1), AND = sigma(2 x1 + 2 x2 - 3), threshold 0.5.
    np.testing.assert_array_equal(gates.truth_table(gates.logistic_unit(X, *gates.LECTURE_OR)), [0, 1, 1, 1])
    np.testing.assert_array_equal(gates.truth_table(gates.logistic_unit(X, *gates.LECTURE_AND)), [0, 0, 0, 1])


def test_lecture_xor_slide_is_identically_one():
    # sigma(a) + sigma(-a) = 1 for every a, and the slide's two units have arguments a and -a.
    np.testing.assert_allclose(gates.lecture_xor_network(X), 1.0, rtol=1e-15)
    anywhere = np.random.default_rng(0).normal(0, 5, (100, 2))
    np.testing.assert_allclose(gates.lecture_xor_network(anywhere), 1.0, rtol=1e-15)


def test_corrected_network_gives_exact_xnor_and_xor_truth_tables():
    np.testing.assert_array_equal(gates.truth_table(gates.xnor_network(X)), [1, 0, 0, 1])
    np.testing.assert_array_equal(gates.truth_table(gates.xor_network(X)), [0, 1, 1, 0])
    np.testing.assert_allclose(gates.xor_network(X) + gates.xnor_network(X), 1.0)


def test_corrected_network_needs_gain_above_ln3():
    # At mixed inputs AND + NOR = 2 sigma(-k): below 0.5 exactly when k > ln 3.
    k = np.log(3.0)
    mixed = X[1:3]
    assert np.all(gates.xnor_network(mixed, gain=k * 1.01) < 0.5)
    assert np.all(gates.xnor_network(mixed, gain=k * 0.99) > 0.5)
    np.testing.assert_array_equal(gates.truth_table(gates.xnor_network(X, gain=1.0)), [1, 1, 1, 1])


def test_farkas_certificate_proves_no_unit_computes_xor():
    lam = xor.farkas_certificate(xor.XOR_LABELS)
    assert lam is not None and np.all(lam > 0)
    signs = np.where(xor.XOR_LABELS == 1, 1.0, -1.0)
    # sum_i lambda_i s_i (x_i, 1) = 0, so sum_i lambda_i s_i (w . x_i + b) = 0 for every (w, b) ...
    np.testing.assert_allclose(lam @ (signs[:, None] * np.column_stack([X, np.ones(4)])), 0.0, atol=1e-15)
    # ... while a unit computing XOR would make every term >= 0 and the label-0 terms > 0.
    wb = np.random.default_rng(1).normal(0, 10, (20_000, 3))
    scores = (X @ wb[:, :2].T + wb[:, 2]).T  # (M, 4)
    np.testing.assert_allclose(scores @ (lam * signs), 0.0, atol=1e-9)
    assert not np.any(np.all(xor.unit_labels(wb[:, :2], wb[:, 2]) == xor.XOR_LABELS, axis=1))


def test_exactly_xor_and_xnor_are_out_of_reach_of_one_unit():
    all_labelings = set(itertools.product([0, 1], repeat=4))
    realizable = xor.realizable_labelings()
    assert all_labelings - realizable == {(0, 1, 1, 0), (1, 0, 0, 1)}
    for labels in all_labelings:
        has_certificate = xor.farkas_certificate(np.array(labels)) is not None
        assert has_certificate == (labels not in realizable)


def test_one_unit_gets_at_most_three_of_four_xor_points():
    assert xor.max_correct_single_unit() == 3
    # OR attains 3 of 4 (wrong only at (1, 1)), so the bound is tight.
    or_labels = gates.truth_table(gates.logistic_unit(X, *gates.LECTURE_OR))
    assert np.sum(or_labels == xor.XOR_LABELS) == 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_hidden_sigmoid_units_learn_xor_by_backprop(seed):
    params = xor.train_xor_network(seed=seed)
    assert [w.shape for w, _ in params] == [(2, 2), (2, 2)]
    np.testing.assert_array_equal(predict(params, X), xor.XOR_LABELS)
