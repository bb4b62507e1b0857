"""`nnlab runs list` and `nnlab runs compare` on real runs, and runs/TASK/latest."""

from __future__ import annotations

import json

from PIL import Image

from tests.conftest import assert_one_line_error


def test_runs_are_listed_compared_and_the_latest_is_named(cli, tmp_path):
    for epochs in ("2", "3"):
        assert cli("train", "iris", "--epochs", epochs, "--out", tmp_path / "runs").code == 0
    first, second = sorted((tmp_path / "runs" / "iris").iterdir(), key=lambda p: (p / "config.yaml").stat().st_mtime)
    listed = cli("runs", "list", tmp_path / "runs")
    assert listed.code == 0, listed.err
    header, *rows = listed.out.splitlines()
    assert header.split() == ["run", "task", "started", "status", "epochs", "score", "size_mb"]
    assert [(row.split()[1], row.split()[5]) for row in rows] == [("iris", "2/2"), ("iris", "3/3")]  # date, time
    assert all("finished" in row and "test accuracy" in row for row in rows)
    data = json.loads(cli("runs", "list", tmp_path / "runs", "--json").out)
    assert [row["epochs"] for row in data["values"]["runs"]] == ["2/2", "3/3"]

    assert str(second) in cli("report", tmp_path / "runs" / "iris" / "latest").out
    plot = tmp_path / "compared.png"
    compared = cli("runs", "compare", first, tmp_path / "runs" / "iris" / "latest", "-o", plot)
    assert compared.code == 0, compared.err
    assert "at each run's last epoch:" in compared.out
    val_loss = next(line for line in compared.out.splitlines() if line.startswith("val_loss"))
    assert len(val_loss.split()) == 3  # the metric, then one value per run
    with Image.open(plot) as image:
        assert max(image.size) >= 600

    assert_one_line_error(cli("runs", "compare", first), "at least two runs")
    assert_one_line_error(cli("runs", "compare", first, first), "the same run twice")
    assert_one_line_error(cli("runs", "list", tmp_path / "nowhere"), "no folder at")
    assert_one_line_error(cli("report", tmp_path / "empty" / "latest"), "no runs in")
