"""Config: defaults < file < --set, type coercion, one-line errors, YAML round-trip."""

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from nnlab.config import TrainConfig, dump_yaml, from_dict, load_yaml, merge, parse_overrides, to_dict
from nnlab.errors import ConfigError
from nnlab.tasks.cnn import CNNConfig
from nnlab.tasks.iris import IrisConfig
from tests.conftest import assert_one_line_error


def test_overrides_are_coerced_to_field_types():
    config = merge(IrisConfig(), parse_overrides(["train.lr=0.5", "train.epochs=3",
                                                  "model.hidden_dims=8,4", "train.precision=bf16-mixed"]))
    assert config.train.lr == 0.5 and config.train.epochs == 3
    assert config.model.hidden_dims == (8, 4)
    assert config.train.precision == "bf16-mixed"
    assert config.data == IrisConfig().data  # untouched sections keep their defaults


@pytest.mark.parametrize("assignment, fragment", [
    ("train.lrr=1", "unknown config key 'train.lrr'"),
    ("train.epochs=1.5", "train.epochs: '1.5' is not a valid integer"),
    ("train.lr=abc", "train.lr: 'abc' is not a valid finite number"),
    ("train.lr=nan", "train.lr"),
    ("train.optimizer=adamx", "not one of adam, adamw, sgd, adadelta"),
    ("noequals", "--set expects key=value"),
    ("train=3", "expected a mapping"),
    ("train.lr=-1", "train.lr: -1.0 is not in (0, inf)"),  # each was a traceback inside torch or scikit-learn
    ("train.lr=0", "train.lr: 0.0 is not in (0, inf)"),
    ("train.betas=1.5,0.9", "train.betas: 1.5 is not in [0, 1)"),  # every element of a tuple
    ("train.label_smoothing=1.5", "train.label_smoothing: 1.5 is not in [0, 1)"),
    ("train.epochs=0", "train.epochs: 0 is not in [1, inf)"),
    ("data.test_fraction=1", "data.test_fraction: 1.0 is not in (0, 1)"),
    ("model.hidden_dims=8,0", "model.hidden_dims: 0 is not in [1, inf)"),
    ("model.dropout=-0.1", "model.dropout: -0.1 is not in [0, 1)"),
])
def test_bad_overrides_raise_one_line_config_errors(assignment, fragment):
    with pytest.raises(ConfigError) as error:
        merge(IrisConfig(), parse_overrides([assignment]))
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_a_range_admits_its_closed_ends_and_not_its_open_ones():
    assert merge(IrisConfig(), parse_overrides(["model.dropout=0"])).model.dropout == 0.0  # [0, 1)
    assert merge(IrisConfig(), parse_overrides(["model.dropout=0.999"])).model.dropout == 0.999
    with pytest.raises(ConfigError, match=r"model.dropout: 1.0 is not in \[0, 1\)"):
        merge(IrisConfig(), parse_overrides(["model.dropout=1"]))
    assert merge(CNNConfig(), parse_overrides(["data.max_rotation=180"])).data.max_rotation == 180.0  # [0, 180]
    with pytest.raises(ConfigError, match="data.max_rotation: 180.5 is not in"):
        merge(CNNConfig(), parse_overrides(["data.max_rotation=180.5"]))
    assert merge(CNNConfig(), parse_overrides(["model.dropout=none"])).model.dropout is None  # unset passes


def test_yaml_round_trip_restores_the_same_config(tmp_path):
    config = merge(IrisConfig(), parse_overrides(["model.hidden_dims=32,16", "train.scheduler=cosine"]))
    path = tmp_path / "config.yaml"
    path.write_text(dump_yaml(to_dict(config)))
    assert from_dict(IrisConfig, load_yaml(path)) == config


def test_file_then_set_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 0.2\n  epochs: 7\n")
    config = merge(merge(IrisConfig(), load_yaml(path)), parse_overrides(["train.lr=0.3"]))
    assert (config.train.lr, config.train.epochs) == (0.3, 7)


@pytest.mark.parametrize("text, fragment", [
    ("train: [1, 2", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
])
def test_malformed_yaml_is_a_config_error(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_yaml(path)


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)) + \
    "train: {betas: *i}\n"  # 9^9 = 387 million strings once expanded


@pytest.mark.parametrize("text, fragment", [
    (BILLION_LAUGHS, "aliases (*name) are not read"),
    ("train: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested deeper than 16"),
])
def test_hostile_yaml_is_refused_before_it_is_built(tmp_path, text, fragment, cli):
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        load_yaml(path)
    assert_one_line_error(cli("train", "iris", "--config", path, "--out", tmp_path), "not valid YAML", fragment)


def test_a_config_past_the_size_cap_or_endless_is_refused(tmp_path, cli):
    path = tmp_path / "huge.yaml"
    path.write_text("train:\n" + "  # padding\n" * 200_000)
    with pytest.raises(ConfigError, match="too large for a config file"):
        load_yaml(path)
    if Path("/dev/zero").exists():
        assert_one_line_error(cli("train", "iris", "--config", "/dev/zero", "--out", tmp_path), "/dev/zero")


def test_a_long_bad_value_is_shown_shortened(tmp_path):
    with pytest.raises(ConfigError) as caught:
        merge(TrainConfig(), {"lr": "x" * 10_000})
    assert len(str(caught.value)) < 200


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_yaml("/nonexistent/config.yaml")


@given(lr=st.floats(min_value=1e-8, max_value=10, allow_nan=False), epochs=st.integers(1, 10_000),
       dims=st.lists(st.integers(1, 512), min_size=1, max_size=4))
def test_set_strings_round_trip_any_valid_value(lr, epochs, dims):
    config = merge(IrisConfig(), parse_overrides(
        [f"train.lr={lr!r}", f"train.epochs={epochs}", "model.hidden_dims=" + ",".join(map(str, dims))]))
    assert config.train.lr == lr and config.train.epochs == epochs and config.model.hidden_dims == tuple(dims)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lr = 1.0  # type: ignore[misc]
