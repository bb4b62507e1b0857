"""Calorimeter shower files: the CaloGAN HDF5 layout (write, read, stream) and CaloChallenge-style files.

CaloGAN files (Paganini, de Oliveira, Nachman, Mendeley Data, DOI 10.17632/pvn3xc3wy5.1) hold
`energy` (N, 1) in GeV and `layer_0/1/2` (N, 3, 96 / 12, 12 / 12, 6) and `overflow` (N, 3)
in MeV; CaloChallenge files hold `incident_energies` (N, 1) and `showers` (N, n_voxels) in MeV.
Files are read as `nnlab.data.hdf5` reads any file from elsewhere (stored data only, real numbers,
the size judged before reading); every problem raises a one-line `DataError` that names the file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.errors import DataError
from nnlab.data.hdf5 import (check_size, checked_dataset, h5py_module, hard_link, open_checked,
                             read_attributes, read_rows)
from nnlab.files import GuardedFile, atomic_stream
from nnlab.physics.geometry import LAYER_SHAPES

# one shower in the CaloGAN layout: its layers have the calorimeter's shapes, its overflow one entry a layer
CALOGAN_SHAPES: dict[str, tuple[int, ...]] = {
    "energy": (1,), **{f"layer_{k}": shape for k, shape in enumerate(LAYER_SHAPES)}, "overflow": (len(LAYER_SHAPES),),
}
CALOGAN_KEYS = tuple(CALOGAN_SHAPES)
SHOWER_BYTES = sum(int(np.prod(shape)) for shape in CALOGAN_SHAPES.values()) * 8  # one shower in float64: 4,064
CALOCHALLENGE_KEYS = ("incident_energies", "showers")
TRUTH_PREFIX = "truth/"
# Unit checks by magnitude: CaloGAN energies are 1-100 GeV, CaloChallenge ones 0.26-4000 GeV in MeV.
MAX_PLAUSIBLE_GEV = 1000.0
MIN_PLAUSIBLE_MEV = 100.0
# Deposited/incident lies in (0.01, 1] for any real shower file (a 100 GeV MIP pion: 0.003 alone,
# but the median over a file is ~0.3 or more); a median outside (0.01, 2) means a unit slip.
RESPONSE_RANGE = (0.01, 2.0)
_COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
MAX_TRUTH_ARRAYS = 64  # the simulator writes five


def _attr_value(value: Any) -> Any:
    """HDF5 attributes take scalars, strings and numeric arrays; anything else is stored as JSON."""
    if isinstance(value, (str, bool, int, float, np.number, np.bool_)):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value):
        return np.asarray(value)
    return json.dumps(value)


class CaloWriter:
    """Stream showers into a CaloGAN HDF5 file: chunked, gzip'd, resizable, renamed into place on success.

    `with CaloWriter(path, attrs=...) as w: w.append(chunk)` for each chunk (dicts in the
    CaloGAN layout; `truth/...` keys go to a `truth` group). float64 is the original files'
    dtype; float32 halves the file (cells are sums of ~1e3 spots, float32's 7 digits suffice).
    """

    def __init__(self, path: str | os.PathLike, *, attrs: Mapping[str, Any] | None = None,
                 dtype: np.dtype | type = np.float64, chunk_rows: int = 1024) -> None:
        self.path = Path(path)
        self.attrs = dict(attrs or {})
        self.dtype = np.dtype(dtype)
        self.chunk_rows = chunk_rows
        self.n_written = 0
        self._stack: contextlib.ExitStack | None = None
        self._stream: GuardedFile | None = None
        self._file = None

    def __enter__(self) -> CaloWriter:
        with contextlib.ExitStack() as stack:
            self._stream = stack.enter_context(atomic_stream(self.path))  # a full disk: one error, not a crash
            self._file = stack.enter_context(h5py_module().File(self._stream, "w"))
            for key, value in self.attrs.items():
                self._file.attrs[key] = _attr_value(value)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc_info) -> None:
        self._file = None
        self._stack.__exit__(*exc_info)

    def append(self, showers: Mapping[str, np.ndarray]) -> None:
        """Append one chunk of showers; the first chunk fixes which truth arrays the file holds."""
        n = check_calogan_layout({k: np.shape(v) for k, v in showers.items()}, source="showers to write")
        for key, array in showers.items():
            if key in CALOGAN_SHAPES or key.startswith(TRUTH_PREFIX):
                self._extend(key, np.asarray(array))
        self.n_written += n
        self._stream.check()  # stop at the first failed write, not after the last chunk

    def _extend(self, key: str, array: np.ndarray) -> None:
        dtype = self.dtype if array.dtype.kind == "f" else array.dtype
        if key not in self._file:
            self._file.create_dataset(key, data=array.astype(dtype), maxshape=(None,) + array.shape[1:],
                                      chunks=(max(1, min(self.chunk_rows, len(array))),) + array.shape[1:],
                                      **_COMPRESSION)
            return
        dataset = self._file[key]
        if dataset.shape[0] != self.n_written or dataset.shape[1:] != array.shape[1:]:
            raise ValueError(f"chunk array {key!r} of shape {array.shape} does not continue {dataset.shape}")
        dataset.resize(self.n_written + len(array), axis=0)
        dataset[self.n_written:] = array.astype(dtype)


def write_calogan(path: str | os.PathLike, showers: Mapping[str, np.ndarray], *,
                  attrs: Mapping[str, Any] | None = None, dtype: np.dtype | type = np.float64) -> Path:
    """Write showers in the CaloGAN layout to `path` atomically, with `attrs` as HDF5 attributes."""
    with CaloWriter(path, attrs=attrs, dtype=dtype) as writer:
        writer.append(showers)
    return Path(path)


def check_calogan_layout(shapes: Mapping[str, tuple[int, ...]], *, source: str) -> int:
    """Check the keys and shapes of the CaloGAN layout; return N, else raise a one-line DataError."""
    missing = [key for key in CALOGAN_KEYS if key not in shapes]
    if missing:
        raise DataError(f"{source}: missing dataset {missing[0]!r} (a CaloGAN file holds {', '.join(CALOGAN_KEYS)})")
    n = None
    for key, cell_shape in CALOGAN_SHAPES.items():
        shape = tuple(shapes[key])
        if shape[1:] != cell_shape or len(shape) != len(cell_shape) + 1:
            raise DataError(f"{source}: {key} has shape {shape}, expected (N, {', '.join(map(str, cell_shape))})")
        if n is not None and shape[0] != n:
            raise DataError(f"{source}: {key} holds {shape[0]} showers but energy holds {n}")
        n = shape[0]
    return n


def _check_values(arrays: Mapping[str, np.ndarray], *, source: str, offset: int = 0) -> None:
    """Reject NaN/infinite and negative values, naming the dataset and the first bad shower."""
    for key, array in arrays.items():
        if len(array) == 0:
            continue
        flat = array.reshape(len(array), -1)
        bad = ~np.isfinite(flat).all(axis=1)
        if bad.any():
            raise DataError(f"{source}: {key} holds NaN or infinite values (first in shower {offset + bad.argmax()})")
        negative = (flat < 0).any(axis=1)
        if negative.any():
            i = negative.argmax()
            raise DataError(f"{source}: {key} holds negative energies ({flat[i].min():.4g} in shower {offset + i})")


def _check_units(incident_mev: np.ndarray, deposited_mev: np.ndarray, *, source: str, names: tuple[str, str]) -> None:
    """Flag unit slips by magnitude: incident energies and the deposited/incident ratio."""
    incident_key, cells_key = names
    if len(incident_mev) == 0:
        return
    if np.any(incident_mev <= 0):
        raise DataError(f"{source}: {incident_key} holds non-positive incident energies")
    ratio = float(np.median(deposited_mev / incident_mev))
    if not RESPONSE_RANGE[0] < ratio < RESPONSE_RANGE[1]:
        raise DataError(f"{source}: median deposited/incident energy is {ratio:.3g}, outside "
                        f"{RESPONSE_RANGE}: {cells_key} and {incident_key} are in inconsistent units")


def check_calogan_values(showers: Mapping[str, np.ndarray], *, source: str, offset: int = 0) -> None:
    """Finite, non-negative, and in GeV (energy) and MeV (cells), judged by magnitude."""
    _check_values({k: np.asarray(showers[k]) for k in CALOGAN_KEYS}, source=source, offset=offset)
    energy_gev = np.asarray(showers["energy"])[:, 0]
    if len(energy_gev) and np.median(energy_gev) > MAX_PLAUSIBLE_GEV:
        raise DataError(f"{source}: energy looks like MeV (median {np.median(energy_gev):.4g}), expected GeV")
    cells = sum(np.asarray(showers[f"layer_{i}"]).sum(axis=(1, 2)) for i in range(len(LAYER_SHAPES)))
    deposited = cells + np.asarray(showers["overflow"]).sum(axis=1)
    _check_units(energy_gev * 1e3, deposited, source=source, names=("energy", "layer_0/1/2"))


def _truth_datasets(handle, n: int, source: str) -> dict[str, Any]:
    """The `truth/...` datasets, each holding the file's `n` showers."""
    if not hard_link(handle, "truth", "truth", source):
        return {}
    group = handle["truth"]
    if not isinstance(group, h5py_module().Group):
        raise DataError(f"{source}: truth is not a group of per-shower arrays")
    if len(group) > MAX_TRUTH_ARRAYS:
        raise DataError(f"{source}: truth holds {len(group)} arrays, over the {MAX_TRUTH_ARRAYS} nnlab reads")
    out = {}
    for raw in group.id:
        name = raw.decode("utf-8", errors="replace")
        if not name.isprintable() or "\ufffd" in name:
            raise DataError(f"{source}: truth holds an array named {name!r:.60}, not printable UTF-8 text")
        key = TRUTH_PREFIX + name
        dataset = checked_dataset(group, name, key, source)
        rows = dataset.shape[0] if dataset.shape else None
        if rows != n:
            raise DataError(f"{source}: {key} holds {rows} showers but energy holds {n}" if rows is not None
                            else f"{source}: {key} has shape (), expected (N, ...)")
        out[key] = dataset
    return out


def _calogan_datasets(handle, source: str, *, truth: bool) -> tuple[dict[str, Any], int]:
    found = {key: checked_dataset(handle, key, key, source) for key in CALOGAN_KEYS}
    n = check_calogan_layout({k: tuple(d.shape) for k, d in found.items() if d is not None}, source=source)
    return {**found, **(_truth_datasets(handle, n, source) if truth else {})}, n


def _calochallenge_datasets(handle, source: str) -> tuple[dict[str, Any], int]:
    found = {key: checked_dataset(handle, key, key, source) for key in CALOCHALLENGE_KEYS}
    return found, check_calochallenge_layout({k: tuple(d.shape) for k, d in found.items() if d is not None},
                                             source=source)


def _rows(datasets: Mapping[str, Any], start: int, stop: int | None, n: int, source: str, *,
          empty_ok: bool) -> tuple[int, int]:
    """Rows `start:stop` (Python slice rules) of `n`, refused when they would not fit in MAX_READ_BYTES as float64."""
    start, stop, _ = slice(start, stop).indices(n)
    stop = max(start, stop)
    if stop == start and not empty_ok:
        raise DataError(f"{source}: holds no showers" + (f" in rows {start}:{stop} of {n}" if n else "")
                        + "; give a file with showers")
    check_size(datasets, stop - start, source)
    return start, stop


def read_calogan(path: str | os.PathLike, *, start: int = 0, stop: int | None = None,
                 truth: bool = False, empty_ok: bool = True) -> dict[str, np.ndarray]:
    """Read (a slice of) a CaloGAN file as float64 arrays, checked for layout, values and units.

    `truth=True` also returns the simulator's `truth/...` arrays when the file has them. `empty_ok=False`
    refuses a file (or slice) without showers, for callers that judge or train on them.
    """
    source = str(path)
    with open_checked(path) as handle:
        datasets, n = _calogan_datasets(handle, source, truth=truth)
        start, stop = _rows(datasets, start, stop, n, source, empty_ok=empty_ok)
        showers = read_rows(datasets, start, stop)
    check_calogan_values(showers, source=source, offset=start)
    return showers


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The file's HDF5 attributes, JSON strings decoded (simulator version, seed, settings), checked as
    `nnlab.data.hdf5.read_attributes` does."""
    with open_checked(path) as handle:
        return read_attributes(handle, str(path))


def check_particle(path: str | os.PathLike, particle: str, *, option: str) -> None:
    """Refuse a file labelled (its `particle` attribute) as another particle; unlabelled files, like the
    original CaloGAN ones, pass. `option` names where the file was given, for the message."""
    labelled = read_attrs(path).get("particle")
    if labelled is not None and labelled != particle:
        raise DataError(f"{option} {path} holds {labelled} showers, not {particle}")


def check_calochallenge_layout(shapes: Mapping[str, tuple[int, ...]], *, source: str) -> int:
    """Check a CaloChallenge file's keys and shapes; return N."""
    for key in CALOCHALLENGE_KEYS:
        if key not in shapes:
            raise DataError(f"{source}: missing dataset {key!r} (a CaloChallenge file holds "
                            f"{', '.join(CALOCHALLENGE_KEYS)})")
    incident, showers = shapes["incident_energies"], shapes["showers"]
    if len(incident) != 2 or incident[1] != 1:
        raise DataError(f"{source}: incident_energies has shape {incident}, expected (N, 1)")
    if len(showers) != 2:
        raise DataError(f"{source}: showers has shape {showers}, expected (N, n_voxels)")
    if showers[0] != incident[0]:
        raise DataError(f"{source}: showers holds {showers[0]} showers but incident_energies holds {incident[0]}")
    return incident[0]


def check_calochallenge_values(arrays: Mapping[str, np.ndarray], *, source: str, offset: int = 0) -> None:
    """Finite, non-negative, and both in MeV (judged by magnitude)."""
    _check_values(arrays, source=source, offset=offset)
    incident = arrays["incident_energies"][:, 0]
    if len(incident) and np.median(incident) < MIN_PLAUSIBLE_MEV:
        raise DataError(f"{source}: incident_energies look like GeV (median {np.median(incident):.4g}), expected MeV")
    _check_units(incident, arrays["showers"].sum(axis=1), source=source, names=("incident_energies", "showers"))


def read_calochallenge(path: str | os.PathLike, *, start: int = 0, stop: int | None = None,
                       empty_ok: bool = True) -> dict[str, np.ndarray]:
    """Read (a slice of) a CaloChallenge-style file: `incident_energies` (N, 1) and `showers` (N, V), MeV."""
    source = str(path)
    with open_checked(path) as handle:
        datasets, n = _calochallenge_datasets(handle, source)
        start, stop = _rows(datasets, start, stop, n, source, empty_ok=empty_ok)
        arrays = read_rows(datasets, start, stop)
    check_calochallenge_values(arrays, source=source, offset=start)
    return arrays


def file_format(path: str | os.PathLike) -> str:
    """"calogan" or "calochallenge", by the datasets the file holds (links refused, not followed)."""
    with open_checked(path) as handle:
        held = {key for key in CALOGAN_KEYS + CALOCHALLENGE_KEYS if hard_link(handle, key, key, str(path))}
    if "energy" in held or "layer_0" in held:
        return "calogan"
    if "incident_energies" in held or "showers" in held:
        return "calochallenge"
    raise DataError(f"{path}: neither a CaloGAN file (energy, layer_0...) nor a CaloChallenge file "
                    "(incident_energies, showers)")


def iter_chunks(path: str | os.PathLike, chunk_size: int, *, truth: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """Stream a CaloGAN or CaloChallenge file in chunks of `chunk_size` showers, each chunk checked.

    Memory stays bounded by the chunk, however large the file; a chunk over MAX_READ_BYTES is refused.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    source, kind = str(path), file_format(path)
    with open_checked(path) as handle:
        if kind == "calogan":
            datasets, n = _calogan_datasets(handle, source, truth=truth)
        else:
            datasets, n = _calochallenge_datasets(handle, source)
        check_size(datasets, min(chunk_size, n), source)
        check = check_calogan_values if kind == "calogan" else check_calochallenge_values
        for start in range(0, n, chunk_size):
            chunk = read_rows(datasets, start, min(start + chunk_size, n))
            check(chunk, source=source, offset=start)
            yield chunk
