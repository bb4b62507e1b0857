"""Generated images written as one uint8 .npy array (like MNIST's), part by part: memory holds one part."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nnlab.files import atomic_path


def save_images_npy(parts: Iterable[np.ndarray], shape: tuple[int, ...], path: Path) -> Path:
    """Write images in [0, 1], given in parts, as one uint8 .npy of `shape`: memory holds one part, whatever n."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": np.dtype(np.uint8).str, "fortran_order": False,
                                                 "shape": shape})
        for images in parts:
            f.write(np.round(images * 255.0).astype(np.uint8).tobytes())
    return path
