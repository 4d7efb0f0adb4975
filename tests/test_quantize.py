"""Specification of coursekit.quantize: rounding to levels and Floyd–Steinberg dithering."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coursekit.synthetic import synthetic_radar
from coursekit.quantize import floyd_steinberg, nearest_level, quantize
from coursekit.quantize import floyd_steinberg_reference as floyd_steinberg_loop

LEVELS = np.array([0, 20, 40, 60, 80], dtype=float)


def test_quantize_rounds_half_to_even_and_clips():
    values = np.array([-5, 0, 9, 10, 11, 29, 30, 31, 50, 70, 79, 95])
    # Worked by hand: value / 20 rounded (halves to even), times 20, clipped to [0, 80].
    np.testing.assert_array_equal(quantize(values), [0, 0, 0, 0, 20, 20, 40, 40, 40, 80, 80, 80])
    np.testing.assert_array_equal(quantize([10, 30, 50, 70]), [0, 40, 40, 80])  # halves go to even multiples
    np.testing.assert_array_equal(quantize([7, 13], step=5, vmin=5, vmax=15), [5, 15])


def test_quantize_counts_levels_from_vmin():
    # Levels 5, 15, 25, 35, 45: 9 is nearest 5 (it would be 10 from 0), 16 nearest 15, 24 nearest 25.
    np.testing.assert_array_equal(quantize([9, 16, 24, 44], step=10, vmin=5, vmax=45), [5, 15, 25, 45])
    # A negative vmin: levels -15, -5, 5, 15; and values below vmin clip up to it.
    np.testing.assert_array_equal(quantize([-7, -40, 3, 99], step=10, vmin=-15, vmax=15), [-5, -15, 5, 15])


def test_quantize_clips_to_a_vmax_off_the_grid():
    # Levels from 0 in steps of 20 up to vmax = 50: 45 rounds to 40, 55 to 60, which clips to 50.
    np.testing.assert_array_equal(quantize([45, 55, 200], step=20, vmin=0, vmax=50), [40, 50, 50])


def test_quantize_with_a_step_below_one():
    # Steps of 0.5: 0.3 / 0.5 = 0.6 rounds to 1, 0.74 / 0.5 = 1.48 to 1, 0.76 / 0.5 = 1.52 to 2.
    np.testing.assert_array_equal(quantize([0.2, 0.3, 0.74, 0.76], step=0.5, vmax=1), [0, 0.5, 0.5, 1])


def test_quantize_keeps_the_shape_and_returns_floats():
    out = quantize(np.full((2, 3, 4), 33, dtype=np.uint8))
    assert out.shape == (2, 3, 4) and out.dtype == np.float64 and np.all(out == 40)
    assert quantize(33) == 40


# --- nearest_level: one tie rule ------------------------------------------------------


def test_nearest_level_by_hand():
    np.testing.assert_array_equal(nearest_level([-3, 0, 9, 11, 39, 41, 95], LEVELS), [0, 0, 0, 20, 40, 40, 80])


def test_nearest_level_sends_exact_halves_down():
    # 10, 30, 50, 70 are halfway: each takes the lower level (quantize would make 30 -> 40).
    np.testing.assert_array_equal(nearest_level([10, 30, 50, 70], LEVELS), [0, 20, 40, 60])
    np.testing.assert_array_equal(nearest_level([-10, 0.5], [-20, 0, 1]), [-20, 0])


def test_nearest_level_takes_levels_in_any_order_and_uneven_gaps():
    # Levels 0, 5, 50: 4 is 1 from 5; 30 is 20 from 50 and 25 from 5; 2.5 and 27.5 are ties.
    np.testing.assert_array_equal(nearest_level([1, 4, 6, 30, 2.5, 27.5], [50, 5, 0]), [0, 5, 5, 50, 0, 5])
    np.testing.assert_array_equal(nearest_level([[1, 4], [6, 30]], [50, 5, 0]), [[0, 5], [5, 50]])
    assert nearest_level(7, [3]) == 3


@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-200, 200)),
       st.lists(st.floats(-100, 100), min_size=1, max_size=8))
def test_nearest_level_equals_argmin_over_sorted_levels(x, levels):
    levels_sorted = np.sort(levels)
    expected = [levels_sorted[np.argmin(np.abs(levels_sorted - v))] for v in x]  # plain loop, ties low
    assert nearest_level(x, levels).tolist() == expected
    assert nearest_level(x, levels[::-1]).tolist() == expected


@given(st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, -0.0, 5e-324, 1.0]), min_size=1, max_size=40),
       st.integers(0, 2**32 - 1))
def test_nearest_level_equals_argmin_a_few_float_steps_around_every_halfway_point(levels, seed):
    # Where rounding decides: values within a few float steps of each halfway point and
    # on each level, as a small array and as one of over a thousand values (which count
    # thresholds rather than search them), with up to 40 levels, repeated ones and both
    # zeros among them (argmin returns the first of equal levels: 0.0 and -0.0 differ in
    # their bytes, and a stable sort keeps their order).
    levels = np.sort(levels, kind="stable")
    halves = (levels[:-1] + levels[1:]) / 2
    steps = np.arange(-3, 4)[:, None]
    near = (halves + steps * np.spacing(halves)).ravel()
    random = np.random.default_rng(seed).uniform(levels[0] - 10, levels[-1] + 10, 1100)
    for x in (np.concatenate([near, levels])[:50], np.concatenate([near, levels, random])):
        expected = levels[np.argmin(np.abs(levels - x[:, None]), axis=1)]  # first minimum: ties low
        assert nearest_level(x, levels).tobytes() == expected.tobytes()


@pytest.mark.parametrize("levels, x", [
    # 1.5e308 - (-1.5e308) is inf: halfway is still 0, and 1e292 is as far from both.
    ([-1.5e308, 1.5e308], [-1e308, -1e292, 0.0, 1e292, 1e308, 1.7e308]),
    # Beyond both levels, both distances are inf: a tie, which goes to the first.
    ([-1.5e308, -1.4e308], [1e308, -1.45e308, 0.0]),
])
def test_nearest_level_between_levels_whose_distances_overflow(levels, x):
    with np.errstate(over="ignore"):
        expected = np.array([levels[np.argmin(np.abs(np.subtract(levels, v)))] for v in x])
    for values in (np.array(x), np.tile(x, 200)):  # a search, and a count of thresholds
        np.testing.assert_array_equal(nearest_level(values, levels), np.resize(expected, values.shape))


def test_nearest_level_keeps_the_shape_of_a_single_value_and_copes_with_many_levels():
    one = nearest_level(7.0, [0, 10])
    assert isinstance(one, np.ndarray) and one.shape == () and one == 10
    levels = np.linspace(0, 1, 65_536)
    x = np.random.default_rng(0).uniform(-0.1, 1.1, 50)
    expected = levels[np.argmin(np.abs(levels - x[:, None]), axis=1)]
    assert nearest_level(x, levels).tobytes() == expected.tobytes()


def test_nearest_level_keeps_the_rule_when_levels_are_closer_than_the_float_spacing():
    # 2**53 - 1 and 2**53 - (1 + 2**-52) round to the same double: a tie between the two
    # lowest levels, which argmin gives to the first (lower) one. Comparing only the two
    # levels around the value would pick 1 + 2**-52.
    levels = [1.0, 1.0 + 2**-52, 2.0**60]
    x = np.full((2, 4), 2.0**53)
    np.testing.assert_array_equal(nearest_level(x, levels), np.ones((2, 4)))
    for shape in [(1, 2), (1, 5), (3, 1)]:  # wide and tall images alike
        img = np.full(shape, 2.0**53)
        assert floyd_steinberg(img, levels).tobytes() == floyd_steinberg_loop(img, levels).tobytes()


def test_dithering_keeps_the_rule_for_levels_closer_than_the_spacing_of_small_values_on_a_long_row():
    # 1.5 - 2**-54 rounds to 1.5: every pixel is a tie between levels 0 and 2**-54, which the
    # loop's argmin gives to 0. The check that falls back to argmin must count the errors
    # that a 1022-pixel row can carry, not only the size of the values.
    img = np.full((1, 1022), 1.5)
    levels = [0.0, 2.0**-54]
    expected = floyd_steinberg_loop(img, levels)
    assert np.all(expected == 0)
    assert floyd_steinberg(img, levels).tobytes() == expected.tobytes()


def test_unsorted_levels_give_the_sorted_answer_in_both_dithering_functions():
    img = np.array([[10.0, 10.0, 30.0], [50.0, 10.0, 70.0]])  # exact halves: ties decide
    shuffled = [80, 20, 0, 60, 40]
    expected = floyd_steinberg_loop(img, LEVELS)
    assert floyd_steinberg_loop(img, shuffled).tobytes() == expected.tobytes()
    assert floyd_steinberg(img, shuffled).tobytes() == expected.tobytes()
    assert floyd_steinberg(img[None], shuffled)[0].tobytes() == expected.tobytes()


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
    (lambda: floyd_steinberg(np.zeros((2, 2)), []), ValueError, "`levels` must hold at least one level"),
    (lambda: floyd_steinberg(np.zeros((2, 2)), [0, np.nan]), ValueError, "`levels` must hold finite values.*nan"),
    (lambda: floyd_steinberg(np.full((2, 2), np.nan), [0, 20]), ValueError, "`images` must hold finite values"),
    (lambda: floyd_steinberg(np.full((2, 2), np.inf), [0, 20]), ValueError, "`images` must hold finite.*inf"),
    (lambda: floyd_steinberg(np.zeros(5), [0, 20]), ValueError, "`images` must be a 2-dimensional or 3-dim"),
    (lambda: floyd_steinberg(np.zeros((2, 2)) + 1j, [0, 20]), TypeError, "`images` must hold real numbers"),
    (lambda: floyd_steinberg(np.zeros((2, 2)), [True, False]), TypeError, "`levels` must hold numbers, not bool"),
    (lambda: floyd_steinberg_loop(np.zeros((2, 2)), []), ValueError, "`levels` must hold at least one level"),
    (lambda: floyd_steinberg_loop(np.zeros((2, 2, 1)), [0]), ValueError, "`img` must be a 2-dimensional"),
    (lambda: floyd_steinberg_loop(np.full((2, 2), np.nan), [0]), ValueError, "`img` must hold finite values"),
    (lambda: quantize([1, 2], step=0), ValueError, "`step` must be positive; got 0"),
    (lambda: quantize([1, 2], step=-20), ValueError, "`step` must be positive; got -20"),
    (lambda: quantize([1, 2], step=np.inf), ValueError, "`step` must be finite"),
    (lambda: quantize([1, 2], step="20"), TypeError, "`step` must be a real number; got '20'"),
    (lambda: quantize([1, 2], step=True), TypeError, "`step` must be a real number; got True"),
    (lambda: quantize([1, 2], vmin=[0]), TypeError, r"`vmin` must be a real number; got \[0\]"),
    (lambda: quantize([1, np.nan]), ValueError, "`img` must hold finite values; got 1 non-finite value.*nan"),
    (lambda: quantize([1, np.inf]), ValueError, "`img` must hold finite values; got 1 non-finite value.*inf"),
    (lambda: quantize([1 + 2j]), TypeError, "`img` must hold real numbers"),
    (lambda: quantize(["a"]), TypeError, "`img` must hold numbers"),
    (lambda: quantize([1, 2], vmin=80, vmax=0), ValueError, r"`vmin` \(80.0\) must be below `vmax` \(0.0\)"),
    (lambda: quantize([1, 2], vmin=5, vmax=5), ValueError, "`vmin`.*must be below `vmax`"),
    (lambda: nearest_level([1, 2], []), ValueError, "`levels` must hold at least one level"),
    (lambda: nearest_level([1, 2], [[0, 20]]), ValueError, "`levels` must be a 1-dimensional"),
    (lambda: nearest_level([1, -np.inf], [0, 20]), ValueError, "`x` must hold finite values.*-inf"),
    (lambda: nearest_level([1j], [0, 20]), TypeError, "`x` must hold real numbers"),
    (lambda: nearest_level([True], [0, 20]), TypeError, "`x` must hold numbers, not bool"),
    (lambda: quantize(np.ones((2, 2), bool)), TypeError, "`img` must hold numbers, not bool"),
    (lambda: floyd_steinberg(np.ones((2, 2), bool), [0, 1]), TypeError, "`images` must hold numbers, not bool"),
    (lambda: floyd_steinberg_loop(np.ones((2, 2), bool), [0, 1]), TypeError, "`img` must hold numbers, not bool"),
    (lambda: floyd_steinberg(np.zeros((0, 3, 3)), [0, 1]), ValueError, r"`images` holds no pixels.*\(0, 3, 3\)"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("shape, dtype", [((9, 7), np.float64), ((3, 9, 7), np.float64), ((9, 7), np.float32),
                                          ((2, 9, 7), np.uint8)])
def test_dithering_leaves_its_input_as_it_was(shape, dtype):
    # Its work arrays are its own: one float64 image needs no copy to start from, and the
    # batch's transposed copy takes the result.
    images = np.random.default_rng(4).uniform(0, 80, shape).astype(dtype)
    before = images.copy()
    dithered = floyd_steinberg(images, LEVELS)
    np.testing.assert_array_equal(images, before)
    assert not np.may_share_memory(dithered, images)
