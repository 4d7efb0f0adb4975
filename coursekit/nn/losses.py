"""Losses: a scalar from a network's output and the target, and its gradient.

``forward(prediction, target)`` returns the loss; ``backward()`` returns its
gradient with respect to the prediction, which starts the network's backward pass.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .._validation import as_array, as_number, same_length

__all__ = ["MeanSquaredError", "PixelCrossEntropy", "SoftmaxCrossEntropy"]


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


class PixelCrossEntropy:
    """Per-pixel softmax cross-entropy with class weights, plus optionally soft Dice.

    ``forward(logits, labels)`` takes logits (N, K, H, W), one score per class and
    pixel, and labels (N, H, W), one class per pixel. Each pixel's cross-entropy
    ``-log softmax(logits)[label]`` counts ``weights[label]`` times, and the sum is
    divided by the sum of those weights (as ``torch.nn.functional.cross_entropy``
    does), so that a rare class (convective echo: about 3 % of the pixels) is not
    drowned by the common ones. With ``dice > 0`` the loss adds ``dice`` times the
    soft Dice loss ``1 - mean over classes of (2 sum(p t) + 1) / (sum(p) + sum(t) + 1)``,
    where ``p`` is the softmax probability and ``t`` the one-hot label, summed over
    every pixel of the batch: an overlap score that every class weighs equally,
    whatever its area. ``backward()`` returns the gradient with respect to the logits.

    Parameters
    ----------
    weights : (K,) array_like, optional
        Positive weight of each class; all 1 by default.
    dice : float, optional
        Weight of the soft Dice term; 0 leaves it out.

    Examples
    --------
    >>> loss = PixelCrossEntropy(weights=[1.0, 1.0, 4.0])
    >>> logits = np.zeros((1, 3, 2, 2))                     # every class equally likely
    >>> round(float(loss.forward(logits, np.array([[[0, 1], [2, 2]]]))), 4)   # log 3, whatever the weights
    1.0986
    >>> loss.backward().shape
    (1, 3, 2, 2)

    Used in: Encoder–decoder.
    """

    def __init__(self, weights=None, dice=0.0):
        if weights is not None:
            weights = np.asarray(as_array(weights, "weights", 1), dtype=np.float64)
            if len(weights) == 0 or not np.all(np.isfinite(weights) & (weights > 0)):
                raise ValueError(f"The parameter `weights` must hold one positive weight per class; got {weights}")
        dice = as_number(dice, "dice")
        if dice < 0:
            raise ValueError(f"The parameter `dice` must be a number >= 0; got {dice!r}")
        self.weights, self.dice = weights, dice

    def forward(self, logits, labels):
        logits = as_array(logits, "logits", 4)
        labels = as_array(labels, "labels", 3)
        n_classes = logits.shape[1]
        if labels.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"`labels` must have shape (N, H, W) = {logits.shape[:1] + logits.shape[2:]} to match "
                             f"`logits` {logits.shape}; got {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= n_classes:
            raise ValueError(f"`labels` must be integers in 0..{n_classes - 1}")
        if self.weights is not None and len(self.weights) != n_classes:
            raise ValueError(f"`weights` has {len(self.weights)} entries but `logits` has {n_classes} classes")
        # log softmax, shifted by the largest logit so that exp never overflows (and float32 stays float32)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        self._probs = exp / total
        log_probs = shifted - np.log(total)
        self._one_hot = labels[:, None] == np.arange(n_classes)[None, :, None, None]
        weight = np.ones(labels.shape, logits.dtype) if self.weights is None else \
            self.weights.astype(logits.dtype)[labels]
        self._weight = weight / weight.sum()
        loss = -np.sum(self._weight * np.sum(np.where(self._one_hot, log_probs, 0), axis=1))
        if self.dice:
            loss = loss + self.dice * self._dice_forward()
        return loss

    def _dice_forward(self):
        """Soft Dice loss over the batch; keeps what its gradient needs."""
        axes = (0, 2, 3)
        self._overlap = 2 * np.sum(self._probs * self._one_hot, axis=axes) + 1
        self._total = np.sum(self._probs, axis=axes) + np.sum(self._one_hot, axis=axes) + 1
        return 1 - np.mean(self._overlap / self._total)

    def backward(self):
        grad = self._weight[:, None] * (self._probs - self._one_hot)
        if self.dice:
            # d/dp of -mean_c (overlap_c / total_c), then through the softmax:
            # dL/dz_j = p_j (g_j - sum_c p_c g_c).
            shape = (1, -1, 1, 1)
            g = -(2 * self._one_hot * self._total.reshape(shape) - self._overlap.reshape(shape)) \
                / (self._total**2).reshape(shape) / len(self._total)
            grad = grad + self.dice * self._probs * (g - np.sum(self._probs * g, axis=1, keepdims=True))
        return grad.astype(self._probs.dtype, copy=False)
