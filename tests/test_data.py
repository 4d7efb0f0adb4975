"""coursekit.data: the shipped real storms, the north-up convention, and units.

The synthetic generator has its own specification, in test_synthetic.py; the
download path is tested against a local server in test_svrimg.py.
"""

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coursekit import data

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "coursekit" / "storms" / "svrimg_test_imgs.npy"
SHA256 = "bdbb763cd75080d3c9ea9dc0d04370f7236a45a4cb8796b57dee40bfce09b690"  # SVRIMG's fixture, published


def test_the_shipped_file_is_svrimgs_fixture_unchanged():
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == SHA256
    licence = (SHIPPED.parent / "LICENSE").read_text()
    assert "MIT License" in licence and "Copyright (c) 2020 Alex Haberlie" in licence


def test_example_storms_are_five_real_uint8_images():
    storms = data.example_storms()
    assert storms.x.shape == (5, 136, 136, 1) and storms.x.dtype == np.uint8
    assert storms.source == "svrimg" and storms.is_real
    assert list(storms.y) == [data.CLASS_NAMES.index("QLCS")] * 5
    assert len(data.EXAMPLE_STORM_IDS) == 5 and all(i.startswith("20110404") for i in data.EXAMPLE_STORM_IDS)
    assert "real" in storms.description


def test_example_storms_are_the_stored_images_flipped_north_up():
    stored = np.load(SHIPPED)  # SVRIMG's layout: row 0 is the southern edge
    storms = data.example_storms().x[..., 0]
    np.testing.assert_array_equal(storms, stored[:, ::-1, :])
    assert storms.flags.c_contiguous


def _principal_direction(mask):
    """Unit vector (east, north) along the long axis of a set of pixels of a north-up image."""
    rows, cols = np.nonzero(mask)
    east, north = cols - cols.mean(), -(rows - rows.mean())  # rows grow southward
    values, vectors = np.linalg.eigh(np.cov(np.vstack([east, north])))
    direction = vectors[:, -1]
    return direction if direction[0] >= 0 else -direction


@pytest.mark.parametrize("index", range(5))
def test_north_up_the_squall_line_runs_from_south_west_to_north_east(index):
    """The real line of 4 April 2011 ran SW-NE across the south-eastern US, with its
    trailing stratiform rain to the north-west: only a correctly flipped image says so."""
    dbz = data.example_storms().x[index, :, :, 0]
    east, north = _principal_direction(dbz >= 45)
    bearing = np.degrees(np.arctan2(east, north)) % 180  # 0 = N-S line, 90 = E-W line
    assert 20 < bearing < 70, f"line bearing {bearing:.0f} degrees is not SW-NE"
    # Most light-to-moderate rain lies on the north-west side of the convective line:
    # project each pixel's offset from the line onto the normal that points north-west.
    rows, cols = np.nonzero(dbz >= 45)
    light_rows, light_cols = np.nonzero((dbz >= 15) & (dbz < 35))
    offset_east, offset_north = light_cols - cols.mean(), -(light_rows - rows.mean())
    towards_north_west = offset_east * -north + offset_north * east
    assert np.mean(towards_north_west > 0) > 0.6, "the stratiform region must trail to the north-west"
    # As stored (south-up), the same line would appear to run SE-NW: the flip matters.
    east_s, north_s = _principal_direction(dbz[::-1] >= 45)
    assert np.degrees(np.arctan2(east_s, north_s)) % 180 > 90


def test_svrimg_times_are_the_report_and_the_nearest_radar_hour():
    hours = [data.svrimg_times(i)[1].strftime("%H:%M") for i in data.EXAMPLE_STORM_IDS]
    assert hours == ["13:00", "14:00", "14:00", "14:00", "14:00"]
    report, radar = data.svrimg_times("201104041429z000000001")
    assert (report.hour, report.minute, radar.hour, report.tzinfo) == (14, 29, 14, radar.tzinfo)
    assert data.svrimg_times("201112312330z000000001")[1].isoformat() == "2012-01-01T00:00:00+00:00"


@pytest.mark.parametrize("bad, error", [("201104041338", ValueError), ("2011-04-04 13:38", ValueError),
                                        ("201104041375z000282673", ValueError), (201104041338, TypeError)])
def test_svrimg_times_rejects_what_is_not_an_id(bad, error):
    with pytest.raises(error, match="storm_id"):
        data.svrimg_times(bad)


def _fewest_differences(a, b, min_overlap=10_000):
    """Over every shift of `b` against `a` whose overlap has at least `min_overlap` pixels:
    the smallest sum of squared differences on the overlap (0 when one shift makes them
    equal pixel for pixel), from three FFT cross-correlations."""
    from scipy import signal

    a, b = a.astype(float), b.astype(float)
    ones_a, ones_b = np.ones_like(a), np.ones_like(b)
    squared = (signal.correlate(a * a, ones_b, method="fft") + signal.correlate(ones_a, b * b, method="fft")
               - 2 * signal.correlate(a, b, method="fft"))
    overlap = signal.correlate(ones_a, ones_b, method="fft")
    return float(squared[overlap >= min_overlap - 0.5].min())


def test_example_storms_of_the_same_radar_hour_are_one_field_seen_around_different_reports():
    """What svrimg_times and the convolution chapter say: the images of 13:38-14:08 are
    crops of one radar field (14 UTC), equal wherever they overlap; 13:10's is another."""
    x = data.example_storms().x[..., 0]
    hours = [data.svrimg_times(i)[1] for i in data.EXAMPLE_STORM_IDS]
    for one in range(5):
        for two in range(one + 1, 5):
            differences = _fewest_differences(x[one], x[two])
            if hours[one] == hours[two]:
                assert differences < 0.5, (one, two, differences)
            else:  # hundreds of pixels of 20 dBZ apart, at the very least
                assert differences > 100 * 20**2, (one, two, differences)


def test_a_damaged_shipped_file_is_refused(monkeypatch):
    monkeypatch.setattr(data, "_STORMS_SHA256", "0" * 64)
    with pytest.raises(OSError, match=r"svrimg_test_imgs\.npy is damaged"):
        data.example_storms()


def test_the_storms_their_licence_and_the_weights_are_in_the_wheel(tmp_path):
    """Colab installs coursekit from git: the package data must be in what pip builds."""
    # Build from a copy, so that setuptools' build/ folder never lands in the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "coursekit", source / "coursekit", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [wheel] = tmp_path.glob("coursekit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("svrimg_test_imgs.npy", "LICENSE", "README.md"):
        assert f"coursekit/storms/{name}" in names
    for name in ("unet.npz", "unet_noskip.npz"):   # the metrics chapter loads them in Colab too
        assert f"coursekit/weights/{name}" in names


def test_strongest_storm_counts_pixels_at_the_threshold():
    x = np.zeros((4, 5, 5), dtype=np.uint8)
    x[0, 0, :3] = 50          # three pixels exactly at 50 dBZ
    x[1, :2, :2] = 49         # four pixels just below
    x[2, 4, 4] = 80           # one very strong pixel
    x[3, 0, :2] = 60          # two pixels
    assert data.strongest_storm(x) == 0
    assert data.strongest_storm(x, threshold=49) == 1
    assert data.strongest_storm(x[..., None], threshold=70) == 2
    assert data.strongest_storm(data.example_storms().x) in range(5)


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros((0, 4, 4)), ValueError, "at least one image"),
    (np.zeros((4, 4)), ValueError, "`x` must be a 3-dimensional or 4-dimensional"),
    (np.zeros((2, 4, 4, 3)), ValueError, r"\(N, H, W\) or \(N, H, W, 1\)"),
    ([["a"]], TypeError, "`x` must hold numbers"),
])
def test_strongest_storm_rejects_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        data.strongest_storm(bad)


def test_marshall_palmer_values():
    # Z = 200 R^1.6: 1 mm/h is 23 dBZ, 10 mm/h 39 dBZ, 100 mm/h 55 dBZ (to the nearest dB).
    rates = data.rain_rate([23.0103, 39.0103, 55.0103])
    np.testing.assert_allclose(rates, [1, 10, 100], rtol=1e-3)
    assert data.rain_rate(0) == 0 and data.rain_rate(-5) == 0  # no echo, no rain
    with pytest.raises(ValueError, match="`a` must be positive"):
        data.rain_rate(30, a=0)
    with pytest.raises(TypeError, match="`a` must be a real number"):
        data.rain_rate(30, a="200")
    with pytest.raises(TypeError, match="`b` must be a real number"):
        data.rain_rate(30, b=np.array([1.6, 2.0]))


@given(st.floats(0.5, 80))
def test_dbz_and_z_are_inverse(dbz):
    assert data.z_to_dbz(data.dbz_to_z(dbz)) == pytest.approx(dbz, abs=1e-9)


def test_no_echo_is_zero_z_and_zero_z_is_no_echo():
    np.testing.assert_array_equal(data.dbz_to_z([0, -3]), [0, 0])
    np.testing.assert_array_equal(data.z_to_dbz([0, 0.5]), [0, 0])
    with pytest.raises(ValueError, match="`z` must be non-negative"):
        data.z_to_dbz([-1])
    with pytest.raises(ValueError, match="`z` must hold finite values"):
        data.z_to_dbz([np.inf])


@pytest.mark.parametrize("call, error, match", [
    # NaN made the mean dBZ NaN while the Z and rain averages counted it as no echo.
    (lambda: data.reflectivity_averages([np.nan, 10.0]), ValueError, "`dbz` must hold finite values"),
    (lambda: data.strongest_storm(np.zeros((2, 4, 4)), threshold=np.nan), ValueError, "`threshold` must be finite"),
    (lambda: data.strongest_storm(np.zeros((2, 4, 4)), threshold="50"), TypeError, "`threshold` must be a real"),
    (lambda: data.load_digits_28(test_fraction="0.2"), TypeError, "`test_fraction` must be a real number"),
])
def test_bad_numbers_name_their_parameter(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_reflectivity_averages_on_a_real_storm():
    """On a real storm the mean of dBZ sits far below the dBZ of the mean Z, and the
    rain of the mean dBZ far below the mean rain: the cores dominate the water."""
    storm = data.example_storms().x[0, :, :, 0]
    averages = data.reflectivity_averages(storm, echo_only=True)
    echo = storm[storm > 0].astype(float)
    assert averages["mean dBZ"] == pytest.approx(echo.mean())
    z = 10 ** (echo / 10)
    assert averages["dBZ of mean Z"] == pytest.approx(10 * np.log10(z.mean()))
    assert averages["mean rain (mm/h)"] == pytest.approx(((z / 200) ** (1 / 1.6)).mean())
    assert averages["dBZ of mean Z"] > averages["mean dBZ"] + 10
    assert averages["mean rain (mm/h)"] > 2 * averages["rain of mean dBZ (mm/h)"]


def test_reflectivity_averages_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="`dbz` holds no pixels"):
        data.reflectivity_averages(np.zeros((3, 3)), echo_only=True)
