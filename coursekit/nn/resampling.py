"""Layers that change a map's size: pooling (on :mod:`coursekit.pooling`'s functions and
:mod:`coursekit.conv`'s window offsets), unpooling (:func:`~coursekit.pooling.unpool2d`)
and flattening.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from .. import conv
from .._validation import as_array, as_int, as_pair
from ..pooling import _block_centre, avg_pool2d, max_pool2d, unpool2d
from .activations import _masked
from .layers import Layer

__all__ = ["AvgPool2D", "Flatten", "MaxPool2D", "Unpool2D"]


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
