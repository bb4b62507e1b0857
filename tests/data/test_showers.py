"""Showers merged into one labelled set and split: every particle in every part, the rows kept together."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.data.showers import merge_showers, non_finite_rows, select_particle, split_showers, take_showers
from nnlab.errors import ConfigError


def _showers(n: int, energy: float) -> dict[str, np.ndarray]:
    return {"energy": np.full((n, 1), energy), "layer_0": np.zeros((n, 3, 96)), "truth/x": np.arange(n)}


def test_merged_showers_keep_their_particle_and_the_keys_asked_for():
    index, merged = merge_showers([_showers(3, 10.0), _showers(2, 50.0)], keys=("energy", "layer_0"))
    assert index.tolist() == [0, 0, 0, 1, 1] and list(merged) == ["energy", "layer_0"]
    assert merged["energy"][:, 0].tolist() == [10, 10, 10, 50, 50]
    assert "truth/x" in merge_showers([_showers(1, 1.0)])[1]  # without keys: all of the first's
    taken = take_showers(merged, index, np.array([4, 0]))
    assert taken["particle"].tolist() == [1, 0] and select_particle(taken, 1)["energy"][:, 0].tolist() == [50]


def test_the_split_holds_every_particle_in_every_part_and_refuses_to_leave_nothing_to_train():
    labels = np.repeat([0, 1], 50)
    parts = split_showers(labels, test=0.2, val=0.1, seed=0)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(100))
    assert [len(parts[k]) for k in ("train", "val", "test")] == [70, 10, 20]
    assert all(set(labels[parts[k]]) == {0, 1} for k in parts)
    with pytest.raises(ConfigError, match="leave showers to train on"):
        split_showers(labels, test=0.6, val=0.5, seed=0)


def test_non_finite_rows_finds_a_nan_anywhere_in_a_shower():
    showers = _showers(4, 1.0)
    showers["layer_0"][2, 1, 5] = np.nan
    assert non_finite_rows(showers).tolist() == [False, False, True, False]
