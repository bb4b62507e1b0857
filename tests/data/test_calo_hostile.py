"""Hostile CaloGAN / CaloChallenge HDF5 files (issue nnlab 7): refused in one line, exit 2, nothing written.

Links and virtual datasets would read other files; declared sizes would allocate before a byte is checked;
odd dtypes and attributes ended in tracebacks or silently lost data.
"""

from pathlib import Path

import h5py
import numpy as np
import pytest

from nnlab.data import calo, hdf5
from nnlab.data.calo import file_format, iter_chunks, read_attrs, read_calochallenge, read_calogan, write_calogan
from nnlab.errors import DataError
from tests.conftest import assert_one_line_error
from tests.data.test_calo import _challenge, _showers


def _good(path, n=20, **attrs):
    return write_calogan(path, _showers(n), attrs=attrs)


def _edit(path, edit):
    with h5py.File(path, "r+", libver="latest") as handle:
        edit(handle)
    return path


def _replace(key, make):
    """An edit that deletes dataset `key` and puts `make(handle, key)` in its place."""
    def edit(handle):
        del handle[key]
        make(handle, key)
    return edit


def _refused(cli, tmp_path, path, *fragments):
    """evaluate-sim refuses `path` in one line naming it and `fragments`, and writes no report or plot."""
    out = tmp_path / "validation"
    result = cli("evaluate-sim", path, "--out", out)
    assert_one_line_error(result, str(path), *fragments)
    assert "Traceback" not in result.err and not out.exists()
    return result.err.strip()


def _declared(n, *, keys=calo.CALOGAN_SHAPES):
    """Make every dataset declare `n` showers in chunked gzip: nothing is written, so the file stays tiny."""
    def edit(handle):
        for key, cells in keys.items():
            del handle[key]
            handle.create_dataset(key, shape=(n, *cells), maxshape=(None, *cells), chunks=(1, *cells),
                                  dtype="f8", compression="gzip", fillvalue=1.0)
    return edit


def test_a_billion_declared_showers_are_refused_before_any_allocation(cli, tmp_path):
    path = _edit(_good(tmp_path / "bomb.h5"), _declared(10**9))
    assert path.stat().st_size < 100_000
    line = _refused(cli, tmp_path, path, "1000000000 showers", "GiB", "MAX_READ_BYTES")
    assert "data.n_per_particle" in line
    assert "MAX_READ_BYTES" in _data_error(read_calogan, path)
    assert read_calogan(path, stop=3)["energy"].shape == (3, 1)  # a slice under the limit is read
    with pytest.raises(DataError, match="MAX_READ_BYTES"):
        next(iter_chunks(path, 10**9))


def test_a_gzip_bomb_is_refused_by_its_unpacked_size(cli, tmp_path, monkeypatch):
    """20,000 showers of zeros: 80 MB unpacked, a few hundred KB on disk."""
    path = write_calogan(tmp_path / "zeros.h5", {k: np.zeros((20_000, *s)) for k, s in calo.CALOGAN_SHAPES.items()})
    assert path.stat().st_size < 1_000_000
    monkeypatch.setattr(hdf5, "MAX_READ_BYTES", 32 * 2**20)
    _refused(cli, tmp_path, path, "20000 showers", "0.08 GiB", "0.03 GiB")


def test_a_chunk_larger_than_the_limit_is_refused(cli, tmp_path):
    """Reading one row unpacks its whole chunk (in HDF5's C code): 40,000 rows of layer_0 is 88 MiB."""
    def edit(handle):
        del handle["layer_0"]
        handle.create_dataset("layer_0", data=_showers(20)["layer_0"], maxshape=(None, 3, 96),
                              chunks=(40_000, 3, 96), compression="gzip")
    _refused(cli, tmp_path, _edit(_good(tmp_path / "chunk.h5"), edit), "layer_0", "chunks of 88 MiB",
             "MAX_CHUNK_BYTES")


def test_links_are_refused(cli, tmp_path):
    other = _good(tmp_path / "other.h5")
    external = _edit(_good(tmp_path / "external.h5"), _replace("layer_0", lambda h, k: h.__setitem__(
        k, h5py.ExternalLink(str(other), "/layer_0"))))
    _refused(cli, tmp_path, external, "layer_0 is an external link", "other.h5")
    dangling = _edit(_good(tmp_path / "dangling.h5"), _replace("energy", lambda h, k: h.__setitem__(
        k, h5py.SoftLink("/nowhere"))))
    _refused(cli, tmp_path, dangling, "energy is a soft link to '/nowhere'")

    def cycle(handle):
        del handle["overflow"]
        handle["a"], handle["b"], handle["overflow"] = h5py.SoftLink("/b"), h5py.SoftLink("/a"), h5py.SoftLink("/a")
    _refused(cli, tmp_path, _edit(_good(tmp_path / "cycle.h5"), cycle), "overflow is a soft link")

    def truth(handle):
        handle.create_group("elsewhere").create_dataset("leakage_mev", data=np.zeros(20))
        handle["truth"] = h5py.SoftLink("/elsewhere")
    _refused(cli, tmp_path, _edit(_good(tmp_path / "truth.h5"), truth), "truth is a soft link")
    assert "soft link" in _data_error(file_format, dangling)


def test_virtual_and_externally_stored_datasets_are_refused(cli, tmp_path):
    def virtual(handle, key):
        layout = h5py.VirtualLayout(shape=(20, 1), dtype="f8")
        layout[:] = h5py.VirtualSource(str(tmp_path / "missing.h5"), "energy", shape=(20, 1))
        handle.create_virtual_dataset(key, layout, fillvalue=50.0)
    path = _edit(_good(tmp_path / "vds.h5"), _replace("energy", virtual))
    _refused(cli, tmp_path, path, "energy is a virtual dataset")
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.full((20, 3), 1.0).tobytes())
    stored = _edit(_good(tmp_path / "stored.h5"), _replace("overflow", lambda h, k: h.create_dataset(
        k, shape=(20, 3), dtype="f8", external=[(str(raw), 0, h5py.h5f.UNLIMITED)])))
    _refused(cli, tmp_path, stored, "overflow is stored in external raw files")


def test_a_group_in_place_of_a_dataset_is_refused(cli, tmp_path):
    path = _edit(_good(tmp_path / "group.h5"), _replace("layer_2", lambda h, k: h.create_group(k)))
    _refused(cli, tmp_path, path, "layer_2 is a group, not a dataset")


def test_zero_showers_and_truth_arrays_of_another_length_are_refused(cli, tmp_path):
    empty = write_calogan(tmp_path / "empty.h5", {k: v[:0] for k, v in _showers().items()})
    _refused(cli, tmp_path, empty, "holds no showers")
    assert len(read_calogan(empty)["energy"]) == 0  # the library still reads the empty layout
    short = _good(tmp_path / "short.h5")
    _edit(short, lambda h: h.create_dataset("truth/leakage_mev", data=np.zeros(19)))
    _refused(cli, tmp_path, short, "truth/leakage_mev holds 19 showers but energy holds 20")


@pytest.mark.parametrize("value, what", [
    (np.bytes_(b"gam\xffma"), "attribute 'particle' is not UTF-8 text"),
    ("[" * 50_000, "attribute 'particle' is too large or nests too deep"),
    (np.zeros((2, 2), dtype=[("a", "f8")]), "attribute 'particle' has dtype"),
])
def test_odd_attributes_are_refused(cli, tmp_path, value, what):
    path = _edit(_good(tmp_path / "attrs.h5"), lambda h: h.attrs.__setitem__("particle", value))
    _refused(cli, tmp_path, path, what)
    assert what in _data_error(read_attrs, path)


def test_a_non_utf8_variable_length_string_attribute_is_refused(cli, tmp_path):
    path = _good(tmp_path / "vlen.h5")
    with h5py.File(path, "r+") as handle:
        handle.attrs.create("particle", b"\xff\xfe", dtype=h5py.string_dtype("utf-8"))
    _refused(cli, tmp_path, path, "attribute 'particle' is not UTF-8 text")


def test_a_refused_second_file_leaves_no_plot_of_the_first(cli, tmp_path):
    first = _good(tmp_path / "first.h5", n=50, particle="eplus")
    second = _edit(_good(tmp_path / "second.h5", particle="gamma"), _replace("layer_1", lambda h, k: h.__setitem__(
        k, h5py.ExternalLink(str(first), "/layer_1"))))
    out = tmp_path / "validation"
    assert_one_line_error(cli("evaluate-sim", first, second, "--out", out), "second.h5", "external link")
    assert not out.exists()


def test_train_data_refuses_a_hostile_file_before_making_a_run(cli, tmp_path):
    gamma = _good(tmp_path / "gamma.h5", particle="gamma")
    bomb = _edit(_good(tmp_path / "piplus.h5", particle="piplus"), _declared(10**9))
    runs = tmp_path / "runs"
    result = cli("train", "calo-classifier", "--data", f"{gamma},{bomb}", "--out", runs,
                 "--set", "data.n_per_particle=1000000000")
    assert_one_line_error(result, "piplus.h5", "MAX_READ_BYTES", "data.n_per_particle")
    assert not runs.exists() or not any(runs.iterdir())


def test_calochallenge_files_get_the_same_checks(tmp_path):
    path = tmp_path / "cc.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("incident_energies", shape=(10**8, 1), dtype="f8", chunks=(1, 1), compression="gzip")
        handle.create_dataset("showers", shape=(10**8, 368), dtype="f4", chunks=(1, 368), compression="gzip")
    assert "MAX_READ_BYTES" in _data_error(read_calochallenge, path)
    arrays = _challenge()
    with h5py.File(path, "w") as handle:
        handle["incident_energies"] = arrays["incident_energies"].astype("S8")
        handle["showers"] = arrays["showers"]
    assert "incident_energies has dtype |S8" in _data_error(read_calochallenge, path)
    with h5py.File(path, "w") as handle:
        handle["showers"] = h5py.ExternalLink("elsewhere.h5", "/showers")
        handle["incident_energies"] = arrays["incident_energies"]
    assert "showers is an external link" in _data_error(file_format, path)


NOT_REAL = [
    ("energy", np.full((20, 1), b"50"), "energy has dtype |S2"),
    ("energy", np.full((20, 1), "50", dtype=object), "energy has dtype object"),
    ("layer_1", np.ones((20, 12, 12)) * (1 + 1j), "layer_1 has dtype complex128"),
    ("overflow", np.zeros((20, 3), dtype=[("a", "f8"), ("b", "i4")]), "overflow has dtype [('a', '<f8'), ('b',"),
    ("overflow", np.zeros((20, 3), dtype=bool), "overflow has dtype bool"),
]


def test_real_numbers_of_any_width_read_as_float64_and_other_dtypes_are_refused(cli, tmp_path):
    showers = _showers(30)
    stored = {"energy": showers["energy"].astype(">f4"), "overflow": np.round(showers["overflow"]).astype("<u2"),
              **{f"layer_{i}": np.round(showers[f"layer_{i}"]).astype(">i4") for i in range(3)}}
    path = tmp_path / "ints.h5"
    with h5py.File(path, "w") as handle:
        for key, value in stored.items():
            handle.create_dataset(key, data=value, chunks=(7, *value.shape[1:]), compression="gzip")
    back = read_calogan(path)
    for key, value in stored.items():
        assert back[key].dtype == np.float64 and np.array_equal(back[key], value.astype(np.float64))
    chunks = list(iter_chunks(path, 4))
    assert all(np.array_equal(np.concatenate([c[k] for c in chunks]), back[k]) for k in stored)
    assert np.array_equal(read_calogan(path, start=-5)["layer_2"], back["layer_2"][-5:])
    for i, (key, data, what) in enumerate(NOT_REAL):
        def edit(handle):
            del handle[key]
            handle.create_dataset(key, data=data, dtype=h5py.string_dtype() if data.dtype == object else None)
        _refused(cli, tmp_path, _edit(_good(tmp_path / f"dtype{i}.h5"), edit), what, "real numbers")


def _data_error(func, *args, **kwargs):
    with pytest.raises(DataError) as info:
        func(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_evaluate_reference_refuses_hostile_files_before_writing(cli, tmp_path):
    from nnlab.physics.simulator import simulate_to_file
    from tests.tasks.test_calogan import TINY

    showers = simulate_to_file(tmp_path / "eplus.h5", "eplus", 400, energy_gev=(1.0, 100.0), seed=3, chunk_size=400)
    result = cli("train", "calogan", "--out", tmp_path / "runs", "--data", showers, *TINY)
    assert result.code == 0, result.err
    (run,) = [line.split(": ", 1)[1] for line in result.out.splitlines() if line.startswith("run: ")]
    run = Path(run)
    before = sorted(run.rglob("*"))
    bomb = _edit(_good(tmp_path / "bomb.h5", particle="eplus"), _declared(10**7))
    assert_one_line_error(cli("evaluate", run, "--reference", bomb), "bomb.h5", "MAX_READ_BYTES")
    empty = write_calogan(tmp_path / "empty.h5", {k: v[:0] for k, v in _showers().items()}, attrs={"particle": "eplus"})
    assert_one_line_error(cli("evaluate", run, "--reference", empty), "empty.h5: holds no showers")
    linked = _edit(_good(tmp_path / "linked.h5", particle="eplus"), _replace("layer_0", lambda h, k: h.__setitem__(
        k, h5py.ExternalLink(str(showers), "/layer_0"))))
    assert_one_line_error(cli("evaluate", run, "--reference", linked), "layer_0 is an external link")
    assert sorted(run.rglob("*")) == before
