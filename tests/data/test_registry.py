"""The data-set registry: one entry is all a new image data set needs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.data import registry
from nnlab.data.images import ImageData
from nnlab.data.synthetic import make_shapes
from tests.conftest import assert_one_line_error


def stripes(where: registry.Where) -> ImageData:
    """The first three classes of the synthetic shapes, under a name nnlab did not know."""
    rng = np.random.default_rng(where.seed)
    (x_train, y_train), (x_test, y_test) = make_shapes(300, seed=rng), make_shapes(60, seed=rng)
    keep_train, keep_test = y_train < 3, y_test < 3
    return ImageData(x_train[keep_train], y_train[keep_train], x_test[keep_test], y_test[keep_test],
                     ("ring", "vertical bar", "horizontal bar"), "stripes", "generated for a test")


@pytest.fixture
def with_stripes(monkeypatch):
    entry = registry.DataSet("stripes", "three shapes, for a test", load=stripes,
                             find=lambda where: ("ready", "generated for a test"))
    monkeypatch.setitem(registry.DATASETS, "stripes", entry)
    return entry


def test_one_entry_is_a_data_set_to_train_on_list_and_score_by(cli, tmp_path, with_stripes):
    trained = cli("train", "cnn", "--data", "stripes", "--epochs", "1", "--set", "train.precision=32",
                  "--out", tmp_path)
    assert trained.code == 0, trained.err
    (run,) = (tmp_path / "cnn").iterdir()
    report = json.loads((run / "report.json").read_text())
    assert report["test"]["n"] == int((stripes(registry.Where([])).test_labels < 3).sum())
    assert "stripes" in registry.describe_sources() and "stripes" in registry.dataset_names()
    listed = cli("data", "list")
    assert listed.code == 0 and any(line.split()[:2] == ["stripes", "ready"] for line in listed.out.splitlines())


def test_an_unknown_name_lists_every_registered_one(cli, with_stripes):
    assert_one_line_error(cli("train", "cnn", "--data", "stripe"), "unknown data set 'stripe'", "stripes")


def test_download_offers_the_data_sets_that_can_be_downloaded():
    assert [name for name, entry in registry.DATASETS.items() if entry.download] == ["mnist"]
