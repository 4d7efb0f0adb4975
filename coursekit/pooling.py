"""Pooling and receptive fields: shrinking activation maps on purpose.

Pooling slides a window over each channel separately, like a cross-correlation,
but summarises the window (its maximum or its mean) instead of weighting it. With
the stride equal to the window size, the windows tile the map and each side
shrinks by that factor.

Used in: Padding, stride and pooling; LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, as_int, as_pair, window_fits
from .conv import _windows, output_size, pad2d

__all__ = ["avg_pool2d", "max_pool2d", "receptive_field", "unpool2d"]


def _pool_input(x, size, stride, padding, fill):
    """Check a pooling's arguments; pad `x` with `fill`.

    Returns the padded map, the window (rows, cols), the stride (rows, cols) and the
    output's (H_out, W_out).
    """
    size_r, size_c = as_pair(size, "size", 1)
    stride_r, stride_c = as_pair(size if stride is None else stride, "stride", 1)
    pad_r, pad_c = as_pair(padding, "padding", 0)
    if pad_r > size_r // 2 or pad_c > size_c // 2:
        # Larger padding would create windows that see only padding (as torch also refuses).
        raise ValueError(
            f"The parameter `padding` ({padding}) must be at most half the window `size` ({size})"
        )
    window_fits((size_r, size_c), x.shape, (pad_r, pad_c), "window `size`", "x")
    height, width = x.shape[-2:]
    out_shape = (output_size(height, size_r, pad_r, stride_r),
                 output_size(width, size_c, pad_c, stride_c))
    if pad_r or pad_c:
        x = pad2d(x, (pad_r, pad_c), value=fill)
    return x, (size_r, size_c), (stride_r, stride_c), out_shape


def _combine_offsets(x, axis, size, stride, count, reduce):
    """Combine with `reduce` the `size` offsets of every window along one `axis` of `x`.

    Returns a new array whose `axis` holds `count` windows: ``out[..., i] =
    reduce(x[..., i * stride], ..., x[..., i * stride + size - 1])`` along that axis.
    """
    span = stride * (count - 1) + 1
    axis %= x.ndim
    out_shape = x.shape[:axis] + (count,) + x.shape[axis + 1:]
    if axis == x.ndim - 1 and x.shape[-1] == count * stride and x.flags.c_contiguous:
        # The windows tile each row with nothing left over, so in the flattened array the
        # start-th element of window i in row r sits at (r * count + i) * stride + start:
        # one long strided view per offset, instead of one short run per row.
        flat = x.reshape(-1)

        def offset(start):
            return flat[start::stride]
    else:
        def offset(start):  # the `start`-th element of every window, as one strided view
            index = [slice(None)] * x.ndim
            index[axis] = slice(start, start + span, stride)
            return x[tuple(index)]

    if size == 1:
        return offset(0).reshape(out_shape).copy()
    result = reduce(offset(0), offset(1))
    for start in range(2, size):
        reduce(result, offset(start), out=result)
    return result.reshape(out_shape)


def max_pool2d(x, size=2, stride=None, padding=0):
    """Maximum over each window, channel by channel.

    Parameters
    ----------
    x : (H, W) or (N, C, H, W) array_like
    size : int or (int, int), optional
        Window rows and columns.
    stride : int or (int, int), optional
        Step between windows; the window size by default, so that windows tile the map.
    padding : int or (int, int), optional
        Added on each side; padded cells never win (they hold the lowest value of the
        dtype, or -inf). At most half the window size.

    Returns
    -------
    (H_out, W_out) or (N, C, H_out, W_out) ndarray
        ``H_out = output_size(H, size, padding, stride)``; same dtype as ``x``.

    Examples
    --------
    >>> x = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [0, 2, 9, 8], [1, 1, 7, 3]])
    >>> max_pool2d(x, 2)
    array([[6, 5],
           [2, 9]])

    Used in: Padding, stride and pooling; Encoder–decoder (through :func:`encode`).
    """
    x = as_array(x, "x", (2, 4))
    x, (size_r, size_c), (stride_r, stride_c), (out_r, out_c) = _pool_input(
        x, size, stride, padding, _lowest(x.dtype))
    # A maximum may be taken in any order, so it goes one axis at a time: the largest
    # value of a window is the largest of its columns' largest values. That is
    # (size_r - 1) + (size_c - 1) comparisons per output instead of size_r * size_c - 1.
    # Down the columns first: its views read whole rows, and the second pass, whose
    # views step along a row, runs over a map already narrowed to H_out rows.
    columns_max = _combine_offsets(x, -2, size_r, stride_r, out_r, np.maximum)
    return _combine_offsets(columns_max, -1, size_c, stride_c, out_c, np.maximum)


def avg_pool2d(x, size=2, stride=None, padding=0):
    """Mean over each window, channel by channel.

    Parameters
    ----------
    x : (H, W) or (N, C, H, W) array_like
    size : int or (int, int), optional
        Window rows and columns.
    stride : int or (int, int), optional
        Step between windows; the window size by default.
    padding : int or (int, int), optional
        Zeros added on each side, counted in the mean (as PyTorch does by default).
        At most half the window size.

    Returns
    -------
    (H_out, W_out) or (N, C, H_out, W_out) ndarray of float
        ``H_out = output_size(H, size, padding, stride)``.

    Examples
    --------
    >>> x = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [0, 2, 9, 8], [1, 1, 7, 3]])
    >>> avg_pool2d(x, 2)
    array([[3.5 , 2.  ],
           [1.  , 6.75]])

    Used in: Padding, stride and pooling.
    """
    x = as_array(x, "x", (2, 4))
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    x, window_shape, stride, out_shape = _pool_input(
        x.astype(dtype, copy=False), size, stride, padding, 0)
    # Loop over the offsets inside a window, never over pixels: each offset contributes
    # one strided view of the whole map. Unlike max_pool2d's, these additions stay in
    # the window's reading order: regrouped, a float sum would round differently.
    total = None
    for _, window in _windows(window_shape, stride, out_shape):
        if total is None:
            total = x[window].copy()
        else:
            np.add(total, x[window], out=total)
    total /= window_shape[0] * window_shape[1]
    return total


def _lowest(dtype):
    if dtype == bool:
        return 0  # False, as a number pad2d accepts
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def receptive_field(layers):
    """How many input pixels (along one axis) one output value of a stack of layers sees.

    Each layer is ``(kernel, stride)``. Layer ``i`` widens the field by
    ``(kernel_i - 1)`` times the product of the strides before it:
    ``r = 1 + sum_i (k_i - 1) * s_1 * ... * s_(i-1)``.

    Parameters
    ----------
    layers : sequence of (int, int)
        ``(kernel, stride)`` per layer, input first. Convolutions and pooling alike.

    Returns
    -------
    int
        Receptive field in input pixels; 1 for an empty stack.

    Examples
    --------
    >>> receptive_field([(3, 1)] * 4)          # four 3x3 convolutions
    9
    >>> receptive_field([(3, 1), (2, 2)] * 4)  # each followed by 2x2 pooling
    46

    Used in: Padding, stride and pooling.
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"The parameter `layers` must be a sequence of (kernel, stride) pairs; got {layers!r}")
    field, jump = 1, 1
    for number, layer in enumerate(layers):
        if not (isinstance(layer, (tuple, list)) and len(layer) == 2):
            raise ValueError(
                f"The parameter `layers` must hold (kernel, stride) pairs; item {number} is {layer!r}"
            )
        kernel = as_int(layer[0], f"layers[{number}] kernel", 1)
        stride = as_int(layer[1], f"layers[{number}] stride", 1)
        field += (kernel - 1) * jump
        jump *= stride
    return field


def unpool2d(x, size=2, mode="zeros", offset=None):
    """Enlarge each map by `size` along both axes: the rough inverse of pooling.

    Parameters
    ----------
    x : (H, W) or (N, C, H, W) array_like
    size : int, optional
        Enlargement factor.
    mode : {'zeros', 'repeat'}, optional
        ``'zeros'`` puts each value in one cell of its size x size block and zeros
        elsewhere (zero insertion: the total is kept); ``'repeat'`` copies each value
        into its whole block (nearest-neighbour upsampling).
    offset : int, optional
        For ``'zeros'`` only: the row and the column, inside each block, of the cell
        that receives the value. By default the block's centre, ``(size - 1) // 2``
        (for an even size, the cell above and left of the centre), so that the
        enlarged map stays centred on the map it came from, as repetition keeps it;
        0 is the top-left corner, where a strided transposed convolution puts it
        before its kernel.

    Returns
    -------
    (H * size, W * size) or (N, C, H * size, W * size) ndarray
        Same dtype as `x`.

    Examples
    --------
    >>> unpool2d([[1, 2]], 3, mode="zeros")
    array([[0, 0, 0, 0, 0, 0],
           [0, 1, 0, 0, 2, 0],
           [0, 0, 0, 0, 0, 0]])
    >>> unpool2d([[1, 2]], 3, mode="zeros", offset=0)
    array([[1, 0, 0, 2, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0]])
    >>> unpool2d([[1, 2]], 2, mode="repeat")
    array([[1, 1, 2, 2],
           [1, 1, 2, 2]])

    Used in: Encoder–decoder.
    """
    x = as_array(x, "x", (2, 4))
    size = as_int(size, "size", 1)
    if mode == "repeat":
        if offset is not None:
            raise ValueError(f"The parameter `offset` ({offset!r}) applies to mode='zeros' only")
        return np.repeat(np.repeat(x, size, axis=-2), size, axis=-1)
    if mode == "zeros":
        start = _block_centre(size) if offset is None else as_int(offset, "offset", 0)
        if start >= size:
            raise ValueError(f"The parameter `offset` ({start}) must be less than `size` ({size})")
        out = np.zeros(x.shape[:-2] + (x.shape[-2] * size, x.shape[-1] * size), dtype=x.dtype)
        out[..., start::size, start::size] = x
        return out
    raise ValueError(f"The parameter `mode` must be 'zeros' or 'repeat'; got {mode!r}")


def _block_centre(size):
    """Where zero insertion puts each value by default: the centre cell of its block."""
    return (size - 1) // 2
