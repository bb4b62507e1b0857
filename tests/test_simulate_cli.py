"""`nnlab simulate` and `nnlab evaluate-sim` through the real entry point."""

from __future__ import annotations

import h5py

from tests.conftest import assert_one_line_error


def test_simulate_writes_the_calogan_layout_and_validates(cli, tmp_path):
    path = tmp_path / "showers.h5"
    result = cli("simulate", "--particle", "eplus", "-n", "300", "--energy", "10:20", "--seed", "5", "-o", path)
    assert result.code == 0, result.err
    with h5py.File(path) as handle:
        assert handle["layer_0"].shape == (300, 3, 96) and handle["energy"].shape == (300, 1)
        assert 10.0 <= handle["energy"][:].min() and handle["energy"][:].max() <= 20.0
        assert handle.attrs["seed"] == 5
    result = cli("evaluate-sim", path, "--out", tmp_path / "validation")
    assert result.code in (0, 1), result.err  # 1: a check failed on a sample this small, still reported
    assert "deposited/incident" in result.out
    assert (tmp_path / "validation" / "report.json").is_file()


def test_simulate_rejects_bad_options(cli, tmp_path):
    out = tmp_path / "x.h5"
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", "10", "--energy", "a:b", "-o", out), "--energy")
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", "10", "--energy", "50:5", "-o", out),
                          "0 < LOW <= HIGH")
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", "10", "--energy", "1e30", "-o", out),
                          "HIGH <= 10000")  # the spot count overflowed: a traceback
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", 10**12, "-o", out),
                          "-n 1000000000000: about 4.06 PB to write to")  # else days of simulating, then a full disk
    assert_one_line_error(cli("simulate", "--particle", "muon", "-n", "10", "-o", out), "invalid choice: 'muon'")
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", "0", "-o", out), "-n")
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", "10", "--seed", "-1", "-o", out), "--seed")
    assert not out.exists()
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", "10", "-o", tmp_path), "it is a folder")
    (tmp_path / "bad.h5").write_text("not hdf5")
    assert_one_line_error(cli("evaluate-sim", tmp_path / "bad.h5"), "bad.h5")


def test_a_particle_label_read_from_a_file_never_becomes_a_path_or_a_line(cli, tmp_path):
    path = tmp_path / "showers.h5"
    assert cli("simulate", "--particle", "eplus", "-n", "50", "--energy", "50", "-o", path).code == 0
    outside = tmp_path / "elsewhere" / "pwn"
    for label in (str(outside), "../../../escaped", "eplus\ninjected line", "muon"):
        with h5py.File(path, "r+") as handle:
            handle.attrs["particle"] = label
        out = tmp_path / "validation"
        assert_one_line_error(cli("evaluate-sim", path, "--out", out), "particle label", "not one of eplus")
        assert not out.exists() and not outside.parent.exists()
    assert not any(tmp_path.parent.glob("escaped*"))


def test_a_full_disk_is_one_line_and_leaves_nothing(cli, full_disk, monkeypatch):
    """Too large for the free space: refused before simulating. The disk filled meanwhile (by another program):
    one line too; HDF5 crashed the process (exit 139) when that happened under it."""
    result = cli("simulate", "--particle", "eplus", "-n", "2000", "-o", full_disk / "s.h5")
    assert_one_line_error(result, "-n 2000: about 8.13 MB to write to", "but its disk has 1.05 MB free")
    monkeypatch.setattr("nnlab.files.require_space", lambda *args, **kwargs: None)
    result = cli("simulate", "--particle", "eplus", "-n", "2000", "-o", full_disk / "s.h5")
    assert_one_line_error(result, f"cannot write {full_disk / 's.h5'}: No space left on device")
    assert list(full_disk.iterdir()) == []
