"""CaloGAN and CaloChallenge HDF5 files: round trips, streaming, and one-line errors for bad files.

Layout: docs/physics.md#the-calogan-hdf5-layout.
"""

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlab.data.calo import (CaloWriter, file_format, iter_chunks, read_attrs, read_calochallenge, read_calogan,
                             write_calogan)
from nnlab.errors import DataError


def _showers(n=20, seed=0):
    rng = np.random.default_rng(seed)
    energy = rng.uniform(1.0, 100.0, (n, 1))
    layers = {f"layer_{i}": rng.exponential(1.0, (n,) + shape) for i, shape in enumerate([(3, 96), (12, 12), (12, 6)])}
    total = sum(v.sum(axis=(1, 2)) for v in layers.values())
    scale = (0.9 * energy[:, 0] * 1e3 / total)[:, None, None]  # deposited/incident 0.9, cells in MeV
    out = {"energy": energy, "overflow": rng.exponential(1.0, (n, 3))}
    out.update({k: v * scale for k, v in layers.items()})
    return out


def _write_raw(path, arrays):
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value
    return path


def _data_error(func, *args, **kwargs):
    with pytest.raises(DataError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_write_read_round_trip_with_attributes(tmp_path):
    showers = _showers()
    showers["truth/leakage_mev"] = np.arange(20.0)
    path = write_calogan(tmp_path / "s.h5", showers, attrs={"seed": 7, "settings": {"a": 1}, "range": [1.0, 100.0]})
    back = read_calogan(path, truth=True)
    assert set(back) == set(showers)
    assert all(np.array_equal(back[k], showers[k]) for k in showers)
    assert read_attrs(path) == {"seed": 7, "settings": {"a": 1}, "range": [1.0, 100.0]}
    with h5py.File(path) as f:
        assert f["layer_0"].dtype == np.float64 and f["layer_0"].compression == "gzip"
    assert file_format(path) == "calogan"


def test_streaming_writer_equals_one_write_and_float32_option(tmp_path):
    showers = _showers(50)
    with CaloWriter(tmp_path / "stream.h5", attrs={"seed": 1}) as writer:
        for start in range(0, 50, 15):
            writer.append({k: v[start:start + 15] for k, v in showers.items()})
    assert writer.n_written == 50
    back = read_calogan(tmp_path / "stream.h5")
    assert all(np.array_equal(back[k], showers[k]) for k in showers)
    write_calogan(tmp_path / "f32.h5", showers, dtype=np.float32)
    with h5py.File(tmp_path / "f32.h5") as f:
        assert f["layer_1"].dtype == np.float32


def test_iter_chunks_streams_in_order(tmp_path):
    showers = _showers(45)
    write_calogan(tmp_path / "s.h5", showers)
    chunks = list(iter_chunks(tmp_path / "s.h5", 20))
    assert [len(c["energy"]) for c in chunks] == [20, 20, 5]
    assert np.array_equal(np.concatenate([c["layer_2"] for c in chunks]), showers["layer_2"])


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError):
        with CaloWriter(tmp_path / "x.h5") as writer:
            writer.append(_showers())
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_empty_file_keeps_the_layout(tmp_path):
    empty = {k: v[:0] for k, v in _showers().items()}
    back = read_calogan(write_calogan(tmp_path / "empty.h5", empty))
    assert back["layer_0"].shape == (0, 3, 96) and back["energy"].shape == (0, 1)


def test_read_slice(tmp_path):
    showers = _showers(30)
    write_calogan(tmp_path / "s.h5", showers)
    assert np.array_equal(read_calogan(tmp_path / "s.h5", start=10, stop=15)["energy"], showers["energy"][10:15])


def _bad(tmp_path, name, change):
    arrays = _showers()
    change(arrays)
    return _write_raw(tmp_path / f"{name}.h5", arrays)


@pytest.mark.parametrize("name, change, expected", [
    ("missing", lambda a: a.pop("layer_1"), "missing dataset 'layer_1'"),
    ("shape", lambda a: a.update(layer_2=np.ones((20, 6, 12))), "layer_2 has shape (20, 6, 12)"),
    ("count", lambda a: a.update(overflow=np.ones((19, 3))), "overflow holds 19 showers"),
    ("nan", lambda a: a["layer_0"].__setitem__((3, 0, 0), np.nan), "NaN or infinite values (first in shower 3)"),
    ("inf", lambda a: a["energy"].__setitem__((5, 0), np.inf), "energy holds NaN or infinite"),
    ("negative", lambda a: a["layer_1"].__setitem__((2, 1, 1), -4.0), "negative energies (-4 in shower 2)"),
    ("mev", lambda a: a["energy"].__imul__(1e3), "energy looks like MeV"),
    ("gev_cells", lambda a: [a[f"layer_{i}"].__imul__(1e-3) for i in range(3)], "inconsistent units"),
])
def test_bad_calogan_files_raise_one_line_data_errors(tmp_path, name, change, expected):
    path = _bad(tmp_path, name, change)
    message = _data_error(read_calogan, path)
    assert str(path) in message and expected in message
    assert expected in _data_error(lambda: list(iter_chunks(path, 7)))


def test_not_hdf5_truncated_and_missing_files(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("energy,layer_0\n1,2\n")
    assert "not a readable HDF5 file" in _data_error(read_calogan, text)
    good = write_calogan(tmp_path / "good.h5", _showers(200))
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert str(truncated) in _data_error(read_calogan, truncated)
    assert "no such file" in _data_error(read_calogan, tmp_path / "absent.h5")
    empty = _write_raw(tmp_path / "other.h5", {"x": np.ones(3)})
    assert "neither a CaloGAN file" in _data_error(file_format, empty)


def _challenge(n=25, seed=0, voxels=368):
    rng = np.random.default_rng(seed)
    incident = rng.uniform(1e3, 1e5, (n, 1))
    showers = rng.exponential(1.0, (n, voxels))
    return {"incident_energies": incident, "showers": showers * (0.8 * incident / showers.sum(axis=1, keepdims=True))}


def test_calochallenge_round_trip_and_errors(tmp_path):
    arrays = _challenge()
    path = _write_raw(tmp_path / "cc.h5", arrays)
    back = read_calochallenge(path)
    assert np.array_equal(back["showers"], arrays["showers"]) and file_format(path) == "calochallenge"
    assert [len(c["showers"]) for c in iter_chunks(path, 10)] == [10, 10, 5]
    gev = _write_raw(tmp_path / "gev.h5", {**arrays, "incident_energies": arrays["incident_energies"] / 1e3})
    assert "incident_energies look like GeV" in _data_error(read_calochallenge, gev)
    flat = _write_raw(tmp_path / "flat.h5", {**arrays, "incident_energies": arrays["incident_energies"][:, 0]})
    assert "expected (N, 1)" in _data_error(read_calochallenge, flat)
    neg = {**arrays, "showers": arrays["showers"].copy()}
    neg["showers"][4, 7] = -1.0
    assert "negative energies" in _data_error(read_calochallenge, _write_raw(tmp_path / "neg.h5", neg))
    only_incident = _write_raw(tmp_path / "m.h5", {"incident_energies": arrays["incident_energies"]})
    assert "missing dataset 'showers'" in _data_error(read_calochallenge, only_incident)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_any_garbage_bytes_give_a_data_error(tmp_path, data):
    path = tmp_path / "garbage.h5"
    path.write_bytes(data)
    _data_error(read_calogan, path)
