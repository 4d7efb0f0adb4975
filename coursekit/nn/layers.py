"""Layers with forward and backward passes, and the :class:`Parameter` they hold.

Each layer computes ``forward(x)`` and, from the gradient of the loss with respect
to its output, ``backward(grad)``: the gradient with respect to its input, while
writing the gradient of each of its parameters into that parameter's ``.grad``.
Few primitives do the work: the cross-correlation of :mod:`coursekit.conv` (whose
gradients are computed through the same unfolded columns; the transposed
convolution is its gradient with respect to the input, run forward), the pooling and window
offsets of :mod:`coursekit.pooling` and :mod:`coursekit.conv`, and
:func:`~coursekit.pooling.unpool2d`.

Batches are NCHW; convolution weights are (C_out, C_in, kH, kW) as in PyTorch.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from .. import conv
from .._validation import as_array, as_generator, as_int, as_pair, window_fits
from ..pooling import _block_centre, avg_pool2d, max_pool2d, unpool2d

__all__ = ["AvgPool2D", "Conv2D", "ConvTranspose2D", "Dense", "Flatten", "Layer", "MaxPool2D", "Parameter", "ReLU",
           "Sigmoid", "Unpool2D"]


class Parameter:
    """A trainable array and the gradient of the loss with respect to it.

    One protocol for every weight, as in micrograd: ``value`` is updated in place by
    the optimizers, and ``grad`` (same shape) is written by the ``backward`` of the
    layer that owns it, overwriting the previous batch's gradient.

    Examples
    --------
    >>> p = Parameter(np.ones((2, 3)))
    >>> p.value.shape, float(p.grad.sum())
    ((2, 3), 0.0)

    Used in: LeNet; Encoder–decoder.
    """

    __slots__ = ("value", "grad")

    def __init__(self, value):
        self.value = np.asarray(value)
        self.grad = np.zeros_like(self.value)

    def __repr__(self):
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"


class Layer:
    """Base class: ``forward(x)``, ``backward(grad)`` and ``parameters()``.

    ``forward`` may remember what ``backward`` needs; ``backward`` returns the
    gradient with respect to ``x`` and fills the ``.grad`` of the layer's
    parameters. A layer without weights has no parameters.
    """

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def parameters(self):
        """The layer's :class:`Parameter` objects, in a fixed order (none by default)."""
        return []

    def __repr__(self):
        return f"{type(self).__name__}()"


def _uniform(rng, bound, shape, dtype):
    return Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype))


class Conv2D(Layer):
    """Convolutional layer (cross-correlation) with a bias per filter.

    Forward and backward go through the same im2col and matrix product as
    :func:`coursekit.conv.conv2d`, so that the layer computes exactly that function.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding : int or (int, int), optional
    rng : numpy.random.Generator or int, optional
        Weights start uniform in +-1/sqrt(fan_in), as in PyTorch.
    dtype : numpy dtype, optional
    input_grad : bool, optional
        False for a network's first layer, whose input (the images) needs no
        gradient: ``backward`` then skips that work and returns None.

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels, kH, kW)
    bias : Parameter of shape (out_channels,)

    Examples
    --------
    >>> layer = Conv2D(1, 6, 5, padding=2, rng=0)
    >>> layer(np.zeros((2, 1, 28, 28))).shape
    (2, 6, 28, 28)

    Used in: LeNet; Encoder–decoder.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None, dtype=np.float64,
                 input_grad=True):
        self.input_grad = bool(input_grad)
        in_channels = as_int(in_channels, "in_channels", 1)
        out_channels = as_int(out_channels, "out_channels", 1)
        self.kernel = as_pair(kernel_size, "kernel_size", 1)
        self.stride = as_pair(stride, "stride", 1)
        self.padding = as_pair(padding, "padding", 0)
        rng = as_generator(rng, "rng")
        bound = 1 / np.sqrt(in_channels * self.kernel[0] * self.kernel[1])
        self.weight = _uniform(rng, bound, (out_channels, in_channels, *self.kernel), dtype)
        self.bias = _uniform(rng, bound, (out_channels,), dtype)

    def parameters(self):
        return [self.weight, self.bias]

    def forward(self, x):
        weight = self.weight.value
        x = as_array(x, "x", 4)
        if x.shape[1] != weight.shape[1]:
            raise ValueError(f"Conv2D expects {weight.shape[1]} input channels; `x` has shape {x.shape}")
        window_fits(self.kernel, x.shape, self.padding, "`kernel_size`", "x")
        self._x_shape = x.shape
        out, self._columns = conv._correlate(x.astype(weight.dtype, copy=False), weight, self.bias.value,
                                             self.stride, self.padding)
        return out

    def backward(self, grad):
        grad_w, grad_b, grad_x = conv._correlate_backward(grad, self._columns, self.weight.value, self._x_shape,
                                                          self.stride, self.padding, self.input_grad)
        self.weight.grad[...] = grad_w
        self.bias.grad[...] = grad_b
        return grad_x

    def __repr__(self):
        o, i, kh, kw = self.weight.value.shape
        return f"Conv2D({i}, {o}, kernel={kh}x{kw}, stride={self.stride[0]}, padding={self.padding[0]})"


class ConvTranspose2D(Layer):
    """Transposed convolution: learnable upsampling, the decoder's step up in U-Net.

    Each input value scatters a copy of its kernel, scaled by the value, onto the
    output, the copies `stride` pixels apart; where copies overlap they add up:
    ``out[n, o, i*s + a - p, j*s + b - p] += x[n, c, i, j] * w[c, o, a, b]``, plus a
    bias per output channel (:func:`coursekit.testing.conv_transpose2d_reference`
    does exactly this, one value at a time). It is the gradient of a convolution
    with respect to its input, run forward, so it goes through the same columns
    (:func:`coursekit.conv._col2im`), and its own input gradient is a plain
    cross-correlation with the same weights. Equivalently: insert ``s - 1`` zeros
    between the input values, pad by ``k - 1 - p`` and cross-correlate with the
    kernel rotated by 180 degrees. With a kernel that is not a multiple of the stride
    the overlap is uneven, which draws checkerboards.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
    padding : int or (int, int), optional
        Rows and columns removed from each side of the full output.
    output_padding : int or (int, int), optional
        Rows and columns added at the bottom and right, less than `stride`: picks
        one of the `stride` input sizes that a strided convolution maps to the same size.
    rng : numpy.random.Generator or int, optional
        Weights start uniform in +-1/sqrt(out_channels * kH * kW), as in PyTorch.
    dtype : numpy dtype, optional

    Attributes
    ----------
    weight : Parameter of shape (in_channels, out_channels, kH, kW)
        As in ``torch.nn.ConvTranspose2d``: the transpose of a convolution's layout.
    bias : Parameter of shape (out_channels,)

    Notes
    -----
    Output size along each axis: ``(H - 1) * stride - 2 * padding + kH + output_padding``.
    With ``kernel_size = stride = 2`` each pixel becomes a 2x2 block: sizes double.

    Examples
    --------
    >>> layer = ConvTranspose2D(16, 8, 2, stride=2, rng=0)
    >>> layer(np.zeros((2, 16, 17, 17))).shape
    (2, 8, 34, 34)
    >>> layer = ConvTranspose2D(1, 1, 3, stride=2, padding=1, output_padding=1, rng=0)
    >>> layer(np.zeros((1, 1, 5, 5))).shape
    (1, 1, 10, 10)

    Used in: Encoder–decoder.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, rng=None,
                 dtype=np.float64):
        in_channels = as_int(in_channels, "in_channels", 1)
        out_channels = as_int(out_channels, "out_channels", 1)
        self.kernel = as_pair(kernel_size, "kernel_size", 1)
        self.stride = as_pair(stride, "stride", 1)
        self.padding = as_pair(padding, "padding", 0)
        self.output_padding = as_pair(output_padding, "output_padding", 0)
        if any(extra >= step for extra, step in zip(self.output_padding, self.stride)):
            raise ValueError(f"The parameter `output_padding` ({output_padding}) must be smaller than the "
                             f"`stride` ({stride})")
        rng = as_generator(rng, "rng")
        bound = 1 / np.sqrt(out_channels * self.kernel[0] * self.kernel[1])
        self.weight = _uniform(rng, bound, (in_channels, out_channels, *self.kernel), dtype)
        self.bias = _uniform(rng, bound, (out_channels,), dtype)

    def parameters(self):
        return [self.weight, self.bias]

    def output_shape(self, rows, cols):
        """(rows, cols) of the output for an input of `rows` x `cols`."""
        return tuple((n - 1) * s - 2 * p + k + extra for n, s, p, k, extra in
                     zip((rows, cols), self.stride, self.padding, self.kernel, self.output_padding))

    def forward(self, x):
        weight = self.weight.value
        x = as_array(x, "x", 4)
        if x.shape[1] != weight.shape[0]:
            raise ValueError(f"ConvTranspose2D expects {weight.shape[0]} input channels; `x` has shape {x.shape}")
        out_rows, out_cols = self.output_shape(*x.shape[2:])
        if out_rows < 1 or out_cols < 1:
            raise ValueError(f"The `padding` {self.padding} removes the whole output of ConvTranspose2D for `x` "
                             f"of shape {x.shape}")
        self._x = x.astype(weight.dtype, copy=False)
        out = conv._transpose_correlate(self._x, weight, (len(x), weight.shape[1], out_rows, out_cols),
                                        self.stride, self.padding)
        out += self.bias.value[:, None, None]
        return out

    def backward(self, grad):
        # The forward pass is the input gradient of a convolution with these weights, so the
        # backward pass is that convolution; its columns also give the weight gradient.
        weight = self.weight.value
        grad_x, columns = conv._correlate(grad.astype(weight.dtype, copy=False), weight, None, self.stride,
                                          self.padding)
        # That convolution's output is this layer's input: the weight gradient pairs them.
        self.weight.grad[...] = conv._weight_gradient(self._x, columns, weight.shape)
        self.bias.grad[...] = grad.sum(axis=(0, 2, 3))
        return grad_x

    def __repr__(self):
        i, o, kh, kw = self.weight.value.shape
        return f"ConvTranspose2D({i}, {o}, kernel={kh}x{kw}, stride={self.stride[0]}, padding={self.padding[0]})"


def _masked(grad, mask):
    """`grad` where `mask` holds, 0 elsewhere, as ``np.where(mask, grad, 0)`` gives it.

    A product with the mask is about ten times faster than np.where's selection, but
    turns an infinite or NaN gradient outside the mask into NaN; those take np.where.
    """
    if np.isfinite(grad).all():
        return grad * mask
    return np.where(mask, grad, 0)


class _Pool(Layer):
    """Pooling without padding: forward is :mod:`coursekit.pooling`'s function, backward
    walks the same window offsets (:func:`coursekit.conv._windows`)."""

    _pool = None   # the function of coursekit.pooling, set by each subclass

    def __init__(self, size, stride=None):
        self.size = as_pair(size, "size", 1)
        self.stride = as_pair(self.size if stride is None else stride, "stride", 1)

    def forward(self, x):
        self._x = as_array(x, "x", 4)
        self._out = self._pool(self._x, self.size, self.stride)
        return self._out

    def _windows(self):
        return conv._windows(self.size, self.stride, self._out.shape[-2:])

    def __repr__(self):
        return f"{type(self).__name__}({self.size[0]}x{self.size[1]}, stride={self.stride[0]})"


class AvgPool2D(_Pool):
    """Average pooling layer (no padding). Each input in a window gets 1/(kH kW) of its gradient.

    Parameters
    ----------
    size : int or (int, int)
    stride : int or (int, int), optional
        The window size by default.

    Examples
    --------
    >>> AvgPool2D(2)(np.ones((1, 6, 28, 28))).shape
    (1, 6, 14, 14)

    Used in: LeNet.
    """

    _pool = staticmethod(avg_pool2d)

    def backward(self, grad):
        dx = np.zeros(self._x.shape, dtype=grad.dtype)
        share = grad / (self.size[0] * self.size[1])
        for _, window in self._windows():
            dx[window] += share
        return dx


class MaxPool2D(_Pool):
    """Max pooling layer (no padding). Each window's gradient goes to its maximum
    (the first one, in reading order, when several are equal, as in PyTorch).
    Parameters as for :class:`AvgPool2D`.

    Examples
    --------
    >>> MaxPool2D(2)(np.ones((1, 6, 28, 28))).shape
    (1, 6, 14, 14)

    Used in: LeNet; Encoder–decoder.
    """

    _pool = staticmethod(max_pool2d)

    def backward(self, grad):
        dx = np.zeros(self._x.shape, dtype=grad.dtype)
        taken = np.zeros(self._out.shape, dtype=bool)
        for _, window in self._windows():
            winner = (self._x[window] == self._out) & ~taken
            dx[window] += _masked(grad, winner)
            taken |= winner
        return dx


class Unpool2D(Layer):
    """Enlarge each map `size` times (:func:`~coursekit.pooling.unpool2d`), the decoder's step up.

    With ``mode="zeros"`` each value lands in the centre cell of its block and the
    gradient is read back from those cells; with ``mode="repeat"`` each value fills its
    block and the gradient is the sum over the block.

    Examples
    --------
    >>> Unpool2D(3, mode="repeat")(np.ones((1, 8, 5, 5))).shape
    (1, 8, 15, 15)

    Used in: Encoder–decoder.
    """

    def __init__(self, size, mode="repeat"):
        self.size = as_int(size, "size", 1)
        if mode not in ("zeros", "repeat"):
            raise ValueError(f"The parameter `mode` must be 'zeros' or 'repeat'; got {mode!r}")
        self.mode = mode

    def forward(self, x):
        return unpool2d(as_array(x, "x", 4), self.size, self.mode)

    def backward(self, grad):
        s = self.size
        if self.mode == "zeros":
            centre = _block_centre(s)
            return np.ascontiguousarray(grad[..., centre::s, centre::s])
        n, c, rows, cols = grad.shape
        return grad.reshape(n, c, rows // s, s, cols // s, s).sum(axis=(3, 5))

    def __repr__(self):
        return f"Unpool2D({self.size}, mode={self.mode!r})"


class Sigmoid(Layer):
    """Logistic function 1 / (1 + exp(-x)); its derivative is s (1 - s).

    Examples
    --------
    >>> Sigmoid()(np.array([0.0]))
    array([0.5])

    Used in: LeNet.
    """

    def forward(self, x):
        # The tanh form never overflows (exp(-x) would, for large negative float32 x).
        self._out = 0.5 * (1 + np.tanh(0.5 * x))
        return self._out

    def backward(self, grad):
        return grad * self._out * (1 - self._out)


class ReLU(Layer):
    """max(0, x); its derivative is 1 where x > 0, else 0.

    Examples
    --------
    >>> ReLU()(np.array([-1.0, 2.0]))
    array([0., 2.])

    Used in: LeNet; Encoder–decoder.
    """

    def forward(self, x):
        self._positive = x > 0
        # np.maximum beats np.where's selection (0.3 against 2.8 ms on 8 x 16 maps of
        # 64 x 64, timed alone). A NaN input stays NaN, as in torch.
        return np.maximum(x, 0)

    def backward(self, grad):
        return _masked(grad, self._positive)


class Flatten(Layer):
    """(N, C, H, W) to (N, C * H * W), and back for the gradient.

    Examples
    --------
    >>> Flatten()(np.zeros((2, 16, 5, 5))).shape
    (2, 400)

    Used in: LeNet.
    """

    def forward(self, x):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape(self._shape)


class Dense(Layer):
    """Fully connected layer: ``x @ W.T + b`` with W of shape (out_features, in_features).

    Parameters
    ----------
    in_features, out_features : int
    rng : numpy.random.Generator or int, optional
        Weights start uniform in +-1/sqrt(in_features), as in PyTorch.
    dtype : numpy dtype, optional

    Examples
    --------
    >>> Dense(400, 120, rng=0)(np.zeros((2, 400))).shape
    (2, 120)

    Used in: LeNet.
    """

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64):
        in_features = as_int(in_features, "in_features", 1)
        out_features = as_int(out_features, "out_features", 1)
        rng = as_generator(rng, "rng")
        bound = 1 / np.sqrt(in_features)
        self.weight = _uniform(rng, bound, (out_features, in_features), dtype)
        self.bias = _uniform(rng, bound, (out_features,), dtype)

    def parameters(self):
        return [self.weight, self.bias]

    def forward(self, x):
        x = as_array(x, "x", 2)
        if x.shape[1] != self.weight.value.shape[1]:
            raise ValueError(f"Dense expects {self.weight.value.shape[1]} features; `x` has shape {x.shape}")
        self._x = x
        return x @ self.weight.value.T + self.bias.value

    def backward(self, grad):
        self.weight.grad[...] = grad.T @ self._x
        self.bias.grad[...] = grad.sum(axis=0)
        return grad @ self.weight.value

    def __repr__(self):
        out_features, in_features = self.weight.value.shape
        return f"Dense({in_features}, {out_features})"
