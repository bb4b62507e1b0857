"""IDX reader and writer: round-trips (hypothesis) and one-line errors naming the file."""

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnlab.data.idx import IDX_DTYPES, parse_idx, read_idx, write_idx
from nnlab.errors import DataError

DTYPES = [d.newbyteorder("=") for d in IDX_DTYPES.values()]


def assert_one_line_naming(err: pytest.ExceptionInfo, name: str, *words: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    assert name in message
    for word in words:
        assert word in message, message


@settings(max_examples=40, deadline=None)
@given(
    array=st.sampled_from(DTYPES).flatmap(
        lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6))
    ),
    gz=st.booleans(),
)
def test_write_then_read_gives_the_same_array(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)  # NaN == NaN here, bit patterns survive
    assert back.flags.writeable


def test_header_bytes_follow_the_format(tmp_path):
    # IDX (docs/data.md#the-idx-format): 00 00, type 0x08, ndim, then big-endian uint32 sizes, then the data.
    path = write_idx(tmp_path / "x", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert path.read_bytes() == bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5])
    assert read_idx(write_idx(tmp_path / "y", np.array([1, -2], dtype=np.int32))).tolist() == [1, -2]
    assert (tmp_path / "y").read_bytes()[2] == 0x0C


def test_gzip_is_detected_by_magic_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw = tmp_path / "raw-but-named.gz"
    write_idx(raw, array, compress=False)
    zipped = tmp_path / "zipped-without-suffix"
    write_idx(zipped, array, compress=True)
    np.testing.assert_array_equal(read_idx(raw), array)
    np.testing.assert_array_equal(read_idx(zipped), array)


def test_wrong_magic(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line_naming(err, path.name, "magic", "01 00")


def test_wrong_type_byte(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x07")
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line_naming(err, path.name, "type byte 0x07")


def test_truncated_labels_say_how_many_bytes(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    header = b"\x00\x00\x08\x01" + (10000).to_bytes(4, "big")
    path.write_bytes(gzip.compress(header + bytes(8992)))  # 9000 bytes in all
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line_naming(err, path.name, "truncated", "10000 labels (10008 bytes)", "holds 9000 bytes")


def test_truncated_images_and_trailing_bytes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((3, 28, 28), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[:-1])
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line_naming(err, path.name, "truncated", "3 images of 28x28")
    path.write_bytes(data + b"\x00\x00")
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line_naming(err, path.name, "trailing bytes", f"holds {len(data) + 2} bytes")


def test_short_header_and_zero_dims(tmp_path):
    path = tmp_path / "tiny-idx1-ubyte"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="too short"):
        read_idx(path)
    with pytest.raises(DataError, match="0 dimensions"):
        parse_idx(b"\x00\x00\x08\x00", name="x")
    with pytest.raises(DataError, match="sizes are cut off"):
        parse_idx(b"\x00\x00\x08\x03\x00\x00", name="x")


@pytest.mark.parametrize(
    "content",
    [b"\x1f\x8b\x08\x00garbage that is not deflate", gzip.compress(bytes(100))[:20], b"hello, not gzip"],
    ids=["corrupt-stream", "cut-gzip", "not-gzip-at-all"],
)
def test_a_gz_that_is_not_gzip(tmp_path, content):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert_one_line_naming(err, path.name)
    assert "gzip" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nothing-idx1-ubyte")


def test_writer_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_idx(tmp_path / "a", np.zeros(3, np.uint16))
    with pytest.raises(ValueError, match="shape"):
        write_idx(tmp_path / "a", np.uint8(3))
    assert not list(tmp_path.iterdir())
