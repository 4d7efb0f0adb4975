"""Radar images in SVRIMG's format, made offline.

SVRIMG (Haberlie, Ashley and Gensini) cuts 136x136 composite-reflectivity images,
about 512 km on a side, around severe-weather reports and labels each by storm
mode. Its arrays are uint8 reflectivity in dBZ, shape (N, 136, 136, 1).

:func:`synthetic_radar` draws images of the same shape, dtype and classes from a
seed, so that every chapter runs without a network. Reflectivity is combined as
radar measures it: echoes add in linear units of Z (mm^6 m^-3), not in dBZ.

Used in: every chapter that shows a radar image.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from ._validation import as_int

__all__ = [
    "CLASS_NAMES",
    "IMAGE_SIZE",
    "PIXEL_KM",
    "SVRIMG_FILES",
    "SVRIMG_SIZES",
    "SVRIMG_URL",
    "RadarSet",
    "get_example_data",
    "load_digits_28",
    "load_radar",
    "synthetic_radar",
]

#: Storm-mode classes of SVRIMG, in label order (label 0 is "Cellular").
CLASS_NAMES = ("Cellular", "QLCS", "Tropical", "Other", "Noise", "Missing")
#: Rows and columns of one image.
IMAGE_SIZE = 136
#: Approximate width of one pixel in km (136 px is about 512 km).
PIXEL_KM = 512 / 136

# How often each class is drawn: discrete cells and lines dominate severe-weather
# reports; blank ("Missing") images are rare.
_CLASS_WEIGHTS = np.array([0.32, 0.26, 0.10, 0.16, 0.10, 0.06])
_MIN_ECHO_DBZ = 5.0  # weaker returns are shown as 0, as on a composite map
_MAX_DBZ = 80


def synthetic_radar(n, seed=0):
    """Deterministic storm-like reflectivity images with storm-mode labels.

    Each class has its own structure: isolated convective cells (Cellular); a
    long, narrow, often bowed convective line with trailing stratiform rain
    (QLCS); broad rain with curved bands (Tropical); a stratiform shield with
    embedded cells (Other); sparse clutter and speckle (Noise); and blank images
    (Missing). Most pixels of most images are 0 dBZ, as in real radar.

    Parameters
    ----------
    n : int
        Number of images, at least 1.
    seed : int, optional
        Image ``i`` depends only on ``seed`` and ``i``: the first images of a
        larger set are the images of a smaller one.

    Returns
    -------
    x : (n, 136, 136, 1) uint8 ndarray
        Reflectivity in dBZ, 0 to 80.
    y : (n,) int64 ndarray
        Class labels, indices into :data:`CLASS_NAMES`.

    Examples
    --------
    >>> x, y = synthetic_radar(3)
    >>> x.shape, x.dtype, y.shape
    ((3, 136, 136, 1), dtype('uint8'), (3,))
    >>> bool(np.array_equal(synthetic_radar(2)[0], x[:2]))
    True

    Used in: Convolution, and every later chapter when SVRIMG cannot be downloaded.
    """
    n = as_int(n, "n", 1)
    seed = as_int(seed, "seed", 0)
    x = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.uint8)
    y = np.zeros(n, dtype=np.int64)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        rng = np.random.default_rng(child)
        label = int(rng.choice(len(CLASS_NAMES), p=_CLASS_WEIGHTS))
        y[i] = label
        x[i, :, :, 0] = _to_uint8_dbz(_DRAW[CLASS_NAMES[label]](rng))
    return x, y


# --- drawing one image -------------------------------------------------------
# Each drawer returns a float dBZ field (H, W); -inf means no echo.

_rows, _cols = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)


def _to_uint8_dbz(dbz):
    dbz = np.where(dbz >= _MIN_ECHO_DBZ, dbz, 0.0)
    return np.clip(np.rint(dbz), 0, _MAX_DBZ).astype(np.uint8)


def _combine(*fields):
    """Add echoes in linear reflectivity Z = 10^(dBZ/10), then return to dBZ."""
    linear = sum(np.power(10.0, f / 10.0) for f in fields)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(linear)


def _texture(rng, sigma, amplitude):
    """Smooth random field with standard deviation `amplitude` dB: radar echoes are lumpy."""
    field = ndimage.gaussian_filter(rng.standard_normal((IMAGE_SIZE, IMAGE_SIZE)), sigma)
    return amplitude * field / field.std()


def _blob(center, peak, radii, angle):
    """Elliptical echo whose dBZ falls off as a Gaussian from `peak` at `center`."""
    dr, dc = _rows - center[0], _cols - center[1]
    cos, sin = np.cos(angle), np.sin(angle)
    along = (dr * cos + dc * sin) / radii[0]
    across = (-dr * sin + dc * cos) / radii[1]
    return peak * np.exp(-0.5 * (along**2 + across**2)) - 40.0 * (along**2 + across**2 > 9)


def _near_center(rng, spread=12.0):
    # SVRIMG images are centred on a storm report, so the main echo sits near the middle.
    return IMAGE_SIZE / 2 + rng.normal(0.0, spread, size=2)


def _cellular(rng):
    n_cells = rng.integers(1, 5)
    centers = [_near_center(rng, 6.0)] + [
        _near_center(rng, 35.0) for _ in range(n_cells - 1)
    ]
    cells = []
    for k, center in enumerate(centers):
        peak = rng.uniform(55, 72) if k == 0 else rng.uniform(40, 65)
        size = rng.uniform(3.0, 6.0)
        angle = rng.uniform(0, np.pi)
        core = _blob(center, peak, (size * rng.uniform(1.0, 1.8), size), angle)
        # A weaker forward-flank / anvil echo stretched downstream of each core.
        shift = size * 2.5 * np.array([np.cos(angle), np.sin(angle)])
        flank = _blob(center + shift, peak * 0.55, (size * 3.0, size * 1.6), angle)
        cells += [core, flank]
    return _combine(*cells) + _texture(rng, 2.0, 2.5)


def _qlcs(rng):
    center = _near_center(rng)
    angle = rng.uniform(0, np.pi)
    length = rng.uniform(70, 130)
    bow = rng.uniform(-25, 25)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    t = np.linspace(-1, 1, 80)
    points = center + np.outer(t * length / 2, direction) + np.outer(bow * (1 - t**2), normal)
    # Distance from every pixel to the nearest point of the line, and which point.
    d_r = _rows[None] - points[:, 0, None, None]
    d_c = _cols[None] - points[:, 1, None, None]
    dist2 = d_r**2 + d_c**2
    nearest = dist2.argmin(axis=0)
    dist = np.sqrt(dist2.min(axis=0))
    # Signed offset behind the line (positive on the trailing side).
    behind = d_r[nearest, _rows.astype(int), _cols.astype(int)] * normal[0] + d_c[
        nearest, _rows.astype(int), _cols.astype(int)
    ] * normal[1]
    along_peak = 52 + 9 * np.sin(np.linspace(0, rng.uniform(3, 9), t.size) + rng.uniform(0, 6))
    taper = np.minimum(1.0, 4 * (1 - np.abs(t)))  # the line weakens at its ends
    peak = (along_peak * (0.6 + 0.4 * taper))[nearest]
    width = rng.uniform(2.0, 3.5)
    line = peak * np.exp(-0.5 * (dist / width) ** 2) - 40.0 * (dist > 3 * width)
    # Trailing stratiform rain: moderate, lumpy, fading with distance behind the
    # line and toward the line's ends, with a weaker "transition zone" just behind it.
    depth = rng.uniform(12, 28)
    behind_km = np.maximum(behind, 0.0)
    rise = 1 - np.exp(-behind_km / 4.0)
    fade = np.exp(-0.5 * (behind_km / depth) ** 2)
    ends = np.minimum(1.0, 2.5 * (1 - np.abs(t)))[nearest]
    strength = rng.uniform(26, 34) * rise * fade * ends + _texture(rng, 4.0, 4.0) * fade
    trailing = np.where((behind > 0) & (strength > 8), strength, -np.inf)
    return _combine(line, trailing) + _texture(rng, 2.5, 2.5)


def _tropical(rng):
    # Curved rain bands around a centre outside the image, over broad light rain.
    eye = IMAGE_SIZE / 2 + rng.uniform(90, 160) * np.array(
        [np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)]
    )
    radius = np.hypot(_rows - eye[0], _cols - eye[1])
    theta = np.arctan2(_rows - eye[0], _cols - eye[1])
    spacing = rng.uniform(18, 30)
    spiral = np.cos(2 * np.pi * (radius / spacing) + 2.0 * theta)
    bands = rng.uniform(38, 48) * np.exp(-0.5 * ((1 - spiral) / 0.35) ** 2)
    # Bands broken into segments, and light rain that fades out at its edges.
    breaks = _texture(rng, 6.0, 1.0)
    bands = np.where(breaks > -0.3, bands * np.clip(0.6 + 0.4 * breaks, 0.3, 1.1), -np.inf)
    cover = _texture(rng, 12.0, 1.0)
    edge = np.clip((cover - rng.uniform(-0.6, 0.0)) / 0.8, 0.0, 1.0)
    light = np.where(edge > 0, (rng.uniform(22, 30) + 3 * cover) * np.sqrt(edge), -np.inf)
    return _combine(bands, light) + _texture(rng, 1.5, 2.0)


def _other(rng):
    shield_center = _near_center(rng, 20.0)
    shield = _blob(
        shield_center,
        rng.uniform(28, 36),
        (rng.uniform(25, 45), rng.uniform(15, 30)),
        rng.uniform(0, np.pi),
    )
    cells = [
        _blob(shield_center + rng.normal(0, 15, 2), rng.uniform(40, 55), (3.0, 2.5), 0.0)
        for _ in range(rng.integers(1, 4))
    ]
    return _combine(shield, *cells) + _texture(rng, 3.0, 3.0)


def _noise(rng):
    # Speckle of weak, isolated returns plus a little ground clutter near the radar.
    speckle = np.where(rng.random((IMAGE_SIZE, IMAGE_SIZE)) < 0.01,
                       rng.uniform(5, 22, (IMAGE_SIZE, IMAGE_SIZE)), -np.inf)
    clutter = _blob(_near_center(rng, 40.0), rng.uniform(15, 30), (2.5, 2.5), 0.0)
    return _combine(speckle, clutter)


def _missing(rng):
    return np.full((IMAGE_SIZE, IMAGE_SIZE), -np.inf)


_DRAW = {
    "Cellular": _cellular,
    "QLCS": _qlcs,
    "Tropical": _tropical,
    "Other": _other,
    "Noise": _noise,
    "Missing": _missing,
}


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
#: Images in each public split.
SVRIMG_SIZES = {"training": 1331, "validation": 110, "testing": 300}


def get_example_data(data_type, data_dir=None, url=SVRIMG_URL, progressbar=True):
    """Load an SVRIMG split, downloading it once: a safe stand-in for svrimg's function.

    Same data types, file names, default URL and return value as
    ``svrimg.utils.get_images.get_example_data``, so a notebook written for svrimg
    needs only its import changed. Unlike svrimg, the download is atomic, has a
    timeout and a progress bar, a damaged cached file is fetched again, and the
    pickle is loaded without allowing it to run code.

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
        Reflectivity in dBZ.
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

    if data_type not in SVRIMG_FILES:
        raise ValueError(
            "The parameter `data_type` must be 'training', 'validation' or 'testing'; "
            f"got {data_type!r}"
        )
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
    """``(x, y)`` as returned by :func:`load_radar`, which also says where it came from.

    Unpacks like a pair (``x, y = load_radar(...)``); ``.source`` is ``"svrimg"`` or
    ``"synthetic"`` and ``.description`` a sentence for the reader.
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


def load_radar(split, source="auto", n=None, seed=0, data_dir=None, url=SVRIMG_URL, progressbar=True):
    """Radar images for a chapter: the real SVRIMG split, or the offline synthetic set.

    Parameters
    ----------
    split : {'training', 'validation', 'testing'}
    source : {'auto', 'svrimg', 'synthetic'}, optional
        ``'svrimg'``: the real data, from the cache or downloaded (errors are raised).
        ``'synthetic'``: :func:`synthetic_radar`, with no network at all.
        ``'auto'``: the real data when they can be had; otherwise the synthetic set,
        with a one-line notice saying why. The environment variable
        ``COURSEKIT_RADAR_SOURCE`` overrides ``'auto'`` (the test suite sets it to
        ``'synthetic'`` so that it never touches the network).
    n : int, optional
        Synthetic images only: how many. By default a tenth of the real split's size
        (133, 11 and 30), keeping SVRIMG's proportions.
    seed : int, optional
        Synthetic images only; each split has its own images for a given seed.
    data_dir : str or path, optional
        Cache folder for the real data.
    url : str, optional
        Base URL of the real data.
    progressbar : bool, optional

    Returns
    -------
    RadarSet
        ``(x, y)`` with ``x`` uint8 (N, 136, 136, 1) in dBZ, plus ``.source`` and
        ``.description``.

    Examples
    --------
    >>> radar = load_radar("validation", source="synthetic")
    >>> x, y = radar
    >>> x.shape, radar.source
    ((11, 136, 136, 1), 'synthetic')

    Used in: every chapter with radar images.
    """
    from . import _download

    if split not in SVRIMG_FILES:
        raise ValueError(f"The parameter `split` must be 'training', 'validation' or 'testing'; got {split!r}")
    if source not in ("auto", "svrimg", "synthetic"):
        raise ValueError(f"The parameter `source` must be 'auto', 'svrimg' or 'synthetic'; got {source!r}")
    if source == "auto" and os.environ.get(SOURCE_ENV, "auto") not in ("auto", "svrimg", "synthetic"):
        raise ValueError(f"${SOURCE_ENV} must be 'auto', 'svrimg' or 'synthetic'; got {os.environ[SOURCE_ENV]!r}")
    source = os.environ.get(SOURCE_ENV, source) if source == "auto" else source
    if source in ("auto", "svrimg"):
        try:
            x, y = get_example_data(split, data_dir=data_dir, url=url, progressbar=progressbar)
            return RadarSet(x, y, "svrimg", f"SVRIMG {split} split ({SVRIMG_FILES[split]}), {len(x)} images")
        except (_download.DownloadError, ValueError) as error:
            if source == "svrimg":
                raise
            reason = error.reason if isinstance(error, _download.DownloadError) else "the file was not valid"
            print(f"coursekit: SVRIMG data unavailable ({reason.split(';')[0]}); using synthetic radar images.",
                  file=sys.stderr)
    count = n if n is not None else max(1, round(SVRIMG_SIZES[split] / 10))
    split_seed = as_int(seed, "seed", 0) * 3 + list(SVRIMG_FILES).index(split)
    x, y = synthetic_radar(count, seed=split_seed)
    return RadarSet(x, y, "synthetic",
                    f"synthetic radar images (coursekit.data.synthetic_radar), {split} split, {count} images")


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

    if not 0 < test_fraction < 1:
        raise ValueError(f"The parameter `test_fraction` must be between 0 and 1; got {test_fraction}")
    digits = load_digits()
    small = digits.images.astype(np.float32) / 16.0
    large = ndimage.zoom(small, (1, 28 / 8, 28 / 8), order=1, grid_mode=True, mode="grid-constant")
    images = np.clip(large, 0, 1)[:, None].astype(np.float32)
    return train_test_split(images, digits.target.astype(np.int64), test_size=test_fraction,
                            random_state=as_int(seed, "seed", 0), stratify=digits.target)
