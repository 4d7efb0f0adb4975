"""Cross-correlation, padding and output sizes: the arithmetic of a convolutional layer.

One primitive does the work: :func:`conv2d`, a batched, multi-channel, strided
cross-correlation. :func:`corr2d`, the single-channel operation worked by hand in
the Convolution chapter, is that primitive applied to a batch of one.

What deep-learning libraries call "convolution" is cross-correlation: the kernel
is not flipped. ``scipy.signal.correlate2d(x, k, mode="valid")`` equals
``corr2d(x, k)``; ``scipy.signal.convolve2d`` equals ``corr2d`` with the kernel
rotated by 180 degrees.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._validation import (as_array, as_int, as_number, as_pair, fill_value, one_of, window_fits,
                          working_dtype)

__all__ = [
    "CLASSIC_KERNELS",
    "classic_kernel",
    "conv2d",
    "corr2d",
    "output_size",
    "pad2d",
]


def output_size(n, k, padding=0, stride=1):
    """Length of a cross-correlation's output along one axis.

    Parameters
    ----------
    n : int
        Input length (rows or columns), at least 1.
    k : int
        Kernel length, at least 1.
    padding : int, optional
        Zeros added on *each* side of the input.
    stride : int, optional
        Step between two windows, at least 1.

    Returns
    -------
    int
        ``floor((n + 2 * padding - k) / stride) + 1``.

    Raises
    ------
    ValueError
        If the kernel is longer than the padded input, so that no window fits.

    Examples
    --------
    >>> output_size(4, 3)             # the 4x4 image and a 3x3 filter
    2
    >>> output_size(4, 3, padding=1)  # "same" padding keeps the size
    4
    >>> output_size(5, 3, stride=2)
    2

    Used in: Convolution; Padding, stride and pooling.
    """
    n = as_int(n, "n", 1)
    k = as_int(k, "k", 1)
    padding = as_int(padding, "padding", 0)
    stride = as_int(stride, "stride", 1)
    if k > n + 2 * padding:
        raise ValueError(
            f"The parameter `k` ({k}) is larger than the padded input "
            f"({n} + 2 * {padding} = {n + 2 * padding}), so no window fits"
        )
    return (n + 2 * padding - k) // stride + 1


def pad2d(x, padding, value=0):
    """Pad the last two axes (rows, columns) of an array with a constant.

    Parameters
    ----------
    x : (..., H, W) array_like
        An image (H, W) or a batch such as (N, C, H, W).
    padding : int or (int, int)
        Rows added above and below, and columns added left and right.
    value : scalar, optional
        The fill value; zero padding by default.

    Returns
    -------
    (..., H + 2 * pad_rows, W + 2 * pad_cols) ndarray
        Same dtype as ``x``.

    Examples
    --------
    >>> pad2d([[1, 2], [3, 4]], 1)
    array([[0, 0, 0, 0],
           [0, 1, 2, 0],
           [0, 3, 4, 0],
           [0, 0, 0, 0]])

    Used in: Convolution; Padding, stride and pooling.
    """
    x = as_array(x, "x", None)
    if x.ndim < 2:
        raise ValueError(
            f"The parameter `x` must have at least 2 dimensions (rows, columns); got shape {x.shape}"
        )
    pad_rows, pad_cols = as_pair(padding, "padding", 0)
    return _padded(x, (pad_rows, pad_cols), fill_value(value, "value", x.dtype, "x"))


def _padded(x, padding, value=0):
    """:func:`pad2d` without the checks: `x` copied into a frame of `value`.

    A frame filled first and the image written into it does what
    ``np.pad(mode="constant")`` does, without its overhead (about 0.1 ms a call, a
    third of the time of a whole LeNet-sized convolution).
    """
    pad_rows, pad_cols = padding
    height, width = x.shape[-2:]
    shape = x.shape[:-2] + (height + 2 * pad_rows, width + 2 * pad_cols)
    fill = np.asarray(value)[()]  # a NumPy scalar, cast the way np.pad casts it
    # Zeros come from calloc, faster than writing them (25-35% at the book's layer shapes);
    # -0.0 is written, as np.pad writes it.
    zeros = fill == 0 and not np.signbit(fill)
    out = np.zeros(shape, dtype=x.dtype) if zeros else np.full(shape, fill, dtype=x.dtype)
    out[..., pad_rows : pad_rows + height, pad_cols : pad_cols + width] = x
    return out


def corr2d(x, k):
    """Valid 2-D cross-correlation of one image with one kernel.

    ``out[i, j] = sum over a, b of x[i + a, j + b] * k[a, b]``: the kernel slides
    over the image without flipping, and only where it fits entirely.

    Parameters
    ----------
    x : (H, W) array_like
        The image.
    k : (kH, kW) array_like
        The kernel, no larger than the image.

    Returns
    -------
    (H - kH + 1, W - kW + 1) ndarray
        Integer inputs give int64, floating inputs keep their precision.

    Examples
    --------
    >>> image = [[3, 1, 4, 3], [3, 2, 3, 1], [4, 3, 6, 4], [3, 3, 1, 7]]
    >>> corr2d(image, np.ones((3, 3), dtype=int))
    array([[29, 27],
           [28, 30]])

    Used in: Convolution.
    """
    x = as_array(x, "x", 2)
    k = as_array(k, "k", 2)
    window_fits(k.shape, x.shape, (0, 0), "kernel `k`", "x")
    return conv2d(x[None, None], k[None, None])[0, 0]


def conv2d(x, w, b=None, stride=1, padding=0):
    """Multi-channel, multi-filter cross-correlation, as in a convolutional layer.

    ``out[n, o, i, j] = b[o] + sum over c, a, b' of
    w[o, c, a, b'] * xp[n, c, i * s + a, j * s + b']``, where ``xp`` is ``x`` zero-padded.
    Every filter sums over all input channels and yields one activation map.
    The layout follows ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : (N, C_in, H, W) array_like
        A batch of images.
    w : (C_out, C_in, kH, kW) array_like
        One kernel stack per output channel.
    b : (C_out,) array_like, optional
        One bias per output channel.
    stride : int or (int, int), optional
        Step between windows, at least 1.
    padding : int or (int, int), optional
        Zeros added on each side of every image.

    Returns
    -------
    (N, C_out, H_out, W_out) ndarray
        ``H_out = output_size(H, kH, padding, stride)``, likewise ``W_out``.
        Integer inputs give int64, floating inputs keep their precision.

    Examples
    --------
    >>> x = np.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
    >>> w = np.ones((4, 3, 3, 3))
    >>> conv2d(x, w, stride=2, padding=1).shape
    (2, 4, 3, 3)

    Used in: Convolution; Padding, stride and pooling.
    """
    x = as_array(x, "x", 4)
    w = as_array(w, "w", 4)
    stride_r, stride_c = as_pair(stride, "stride", 1)
    pad_r, pad_c = as_pair(padding, "padding", 0)
    channels = x.shape[1]
    n_filters, w_channels, k_rows, k_cols = w.shape
    if w_channels != channels:
        raise ValueError(
            f"Channel mismatch: `x` has {channels} channels (shape {x.shape}) but "
            f"`w` expects {w_channels} (shape {w.shape}); w must be (C_out, C_in, kH, kW)"
        )
    window_fits((k_rows, k_cols), x.shape, (pad_r, pad_c), "kernel of `w`", "x")
    arrays = [x, w]
    if b is not None:
        b = as_array(b, "b", 1)
        if b.shape != (n_filters,):
            raise ValueError(
                f"The parameter `b` must have shape ({n_filters},), one bias per filter; got {b.shape}"
            )
        arrays.append(b)
    dtype = working_dtype(*arrays)

    out, _ = _correlate(x.astype(dtype, copy=False), w.astype(dtype, copy=False),
                        None if b is None else b.astype(dtype, copy=False), (stride_r, stride_c), (pad_r, pad_c))
    return out


def _correlate(x, w, b, stride, padding, layout=None):
    """The one cross-correlation path: unfold the windows (im2col), one matrix product, the bias.

    ``x`` (N, C, H, W) and ``w`` (C_out, C, kH, kW) come checked and in the working
    dtype; ``b`` is (C_out,) or None. Returns the output (N, C_out, H_out, W_out) and
    the columns, which :func:`_correlate_backward` reuses. :func:`conv2d` and the
    layer :class:`coursekit.nn.Conv2D` both compute through here. `layout` is
    :func:`_im2col`'s (None picks one).
    """
    columns, (out_rows, out_cols) = _im2col(x, w.shape[2:], stride, padding, layout)
    n_filters, k_rows = len(w), w.shape[2]
    if columns.ndim == 3 and columns.shape[2] != out_rows * out_cols:
        # The strip layout (with a 1 x 1 kernel it is the compact one): kernel row a reads the
        # strips a padded row further on, as a view. One product per kernel row, summed.
        length, shifts = _strip_geometry(columns.shape[2], out_rows, k_rows)
        rows_of_w = np.ascontiguousarray(w.transpose(2, 0, 1, 3)).reshape(k_rows, n_filters, -1)
        out = np.matmul(rows_of_w[0], columns[:, :, :length])
        term = np.empty_like(out)
        for a, shift in enumerate(shifts[1:], start=1):
            out += np.matmul(rows_of_w[a], columns[:, :, shift:shift + length], out=term)
        if b is not None:
            out += b[None, :, None]
        return out.reshape(len(x), n_filters, out_rows, length // out_rows)[..., :out_cols], columns
    if columns.ndim == 2:
        # The pixel layout: rows are the output's pixels and columns its channels, a product per
        # group of images (_pixel_groups). The result is NHWC in memory, returned as an NCHW view.
        weights = w.transpose(2, 3, 1, 0).reshape(-1, len(w))
        out = np.matmul(_pixel_groups(columns, len(x), weights.size), weights).reshape(len(columns), len(w))
        if b is not None:
            out += b
        return out.reshape(len(x), out_rows, out_cols, len(w)).transpose(0, 3, 1, 2), columns
    out = np.matmul(w.reshape(len(w), -1), columns)
    if b is not None:
        out += b[None, :, None]
    return out.reshape(len(x), len(w), out_rows, out_cols), columns


def _weight_gradient(grad, columns, w_shape):
    """The gradient of :func:`_correlate`'s weights: every window's columns times its output gradient.

    ``grad`` is (N, C_out, H_out, W_out) and ``columns`` what :func:`_im2col` made,
    in any of its layouts; returns (C_out, C_in, kH, kW).
    """
    n_filters, channels, k_rows, k_cols = w_shape
    if columns.ndim == 2:  # pixel layout: (pixels, kH * kW * C_in), a tap's channels last
        pixels = grad.transpose(0, 2, 3, 1).reshape(-1, n_filters)
        size = n_filters * columns.shape[1]
        grad_w = np.matmul(_pixel_groups(pixels, len(grad), size).transpose(0, 2, 1),
                           _pixel_groups(columns, len(grad), size)).sum(axis=0)
        return grad_w.reshape(n_filters, k_rows, k_cols, channels).transpose(0, 3, 1, 2)
    if columns.shape[2] != grad.shape[2] * grad.shape[3]:  # strip layout: a product per kernel row
        length, shifts = _strip_geometry(columns.shape[2], grad.shape[2], k_rows)
        wide = _widen(grad, length)
        grad_w = np.empty((n_filters, channels, k_rows, k_cols), dtype=np.result_type(grad, columns))
        for a, shift in enumerate(shifts):
            strips = columns[:, :, shift:shift + length].transpose(0, 2, 1)
            grad_w[:, :, a] = np.matmul(wide, strips).sum(axis=0).reshape(n_filters, channels, k_cols)
        return grad_w
    pixels = grad.reshape(len(grad), n_filters, grad.shape[2] * grad.shape[3])
    return np.matmul(pixels, columns.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)


#: The pixel layout's products take this many multiply-adds at most (rows x depth x columns) when
#: they can: the OpenBLAS that NumPy ships multiplies matrices this small on AVX-512 processors by
#: a path of its own, without packing them. Measured on one thread, a product per image / one for
#: the whole batch: 0.74 (forward) and 0.73 (weight gradient) at LeNet's second convolution,
#: 0.81 and 0.78 at the encoder-decoder's third; but 1.05-1.33 at 1.2 million per image.
_PIXEL_PRODUCT_SIZE = 10**6


def _pixel_groups(rows, n_images, size):
    """The pixel layout's rows (N * H_out * W_out, L) as a stack of groups of whole images,
    (groups, rows per group, L), for products of `size` multiply-adds per row: the largest
    group that divides the batch and keeps a product within :data:`_PIXEL_PRODUCT_SIZE`.

    A stack is multiplied in one call, which costs less than a call per group (a fifth
    of a LeNet-sized convolution's time with a product per image).
    """
    per_image = len(rows) // max(1, n_images)
    group = max(1, _PIXEL_PRODUCT_SIZE // max(1, per_image * size))
    group = max(g for g in range(1, min(group, n_images) + 1) if n_images % g == 0) if n_images else 1
    return rows.reshape(max(1, n_images // group), group * per_image, rows.shape[1])


def _strip_geometry(span, out_rows, k_rows):
    """For the strip layout, whose strips are `span` entries long: the length of each kernel
    row's view (H_out padded rows), and where the view of each kernel row a starts
    (``a * padded width`` entries on)."""
    padded_width = span // (out_rows + k_rows - 1)
    return out_rows * padded_width, [a * padded_width for a in range(k_rows)]


def _widen(grad, length):
    """An (N, C, H_out, W_out) gradient laid out like the strip layout's views of `length`
    entries per image.

    Those have ``length // H_out`` entries per output row (the padded width), the ones
    past ``W_out`` junk windows that straddle two rows; their gradient is zero.
    """
    n_images, channels, out_rows, out_cols = grad.shape
    wide = np.zeros((n_images, channels, out_rows, length // out_rows), dtype=grad.dtype)
    wide[..., :out_cols] = grad
    return wide.reshape(n_images, channels, length)


def _correlate_backward(grad, columns, w, x_shape, stride, padding, input_grad):
    """Gradients of :func:`_correlate` with respect to ``w``, ``b`` and ``x``.

    ``grad`` is the gradient with respect to the output, (N, C_out, H_out, W_out).
    The output is ``W @ columns + b``, so the gradient of W is the sum over images of
    ``grad @ columns^T``, that of b the sum of ``grad``, and that of x is
    ``W^T @ grad`` folded back onto the pixels (:func:`_col2im`); None when
    ``input_grad`` is False (a network's first layer).
    """
    grad_w = _weight_gradient(grad, columns, w.shape)
    grad_b = grad.sum(axis=(0, 2, 3))
    if not input_grad:
        return grad_w, grad_b, None
    return grad_w, grad_b, _transpose_correlate(grad, w, x_shape, stride, padding)


def _transpose_correlate(grad, w, x_shape, stride, padding):
    """The gradient of :func:`_correlate` with respect to its input: ``W^T @ grad``, folded back
    onto the pixels of an (N, C, H, W) map of shape `x_shape` (:func:`_col2im`).

    ``grad`` is (N, C_out, H_out, W_out).
    As a function of ``grad`` this is the transposed convolution
    (:class:`coursekit.nn.ConvTranspose2D`), whose own gradient is therefore :func:`_correlate`.
    """
    n_filters = len(w)
    (k_rows, k_cols), (pad_r, pad_c) = w.shape[2:], padding
    if stride == (1, 1) and pad_r < k_rows and pad_c < k_cols:
        # At stride 1 the same sum is a cross-correlation of the gradient, padded by k - 1 - p,
        # with the kernel rotated by 180 degrees and its channel axes swapped: unfolding the
        # gradient's C_out maps costs less than folding back C_in * kH * kW columns.
        flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[..., ::-1, ::-1])
        grad_x, _ = _correlate(grad, flipped, None, stride, (k_rows - 1 - pad_r, k_cols - 1 - pad_c))
        return grad_x
    grad = grad.reshape(len(grad), n_filters, -1)
    # A C-ordered W^T makes this product about twice as fast as the transposed view.
    columns_grad = np.matmul(np.ascontiguousarray(w.reshape(n_filters, -1).T), grad)
    return _col2im(columns_grad, x_shape, w.shape[2:], stride, padding)


def _windows(size, stride, out_shape):
    """For each offset (a, b) inside a window: ``((a, b), index)``, where ``x[index]`` is the
    strided view of the (padded) map that this offset reads in every window at once.

    Loops over these run over the kH * kW offsets of a window, never over pixels;
    pooling, its gradients and :func:`_col2im` all walk windows this way.
    """
    (size_r, size_c), (stride_r, stride_c), (out_r, out_c) = size, stride, out_shape
    row_span, col_span = stride_r * (out_r - 1) + 1, stride_c * (out_c - 1) + 1
    for a in range(size_r):
        for b in range(size_c):
            yield (a, b), (..., slice(a, a + row_span, stride_r), slice(b, b + col_span, stride_c))


#: At stride 1, :func:`_im2col` picks the pixel layout when an output map has at most this many
#: times as many pixels as a window's kernel row has values (kW * C): there products over several
#: images (:data:`_PIXEL_PRODUCT_SIZE`), and copies of long runs, beat a product per image. Measured
#: at the book's layer shapes, pixel / compact layout time on one thread of a forward pass, with
#: the weight gradient where the call has one: 0.52-0.66 at 0.4-0.8 times (the encoder-decoder's
#: 6 x 6 maps of 16 and 32 channels), 0.67 at 3.3 (LeNet's second convolution), 0.96 at 2.5 (its
#: input gradient), 1.15 at 6.8 and 13.5 (18 x 18 maps of 16 and 8 channels), 2.5-2.7 with one
#: input channel. At stride 2 the compact layout always won.
_PIXEL_LAYOUT_MAX_RATIO = 5

#: At stride 1, for maps too large for the pixel layout, :func:`_im2col` picks the strip layout
#: when the compact layout's columns would take more bytes than this, beyond the caches, where
#: the copy sets the time, not the product. Measured, strip / compact layout time on one thread,
#: forward and weight gradient: 1.26 at 2.4 MB (the U-Net's second convolution), 0.80 at 9.4 MB
#: and 0.76 at 19 MB (its decoder's); for the input gradients (a forward pass): 0.90-1.05 at
#: 4.7 MB, 1.00 at 9.4 MB. Small maps stay with pixels however large the batch: at 64 maps of
#: 8 x 8 in 64 channels (9.4 MB) strips took 1.44 times as long as pixels, forward and weight
#: gradient.
_STRIP_LAYOUT_MIN_BYTES = 4 << 20

#: ...provided that each product sums over at least this many entries (C * kW): shallower
#: products run far below the processor's speed. Measured beyond 4 MB, against a since-removed
#: layout whose products were as deep as the compact one's (strip / row layout time of a forward
#: pass): 1.6-1.9 at 3 (one channel, 3 wide: the radar batch), 1.4 at 5, 1.3 at 6, 1.16 at 9,
#: 1.09 at 12, 0.97 at 18, 0.69-0.96 at 24.
_STRIP_LAYOUT_MIN_DEPTH = 16


def _im2col(x, kernel_shape, stride, padding, layout=None):
    """Unfold every window of a padded (N, C, H, W) batch into columns.

    Returns ``columns`` and (H_out, W_out). A matrix product of the weights with
    the columns is the cross-correlation, every filter at once. A strided view of
    every window is copied once into the columns, run by run (:func:`_copy_runs`):
    no Python loop over pixels. Three layouts, which :func:`_correlate` and
    :func:`_weight_gradient` tell apart by shape; `layout` forces one, None picks:

    ``"compact"``
        (N, C * kH * kW, H_out * W_out), one entry per window: the usual im2col,
        a product per image. At stride 1 a tap's entries along an output row are
        one run of the input.
    ``"pixels"``
        (N * H_out * W_out, kH * kW * C): a row per window, each tap's C channels
        side by side, so that one kernel row of a window (kW * C values) is one
        contiguous run of the image moved to channels-last (NHWC). Each product
        serves a group of images (:func:`_pixel_groups`) and gives the output
        NHWC in memory. Picked at stride 1 for the deep, small maps of a
        network's later layers (:data:`_PIXEL_LAYOUT_MAX_RATIO`).
    ``"strips"``
        (N, C * kW, H * W) for a padded map of H x W, at stride 1 only: for each
        channel and kernel column, one run as long as the padded map,
        so that every output row is as wide as a padded input row. The runs of
        kernel row a are the same strips ``a * W`` entries further on, a view, so the
        copy is kH times smaller than the compact layout's, and :func:`_correlate`
        makes one product per kernel row. The ``W - W_out`` extra entries per row
        are windows that wrap onto the next row: their outputs are dropped and
        their gradients are zero (:func:`_widen`). Picked, for maps too large for
        pixels, when the compact columns would outgrow the caches and the products
        are deep enough
        (:data:`_STRIP_LAYOUT_MIN_BYTES`, :data:`_STRIP_LAYOUT_MIN_DEPTH`).
    """
    (k_rows, k_cols), (stride_r, stride_c) = kernel_shape, stride
    n_images, channels, height, width = x.shape
    if layout is None:
        layout = "compact"
        if stride == (1, 1):
            depth = channels * k_cols
            out_pixels = (height + 2 * padding[0] - k_rows + 1) * (width + 2 * padding[1] - k_cols + 1)
            if out_pixels <= _PIXEL_LAYOUT_MAX_RATIO * depth:
                layout = "pixels"
            elif depth >= _STRIP_LAYOUT_MIN_DEPTH and \
                    n_images * depth * k_rows * out_pixels * x.itemsize > _STRIP_LAYOUT_MIN_BYTES:
                layout = "strips"
    if layout == "pixels":
        return _im2col_pixels(x, kernel_shape, stride, padding)
    if padding[0] or padding[1]:
        x = _padded(x, padding)
    n_images, channels, height, width = x.shape
    out_rows = (height - k_rows) // stride_r + 1
    out_cols = (width - k_cols) // stride_c + 1
    if layout == "strips":
        if stride != (1, 1):
            raise ValueError(f"The strip layout needs stride 1; got {stride}")
        columns = _strips(np.ascontiguousarray(x), k_cols)
        return columns.reshape(n_images, channels * k_cols, height * width), (out_rows, out_cols)
    if layout != "compact":
        raise ValueError(f"Unknown layout {layout!r}")
    image_step, channel_step, row_step, col_step = x.strides  # in bytes
    # columns[n, c, a, b, i, j] = x[n, c, i * stride_r + a, j * stride_c + b], copied once.
    # Offset a and window i both step along rows, so both use the row stride.
    strides = (image_step, channel_step, row_step, col_step, row_step * stride_r)
    columns = np.empty((n_images, channels, k_rows, k_cols, out_rows, out_cols), dtype=x.dtype)
    if stride_c == 1 and x.flags.c_contiguous:  # each output row's windows read one run
        _copy_runs(x, strides, columns)
    else:
        np.copyto(columns, as_strided(x, columns.shape, strides + (col_step * stride_c,), writeable=False))
    columns = columns.reshape(n_images, channels * k_rows * k_cols, out_rows * out_cols)
    return columns, (out_rows, out_cols)


def _im2col_pixels(x, kernel_shape, stride, padding):
    """:func:`_im2col`'s pixel layout: (N * H_out * W_out, kH * kW * C), channels last."""
    (k_rows, k_cols), (stride_r, stride_c), (pad_r, pad_c) = kernel_shape, stride, padding
    n_images, channels, height, width = x.shape
    # The image, channels last, in a frame of zeros. Writing through the frame's NCHW view
    # lets NumPy walk the input in its own memory order.
    framed = np.empty((n_images, height + 2 * pad_r, width + 2 * pad_c, channels), dtype=x.dtype)
    if pad_r:
        framed[:, :pad_r] = framed[:, -pad_r:] = 0
    if pad_c:
        framed[:, :, :pad_c] = framed[:, :, -pad_c:] = 0
    framed.transpose(0, 3, 1, 2)[:, :, pad_r:pad_r + height, pad_c:pad_c + width] = x
    out_rows = (height + 2 * pad_r - k_rows) // stride_r + 1
    out_cols = (width + 2 * pad_c - k_cols) // stride_c + 1
    image_step, row_step, col_step, channel_step = framed.strides  # in bytes
    # columns[n, i, j, a, t] = framed[n, i * stride_r + a, j * stride_c + t // C, t % C]:
    # kernel row a of window (i, j), its kW pixels' channels one contiguous run.
    columns = np.empty((n_images, out_rows, out_cols, k_rows, k_cols * channels), dtype=x.dtype)
    _copy_runs(framed, (image_step, row_step * stride_r, col_step * stride_c, row_step), columns)
    return columns.reshape(n_images * out_rows * out_cols, k_rows * k_cols * channels), (out_rows, out_cols)


def _strips(x, k_cols):
    """``strips[n, c, b, t] = x[n, c].flat[b + t]`` for b < `k_cols` and t < ``H * W - (k_cols - 1)``:
    :func:`_im2col`'s strip layout, as (N, C, kW, H * W).

    `x` is a C-ordered (N, C, H, W) map. Kernel row a reads the strips ``a * W`` entries
    further on (:func:`_strip_geometry`), which is why they reach to the end of the map.
    The last ``k_cols - 1`` entries of every strip, which only junk windows read, are zero.
    """
    n_images, channels, height, width = x.shape
    image_step, channel_step, _, col_step = x.strides  # in bytes
    length = height * width
    run = length - (k_cols - 1)
    strips = np.empty((n_images, channels, k_cols, length), dtype=x.dtype)
    _copy_runs(x, (image_step, channel_step, col_step), strips, run)
    strips[..., run:] = 0
    return strips


def _copy_runs(source, strides, out, run=None):
    """Fill `out` (C-ordered, (..., L)) with runs of C-ordered `source`: ``out[idx][:run]``
    gets the `run` (default L) consecutive entries of `source` that start ``sum(idx * strides)``
    bytes into it, for every index ``idx`` of ``out.shape[:-1]``; runs may overlap.

    Each run is copied as one opaque block of bytes (a NumPy void scalar). Copying a
    strided view entry by entry instead pays NumPy's per-run overhead on short runs: the
    pixel layout's runs of 30 values at LeNet's second convolution copied in 78 us that
    way against 36 us as blocks.
    """
    length = out.shape[-1]
    run = length if run is None else run
    if out.dtype.hasobject:  # references, not bytes: copied one by one, counted
        np.copyto(out[..., :run], as_strided(source, out.shape[:-1] + (run,), strides + (source.itemsize,),
                                             writeable=False))
        return
    # A call at the book's layer shapes costs 3 us this way against 10 us with a new dtype and
    # two views through the buffer protocol, which is 3-4% of a whole LeNet-sized convolution.
    block = _void_block(run * out.itemsize)
    runs = np.ndarray(out.shape[:-1], dtype=block, buffer=source, strides=strides)
    if run == length:  # whole rows of `out`: each one block, a plain view
        np.copyto(out.view(block)[..., 0], runs)
    else:
        np.copyto(np.ndarray(out.shape[:-1], dtype=block, buffer=out, strides=out.strides[:-1]), runs)


@functools.lru_cache(maxsize=256)
def _void_block(size):
    """The NumPy dtype of an opaque block of `size` bytes, kept per size (making one costs 2 us)."""
    return np.dtype((np.void, size))


def _col2im(columns, x_shape, kernel_shape, stride, padding):
    """The adjoint of :func:`_im2col`: add every column entry back onto the pixel it came from.

    This is the gradient of a cross-correlation with respect to its input, given
    the gradient with respect to the columns.
    """
    (k_rows, k_cols), (stride_r, stride_c), (pad_r, pad_c) = kernel_shape, stride, padding
    n_images, channels, height, width = x_shape
    out_rows = output_size(height, k_rows, pad_r, stride_r)
    out_cols = output_size(width, k_cols, pad_c, stride_c)
    taps = columns.reshape(n_images, channels, k_rows, k_cols, out_rows, out_cols)
    if (k_rows, k_cols) == (stride_r, stride_c) and (out_rows * k_rows, out_cols * k_cols) == (height, width) \
            and not (pad_r or pad_c):
        # The windows tile the map without overlap (a 2x2 kernel at stride 2): folding back is a reshape.
        return taps.transpose(0, 1, 4, 2, 5, 3).reshape(x_shape)
    padded = np.zeros((n_images, channels, height + 2 * pad_r, width + 2 * pad_c), dtype=columns.dtype)
    for (a, b), window in _windows(kernel_shape, stride, (out_rows, out_cols)):
        padded[window] += taps[:, :, a, b]
    return padded[:, :, pad_r : pad_r + height, pad_c : pad_c + width]


_CLASSIC = {
    "identity": ([[0, 0, 0], [0, 1, 0], [0, 0, 0]], 1),
    "edge": ([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], 1),
    "sharpen": ([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], 1),
    "box_blur": ([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 9),
    "gaussian_blur": ([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16),
    # Sobel: a horizontal derivative smoothed vertically. sobel_x responds to
    # intensity changing from left to right (vertical edges); sobel_y is its transpose.
    "sobel_x": ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], 1),
    "sobel_y": ([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], 1),
}

#: Names accepted by :func:`classic_kernel`.
CLASSIC_KERNELS = tuple(_CLASSIC)


def classic_kernel(name):
    """A named 3x3 image-processing kernel, as a fresh float64 array.

    Parameters
    ----------
    name : str
        One of :data:`CLASSIC_KERNELS`: ``"identity"``, ``"edge"`` (Laplacian-style
        outline detector), ``"sharpen"``, ``"box_blur"``, ``"gaussian_blur"``
        (binomial 1-2-1 weights over 16), ``"sobel_x"`` or ``"sobel_y"``.

    Returns
    -------
    (3, 3) ndarray
        Blurs sum to 1 (they preserve the mean), edge and Sobel kernels sum to 0
        (flat regions give 0), sharpen sums to 1.

    Examples
    --------
    >>> float(classic_kernel("gaussian_blur").sum())
    1.0
    >>> float(classic_kernel("edge").sum())
    0.0

    Used in: Convolution.
    """
    weights, divisor = _CLASSIC[one_of(name, "name", CLASSIC_KERNELS)]
    return np.array(weights, dtype=np.float64) / divisor
