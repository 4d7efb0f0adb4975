"""Neural-network layers with forward and backward passes, in NumPy.

Each layer computes ``forward(x)`` and, from the gradient of the loss with respect
to its output, ``backward(grad)``: the gradient with respect to its input, while
storing the gradients of its own parameters in ``grads``. Few primitives do the
work: the cross-correlation of :mod:`coursekit.conv` (whose gradients are again
cross-correlations, computed through the same unfolded columns) and the window
offsets of :mod:`coursekit.pooling`.

Batches are NCHW; convolution weights are (C_out, C_in, kH, kW) as in PyTorch.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._validation import as_array, as_int, as_pair
from .conv import _col2im, _im2col
from .pooling import avg_pool2d, max_pool2d, unpool2d

__all__ = [
    "Adam",
    "AvgPool2D",
    "Conv2D",
    "Dense",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "MeanSquaredError",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Unpool2D",
]


class Layer:
    """Base class: a layer with parameters ``params`` and their gradients ``grads``.

    Subclasses implement ``forward(x)``, which may remember what ``backward`` needs,
    and ``backward(grad)``, which returns the gradient with respect to ``x``.
    """

    params: list
    grads: list

    def __init__(self):
        self.params, self.grads = [], []

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


def _uniform(rng, bound, shape, dtype):
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Conv2D(Layer):
    """Convolutional layer (cross-correlation) with a bias per filter.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride, padding : int or (int, int), optional
    rng : numpy.random.Generator, optional
        Weights start uniform in +-1/sqrt(fan_in), as in PyTorch.
    dtype : numpy dtype, optional
    input_grad : bool, optional
        False for a network's first layer, whose input (the images) needs no
        gradient: ``backward`` then skips that work and returns None.

    Examples
    --------
    >>> layer = Conv2D(1, 6, 5, padding=2, rng=np.random.default_rng(0))
    >>> layer(np.zeros((2, 1, 28, 28))).shape
    (2, 6, 28, 28)

    Used in: LeNet; Encoder–decoder.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None, dtype=np.float64,
                 input_grad=True):
        super().__init__()
        self.input_grad = bool(input_grad)
        in_channels = as_int(in_channels, "in_channels", 1)
        out_channels = as_int(out_channels, "out_channels", 1)
        self.kernel = as_pair(kernel_size, "kernel_size", 1)
        self.stride = as_pair(stride, "stride", 1)
        self.padding = as_pair(padding, "padding", 0)
        rng = np.random.default_rng() if rng is None else rng
        bound = 1 / np.sqrt(in_channels * self.kernel[0] * self.kernel[1])
        self.weight = _uniform(rng, bound, (out_channels, in_channels, *self.kernel), dtype)
        self.bias = _uniform(rng, bound, (out_channels,), dtype)
        self.params = [self.weight, self.bias]
        self.grads = [np.zeros_like(self.weight), np.zeros_like(self.bias)]

    def forward(self, x):
        x = as_array(x, "x", 4)
        if x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"Conv2D expects {self.weight.shape[1]} input channels; `x` has shape {x.shape}")
        self._x_shape = x.shape
        self._columns, (rows, cols) = _im2col(x.astype(self.weight.dtype, copy=False), self.kernel,
                                              self.stride, self.padding)
        out = np.matmul(self.weight.reshape(len(self.weight), -1), self._columns)
        out += self.bias[None, :, None]
        return out.reshape(x.shape[0], len(self.weight), rows, cols)

    def backward(self, grad):
        n_images, n_filters = grad.shape[:2]
        grad = grad.reshape(n_images, n_filters, -1)
        # out = W @ columns + b, so dW = sum over images of grad @ columns^T, and the
        # input gradient is W^T @ grad folded back onto the pixels.
        self.grads[0][...] = np.matmul(grad, self._columns.transpose(0, 2, 1)).sum(axis=0).reshape(self.weight.shape)
        self.grads[1][...] = grad.sum(axis=(0, 2))
        if not self.input_grad:
            return None
        # A C-ordered W^T makes this product about twice as fast as the transposed view.
        columns_grad = np.matmul(np.ascontiguousarray(self.weight.reshape(n_filters, -1).T), grad)
        return _col2im(columns_grad, self._x_shape, self.kernel, self.stride, self.padding)

    def __repr__(self):
        o, i, kh, kw = self.weight.shape
        return f"Conv2D({i}, {o}, kernel={kh}x{kw}, stride={self.stride[0]}, padding={self.padding[0]})"


class _Pool(Layer):
    def __init__(self, size, stride=None):
        super().__init__()
        self.size = as_pair(size, "size", 1)
        self.stride = as_pair(self.size if stride is None else stride, "stride", 1)

    def _windows(self, shape):
        """For each offset (a, b) inside a window: the slice of the input it reads."""
        rows, cols = shape[-2:]
        out_r, out_c = (rows - self.size[0]) // self.stride[0] + 1, (cols - self.size[1]) // self.stride[1] + 1
        span_r, span_c = self.stride[0] * (out_r - 1) + 1, self.stride[1] * (out_c - 1) + 1
        for a in range(self.size[0]):
            for b in range(self.size[1]):
                yield (..., slice(a, a + span_r, self.stride[0]), slice(b, b + span_c, self.stride[1]))

    def __repr__(self):
        return f"{type(self).__name__}({self.size[0]}x{self.size[1]}, stride={self.stride[0]})"


class AvgPool2D(_Pool):
    """Average pooling layer (no padding). Each input in a window gets 1/(kH kW) of its gradient.

    Examples
    --------
    >>> AvgPool2D(2)(np.ones((1, 6, 28, 28))).shape
    (1, 6, 14, 14)

    Used in: LeNet.
    """

    def forward(self, x):
        self._x = as_array(x, "x", 4)
        return avg_pool2d(self._x, self.size, self.stride)

    def backward(self, grad):
        dx = np.zeros(self._x.shape, dtype=grad.dtype)
        share = grad / (self.size[0] * self.size[1])
        for window in self._windows(dx.shape):
            dx[window] += share
        return dx


class MaxPool2D(_Pool):
    """Max pooling layer (no padding). Each window's gradient goes to its maximum
    (the first one, in reading order, when several are equal, as in PyTorch).

    Examples
    --------
    >>> MaxPool2D(2)(np.ones((1, 6, 28, 28))).shape
    (1, 6, 14, 14)

    Used in: LeNet; Encoder–decoder.
    """

    def forward(self, x):
        self._x = as_array(x, "x", 4)
        self._out = max_pool2d(self._x, self.size, self.stride)
        return self._out

    def backward(self, grad):
        dx = np.zeros(self._x.shape, dtype=grad.dtype)
        taken = np.zeros(self._out.shape, dtype=bool)
        for window in self._windows(dx.shape):
            winner = (self._x[window] == self._out) & ~taken
            dx[window] += np.where(winner, grad, 0)
            taken |= winner
        return dx


class Unpool2D(Layer):
    """Enlarge each map `size` times (:func:`~coursekit.pooling.unpool2d`), the decoder's step up.

    With ``mode="zeros"`` each value lands in the top-left cell of its block and the
    gradient is read back from those cells; with ``mode="repeat"`` each value fills its
    block and the gradient is the sum over the block.

    Examples
    --------
    >>> Unpool2D(3, mode="repeat")(np.ones((1, 8, 5, 5))).shape
    (1, 8, 15, 15)

    Used in: Encoder–decoder.
    """

    def __init__(self, size, mode="repeat"):
        super().__init__()
        self.size = as_int(size, "size", 1)
        if mode not in ("zeros", "repeat"):
            raise ValueError(f"The parameter `mode` must be 'zeros' or 'repeat'; got {mode!r}")
        self.mode = mode

    def forward(self, x):
        return unpool2d(as_array(x, "x", 4), self.size, self.mode)

    def backward(self, grad):
        s = self.size
        if self.mode == "zeros":
            return np.ascontiguousarray(grad[..., ::s, ::s])
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
        return np.where(self._positive, x, 0)

    def backward(self, grad):
        return np.where(self._positive, grad, 0)


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

    Examples
    --------
    >>> Dense(400, 120, rng=np.random.default_rng(0))(np.zeros((2, 400))).shape
    (2, 120)

    Used in: LeNet.
    """

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64):
        super().__init__()
        in_features = as_int(in_features, "in_features", 1)
        out_features = as_int(out_features, "out_features", 1)
        rng = np.random.default_rng() if rng is None else rng
        bound = 1 / np.sqrt(in_features)
        self.weight = _uniform(rng, bound, (out_features, in_features), dtype)
        self.bias = _uniform(rng, bound, (out_features,), dtype)
        self.params = [self.weight, self.bias]
        self.grads = [np.zeros_like(self.weight), np.zeros_like(self.bias)]

    def forward(self, x):
        x = as_array(x, "x", 2)
        if x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"Dense expects {self.weight.shape[1]} features; `x` has shape {x.shape}")
        self._x = x
        return x @ self.weight.T + self.bias

    def backward(self, grad):
        self.grads[0][...] = grad.T @ self._x
        self.grads[1][...] = grad.sum(axis=0)
        return grad @ self.weight

    def __repr__(self):
        return f"Dense({self.weight.shape[1]}, {self.weight.shape[0]})"


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels.

    ``forward(logits, labels)`` returns the loss; ``backward()`` returns its gradient
    with respect to the logits, (softmax - one_hot) / N.

    Examples
    --------
    >>> loss = SoftmaxCrossEntropy()
    >>> round(float(loss.forward(np.zeros((1, 10)), np.array([3]))), 4)  # log(10)
    2.3026

    Used in: LeNet.
    """

    def forward(self, logits, labels):
        logits = as_array(logits, "logits", 2)
        labels = as_array(labels, "labels", 1)
        if len(labels) != len(logits):
            raise ValueError(f"`labels` has {len(labels)} entries for {len(logits)} rows of `logits`")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= logits.shape[1]:
            raise ValueError(f"`labels` must be integers in 0..{logits.shape[1] - 1}")
        log_probs = logits - logsumexp(logits, axis=1, keepdims=True)
        self._probs, self._labels = np.exp(log_probs), labels
        return -log_probs[np.arange(len(labels)), labels].mean()

    def backward(self):
        grad = self._probs.copy()
        grad[np.arange(len(self._labels)), self._labels] -= 1
        return grad / len(self._labels)


class MeanSquaredError:
    """The mean of the squared differences, for outputs that are images (regression).

    ``forward(prediction, target, weight=None)``: with `weight` (broadcast to the
    target's shape) each squared difference counts that many times, so that rare
    pixels that matter, such as strong echoes, are not averaged away.

    Examples
    --------
    >>> loss = MeanSquaredError()
    >>> float(loss.forward(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    >>> loss.backward()          # d/dp of mean((p - t)^2) = 2 (p - t) / n
    array([1., 3.])

    Used in: Encoder–decoder.
    """

    def forward(self, prediction, target, weight=None):
        prediction, target = np.asarray(prediction), np.asarray(target)
        if prediction.shape != target.shape:
            raise ValueError(f"`prediction` has shape {prediction.shape} but `target` has shape {target.shape}")
        self._difference = prediction - target
        self._weight = 1 if weight is None else np.broadcast_to(weight, target.shape)
        return np.mean(self._weight * self._difference**2)

    def backward(self):
        return 2 * self._weight * self._difference / self._difference.size


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.

    Examples
    --------
    >>> net = Sequential([Flatten(), Dense(4, 2, rng=np.random.default_rng(0)), ReLU()])
    >>> net(np.ones((3, 1, 2, 2))).shape
    (3, 2)

    Used in: LeNet; Encoder–decoder.
    """

    def __init__(self, layers):
        super().__init__()
        self.layers = list(layers)
        self.params = [p for layer in self.layers for p in layer.params]
        self.grads = [g for layer in self.layers for g in layer.grads]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"


class SGD:
    """Stochastic gradient descent with momentum: v = m v - lr g; p += v.

    Examples
    --------
    >>> p, g = np.array([1.0]), np.array([0.5])
    >>> SGD([p], [g], lr=0.1).step(); p
    array([0.95])

    Used in: LeNet.
    """

    def __init__(self, params, grads, lr=0.01, momentum=0.0):
        self.params, self.grads, self.lr, self.momentum = params, grads, lr, momentum
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self):
        for p, g, v in zip(self.params, self.grads, self.velocity):
            v *= self.momentum
            v -= self.lr * g
            p += v


class Adam:
    """Adam (Kingma and Ba): per-parameter steps from running means of g and g^2.

    Examples
    --------
    >>> p, g = np.array([1.0]), np.array([0.5])
    >>> Adam([p], [g], lr=0.1).step(); p.round(6)   # the first step is lr * sign(g)
    array([0.9])

    Used in: LeNet; Encoder–decoder.
    """

    def __init__(self, params, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.grads, self.lr, self.betas, self.eps = params, grads, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        correction1, correction2 = 1 - b1**self.t, 1 - b2**self.t
        for p, g, m, v in zip(self.params, self.grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)
