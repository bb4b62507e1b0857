"""The playground's 2-D point sets: seeded, labelled as their rule says, refused when asked for nonsense."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.errors import NnlabError
from nnlab.foundations.points import GATES, POINT_SETS, make_points


@pytest.mark.parametrize("name", POINT_SETS)
def test_every_set_is_seeded_balanced_enough_and_in_the_frame(name):
    x, labels = make_points(name, 400, noise=0.0, seed=3)
    again, same_labels = make_points(name, 400, noise=0.0, seed=3)
    assert x.shape == (400, 2) and np.array_equal(x, again) and np.array_equal(labels, same_labels)
    assert set(np.unique(labels)) == {0, 1} and 0.2 < labels.mean() < 0.8
    assert np.abs(x).max() <= 1.0


@pytest.mark.parametrize("gate", GATES)
def test_the_gates_follow_their_truth_tables(gate):
    x, labels = make_points(gate, 200, noise=0.0)
    bits = (x > 0).astype(int)  # corners at -0.5 and 0.5 stand for the inputs 0 and 1
    expected = {"and": bits[:, 0] & bits[:, 1], "or": bits[:, 0] | bits[:, 1], "xor": bits[:, 0] ^ bits[:, 1]}
    assert np.array_equal(labels, expected[gate])


def test_circles_put_class_0_inside_and_class_1_outside():
    x, labels = make_points("circles", 400, noise=0.0)
    radius = np.hypot(*x.T)
    assert radius[labels == 0].max() < radius[labels == 1].min()


def test_noise_moves_the_points_by_about_its_standard_deviation():
    clean, _ = make_points("moons", 2000, noise=0.0, seed=1)
    noisy, _ = make_points("moons", 2000, noise=0.2, seed=1)
    assert abs((noisy - clean).std() - 0.2) < 0.02


@pytest.mark.parametrize("name, n, noise", [("stars", 100, 0.1), ("xor", 3, 0.1), ("xor", 10_000, 0.1),
                                            ("xor", 100, -0.1)])
def test_nonsense_is_refused(name, n, noise):
    with pytest.raises(NnlabError):
        make_points(name, n, noise=noise)
