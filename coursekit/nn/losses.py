"""Losses: a scalar from a network's output and the target, and its gradient.

``forward(prediction, target)`` returns the loss; ``backward()`` returns its
gradient with respect to the prediction, which starts the network's backward pass.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import as_array, same_length

__all__ = ["MeanSquaredError", "SoftmaxCrossEntropy"]


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
        same_length(labels, "labels", logits, "logits")
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
