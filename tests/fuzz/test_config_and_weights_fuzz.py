"""Hostile configs and safetensors: any text as a --config, any bytes as a run's weights.

Each is read as a valid config or weights, or refused in one line with exit 2: never a traceback,
never an alias expanded, never a tensor mapped past the file.
"""

from __future__ import annotations

import json
import shutil
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# pieces of YAML that broke readers: aliases, tags, deep nesting, odd scalars, keys of other types
YAML_PIECES = ["train:", "  lr: ", "&a [1, 2]", "*a", "!!python/object:os.system", "[" * 40, "]" * 40, "{",
               "? [1]\n: 2", "epochs: 1e400", "batch_size: .nan", "\t", "- ", "model: {widths: [3, -1]}",
               "task: gan", "task: [iris]", "data: 5", "\x00", "\ufeff", "train: {lr: 1e-3, lr: 2}", "\n"]


@SETTINGS
@given(pieces=st.lists(st.sampled_from(YAML_PIECES) | st.text(max_size=8), max_size=12))
def test_any_config_text_is_read_or_refused_in_one_line(cli, tmp_path, pieces):
    config = tmp_path / "config.yaml"
    config.write_bytes("".join(pieces).encode("utf-8", "replace"))  # lone surrogates drawn become "?"
    result = cli("train", "iris", "--config", config, "--print-config")
    assert result.code in (0, 2) and "Traceback" not in result.err
    assert len(result.err.splitlines()) == (result.code == 2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from nnlab import api

    return api.train("iris", overrides=["train.epochs=1"], out_dir=tmp_path_factory.mktemp("runs")).run.path


def safetensors_bytes(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


headers = st.fixed_dictionaries({
    "dtype": st.sampled_from(["F32", "F16", "I8", "BOOL", "F64", "U8", "XX", 7]),
    "shape": st.lists(st.integers(-2, 2**40), max_size=3),
    "data_offsets": st.lists(st.integers(-1, 2**40), min_size=0, max_size=3),
})


@SETTINGS
@given(tensors=st.dictionaries(st.sampled_from(["model.net.0.weight", "model.net.0.bias", "x"]), headers, max_size=3),
       data=st.binary(max_size=64), declared=st.one_of(st.none(), st.integers(0, 2**63)))
def test_hostile_weights_are_refused_in_one_line(refused, trained, tmp_path, tensors, data, declared):
    run = tmp_path / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(trained, run)
    header = {**tensors, "__metadata__": {"task": "iris"}}
    raw = safetensors_bytes(header, data)
    if declared is not None:  # a length field that lies
        raw = struct.pack("<Q", declared) + raw[8:]
    (run / "model.safetensors").write_bytes(raw)
    refused(tmp_path, "predict", run, "--input", "5.1,3.5,1.4,0.2")
