"""Optimizers: each takes one list of :class:`~coursekit.nn.Parameter` and updates their
``value`` in place from their ``grad``.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from .layers import Parameter

__all__ = ["Adam", "SGD"]


class _Optimizer:
    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        for number, p in enumerate(self.parameters):
            if not isinstance(p, Parameter):
                raise TypeError(f"The parameter `parameters` must hold Parameter objects (model.parameters()); "
                                f"item {number} is {type(p).__name__}")
        self.lr = float(lr)

    def _state(self):
        return [np.zeros_like(p.value) for p in self.parameters]


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
        self.momentum = float(momentum)
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
        self.betas, self.eps = betas, eps
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
