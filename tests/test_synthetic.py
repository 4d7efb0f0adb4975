"""Specification of the offline radar set, coursekit.synthetic.

Format, determinism and storm shapes of :func:`synthetic_radar`; the two realism
statistics, against answers computed independently; and the realism targets that
the synthetic images must meet (statistics only, never timings).
"""

import numpy as np
import pytest

from coursekit import synthetic
from coursekit._svrimg import CLASS_COUNTS, CLASS_NAMES, IMAGE_SIZE
from coursekit.synthetic import power_spectrum_slope, synthetic_radar, weak_echo_fraction

PRECIPITATING = ("Cellular", "QLCS", "Tropical", "Other")


@pytest.fixture(scope="module")
def radar():
    return synthetic_radar(240, seed=0)


@pytest.fixture(scope="module")
def by_class():
    """40 images of each precipitating class, (40, 136, 136) uint8 each."""
    return {name: synthetic._class_images(name, 40, seed=0) for name in PRECIPITATING}


@pytest.fixture(scope="module")
def real():
    """The five real SVRIMG storms that ship with coursekit, north-up (H, W) each."""
    from coursekit.data import example_storms

    return example_storms().x[..., 0]


# --- format, determinism, arguments ---------------------------------------------------


def test_svrimg_format(radar):
    x, y = radar
    assert x.shape == (240, IMAGE_SIZE, IMAGE_SIZE, 1) == (240, 136, 136, 1)
    assert x.dtype == np.uint8
    assert x.max() <= 80
    assert y.shape == (240,) and y.dtype == np.int64
    assert set(np.unique(y)) <= set(range(len(CLASS_NAMES)))


def test_deterministic_by_seed():
    a, b = synthetic_radar(8, seed=3), synthetic_radar(8, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], synthetic_radar(8, seed=4)[0])


def test_smaller_sets_are_prefixes_of_larger_ones(radar):
    x, y = synthetic_radar(10, seed=0)
    np.testing.assert_array_equal(x, radar[0][:10])
    np.testing.assert_array_equal(y, radar[1][:10])


def test_label_helper_matches_the_generator(radar):
    np.testing.assert_array_equal(synthetic._labels(240, seed=0), radar[1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, "`n` must be positive"),
        ({"n": -3}, ValueError, "`n` must be positive"),
        ({"n": 2.5}, TypeError, "`n` must be an integer"),
        ({"n": True}, TypeError, "`n` must be an integer"),
        ({"n": 2, "seed": -1}, ValueError, "`seed` must be non-negative"),
        ({"n": 2, "seed": 1.0}, TypeError, "`seed` must be an integer"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        synthetic_radar(**kwargs)


# --- classes and storm shapes -----------------------------------------------------------


def test_every_class_appears(radar):
    _, y = radar
    assert np.all(np.bincount(y, minlength=6) > 0)


def test_class_mix_is_svrimgs_within_3_points():
    y = synthetic._labels(sum(CLASS_COUNTS), seed=0)  # the labels of synthetic_radar(1741)
    share = np.bincount(y, minlength=6) / len(y) * 100
    expected = np.array(CLASS_COUNTS) / sum(CLASS_COUNTS) * 100
    assert np.max(np.abs(share - expected)) <= 3


def test_background_is_mostly_zero(radar):
    x, _ = radar
    zero_fraction = (x == 0).mean(axis=(1, 2, 3))
    assert np.median(zero_fraction) > 0.5


def test_missing_images_are_blank_and_others_are_not(radar):
    x, y = radar
    missing = y == CLASS_NAMES.index("Missing")
    assert np.all(x[missing] == 0)
    assert np.all(x[~missing].max(axis=(1, 2, 3)) > 0)


def test_cells_have_intense_cores(radar, by_class):
    x, y = radar
    for cellular in (x[y == CLASS_NAMES.index("Cellular")][..., 0], by_class["Cellular"]):
        assert np.all(cellular.max(axis=(1, 2)) >= 50)


def _principal_axes(mask):
    """Standard deviations along the principal axes of a set of pixels, and the major axis
    as a (row, column) unit vector."""
    rows, cols = np.nonzero(mask)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(np.vstack([rows, cols])))
    return np.sqrt(np.maximum(eigenvalues, 1e-9)), eigenvectors[:, -1]


def test_qlcs_cores_are_long_lines(radar, by_class):
    x, y = radar
    for images in (x[y == CLASS_NAMES.index("QLCS")][..., 0], by_class["QLCS"]):
        ratios = []
        for image in images:
            spread, _ = _principal_axes(image >= 45)
            ratios.append(spread[-1] / spread[0])
        assert np.median(ratios) > 4


def test_qlcs_lines_run_sw_ne_with_rain_trailing_to_the_west(by_class):
    azimuths, west = [], []
    for image in by_class["QLCS"]:
        cores = image >= 45
        _, (d_row, d_col) = _principal_axes(cores)
        # Compass azimuth of the line, clockwise from north (north is -row), folded to [0, 180).
        azimuths.append(np.degrees(np.arctan2(d_col, -d_row)) % 180)
        stratiform = (image >= 20) & (image < 40)
        west.append(np.nonzero(stratiform)[1].mean() < np.nonzero(cores)[1].mean())
    azimuths = np.array(azimuths)
    assert 20 <= np.median(azimuths) <= 50  # SSW-NNE to SW-NE
    assert np.mean((azimuths >= 5) & (azimuths <= 75)) >= 0.9
    assert np.mean(west) >= 0.75


def test_noise_is_weak(radar):
    x, y = radar
    noise = x[y == CLASS_NAMES.index("Noise")]
    assert noise.size and np.all(noise.max(axis=(1, 2, 3)) < 35)


def test_stratiform_classes_cover_wide_areas_with_moderate_rain(radar, by_class):
    x, y = radar
    for name in ("Tropical", "Other"):
        for images in (x[y == CLASS_NAMES.index(name)], by_class[name]):
            rain_fraction = (images >= 20).mean(axis=tuple(range(1, images.ndim)))
            assert np.median(rain_fraction) > 0.1, name


# --- realism targets ----------------------------------------------------------------------


@pytest.mark.parametrize("name", PRECIPITATING)
def test_echo_fades_out_through_weak_returns(by_class, name):
    fractions = [weak_echo_fraction(image) for image in by_class[name]]
    assert np.median(fractions) >= 0.05
    assert np.min(fractions) >= 0.03


@pytest.mark.parametrize("name", PRECIPITATING)
def test_images_are_rough_at_every_scale_like_radar(by_class, name):
    slopes = [power_spectrum_slope(image) for image in by_class[name]]
    assert -3.5 <= np.median(slopes) <= -2.0


def test_real_storms_meet_the_same_targets(real):
    slopes = [power_spectrum_slope(image) for image in real]
    fractions = [weak_echo_fraction(image) for image in real]
    assert all(-3.1 <= s <= -2.5 for s in slopes), slopes
    assert all(0.05 <= f <= 0.1 for f in fractions), fractions


# --- power_spectrum_slope ------------------------------------------------------------------


def _exact_power_law(beta, shape=(136, 136), seed=0):
    """A real image whose power at every frequency is exactly |k|^-beta (k in cycles per
    image): random phases, taken from the spectrum of real white noise so that they
    are Hermitian-symmetric, with prescribed amplitudes."""
    spectrum = np.fft.fft2(np.random.default_rng(seed).standard_normal(shape))
    k_rows = np.fft.fftfreq(shape[0]) * shape[0]
    k_cols = np.fft.fftfreq(shape[1]) * shape[1]
    k = np.hypot(k_rows[:, None], k_cols[None, :])
    k[0, 0] = np.inf  # no mean
    image = np.fft.ifft2(spectrum / np.abs(spectrum) * k ** (-beta / 2))
    assert np.abs(image.imag).max() < 1e-12
    return image.real


@pytest.mark.parametrize("beta", [2.0, 3.0, 4.0])
def test_slope_of_a_prescribed_power_law(beta):
    # Averaging k^-beta over a ring of width 1 bends the line very slightly.
    assert power_spectrum_slope(_exact_power_law(beta)) == pytest.approx(-beta, abs=0.03)


def test_slope_of_white_noise_is_about_zero():
    rng = np.random.default_rng(1)
    slopes = [power_spectrum_slope(rng.standard_normal((136, 136))) for _ in range(10)]
    assert abs(np.mean(slopes)) < 0.05


def test_slope_ignores_offset_scale_and_channel_axis():
    image = _exact_power_law(3.0)
    reference = power_spectrum_slope(image)
    assert power_spectrum_slope(40 + 7 * image) == pytest.approx(reference)
    assert power_spectrum_slope(image[..., None]) == pytest.approx(reference)


def test_wavenumbers_are_cycles_per_image():
    image = _exact_power_law(3.0)
    image = image / image.std()
    columns = np.arange(136)
    reference = power_spectrum_slope(image)
    # A strong wave of 50 cycles per image lies outside wavenumbers 3-40 and changes
    # nothing; one of 20 cycles lies inside and lifts one point of the fit, which
    # then tilts, unless the fit stops below 20.
    wave50 = 20 * np.cos(2 * np.pi * 50 * columns / 136)[None, :].repeat(136, axis=0)
    wave20 = 20 * np.cos(2 * np.pi * 20 * columns / 136)[None, :].repeat(136, axis=0)
    assert power_spectrum_slope(image + wave50) == pytest.approx(reference)
    assert abs(power_spectrum_slope(image + wave20) - reference) > 0.05
    assert power_spectrum_slope(image + wave20, kmax=19) == pytest.approx(
        power_spectrum_slope(image, kmax=19))


@pytest.mark.parametrize(
    "image, kwargs, error, match",
    [
        (np.zeros((4, 136, 136)), {}, ValueError, "`image` must be \\(H, W\\)"),
        (np.zeros(136), {}, ValueError, "`image` must be \\(H, W\\)"),
        (np.full((136, 136), 7.0), {}, ValueError, "`image` must not be constant"),
        (np.where(np.eye(136), np.nan, 1.0), {}, ValueError, "`image` must be finite"),
        (np.eye(136), {"kmin": 0}, ValueError, "`kmin` must be positive"),
        (np.eye(136), {"kmin": 10, "kmax": 10}, ValueError, "`kmin` < `kmax`"),
        (np.eye(136), {"kmax": 69}, ValueError, "`kmax` <= 68"),
        (np.eye(136), {"kmax": 40.0}, TypeError, "`kmax` must be an integer"),
        ([["a", "b"], ["c", "d"]], {}, TypeError, "`image` must be an array of numbers"),
    ],
)
def test_slope_rejects_bad_input(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        power_spectrum_slope(image, **kwargs)


# --- weak_echo_fraction --------------------------------------------------------------------


def test_weak_echo_fraction_by_hand():
    image = np.array([
        [0, 0, 1, 4, 5],
        [0, 3, 30, 45, 0],
        [0, 0, 20, 60, 2],
    ], dtype=np.uint8)
    # Echo: 1, 4, 5, 3, 30, 45, 20, 60, 2 (nine pixels); at 1-4 dBZ: 1, 4, 3, 2.
    assert weak_echo_fraction(image) == pytest.approx(4 / 9)
    assert weak_echo_fraction(image, low=5, high=30) == pytest.approx(3 / 9)
    assert weak_echo_fraction(image[..., None]) == pytest.approx(4 / 9)
    assert weak_echo_fraction(np.array([[0, 50], [35, 0]])) == 0.0


@pytest.mark.parametrize(
    "image, kwargs, error, match",
    [
        (np.zeros((136, 136)), {}, ValueError, "`image` has no echo"),
        (np.zeros((2, 3, 4)), {}, ValueError, "`image` must be \\(H, W\\)"),
        (np.array([[1.0, np.inf]]), {}, ValueError, "`image` must be finite"),
        (np.ones((3, 3)), {"low": 5, "high": 4}, ValueError, "`low` must not exceed `high`"),
        (np.ones((3, 3)), {"low": "1"}, TypeError, "`low` must be a real number"),
    ],
)
def test_weak_echo_fraction_rejects_bad_input(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        weak_echo_fraction(image, **kwargs)
