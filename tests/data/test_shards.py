"""Showers written in shards and joined by a virtual dataset: the same showers as one process, read by nnlab and
by plain h5py; a join that maps anything but its own whole shards is refused."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from nnlab.data.calo import read_calogan
from nnlab.data.shards import join_shards, shard_path, share
from nnlab.errors import DataError
from nnlab.physics.simulator import RNG_BLOCK, shard_blocks, simulate_to_file
from tests.conftest import assert_one_line_error

N = 2 * RNG_BLOCK + 500  # three RNG blocks, the last one short


@pytest.mark.parametrize("n, world_size", [(0, 2), (1, 3), (7, 2), (10, 3), (3, 5)])
def test_the_shares_tile_the_items_in_rank_order(n, world_size):
    shares = [share(n, rank, world_size) for rank in range(world_size)]
    assert [i for part in shares for i in part] == list(range(n))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_the_block_shares_count_every_shower_once():
    counts = [shard_blocks(N, rank, 3)[1] for rank in range(3)]
    assert counts == [RNG_BLOCK, RNG_BLOCK, 500] and shard_blocks(N, 1, 4) == (range(0, 1), RNG_BLOCK)


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """N e+ showers simulated in one file, and again as three shards (one per rank, each alone) joined."""
    folder = tmp_path_factory.mktemp("shards")
    one = simulate_to_file(folder / "one.h5", "eplus", N, seed=4, chunk_size=700)
    path = folder / "eplus.h5"
    for rank in range(3):
        shard_path(path, rank, 3).parent.mkdir(exist_ok=True)
        simulate_to_file(shard_path(path, rank, 3), "eplus", N, seed=4, chunk_size=700, shard=(rank, 3))
    return one, join_shards(path, 3, attrs={"shards": 3})


def test_joined_shards_are_the_showers_of_one_process(joined):
    one, path = joined
    assert sorted(p.name for p in (path.parent / "eplus.shards").iterdir()) == [
        "rank-00000-of-00003.h5", "rank-00001-of-00003.h5", "rank-00002-of-00003.h5"]
    alone, together = read_calogan(one, truth=True), read_calogan(path, truth=True)
    assert together.keys() == alone.keys() and len(together["energy"]) == N
    for key in alone:
        np.testing.assert_array_equal(together[key], alone[key], err_msg=key)


def test_plain_h5py_reads_the_joined_file_from_anywhere(joined, monkeypatch):
    one, path = joined
    monkeypatch.chdir("/")  # HDF5 finds the shards beside the file, not in the working folder
    with h5py.File(path) as handle, h5py.File(one) as single:
        assert handle["layer_1"].is_virtual and handle.attrs["shards"] == 3
        np.testing.assert_array_equal(handle["layer_1"][:], single["layer_1"][:])


def _joined_copy(joined, tmp_path):
    """The joined file and its shards, copied into `tmp_path` to be spoiled."""
    import shutil

    _, path = joined
    shutil.copytree(path.parent / "eplus.shards", tmp_path / "eplus.shards")
    return Path(shutil.copy(path, tmp_path / "eplus.h5"))


def test_a_missing_or_shortened_shard_is_refused_not_filled_with_zeros(joined, tmp_path):
    path = _joined_copy(joined, tmp_path)
    middle = tmp_path / "eplus.shards" / "rank-00001-of-00003.h5"
    os.replace(middle, tmp_path / "aside.h5")
    with pytest.raises(DataError, match="rank-00001-of-00003.h5, which is missing"):
        read_calogan(path)
    with h5py.File(tmp_path / "aside.h5") as full, h5py.File(middle, "w") as short:
        for key in ("energy", "layer_0", "layer_1", "layer_2", "overflow"):
            short[key] = full[key][:10]
    with pytest.raises(DataError, match="rows it does not hold"):
        read_calogan(path)


def _remap_energy(path, sources) -> None:
    """Put in place of `path`'s energy a virtual dataset of N rows: (first row, file, rows) per source."""
    with h5py.File(path, "r+") as handle:
        del handle["energy"]
        layout = h5py.VirtualLayout(shape=(N, 1), dtype="f8")
        for first, name, rows in sources:
            layout[first:first + rows] = h5py.VirtualSource(name, "energy", shape=(rows, 1))
        handle.create_virtual_dataset("energy", layout)


@pytest.mark.parametrize("sources, says", [
    ([(0, "../one.h5", N)], "mapping '../one.h5': nnlab reads only shards in the file's own folder"),
    ([(0, "link.h5", N)], "mapping 'link.h5'"),  # a link in the folder to a file outside it
    ([(0, "eplus.shards/rank-00000-of-00003.h5", RNG_BLOCK),
      (2 * RNG_BLOCK, "eplus.shards/rank-00002-of-00003.h5", 500)], "do not fill its 2500 rows exactly once"),
    ([(0, "eplus.shards/rank-00000-of-00003.h5", RNG_BLOCK),
      (0, "eplus.shards/rank-00001-of-00003.h5", RNG_BLOCK)], "do not fill its 2500 rows exactly once")])
def test_a_join_that_maps_outside_its_folder_or_leaves_a_gap_is_refused(joined, tmp_path, cli, sources, says):
    one, _ = joined
    path = _joined_copy(joined, tmp_path / "copy")
    (tmp_path / "copy" / "link.h5").symlink_to(one)
    _remap_energy(path, sources)
    with pytest.raises(DataError, match=says.replace("(", r"\(")):
        read_calogan(path)
    assert_one_line_error(cli("evaluate-sim", path, "--out", tmp_path / "out"), says)
