"""`nnlab tour` (what `make demo` runs), in its quick form."""

from PIL import Image


def test_the_tour_runs_end_to_end(cli, tmp_path):
    result = cli("tour", "--out", tmp_path, "--quick")
    assert result.code == 0, result.err
    assert "== Iris" in result.out and "-> setosa" in result.out and "activation_maximisation.png" in result.out
    assert (tmp_path / "foundations" / "descent.png").is_file()
    assert "== A GAN" in result.out and "FID-CNN" in result.out and "walk_seed1.png" in result.out
    assert "rejection" in result.out and "separation power" in result.out and "eplus_50GeV.h5" in result.out
    small = {}
    for path in tmp_path.rglob("*.png"):
        with Image.open(path) as image:
            if max(image.size) < 600:
                small[str(path.relative_to(tmp_path))] = image.size
    assert not small, small  # every picture the tour wrote is readable without zooming
