"""stratified_split: scikit-learn's sizes, every class in proportion in each part, seeded, one-line errors."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from nnlab.data.splits import hold_out, stratified_split, stratified_subset
from nnlab.errors import ConfigError

FLOWERS = np.repeat([0, 1, 2], 50)
SKEWED = np.repeat([0, 1, 2, 3], [5, 17, 40, 3])  # 65 items, classes far from balanced


@pytest.mark.parametrize("sizes", [{"test_size": 0.2}, {"test_size": 0.25}, {"test_size": 0.3}, {"test_size": 7},
                                   {"train_size": 0.33}, {"train_size": 12}, {"train_size": 0.5, "test_size": 0.3},
                                   {"train_size": 40, "test_size": 20}])
@pytest.mark.parametrize("labels", [FLOWERS, SKEWED], ids=["flowers", "skewed"])
def test_sizes_are_scikit_learns_and_every_class_gets_its_share(sizes, labels):
    n = len(labels)
    index = np.arange(n)
    train, test = stratified_split(index, labels=labels, seed=0, what="test", **sizes)
    sk_train, sk_test = train_test_split(index, stratify=labels, random_state=0, **sizes)
    assert (len(train), len(test)) == (len(sk_train), len(sk_test))
    assert len(np.intersect1d(train, test)) == 0
    counts = np.bincount(labels)
    for part in (train, test):
        share = np.bincount(labels[part], minlength=len(counts))
        assert share.min() >= 1
        assert np.all(np.abs(share - counts * len(part) / n) < 1)


def test_shares_of_random_class_sizes_are_within_one_item():
    rng = np.random.default_rng(5)
    for _ in range(200):
        counts = rng.integers(2, 40, rng.integers(2, 8))
        labels = rng.permutation(np.repeat(np.arange(len(counts)), counts))
        test_size = float(rng.uniform(0.1, 0.9))
        try:
            train, test = stratified_split(np.arange(len(labels)), labels=labels, seed=1, test_size=test_size,
                                           what="random")
        except ConfigError:
            continue  # a part too small for every class: its own test below
        assert len(train) + len(test) == len(labels) and len(test) == int(np.ceil(test_size * len(labels)))
        for part in (train, test):
            share = np.bincount(labels[part], minlength=len(counts))
            assert share.min() >= 1 and np.all(np.abs(share - counts * len(part) / len(labels)) <= 1)


def test_rows_of_every_array_stay_together_and_parts_are_shuffled():
    labels = np.repeat(np.array(["a", "b", "c"]), [30, 60, 90])  # sorted, any label type
    index = np.arange(len(labels))
    x_train, x_test, y_train, y_test, z_train, z_test = stratified_split(
        index, labels, np.stack([index, 2 * index], axis=1), labels=labels, test_size=0.2, seed=3, what="test")
    np.testing.assert_array_equal(labels[x_train], y_train)
    np.testing.assert_array_equal(labels[x_test], y_test)
    np.testing.assert_array_equal(z_train, np.stack([x_train, 2 * x_train], axis=1))
    np.testing.assert_array_equal(np.sort(np.concatenate([x_train, x_test])), index)
    assert {str(c): int(n) for c, n in zip(*np.unique(y_test, return_counts=True))} == {"a": 6, "b": 12, "c": 18}
    assert np.any(np.diff(x_train) < 0) and np.any(np.diff(x_test) < 0)
    assert np.any(y_train[:-1] > y_train[1:])  # not grouped by class


def test_the_seed_fixes_the_split():
    index = np.arange(len(FLOWERS))
    first, again, other = (stratified_split(index, labels=FLOWERS, test_size=0.2, seed=seed, what="test")
                           for seed in (4, 4, 5))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize(("labels", "sizes"), [
    (FLOWERS, {"test_size": 0.01}),  # 2 flowers cannot hold 3 species
    (FLOWERS, {"train_size": 2}),
    (FLOWERS, {"test_size": 0.0}),
    (FLOWERS, {"test_size": 1.0}),
    (FLOWERS, {"train_size": 100, "test_size": 60}),  # more than there are
    (np.r_[np.zeros(10, int), 1], {"test_size": 0.5}),  # a class of one cannot be in both parts
])
def test_parts_too_small_for_every_class_are_one_line_config_errors(labels, sizes):
    with pytest.raises(ConfigError) as error:
        stratified_split(np.arange(len(labels)), labels=labels, seed=0, what="data.test_fraction", **sizes)
    message = str(error.value)
    assert message.startswith("data.test_fraction: too few to split with every class in each part (")
    assert "\n" not in message


def test_a_subset_and_a_held_out_part_keep_every_class():
    x, y = np.arange(100), np.repeat(np.arange(4), 25)
    small_x, small_y = stratified_subset(x, y, n=20, seed=0)
    assert len(small_x) == 20 and np.bincount(small_y).tolist() == [5, 5, 5, 5]
    assert stratified_subset(x, y, n=0, seed=0)[0] is x  # 0: all of them
    (train_x, train_y), (val_x, val_y) = hold_out(x, y, fraction=0.2, seed=0)
    assert len(val_x) == 20 and set(val_y) == {0, 1, 2, 3} and not set(train_x) & set(val_x)
    (kept_x, _), none = hold_out(x, y, fraction=0.0, seed=0)
    assert kept_x is x and none is None
