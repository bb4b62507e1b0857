"""2-D convolution (cross-correlation) against torch conv2d and the lecture's worked examples."""

import numpy as np
import pytest
import torch

from nnlab.errors import NnlabError
from nnlab.foundations import convolution as conv


def test_lecture_7x7_example():
    # Lecture "Introduction to Deep Learning with PyTorch", convolution slide: 7x7 image * X-kernel.
    expected = [[1, 4, 3, 4, 1], [1, 2, 4, 3, 3], [1, 2, 3, 4, 1], [1, 3, 3, 1, 1], [3, 3, 1, 1, 0]]
    np.testing.assert_array_equal(conv.convolve_image(conv.LECTURE_IMAGE, conv.LECTURE_KERNEL), expected)


def test_lecture_5x5_example():
    # Lecture "Introduction to Deep Learning with PyTorch", convolution slide: 5x5 image * X-kernel.
    image = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
    expected = [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    np.testing.assert_array_equal(conv.LECTURE_SMALL_IMAGE, image)
    np.testing.assert_array_equal(conv.convolve_image(image, conv.LECTURE_KERNEL), expected)
    # the slide's animation: one cell at a time in reading order, 4 3 4 / 2 4 3 / 2 3 4
    steps = conv.convolution_steps(image, conv.LECTURE_KERNEL)
    assert [(i, j) for i, j, _ in steps] == [(i, j) for i in range(3) for j in range(3)]
    assert [value for *_, value in steps] == np.ravel(expected).tolist()


def test_horizontal_edge_filter_is_the_vertical_one_turned():
    # The lecture asks what a horizontal edge detector looks like: Sobel-x transposed, rows -1 -2 -1 / 0 / 1 2 1.
    np.testing.assert_array_equal(conv.SOBEL_Y, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    out = conv.convolve_image(conv.step_image(6, 8, edge_column=4).T, conv.SOBEL_Y)  # dark above, bright below row 4
    expected = np.zeros((6, 4))
    expected[2:4] = 4.0
    np.testing.assert_array_equal(out, expected)
    assert np.all(conv.convolve_image(conv.step_image(), conv.SOBEL_Y) == 0)  # a vertical edge: no response


def test_vertical_edge_filter_responds_only_at_the_edge():
    # Sobel-x on a 0 -> 1 step between columns 3 and 4: windows over the edge see 1 + 2 + 1 = 4, others 0.
    out = conv.convolve_image(conv.step_image(6, 8, edge_column=4), conv.SOBEL_X)
    expected = np.zeros((4, 6))
    expected[:, 2:4] = 4.0
    np.testing.assert_array_equal(out, expected)
    assert np.all(conv.convolve_image(conv.step_image().T, conv.SOBEL_X) == 0)  # a horizontal edge: no response


COMBOS = [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2), ((1, 2), (2, 0)), ((2, 1), (0, 1))]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("stride, padding", COMBOS)
def test_matches_torch_conv2d(stride, padding, seed):
    rng = np.random.default_rng([seed, COMBOS.index((stride, padding))])
    n, c_in, c_out = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 5)
    kh, kw = rng.integers(1, 5, 2)
    x = rng.normal(size=(n, c_in, rng.integers(kh + 2, 12), rng.integers(kw + 2, 12)))
    weight, bias = rng.normal(size=(c_out, c_in, kh, kw)), rng.normal(size=c_out)
    expected = torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(weight), torch.tensor(bias), stride=stride, padding=padding
    ).numpy()
    out = conv.conv2d(x, weight, bias, stride=stride, padding=padding)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_is_cross_correlation_not_flipped_convolution():
    # A kernel with a single 1 at its top-left picks the top-left pixel of each window: no flip.
    image = np.arange(16.0).reshape(4, 4)
    kernel = np.zeros((2, 2))
    kernel[0, 0] = 1.0
    np.testing.assert_array_equal(conv.convolve_image(image, kernel), image[:3, :3])


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs",
    [((1, 2, 5, 5), (1, 3, 3, 3), {}), ((1, 1, 2, 2), (1, 1, 3, 3), {}), ((1, 1, 5, 5), (1, 1, 3, 3), {"stride": 0})],
)
def test_bad_shapes_and_arguments_are_user_errors(x_shape, w_shape, kwargs):
    with pytest.raises(NnlabError):
        conv.conv2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs)


POOLS = [(2, None, (2, 3, 8, 8)), (3, 1, (1, 2, 7, 9)), (2, 3, (2, 1, 9, 7)), (3, 2, (1, 1, 5, 5)),
         (2, 1, (1, 1, 2, 5))]


@pytest.mark.parametrize("size, stride, shape", POOLS)
def test_max_pooling_and_its_gradient_match_torch(size, stride, shape):
    rng = np.random.default_rng(POOLS.index((size, stride, shape)))
    x = rng.normal(size=shape)
    out = conv.max_pool2d(x, size, stride)
    grad_out = rng.normal(size=out.shape)
    leaf = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(leaf, size, stride)
    expected.backward(torch.tensor(grad_out))
    np.testing.assert_array_equal(out, expected.detach().numpy())
    np.testing.assert_allclose(conv.max_pool2d_backward(x, grad_out, size, stride), leaf.grad.numpy(), rtol=1e-12)


def test_max_pooling_takes_the_max_of_each_square_and_routes_its_gradient_there():
    x = np.array([[1, 3, 0, 2], [4, 2, 1, 1], [0, 0, 5, 5], [0, 1, 5, 5]], dtype=float)[None, None]
    np.testing.assert_array_equal(conv.max_pool2d(x)[0, 0], [[4, 2], [1, 5]])
    grad = conv.max_pool2d_backward(x, np.ones((1, 1, 2, 2)))[0, 0]
    # one 1 per square, at its maximum; the tie of four 5s goes to the first, as in torch
    np.testing.assert_array_equal(grad, [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]])


@pytest.mark.parametrize("shape, size", [((3, 3), 2), ((1, 1, 1, 4), 2), ((1, 1, 4, 4), 0)])
def test_max_pooling_refuses_what_it_cannot_pool(shape, size):
    with pytest.raises(NnlabError):
        conv.max_pool2d(np.zeros(shape), size)
