"""Read and write IDX files, the format of MNIST, Fashion-MNIST, KMNIST and EMNIST.

Format (docs/data.md#the-idx-format, from LeCun's MNIST page): two zero bytes, a type byte, the number of
dimensions, one big-endian uint32 size per dimension, then the data row-major, big-endian.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from nnlab.errors import DataError
from nnlab.files import atomic_path

# IDX type byte -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_BYTES = 4
# The largest IDX payload read: 1 GiB holds EMNIST ByClass, the largest of the family (697,932
# training images, 547 MB), with room to spare; a header claiming more is refused unread.
MAX_IDX_BYTES = 2**30


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzipped, into a native-endian array of its declared shape.

    Gzip is recognised by its magic bytes, so a misnamed file still loads. The header is read
    first and then exactly the bytes it declares (at most MAX_IDX_BYTES), streaming through
    gzip, so a gzip bomb is never unpacked whole. Every problem (missing file, bad gzip, wrong
    magic or type byte, too large, truncated or trailing data) raises a one-line `DataError`
    that names the file and says what is wrong.
    """
    path = Path(path)
    gunzipped = False
    try:
        with open(path, "rb") as raw:
            start = raw.read(4)
            raw.seek(0)
            gunzipped = start[:2] == _GZIP_MAGIC
            if gunzipped:
                with gzip.GzipFile(fileobj=raw) as stream:
                    return _read_idx_stream(stream, str(path), stored_bytes=None)
            if path.suffix == ".gz" and start[:2] != b"\x00\x00":
                raise DataError(f"{path}: named .gz but is neither gzip nor IDX (starts with {start.hex(' ')})")
            return _read_idx_stream(raw, str(path), stored_bytes=os.fstat(raw.fileno()).st_size)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: corrupt gzip stream ({err}); download or copy it again") from None
    except OSError as err:
        if gunzipped:
            raise DataError(f"{path}: corrupt gzip stream ({err}); download or copy it again") from None
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None


def _read_idx_stream(stream, name: str, *, stored_bytes: int | None) -> np.ndarray:
    """Parse the header from the first bytes, check the declared size, then read just that payload.

    `stored_bytes` is the size of a raw file (checked before reading); a gzip stream (None) is
    read in chunks up to one byte past the payload, so memory follows the data actually there.
    """
    head = stream.read(_HEADER_BYTES)
    if len(head) == _HEADER_BYTES and head[:2] == b"\x00\x00":
        head += stream.read(4 * head[3])
    dtype, shape = _parse_header(head, name)
    expected = len(head) + dtype.itemsize * math.prod(shape)
    if expected > MAX_IDX_BYTES:
        raise DataError(f"{name}: header declares {_describe(shape, dtype)} ({expected} bytes), over the "
                        f"{MAX_IDX_BYTES / 2**30:g} GiB limit ({__name__}.MAX_IDX_BYTES); is it an IDX file?")
    if stored_bytes is not None and stored_bytes != expected:
        raise _size_error(name, shape, dtype, expected, stored_bytes)
    data = bytearray(head)
    while len(data) <= expected and (chunk := stream.read(min(1 << 20, expected + 1 - len(data)))):
        data += chunk
    if len(data) != expected:  # a gzip stream is not unpacked past one byte too many
        gunzipped = stored_bytes is None
        raise _size_error(name, shape, dtype, expected, len(data), gunzipped=gunzipped, at_least=gunzipped)
    return parse_idx(data, name=name)


def _size_error(
    name: str, shape: tuple[int, ...], dtype: np.dtype, expected: int, held: int, *,
    gunzipped: bool = False, at_least: bool = False,
) -> DataError:
    """The one line for a file that holds fewer or more bytes than its header declares; `at_least`:
    reading stopped at `held`, one byte past the payload, so the true size is not known."""
    how = "truncated" if held < expected else "trailing bytes"
    holds = f"more than {expected}" if at_least and held > expected else str(held)
    return DataError(f"{name}: {how}: header declares {_describe(shape, dtype)} ({expected} bytes) "
                     f"but the file holds {holds} bytes{' after gunzip' if gunzipped else ''}")


def parse_idx(data: bytes, *, name: str = "<bytes>", gunzipped: bool = False) -> np.ndarray:
    """Parse the bytes of an uncompressed IDX file; `name` labels error messages."""
    dtype, shape = _parse_header(data, name)
    offset = _HEADER_BYTES + 4 * len(shape)
    expected = offset + dtype.itemsize * math.prod(shape)
    if len(data) != expected:
        raise _size_error(name, shape, dtype, expected, len(data), gunzipped=gunzipped)
    array = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=not isinstance(data, bytearray))  # writable, native-endian


def _parse_header(data: bytes, name: str) -> tuple[np.dtype, tuple[int, ...]]:
    """Check magic, type byte and ndim; return the element dtype and the declared shape."""
    if len(data) < _HEADER_BYTES:
        raise DataError(f"{name}: truncated: {len(data)} bytes is too short for an IDX header")
    if data[:2] != b"\x00\x00":
        raise DataError(f"{name}: not an IDX file: magic bytes are {data[:2].hex(' ')}, expected 00 00")
    type_byte, ndim = data[2], data[3]
    if type_byte not in IDX_DTYPES:
        known = ", ".join(f"0x{t:02X}" for t in IDX_DTYPES)
        raise DataError(f"{name}: unknown IDX type byte 0x{type_byte:02X} (expected one of {known})")
    if ndim == 0:
        raise DataError(f"{name}: IDX header declares 0 dimensions")
    if len(data) < _HEADER_BYTES + 4 * ndim:
        raise DataError(f"{name}: truncated: header declares {ndim} dimensions but the sizes are cut off")
    sizes = np.frombuffer(data, dtype=">u4", count=ndim, offset=_HEADER_BYTES)
    return IDX_DTYPES[type_byte], tuple(int(s) for s in sizes)


def _describe(shape: tuple[int, ...], dtype: np.dtype) -> str:
    """Say what a header declares in the words of the MNIST family ('10000 labels')."""
    if len(shape) == 1 and dtype.kind == "u":
        return f"{shape[0]} labels"
    if len(shape) == 3:
        return f"{shape[0]} images of {shape[1]}x{shape[2]}"
    return f"shape {shape} of {dtype.newbyteorder('=').name}"


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file, atomically, gzipped when `compress` (default: name ends in .gz).

    Used by tests and round-trips; the dtype must be one IDX knows (uint8, int8, int16,
    int32, float32, float64), and every dimension must fit in 32 bits.
    """
    path = Path(path)
    array = np.asarray(array)
    type_byte = _type_byte(array.dtype)
    if array.ndim == 0 or array.ndim > 255 or any(s >= 2**32 for s in array.shape):
        raise ValueError(f"{path}: cannot write shape {array.shape} as IDX (1..255 dims, each < 2**32)")
    header = bytes([0, 0, type_byte, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[type_byte]).tobytes()
    if path.suffix == ".gz" if compress is None else compress:
        payload = gzip.compress(payload, compresslevel=6, mtime=0)  # mtime=0: same bytes every time
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return path


def _type_byte(dtype: np.dtype) -> int:
    for type_byte, idx_dtype in IDX_DTYPES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return type_byte
    raise ValueError(f"IDX cannot hold dtype {dtype}; use uint8, int8, int16, int32, float32 or float64")
