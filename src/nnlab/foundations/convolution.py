"""Discrete 2-D convolution as deep-learning libraries define it (a "valid" cross-correlation), and max-pooling.

Source: lecture "Introduction to Deep Learning with PyTorch", convolutional layers (the
7x7 and 5x5 worked examples with the kernel [[1,0,1],[0,1,0],[1,0,1]]); conventions as in
torch.nn.functional.conv2d: no kernel flip, input (N, C_in, H, W), weight (C_out, C_in, kh, kw);
max-pooling as torch.nn.functional.max_pool2d ("take the max from a 2x2 square", the lecture's VGG slide).
"""

from __future__ import annotations

import numpy as np

from nnlab.errors import NnlabError


def _pair(value: int | tuple[int, int], name: str, minimum: int) -> tuple[int, int]:
    """Expand an int to (v, v) and check both entries are integers >= minimum."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < minimum for v in pair):
        raise NnlabError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    """out[n, o, i, j] = bias[o] + sum_{c, u, v} weight[o, c, u, v] * x_pad[n, c, i*sh + u, j*sw + v].

    Zero padding on all four sides, then every kh x kw window is read at once with
    sliding_window_view (no copies, no Python loop over pixels) and contracted with einsum.
    Output size per axis: (H + 2 p - kh) // s + 1.
    """
    x, weight = np.asarray(x, dtype=float), np.asarray(weight, dtype=float)
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise NnlabError(f"conv2d needs x (N, C, H, W) and weight (C_out, C, kh, kw), got {x.shape} and {weight.shape}")
    kh, kw = weight.shape[2:]
    if x.shape[2] + 2 * ph < kh or x.shape[3] + 2 * pw < kw:
        raise NnlabError(f"kernel {kh}x{kw} is larger than the padded input {x.shape[2:]} + padding {(ph, pw)}")
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))  # (N, C, H', W', kh, kw)
    windows = windows[:, :, ::sh, ::sw]
    out = np.einsum("nchwuv,ocuv->nohw", windows, weight)  # (N, C_out, H_out, W_out)
    return out if bias is None else out + np.asarray(bias, dtype=float)[None, :, None, None]


def convolve_image(image: np.ndarray, kernel: np.ndarray, *, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Single-channel convenience: a 2-D image (H, W) and kernel (kh, kw) give the 2-D feature map."""
    return conv2d(np.asarray(image)[None, None], np.asarray(kernel)[None, None], stride=stride, padding=padding)[0, 0]


# The lecture's worked example: a 7x7 binary image and the "X"-shaped 3x3 kernel.
LECTURE_IMAGE = np.array(
    [
        [0, 1, 1, 1, 0, 0, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0, 0, 0],
        [0, 1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0, 0],
    ],
    dtype=float,
)
LECTURE_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)

# Horizontal gradient filter: responds to vertical edges (Sobel x, cross-correlation convention).
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)


def step_image(height: int = 6, width: int = 8, *, edge_column: int = 4) -> np.ndarray:
    """Image that is 0 left of `edge_column` and 1 from it on: a single vertical edge."""
    image = np.zeros((height, width))
    image[:, edge_column:] = 1.0
    return image

# Vertical gradient filter: responds to horizontal edges, the lecture's question about SOBEL_X answered.
SOBEL_Y = SOBEL_X.T.copy()

# The lecture's animated example: a 5x5 image under the same X-shaped kernel.
LECTURE_SMALL_IMAGE = LECTURE_IMAGE[:5, 1:6].copy()


def convolution_steps(image: np.ndarray, kernel: np.ndarray) -> list[tuple[int, int, float]]:
    """The valid convolution one output cell at a time, in reading order: (row, column, sum of kernel * window).

    The same numbers as `convolve_image`, computed the slow way a reader follows on paper."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    return [(i, j, float(np.sum(image[i:i + kh, j:j + kw] * kernel)))
            for i in range(image.shape[0] - kh + 1) for j in range(image.shape[1] - kw + 1)]


def max_pool2d(x: np.ndarray, size: int = 2, stride: int | None = None) -> np.ndarray:
    """out[n, c, i, j] = max of x[n, c] over the size x size window at (i*stride, j*stride); stride defaults to size.

    As torch.nn.functional.max_pool2d without padding: a partial window at the border is dropped."""
    return _pool_windows(np.asarray(x, dtype=float), size, stride)[0].max(axis=(4, 5))


def max_pool2d_backward(x: np.ndarray, grad_out: np.ndarray, size: int = 2, stride: int | None = None) -> np.ndarray:
    """dL/dx of max_pool2d: each output's gradient goes to the one input that was its window's maximum.

    A tie goes to the first maximum in reading order, as torch does; overlapping windows add up."""
    x = np.asarray(x, dtype=float)
    windows, size, step = _pool_windows(x, size, stride)
    n, c, h_out, w_out = windows.shape[:4]
    if np.shape(grad_out) != windows.shape[:4]:
        raise NnlabError(f"grad_out must have max_pool2d's output shape {windows.shape[:4]}, got {np.shape(grad_out)}")
    first_max = windows.reshape(n, c, h_out, w_out, size * size).argmax(axis=-1)  # argmax takes the first of ties
    rows = np.arange(h_out)[:, None] * step + first_max // size
    cols = np.arange(w_out)[None, :] * step + first_max % size
    grad = np.zeros_like(x)
    batch, channel = np.ogrid[:n, :c]
    np.add.at(grad, (batch[..., None, None], channel[..., None, None], rows, cols), grad_out)
    return grad


def _pool_windows(x: np.ndarray, size: int, stride: int | None) -> tuple[np.ndarray, int, int]:
    """Every pooling window of x (N, C, H, W) as a view (N, C, H_out, W_out, size, size), with the checked window
    size and stride (the stride defaults to the size)."""
    (size, _), (step, _) = _pair(size, "size", 1), _pair(stride if stride is not None else size, "stride", 1)
    if x.ndim != 4 or x.shape[2] < size or x.shape[3] < size:
        raise NnlabError(f"max_pool2d needs x (N, C, H, W) with H and W >= {size}, got {x.shape}")
    return np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::step, ::step], size, step
