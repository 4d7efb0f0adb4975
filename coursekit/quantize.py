"""Quantization and Floyd–Steinberg error diffusion (dithering).

Quantizing keeps a few levels (0, 20, 40, 60, 80 dBZ, say) and replaces every
value by one of them; smooth gradients become flat bands. Error diffusion
(Floyd and Steinberg, 1976) visits the pixels from left to right and top to
bottom, rounds each to the nearest level, and hands the rounding error on to
the neighbours not yet visited: 7/16 to the right, 3/16 below left, 5/16 below,
1/16 below right. Local averages then stay close to the original.

:func:`floyd_steinberg` gives bit for bit the result of that pixel loop, but
without a Python loop over pixels: a pixel only waits for its left neighbour
and the three above it, so all pixels with the same ``2 * row + column`` can be
computed at once (a wavefront), for every image of a batch together.

Used in: Quantization and dithering.
"""

from __future__ import annotations

import functools

import numpy as np

from ._validation import as_array, as_number, check_finite

__all__ = ["FS_WEIGHTS", "floyd_steinberg", "floyd_steinberg_reference", "nearest_level", "quantize"]

#: Numerators of the Floyd–Steinberg weights (over 16), by neighbour.
FS_WEIGHTS = {"right": 7, "below_left": 3, "below": 5, "below_right": 1}


def quantize(img, step=20, vmin=0, vmax=80):
    """Round to the nearest multiple of `step` above `vmin`, then clip to [vmin, vmax].

    Rounding is NumPy's: halves go to the even multiple, so 10 dBZ becomes 0 and
    30 dBZ becomes 40. (:func:`nearest_level`, which takes any list of levels,
    sends every half to the lower level instead.)

    Parameters
    ----------
    img : array_like
        Any shape, finite; reflectivity in dBZ for radar images.
    step : float, optional
        Distance between levels.
    vmin, vmax : float, optional
        The lowest and highest level.

    Returns
    -------
    ndarray of float, same shape as `img`
        ``clip(round((img - vmin) / step) * step + vmin, vmin, vmax)``.

    Examples
    --------
    >>> quantize(np.array([0, 9, 10, 11, 30, 49, 79]))
    array([ 0.,  0.,  0., 20., 40., 40., 80.])

    Used in: Quantization and dithering.
    """
    img = check_finite(as_array(img, "img", None, allow_bool=False), "img")
    step = as_number(step, "step", positive=True)
    vmin, vmax = as_number(vmin, "vmin"), as_number(vmax, "vmax")
    if not vmin < vmax:
        raise ValueError(f"The parameter `vmin` ({vmin}) must be below `vmax` ({vmax})")
    return np.clip(np.round((img - vmin) / step) * step + vmin, vmin, vmax)


def floyd_steinberg(images, levels):
    """Dither to the given levels by Floyd–Steinberg error diffusion.

    Exactly the result of the pixel loop (on float64 values, rows top to bottom,
    columns left to right): each pixel takes the nearest level, ties going to the
    lower one as in :func:`nearest_level`, and its error
    ``e`` is added as ``e * 7 / 16`` to the right, ``e * 3 / 16`` below left,
    ``e * 5 / 16`` below and ``e * 1 / 16`` below right, in that order.

    Parameters
    ----------
    images : (H, W) or (N, H, W) array_like
        One image or a batch; finite values.
    levels : (L,) array_like
        The allowed output values, in any order.

    Returns
    -------
    (H, W) or (N, H, W) ndarray of float64
        Every value is one of `levels`.

    Examples
    --------
    >>> flat = np.full((2, 4), 10.0)  # halfway between 0 and 20
    >>> floyd_steinberg(flat, [0, 20, 40])
    array([[ 0., 20.,  0., 20.],
           [20.,  0., 20.,  0.]])

    Used in: Quantization and dithering.
    """
    images = check_finite(as_array(images, "images", (2, 3), allow_bool=False), "images")
    levels = _as_levels(levels)
    if images.size == 0:
        raise ValueError(f"The parameter `images` holds no pixels to dither; got shape {images.shape}")
    single = images.ndim == 2
    batch = images[None] if single else images
    n_images, height, width = batch.shape
    # Pixels along the first axis, in the order the wavefront's steps take them (each
    # step's pixels one slice), images along the second: a step reads whole contiguous rows.
    order, steps = _wavefront(height, width)
    # (Transposed first, then gathered: gathering the rows of a transposed view took 1.7
    # times as long on 1,000 images. The transposed copy then takes the result: each new
    # array of a 1,000-image batch costs 0.3 ms an image in page faults alone.)
    pixels_first = np.ascontiguousarray(batch.reshape(n_images, -1).T, dtype=np.float64)
    values = pixels_first[order]
    if single:
        values = values[:, 0]  # 1-D: fewer dimensions to broadcast on every small step
    largest = max(values.max(initial=0.0), -values.min(initial=0.0))  # of |values|, without a copy
    nearest = _nearest_level_function(levels, largest, height + width)
    # Errors live on a grid padded by one row above and one column on each side, so
    # that every pixel reads its four upstream neighbours (zeros off the image).
    errors = np.zeros(((height + 1) * (width + 2),) + values.shape[1:])
    # Upstream neighbours in the order the loop adds their errors: above left, above,
    # above right, left; and the weight (over 16) each of them passes on.
    weights = np.array([FS_WEIGHTS[k] for k in ("below_right", "below", "below_left", "right")], float)
    weights = weights.reshape((4,) + (1,) * values.ndim)
    for start, stop, here, upstream in steps:
        shares = errors[upstream]          # (4, pixels[, images])
        shares *= weights
        shares /= 16                       # (e * w) / 16, as the loop computes it
        v = values[start:stop]
        v += shares[0]                     # the same additions, in the same order, as the loop
        v += shares[1]
        v += shares[2]
        v += shares[3]
        chosen = nearest(v)
        errors[here] = v - chosen
        v[...] = chosen                    # the value is done with: it holds the level from now on
    # The caller's array when it needed no copy (one float64 image): not to be written.
    out = np.empty(values.shape) if np.may_share_memory(pixels_first, images) else pixels_first.reshape(values.shape)
    out[order] = values
    return out.reshape(height, width) if single else out.T.reshape(n_images, height, width)


@functools.lru_cache(maxsize=16)
def _wavefront(height, width):
    """The pixels' flat indices in step order, and per step the pixels with the same
    2 * row + column: where they lie in that order (start, stop), their indices in the
    padded error grid, and the error-grid indices of their four upstream neighbours (4, pixels)."""
    order, steps, start = [], [], 0
    padded_width = width + 2
    for step in range(2 * (height - 1) + width):
        rows = np.arange(max(0, (step - width + 2) // 2), min(height - 1, step // 2) + 1)
        cols = step - 2 * rows
        here = (rows + 1) * padded_width + cols + 1
        above = here - padded_width
        upstream = np.stack([above - 1, above, above + 1, here - 1])
        order.append(rows * width + cols)
        steps.append((start, start + len(rows), here, upstream))
        start += len(rows)
    return np.concatenate(order), tuple(steps)


def floyd_steinberg_reference(img, levels):
    """The specification of :func:`floyd_steinberg`: the plain pixel loop, for one image.

    Slow (about 0.1 s for 136x136); the tests and benchmarks compare against it, and
    the Quantization and dithering chapter writes the same loop out itself.

    Parameters
    ----------
    img : (H, W) array_like
    levels : (L,) array_like
        In any order; sorted first, so that a tie goes to the lower level.

    Returns
    -------
    (H, W) ndarray of float64

    Examples
    --------
    >>> floyd_steinberg_reference(np.full((2, 4), 10.0), [0, 20, 40])
    array([[ 0., 20.,  0., 20.],
           [20.,  0., 20.,  0.]])

    Used in: tests and benchmarks.
    """
    out = check_finite(as_array(img, "img", 2, allow_bool=False), "img").astype(np.float64)
    levels = _as_levels(levels)
    rows, cols = out.shape
    for i in range(rows):
        for j in range(cols):
            old = out[i, j]
            # The definition, written out rather than calling nearest_level: tests compare the two.
            new = levels[np.argmin(np.abs(levels - old))]
            out[i, j] = new
            error = old - new
            if j + 1 < cols:
                out[i, j + 1] += error * 7 / 16
            if i + 1 < rows and j > 0:
                out[i + 1, j - 1] += error * 3 / 16
            if i + 1 < rows:
                out[i + 1, j] += error * 5 / 16
            if i + 1 < rows and j + 1 < cols:
                out[i + 1, j + 1] += error * 1 / 16
    return out


def nearest_level(x, levels):
    """Replace each value by the nearest of the given levels; a tie goes to the lower level.

    One tie rule, ``argmin``'s on sorted levels (``levels[np.argmin(np.abs(levels - v))]``):
    a value exactly halfway between two levels takes the lower one, so 10 becomes 0
    and 30 becomes 20 with levels 0, 20, 40. :func:`quantize` rounds halves to the
    even multiple instead (30 becomes 40).

    Parameters
    ----------
    x : array_like
        Any shape, finite values.
    levels : (L,) array_like
        The allowed values, at least one, in any order.

    Returns
    -------
    ndarray of float64, same shape as `x`
        Every value is one of `levels`.

    Examples
    --------
    >>> nearest_level([-3, 9, 10, 11, 30, 95], [0, 20, 40, 60, 80])
    array([ 0.,  0.,  0., 20., 20., 80.])

    Used in: Quantization and dithering.
    """
    x = check_finite(as_array(x, "x", None, allow_bool=False), "x").astype(np.float64)
    levels = _as_levels(levels)
    return _nearest_level_function(levels, np.abs(x).max(initial=0.0), 0)(x)


def _as_levels(levels):
    """Levels as a sorted float64 array: at least one, finite, not bool. The sort is stable,
    so that equal levels (0.0 and -0.0) keep the caller's order, whichever function sorts."""
    levels = check_finite(as_array(levels, "levels", 1, allow_bool=False), "levels").astype(np.float64)
    if levels.size == 0:
        raise ValueError("The parameter `levels` must hold at least one level; got none")
    return np.sort(levels, kind="stable")


#: :func:`_nearest_level_function` counts thresholds, rather than searching them, for
#: arrays of at least this many values (smaller ones pay more in calls than they save)...
_COUNTING_MIN_VALUES = 1024
#: ...and at most this many gaps between levels (beyond, the comparisons cost more than
#: the search).
_COUNTING_MAX_GAPS = 32


@functools.lru_cache(maxsize=64)
def _thresholds_of(distinct):
    """:func:`_thresholds` between consecutive distinct sorted levels, given as float64
    bytes; kept per level set, since dithering calls for the same levels again and again
    (the bisection costs about 0.7 ms, a sixth of dithering one radar image)."""
    distinct = np.frombuffer(distinct)
    thresholds = _thresholds(distinct[:-1], distinct[1:])
    thresholds.flags.writeable = False
    return thresholds


def _thresholds(lo, hi):
    """For each pair of levels lo < hi, the largest float64 t in [lo, hi) with
    ``not (hi - t) < (t - lo)``: a value v between them is nearer to hi, as float64
    arithmetic computes the distances, exactly when v > t. Found by bisection, all gaps
    at once (the test is monotone in v, rounding included; about 60 to 110 halvings)."""
    below, above = lo.copy(), hi.copy()  # the test is false at lo and true at hi
    with np.errstate(over="ignore"):  # distances beyond the float range compare as inf
        while True:
            middle = below / 2 + above / 2  # no overflow, even between -1e308 and 1e308
            open_ = (middle > below) & (middle < above)  # gaps not yet down to one step
            if not open_.any():
                return below
            nearer_hi = (hi - middle) < (middle - lo)
            above = np.where(open_ & nearer_hi, middle, above)
            below = np.where(open_ & ~nearer_hi, middle, below)


def _nearest_level_function(levels, largest_input, extent):
    """A function v -> nearest of the sorted `levels`, ties to the lower level (argmin's rule).

    Between two neighbouring sorted levels lo <= v <= hi, the nearest is hi only if
    strictly closer. That matches argmin unless rounding makes the distances to two
    *different* levels equal, which needs a level gap below the float spacing of the
    values, or distances beyond the float range; then (never for dBZ data) the exact
    argmin over all levels is used.
    """
    # Diffused errors cannot grow beyond the input and level magnitudes times the
    # number of pixels an error can travel through.
    with np.errstate(over="ignore"):
        bound = (largest_input + np.abs(levels).max()) * (extent + 2)
        gaps = np.diff(levels)
    if not np.isfinite(bound) or np.any((gaps > 0) & (gaps <= 8 * np.spacing(bound))):
        def nearest_by_argmin(v):
            with np.errstate(over="ignore"):  # an infinite distance is still the largest
                return levels[np.argmin(np.abs(levels - np.asarray(v)[..., None]), axis=-1)]

        return nearest_by_argmin

    # Between neighbours lo < hi, "(hi - v) < (v - lo)" turns true once, at one float: v takes
    # the level above the last threshold it exceeds. Of equal levels (0.0 and -0.0 among
    # them) the first stands for all, as argmin picks the first.
    distinct = levels[np.r_[True, levels[1:] != levels[:-1]]]
    thresholds = _thresholds_of(distinct.tobytes())

    def nearest(v):
        v = np.asarray(v)
        if v.size >= _COUNTING_MIN_VALUES and len(thresholds) <= _COUNTING_MAX_GAPS:
            # Counting the thresholds below each value, a comparison per level: on a step of
            # 68 pixels of 1,000 images, 0.3 ms against 1.2 ms for the binary search.
            count = np.zeros(v.shape, np.uint8)
            above = np.empty(v.shape, bool)
            for threshold in thresholds:
                count += np.greater(v, threshold, out=above).view(np.uint8)
            return distinct.take(count.astype(np.intp))
        return np.asarray(distinct.take(thresholds.searchsorted(v)))

    return nearest
