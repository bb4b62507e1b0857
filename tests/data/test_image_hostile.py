"""Hostile inputs to the image readers (security review, nnlab 7): each one is refused from its header
in one line, exit 2, leaving no file and allocating far less than it declares (`refused`)."""

from __future__ import annotations

import csv
import gzip
import io
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format
from PIL import Image

from nnlab.data.image_files import MAX_PIXELS, read_user_images
from nnlab.data.images import NPZ_KEYS



def png_claiming(width: int, height: int) -> bytes:
    """A 1-bit PNG whose header claims width x height, with a few bytes of pixels after it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(64)))
            + chunk(b"IEND", b""))


def npy_header(shape: tuple[int, ...], descr: str = "<f8", fortran: bool = False) -> bytes:
    """The bytes of a version 1.0 .npy header declaring `shape` and `descr`, written by numpy."""
    out = io.BytesIO()
    npy_format.write_array_header_1_0(out, {"shape": shape, "fortran_order": fortran, "descr": descr})
    return out.getvalue()


def idx_header(shape: tuple[int, ...], type_byte: int = 0x08) -> bytes:
    return bytes([0, 0, type_byte, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def gzip_streamed(path: Path, head: bytes, zeros: int) -> Path:
    """Gzip `head` then `zeros` zero bytes, 1 MiB at a time, so the test never holds the bomb."""
    chunk = bytes(2**20)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(head)
        for _ in range(zeros // len(chunk)):
            out.write(chunk)
    return path


def npz_with(path: Path, members: dict[str, bytes]) -> Path:
    """A Keras-style .npz: the given member bytes, and small valid arrays for the other keys."""
    valid = {"x_train": np.zeros((4, 28, 28), np.uint8), "y_train": np.arange(4, dtype=np.uint8),
             "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key in NPZ_KEYS:
            if key in members:
                archive.writestr(f"{key}.npy", members[key])
            else:
                out = io.BytesIO()
                np.save(out, valid[key])
                archive.writestr(f"{key}.npy", out.getvalue())
    return path


# --- 1. picture decompression bombs: refused from the header, before a pixel is decoded


def test_a_10_kb_png_of_9000x9000_is_refused_before_decoding(refused, cnn_run, tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(path)
    assert path.stat().st_size < 50_000  # 81 Mpx in a few KB; 2.4 GB as float64 RGBA
    refused(tmp_path, "predict", cnn_run, "--input", path, fragments=("bomb.png", "9000x9000", "shrink it"))


@pytest.mark.parametrize("side", [5000, 10_000, 30_000], ids=["over-cap", "pillow-warning", "pillow-error"])
def test_pictures_claiming_too_many_pixels(refused, cnn_run, tmp_path, side):
    path = tmp_path / "claims.png"
    path.write_bytes(png_claiming(side, side))
    assert side * side > MAX_PIXELS
    refused(tmp_path, "predict", cnn_run, "--input", path, fragments=("claims.png", "shrink it"))


def test_a_large_picture_under_the_cap_is_decoded_in_float32(tmp_path):
    x = np.zeros((2000, 2000), np.uint8)
    x[400:1600, 900:1100] = 255
    Image.fromarray(np.stack([x] * 3, axis=-1)).save(tmp_path / "big.png")
    tracemalloc.start()
    try:
        result = read_user_images(tmp_path / "big.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.images.shape == (1, 28, 28) and result.images.max() > 0.9
    assert peak < 20 * x.size, f"{peak / x.size:.1f} bytes a pixel"  # float64 RGBA alone is 32


# --- 2. .npy and .npz headers: dtype, shape and size checked before any data is read


def test_a_227_byte_npy_declaring_584_gib(refused, cnn_run, tmp_path):
    path = tmp_path / "huge.npy"
    path.write_bytes(npy_header((10**8, 28, 28)) + bytes(99))
    assert path.stat().st_size < 300
    refused(tmp_path, "predict", cnn_run, "--input", path,
            fragments=("huge.npy", "(100000000, 28, 28)", "MAX_NPY_BYTES", "split it"))


@pytest.mark.parametrize("descr", ["<c16", "|O", "<U8", "|V8", "<M8[s]"])
def test_npy_dtypes_that_are_not_real_numbers_are_refused_from_the_header(refused, cnn_run, tmp_path, descr):
    path = tmp_path / "odd.npy"
    path.write_bytes(npy_header((10**7, 28, 28), descr))  # the declared data is never allocated
    refused(tmp_path, "predict", cnn_run, "--input", path, fragments=("odd.npy", "is not numeric"))


@pytest.mark.parametrize(("extra", "words"), [(-1, "truncated"), (-200_000, "truncated"), (3, "trailing bytes")])
def test_npy_data_that_does_not_match_its_header(refused, cnn_run, tmp_path, extra, words):
    path = tmp_path / "cut.npy"
    n = 100_000  # 78 MB declared
    data = bytes(max(0, 784 * 4 + extra)) if extra < 0 else bytes(784 * n + extra)
    path.write_bytes(npy_header((4 if extra < 0 else n, 28, 28), "|u1") + data)
    refused(tmp_path, "predict", cnn_run, "--input", path, fragments=("cut.npy", words, "bytes of data"))


def test_npy_that_is_a_zip_or_not_image_shaped(refused, cnn_run, tmp_path):
    npz_with(tmp_path / "disguised.npy", {})
    refused(tmp_path, "predict", cnn_run, "--input", tmp_path / "disguised.npy",
            fragments=("disguised.npy", "cannot read as .npy"))
    (tmp_path / "flat.npy").write_bytes(npy_header((3, 1000), "|u1") + bytes(3000))
    refused(tmp_path, "predict", cnn_run, "--input", tmp_path / "flat.npy", fragments=("shape (3, 1000) is not",))


def test_npz_members_are_checked_before_unpacking(refused, tmp_path):
    npz_with(tmp_path / "huge.npz", {"x_train": npy_header((10**8, 28, 28), "|u1")})
    refused(tmp_path, "data", "check", tmp_path / "huge.npz", fragments=("huge.npz[x_train]", "MAX_IDX_BYTES"))
    npz_with(tmp_path / "objects.npz", {"y_test": npy_header((2,), "|O") + bytes(16)})
    refused(tmp_path, "data", "check", tmp_path / "objects.npz", fragments=("objects.npz[y_test]", "not numeric"))
    # a zip bomb: 64 MiB of zeros after a 4-image array deflate to 64 KB, and np.load ignored them
    padded = npy_header((4, 28, 28), "|u1") + bytes(4 * 784 + 64 * 2**20)
    npz_with(tmp_path / "padded.npz", {"x_train": padded})
    del padded
    refused(tmp_path, "data", "check", tmp_path / "padded.npz", fragments=("padded.npz[x_train]", "trailing bytes"))


def test_an_npz_member_whose_zip_entry_lies_about_its_size(refused, tmp_path):
    path = npz_with(tmp_path / "lying.npz", {})
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the central directory entry of x_train.npy, the first member
    assert data[entry + 46:entry + 46 + 11] == b"x_train.npy"
    data[entry + 24:entry + 28] = struct.pack("<I", 3_000_000_000)  # its uncompressed size
    path.write_bytes(bytes(data))
    refused(tmp_path, "data", "check", path, fragments=("lying.npz[x_train]", "trailing bytes"))


# --- 3. IDX gzip bombs: the header is read first, then at most one byte past the declared payload


def test_an_idx_gzip_bomb_is_not_unpacked_whole(refused, tmp_path):
    path = gzip_streamed(tmp_path / "train-images-idx3-ubyte.gz", idx_header((400, 28, 28)), 160 * 2**20)
    assert path.stat().st_size < 400_000
    refused(tmp_path, "data", "check", path,
            fragments=("train-images-idx3-ubyte.gz", "trailing bytes", "400 images of 28x28 (313616 bytes)",
                       "more than 313616 bytes after gunzip"))


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_an_idx_header_declaring_more_than_the_cap(refused, tmp_path, gz):
    head = idx_header((4_000_000_000, 28, 28))
    path = tmp_path / ("x-idx3-ubyte.gz" if gz else "x-idx3-ubyte")
    path.write_bytes(gzip.compress(head + bytes(1000)) if gz else head + bytes(1000))
    refused(tmp_path, "data", "check", path, fragments=(path.name, "4000000000 images of 28x28", "MAX_IDX_BYTES"))


# --- 4. non-finite pixels


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_float_tiff_with_non_finite_pixels(refused, cnn_run, tmp_path, value):
    x = np.zeros((28, 28), np.float32)
    x[5:20, 12:15] = value
    if np.isnan(value):
        x[:] = np.nan  # all NaN: was predicted as class 0, exit 0
    Image.fromarray(x, mode="F").save(tmp_path / "odd.tif")
    refused(tmp_path, "predict", cnn_run, "--input", tmp_path / "odd.tif",
            fragments=("odd.tif", "NaN or infinite pixel", "finite values"))


def test_a_nan_in_an_npy_names_the_image_without_a_float64_copy(refused, cnn_run, tmp_path):
    x = np.zeros((10_000, 28, 28), np.float16)  # 16 MB; a float64 copy would be 63 MB more
    x[1234, 4, 5] = np.nan
    np.save(tmp_path / "x.npy", x)
    del x
    refused(tmp_path, "predict", cnn_run, "--input", tmp_path / "x.npy",
            fragments=("x.npy", "1 NaN or infinite value(s), the first in image 1234"))


# --- 5. file names cannot forge rows of the CSV or lines of the output


def test_names_with_commas_quotes_and_newlines_round_trip_through_the_csv(cli, cnn_run, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["a,b.png", 'say "7".png', "c\nfake,row.png", "plain.png"]
    x = np.zeros((28, 28), np.uint8)
    x[5:20, 12:15] = 255
    for name in names:
        Image.fromarray(x).save(folder / name)
    result = cli("predict", cnn_run, "--input", folder, "--output", tmp_path / "p.csv")
    assert result.code == 0, result.err
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["input", "predicted"] and len(rows) == 1 + len(names)
    assert sorted(row[0] for row in rows[1:]) == sorted(names)
    assert {len(row) for row in rows} == {len(rows[0])}
    out = result.out.splitlines()
    assert not any(line.startswith("fake,row.png") for line in out)
    assert sum(" -> " in line for line in out) == len(names) and any(line.startswith("c\\nfake,row.png -> ")
                                                                      for line in out)
