"""Specification of the offline radar set, coursekit.data.synthetic_radar."""

import numpy as np
import pytest

from coursekit.data import CLASS_NAMES, IMAGE_SIZE, synthetic_radar


@pytest.fixture(scope="module")
def radar():
    return synthetic_radar(240, seed=0)


def test_svrimg_format(radar):
    x, y = radar
    assert x.shape == (240, IMAGE_SIZE, IMAGE_SIZE, 1) == (240, 136, 136, 1)
    assert x.dtype == np.uint8
    assert x.max() <= 80
    assert y.shape == (240,)
    assert set(np.unique(y)) <= set(range(len(CLASS_NAMES)))


def test_classes_are_svrimgs():
    assert CLASS_NAMES == ("Cellular", "QLCS", "Tropical", "Other", "Noise", "Missing")


def test_every_class_appears(radar):
    _, y = radar
    assert np.all(np.bincount(y, minlength=6) > 0)


def test_deterministic_by_seed():
    a, b = synthetic_radar(8, seed=3), synthetic_radar(8, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], synthetic_radar(8, seed=4)[0])


def test_smaller_sets_are_prefixes_of_larger_ones(radar):
    x, y = synthetic_radar(10, seed=0)
    np.testing.assert_array_equal(x, radar[0][:10])
    np.testing.assert_array_equal(y, radar[1][:10])


def test_background_is_mostly_zero(radar):
    x, _ = radar
    zero_fraction = (x == 0).mean(axis=(1, 2, 3))
    assert np.median(zero_fraction) > 0.5


def test_missing_images_are_blank_and_others_are_not(radar):
    x, y = radar
    missing = y == CLASS_NAMES.index("Missing")
    assert np.all(x[missing] == 0)
    assert np.all(x[~missing].max(axis=(1, 2, 3)) > 0)


def test_cells_have_intense_cores(radar):
    x, y = radar
    cellular = x[y == CLASS_NAMES.index("Cellular")]
    assert np.all(cellular.max(axis=(1, 2, 3)) >= 50)


def _elongation(mask):
    """Ratio of the principal axes of a set of pixels (1 for a disc, large for a line)."""
    rows, cols = np.nonzero(mask)
    eigenvalues = np.linalg.eigvalsh(np.cov(np.vstack([rows, cols])))
    return np.sqrt(eigenvalues[-1] / max(eigenvalues[0], 1e-9))


def test_qlcs_cores_are_long_lines_and_noise_is_weak(radar):
    x, y = radar
    qlcs = [_elongation(img[..., 0] >= 45) for img in x[y == CLASS_NAMES.index("QLCS")]]
    assert np.median(qlcs) > 4
    noise = x[y == CLASS_NAMES.index("Noise")]
    assert np.all(noise.max(axis=(1, 2, 3)) < 35)  # clutter and speckle are weak


def test_stratiform_classes_cover_wide_areas_with_moderate_rain(radar):
    x, y = radar
    for name in ("Tropical", "Other"):
        images = x[y == CLASS_NAMES.index(name)]
        rain_fraction = (images >= 20).mean(axis=(1, 2, 3))
        assert np.median(rain_fraction) > 0.1, name


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, "`n` must be positive"),
        ({"n": 2.5}, TypeError, "`n` must be an integer"),
        ({"n": 2, "seed": -1}, ValueError, "`seed` must be non-negative"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        synthetic_radar(**kwargs)
