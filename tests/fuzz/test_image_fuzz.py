"""Fuzzing the image readers (security review, nnlab 7): whatever Hypothesis draws from a hostile family
(huge declared sizes, wrong dtypes, truncated or trailing data, NaN, random bytes after a valid magic)
is refused by `predict` or `data check` in one line, exit 2, no file left, bounded memory (`refused`)."""

from __future__ import annotations

import gzip
import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nnlab.data.idx import IDX_DTYPES
from nnlab.data.image_files import MAX_PIXELS
from tests.data import test_image_hostile as hostile

FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
IMAGE_SHAPES = [(28, 28), (784,)]
BATCH_TAILS = [(28, 28), (784,), (1, 28, 28)]
NUMERIC = ["|u1", "|i1", "<i2", ">u2", "<f2", "<f4", ">f4", "<f8"]
NOT_NUMERIC = ["<c8", ">c16", "|O", "<U3", "|S4", "|V16", "<M8[s]", "<m8[ns]"]
FLOATS = ["<f2", "<f4", ">f4", "<f8", ">f8"]


@st.composite
def huge_npy(draw) -> tuple[bytes, tuple[str, ...]]:
    """A header declaring far more than MAX_NPY_BYTES, with a few stray bytes after it."""
    shape = (draw(st.integers(10**6, 10**15)), *draw(st.sampled_from(BATCH_TAILS)))
    return hostile.npy_header(shape, draw(st.sampled_from(NUMERIC))) + draw(st.binary(max_size=64)), ("MAX_NPY_BYTES",)


@st.composite
def wrong_dtype_npy(draw) -> tuple[bytes, tuple[str, ...]]:
    header = hostile.npy_header((draw(st.integers(0, 10**12)), 28, 28), draw(st.sampled_from(NOT_NUMERIC)))
    return header + draw(st.binary(max_size=64)), ("not numeric",)


@st.composite
def wrong_length_npy(draw) -> tuple[bytes, tuple[str, ...]]:
    """A valid header whose data is cut short, or followed by stray bytes."""
    descr = draw(st.sampled_from(NUMERIC))
    n = draw(st.integers(1, 4))
    size = n * 784 * np.dtype(descr).itemsize
    length = draw(st.integers(0, size + 256).filter(lambda k: k != size))
    words = "truncated" if length < size else "trailing bytes"
    return hostile.npy_header((n, 28, 28), descr) + draw(st.binary(min_size=length, max_size=length)), (words,)


@st.composite
def non_finite_npy(draw) -> tuple[bytes, tuple[str, ...]]:
    n = draw(st.integers(1, 4))
    x = np.zeros((n, 784), draw(st.sampled_from(FLOATS)))
    first = draw(st.integers(0, n * 784 - 1))
    x.flat[first] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    out = io.BytesIO()
    np.save(out, x)
    return out.getvalue(), (f"the first in image {first // 784}",)


@st.composite
def random_after_npy_magic(draw) -> tuple[bytes, tuple[str, ...]]:
    return b"\x93NUMPY" + draw(st.binary(max_size=300)), ("cannot read as .npy",)


@st.composite
def huge_png(draw) -> tuple[bytes, tuple[str, ...]]:
    """A PNG whose header claims more pixels than MAX_PIXELS: up to 2**31 - 1 on a side."""
    width = draw(st.integers(1, 2**31 - 1))
    height = draw(st.integers(MAX_PIXELS // width + 1, 2**31 - 1))
    return hostile.png_claiming(width, height), ("shrink it",)


@st.composite
def random_after_picture_magic(draw) -> tuple[bytes, tuple[str, ...]]:
    magic = draw(st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*"]))
    return magic + draw(st.binary(max_size=300)), ()


@st.composite
def non_finite_tiff(draw) -> tuple[bytes, tuple[str, ...]]:
    x = np.zeros((draw(st.integers(1, 40)), draw(st.integers(1, 40))), np.float32)
    x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    out = io.BytesIO()
    Image.fromarray(x, mode="F").save(out, format="TIFF")
    return out.getvalue(), ("NaN or infinite pixel",)


@st.composite
def wrong_idx(draw) -> tuple[bytes, tuple[str, ...]]:
    """An IDX header with any sizes and a payload that does not match it, raw or gzipped with a zero tail."""
    type_byte = draw(st.sampled_from(sorted(IDX_DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3)))
    payload = draw(st.binary(max_size=256)) + bytes(draw(st.sampled_from([0, 2**20, 8 * 2**20])))
    declared = IDX_DTYPES[type_byte].itemsize * int(np.prod(shape, dtype=object))
    if declared == len(payload):
        payload += b"\x00"
    data = hostile.idx_header(shape, type_byte) + payload
    return (gzip.compress(data, compresslevel=1) if draw(st.booleans()) else data), ()


NPY_FAMILIES = st.one_of(huge_npy(), wrong_dtype_npy(), wrong_length_npy(), non_finite_npy(), random_after_npy_magic())


@FUZZ
@given(case=NPY_FAMILIES)
def test_predict_refuses_hostile_npy(refused, cnn_run, tmp_path_factory, case):
    content, words = case
    folder = tmp_path_factory.mktemp("npy")
    (folder / "x.npy").write_bytes(content)
    refused(folder, "predict", cnn_run, "--input", folder / "x.npy", fragments=("x.npy", *words))


@FUZZ
@given(case=st.one_of(huge_png(), random_after_picture_magic(), non_finite_tiff()))
def test_predict_refuses_hostile_pictures(refused, cnn_run, tmp_path_factory, case):
    content, words = case
    folder = tmp_path_factory.mktemp("picture")
    name = "x.tif" if content[:2] in (b"II", b"MM") else "x.png"
    (folder / name).write_bytes(content)
    refused(folder, "predict", cnn_run, "--input", folder / name, fragments=(name, *words))


@FUZZ
@given(case=st.one_of(wrong_idx(), st.tuples(st.just("npz"), NPY_FAMILIES)))
def test_data_check_refuses_hostile_idx_and_npz(refused, tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("data")
    if case[0] == "npz":
        content, _ = case[1]
        path = hostile.npz_with(folder / "mnist.npz", {"x_test": content})
        name = "mnist.npz"
    else:
        path = folder / "t10k-images-idx3-ubyte.gz"
        path.write_bytes(case[0])
        name = path.name
    refused(folder, "data", "check", path, fragments=(name,))
