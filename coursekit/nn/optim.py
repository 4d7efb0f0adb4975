"""Optimizers: each takes one list of :class:`~coursekit.nn.Parameter` and updates their
``value`` in place from their ``grad``.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_number, number_pair
from .layers import Parameter

__all__ = ["Adam", "SGD"]


class _Optimizer:
    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        for number, p in enumerate(self.parameters):
            if not isinstance(p, Parameter):
                raise TypeError(f"The parameter `parameters` must hold Parameter objects (model.parameters()); "
                                f"item {number} is {type(p).__name__}")
        # A negative step climbs the loss; a string or NaN would fail, or spread NaN, later.
        # Zero is allowed: it freezes the weights.
        self.lr = as_number(lr, "lr")
        if self.lr < 0:
            raise ValueError(f"The parameter `lr` must be at least 0 (a negative step climbs the loss); "
                             f"got {self.lr}")

    def _state(self):
        return [np.zeros_like(p.value) for p in self.parameters]


def _fraction(value, name):
    """A decay factor: a number from 0 up to, not including, 1."""
    number = as_number(value, name)
    if not 0 <= number < 1:
        raise ValueError(f"The parameter `{name}` must be from 0 up to (not including) 1; got {number}")
    return number


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum: v = m v - lr g; p += v.

    Parameters
    ----------
    parameters : list of Parameter
        Typically ``model.parameters()``.
    lr : float, optional
        Step size.
    momentum : float, optional

    Examples
    --------
    >>> from coursekit.nn import Parameter
    >>> p = Parameter(np.array([1.0])); p.grad[...] = 0.5
    >>> SGD([p], lr=0.1).step(); p.value
    array([0.95])

    Used in: LeNet.
    """

    def __init__(self, parameters, lr=0.01, momentum=0.0):
        super().__init__(parameters, lr)
        self.momentum = _fraction(momentum, "momentum")
        self.velocity = self._state()

    def step(self):
        for p, v in zip(self.parameters, self.velocity):
            v *= self.momentum
            v -= self.lr * p.grad
            p.value += v


class Adam(_Optimizer):
    """Adam (Kingma and Ba): per-parameter steps from running means of g and g^2.

    Parameters
    ----------
    parameters : list of Parameter
        Typically ``model.parameters()``.
    lr : float, optional
        Step size (the largest step any weight takes, roughly).
    betas : (float, float), optional
        Decay of the running means of g and g^2.
    eps : float, optional

    Examples
    --------
    >>> from coursekit.nn import Parameter
    >>> p = Parameter(np.array([1.0])); p.grad[...] = 0.5
    >>> Adam([p], lr=0.1).step(); p.value.round(6)   # the first step is lr * sign(g)
    array([0.9])

    Used in: LeNet; Encoder–decoder.
    """

    def __init__(self, parameters, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(parameters, lr)
        self.betas = tuple(_fraction(beta, "betas") for beta in number_pair(betas, "betas", "(0.9, 0.999)"))
        self.eps = as_number(eps, "eps", positive=True)
        self.m, self.v = self._state(), self._state()
        self.t = 0

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        correction1, correction2 = 1 - b1**self.t, 1 - b2**self.t
        for p, m, v in zip(self.parameters, self.m, self.v):
            g = p.grad
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p.value -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)
