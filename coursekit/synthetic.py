"""Offline radar images in SVRIMG's format, and two statistics that judge their realism.

:func:`synthetic_radar` draws composite-reflectivity images with the shape, dtype,
classes and class mix of SVRIMG, from a seed, so that every chapter runs without a
network. Each image is a smooth outline of a storm type (cells, a squall line,
rain bands, a rain shield) to which multiscale random texture is added in dB, as
stochastic rainfall generators do: a Gaussian random field whose power falls off
as a power of the wavenumber. Echoes combine in linear reflectivity Z, not in
dBZ, and fade out gradually at their edges, which leaves the weak 1-4 dBZ
returns and ragged light-rain fringes of real composites.

:func:`power_spectrum_slope` and :func:`weak_echo_fraction` measure two properties
that smooth cartoon storms lack and real radar images share: roughness at every
scale and a rim of weak echo.

Images are north-up: row 0 is the northern edge and column 0 the western edge.

Used in: every chapter that shows a radar image, through ``coursekit.data.load_radar``
when SVRIMG cannot be downloaded.
"""

from __future__ import annotations


import numpy as np
import scipy.fft

from ._svrimg import CLASS_COUNTS, CLASS_NAMES, IMAGE_SIZE
from ._validation import as_int, as_number

__all__ = ["power_spectrum_slope", "synthetic_radar", "weak_echo_fraction"]

_MAX_DBZ = 80
# Chance of each class: SVRIMG's own mix over its 1,741 labelled images.
_CLASS_P = np.asarray(CLASS_COUNTS, dtype=float) / sum(CLASS_COUNTS)


# --- public API -------------------------------------------------------------------


def synthetic_radar(n, seed=0):
    """Deterministic storm-like reflectivity images with SVRIMG storm-mode labels.

    Labels are drawn with SVRIMG's class mix. Each class has its own look:
    a few discrete cells with intense cores and weaker flanks (Cellular); a
    long, narrow, bowed convective line, mostly running SSW-NNE to SW-NE, with
    stratiform rain trailing on its west side (QLCS); broad light rain crossed
    by curved bands (Tropical); a stratiform shield with embedded cells
    (Other); sparse weak speckle and clutter (Noise); and blank images
    (Missing). Light rain surrounds the storms and fades out through weak
    returns; most pixels of most images hold no echo.

    Parameters
    ----------
    n : int
        Number of images, at least 1.
    seed : int, optional
        Non-negative seed. Image ``i`` depends only on ``seed`` and ``i``, so
        the first images of a larger set are the images of a smaller one.

    Returns
    -------
    x : (n, 136, 136, 1) uint8 ndarray
        Reflectivity in dBZ from 0 to 80, 0 meaning no echo; north-up (row 0
        is the northern edge, column 0 the western edge).
    y : (n,) int64 ndarray
        Class labels, indices into ``CLASS_NAMES``.

    Raises
    ------
    TypeError
        If ``n`` or ``seed`` is not an integer.
    ValueError
        If ``n`` is less than 1 or ``seed`` is negative.

    Examples
    --------
    >>> x, y = synthetic_radar(3)
    >>> x.shape, x.dtype, y.dtype
    ((3, 136, 136, 1), dtype('uint8'), dtype('int64'))
    >>> bool(np.array_equal(synthetic_radar(2)[0], x[:2]))
    True

    Used in: Convolution; Encoder–decoder and Pixel-wise metrics, through
    :func:`coursekit.data.load_radar` whenever SVRIMG cannot be downloaded.
    """
    n = as_int(n, "n", 1)
    seed = as_int(seed, "seed", 0)
    x = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.uint8)
    y = np.zeros(n, dtype=np.int64)
    for i, (label, rng) in enumerate(_draws(n, seed)):
        y[i] = label
        x[i, :, :, 0] = _to_uint8(_DRAW[CLASS_NAMES[label]](rng))
    return x, y


def _draws(n, seed):
    """Label and random generator of each image; image ``i`` depends only on seed and i."""
    for child in np.random.SeedSequence(seed).spawn(n):
        rng = np.random.default_rng(child)
        yield int(rng.choice(len(CLASS_NAMES), p=_CLASS_P)), rng


def _labels(n, seed=0):
    """The labels ``synthetic_radar(n, seed)`` returns, without drawing the images."""
    return np.array([label for label, _ in _draws(n, seed)], dtype=np.int64)


def _class_images(name, n, seed=0):
    """`n` images of the class called `name`, as (n, 136, 136) uint8, for realism checks.

    They come from the same drawer as the images of that class in
    :func:`synthetic_radar`, from generators seeded by (seed, class index, i).
    """
    label = CLASS_NAMES.index(name)
    children = np.random.SeedSequence([seed, label]).spawn(n)
    return np.stack([_to_uint8(_DRAW[name](np.random.default_rng(c))) for c in children])


def power_spectrum_slope(image, kmin=3, kmax=40):
    """Log-log slope of an image's radially averaged power spectrum.

    The image (as floats, mean removed) is Fourier transformed; the power at
    each frequency is binned by its radial wavenumber in cycles per image,
    rounded to an integer, and averaged within each bin. The result is the
    slope of a least-squares straight line through log(mean power) against
    log(wavenumber) for the integer wavenumbers ``kmin`` to ``kmax``. White
    noise gives about 0; smoother images give steeper (more negative) slopes.
    Real SVRIMG storms give about -2.7 to -2.95.

    Parameters
    ----------
    image : (H, W) or (H, W, 1) array_like
        A finite, non-constant image, for example reflectivity in dBZ.
    kmin, kmax : int, optional
        First and last wavenumber of the fit, ``1 <= kmin < kmax <= min(H, W) // 2``.

    Returns
    -------
    slope : float
        Slope of log power against log wavenumber.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, holds NaN or infinity, is constant, or has no
        power in a fitted wavenumber bin, or if the wavenumbers are out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(power_spectrum_slope(rng.standard_normal((136, 136))), 1)
    0.1

    Used in: Convolution (real and synthetic storms compared); the realism
    benchmark of ``make bench``.
    """
    field = _as_image(image)
    if np.ptp(field) == 0:
        raise ValueError("The parameter `image` must not be constant: it has no spectrum")
    kmin = as_int(kmin, "kmin", 1)
    kmax = as_int(kmax, "kmax", 1)
    largest = min(field.shape) // 2
    if not kmin < kmax <= largest:
        raise ValueError(
            f"The wavenumbers must satisfy 1 <= `kmin` < `kmax` <= {largest} for an image of "
            f"shape {field.shape}; got kmin={kmin}, kmax={kmax}"
        )
    power = np.abs(np.fft.fft2(field - field.mean())) ** 2
    k_rows = np.fft.fftfreq(field.shape[0]) * field.shape[0]
    k_cols = np.fft.fftfreq(field.shape[1]) * field.shape[1]
    radial = np.rint(np.hypot(k_rows[:, None], k_cols[None, :])).astype(np.int64).ravel()
    totals = np.bincount(radial, weights=power.ravel(), minlength=kmax + 1)
    counts = np.bincount(radial, minlength=kmax + 1)
    k = np.arange(kmin, kmax + 1)
    mean_power = totals[k] / counts[k]
    if np.any(mean_power <= 0):
        raise ValueError(
            f"The parameter `image` has no power at wavenumber(s) {k[mean_power <= 0].tolist()}"
        )
    slope = np.polyfit(np.log(k), np.log(mean_power), 1)[0]
    return float(slope)


def weak_echo_fraction(image, low=1, high=4):
    """Share of echo pixels whose reflectivity lies between ``low`` and ``high``.

    Echo means a value above 0 (0 stands for no echo). Real radar echoes fade out
    through a rim of weak returns: on real SVRIMG images about 7-8 % of the echo
    lies at 1-4 dBZ, while cartoon storms that stop abruptly have almost none.

    Parameters
    ----------
    image : (H, W) or (H, W, 1) array_like
        Reflectivity in dBZ, finite, with at least one pixel above 0.
    low, high : float, optional
        Inclusive bounds in dBZ, ``low <= high``.

    Returns
    -------
    fraction : float
        Number of pixels with ``low <= value <= high`` and ``value > 0``,
        divided by the number of pixels with ``value > 0``.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, holds NaN or infinity or has no echo, or if
        ``low > high``.

    Examples
    --------
    >>> weak_echo_fraction([[0, 2, 30], [4, 45, 0]])
    0.5

    Used in: Convolution (real and synthetic storms compared); the realism
    benchmark of ``make bench``.
    """
    values = _as_image(image)
    low = as_number(low, "low")
    high = as_number(high, "high")
    if low > high:
        raise ValueError(f"`low` must not exceed `high`; got low={low}, high={high}")
    echo = values[values > 0]
    if echo.size == 0:
        raise ValueError("The parameter `image` has no echo (no value above 0)")
    return float(np.count_nonzero((echo >= low) & (echo <= high)) / echo.size)


def _as_image(image):
    try:
        array = np.asarray(image, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError("The parameter `image` must be an array of numbers") from error
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(
            f"The parameter `image` must be (H, W) or (H, W, 1); got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError("The parameter `image` must not be empty")
    if not np.all(np.isfinite(array)):
        raise ValueError("The parameter `image` must be finite; it holds NaN or infinity")
    return array


# --- building blocks ------------------------------------------------------------------
# Row 0 is north and column 0 west, so "north" is -row and "east" is +column. Echoes
# are accumulated in linear reflectivity Z on a canvas; dBZ values far below 0 mean
# no echo, and a floor of -30 dBZ stands for empty air.

_N = IMAGE_SIZE
# Fields are float32: ample for dBZ, and about twice as fast as float64.
_ROWS, _COLS = np.mgrid[0:_N, 0:_N].astype(np.float32)
_K = np.hypot((np.fft.fftfreq(_N) * _N)[:, None], (np.fft.rfftfreq(_N) * _N)[None, :])
_TO_LINEAR = float(np.log(10.0) / 10.0)  # Z = exp(dBZ * _TO_LINEAR)
_FLOOR_DBZ = -30.0


def _to_uint8(dbz):
    """Round to whole dBZ; zero or below is no echo."""
    return np.clip(np.rint(dbz), 0, _MAX_DBZ).astype(np.uint8)


def _power_law(rng, beta, outer=1.0):
    """Gaussian random field with power ~ k^-beta, zero mean and unit variance.

    Complex white noise is drawn directly in Fourier space and given the amplitude
    (k^2 + outer^2)^(-beta/4): the power falls as k^-beta at scales smaller than the
    outer scale, ``outer`` cycles per image, and levels off at larger scales. For
    smooth fields (beta >= 3) the noise is only drawn up to wavenumber 34 in each
    direction: beyond it their power is negligible, and skipping it saves time.
    The variance is 1 on average over fields (not exactly 1 in each field).
    """
    gain = _gain(beta, outer)
    if beta >= 3.0:
        spectrum = np.zeros(_K.shape, dtype=np.complex64)
        for rows in (slice(0, _SMOOTH), slice(_N - _SMOOTH, _N)):
            white = rng.standard_normal((_SMOOTH, _SMOOTH + 1, 2), dtype=np.float32)
            spectrum[rows, : _SMOOTH + 1] = white.view(np.complex64)[..., 0]
        spectrum *= gain
    else:
        white = rng.standard_normal(_K.shape + (2,), dtype=np.float32)
        spectrum = white.view(np.complex64)[..., 0] * gain
    return scipy.fft.irfft2(spectrum, s=(_N, _N))


def _gain(beta, outer):
    """Spectral amplitude of `_power_law`, scaled so that the field has unit variance."""
    key = (beta, outer)
    if key not in _GAINS:
        gain = (_K**2 + outer**2) ** (-beta / 4.0)
        gain[0, 0] = 0.0
        if beta >= 3.0:
            keep = np.zeros_like(gain, dtype=bool)
            keep[:_SMOOTH, : _SMOOTH + 1] = keep[_N - _SMOOTH :, : _SMOOTH + 1] = True
            gain[~keep] = 0.0
        # Variance of the irfft2 output: complex noise has E|w|^2 = 2, and each
        # half-plane column but the first and last stands for two full-plane columns.
        weight = np.full(_K.shape[1], 2.0)
        weight[0] = weight[-1] = 0.5  # only the real part of these columns survives
        variance = np.sum(2.0 * gain**2 * weight) / _N**4
        _GAINS[key] = (gain / np.sqrt(variance)).astype(np.float32)
    return _GAINS[key]


_GAINS = {}
_SMOOTH = 34  # band limit of the smooth fields, in cycles per image


def _wiggle(rng, coordinate, amplitude, beta=2.0):
    """1-D power-law noise along `coordinate` (px), for variations along a line or band.

    The noise is drawn on a 0.5 px grid from -256 to 256 px and read off at the
    nearest grid point.
    """
    n = 1024
    spectrum = np.fft.rfft(rng.standard_normal(n))
    k = np.fft.rfftfreq(n) * n  # cycles per 512 px
    spectrum *= (k**2 + 4.0) ** (-beta / 4.0)
    spectrum[0] = 0.0
    line = np.fft.irfft(spectrum, n=n)
    line = (amplitude / line.std() * line).astype(np.float32)
    index = np.rint(coordinate * 2.0).astype(np.intp) + n // 2
    return line.take(index, mode="clip")


def _unit(azimuth):
    """(row, column) unit vector toward a compass azimuth in radians (0 north, pi/2 east)."""
    return np.array([-np.cos(azimuth), np.sin(azimuth)])


def _frame(center, azimuth, rows=_ROWS, cols=_COLS):
    """Coordinates along `azimuth` and to its right (clockwise), from `center`, in px."""
    # Python floats keep the float32 grids in float32.
    dr, dc = rows - float(center[0]), cols - float(center[1])
    (a_r, a_c), (r_r, r_c) = _unit(azimuth).tolist(), _unit(azimuth + np.pi / 2).tolist()
    return dr * a_r + dc * a_c, dr * r_r + dc * r_c


def _near_center(rng, spread):
    # SVRIMG centres each image on a storm report, so the storm sits near the middle.
    return _N / 2 + rng.normal(0.0, spread, size=2)


class _Canvas:
    """Linear reflectivity Z summed from echoes given in dBZ, for one image."""

    def __init__(self, rng):
        self.rng = rng
        self.z = np.full((_N, _N), np.exp(_FLOOR_DBZ * _TO_LINEAR), dtype=np.float32)
        self._warp = None

    def add(self, dbz):
        self.z += np.exp(dbz * _TO_LINEAR)

    def bump(self, center, peak, length, width, azimuth=0.0):
        """Echo of `peak` dBZ at `center`, falling as a parabola in dBZ to 0 on a (randomly
        warped) ellipse of semi-axes `length` (along `azimuth`) and `width` px.

        A smooth random field stretches and squeezes the ellipse, so that cells are
        lumpy rather than round. The echo is computed only where it matters (above
        about -20 dBZ).
        """
        peak = max(peak, 1.0)
        if self._warp is None:
            self._warp = np.exp(_WARP * _power_law(self.rng, 3.0, outer=4.0))
        reach = max(length, width) * np.sqrt((1.0 + 20.0 / peak) * np.exp(3 * _WARP))
        r0, c0 = np.maximum(np.floor(center - reach).astype(int), 0)
        r1, c1 = np.minimum(np.ceil(center + reach).astype(int) + 1, _N)
        if r0 >= r1 or c0 >= c1:
            return
        box = (slice(r0, r1), slice(c0, c1))
        u, v = _frame(center, azimuth, _ROWS[box], _COLS[box])
        q2 = ((u / length) ** 2 + (v / width) ** 2) * self._warp[box]
        self.z[box] += np.exp(peak * (1.0 - q2) * _TO_LINEAR)

    def light_rain(self, center, radius, level, amplitude, stretch=1.0, azimuth=0.0,
                   beta=3.0):
        """Patchy rain: a broad parabolic envelope plus strong multiscale noise (dB).

        The noise makes the area ragged, with holes and outlying patches, and its
        edges pass gradually through weak values.
        """
        u, v = _frame(center, azimuth)
        q2 = (u / (radius * stretch)) ** 2 + (v / radius) ** 2
        envelope = level - max(level, 10.0) * q2
        self.add(envelope + amplitude * _power_law(self.rng, beta, outer=2.0))

    def dbz(self):
        return np.log(self.z) / _TO_LINEAR


# How strongly cells are warped: log-standard deviation of their squared radius.
_WARP = 0.4


def _dome(peak, q2):
    """`peak` dBZ where ``q2 == 0``, falling as a parabola to 0 dBZ where ``q2 == 1``.

    A parabola in dBZ is a Gaussian in Z. The peak is kept positive, so that the
    echo always falls off away from its centre.
    """
    return np.maximum(peak, 1.0) * (1.0 - q2)


def _finish(canvas, rng, strong=1.5, weak=5.0):
    """Combined echo plus small-scale roughness, as the radar network detects it.

    The roughness (in dB) is larger in weak echo, where the signal is noisier:
    `weak` dB at 5 dBZ and below, `strong` dB at 25 dBZ and above. The weakest
    echo is only seen where a radar is sensitive enough: the minimum detectable
    reflectivity varies smoothly across the image around 2.5 dBZ, and echo below
    it is reported as 0, so returns of 1-4 dBZ thin out toward 0 dBZ as on real
    composites.
    """
    dbz = canvas.dbz()
    sigma = strong + (weak - strong) * np.clip((25.0 - dbz) / 20.0, 0.0, 1.0)
    dbz = dbz + sigma * _power_law(rng, 2.4, outer=4.0)
    detectable = 2.5 + 1.2 * _power_law(rng, 3.0, outer=2.0)
    return np.where(dbz > detectable, dbz, 0.0)


def _cell(canvas, rng, center, peak, motion, size):
    """One convective cell: intense core, weaker halo, anvil stretched downstream."""
    shape = rng.uniform(1.0, 1.5)
    canvas.bump(center, peak, size * shape, size, motion)
    canvas.bump(center, peak - rng.uniform(15, 22), size * 2.2 * shape, size * 2.0, motion)
    downstream = center + _unit(motion) * size * rng.uniform(2.0, 4.0)
    canvas.bump(downstream, rng.uniform(20, 30), size * rng.uniform(4.0, 6.0),
                size * rng.uniform(1.8, 2.8), motion)


# --- one drawer per class --------------------------------------------------------------


def _cellular(rng):
    canvas = _Canvas(rng)
    motion = np.deg2rad(rng.normal(60, 20))  # cells mostly move toward the east-north-east
    center = _near_center(rng, 3.0)
    _cell(canvas, rng, center, rng.uniform(57, 68), motion, rng.uniform(3.5, 5.0))
    # Further cells: often a loose chain across the motion, sometimes a scatter.
    chain = _unit(motion - np.pi / 2 + rng.normal(0, 0.4))
    for _ in range(rng.integers(0, 5)):
        offset = chain * rng.normal(0, 30) + rng.normal(0, 10, size=2)
        _cell(canvas, rng, center + offset, rng.uniform(40, 62), motion, rng.uniform(2.5, 4.5))
    for _ in range(rng.integers(2, 10)):  # small showers
        canvas.bump(_near_center(rng, 40.0), rng.uniform(20, 40), *rng.uniform(2.5, 6.0, 2))
    canvas.light_rain(center + rng.normal(0, 15, 2), rng.uniform(20, 45),
                      rng.uniform(12, 22), rng.uniform(4, 6), rng.uniform(1, 2), motion)
    dbz = _finish(canvas, rng)
    # The storm report sits under the main core: keep that core at least 52 dBZ.
    r, c = np.clip(np.rint(center).astype(int), 0, _N - 1)
    dbz[r, c] = max(dbz[r, c], 52.0)
    return dbz


def _qlcs(rng):
    canvas = _Canvas(rng)
    center = _near_center(rng, 8.0)
    # Orientation of the line, clockwise from north: mostly SSW-NNE to SW-NE.
    azimuth = np.deg2rad(np.clip(rng.normal(35, 12), 5, 80))
    size = rng.uniform(0.45, 1.0)  # lines and their rain areas come in many sizes
    half = rng.uniform(55, 85) * size
    bow = rng.uniform(0, 0.2) * half  # the middle bulges ahead (east-south-east)
    u, v = _frame(center, azimuth)  # u toward the northern end, v ahead of the line
    s = u / half
    front = bow * (1 - s**2) + _wiggle(rng, u, rng.uniform(2.0, 4.0))
    across = (v - front) / np.sqrt(1 + (2 * bow * s / half) ** 2)
    beyond = np.maximum(np.abs(u) - half, 0.0)
    ends = (beyond / rng.uniform(8, 16)) ** 2
    # Convective line: narrow, sharp on its leading edge, broken into cells along its
    # length and lumpy across it.
    cells = _power_law(rng, 2.5, outer=6.0)
    peak = rng.uniform(50, 56) + _wiggle(rng, u, rng.uniform(3, 5), beta=1.5) + 4.0 * cells
    peak = np.minimum(peak, 62.0)  # cores of squall lines rarely exceed 65 dBZ
    width = np.where(across > 0, rng.uniform(2.5, 3.5), rng.uniform(4.0, 6.0))
    width = width * np.exp(_wiggle(rng, u, 0.35) + 0.15 * cells)
    canvas.add(_dome(peak, (across / width) ** 2 + ends))
    # A broader band of moderate convective rain around the cores.
    canvas.add(_dome(rng.uniform(38, 44) + 3.0 * cells, (across / (2.2 * width)) ** 2 + ends))
    # Trailing stratiform rain behind the line (west side), deeper toward the northern end,
    # with a weaker transition zone just behind the line.
    behind = -across
    depth = rng.uniform(18, 45) * size * np.clip(1 + rng.uniform(0, 0.6) * s, 0.4, 2.0)
    depth = depth + _wiggle(rng, u, 6.0)
    fade = rng.uniform(8, 16)
    strat_half = half * rng.uniform(0.7, 1.0)
    level = (rng.uniform(27, 32) - rng.uniform(3, 8) * np.exp(-0.5 * ((behind - 8) / 3) ** 2)
             + 3.5 * _power_law(rng, 3.2, outer=2.0))
    shape = ((np.maximum(behind - depth, 0) / fade) ** 2
             + (np.maximum(np.abs(u) - strat_half, 0) / fade) ** 2
             + (np.maximum(2.0 - behind, 0) / 2.0) ** 2)
    canvas.add(_dome(level, shape))
    # A ragged fringe of lighter rain beyond the stratiform region's edges.
    margin = rng.uniform(10, 24)
    shape = ((np.maximum(behind - depth, 0) / (fade + margin)) ** 2
             + (np.maximum(np.abs(u) - strat_half, 0) / (fade + margin)) ** 2
             + (np.maximum(2.0 - behind, 0) / 2.0) ** 2)
    canvas.add(_dome(rng.uniform(10, 16), shape) + 5.0 * _power_law(rng, 2.8, outer=3.0))
    # Light rain around the system: a wide area around the stratiform region, and
    # often another ahead of the line.
    ahead = _unit(azimuth + np.pi / 2)
    across_radius = np.mean(depth) / 2 + rng.uniform(25, 45)
    along_radius = strat_half + rng.uniform(15, 30)
    canvas.light_rain(center - ahead * np.mean(depth) / 2, across_radius, rng.uniform(8, 14),
                      rng.uniform(5, 6), along_radius / across_radius, azimuth)
    if rng.random() < 0.4:
        canvas.light_rain(center + ahead * rng.uniform(30, 60), rng.uniform(30, 50),
                          rng.uniform(4, 10), rng.uniform(4, 6), rng.uniform(1.0, 2.0), azimuth)
    for _ in range(rng.integers(0, 4)):
        spot = center + ahead * rng.uniform(12, 40) + rng.normal(0, 20, 2)
        canvas.bump(spot, rng.uniform(25, 50), *rng.uniform(2.5, 5.0, 2))
    return _finish(canvas, rng)


def _tropical(rng):
    canvas = _Canvas(rng)
    # Outer rain bands of a tropical cyclone whose centre lies outside the image. The
    # bands spiral inward counter-clockwise (northern hemisphere): following a band
    # counter-clockwise, its distance from the centre shrinks.
    bearing = rng.uniform(0, 2 * np.pi)
    toward_eye = _unit(bearing)
    distance = rng.uniform(120, 200)
    eye = _N / 2 + distance * toward_eye
    east, north = _COLS - float(eye[1]), float(eye[0]) - _ROWS  # from the eye, in px
    out_east, out_north = -float(toward_eye[1]), float(toward_eye[0])  # eye to image
    radius = np.hypot(east, north)
    # Angle counter-clockwise from the eye-to-image direction: about -0.6 to 0.6 rad.
    theta = np.arctan2(out_east * north - out_north * east, out_east * east + out_north * north)
    spacing = rng.uniform(35, 60)
    pitch = np.tan(np.deg2rad(rng.uniform(12, 25)))
    phase = ((radius + pitch * distance * theta) / spacing + rng.uniform(0, 1)
             + 0.07 * _power_law(rng, 4.0, outer=1.0))  # bands bend and vary in spacing
    offset = (phase - np.round(phase)) * spacing  # px from the nearest band's axis
    along = theta * distance
    # Bands: lumpy chains of cells that weaken and break up in places, in a fringe of
    # lighter rain.
    cells = _power_law(rng, 2.5, outer=6.0)
    strength = rng.uniform(34, 42) + _wiggle(rng, along, 7.0, beta=1.5) + 4.0 * cells
    strength = np.minimum(strength, 50.0)
    width = rng.uniform(4, 7) * np.clip(strength / 38.0, 0.0, 1.2) * np.exp(0.2 * cells)
    width = np.maximum(width, 0.1)
    canvas.add(_dome(strength, (offset / width) ** 2))
    fringe = rng.uniform(10, 16) + 3.0 * cells
    canvas.add(_dome(fringe, (offset / (1.8 * width)) ** 2))
    # A few stronger cells on the bands, drifting counter-clockwise around the centre.
    on_band = np.flatnonzero((np.abs(offset) < 1.0) & (strength > 32))
    for index in rng.choice(on_band, size=min(on_band.size, rng.integers(0, 4)), replace=False):
        _cell(canvas, rng, np.array(divmod(index, _N), dtype=float), rng.uniform(42, 52),
              bearing + np.pi / 2, rng.uniform(2.5, 3.5))
    # Widespread lighter rain, densest toward the cyclone's centre.
    shield_center = _N / 2 + toward_eye * rng.uniform(60, 100)
    canvas.light_rain(shield_center, rng.uniform(45, 75), rng.uniform(18, 26),
                      rng.uniform(5, 7), rng.uniform(1.0, 1.5), bearing + np.pi / 2, beta=3.3)
    # Patches of drizzle and weak showers between and beyond the bands.
    canvas.light_rain(_near_center(rng, 30.0), rng.uniform(80, 120), rng.uniform(-3, 3),
                      rng.uniform(5, 6), beta=2.8)
    return _finish(canvas, rng)


def _other(rng):
    # A stratiform rain shield of irregular outline, with a few embedded cells.
    canvas = _Canvas(rng)
    center = _near_center(rng, 15.0)
    azimuth = rng.uniform(0, np.pi)
    canvas.light_rain(center, rng.uniform(40, 60), rng.uniform(26, 34), rng.uniform(7, 10),
                      rng.uniform(1.0, 1.8), azimuth, beta=3.5)
    canvas.light_rain(center, rng.uniform(50, 80), rng.uniform(5, 9), rng.uniform(4, 6),
                      rng.uniform(1.0, 1.8), azimuth, beta=2.8)
    for _ in range(rng.integers(1, 5)):
        _cell(canvas, rng, center + rng.normal(0, 15, 2), rng.uniform(40, 55), azimuth,
              rng.uniform(2.5, 4.0))
    return _finish(canvas, rng)


def _noise(rng):
    # Sparse weak speckle, and ground clutter around a radar site.
    canvas = _Canvas(rng)
    speckle = rng.random((_N, _N)) < rng.uniform(0.002, 0.02)
    canvas.z[speckle] += np.exp(rng.uniform(1, 22, speckle.sum()) * _TO_LINEAR)
    canvas.light_rain(_near_center(rng, 40.0), rng.uniform(4, 9), rng.uniform(8, 20), 6.0)
    return np.minimum(canvas.dbz(), 30.0)


def _missing(rng):
    return np.zeros((_N, _N))


_DRAW = {
    "Cellular": _cellular,
    "QLCS": _qlcs,
    "Tropical": _tropical,
    "Other": _other,
    "Noise": _noise,
    "Missing": _missing,
}
