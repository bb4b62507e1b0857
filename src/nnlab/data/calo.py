"""Calorimeter shower files: the CaloGAN HDF5 layout (write, read, stream) and CaloChallenge-style files.

Source: PHYSICS.md section 2: CaloGAN files (Mendeley Data DOI 10.17632/pvn3xc3wy5.1) hold
`energy` (N, 1) in GeV and `layer_0/1/2` (N, 3, 96 / 12, 12 / 12, 6) and `overflow` (N, 3)
in MeV; CaloChallenge files hold `incident_energies` (N, 1) and `showers` (N, n_voxels) in MeV.
Every problem with a file raises a one-line `DataError` that names the file.

Files are untrusted (issue nnlab 7): only datasets stored in the file itself are read (soft and external links,
virtual and externally stored datasets would read other files, or fill values in their place), only real numbers,
and only after the shapes the file declares show the read fits in MAX_READ_BYTES: a file declaring 1e9 showers,
or gzip'd to a thousandth of its size, is refused before a byte is allocated.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nnlab.errors import DataError
from nnlab.files import GuardedFile, atomic_stream

CALOGAN_SHAPES: dict[str, tuple[int, ...]] = {
    "energy": (1,), "layer_0": (3, 96), "layer_1": (12, 12), "layer_2": (12, 6), "overflow": (3,),
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
# What one read may hold, as the float64 arrays it returns, judged from the declared shapes before reading. A CaloGAN
# shower is 508 values, 4 KiB: 2 GiB is 528,000 showers, five of the original 100,000-shower files in one read, and
# leaves room on a 16 GiB machine for what the callers compute from them. A fixed number, not a share of this
# machine's RAM, so a file is read or refused alike everywhere; raise it from Python
# (nnlab.data.calo.MAX_READ_BYTES = ...), or read fewer showers.
MAX_READ_BYTES = 2 * 2**30
# HDF5 unpacks a whole chunk, in C, to read one row of it: h5py's own chunks are at most 1 MiB, CaloWriter's 2.25 MiB
# (1024 rows of layer_0), so 64 MiB refuses only files made to blow up (a 4 GiB chunk is 4 MB gzip'd).
MAX_CHUNK_BYTES = 64 * 2**20
# nnlab's attributes (simulator, seed, settings) are a few hundred bytes; 64 KiB is HDF5's own compact-storage bound.
MAX_ATTR_BYTES = 64 * 2**10
MAX_TRUTH_ARRAYS = 64  # the simulator writes five
REAL_KINDS = "iuf"  # int, uint, float: bool, complex, strings, compounds, enums and references are refused
_ELSEWHERE = "nnlab reads only data stored in the file itself (copy it in, e.g. with h5copy)"


def _h5py():
    import h5py

    return h5py


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


@contextlib.contextmanager
def _open(path: str | os.PathLike) -> Iterator[Any]:
    """Open an HDF5 file for reading; any HDF5 failure inside becomes a one-line DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        handle = _h5py().File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({_one_line(exc)})") from None
    try:
        with handle:
            yield handle
    except (OSError, RuntimeError, KeyError) as exc:  # h5py raises all three for broken or cyclic structures
        raise DataError(f"{path}: unreadable data ({_one_line(exc)})") from None


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
            self._file = stack.enter_context(_h5py().File(self._stream, "w"))
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
    cells = sum(np.asarray(showers[f"layer_{i}"]).sum(axis=(1, 2)) for i in range(3))
    deposited = cells + np.asarray(showers["overflow"]).sum(axis=1)
    _check_units(energy_gev * 1e3, deposited, source=source, names=("energy", "layer_0/1/2"))


def _hard_link(group, name: str, where: str, source: str) -> bool:
    """Whether `group` holds `name` through a hard link; any other link is refused without being followed."""
    h5l, key = _h5py().h5l, name.encode()
    if not group.id.links.exists(key):
        return False
    kind = group.id.links.get_info(key).type
    if kind == h5l.TYPE_HARD:
        return True
    if kind == h5l.TYPE_SOFT:
        what = f"a soft link to {group.id.links.get_val(key).decode(errors='replace')!r:.80}"
    elif kind == h5l.TYPE_EXTERNAL:
        what = f"an external link to {group.id.links.get_val(key)[0].decode(errors='replace')!r:.80}"
    else:
        what = "a user-defined link"
    raise DataError(f"{source}: {where} is {what}; {_ELSEWHERE}")


def _dataset(group, name: str, where: str, source: str):
    """`group[name]` if present, checked to be real numbers stored in this file in chunks HDF5 may unpack."""
    h5py = _h5py()
    if not _hard_link(group, name, where, source):
        return None
    node = group[name]
    if not isinstance(node, h5py.Dataset):
        raise DataError(f"{source}: {where} is a {'group' if isinstance(node, h5py.Group) else 'named datatype'}, "
                        "not a dataset")
    if node.is_virtual:
        raise DataError(f"{source}: {where} is a virtual dataset (it maps other files, filling in what they lack); "
                        f"{_ELSEWHERE}")
    if node.external:
        raise DataError(f"{source}: {where} is stored in external raw files; {_ELSEWHERE}")
    dtype = node.dtype
    if dtype.kind not in REAL_KINDS or h5py.check_enum_dtype(dtype) is not None:
        raise DataError(f"{source}: {where} has dtype {str(dtype):.80}; nnlab reads real numbers (int, uint or float)")
    if node.shape is None:
        raise DataError(f"{source}: {where} has an empty dataspace (no shape); expected an array of showers")
    chunk_bytes = math.prod(node.chunks or ()) * dtype.itemsize
    if node.chunks and chunk_bytes > MAX_CHUNK_BYTES:
        raise DataError(f"{source}: {where} is stored in chunks of {chunk_bytes / 2**20:.0f} MiB, over the "
                        f"{MAX_CHUNK_BYTES >> 20} MiB nnlab unpacks (MAX_CHUNK_BYTES); rewrite it with smaller chunks "
                        "(h5repack -l CHUNK=...)")
    return node


def _truth_datasets(handle, n: int, source: str) -> dict[str, Any]:
    """The `truth/...` datasets, each holding the file's `n` showers."""
    if not _hard_link(handle, "truth", "truth", source):
        return {}
    group = handle["truth"]
    if not isinstance(group, _h5py().Group):
        raise DataError(f"{source}: truth is not a group of per-shower arrays")
    if len(group) > MAX_TRUTH_ARRAYS:
        raise DataError(f"{source}: truth holds {len(group)} arrays, over the {MAX_TRUTH_ARRAYS} nnlab reads")
    out = {}
    for raw in group.id:
        name = raw.decode("utf-8", errors="replace")
        if not name.isprintable() or "\ufffd" in name:
            raise DataError(f"{source}: truth holds an array named {name!r:.60}, not printable UTF-8 text")
        key = TRUTH_PREFIX + name
        dataset = _dataset(group, name, key, source)
        rows = dataset.shape[0] if dataset.shape else None
        if rows != n:
            raise DataError(f"{source}: {key} holds {rows} showers but energy holds {n}" if rows is not None
                            else f"{source}: {key} has shape (), expected (N, ...)")
        out[key] = dataset
    return out


def _calogan_datasets(handle, source: str, *, truth: bool) -> tuple[dict[str, Any], int]:
    found = {key: _dataset(handle, key, key, source) for key in CALOGAN_KEYS}
    n = check_calogan_layout({k: tuple(d.shape) for k, d in found.items() if d is not None}, source=source)
    return {**found, **(_truth_datasets(handle, n, source) if truth else {})}, n


def _calochallenge_datasets(handle, source: str) -> tuple[dict[str, Any], int]:
    found = {key: _dataset(handle, key, key, source) for key in CALOCHALLENGE_KEYS}
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
    _check_size(datasets, stop - start, source)
    return start, stop


def _check_size(datasets: Mapping[str, Any], rows: int, source: str) -> None:
    needed = sum(rows * math.prod(d.shape[1:]) * 8 for d in datasets.values())
    if needed > MAX_READ_BYTES:
        raise DataError(f"{source}: {rows} showers need {needed / 2**30:.2f} GiB as float64, over the "
                        f"{MAX_READ_BYTES / 2**30:.2f} GiB nnlab reads at once (nnlab.data.calo.MAX_READ_BYTES); "
                        "read fewer showers (train: data.n_per_particle) or split the file")


def _read(datasets: Mapping[str, Any], start: int, stop: int) -> dict[str, np.ndarray]:
    """Rows start:stop as float64, converted by HDF5 into the returned arrays (no copy in the stored dtype)."""
    out = {}
    for key, dataset in datasets.items():
        array = np.empty((stop - start, *dataset.shape[1:]), dtype=np.float64)
        if array.size:
            dataset.read_direct(array, np.s_[start:stop])
        out[key] = array
    return out


def read_calogan(path: str | os.PathLike, *, start: int = 0, stop: int | None = None,
                 truth: bool = False, empty_ok: bool = True) -> dict[str, np.ndarray]:
    """Read (a slice of) a CaloGAN file as float64 arrays, checked for layout, values and units.

    `truth=True` also returns the simulator's `truth/...` arrays when the file has them. `empty_ok=False`
    refuses a file (or slice) without showers, for callers that judge or train on them.
    """
    source = str(path)
    with _open(path) as handle:
        datasets, n = _calogan_datasets(handle, source, truth=truth)
        start, stop = _rows(datasets, start, stop, n, source, empty_ok=empty_ok)
        showers = _read(datasets, start, stop)
    check_calogan_values(showers, source=source, offset=start)
    return showers


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The file's HDF5 attributes, JSON strings decoded (simulator version, seed, settings).

    Text must be UTF-8 and numbers real; an attribute over MAX_ATTR_BYTES, or nesting JSON past Python's
    recursion limit, is refused: nnlab writes a few hundred bytes.
    """
    source = str(path)
    with _open(path) as handle:
        out = {}
        for name in handle.attrs.keys():
            if not isinstance(name, str):
                raise DataError(f"{source}: an attribute name is not UTF-8 text ({name!r:.60})")
            out[name] = _attribute(handle.attrs, name, source)
        return out


def _attribute(attrs, name: str, source: str) -> Any:
    h5py = _h5py()
    where = f"attribute {name!r:.60}"
    info = attrs.get_id(name)
    dtype, shape = info.dtype, info.shape
    text = h5py.check_string_dtype(dtype) is not None
    if shape is None:
        raise DataError(f"{source}: {where} holds no value (an empty dataspace)")
    if not text and dtype.kind not in REAL_KINDS + "b":
        raise DataError(f"{source}: {where} has dtype {str(dtype):.80}; nnlab reads text and real numbers")
    too_big = DataError(f"{source}: {where} is too large or nests too deep (over {MAX_ATTR_BYTES >> 10} KiB "
                        "or Python's recursion limit); nnlab writes a few hundred bytes of settings")
    if math.prod(shape) * dtype.itemsize > MAX_ATTR_BYTES:
        raise too_big
    value = attrs[name]
    value = value.tolist() if isinstance(value, np.ndarray) else value
    value = value.item() if isinstance(value, np.generic) else value
    try:
        value = _utf8(value)
    except UnicodeError:
        raise DataError(f"{source}: {where} is not UTF-8 text; rewrite it as UTF-8 (or delete it) with h5py") from None
    if isinstance(value, str) and len(value) > MAX_ATTR_BYTES:
        raise too_big
    if isinstance(value, str) and value.startswith(("[", "{", '"')):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
        except RecursionError:
            raise too_big from None
    return value


def _utf8(value: Any) -> Any:
    """`value` with bytes decoded as UTF-8 and strings checked to be UTF-8 (h5py smuggles bad bytes in as
    surrogates); raises UnicodeError otherwise."""
    if isinstance(value, list):
        return [_utf8(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        value.encode("utf-8")
    return value


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
    with _open(path) as handle:
        datasets, n = _calochallenge_datasets(handle, source)
        start, stop = _rows(datasets, start, stop, n, source, empty_ok=empty_ok)
        arrays = _read(datasets, start, stop)
    check_calochallenge_values(arrays, source=source, offset=start)
    return arrays


def file_format(path: str | os.PathLike) -> str:
    """"calogan" or "calochallenge", by the datasets the file holds (links refused, not followed)."""
    with _open(path) as handle:
        held = {key for key in CALOGAN_KEYS + CALOCHALLENGE_KEYS if _hard_link(handle, key, key, str(path))}
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
    with _open(path) as handle:
        if kind == "calogan":
            datasets, n = _calogan_datasets(handle, source, truth=truth)
        else:
            datasets, n = _calochallenge_datasets(handle, source)
        _check_size(datasets, min(chunk_size, n), source)
        check = check_calogan_values if kind == "calogan" else check_calochallenge_values
        for start in range(0, n, chunk_size):
            chunk = _read(datasets, start, min(start + chunk_size, n))
            check(chunk, source=source, offset=start)
            yield chunk
