"""coursekit.echo: Steiner, Houze and Yuter's convective/stratiform separation.

The vectorised labels must equal a plain loop of the published rules
(coursekit.testing.convective_stratiform_loop) pixel for pixel, on real and synthetic storms.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


from coursekit import data, echo, synthetic
from coursekit.testing import convective_stratiform_loop


@pytest.mark.parametrize("index", range(5))
def test_matches_the_plain_loop_on_the_real_storms(index):
    storm = data.example_storms().x[index, :, :, 0]
    np.testing.assert_array_equal(echo.convective_stratiform(storm),
                                  convective_stratiform_loop(storm, data.PIXEL_KM))


def test_matches_the_plain_loop_on_synthetic_storms_of_every_mode():
    x, y = synthetic.synthetic_radar(12, seed=21)
    labels = echo.convective_stratiform(x[..., 0])   # the whole batch at once
    assert labels.shape == (12, 136, 136) and labels.dtype == np.int64
    for image, label in zip(x[..., 0], labels):
        np.testing.assert_array_equal(label, convective_stratiform_loop(image, data.PIXEL_KM))


@given(hnp.arrays(np.int64, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(-5, 60)),
       st.sampled_from([1.0, 2.0, 2.5, 3.76, 6.0]))
def test_matches_the_plain_loop_on_any_small_field(dbz, pixel_km):
    np.testing.assert_array_equal(echo.convective_stratiform(dbz, pixel_km=pixel_km),
                                  convective_stratiform_loop(dbz, pixel_km))


def test_a_lone_intense_pixel_and_its_radius():
    """A 45 dBZ pixel in a 5 x 5 patch of 25 dBZ rain: a core by intensity. Its
    background is the mean Z of the 25 pixels, (24 * 10**2.5 + 10**4.5) / 25, or
    31.95 dBZ, hence a 3 km radius, which on 2.5 km pixels reaches the four direct
    neighbours (2.5 km away) but not the diagonals (3.5 km)."""
    dbz = np.zeros((9, 9))
    dbz[2:7, 2:7] = 25
    dbz[4, 4] = 45
    assert 10 * np.log10((24 * 10**2.5 + 10**4.5) / 25) == pytest.approx(31.95, abs=0.01)
    labels = echo.convective_stratiform(dbz, pixel_km=2.5)
    expected = np.where(dbz > 0, echo.STRATIFORM, echo.NO_ECHO)
    for r, c in [(4, 4), (3, 4), (5, 4), (4, 3), (4, 5)]:
        expected[r, c] = echo.CONVECTIVE
    np.testing.assert_array_equal(labels, expected)


def test_peakedness_makes_a_moderate_bump_convective_only_over_weak_rain():
    """40 dBZ over a 28 dBZ background needs 10 - 28**2/180 = 5.64 dB: a core. The same
    12 dB bump over 38 dBZ needs only 1.98 dB: a core too; a 3 dB bump over 38 dBZ
    (needing 1.98) is a core, a 1 dB bump is not."""
    assert echo.peakedness(28.0) == pytest.approx(10 - 28**2 / 180)
    assert echo.peakedness(38.0) == pytest.approx(1.9777, abs=1e-4)
    assert echo.peakedness(-1.0) == 10.0 and echo.peakedness(42.43) == 0.0 and echo.peakedness(60) == 0.0


@pytest.mark.parametrize("background, radius", [(-3, 1), (24.9, 1), (25, 2), (29.9, 2), (30, 3), (35, 4),
                                                (39.99, 4), (40, 5), (70, 5)])
def test_convective_radius_steps(background, radius):
    assert echo.convective_radius_km(background) == radius


def test_no_echo_stays_no_echo_and_nan_is_no_echo():
    dbz = np.full((5, 5), np.nan)
    dbz[2, 2] = 30
    labels = echo.convective_stratiform(dbz)
    assert labels[2, 2] == echo.STRATIFORM  # alone, it is its own background: no peak, below 42 dBZ
    dbz[2, 2] = 42
    assert echo.convective_stratiform(dbz)[2, 2] == echo.CONVECTIVE  # intense enough by itself
    assert np.all(np.delete(labels.ravel(), 12) == echo.NO_ECHO)
    assert np.all(echo.convective_stratiform(np.full((3, 3), -np.inf)) == echo.NO_ECHO)


def test_uniform_rain_is_stratiform():
    labels = echo.convective_stratiform(np.full((20, 20), 35.0))
    assert np.all(labels == echo.STRATIFORM)


def test_the_real_squall_line_is_convective_along_its_line_and_stratiform_behind():
    storm = data.example_storms().x[0, :, :, 0]
    labels = echo.convective_stratiform(storm)
    share = np.bincount(labels.ravel(), minlength=3) / labels.size
    assert 0.02 < share[echo.CONVECTIVE] < 0.15 < share[echo.STRATIFORM]
    assert np.all(labels[storm >= 42] == echo.CONVECTIVE)
    assert np.mean(labels[(storm > 0) & (storm < 25)] == echo.STRATIFORM) > 0.95


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros(5), ValueError, "`dbz` must be a 2-dimensional or 3-dimensional"),
    ([["a"]], TypeError, "`dbz` must hold numbers"),
])
def test_bad_input_names_the_parameter(bad, error, match):
    with pytest.raises(error, match=match):
        echo.convective_stratiform(bad)


@pytest.mark.parametrize("pixel_km, error, match", [
    (0, ValueError, "`pixel_km` must be positive"), (-1.0, ValueError, "`pixel_km` must be positive"),
    (float("nan"), ValueError, "`pixel_km` must be finite"), ("3", TypeError, "`pixel_km` must be a real number"),
    (True, TypeError, "`pixel_km` must be a real number"),  # it was taken as 1 km
])
def test_bad_pixel_size(pixel_km, error, match):
    with pytest.raises(error, match=match):
        echo.convective_stratiform(np.zeros((4, 4)), pixel_km=pixel_km)
