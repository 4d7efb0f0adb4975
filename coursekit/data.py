"""Radar images in SVRIMG's format: real storms, the real splits, and units.

SVRIMG (Haberlie, Ashley and Gensini) cuts 136x136 composite-reflectivity images,
about 512 km on a side, around severe-weather reports and labels each by storm
mode. Its arrays are uint8 reflectivity in dBZ, shape (N, 136, 136, 1), where 0
means no echo.

**Orientation.** Every radar array that :mod:`coursekit` hands to a chapter is
*north-up*: row 0 is the northern edge and column 0 the western edge, so that
``imshow`` draws it as a map. SVRIMG stores its images south-up (row 0 is the
southern edge); :func:`load_radar` and :func:`example_storms` flip them on load.
Only :func:`get_example_data`, the stand-in for svrimg's own function, returns
the arrays exactly as SVRIMG stores them.

Three sources of images:

- :func:`example_storms`: five real SVRIMG images shipped with the package (a
  squall line of 4 April 2011), so every chapter can show a real storm offline.
- :func:`load_radar`: the real SVRIMG split when it can be downloaded, else the
  offline set of :func:`coursekit.synthetic.synthetic_radar`, saying so in the log.
- :func:`get_example_data`: svrimg's interface, for notebooks written for svrimg.

Reflectivity factor Z (mm^6 m^-3) spans many orders of magnitude, so radar
reports it in decibels, dBZ = 10 log10 Z. Averages of dBZ are not averages of Z
or of rain rate; :func:`reflectivity_averages` shows the difference.

Used in: every chapter that shows a radar image.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import ndimage

from ._svrimg import CLASS_COUNTS, CLASS_NAMES, IMAGE_SIZE, PIXEL_KM
from ._validation import as_array, as_int, as_number, check_finite, one_of
from .synthetic import synthetic_radar

__all__ = [
    "CLASS_COUNTS",
    "CLASS_NAMES",
    "EXAMPLE_STORM_IDS",
    "IMAGE_SIZE",
    "PIXEL_KM",
    "SVRIMG_FILES",
    "SVRIMG_SIZES",
    "SVRIMG_URL",
    "RadarSet",
    "dbz_to_z",
    "example_storms",
    "get_example_data",
    "load_digits_28",
    "load_radar",
    "rain_rate",
    "reflectivity_averages",
    "strongest_storm",
    "svrimg_times",
    "z_to_dbz",
]

logger = logging.getLogger(__name__)

# --- the real SVRIMG data ------------------------------------------------------------

#: Where SVRIMG serves its example pickles (the default of svrimg's get_example_data).
SVRIMG_URL = "https://nimbus.niu.edu/svrimg/data/classifications/"
#: File of each split, as svrimg names them.
SVRIMG_FILES = {
    "training": "1996_2011_train.pkl",
    "validation": "2012_2013_validation.pkl",
    "testing": "2014_2017_test.pkl",
}
#: Environment variable that replaces ``source="auto"`` in :func:`load_radar`.
SOURCE_ENV = "COURSEKIT_RADAR_SOURCE"
#: Environment variable that replaces the default URL (a mirror, or a test server).
URL_ENV = "COURSEKIT_SVRIMG_URL"
#: Images in each public split.
SVRIMG_SIZES = {"training": 1331, "validation": 110, "testing": 300}


def get_example_data(data_type, data_dir=None, url=SVRIMG_URL, progressbar=True):
    """Load an SVRIMG split, downloading it once: a safe stand-in for svrimg's function.

    Same data types, file names, default URL and return value as
    ``svrimg.utils.get_images.get_example_data``, so a notebook written for svrimg
    needs only its import changed. Unlike svrimg, the download is atomic, has a
    timeout and a progress bar, a damaged cached file is fetched again, and the
    pickle is loaded without allowing it to run code.

    The arrays are returned byte for byte as SVRIMG stores them: **south-up**, row 0
    being the southern edge. Flip them (``x[:, ::-1]``) before showing them as a map,
    or use :func:`load_radar`, which does.

    Parameters
    ----------
    data_type : {'training', 'validation', 'testing'}
    data_dir : str or path, optional
        Cache folder; ``$COURSEKIT_DATA_DIR`` or the user's cache folder by default.
    url : str, optional
        Base URL of the three files.
    progressbar : bool, optional
        Show download progress.

    Returns
    -------
    x : (N, 136, 136, 1) uint8 ndarray
        Reflectivity in dBZ, south-up as stored.
    y : (N,) or (N, K) ndarray
        Labels, as SVRIMG stores them.

    Raises
    ------
    ValueError
        For an unknown `data_type`, or a file whose arrays have the wrong shape or dtype.
    coursekit._download.DownloadError
        When the file cannot be downloaded (no network, HTTP error, cut-off transfer);
        the message names the URL and the cache path.
    coursekit._download.UnsafePickleError
        When the file asks to load anything but NumPy arrays, tuples and lists.

    Examples
    --------
    >>> get_example_data("train")
    Traceback (most recent call last):
    ...
    ValueError: The parameter `data_type` must be 'training', 'validation' or 'testing'; got 'train'

    Used in: every chapter with radar images, through :func:`load_radar`.
    """
    import pickle

    from . import _download

    one_of(data_type, "data_type", SVRIMG_FILES)
    folder = _download.cache_dir() if data_dir is None else Path(data_dir)
    fname = SVRIMG_FILES[data_type]
    file_url = url.rstrip("/") + "/" + fname
    stamp = folder / (fname + ".sha256")
    for attempt in (1, 2):
        path = _download.fetch(file_url, folder, fname, progressbar=progressbar)
        recorded = stamp.read_text().strip() if stamp.is_file() else None
        try:
            if recorded is not None and recorded != _download.sha256(path):
                raise ValueError("its checksum differs from the one recorded when it was downloaded")
            x, y = _check_svrimg(_download.load_pickle_safely(path), path)
        except _download.UnsafePickleError:
            path.unlink(missing_ok=True)  # never keep a hostile file in the cache
            raise
        except (ValueError, EOFError, pickle.UnpicklingError, TypeError, IndexError) as error:
            # A damaged cache entry (truncated, altered): never use it; fetch it again once.
            path.unlink(missing_ok=True)
            stamp.unlink(missing_ok=True)
            if attempt == 2:
                raise ValueError(f"{path} downloaded from {file_url} is not valid SVRIMG data: {error}") from None
            continue
        if recorded is None:
            stamp.write_text(_download.sha256(path) + "\n")
        return x, y


def _check_svrimg(content, path):
    if not isinstance(content, (tuple, list)) or len(content) != 2:
        raise ValueError(f"expected a pair (x, y); got {type(content).__name__}")
    x, y = (np.asarray(part) for part in content)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE, 1):
        raise ValueError(f"x must be uint8 of shape (N, 136, 136, 1); got {x.dtype} {x.shape}")
    if y.dtype == object or not np.issubdtype(y.dtype, np.number) or len(y) != len(x):
        raise ValueError(f"y must hold one numeric label per image; got {y.dtype} {y.shape} for {len(x)} images")
    return x, y


class RadarSet(tuple):
    """``(x, y)`` as returned by :func:`load_radar` and :func:`example_storms`, saying
    where the images came from.

    Unpacks like a pair (``x, y = load_radar(...)``). ``x`` is north-up uint8 dBZ of
    shape (N, 136, 136, 1); ``.source`` is ``"svrimg"`` (real images) or
    ``"synthetic"``; ``.description`` is a sentence for the reader.
    """

    def __new__(cls, x, y, source, description):
        pair = super().__new__(cls, (x, y))
        pair.source, pair.description = source, description
        return pair

    @property
    def x(self):
        return self[0]

    @property
    def y(self):
        return self[1]

    @property
    def is_real(self):
        """True for SVRIMG's images, False for synthetic ones."""
        return self.source == "svrimg"


def _class_indices(y):
    # Labels stored one-hot (N, K), as Keras workflows keep them, become class indices.
    y = np.asarray(y)
    return (y.argmax(axis=1) if y.ndim == 2 else y).astype(np.int64)


def _north_up(x):
    # SVRIMG's row 0 is the southern edge; reversing the rows puts north at the top.
    return np.ascontiguousarray(x[:, ::-1])


def load_radar(split, source="auto", n=None, seed=0, data_dir=None, url=None, progressbar=True):
    """Radar images for a chapter, north-up: the real SVRIMG split, or the synthetic set.

    Parameters
    ----------
    split : {'training', 'validation', 'testing'}
    source : {'auto', 'svrimg', 'synthetic'}, optional
        ``'svrimg'``: the real data, from the cache or downloaded (errors are raised).
        ``'synthetic'``: :func:`coursekit.synthetic.synthetic_radar`, with no network
        at all. ``'auto'``: the real data when they can be had; otherwise the
        synthetic set, with a warning in the log (logger ``coursekit.data``) saying
        why. The environment variable ``COURSEKIT_RADAR_SOURCE`` overrides ``'auto'``.
    n : int, optional
        Synthetic images only: how many. By default a tenth of the real split's size
        (133, 11 and 30), keeping SVRIMG's proportions.
    seed : int, optional
        Synthetic images only; each split has its own images for a given seed.
    data_dir : str or path, optional
        Cache folder for the real data.
    url : str, optional
        Base URL of the real data: ``$COURSEKIT_SVRIMG_URL`` or SVRIMG's own by default.
    progressbar : bool, optional

    Returns
    -------
    RadarSet
        ``(x, y)`` with ``x`` uint8 (N, 136, 136, 1) in dBZ, north-up (row 0 is the
        northern edge), ``y`` (N,) int64 class indices (one-hot labels are
        converted), plus ``.source`` and ``.description``.

    Examples
    --------
    >>> radar = load_radar("validation", source="synthetic")
    >>> x, y = radar
    >>> x.shape, radar.source
    ((11, 136, 136, 1), 'synthetic')

    Used in: Encoder–decoder; Pixel-wise metrics.
    """
    from . import _download

    one_of(split, "split", SVRIMG_FILES)
    one_of(source, "source", ("auto", "svrimg", "synthetic"))
    if source == "auto" and os.environ.get(SOURCE_ENV, "auto") not in ("auto", "svrimg", "synthetic"):
        raise ValueError(f"${SOURCE_ENV} must be 'auto', 'svrimg' or 'synthetic'; got {os.environ[SOURCE_ENV]!r}")
    source = os.environ.get(SOURCE_ENV, source) if source == "auto" else source
    url = url or os.environ.get(URL_ENV) or SVRIMG_URL
    if source in ("auto", "svrimg"):
        try:
            x, y = get_example_data(split, data_dir=data_dir, url=url, progressbar=progressbar)
            # Only SVRIMG's own server vouches for real images: another (a mirror, or the
            # tests' local server of made-up files) is named instead.
            kind = "real images" if url == SVRIMG_URL else f"images served from {url}"
            return RadarSet(_north_up(x), _class_indices(y), "svrimg",
                            f"SVRIMG's {split} split ({SVRIMG_FILES[split]}), {len(x)} {kind}")
        except (_download.DownloadError, ValueError) as error:
            if source == "svrimg":
                raise
            reason = error.reason if isinstance(error, _download.DownloadError) else "the file was not valid"
            logger.warning("SVRIMG data unavailable (%s); using synthetic radar images.", reason.split(";")[0])
    count = n if n is not None else max(1, round(SVRIMG_SIZES[split] / 10))
    split_seed = as_int(seed, "seed", 0) * 3 + list(SVRIMG_FILES).index(split)
    x, y = synthetic_radar(count, seed=split_seed)
    return RadarSet(x, y, "synthetic",
                    f"{count} synthetic images (coursekit.synthetic.synthetic_radar) standing in for "
                    f"SVRIMG's {split} split")


# --- five real storms, shipped with the package ------------------------------------

#: SVRIMG's ids of the images of :func:`example_storms`, in order.
EXAMPLE_STORM_IDS = ("201104041310z000282671", "201104041338z000282673", "201104041340z000282676",
                     "201104041350z000282677", "201104041408z000282156")
_STORMS_FILE = "svrimg_test_imgs.npy"
_STORMS_SHA256 = "bdbb763cd75080d3c9ea9dc0d04370f7236a45a4cb8796b57dee40bfce09b690"


def example_storms():
    """Five real SVRIMG storms that ship with coursekit, north-up.

    SVRIMG's test fixture (MIT licence, copyright 2020 Alex Haberlie; see
    ``coursekit/storms/``): images centred on five tornado reports of 4 April 2011,
    13:10 to 14:08 UTC, as a long squall line (QLCS) crossed the south-eastern
    United States. Each is cut from the hourly radar composite nearest its report
    (:func:`svrimg_times`): the first from 13 UTC, the other four from one 14 UTC
    field, so those four agree wherever they overlap. North-up, the line runs from
    the south-west (lower left) to the north-east (upper right), with stratiform
    rain trailing to its north-west.
    All five are labelled QLCS here, from that event; the fixture itself carries
    no labels.

    Returns
    -------
    RadarSet
        ``x`` uint8 (5, 136, 136, 1) in dBZ, north-up; ``y`` (5,) int64, all
        ``CLASS_NAMES.index("QLCS")``; ``.source`` is ``"svrimg"``.

    Raises
    ------
    OSError
        When the shipped file is missing or damaged (its SHA-256 differs).

    Examples
    --------
    >>> storms = example_storms()
    >>> storms.x.shape, storms.x.dtype, storms.source
    ((5, 136, 136, 1), dtype('uint8'), 'svrimg')

    Used in: Convolution; Padding, stride and pooling; Encoder-decoder; Quantization; Pixel-wise metrics.
    """
    raw = resources.files("coursekit").joinpath("storms", _STORMS_FILE).read_bytes()
    if hashlib.sha256(raw).hexdigest() != _STORMS_SHA256:
        raise OSError(f"coursekit/storms/{_STORMS_FILE} is damaged: its SHA-256 is not {_STORMS_SHA256}")
    stored = np.load(io.BytesIO(raw), allow_pickle=False)  # (5, 136, 136), south-up
    x = _north_up(stored[..., None])
    y = np.full(len(x), CLASS_NAMES.index("QLCS"), dtype=np.int64)
    return RadarSet(x, y, "svrimg",
                    "five real SVRIMG images of a squall line on 4 April 2011 (shipped with coursekit)")


def svrimg_times(storm_id):
    """When an SVRIMG image's report was made, and when its radar data were observed.

    SVRIMG centres each image on a severe-weather report and cuts it from the hourly
    GridRad composite nearest the report's time. Images of reports less than an hour
    apart can therefore show the same radar field: four of :func:`example_storms`
    (reports 13:38 to 14:08 UTC) are one 14 UTC field centred on four points of the
    squall line, and only the first (13:10 UTC) is from 13 UTC.

    Parameters
    ----------
    storm_id : str
        An SVRIMG id, ``YYYYMMDDhhmmz`` and a report number, as in
        :data:`EXAMPLE_STORM_IDS`.

    Returns
    -------
    (datetime, datetime)
        The report time and the radar hour, both UTC. A report at half past
        counts towards the later hour.

    Examples
    --------
    >>> report, radar = svrimg_times("201104041338z000282673")
    >>> f"{report:%H:%M} UTC report, {radar:%H} UTC radar"
    '13:38 UTC report, 14 UTC radar'

    Used in: Convolution.
    """
    if not isinstance(storm_id, str):
        raise TypeError(f"The parameter `storm_id` must be an SVRIMG id (a str); got {storm_id!r}")
    try:
        if storm_id[12:13] != "z":
            raise ValueError("no z after the time")
        report = datetime.strptime(storm_id[:12], "%Y%m%d%H%M").replace(tzinfo=timezone.utc)
    except ValueError as error:
        raise ValueError(f"The parameter `storm_id` must look like '201104041338z000282673' "
                         f"(YYYYMMDDhhmmz, then the report number); got {storm_id!r}") from error
    return report, (report + timedelta(minutes=30)).replace(minute=0)


def strongest_storm(x, threshold=50.0):
    """Index of the image with the most pixels at or above `threshold` dBZ.

    Parameters
    ----------
    x : (N, H, W) or (N, H, W, 1) array_like
        Reflectivity in dBZ.
    threshold : float, optional
        50 dBZ marks heavy-rain cores, where hail is possible.

    Returns
    -------
    int
        The first such index when several tie.

    Examples
    --------
    >>> x = np.zeros((3, 4, 4)); x[1, :2] = 55; x[2, 0, 0] = 60
    >>> strongest_storm(x)
    1

    Used in: Convolution; Padding, stride and pooling; Quantization; Pixel-wise metrics.
    """
    x = as_array(x, "x", (3, 4))
    if x.ndim == 4 and x.shape[-1] != 1:
        raise ValueError(f"The parameter `x` must be (N, H, W) or (N, H, W, 1); got shape {x.shape}")
    if len(x) == 0:
        raise ValueError("The parameter `x` must hold at least one image; got none")
    threshold = as_number(threshold, "threshold")
    counts = (x >= threshold).reshape(len(x), -1).sum(axis=1)
    return int(np.argmax(counts))


# --- reflectivity, its decibels, and rain ------------------------------------------


def dbz_to_z(dbz):
    """Reflectivity factor Z (mm^6 m^-3) from dBZ, with 0 dBZ or less read as no echo.

    SVRIMG writes 0 where there is no echo, so pixels at or below 0 dBZ become
    Z = 0 rather than 10^0 = 1.

    Parameters
    ----------
    dbz : array_like
        Reflectivity in dBZ.

    Returns
    -------
    ndarray of float, same shape
        ``10 ** (dbz / 10)`` where ``dbz > 0``, else 0.

    Examples
    --------
    >>> dbz_to_z([0, 10, 40])
    array([    0.,    10., 10000.])

    Used in: Convolution, through :func:`reflectivity_averages`; Quantization and
    dithering, through :func:`rain_rate`.
    """
    dbz = np.asarray(as_array(dbz, "dbz", tuple(range(0, 6))), dtype=float)
    return np.where(dbz > 0, np.power(10.0, dbz / 10.0), 0.0)


def z_to_dbz(z):
    """dBZ from the reflectivity factor Z (mm^6 m^-3); Z = 0 (no echo) gives 0 dBZ.

    Parameters
    ----------
    z : array_like
        Non-negative reflectivity factor.

    Returns
    -------
    ndarray of float, same shape
        ``10 log10 Z`` where ``Z > 1``, else 0 (SVRIMG's "no echo").

    Examples
    --------
    >>> z_to_dbz([0, 10, 10000])
    array([ 0., 10., 40.])

    Used in: Convolution, through :func:`reflectivity_averages`.
    """
    z = check_finite(np.asarray(as_array(z, "z", tuple(range(0, 6))), dtype=float), "z")
    if np.any(z < 0):
        raise ValueError(f"The parameter `z` must be non-negative; got {int((z < 0).sum())} value(s) below 0")
    with np.errstate(divide="ignore"):
        return np.where(z > 1, 10.0 * np.log10(np.maximum(z, 1.0)), 0.0)


def rain_rate(dbz, a=200.0, b=1.6):
    """Rain rate (mm/h) from reflectivity through Z = a R^b (Marshall-Palmer: a=200, b=1.6).

    Parameters
    ----------
    dbz : array_like
        Reflectivity in dBZ; 0 or less is no rain.
    a, b : float, optional
        Coefficients of the Z-R relation.

    Returns
    -------
    ndarray of float, same shape
        ``(Z / a) ** (1 / b)``.

    Examples
    --------
    >>> np.round(rain_rate([0, 23, 40, 50]), 1)
    array([ 0. ,  1. , 11.5, 48.6])

    Used in: Quantization and dithering; Convolution, through
    :func:`reflectivity_averages`.
    """
    a, b = as_number(a, "a", positive=True), as_number(b, "b", positive=True)
    return (dbz_to_z(dbz) / a) ** (1.0 / b)


def reflectivity_averages(dbz, echo_only=False):
    """Three ways to average reflectivity, which radar users must not confuse.

    dBZ is logarithmic, so the mean of dBZ is not the dBZ of the mean Z, and neither
    gives the mean rain rate (the Z-R relation is not linear either). Averaging
    dBZ underweights the intense cores that hold most of the water.

    Parameters
    ----------
    dbz : array_like
        Reflectivity in dBZ (0 is no echo).
    echo_only : bool, optional
        Average over echo pixels (dBZ > 0) only.

    Returns
    -------
    dict
        ``"mean dBZ"``, ``"dBZ of mean Z"``, ``"mean rain (mm/h)"`` and
        ``"rain of mean dBZ (mm/h)"``.

    Examples
    --------
    >>> averages = reflectivity_averages([20, 50])
    >>> {k: round(v, 1) for k, v in averages.items()}
    {'mean dBZ': 35.0, 'dBZ of mean Z': 47.0, 'mean rain (mm/h)': 24.6, 'rain of mean dBZ (mm/h)': 5.6}

    Used in: Convolution.
    """
    # NaN would make the plain mean NaN while Z and rain rates count it as no echo.
    dbz = check_finite(np.asarray(as_array(dbz, "dbz", tuple(range(1, 6))), dtype=float), "dbz")
    if echo_only:
        dbz = dbz[dbz > 0]
    if dbz.size == 0:
        raise ValueError("The parameter `dbz` holds no pixels to average")
    mean_dbz = float(dbz.mean())
    return {
        "mean dBZ": mean_dbz,
        "dBZ of mean Z": float(z_to_dbz(dbz_to_z(dbz).mean())),
        "mean rain (mm/h)": float(rain_rate(dbz).mean()),
        "rain of mean dBZ (mm/h)": float(rain_rate(mean_dbz)),
    }


# --- handwritten digits for LeNet -----------------------------------------------------


def load_digits_28(test_fraction=0.2, seed=0):
    """scikit-learn's bundled handwritten digits, enlarged to LeNet's 28x28 input.

    The 1,797 images of 8x8 pixels (values 0 to 16) ship with scikit-learn, so no
    download is needed. They are enlarged by bilinear interpolation to 28x28, scaled
    to [0, 1], and split into train and test sets, stratified by digit.

    Parameters
    ----------
    test_fraction : float, optional
        Share of the images held out for testing.
    seed : int, optional
        Seed of the split.

    Returns
    -------
    x_train, x_test : (N, 1, 28, 28) float32 ndarray
    y_train, y_test : (N,) int64 ndarray
        Digits 0 to 9.

    Examples
    --------
    >>> x_train, x_test, y_train, y_test = load_digits_28()
    >>> x_train.shape, x_test.shape
    ((1437, 1, 28, 28), (360, 1, 28, 28))

    Used in: LeNet.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < as_number(test_fraction, "test_fraction") < 1:
        raise ValueError(f"The parameter `test_fraction` must be between 0 and 1; got {test_fraction}")
    digits = load_digits()
    small = digits.images.astype(np.float32) / 16.0
    large = ndimage.zoom(small, (1, 28 / 8, 28 / 8), order=1, grid_mode=True, mode="grid-constant")
    images = np.clip(large, 0, 1)[:, None].astype(np.float32)
    return train_test_split(images, digits.target.astype(np.int64), test_size=test_fraction,
                            random_state=as_int(seed, "seed", 0), stratify=digits.target)
