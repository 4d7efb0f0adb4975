"""Specification of coursekit.conv: cross-correlation, padding and output sizes."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import signal

from coursekit.conv import CLASSIC_KERNELS, classic_kernel, conv2d, corr2d, output_size, pad2d
from coursekit import nn
from coursekit.testing import conv2d_reference, numerical_gradient

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


@pytest.mark.parametrize("view", [
    lambda x: x.transpose(0, 1, 3, 2),          # columns before rows in memory
    lambda x: x[:, :, ::-1, ::2],               # reversed rows, every other column
    lambda x: x[::2, 1:],                       # every other image, channels 1 and 2
    lambda x: np.asfortranarray(x),
])
def test_conv2d_reads_inputs_of_any_memory_layout(view):
    # The windows are a strided view of the input: they must follow its strides.
    rng = np.random.default_rng(12)
    x = view(rng.normal(size=(4, 3, 9, 10)))
    w = rng.normal(size=(2, x.shape[1], 3, 2))
    for stride, padding in [((1, 1), (0, 0)), ((2, 2), (1, 1)), ((1, 2), (2, 0))]:
        np.testing.assert_allclose(conv2d(x, w, stride=stride, padding=padding),
                                   _loops_with_pairs(x, w, stride, padding), atol=1e-12)


def _read_only(x):
    x = np.array(x)
    x.flags.writeable = False
    return x


@pytest.mark.parametrize("layout", ["compact", "pixels", "strips"])
@pytest.mark.parametrize("view", [
    lambda x: x.transpose(0, 1, 3, 2),
    lambda x: x[:, :, ::-1, ::2],
    lambda x: x[::2, 1:],
    np.asfortranarray,
    _read_only,
    lambda x: np.round(x * 10).astype(np.int64),
    lambda x: x.astype(np.float32),
    lambda x: x[1:],                            # C-ordered, but not at the start of its buffer
    lambda x: x[:, 1:2],
    lambda x: x.astype(object),                 # references, which must not be copied as bytes
])
def test_every_layout_copies_its_windows_from_any_input(layout, view):
    """Each layout copies its windows as runs of bytes taken straight from the (framed)
    input: a wrong stride, a run taken from a view instead of its base, or a run of the
    wrong length in another dtype would read the wrong pixels."""
    from coursekit import conv

    rng = np.random.default_rng(13)
    x = view(rng.normal(size=(4, 3, 9, 10)))
    w = rng.normal(size=(2, x.shape[1], 3, 2)).astype(x.dtype)
    tolerance = 1e-4 if x.dtype == np.float32 else 1e-12
    for padding in [(0, 0), (1, 1), (2, 0)]:
        out, _ = conv._correlate(x, w, None, (1, 1), padding, layout=layout)
        np.testing.assert_allclose(out.astype(float), _loops_with_pairs(x, w, (1, 1), padding), rtol=tolerance,
                                   atol=tolerance, err_msg=f"{layout}, padding {padding}")
        assert out.dtype == x.dtype


@pytest.mark.parametrize("layout", ["compact", "pixels", "strips"])
def test_every_layout_takes_an_empty_batch(layout):
    """A batch of no images (the last, empty slice of a dataset) gives no outputs and a zero
    weight gradient, instead of a reshape error."""
    from coursekit import conv

    out, columns = conv._correlate(np.zeros((0, 3, 8, 8)), np.ones((2, 3, 3, 3)), None, (1, 1), (1, 1), layout)
    assert out.shape == (0, 2, 8, 8)
    grad_w = conv._weight_gradient(np.zeros(out.shape), columns, (2, 3, 3, 3))
    np.testing.assert_array_equal(grad_w, np.zeros((2, 3, 3, 3)))


# corr2d is conv2d on a batch of one, so SciPy, not corr2d, is the reference below.


def test_channels_are_summed():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(1, 3, 8, 8)), rng.normal(size=(1, 3, 3, 3))
    by_channel = sum(signal.correlate2d(x[0, c], w[0, c], mode="valid") for c in range(3))
    np.testing.assert_allclose(conv2d(x, w)[0, 0], by_channel)


def test_each_filter_gives_its_own_map():
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(2, 1, 8, 8)), rng.normal(size=(3, 1, 3, 3))
    out = conv2d(x, w)
    for n in range(2):
        for f in range(3):
            np.testing.assert_allclose(out[n, f], signal.correlate2d(x[n, 0], w[f, 0], mode="valid"))


def test_stride_and_padding_accept_pairs():
    x = np.arange(2 * 1 * 6 * 9, dtype=float).reshape(2, 1, 6, 9)
    w = np.ones((1, 1, 3, 3))
    out = conv2d(x, w, stride=(1, 2), padding=(0, 1))
    # Rows: 6 - 3 + 1 = 4 windows. Columns: 9 + 2 = 11 padded, windows start at 0, 2, ..., 8: 5.
    assert out.shape == (2, 1, 4, 5)
    np.testing.assert_allclose(out, _loops_with_pairs(x, w, (1, 2), (0, 1)))


def _loops_with_pairs(x, w, stride, padding):
    """The loop reference with separate row and column stride and padding."""
    (sr, sc), (pr, pc) = stride, padding
    xp = np.pad(x, [(0, 0), (0, 0), (pr, pr), (pc, pc)]).astype(float)
    kh, kw = w.shape[-2:]
    rows = len(range(0, xp.shape[2] - kh + 1, sr))
    cols = len(range(0, xp.shape[3] - kw + 1, sc))
    out = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for n, f, i, j in np.ndindex(*out.shape):
        out[n, f, i, j] = np.sum(xp[n, :, i * sr : i * sr + kh, j * sc : j * sc + kw] * w[f])
    return out


def test_matches_torch_conv2d():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, w, b = rng.normal(size=(4, 3, 17, 13)), rng.normal(size=(6, 3, 3, 5)), rng.normal(size=6)
    for stride, padding in [(1, 0), (2, 1), ((1, 3), (2, 0))]:
        expected = torch.nn.functional.conv2d(
            torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride, padding=padding
        ).numpy()
        np.testing.assert_allclose(conv2d(x, w, b, stride, padding), expected, atol=1e-10)


# --- the gradient, which nn.Conv2D's backward pass takes from this module ---------------------

# Each case sends the backward pass down one of its paths; the expected gradients are central
# differences of the loop reference, which shares no code with conv2d.
GRADIENT_CASES = {
    "stride 1: correlate with the rotated kernel": ((2, 2, 5, 6), (3, 2, 2, 3), 1, 0),
    "stride 1 with padding": ((1, 2, 5, 5), (2, 2, 3, 3), 1, 1),
    "padding as tall as the kernel": ((1, 2, 4, 5), (2, 2, 1, 3), 1, 1),
    "padding as wide as the kernel": ((1, 2, 5, 4), (2, 2, 3, 1), 1, 1),
    "windows that tile the map": ((2, 2, 6, 4), (2, 2, 2, 2), 2, 0),
    "kernel equal to the stride, last row and column unread": ((1, 2, 5, 5), (2, 2, 2, 2), 2, 0),
    "kernel equal to the stride, with padding": ((1, 1, 4, 4), (2, 1, 2, 2), 2, 1),
    # As many windows as fit the unpadded map, but shifted by the padding: no plain reshape.
    "kernel equal to the stride, padded, as many windows as tiles": ((1, 2, 6, 6), (2, 2, 3, 3), 3, 1),
    "taller stride than wide": ((1, 2, 7, 6), (2, 2, 3, 2), (2, 1), 1),
    "wider stride than tall": ((1, 2, 6, 7), (2, 2, 2, 3), (1, 2), 0),
    "stride 3 with padding": ((2, 1, 7, 8), (2, 1, 3, 3), 3, 2),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_conv2d_gradients_equal_central_differences_of_the_loop_reference(case):
    x_shape, w_shape, stride, padding = GRADIENT_CASES[case]
    rng = np.random.default_rng(sorted(GRADIENT_CASES).index(case))
    layer = nn.Conv2D(w_shape[1], w_shape[0], w_shape[2:], stride=stride, padding=padding, rng=rng)
    x, w, b = rng.normal(size=x_shape), layer.weight.value, layer.bias.value
    upstream = rng.normal(size=layer(x).shape)
    grad_x = layer.backward(upstream)

    def f():
        return float(np.sum(conv2d_reference(x, w, b, stride, padding) * upstream))

    for name, analytic, array in [("x", grad_x, x), ("w", layer.weight.grad, w), ("b", layer.bias.grad, b)]:
        np.testing.assert_allclose(analytic, numerical_gradient(f, array), rtol=1e-6, atol=1e-8, err_msg=name)


def test_a_first_layer_skips_the_input_gradient_but_not_the_weight_gradient():
    rng = np.random.default_rng(0)
    x, upstream = rng.normal(size=(2, 1, 5, 5)), rng.normal(size=(2, 2, 3, 3))
    first, inner = (nn.Conv2D(1, 2, 3, rng=1, input_grad=flag) for flag in (False, True))
    for layer in (first, inner):
        layer(x)
    assert first.backward(upstream) is None
    assert inner.backward(upstream).shape == x.shape
    np.testing.assert_array_equal(first.weight.grad, inner.weight.grad)
    np.testing.assert_allclose(first.bias.grad, upstream.sum(axis=(0, 2, 3)))


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
    # Counted, not computed by the formula: the window start positions that fit.
    rows = len(range(0, h + 2 * padding - kh + 1, stride))
    cols = len(range(0, w + 2 * padding - kw + 1, stride))
    assert out.shape == (2, c_out, rows, cols)
    assert (output_size(h, kh, padding, stride), output_size(w, kw, padding, stride)) == (rows, cols)


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


def test_pad2d_puts_the_image_in_the_middle_of_a_frame_of_the_value():
    padded = pad2d(np.array([[1, 2, 3], [4, 5, 6]]), (1, 2), value=-9)
    np.testing.assert_array_equal(padded, [[-9, -9, -9, -9, -9, -9, -9],
                                           [-9, -9, 1, 2, 3, -9, -9],
                                           [-9, -9, 4, 5, 6, -9, -9],
                                           [-9, -9, -9, -9, -9, -9, -9]])
    assert padded.dtype == np.int64


def test_pad2d_fills_integer_and_bool_arrays_with_any_value_they_hold():
    assert pad2d(np.ones((1, 1), np.uint8), 1, value=255)[0, 0] == 255
    assert pad2d(np.ones((1, 1), np.int8), 1, value=-128.0)[0, 0] == -128
    largest = np.iinfo(np.int64).max  # compared as an int: through a float it would not fit
    assert pad2d(np.ones((1, 1), np.int64), 1, value=largest)[0, 0] == largest
    assert pad2d(np.ones((1, 1), np.uint64), 1, value=np.uint64(2**64 - 1))[0, 0] == 2**64 - 1
    assert pad2d(np.zeros((1, 1), bool), 1, value=1)[0, 0]


def test_pad2d_pads_with_minus_infinity_for_max_pooling():
    padded = pad2d(np.zeros((1, 1, 2, 2)), 1, value=-np.inf)
    assert np.isneginf(padded).sum() == 16 - 4 and np.all(padded[0, 0, 1:3, 1:3] == 0)


_PAD_CASES = [(dtype, padding, value)
              for dtype in (np.uint8, np.int64, np.float32, np.float64)
              for padding, value in [(1, 0), ((1, 2), 1), ((2, 0), 5), ((0, 3), -7), (2, -np.inf), (1, -0.0),
                                       (1, np.nan)]
              if np.issubdtype(dtype, np.floating) or (np.isfinite(value) and value >= np.iinfo(dtype).min)]


@pytest.mark.parametrize("dtype, padding, value", _PAD_CASES)
def test_pad2d_matches_numpy_pad(dtype, padding, value):
    x = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5).astype(dtype)
    rows, cols = (padding, padding) if isinstance(padding, int) else padding
    widths = [(0, 0), (0, 0), (rows, rows), (cols, cols)]
    expected = np.pad(x, widths, constant_values=value)
    padded = pad2d(x, padding, value=value)
    assert padded.dtype == expected.dtype
    np.testing.assert_array_equal(padded, expected)
    np.testing.assert_array_equal(np.signbit(padded), np.signbit(expected))  # -0.0 stays -0.0


# --- classic kernels ------------------------------------------------------------------


# Published values: the table of Wikipedia's "Kernel (image processing)" (identity, edge
# detection with 8 in the centre, sharpen, box blur 1/9, Gaussian blur 3x3 approximated as
# 1/16 [1 2 1; 2 4 2; 1 2 1]) and Wikipedia's "Sobel operator", whose Gx = [+1 0 -1; +2 0 -2;
# +1 0 -1] * A and Gy = [+1 +2 +1; 0 0 0; -1 -2 -1] * A are convolutions: as the
# cross-correlation kernels coursekit applies, both are rotated by 180 degrees.
PUBLISHED_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box_blur": [[1 / 9] * 3] * 3,
    "gaussian_blur": [[0.0625, 0.125, 0.0625], [0.125, 0.25, 0.125], [0.0625, 0.125, 0.0625]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_KERNELS))
def test_classic_kernels_have_their_published_values(name):
    kernel = classic_kernel(name)
    assert kernel.dtype == np.float64 and kernel.shape == (3, 3)
    np.testing.assert_array_equal(kernel, PUBLISHED_KERNELS[name])


def test_every_classic_kernel_is_checked():
    assert set(CLASSIC_KERNELS) == set(PUBLISHED_KERNELS)


def test_gaussian_blur_is_the_binomial_kernel_not_the_box():
    binomial = np.array([1, 2, 1]) / 4  # row 2 of Pascal's triangle, normalized
    np.testing.assert_array_equal(classic_kernel("gaussian_blur"), np.outer(binomial, binomial))
    # A blur that weights the centre 4x the corners: a box blur (all equal) is not one.
    gauss = classic_kernel("gaussian_blur")
    assert gauss[1, 1] == 4 * gauss[0, 0] == 2 * gauss[0, 1]


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
        (lambda: corr2d(np.ones((2, 4)), ONES), ValueError, r"kernel `k` \(3x3\) is larger than the padded input `x` \(2x4\)"),
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
        (lambda: classic_kernel("laplace"), ValueError, "`name` must be 'identity', .* or 'sobel_y'; got 'laplace'"),
        (lambda: classic_kernel(["edge"]), ValueError, r"`name` must be .*; got \['edge'\]"),
        (lambda: corr2d(np.ones((4, 4)) * 1j, ONES), TypeError, "`x` must hold real numbers; got an array of dtype complex"),
        (lambda: conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3), complex)), TypeError, "`w` must hold real numbers"),
        (lambda: pad2d(np.ones((3, 3)), 1, value="x"), TypeError, "`value` must be a real number"),
        (lambda: pad2d(np.ones((3, 3)) * 1j, 1), TypeError, "`x` must hold real numbers"),
        # A fill the input's dtype cannot hold would be stored as another number (NaN as
        # -9223372036854775808, 300 as 44 in uint8, 0.5 as 0).
        (lambda: pad2d(np.ones((3, 3), int), 1, value=np.nan), ValueError,
         r"`value` \(nan\) cannot be stored in `x`, whose dtype is int64"),
        (lambda: pad2d(np.ones((3, 3), np.uint8), 1, value=300), ValueError,
         r"`value` \(300\) cannot be stored in `x`, whose dtype is uint8 \(whole numbers from 0 to 255\)"),
        (lambda: pad2d(np.ones((3, 3), np.uint8), 1, value=-7), ValueError, "cannot be stored in `x`"),
        (lambda: pad2d(np.ones((3, 3), int), 1, value=0.5), ValueError, "cannot be stored in `x`"),
        (lambda: pad2d(np.ones((3, 3), bool), 1, value=2), ValueError, "cannot be stored in `x`, whose dtype is bool"),
        # An empty kernel has no window; it used to give an output larger than the input.
        (lambda: corr2d(np.ones((4, 4)), np.zeros((0, 0))), ValueError, r"kernel `k` \(0x0\) is empty"),
        (lambda: conv2d(np.ones((1, 1, 4, 4)), np.zeros((1, 1, 0, 3))), ValueError,
         r"kernel of `w` \(0x3\) is empty"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- errors that give the right numbers; the gradient's unfolding ----------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: output_size(3, 9, padding=2), r"`k` \(9\) is larger than the padded input \(3 \+ 2 \* 2 = 7\)"),
    (lambda: output_size(2, 5, padding=1), r"\(2 \+ 2 \* 1 = 4\)"),
    (lambda: conv2d(np.ones((1, 1, 2, 8)), np.ones((1, 1, 3, 3))),
     r"kernel of `w` \(3x3\) is larger than the padded input `x` \(2x8\)"),
    (lambda: conv2d(np.ones((1, 1, 8, 2)), np.ones((1, 1, 3, 3))), r"\(8x2\)"),
    (lambda: conv2d(np.ones((1, 1, 1, 8)), np.ones((1, 1, 4, 3)), padding=1), r"\(1x8, padded to 3x10\)"),
    (lambda: conv2d(np.ones((1, 1, 8, 1)), np.ones((1, 1, 3, 4)), padding=(0, 1)), r"\(8x1, padded to 8x3\)"),
])
def test_a_kernel_larger_than_the_padded_input_is_refused_with_the_sizes(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_kernel_that_just_fits_the_padded_input_is_accepted():
    assert output_size(2, 4, padding=1) == 1
    assert conv2d(np.ones((1, 1, 1, 2)), np.ones((1, 1, 3, 4)), padding=1).shape == (1, 1, 1, 1)


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2),
       st.integers(0, 2**32 - 1))
def test_col2im_is_the_adjoint_of_im2col(n, c, h, w, kh, kw, sr, sc, pr, pc, seed):
    """<im2col(x), g> = <x, col2im(g)> for all x and g: col2im is the transpose the backward pass needs."""
    from coursekit.conv import _col2im, _im2col

    assume(kh <= h + 2 * pr and kw <= w + 2 * pc)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, h, w))
    columns, _ = _im2col(x, (kh, kw), (sr, sc), (pr, pc), layout="compact")
    g = rng.normal(size=columns.shape)
    back = _col2im(g, x.shape, (kh, kw), (sr, sc), (pr, pc))
    assert back.shape == x.shape
    assert np.sum(columns * g) == pytest.approx(np.sum(x * back), rel=1e-9, abs=1e-9)


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7),
       st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2),
       st.integers(0, 2), st.integers(0, 2**32 - 1))
def test_every_layout_of_the_columns_gives_the_same_outputs_and_gradients(n, c, c_out, h, w, kh, kw, sr, sc, pr, pc,
                                                                         seed):
    """im2col's four layouts (compact, a padded row per output row, a strip per kernel column,
    a row per pixel) are one computation.

    Every path through them, forward and both gradients, must agree with the loop reference;
    the row and strip layouts' junk windows must not leak into either.
    """
    from coursekit import conv
    from coursekit.testing import conv2d_reference

    assume(kh <= h + 2 * pr and kw <= w + 2 * pc)
    rng = np.random.default_rng(seed)
    x, weights, b = rng.normal(size=(n, c, h, w)), rng.normal(size=(c_out, c, kh, kw)), rng.normal(size=c_out)
    expected = conv2d_reference(x, weights, b, stride=(sr, sc), padding=(pr, pc))
    grad = rng.normal(size=expected.shape)
    layouts = ["compact", "pixels"] + (["strips"] if (sr, sc) == (1, 1) else [])
    results = {}
    for layout in layouts:
        out, columns = conv._correlate(x, weights, b, (sr, sc), (pr, pc), layout=layout)
        assert columns.ndim == (2 if layout == "pixels" else 3)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10, err_msg=layout)
        results[layout] = conv._weight_gradient(grad, columns, weights.shape)
    # The weight gradient, summed by hand over images and windows.
    by_hand = np.einsum("noij,ncijab->ocab", grad, _windows_of(x, (kh, kw), (sr, sc), (pr, pc)))
    for layout, grad_w in results.items():
        np.testing.assert_allclose(grad_w, by_hand, rtol=1e-10, atol=1e-10, err_msg=layout)


@pytest.mark.parametrize("limit, group", [(1, 1), (2, 2), (3, 3), (4, 3), (5, 3), (6, 6), (100, 6)])
def test_the_pixel_layout_gives_the_same_result_whichever_images_share_a_product(monkeypatch, limit, group):
    """The pixel layout multiplies whole images together, as many as divide the batch and
    keep a product within _PIXEL_PRODUCT_SIZE: a group that split an image, dropped the
    images past the last whole group, or mixed the images' rows would change the result."""
    from coursekit import conv
    from coursekit.testing import conv2d_reference

    rng = np.random.default_rng(5)
    x, weights = rng.normal(size=(6, 3, 7, 8)), rng.normal(size=(4, 3, 3, 2))
    pixels, depth = 7 * 9, 3 * 3 * 2  # output map 7 x 9 with padding 1; a row's length
    monkeypatch.setattr(conv, "_PIXEL_PRODUCT_SIZE", limit * pixels * depth * 4)
    out, columns = conv._correlate(x, weights, None, (1, 1), (1, 1), layout="pixels")
    assert conv._pixel_groups(columns, 6, depth * 4).shape == (6 // group, group * pixels, depth)
    np.testing.assert_allclose(out, conv2d_reference(x, weights, padding=1), rtol=1e-10, atol=1e-10)
    grad = rng.normal(size=out.shape)
    by_hand = np.einsum("noij,ncijab->ocab", grad, _windows_of(x, (3, 2), (1, 1), (1, 1)))
    np.testing.assert_allclose(conv._weight_gradient(grad, columns, weights.shape), by_hand, rtol=1e-10, atol=1e-10)


def test_every_layout_gives_the_weight_gradient_the_wider_dtype():
    """An integer gradient against float columns must not be cut to whole numbers in any layout."""
    from coursekit import conv

    rng = np.random.default_rng(3)
    x, weights = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3))
    grad = rng.integers(-3, 4, size=(2, 4, 6, 6))
    results = {}
    for layout in ("compact", "pixels", "strips"):
        _, columns = conv._correlate(x, weights, None, (1, 1), (1, 1), layout=layout)
        results[layout] = conv._weight_gradient(grad, columns, weights.shape)
        assert results[layout].dtype == np.float64, layout
    for layout, grad_w in results.items():
        np.testing.assert_allclose(grad_w, results["compact"], rtol=1e-12, atol=1e-12, err_msg=layout)


def _windows_of(x, kernel, stride, padding):
    """windows[n, c, i, j, a, b] = padded x[n, c, i * s + a, j * s + b], by a loop over the taps."""
    (kh, kw), (sr, sc), (pr, pc) = kernel, stride, padding
    padded = np.pad(x, ((0, 0), (0, 0), (pr, pr), (pc, pc)))
    out_rows, out_cols = (padded.shape[2] - kh) // sr + 1, (padded.shape[3] - kw) // sc + 1
    windows = np.empty(x.shape[:2] + (out_rows, out_cols, kh, kw))
    for a in range(kh):
        for b in range(kw):
            windows[..., a, b] = padded[:, :, a:a + sr * (out_rows - 1) + 1:sr, b:b + sc * (out_cols - 1) + 1:sc]
    return windows


def test_the_layout_is_picked_by_map_size_depth_and_bytes():
    """Pixels for maps of at most 5 times as many pixels as a window row has values; else strips
    once the compact columns would take over 4 MiB with products at least 16 deep; compact
    otherwise, and always at other strides."""
    from coursekit import conv

    def layout(x_shape, w_shape, stride=(1, 1), padding=(0, 0), dtype=np.float32):
        columns, (out_rows, out_cols) = conv._im2col(np.zeros(x_shape, dtype=dtype), w_shape[2:], stride,
                                                     padding)
        if columns.ndim == 2:
            return "pixels"
        return "compact" if columns.shape[2] == out_rows * out_cols else "strips"

    assert layout((16, 6, 14, 14), (16, 6, 5, 5)) == "pixels"                  # LeNet's second: 100 vs 30
    assert layout((8, 16, 9, 9), (32, 16, 3, 3), padding=(1, 1)) == "pixels"   # 81 vs 48
    assert layout((1, 4, 8, 12), (1, 4, 3, 3)) == "pixels"                     # 6 * 10 vs 12: 5 times, just
    assert layout((1, 4, 9, 11), (1, 4, 3, 3)) == "compact"                    # 7 * 9 vs 12
    assert layout((1, 4, 8, 10), (1, 4, 3, 3), padding=(0, 1)) == "pixels"     # padding counts: 6 * 10
    assert layout((1, 4, 6, 12), (1, 4, 3, 3), padding=(1, 0)) == "pixels"     # on both sides: 6 * 10
    assert layout((1, 4, 8, 10), (1, 4, 3, 3), padding=(1, 1)) == "compact"    # 8 * 10
    assert layout((8, 8, 32, 32), (16, 8, 3, 3), padding=(1, 1)) == "compact"  # 1024 vs 24; 2.4 MB
    assert layout((8, 16, 32, 32), (16, 16, 3, 3), padding=(1, 1)) == "strips"  # 4.7 MB
    assert layout((16, 16, 10, 10), (6, 16, 5, 5), padding=(4, 4)) == "pixels"  # LeNet's input gradient: 196 vs 80
    assert layout((64, 64, 8, 8), (64, 64, 3, 3), padding=(1, 1)) == "pixels"  # 9.4 MB, but small maps
    assert layout((8, 16, 64, 64), (8, 16, 3, 3), padding=(1, 1)) == "strips"   # the U-Net's last: 19 MB
    assert layout((64, 1, 136, 136), (8, 1, 3, 3)) == "compact"               # 41 MB, but products 3 deep
    assert layout((32, 5, 68, 68), (8, 5, 3, 3), padding=(1, 1)) == "compact"  # 15 deep
    assert layout((32, 4, 68, 68), (8, 4, 4, 4)) == "strips"                  # 16 deep: just enough
    # Columns of exactly 4 MiB stay compact, a row more is strips; float64 entries take twice the bytes.
    assert layout((1, 8, 256, 257), (1, 8, 1, 2)) == "compact"                 # 8 * 2 * 256 * 256 * 4 B
    assert layout((1, 8, 256, 258), (1, 8, 1, 2)) == "strips"
    assert layout((1, 8, 256, 129), (1, 8, 1, 2), dtype=np.float64) == "compact"
    assert layout((1, 8, 256, 130), (1, 8, 1, 2), dtype=np.float64) == "strips"
    assert layout((1, 5, 256, 300), (1, 5, 1, 3)) == "compact"                 # 15 deep
    assert layout((8, 32, 16, 16), (32, 32, 2, 2), stride=(2, 2)) == "compact"
    assert layout((8, 32, 32, 32), (8, 32, 3, 3), stride=(2, 2), padding=(1, 1)) == "compact"  # 9.4 MB, stride 2


def test_col2im_adds_every_window_back_by_hand():
    from coursekit.conv import _col2im

    # A 1x1x3x3 input, 2x2 windows at stride 1: the centre pixel lies in all four windows,
    # the corners in one each. Columns of ones therefore give each pixel its window count.
    back = _col2im(np.ones((1, 4, 4)), (1, 1, 3, 3), (2, 2), (1, 1), (0, 0))
    np.testing.assert_array_equal(back[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    # Stride 2 with padding 1 on a 3x3 input: windows over padded rows/columns {0,1} and {2,3},
    # so every real pixel lies in exactly one window.
    back = _col2im(np.ones((1, 4, 4)), (1, 1, 3, 3), (2, 2), (2, 2), (1, 1))
    np.testing.assert_array_equal(back[0, 0], np.ones((3, 3)))
    # 3x3 windows at stride 2 on a 6x6 map start at rows and columns 0 and 2: they
    # overlap on row and column 2 and never read row or column 5, although two windows
    # of 3 span the 6 pixels exactly. Per axis the counts are 1, 1, 2, 1, 1, 0.
    back = _col2im(np.ones((1, 9, 4)), (1, 1, 6, 6), (3, 3), (2, 2), (0, 0))
    per_axis = np.array([1, 1, 2, 1, 1, 0])
    np.testing.assert_array_equal(back[0, 0], np.outer(per_axis, per_axis))
