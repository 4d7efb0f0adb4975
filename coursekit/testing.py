"""Plain reference loops and gradient checks, shared by the tests, the benchmarks and the chapters.

The references follow the definitions letter by letter, with Python loops, so
that they are easy to trust and share no code with the fast implementations they
check. The gradient checks compare a layer's ``backward`` with central
differences of its ``forward`` and, when they disagree, say where and by how much.

Used in: LeNet.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import as_array, as_generator, as_int, as_pair

__all__ = ["check_gradients", "check_loss_gradient", "conv2d_reference", "conv_transpose2d_reference",
           "convective_stratiform_loop", "numerical_gradient", "pool2d_reference"]


def conv2d_reference(x, w, b=None, stride=1, padding=0):
    """Cross-correlation by its definition, one output value at a time.

    ``out[n, o, i, j] = b[o] + sum over c, a, b' of w[o, c, a, b'] * xp[n, c, i*s + a, j*s + b']``
    with ``xp`` the zero-padded input: the kernel is *not* flipped.

    Parameters
    ----------
    x : (N, C_in, H, W) array_like
    w : (C_out, C_in, kH, kW) array_like
    b : (C_out,) array_like, optional
    stride, padding : int or (int, int), optional

    Returns
    -------
    (N, C_out, H_out, W_out) float64 ndarray
        ``H_out = (H + 2 * padding - kH) // stride + 1``, likewise ``W_out``.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d_reference(x, np.array([[[[1.0, 0.0], [0.0, -1.0]]]]))   # x[i, j] - x[i + 1, j + 1]
    array([[[[-4., -4.],
             [-4., -4.]]]])

    Used in: the tests of :mod:`coursekit.conv` and :mod:`coursekit.nn`.
    """
    x = as_array(x, "x", 4).astype(np.float64)
    w = as_array(w, "w", 4).astype(np.float64)
    (stride_r, stride_c), (pad_r, pad_c) = as_pair(stride, "stride", 1), as_pair(padding, "padding", 0)
    xp = np.pad(x, [(0, 0), (0, 0), (pad_r, pad_r), (pad_c, pad_c)])
    n_images, n_filters, (k_rows, k_cols) = len(x), len(w), w.shape[2:]
    out_rows = (xp.shape[2] - k_rows) // stride_r + 1
    out_cols = (xp.shape[3] - k_cols) // stride_c + 1
    out = np.zeros((n_images, n_filters, out_rows, out_cols))
    for n in range(n_images):
        for o in range(n_filters):
            for i in range(out_rows):
                for j in range(out_cols):
                    window = xp[n, :, i * stride_r:i * stride_r + k_rows, j * stride_c:j * stride_c + k_cols]
                    out[n, o, i, j] = np.sum(window * w[o]) + (0.0 if b is None else b[o])
    return out


def conv_transpose2d_reference(x, w, b=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution by its definition: every input value scatters its kernel.

    ``full[n, o, i*s + a, j*s + b'] += x[n, c, i, j] * w[c, o, a, b']`` over all
    inputs and kernel taps; the output is ``full`` with `padding` rows and columns
    cut from each side (and `output_padding` zero rows and columns added at the
    bottom and right before cutting), plus ``b[o]``.

    Parameters
    ----------
    x : (N, C_in, H, W) array_like
    w : (C_in, C_out, kH, kW) array_like
        The layout of ``torch.nn.functional.conv_transpose2d``.
    b : (C_out,) array_like, optional
    stride, padding, output_padding : int or (int, int), optional

    Returns
    -------
    (N, C_out, H_out, W_out) float64 ndarray
        ``H_out = (H - 1) * stride - 2 * padding + kH + output_padding``, likewise ``W_out``.

    Examples
    --------
    >>> x = np.array([[[[1.0, 2.0]]]])                  # two values, stride 2: two copies side by side
    >>> conv_transpose2d_reference(x, np.ones((1, 1, 1, 3)), stride=2)
    array([[[[1., 1., 3., 2., 2.]]]])

    Used in: the tests of ``nn.ConvTranspose2D``.
    """
    x = as_array(x, "x", 4).astype(np.float64)
    w = as_array(w, "w", 4).astype(np.float64)
    (stride_r, stride_c), (pad_r, pad_c) = as_pair(stride, "stride", 1), as_pair(padding, "padding", 0)
    extra_r, extra_c = as_pair(output_padding, "output_padding", 0)
    n_images, channels, rows, cols = x.shape
    k_rows, k_cols = w.shape[2:]
    full = np.zeros((n_images, w.shape[1], (rows - 1) * stride_r + k_rows + extra_r,
                     (cols - 1) * stride_c + k_cols + extra_c))
    for n in range(n_images):
        for c in range(channels):
            for i in range(rows):
                for j in range(cols):
                    full[n, :, i * stride_r:i * stride_r + k_rows, j * stride_c:j * stride_c + k_cols] += \
                        x[n, c, i, j] * w[c]
    out = full[:, :, pad_r:full.shape[2] - pad_r, pad_c:full.shape[3] - pad_c]
    return out + (0.0 if b is None else np.asarray(b, dtype=np.float64)[None, :, None, None])


def pool2d_reference(x, size, stride=None, padding=0, how="max"):
    """Max or average pooling, every output value from its own window, one at a time.

    Parameters
    ----------
    x : (..., H, W) array_like
    size, stride, padding : int or (int, int)
        As for :func:`coursekit.pooling.max_pool2d`; the stride is the size by default.
    how : {"max", "avg"}
        The padding holds -inf for the maximum, and 0 for the average, which counts it.

    Returns
    -------
    (..., H_out, W_out) float ndarray
        One value per window start that fits in the padded map, counted, not computed
        from a formula.

    Examples
    --------
    >>> pool2d_reference(np.array([[1, 3], [4, 2]]), 2).tolist()
    [[4.0]]

    Used in: ``make test`` and ``make bench``, as the reference of pooling.
    """
    x = np.asarray(as_array(x, "x", None), dtype=float)
    (size_r, size_c), (pad_r, pad_c) = as_pair(size, "size", 1), as_pair(padding, "padding", 0)
    stride_r, stride_c = (size_r, size_c) if stride is None else as_pair(stride, "stride", 1)
    if how not in ("max", "avg"):
        raise ValueError(f"The parameter `how` must be 'max' or 'avg'; got {how!r}")
    widths = [(0, 0)] * (x.ndim - 2) + [(pad_r, pad_r), (pad_c, pad_c)]
    xp = np.pad(x, widths, constant_values=-np.inf if how == "max" else 0.0)
    rows = len(range(0, xp.shape[-2] - size_r + 1, stride_r))
    cols = len(range(0, xp.shape[-1] - size_c + 1, stride_c))
    out = np.zeros(x.shape[:-2] + (rows, cols))
    for index in np.ndindex(*out.shape):
        *outer, i, j = index
        window = xp[(*outer, slice(i * stride_r, i * stride_r + size_r), slice(j * stride_c, j * stride_c + size_c))]
        out[index] = window.max() if how == "max" else window.mean()
    return out


def numerical_gradient(f, array, indices=None, eps=1e-6):
    """Central differences ``(f(a + eps) - f(a - eps)) / (2 eps)`` of a scalar function.

    Each chosen entry of `array` is nudged in place, `f` re-evaluated, and the entry
    restored.

    Parameters
    ----------
    f : callable() -> float
        Reads `array` (for example, runs a layer's forward pass and a loss).
    array : ndarray of float
        Changed in place during the call, unchanged afterwards.
    indices : list of tuple, optional
        Entries to differentiate; all of them by default.
    eps : float, optional

    Returns
    -------
    ndarray
        Shape of `array` when `indices` is None, else one value per index. The
        error is of order eps**2 for smooth f (about 1e-12 in float64).

    Examples
    --------
    >>> a = np.array([1.0, 2.0])
    >>> numerical_gradient(lambda: float(np.sum(a**2)), a).round(6)
    array([2., 4.])

    Used in: the tests of :mod:`coursekit.nn`.
    """
    chosen = list(np.ndindex(array.shape)) if indices is None else indices
    grads = []
    for index in chosen:
        saved = array[index]
        array[index] = saved + eps
        plus = f()
        array[index] = saved - eps
        minus = f()
        array[index] = saved
        grads.append((plus - minus) / (2 * eps))
    grads = np.array(grads, dtype=np.float64)
    return grads.reshape(array.shape) if indices is None else grads


def _compare(what, analytic, f, array, indices, eps, rtol, atol):
    numeric = numerical_gradient(f, array, indices, eps)
    computed = np.array([analytic[i] for i in indices], dtype=np.float64)
    error = np.abs(computed - numeric)
    allowed = atol + rtol * np.maximum(np.abs(numeric), np.abs(computed))
    if np.any(error > allowed):
        worst = int(np.argmax(error / allowed))
        raise AssertionError(
            f"The gradient with respect to {what} disagrees with central differences at index "
            f"{indices[worst]}: backward() gives {computed[worst]:.8g}, but (f(x + eps) - f(x - eps)) / (2 eps) "
            f"with eps = {eps:g} gives {numeric[worst]:.8g} (error {error[worst]:.2e} > allowed "
            f"{allowed[worst]:.2e}; {int(np.sum(error > allowed))} of {len(indices)} entries checked are off). "
            f"backward() does not compute the derivative of forward()."
        )


def _sample(array, rng, samples):
    count = array.size if samples is None else min(samples, array.size)
    flat = rng.choice(array.size, size=count, replace=False)
    return [np.unravel_index(i, array.shape) for i in flat]


def check_gradients(layer, x, rng=0, samples=None, eps=1e-6, rtol=1e-5, atol=1e-8):
    """Check a layer's ``backward`` against central differences of its ``forward``.

    The scalar differentiated is ``sum(forward(x) * upstream)`` with a random
    `upstream`, so that every output counts with its own weight; its gradient with
    respect to the input is ``backward(upstream)``, and that with respect to each
    parameter is the parameter's ``.grad``.

    Parameters
    ----------
    layer : coursekit.nn.Layer
        Anything with ``forward``, ``backward`` and ``parameters()``; best in float64.
    x : ndarray of float64
        The input; a ``backward`` that returns None (a first layer) skips its check.
    rng : numpy.random.Generator or int, optional
        For `upstream` and the sampled entries.
    samples : int, optional
        Entries checked per array (input and each parameter); all by default.
    eps, rtol, atol : float, optional
        Step of the differences; an entry fails when
        ``|analytic - numeric| > atol + rtol * max(|analytic|, |numeric|)``.

    Returns
    -------
    None
        Raises AssertionError, saying which gradient, where and by how much, on a mismatch.

    Examples
    --------
    >>> from coursekit import nn
    >>> check_gradients(nn.Dense(3, 2, rng=0), np.ones((4, 3)))   # silent: the gradients agree

    Used in: LeNet.
    """
    rng = as_generator(rng, "rng")
    x = np.asarray(x)
    upstream = rng.normal(size=np.shape(layer.forward(x)))

    def f():
        return float(np.sum(layer.forward(x) * upstream))

    layer.forward(x)
    dx = layer.backward(upstream)
    checks = [] if dx is None else [(f"the input x {x.shape}", np.array(dx), x)]
    checks += [(f"parameter {number} {p.value.shape} of {layer!r}", p.grad.copy(), p.value)
               for number, p in enumerate(layer.parameters())]
    for what, analytic, array in checks:
        _compare(what, analytic, f, array, _sample(array, rng, samples), eps, rtol, atol)


def check_loss_gradient(loss, prediction, *targets, samples=None, rng=0, eps=1e-6, rtol=1e-5, atol=1e-8):
    """Check a loss's ``backward()`` against central differences of its ``forward``.

    Parameters
    ----------
    loss : loss object
        ``forward(prediction, *targets)`` returns a scalar; ``backward()`` its
        gradient with respect to `prediction`.
    prediction : ndarray of float64
    *targets
        The other arguments of ``forward`` (labels, target, weights).
    samples, rng, eps, rtol, atol
        As in :func:`check_gradients`.

    Returns
    -------
    None
        Raises AssertionError on a mismatch, as :func:`check_gradients` does.

    Examples
    --------
    >>> from coursekit import nn
    >>> check_loss_gradient(nn.MeanSquaredError(), np.array([1.0, -2.0]), np.zeros(2))

    Used in: the tests of :mod:`coursekit.nn`.
    """
    rng = as_generator(rng, "rng")
    samples = None if samples is None else as_int(samples, "samples", 1)
    loss.forward(prediction, *targets)
    analytic = np.array(loss.backward())
    _compare(f"the prediction {prediction.shape} of {type(loss).__name__}", analytic,
             lambda: float(loss.forward(prediction, *targets)), prediction,
             _sample(prediction, rng, samples), eps, rtol, atol)


def convective_stratiform_loop(dbz, pixel_km):
    """Steiner, Houze and Yuter's (1995) rules, one pixel at a time.

    The reference for :func:`coursekit.echo.convective_stratiform`, which must
    agree with it pixel for pixel: echo is a finite dBZ above 0; the background is
    ``10 log10`` of the mean Z of the echo pixels within 11 km (inclusive); a core
    has at least 42 dBZ or exceeds its background by the peakedness
    (10 dB below 0 dBZ, ``10 - b**2 / 180`` up to 42.43 dBZ, 0 above); each core
    makes convective the echo pixels within 1-5 km, by its background (below 25,
    25-30, 30-35, 35-40, at least 40 dBZ); other echo is stratiform.

    Parameters
    ----------
    dbz : (H, W) array_like
        Reflectivity in dBZ.
    pixel_km : float
        Width of a pixel in km.

    Returns
    -------
    (H, W) int64 ndarray
        0 no echo, 1 stratiform, 2 convective.

    Examples
    --------
    >>> convective_stratiform_loop([[0, 30], [30, 45]], pixel_km=4.0)  # 45 dBZ core, 5 km reach
    array([[0, 2],
           [2, 2]])
    >>> convective_stratiform_loop([[0, 30], [30, 45]], pixel_km=6.0)  # the neighbours are too far
    array([[0, 1],
           [1, 2]])

    Used in: the tests and benchmark of :func:`coursekit.echo.convective_stratiform`.
    """
    dbz = np.asarray(as_array(dbz, "dbz", 2), dtype=float)
    height, width = dbz.shape
    echo = np.isfinite(dbz) & (dbz > 0)
    background = np.zeros(dbz.shape)
    reach = int(11.0 // pixel_km) + 1
    for r in range(height):
        for c in range(width):
            if not echo[r, c]:
                continue
            total, count = 0.0, 0
            for rr in range(max(0, r - reach), min(height, r + reach + 1)):
                for cc in range(max(0, c - reach), min(width, c + reach + 1)):
                    if echo[rr, cc] and math.hypot(rr - r, cc - c) * pixel_km <= 11.0 + 1e-9:
                        total += 10.0 ** (dbz[rr, cc] / 10.0)
                        count += 1
            background[r, c] = 10.0 * math.log10(total / count)
    labels = np.where(echo, 1, 0).astype(np.int64)
    for r in range(height):
        for c in range(width):
            if not echo[r, c]:
                continue
            b = background[r, c]
            peak = 10.0 if b < 0 else (10.0 - b * b / 180.0 if b < 42.43 else 0.0)
            if not (dbz[r, c] >= 42.0 or dbz[r, c] - b >= peak):
                continue
            radius = 1.0 if b < 25 else 2.0 if b < 30 else 3.0 if b < 35 else 4.0 if b < 40 else 5.0
            span = int(radius // pixel_km) + 1
            for rr in range(max(0, r - span), min(height, r + span + 1)):
                for cc in range(max(0, c - span), min(width, c + span + 1)):
                    if echo[rr, cc] and math.hypot(rr - r, cc - c) * pixel_km <= radius + 1e-9:
                        labels[rr, cc] = 2
    return labels
