"""Specification of coursekit.quantize: rounding to levels and Floyd–Steinberg dithering."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coursekit.synthetic import synthetic_radar
from coursekit.quantize import floyd_steinberg, quantize
from coursekit.quantize import floyd_steinberg_reference as floyd_steinberg_loop

LEVELS = np.array([0, 20, 40, 60, 80], dtype=float)


def test_quantize_rounds_half_to_even_and_clips():
    values = np.array([-5, 0, 9, 10, 11, 29, 30, 31, 50, 70, 79, 95])
    np.testing.assert_array_equal(quantize(values), np.clip(np.round(values / 20) * 20, 0, 80))
    np.testing.assert_array_equal(quantize([10, 30, 50, 70]), [0, 40, 40, 80])  # halves go to even multiples
    np.testing.assert_array_equal(quantize([7, 13], step=5, vmin=5, vmax=15), [5, 15])


@pytest.fixture(scope="module")
def radar():
    x, _ = synthetic_radar(6, seed=11)
    return x[..., 0].astype(float)


def test_bit_for_bit_equal_to_the_pixel_loop_on_radar_images(radar):
    fast = floyd_steinberg(radar, LEVELS)
    for image, result in zip(radar, fast):
        expected = floyd_steinberg_loop(image, LEVELS)
        assert np.array_equal(result, expected)
        assert result.tobytes() == expected.tobytes()


def test_the_reference_is_the_plain_loop_written_out():
    """The reference itself, checked on a case worked by hand: a flat image halfway between levels."""
    np.testing.assert_array_equal(floyd_steinberg_loop(np.full((1, 3), 10.0), LEVELS), [[0, 20, 0]])
    # 10 -> 0 (tie goes down), error +10 sends 4.375 right: 14.375 -> 20, error -5.625 sends
    # -2.4609375 right: 7.5390625 -> 0.


@given(arrays(np.float64, st.tuples(st.integers(1, 9), st.integers(1, 11)), elements=st.floats(-30, 110)),
       st.lists(st.floats(-20, 100), min_size=1, max_size=6))
def test_bit_for_bit_equal_to_the_pixel_loop_on_random_images(img, levels):
    levels = np.sort(levels)
    assert floyd_steinberg(img, levels).tobytes() == floyd_steinberg_loop(img, levels).tobytes()


def test_ties_go_to_the_lower_level_as_argmin_does():
    # 10 is exactly between 0 and 20: the first pixel takes 0, like the loop.
    img = np.full((3, 5), 10.0)
    assert floyd_steinberg(img, LEVELS)[0, 0] == 0
    assert np.array_equal(floyd_steinberg(img, LEVELS), floyd_steinberg_loop(img, LEVELS))


def test_batch_equals_one_image_at_a_time(radar):
    batch = floyd_steinberg(radar, LEVELS)
    for image, result in zip(radar, batch):
        assert np.array_equal(floyd_steinberg(image, LEVELS), result)


def test_output_holds_only_levels_and_local_means_track_the_original(radar):
    from scipy import ndimage

    dithered = floyd_steinberg(radar, LEVELS)
    assert set(np.unique(dithered)) <= set(LEVELS)
    quantized = quantize(radar)
    smooth = lambda a: ndimage.uniform_filter(a, size=(1, 7, 7))  # noqa: E731
    error_dithered = np.abs(smooth(dithered) - smooth(radar)).mean()
    error_quantized = np.abs(smooth(quantized) - smooth(radar)).mean()
    assert error_dithered < 0.7 * error_quantized


@pytest.mark.parametrize("call, error, match", [
    (lambda: floyd_steinberg(np.zeros((2, 2)), []), ValueError, "at least one level"),
    (lambda: floyd_steinberg(np.zeros((2, 2)), [40, 0]), ValueError, "sorted ascending"),
    (lambda: floyd_steinberg(np.zeros((2, 2)), [0, np.nan]), ValueError, "`levels` contains NaN"),
    (lambda: floyd_steinberg(np.full((2, 2), np.nan), [0, 20]), ValueError, "`images` contains NaN"),
    (lambda: floyd_steinberg(np.zeros(5), [0, 20]), ValueError, "`images` must be a 2-dimensional or 3-dim"),
    (lambda: quantize([1, 2], step=0), ValueError, "`step` must be a positive"),
    (lambda: quantize([1, np.nan]), ValueError, "`img` contains NaN"),
    (lambda: quantize([1, 2], vmin=80, vmax=0), ValueError, "`vmin`"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
