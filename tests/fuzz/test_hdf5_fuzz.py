"""Fuzzing `nnlab evaluate-sim` with hostile CaloGAN HDF5 files (issue nnlab 7).

Each example takes a valid 20-shower file and makes one family of attack on it: a wrong shape or dtype, a link
or virtual dataset reaching out of the file, gigabytes declared in a file of kilobytes (chunked gzip, nothing
written), giant chunks, zero or mismatched rows, NaN, odd attributes. Each must be refused by `refused`: exit 2,
one line naming the file and the problem, no file written, and a traced peak under 64 MiB.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlab.data.calo import CALOGAN_SHAPES, write_calogan
from nnlab.data.hdf5 import MAX_CHUNK_BYTES
from tests.data.test_calo import _showers

N = 20
KEYS = st.sampled_from(list(CALOGAN_SHAPES))


def _replace(handle, key, **kwargs):
    del handle[key]
    handle.create_dataset(key, **kwargs)


def wrong_shape(draw, handle, folder):
    key = draw(KEYS)
    cells = draw(st.lists(st.integers(1, 13), max_size=3).map(tuple).filter(lambda c: c != CALOGAN_SHAPES[key]))
    _replace(handle, key, data=np.ones((N, *cells)))
    return f"{key} has shape"


def wrong_dtype(draw, handle, folder):
    key = draw(KEYS)
    kind = draw(st.sampled_from(["c8", "c16", "S6", "str", "bool", "compound", "array"]))
    shape = (N, *CALOGAN_SHAPES[key])
    if kind == "str":
        _replace(handle, key, data=np.full(shape, "50.0", dtype=object), dtype=h5py.string_dtype())
    elif kind == "compound":
        _replace(handle, key, shape=shape, dtype=[("re", "f8"), ("im", "f8")])
    elif kind == "array":
        _replace(handle, key, shape=shape, dtype=np.dtype(("f8", (2,))))
    else:
        _replace(handle, key, data=np.ones(shape).astype(kind))
    return f"{key} has dtype"


def link(draw, handle, folder):
    key = draw(st.sampled_from([*CALOGAN_SHAPES, "truth"]))
    kind = draw(st.sampled_from(["dangling", "cycle", "valid", "external", "external-missing"]))
    if key in handle:
        handle.move(key, "moved")
    target = folder / ("missing.h5" if kind == "external-missing" else "other.h5")
    if kind == "external":
        write_calogan(target, _showers(N))
    handle[key] = {"dangling": h5py.SoftLink("/nowhere"), "cycle": h5py.SoftLink(f"/{key}"),
                   "valid": h5py.SoftLink("/moved")}.get(kind) or h5py.ExternalLink(str(target), f"/{key}")
    return f"{key} is {'a soft' if kind in ('dangling', 'cycle', 'valid') else 'an external'} link"


def elsewhere(draw, handle, folder):
    key = draw(KEYS)
    shape = (N, *CALOGAN_SHAPES[key])
    if draw(st.booleans()):
        layout = h5py.VirtualLayout(shape=shape, dtype="f8")
        layout[:] = h5py.VirtualSource(str(folder / draw(st.sampled_from(["missing.h5", "s.h5"]))), key, shape=shape)
        del handle[key]
        handle.create_virtual_dataset(key, layout, fillvalue=draw(st.floats(0, 100)))
        return f"{key} is a virtual dataset"
    raw = folder / "raw.bin"
    raw.write_bytes(np.ones(shape).tobytes())
    _replace(handle, key, shape=shape, dtype="f8", external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    return f"{key} is stored in external raw files"


def huge(draw, handle, folder):
    n = draw(st.integers(10**6, 10**13))
    for key, cells in CALOGAN_SHAPES.items():
        _replace(handle, key, shape=(n, *cells), maxshape=(None, *cells), chunks=(1, *cells), dtype="f4",
                 compression="gzip", fillvalue=draw(st.floats(0, 100, width=32)))
    return "MAX_READ_BYTES"


def giant_chunks(draw, handle, folder):
    key = draw(KEYS)
    cells = CALOGAN_SHAPES[key]
    row = 8 * int(np.prod(cells))
    rows = draw(st.integers(MAX_CHUNK_BYTES // row + 1, (2**32 - 1) // row))
    _replace(handle, key, shape=(N, *cells), maxshape=(None, *cells), chunks=(rows, *cells), dtype="f8",
             compression="gzip")
    return "MAX_CHUNK_BYTES"


def zero_rows(draw, handle, folder):
    for key, cells in CALOGAN_SHAPES.items():
        _replace(handle, key, shape=(0, *cells), maxshape=(None, *cells), dtype=draw(st.sampled_from(["f4", "f8"])))
    return "holds no showers"


def not_finite(draw, handle, folder):
    key = draw(KEYS)
    data = handle[key][()]
    index = tuple(draw(st.integers(0, size - 1)) for size in data.shape)
    data[index] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    _replace(handle, key, data=data)
    return f"{key} holds NaN or infinite values (first in shower {index[0]})"


def mismatched(draw, handle, folder):
    key = draw(st.sampled_from([k for k in CALOGAN_SHAPES if k != "energy"] + ["truth/leakage_mev"]))
    rows = draw(st.integers(1, 2 * N).filter(lambda r: r != N))
    if key.startswith("truth/"):
        handle.create_dataset(key, data=np.zeros(rows))
    else:
        _replace(handle, key, data=np.ones((rows, *CALOGAN_SHAPES[key])))
    return f"{key} holds {rows} showers but energy holds {N}"


def odd_attribute(draw, handle, folder):
    kind = draw(st.sampled_from(["latin1", "vlen", "deep", "big", "compound", "empty", "complex", "name"]))
    name = draw(st.sampled_from(["particle", "settings", "seed"]))
    text = draw(st.text(min_size=1, max_size=8))
    if kind == "latin1":
        handle.attrs[name] = np.bytes_(text.encode() + b"\xe9\xff")
    elif kind == "vlen":
        handle.attrs.create(name, b"\xff" + text.encode(), dtype=h5py.string_dtype("utf-8"))
    elif kind == "deep":
        handle.attrs[name] = "[" * draw(st.integers(5_000, 60_000))
    elif kind == "big":
        handle.attrs[name] = text * (2**17 // len(text) + 1)
    elif kind == "compound":
        handle.attrs[name] = np.zeros(3, dtype=[("a", "f8"), ("b", "i4")])
    elif kind == "empty":
        handle.attrs[name] = h5py.Empty("f8")
    elif kind == "complex":
        handle.attrs[name] = np.ones(2) * 1j
    else:
        h5py.h5a.create(handle.id, name.encode() + b"\xff", h5py.h5t.NATIVE_DOUBLE, h5py.h5s.create(h5py.h5s.SCALAR))
        return "attribute name is not UTF-8"
    return f"attribute '{name}'"


FAMILIES = [wrong_shape, wrong_dtype, link, elsewhere, huge, giant_chunks, zero_rows, not_finite, mismatched,
            odd_attribute]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(family=st.sampled_from(FAMILIES), data=st.data())
def test_hostile_calogan_files_are_refused_in_one_line(refused, tmp_path, family, data):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = write_calogan(folder / "s.h5", _showers(N))
    with h5py.File(path, "r+", libver="latest") as handle:
        fragment = family(data.draw, handle, folder)
    assert path.stat().st_size < 2**20
    refused(folder, "evaluate-sim", path, "--out", folder / "validation", fragments=(str(path), fragment))
