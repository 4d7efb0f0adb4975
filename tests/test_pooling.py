"""Specification of coursekit.pooling: max and average pooling, receptive fields."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coursekit.pooling import avg_pool2d, max_pool2d, receptive_field
from coursekit.testing import pool2d_reference


SLIDE = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [0, 2, 9, 8], [1, 1, 7, 3]])


def test_small_example_by_hand():
    np.testing.assert_array_equal(max_pool2d(SLIDE, 2), [[6, 5], [2, 9]])
    np.testing.assert_array_equal(avg_pool2d(SLIDE, 2), [[3.5, 2.0], [1.0, 6.75]])
    np.testing.assert_array_equal(max_pool2d(SLIDE, 2, stride=1), [[6, 6, 5], [6, 9, 9], [2, 9, 9]])


@pytest.mark.parametrize("shape", [(7, 9), (2, 3, 8, 8), (1, 2, 11, 6)])
@pytest.mark.parametrize("size, stride, padding", [(2, 2, 0), (3, 3, 0), (3, 2, 1), (2, 1, 0), (3, 1, 1), (4, 2, 2)])
def test_matches_the_loop_reference(shape, size, stride, padding):
    x = np.random.default_rng(sum(shape) + size).normal(size=shape)
    np.testing.assert_allclose(max_pool2d(x, size, stride, padding), pool2d_reference(x, size, stride, padding, "max"))
    np.testing.assert_allclose(avg_pool2d(x, size, stride, padding), pool2d_reference(x, size, stride, padding, "avg"))


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.float64])
def test_dtypes(dtype):
    x = np.random.default_rng(1).integers(0, 80, size=(2, 1, 6, 6)).astype(dtype)
    assert max_pool2d(x, 2, padding=1).dtype == dtype
    np.testing.assert_array_equal(max_pool2d(x, 2, padding=1), pool2d_reference(x, 2, 2, 1, "max").astype(dtype))
    assert np.issubdtype(avg_pool2d(x, 2).dtype, np.floating)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).normal(size=(3, 4, 13, 10))
    for size, stride, padding in [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1))]:
        xt = torch.from_numpy(x)
        expected_max = torch.nn.functional.max_pool2d(xt, size, stride, padding).numpy()
        expected_avg = torch.nn.functional.avg_pool2d(xt, size, stride, padding).numpy()
        np.testing.assert_allclose(max_pool2d(x, size, stride, padding), expected_max)
        np.testing.assert_allclose(avg_pool2d(x, size, stride, padding), expected_avg, atol=1e-12)


def test_pools_each_channel_separately():
    x = np.random.default_rng(3).normal(size=(2, 3, 6, 6))
    x[1, 2] += 100  # one channel far above the others must not leak into them
    pooled = max_pool2d(x, 2)
    for n in range(2):
        for c in range(3):
            np.testing.assert_array_equal(pooled[n, c], pool2d_reference(x[n, c], 2, 2, 0, "max"))


def test_bool_masks_pool_as_any_and_as_the_share_of_true():
    mask = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(max_pool2d(mask, 2), [[True, False], [False, True]])
    # Padded by one, the windows cover rows (and columns) {0}, {1, 2} and {3}.
    np.testing.assert_array_equal(max_pool2d(mask, 2, padding=1), [[True, False, False], [False, True, True],
                                                                   [False, True, False]])
    np.testing.assert_array_equal(avg_pool2d(mask, 2), [[0.25, 0.0], [0.0, 0.75]])


def test_max_pooling_is_robust_to_a_one_pixel_shift():
    x = np.zeros((8, 8))
    x[2, 2] = 50  # one strong return
    shifted = np.roll(x, 1, axis=1)  # moved from column 2 to column 3: same 2x2 window
    np.testing.assert_array_equal(max_pool2d(x, 2), max_pool2d(shifted, 2))


images = arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(2, 14), st.integers(2, 14)),
                elements=st.floats(-100, 100))


@given(images, st.integers(1, 4), st.integers(1, 4), st.integers(0, 2))
def test_output_shape_matches_output_size(x, size, stride, padding):
    assume(padding <= size // 2 and size <= min(x.shape[-2:]) + 2 * padding)
    # Counted: the window start positions that fit in the padded map.
    expected = x.shape[:2] + tuple(len(range(0, n + 2 * padding - size + 1, stride)) for n in x.shape[2:])
    assert max_pool2d(x, size, stride, padding).shape == expected
    assert avg_pool2d(x, size, stride, padding).shape == expected


pairs = st.tuples(st.integers(1, 4), st.integers(1, 4))


@given(images, pairs, pairs, st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_max_pool_matches_loops_for_any_window_and_stride_on_each_axis(x, size, stride, padding):
    # max_pool2d takes rows and columns in separate passes; each axis has its own
    # window, stride and padding, including windows one pixel wide.
    assume(all(p <= k // 2 and k <= n + 2 * p for p, k, n in zip(padding, size, x.shape[-2:])))
    np.testing.assert_array_equal(max_pool2d(x, size, stride, padding),
                                  pool2d_reference(x, size, stride, padding))


def test_a_one_pixel_window_returns_a_copy_not_the_input():
    x = np.arange(12.0).reshape(3, 4)
    pooled = max_pool2d(x, 1)
    pooled[0, 0] = -1
    assert x[0, 0] == 0


@given(images, st.integers(1, 3), st.integers(1, 3))
def test_max_is_at_least_the_average(x, size, stride):
    assume(size <= min(x.shape[-2:]))
    assert np.all(max_pool2d(x, size, stride) >= avg_pool2d(x, size, stride) - 1e-9)


@given(st.floats(-80, 80), st.integers(2, 12), st.integers(1, 3), st.integers(1, 3))
def test_pooling_a_constant_image_returns_the_constant(value, n, size, stride):
    assume(size <= n)
    x = np.full((1, 2, n, n), value)
    np.testing.assert_allclose(max_pool2d(x, size, stride), value)
    np.testing.assert_allclose(avg_pool2d(x, size, stride), value)


@pytest.mark.parametrize(
    "layers, expected",
    [([], 1), ([(3, 1)], 3), ([(3, 1)] * 2, 5), ([(3, 1)] * 4, 9), ([(2, 2)] * 3, 8), ([(5, 1), (2, 2), (5, 1), (2, 2)], 16),
     ([(3, 1), (2, 2)] * 4, 46)],
)
def test_receptive_field(layers, expected):
    assert receptive_field(layers) == expected


def test_receptive_field_matches_the_pixels_that_influence_an_output():
    """Empirically: which input pixels change the top-left output of the stack?"""
    from coursekit.conv import conv2d

    layers = [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]
    size = 40

    def network(x):
        for kernel, stride in layers:
            if stride == 1:
                x = conv2d(x, np.ones((1, 1, kernel, kernel)))
            else:
                x = avg_pool2d(x, kernel, stride)
        return x[0, 0, 0, 0]

    base = network(np.zeros((1, 1, size, size)))
    reach = 0
    for column in range(size):
        x = np.zeros((1, 1, size, size))
        x[0, 0, 0, column] = 1
        if network(x) != base:
            reach = column + 1
    assert reach == receptive_field(layers)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: max_pool2d(np.ones(5)), ValueError, "`x` must be a 2-dimensional or 4-dimensional"),
        (lambda: max_pool2d(np.ones((3, 4, 4))), ValueError, "`x` must be a 2-dimensional or 4-dimensional"),
        (lambda: max_pool2d(np.ones((4, 4)), 0), ValueError, "`size` must be positive"),
        (lambda: max_pool2d(np.ones((4, 4)), 2, stride=0), ValueError, "`stride` must be positive"),
        (lambda: avg_pool2d(np.ones((4, 4)), 2, padding=2), ValueError, "`padding`.*at most half"),
        (lambda: avg_pool2d(np.ones((4, 4)), 2.5), TypeError, "`size` must be an integer"),
        (lambda: max_pool2d(np.ones((2, 2)), 3), ValueError,
         r"window `size` \(3x3\) is larger than the padded input `x` \(2x2\)"),
        (lambda: avg_pool2d(np.ones((2, 6)), (3, 2)), ValueError, r"window `size` \(3x2\) is larger than the padded input `x`"),
        (lambda: max_pool2d(np.ones((4, 4)) + 1j, 2), TypeError, "`x` must hold real numbers; got an array of dtype complex"),
        (lambda: avg_pool2d(np.ones((1, 1, 4, 4), dtype=np.complex64), 2), TypeError,
         "`x` must hold real numbers; got an array of dtype complex64"),
        (lambda: max_pool2d([["a", "b"]]), TypeError, "`x` must hold numbers"),
        (lambda: receptive_field(5), TypeError, "`layers` must be a sequence"),
        (lambda: receptive_field([(3, 1), 2]), ValueError, "item 1 is 2"),
        (lambda: receptive_field([(3, 0)]), ValueError, r"`layers\[0\] stride` must be positive"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- unpooling ----------------------------------------------------------------------------

from coursekit.pooling import unpool2d  # noqa: E402


@pytest.mark.parametrize("mode", ["zeros", "repeat"])
@pytest.mark.parametrize("shape, size", [((3, 4), 2), ((2, 3, 5, 5), 3), ((1, 1, 1, 1), 4)])
def test_unpool_shapes(shape, size, mode):
    x = np.random.default_rng(0).normal(size=shape)
    assert unpool2d(x, size, mode).shape == shape[:-2] + (shape[-2] * size, shape[-1] * size)


@given(st.floats(-80, 80), st.integers(1, 4), st.integers(1, 5))
def test_repeat_undoes_pooling_on_a_constant_image(value, size, blocks):
    constant = np.full((1, 2, size * blocks, size * blocks), value)
    np.testing.assert_array_equal(unpool2d(max_pool2d(constant, size), size, "repeat"), constant)
    np.testing.assert_allclose(unpool2d(avg_pool2d(constant, size), size, "repeat"), constant)


@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(-50, 50)),
       st.integers(1, 4))
def test_zero_insertion_keeps_the_total_and_pooling_recovers_the_input(x, size):
    unpooled = unpool2d(x, size, "zeros")
    assert np.isclose(unpooled.sum(), x.sum())
    np.testing.assert_allclose(avg_pool2d(unpool2d(x, size, "repeat"), size), x, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(max_pool2d(unpool2d(np.abs(x), size, "zeros"), size), np.abs(x))


@pytest.mark.parametrize("size, centre", [(1, 0), (2, 0), (3, 1), (4, 1), (5, 2)])
def test_zero_insertion_puts_each_value_at_its_blocks_centre(size, centre):
    x = np.arange(1, 7).reshape(2, 3)
    unpooled = unpool2d(x, size, "zeros")
    np.testing.assert_array_equal(unpooled[centre::size, centre::size], x)
    assert np.count_nonzero(unpooled) == x.size


@given(st.integers(1, 4).flatmap(lambda size: st.tuples(st.just(size), st.integers(0, size - 1))))
def test_zero_insertion_offset_picks_the_cell_of_each_block(size_offset):
    size, offset = size_offset
    x = np.arange(1, 7).reshape(1, 1, 2, 3)
    unpooled = unpool2d(x, size, "zeros", offset=offset)
    np.testing.assert_array_equal(unpooled[..., offset::size, offset::size], x)
    assert np.count_nonzero(unpooled) == x.size


def test_zero_insertion_then_a_box_kernel_is_repetition():
    """At the centre the box's window is exactly the block; in the corner it is one pixel off."""
    from coursekit.conv import corr2d, pad2d

    x = np.random.default_rng(5).uniform(0, 60, (4, 5))
    box = np.ones((3, 3))
    centred = corr2d(pad2d(unpool2d(x, 3, "zeros"), 1), box)
    np.testing.assert_allclose(centred, unpool2d(x, 3, "repeat"))
    cornered = corr2d(pad2d(unpool2d(x, 3, "zeros", offset=0), 1), box)
    np.testing.assert_allclose(cornered[:-1, :-1], unpool2d(x, 3, "repeat")[1:, 1:])


def test_unpool_by_hand_with_the_default_two_by_two_blocks():
    np.testing.assert_array_equal(unpool2d([[1, 2]]), [[1, 0, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(unpool2d([[1, 2]], mode="repeat"), [[1, 1, 2, 2], [1, 1, 2, 2]])


def test_unpool_bad_mode():
    with pytest.raises(ValueError, match="`mode` must be 'zeros' or 'repeat'"):
        unpool2d(np.ones((2, 2)), 2, mode="bilinear")


@pytest.mark.parametrize("mode, offset, match", [
    ("zeros", 3, "`offset` \\(3\\) must be less than `size` \\(3\\)"),
    ("zeros", -1, "`offset`"),
    ("repeat", 0, "`offset` \\(0\\) applies to mode='zeros' only"),
])
def test_unpool_bad_offset(mode, offset, match):
    with pytest.raises(ValueError, match=match):
        unpool2d(np.ones((2, 2)), 3, mode=mode, offset=offset)


def test_default_window_is_two_by_two():
    np.testing.assert_array_equal(max_pool2d(SLIDE), [[6, 5], [2, 9]])
    np.testing.assert_array_equal(avg_pool2d(SLIDE), [[3.5, 2.0], [1.0, 6.75]])


def test_padding_on_one_axis_only():
    # Columns padded by one: column windows {-1, 0}, {1, 2}, {3, 4}; rows unpadded {0, 1}, {2, 3}.
    np.testing.assert_array_equal(max_pool2d(SLIDE, 2, padding=(0, 1)), [[4, 6, 1], [1, 9, 8]])
    np.testing.assert_array_equal(avg_pool2d(SLIDE, 2, padding=(1, 0)), [[1.0, 0.5], [3.0, 5.75], [0.5, 2.5]])


@pytest.mark.parametrize("padding", [(2, 0), (0, 2), 2])
def test_padding_beyond_half_the_window_is_refused_on_either_axis(padding):
    with pytest.raises(ValueError, match="at most half"):
        avg_pool2d(np.ones((6, 6)), 2, padding=padding)
    assert avg_pool2d(np.ones((6, 6)), 3, padding=1).shape == (2, 2)  # exactly half (rounded down) is fine


def test_receptive_field_of_one_pixel_kernels():
    assert receptive_field([(1, 2), (3, 1)]) == 5  # a 1x1 kernel adds nothing, but its stride doubles the next
    assert receptive_field([(1, 1)]) == 1
