"""Layers with forward and backward passes, and the :class:`Parameter` they hold.

Each layer computes ``forward(x)`` and, from the gradient of the loss with respect
to its output, ``backward(grad)``: the gradient with respect to its input, while
writing the gradient of each of its parameters into that parameter's ``.grad``.
The layers with weights are here, on the cross-correlation of :mod:`coursekit.conv`
(whose gradients are computed through the same unfolded columns; the transposed
convolution is its gradient with respect to the input, run forward); pooling,
unpooling and flattening are in :mod:`~coursekit.nn.resampling`, the activations
in :mod:`~coursekit.nn.activations`.

Batches are NCHW; convolution weights are (C_out, C_in, kH, kW) as in PyTorch.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import conv
from .._validation import as_array, as_generator, as_int, as_pair, window_fits

__all__ = ["Conv2D", "ConvTranspose2D", "Dense", "Layer", "Parameter"]


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

    Every subclass's ``backward`` is checked first: it needs a ``forward`` before
    it, and a gradient of the shape that ``forward`` returned (a wrong one would
    fail deep inside NumPy, or broadcast silently).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _remembering_shape(cls.__dict__["forward"])
        if "backward" in cls.__dict__:
            cls.backward = _checking_shape(cls.__dict__["backward"])

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


def _remembering_shape(forward):
    @functools.wraps(forward)
    def remembering(self, x, *args, **kwargs):
        out = forward(self, x, *args, **kwargs)
        self._output_shape = np.shape(out)
        return out
    return remembering


def _checking_shape(backward):
    @functools.wraps(backward)
    def checking(self, grad, *args, **kwargs):
        expected = getattr(self, "_output_shape", None)
        if expected is None or np.shape(grad) != expected:
            name = repr(self) if len(repr(self)) <= 60 else type(self).__name__  # a model's repr is long
            if expected is None:
                raise RuntimeError(f"{name}.backward was called before forward: the gradient of a layer "
                                   f"needs what its forward pass kept")
            raise ValueError(f"The parameter `grad` of {name}.backward must have the shape of its last "
                             f"output, {expected}; got {np.shape(grad)}")
        return backward(self, grad, *args, **kwargs)
    return checking


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
