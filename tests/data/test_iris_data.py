"""The Iris flowers shipped with nnlab are scikit-learn's (Fisher's 1936 values)."""

import numpy as np
from sklearn.datasets import load_iris as sklearn_load_iris

from nnlab.data.iris import CLASSES, FEATURES, load_iris, load_iris_splits


def test_the_150_flowers_equal_scikit_learns():
    x, y = load_iris()
    assert x.shape == (150, 4) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50, 50]
    reference = sklearn_load_iris()
    np.testing.assert_array_equal(x, reference.data.astype(np.float32))
    np.testing.assert_array_equal(y, reference.target)
    assert tuple(reference.feature_names) == FEATURES and tuple(reference.target_names) == CLASSES


def test_default_split_is_96_24_30_with_the_species_in_proportion():
    splits = load_iris_splits(test_fraction=0.2, val_fraction=0.2, seed=0)
    assert {name: np.bincount(part.y).tolist() for name, part in splits.items()} == {
        "train": [32, 32, 32], "val": [8, 8, 8], "test": [10, 10, 10]}
    rows, flowers = np.concatenate([part.x for part in splits.values()]), load_iris()[0]
    np.testing.assert_array_equal(rows[np.lexsort(rows.T)], flowers[np.lexsort(flowers.T)])  # every flower once
