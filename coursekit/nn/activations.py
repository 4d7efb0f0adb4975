"""Activation layers: Sigmoid and ReLU, applied value by value.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer

__all__ = ["ReLU", "Sigmoid"]


def _masked(grad, mask):
    """`grad` where `mask` holds, 0 elsewhere, as ``np.where(mask, grad, 0)`` gives it.

    A product with the mask is about ten times faster than np.where's selection, but
    turns an infinite or NaN gradient outside the mask into NaN; those take np.where.
    """
    if np.isfinite(grad).all():
        return grad * mask
    return np.where(mask, grad, 0)



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
