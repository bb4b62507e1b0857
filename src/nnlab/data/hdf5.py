"""Reading HDF5 files made by others: only real numbers stored in the file itself, within a size bound.

A CaloGAN file from elsewhere is data, never a pointer: links (soft, external), virtual datasets and
external raw storage would read other files anywhere on disk, so they are refused without being
followed. The one exception is the virtual datasets nnlab itself writes to join the shards of a
multi-process run (nnlab.data.shards): they are read when every shard they map lies in the file's
own folder, holds a plain dataset of the shape mapped, and the shards fill the rows exactly (HDF5
would fill a missing shard's rows with zeros, silently). A read's size is judged from the declared
shapes before anything is allocated, so no compression trick can hide it. Every problem is a
one-line `DataError` that names the file.
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

from nnlab.errors import DataError, one_line

# What one read may hold, as the float64 arrays it returns, judged from the declared shapes before reading. A CaloGAN
# shower is 508 values, 4 KiB: 2 GiB is 528,000 showers, five of the original 100,000-shower files in one read, and
# leaves room on a 16 GiB machine for what the callers compute from them. A fixed number, not a share of this
# machine's RAM, so a file is read or refused alike everywhere; raise it from Python
# (nnlab.data.hdf5.MAX_READ_BYTES = ...), or read fewer showers.
MAX_READ_BYTES = 2 * 2**30
# HDF5 unpacks a whole chunk, in C, to read one row of it: h5py's own chunks are at most 1 MiB, CaloWriter's 2.25 MiB
# (1024 rows of layer_0), so 64 MiB refuses only files made to blow up (a 4 GiB chunk is 4 MB gzip'd).
MAX_CHUNK_BYTES = 64 * 2**20
# nnlab's attributes (simulator, seed, settings) are a few hundred bytes; 64 KiB is HDF5's own compact-storage bound.
MAX_ATTR_BYTES = 64 * 2**10
REAL_KINDS = "iuf"  # int, uint, float: bool, complex, strings, compounds, enums and references are refused
_ELSEWHERE = "nnlab reads only data stored in the file itself (copy it in, e.g. with h5copy)"


def h5py_module():
    import h5py

    return h5py


@contextlib.contextmanager
def open_checked(path: str | os.PathLike) -> Iterator[Any]:
    """Open an HDF5 file for reading; any HDF5 failure inside becomes a one-line DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        handle = h5py_module().File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({one_line(exc)[:200]})") from None
    try:
        with handle:
            yield handle
    except (OSError, RuntimeError, KeyError) as exc:  # h5py raises all three for broken or cyclic structures
        raise DataError(f"{path}: unreadable data ({one_line(exc)[:200]})") from None


def hard_link(group, name: str, where: str, source: str) -> bool:
    """Whether `group` holds `name` through a hard link; any other link is refused without being followed."""
    h5l, key = h5py_module().h5l, name.encode()
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


def checked_dataset(group, name: str, where: str, source: str):
    """`group[name]` if present, checked to be real numbers stored in this file in chunks HDF5 may unpack."""
    h5py = h5py_module()
    if not hard_link(group, name, where, source):
        return None
    node = group[name]
    if not isinstance(node, h5py.Dataset):
        raise DataError(f"{source}: {where} is a {'group' if isinstance(node, h5py.Group) else 'named datatype'}, "
                        "not a dataset")
    if node.is_virtual:
        check_virtual(node, where, source)
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


def check_virtual(node, where: str, source: str) -> None:
    """A virtual dataset's sources: each a whole plain dataset of a file inside the file's own folder, their rows
    tiling the dataset's from first to last without a gap or an overlap; else a one-line DataError."""
    h5py = h5py_module()
    folder = Path(node.file.filename).resolve().parent
    spans = []
    for mapped in node.virtual_sources():
        name = Path(mapped.file_name)
        shard = (folder / name).resolve()
        if name.is_absolute() or ".." in name.parts or not shard.is_relative_to(folder) or shard == folder:
            raise DataError(f"{source}: {where} is a virtual dataset mapping {mapped.file_name!r:.80}: nnlab reads "
                            f"only shards in the file's own folder, named relative to it; {_ELSEWHERE}")
        if not shard.is_file():
            raise DataError(f"{source}: {where} maps rows of {shard}, which is missing (a shard moved or deleted?)")
        with h5py.File(shard, "r") as handle:
            part = handle.get(mapped.dset_name)
            if not isinstance(part, h5py.Dataset) or part.is_virtual or part.external or part.shape is None:
                raise DataError(f"{source}: {where} maps {mapped.dset_name!r:.60} of {shard}, which is not a dataset "
                                "stored in that file")
            stored = part.shape
        (first, *low), (last, *high) = mapped.vspace.get_select_bounds()
        whole_rows = all(i == 0 for i in low) and [i + 1 for i in high] == list(node.shape[1:]) == list(stored[1:])
        if mapped.src_space.get_select_type() != h5py.h5s.SEL_ALL or not whole_rows or last - first + 1 != stored[0]:
            raise DataError(f"{source}: {where} maps part of {shard}'s {mapped.dset_name!r:.60}, or rows it does not "
                            f"hold ({stored[0]} stored); nnlab reads virtual datasets that join whole shards")
        spans.append((first, last + 1))
    spans.sort()
    ends = [0] + [stop for _, stop in spans]
    if [start for start, _ in spans] != ends[:-1] or ends[-1] != (node.shape or (0,))[0]:
        raise DataError(f"{source}: {where}'s shards do not fill its {node.shape[0]} rows exactly once (a gap or an "
                        "overlap); HDF5 would fill a gap with zeros")


def check_size(datasets: Mapping[str, Any], rows: int, source: str) -> None:
    needed = sum(rows * math.prod(d.shape[1:]) * 8 for d in datasets.values())
    if needed > MAX_READ_BYTES:
        raise DataError(f"{source}: {rows} showers need {needed / 2**30:.2f} GiB as float64, over the "
                        f"{MAX_READ_BYTES / 2**30:.2f} GiB nnlab reads at once (nnlab.data.hdf5.MAX_READ_BYTES); "
                        "read fewer showers (train: data.n_per_particle) or split the file")


def read_rows(datasets: Mapping[str, Any], start: int, stop: int) -> dict[str, np.ndarray]:
    """Rows start:stop as float64, converted by HDF5 into the returned arrays (no copy in the stored dtype)."""
    out = {}
    for key, dataset in datasets.items():
        array = np.empty((stop - start, *dataset.shape[1:]), dtype=np.float64)
        if array.size:
            dataset.read_direct(array, np.s_[start:stop])
        out[key] = array
    return out


def read_attributes(handle, source: str) -> dict[str, Any]:
    """The attributes of an open file, JSON strings decoded: text must be UTF-8 and numbers real; an attribute over
    MAX_ATTR_BYTES, or nesting JSON past Python's recursion limit, is refused (nnlab writes a few hundred bytes)."""
    out = {}
    for name in handle.attrs.keys():
        if not isinstance(name, str):
            raise DataError(f"{source}: an attribute name is not UTF-8 text ({name!r:.60})")
        out[name] = _attribute(handle.attrs, name, source)
    return out


def _attribute(attrs, name: str, source: str) -> Any:
    h5py = h5py_module()
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
