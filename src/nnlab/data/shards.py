"""Showers written by several processes: one shard file per process, and one HDF5 file that joins them.

`torchrun --nproc-per-node N -m nnlab simulate|sample ... -o FILE.h5`: each process (rank) writes its
share of the showers, in order, to FILE.shards/rank-R-of-N.h5 beside FILE.h5; when every shard is
written, rank 0 writes FILE.h5, whose datasets are HDF5 virtual datasets: each is the shards' datasets
one after the other. Plain h5py reads FILE.h5 as one file (HDF5 finds the shards relative to it, wherever
the folder is moved, as long as the two move together); nnlab reads it after checking that every shard
lies in that folder and fills its place exactly (`nnlab.data.hdf5.check_virtual`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nnlab.data.hdf5 import h5py_module
from nnlab.errors import DataError
from nnlab.files import atomic_path


def shard_folder(path: str | os.PathLike) -> Path:
    """Where the shards of FILE.h5 go: FILE.shards/ beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.shards")


def shard_path(path: str | os.PathLike, rank: int, world_size: int) -> Path:
    return shard_folder(path) / f"rank-{rank:05d}-of-{world_size:05d}.h5"


def share(n: int, rank: int, world_size: int) -> range:
    """Rank `rank`'s contiguous share of `n` items (blocks, parts), as even as they divide, in rank order."""
    return range(n * rank // world_size, n * (rank + 1) // world_size)


def share_rows(n: int, unit: int, rank: int, world_size: int) -> tuple[range, int]:
    """Rank `rank`'s `share` of `n` rows drawn in units of `unit` rows (the last may be short): which units, and
    how many rows they hold."""
    units = share(-(-n // unit), rank, world_size)
    return units, min(n, units.stop * unit) - min(n, units.start * unit)


def join_shards(path: str | os.PathLike, world_size: int, *, attrs: dict[str, Any] | None = None) -> Path:
    """Write `path` (atomically): every dataset of the shards of `path` (groups too: truth/...) as one virtual
    dataset, the shards' rows in rank order; the first shard's attributes, updated with `attrs`."""
    h5py = h5py_module()
    path = Path(path)
    shards = [shard_path(path, rank, world_size) for rank in range(world_size)]
    missing = [str(shard) for shard in shards if not shard.is_file()]
    if missing:
        raise DataError(f"cannot join {path}: {len(missing)} shard(s) missing, the first {missing[0]}")
    opened = [h5py.File(shard, "r") for shard in shards]
    try:
        names: list[str] = []
        opened[0].visititems(lambda name, node: names.append(name) if isinstance(node, h5py.Dataset) else None)
        with atomic_path(path) as written, h5py.File(written, "w") as joined:
            for key, value in {**opened[0].attrs, **(attrs or {})}.items():
                joined.attrs[key] = value
            for name in names:
                parts = [handle[name] for handle in opened]
                rows = sum(part.shape[0] for part in parts)
                layout = h5py.VirtualLayout(shape=(rows, *parts[0].shape[1:]), dtype=parts[0].dtype)
                start = 0
                for shard, part in zip(shards, parts):
                    if part.shape[0]:  # a rank with no showers maps nothing
                        layout[start:start + part.shape[0]] = h5py.VirtualSource(
                            shard.relative_to(path.parent).as_posix(), name, shape=part.shape)
                    start += part.shape[0]
                joined.create_virtual_dataset(name, layout)
    finally:
        for handle in opened:
            handle.close()
    return path
