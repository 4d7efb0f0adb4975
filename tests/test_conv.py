"""Specification of coursekit.conv: cross-correlation, padding and output sizes."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import signal

from coursekit.conv import CLASSIC_KERNELS, classic_kernel, conv2d, corr2d, output_size, pad2d
from coursekit.testing import conv2d_reference

# The 4x4 exercise of the lecture slides, and its published answers for the all-ones kernel.
SLIDES_IMAGE = np.array([[3, 1, 4, 3], [3, 2, 3, 1], [4, 3, 6, 4], [3, 3, 1, 7]])
ONES = np.ones((3, 3), dtype=int)
SLIDES_VALID = [[29, 27], [28, 30]]
SLIDES_PADDED = [[9, 16, 14, 11], [16, 29, 27, 21], [18, 28, 30, 22], [13, 20, 24, 18]]


# --- the slides' hand-computed example -------------------------------------------


def test_slides_example_valid():
    np.testing.assert_array_equal(corr2d(SLIDES_IMAGE, ONES), SLIDES_VALID)


def test_slides_example_zero_padding_of_one():
    np.testing.assert_array_equal(corr2d(pad2d(SLIDES_IMAGE, 1), ONES), SLIDES_PADDED)
    padded = conv2d(SLIDES_IMAGE[None, None], ONES[None, None], padding=1)
    np.testing.assert_array_equal(padded[0, 0], SLIDES_PADDED)


def test_integer_inputs_give_exact_integers():
    out = corr2d(SLIDES_IMAGE, ONES)
    assert out.dtype == np.int64


# --- agreement with SciPy ----------------------------------------------------------


@pytest.mark.parametrize("image_shape", [(4, 5), (7, 5), (16, 33), (136, 136)])
@pytest.mark.parametrize("kernel_shape", [(1, 1), (3, 3), (2, 5), (4, 1)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64, np.float32, np.float64])
def test_corr2d_matches_scipy_correlate2d(image_shape, kernel_shape, dtype):
    rng = np.random.default_rng(sum(image_shape) * 31 + sum(kernel_shape))
    x = rng.integers(0, 81, size=image_shape).astype(dtype)  # dBZ-like values
    k = rng.integers(-5, 6, size=kernel_shape).astype(dtype if dtype != np.uint8 else np.int64)
    expected = signal.correlate2d(x.astype(np.float64), k.astype(np.float64), mode="valid")
    result = corr2d(x, k)
    tolerance = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(result, expected, rtol=tolerance, atol=tolerance)


def test_uint8_image_and_kernel_do_not_wrap_around():
    x = np.full((4, 4), 80, dtype=np.uint8)
    k = np.full((3, 3), 200, dtype=np.uint8)
    assert corr2d(x, k)[0, 0] == 80 * 200 * 9


def test_float32_stays_float32():
    x = np.ones((1, 1, 8, 8), dtype=np.float32)
    w = np.ones((2, 1, 3, 3), dtype=np.float32)
    assert conv2d(x, w).dtype == np.float32


def test_true_convolution_is_correlation_with_flipped_kernel():
    rng = np.random.default_rng(3)
    x, k = rng.normal(size=(12, 9)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(signal.convolve2d(x, k, mode="valid"), corr2d(x, k[::-1, ::-1]))
    assert not np.allclose(signal.convolve2d(x, k, mode="valid"), corr2d(x, k))


# --- conv2d: channels, filters, bias, stride, padding ----------------------------------


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding",
    [
        ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0),
        ((2, 3, 9, 7), (4, 3, 3, 3), 1, 1),
        ((2, 3, 9, 7), (4, 3, 3, 2), 2, 1),
        ((3, 2, 10, 11), (5, 2, 5, 5), 3, 2),
        ((1, 6, 14, 14), (16, 6, 5, 5), 1, 0),
    ],
)
def test_conv2d_matches_loop_reference(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    np.testing.assert_allclose(
        conv2d(x, w, b, stride=stride, padding=padding),
        conv2d_reference(x, w, b, stride=stride, padding=padding),
        atol=1e-12,
    )


def test_channels_are_summed():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(1, 3, 8, 8)), rng.normal(size=(1, 3, 3, 3))
    by_channel = sum(corr2d(x[0, c], w[0, c]) for c in range(3))
    np.testing.assert_allclose(conv2d(x, w)[0, 0], by_channel)


def test_each_filter_gives_its_own_map():
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(2, 1, 8, 8)), rng.normal(size=(3, 1, 3, 3))
    out = conv2d(x, w)
    for n in range(2):
        for f in range(3):
            np.testing.assert_allclose(out[n, f], corr2d(x[n, 0], w[f, 0]))


def test_stride_and_padding_accept_pairs():
    x = np.arange(2 * 1 * 6 * 9, dtype=float).reshape(2, 1, 6, 9)
    w = np.ones((1, 1, 3, 3))
    out = conv2d(x, w, stride=(1, 2), padding=(0, 1))
    assert out.shape == (2, 1, output_size(6, 3, 0, 1), output_size(9, 3, 1, 2))


def test_matches_torch_conv2d():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, w, b = rng.normal(size=(4, 3, 17, 13)), rng.normal(size=(6, 3, 3, 5)), rng.normal(size=6)
    for stride, padding in [(1, 0), (2, 1), ((1, 3), (2, 0))]:
        expected = torch.nn.functional.conv2d(
            torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride, padding=padding
        ).numpy()
        np.testing.assert_allclose(conv2d(x, w, b, stride, padding), expected, atol=1e-10)


# --- properties ------------------------------------------------------------------------

small_images = arrays(np.float64, st.tuples(st.integers(3, 12), st.integers(3, 12)),
                      elements=st.floats(-100, 100))
small_kernels = arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3)),
                       elements=st.floats(-10, 10))


@given(small_images, small_images, small_kernels, st.floats(-5, 5), st.floats(-5, 5))
def test_linear_in_the_image(x1, x2, k, a, b):
    rows, cols = min(x1.shape[0], x2.shape[0]), min(x1.shape[1], x2.shape[1])
    x1, x2 = x1[:rows, :cols], x2[:rows, :cols]
    combined = corr2d(a * x1 + b * x2, k)
    np.testing.assert_allclose(combined, a * corr2d(x1, k) + b * corr2d(x2, k), atol=1e-6)


@given(small_images, small_kernels, small_kernels, st.floats(-5, 5))
def test_linear_in_the_kernel(x, k1, k2, a):
    rows, cols = min(k1.shape[0], k2.shape[0]), min(k1.shape[1], k2.shape[1])
    k1, k2 = k1[:rows, :cols], k2[:rows, :cols]
    np.testing.assert_allclose(corr2d(x, k1 + a * k2), corr2d(x, k1) + a * corr2d(x, k2), atol=1e-6)


@given(small_images, small_kernels, st.integers(0, 2), st.integers(0, 2))
def test_shift_equivariance(x, k, dr, dc):
    """Shifting the image shifts the output by the same amount (where both are defined)."""
    assume(x.shape[0] - dr >= k.shape[0] and x.shape[1] - dc >= k.shape[1])
    shifted = corr2d(x[dr:, dc:], k)
    np.testing.assert_allclose(shifted, corr2d(x, k)[dr:, dc:], atol=1e-9)


@given(
    st.integers(1, 20), st.integers(1, 20), st.integers(1, 6), st.integers(1, 6),
    st.integers(0, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
)
def test_output_shape_equals_output_size(h, w, kh, kw, padding, stride, c_in, c_out):
    assume(kh <= h + 2 * padding and kw <= w + 2 * padding)
    out = conv2d(np.ones((2, c_in, h, w)), np.ones((c_out, c_in, kh, kw)), stride=stride, padding=padding)
    assert out.shape == (2, c_out, output_size(h, kh, padding, stride), output_size(w, kw, padding, stride))


# --- output_size and pad2d -----------------------------------------------------------


@pytest.mark.parametrize(
    "n, k, padding, stride, expected",
    [(4, 3, 0, 1, 2), (4, 3, 1, 1, 4), (5, 3, 0, 1, 3), (5, 3, 0, 2, 2), (32, 5, 0, 1, 28),
     (28, 5, 2, 1, 28), (136, 3, 0, 3, 45), (7, 7, 0, 1, 1)],
)
def test_output_size_examples(n, k, padding, stride, expected):
    assert output_size(n, k, padding, stride) == expected


def test_pad2d_pads_only_the_last_two_axes():
    x = np.ones((2, 3, 4, 5))
    assert pad2d(x, (1, 2)).shape == (2, 3, 6, 9)
    assert pad2d(x, 0).shape == x.shape
    assert pad2d(np.ones((2, 2)), 1, value=7)[0, 0] == 7


# --- classic kernels ------------------------------------------------------------------


def test_classic_kernels_sums():
    for name in ("edge", "sobel_x", "sobel_y"):
        assert classic_kernel(name).sum() == 0
    for name in ("identity", "sharpen", "box_blur", "gaussian_blur"):
        assert classic_kernel(name).sum() == pytest.approx(1.0)
    assert set(CLASSIC_KERNELS) >= {"edge", "sharpen", "gaussian_blur", "sobel_x", "sobel_y"}


def test_sobel_y_is_sobel_x_transposed_and_detects_vertical_change():
    np.testing.assert_array_equal(classic_kernel("sobel_y"), classic_kernel("sobel_x").T)
    step = np.zeros((5, 5))
    step[:, 3:] = 1  # intensity rises from left to right
    assert corr2d(step, classic_kernel("sobel_x")).min() >= 0
    assert corr2d(step, classic_kernel("sobel_x")).max() > 0
    assert np.all(corr2d(step, classic_kernel("sobel_y")) == 0)


def test_classic_kernel_returns_a_fresh_copy():
    classic_kernel("edge")[1, 1] = 0
    assert classic_kernel("edge")[1, 1] == 8


def test_identity_kernel_returns_the_interior():
    x = np.arange(30.0).reshape(5, 6)
    np.testing.assert_array_equal(corr2d(x, classic_kernel("identity")), x[1:-1, 1:-1])


# --- bad input: clear errors that name the argument -----------------------------------


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: corr2d(np.ones((3, 3, 1)), ONES), ValueError, "`x` must be a 2-dimensional"),
        (lambda: corr2d(np.ones((4, 4)), np.ones(3)), ValueError, "`k` must be a 2-dimensional"),
        (lambda: corr2d(np.ones((2, 4)), ONES), ValueError, "`k`.*larger than the image"),
        (lambda: corr2d([["a", "b"]], ONES), TypeError, "`x` must hold numbers"),
        (lambda: conv2d(np.ones((3, 8, 8)), np.ones((1, 3, 3, 3))), ValueError, "`x` must be a 4-dimensional"),
        (lambda: conv2d(np.ones((1, 3, 8, 8)), np.ones((3, 3, 3))), ValueError, "`w` must be a 4-dimensional"),
        (lambda: conv2d(np.ones((1, 3, 8, 8)), np.ones((2, 2, 3, 3))), ValueError, "Channel mismatch.*3 channels"),
        (lambda: conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 5)), padding=1), ValueError,
         "larger than the padded input"),
        (lambda: conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), stride=0), ValueError,
         "`stride` must be positive; got 0"),
        (lambda: conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), stride=1.5), TypeError,
         "`stride` must be an integer; got 1.5"),
        (lambda: conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), stride=True), TypeError,
         "`stride` must be an integer"),
        (lambda: conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), padding=-1), ValueError,
         "`padding` must be non-negative; got -1"),
        (lambda: conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), padding=(1, 2, 3)), ValueError,
         "`padding` must be an integer or a pair"),
        (lambda: conv2d(np.ones((1, 1, 8, 8)), np.ones((2, 1, 3, 3)), b=np.ones(3)), ValueError,
         r"`b` must have shape \(2,\)"),
        (lambda: output_size(4, 5), ValueError, r"`k` \(5\) is larger than the padded input"),
        (lambda: output_size(4, 3, stride=0), ValueError, "`stride` must be positive"),
        (lambda: output_size(4.0, 3), TypeError, "`n` must be an integer"),
        (lambda: pad2d(np.ones(3), 1), ValueError, "`x` must have at least 2 dimensions"),
        (lambda: pad2d(np.ones((3, 3)), -2), ValueError, "`padding` must be non-negative"),
        (lambda: classic_kernel("laplace"), ValueError, "`name` must be one of"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
