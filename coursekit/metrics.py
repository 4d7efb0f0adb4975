"""Pixel-wise scores: how well a predicted mask matches a target mask.

Every score is a ratio of the four confusion counts of a pair of binary masks:
true positives (TP, both 1), false positives (FP, predicted 1 where the target is
0), false negatives (FN, missed) and true negatives (TN, both 0). Accuracy counts
TN; on radar images, where most pixels hold no storm, TN swamps the other counts,
so that a forecast of nothing at all looks excellent. IoU (the Jaccard index)
ignores TN; meteorologists call the same number the critical success index (CSI).

Masks are (H, W), or (N, H, W) for a batch; a batch gives one score per image.

When a denominator is 0, a score takes the value scikit-learn gives with
``zero_division=1.0`` (its default gives 0.0 with a warning instead):

- ``iou = csi = dice = 1.0`` when both masks are empty: a perfect forecast of nothing;
- ``pod = 1.0`` when the target is empty: there was nothing to miss, even if
  something was predicted (those false alarms lower ``far``, ``csi`` and ``iou``);
- ``far = 0.0`` when nothing is predicted: no alarm was raised, so none was false;
- ``accuracy`` is always defined (a mask has at least one pixel).

Used in: Pixel-wise metrics.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from scipy import ndimage

from ._validation import as_array, as_int, as_number, binary_mask, same_shape

__all__ = ["Counts", "accuracy", "confusion_counts", "confusion_matrix", "csi", "dice", "ets", "far",
           "frequency_bias", "fss", "iou", "iou_per_class", "mean_iou", "pod", "shift_down", "success_ratio"]


class Counts(NamedTuple):
    """The confusion counts, ints for one (H, W) pair or (N,) int64 arrays for a batch, and every score they give.

    Each score of this module is one ratio of these counts, written once here as a
    property; the functions that take masks (:func:`iou`, :func:`pod`, ...) count
    and then read the property. Sum a batch's counts with :meth:`pooled` to score
    a whole test set at once, as forecast verification does.

    Examples
    --------
    >>> counts = Counts(tp=6, fp=2, fn=4, tn=88)
    >>> counts.pod, counts.success_ratio, counts.csi, counts.bias
    (0.6, 0.75, 0.5, 0.8)
    >>> round(counts.ets, 4)   # 6 hits, of which (8 * 10) / 100 = 0.8 by chance
    0.4643

    Used in: Pixel-wise metrics.
    """

    tp: int | np.ndarray
    fp: int | np.ndarray
    fn: int | np.ndarray
    tn: int | np.ndarray

    def pooled(self):
        """The counts of a batch summed over its images: one table for the whole set (ints)."""
        return Counts(*(int(np.sum(count)) for count in self))

    @property
    def iou(self):
        """``TP / (TP + FP + FN)``; 1.0 when both masks are empty."""
        return _ratio(self.tp, self.tp + self.fp + self.fn, 1.0)

    csi = iou   # the critical success index is the same number under its forecasting name

    @property
    def dice(self):
        """``2 TP / (2 TP + FP + FN)``; 1.0 when both masks are empty."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn, 1.0)

    @property
    def accuracy(self):
        """``(TP + TN) / (TP + FP + FN + TN)``; always defined (a mask has a pixel)."""
        return _ratio(self.tp + self.tn, self.tp + self.fp + self.fn + self.tn, np.nan)

    @property
    def pod(self):
        """Probability of detection ``TP / (TP + FN)``; 1.0 when the target is empty."""
        return _ratio(self.tp, self.tp + self.fn, 1.0)

    @property
    def success_ratio(self):
        """Success ratio (precision) ``TP / (TP + FP)`` = 1 - FAR; 1.0 when nothing is predicted."""
        return _ratio(self.tp, self.tp + self.fp, 1.0)

    @property
    def far(self):
        """False alarm ratio ``FP / (TP + FP)``; 0.0 when nothing is predicted."""
        return _ratio(self.fp, self.tp + self.fp, 0.0)

    @property
    def bias(self):
        """Frequency bias ``(TP + FP) / (TP + FN)``: forecast area over observed area.

        1.0 when both masks are empty; inf when only the prediction has pixels.
        """
        predicted = np.asarray(self.tp + self.fp, dtype=np.float64)
        return _ratio(predicted, self.tp + self.fn, np.where(predicted > 0, np.inf, 1.0))

    @property
    def ets(self):
        """Equitable threat score (Gilbert skill score): CSI with the hits of a random forecast taken out.

        ``(TP - R) / (TP + FP + FN - R)`` with ``R = (TP + FP)(TP + FN) / (TP + FP + FN + TN)``,
        the hits expected from a forecast of the same area placed at random. 1 is
        perfect, 0 no better than chance, -1/3 the worst. NaN where it is 0/0: when
        both masks are empty, or both full, chance does as well as any forecast.
        """
        total = np.asarray(self.tp + self.fp + self.fn + self.tn, dtype=np.float64)
        chance = (self.tp + self.fp) * np.asarray(self.tp + self.fn, dtype=np.float64) / total
        return _ratio(self.tp - chance, self.tp + self.fp + self.fn - chance, np.nan)


def _pair(target, prediction, check):
    """Validate two masks of the same (H, W) or (N, H, W) shape; ``check(array, name)`` checks values."""
    target = as_array(target, "target", (2, 3))
    prediction = as_array(prediction, "prediction", (2, 3))
    same_shape(target, prediction, "target", "prediction")
    if target.shape[-1] * target.shape[-2] == 0:
        raise ValueError(f"The masks must have at least one pixel; got shape {target.shape}")
    return check(target, "target"), check(prediction, "prediction")


def confusion_counts(target, prediction):
    """True positives, false positives, false negatives and true negatives, per image.

    Parameters
    ----------
    target : (H, W) or (N, H, W) array_like
        The truth: a bool mask, or numbers that are all 0 or 1.
    prediction : array_like, same shape as `target`
        The forecast, a binary mask likewise.

    Returns
    -------
    Counts
        ``(tp, fp, fn, tn)``: Python ints for (H, W) masks, int64 arrays of shape (N,)
        for (N, H, W) batches. ``tp + fp + fn + tn = H * W``.

    Examples
    --------
    >>> confusion_counts([[1, 1], [0, 0]], [[1, 0], [1, 0]])
    Counts(tp=1, fp=1, fn=1, tn=1)

    Used in: Pixel-wise metrics.
    """
    target, prediction = _pair(target, prediction, binary_mask)
    pixels = target.shape[-2] * target.shape[-1]
    flat_target = target.reshape(-1, pixels)
    flat_prediction = prediction.reshape(-1, pixels)
    # Three reductions give all four counts; no loop over images or pixels.
    tp = np.count_nonzero(flat_target & flat_prediction, axis=1)
    fp = np.count_nonzero(flat_prediction, axis=1) - tp
    fn = np.count_nonzero(flat_target, axis=1) - tp
    tn = pixels - tp - fp - fn
    if target.ndim == 2:
        return Counts(int(tp[0]), int(fp[0]), int(fn[0]), int(tn[0]))
    return Counts(*(count.astype(np.int64) for count in (tp, fp, fn, tn)))


def _ratio(numerator, denominator, when_zero):
    """``numerator / denominator`` elementwise, ``when_zero`` where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, dtype=np.float64), np.asarray(denominator)
    out = np.full(numerator.shape, when_zero, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return float(out) if out.ndim == 0 else out


# Docstring sections shared by several functions below: `_document` puts one in place of {shapes}.
_MASKS = """
    Parameters
    ----------
    target : (H, W) or (N, H, W) array_like
        The truth: a bool mask, or numbers that are all 0 or 1.
    prediction : array_like, same shape as `target`
        The forecast, a binary mask likewise.

    Returns
    -------
    float or (N,) ndarray of float
        One score for (H, W) masks, one per image for (N, H, W) batches."""

_LABELS = """
    Parameters
    ----------
    target : (H, W) or (N, H, W) array_like
        True labels, whole numbers from 0 to ``n_classes - 1``.
    prediction : array_like, same shape as `target`
        Predicted labels, likewise.
    n_classes : int
        Number of classes, at least 1."""


def _document(shapes):
    def decorate(function):
        function.__doc__ = function.__doc__.replace("\n    {shapes}", "\n" + shapes)
        return function
    return decorate


@_document(_MASKS)
def iou(target, prediction):
    """Intersection over union (Jaccard index): ``TP / (TP + FP + FN)``; 1.0 when both masks are empty.
    {shapes}

    Examples
    --------
    >>> iou([[1, 1], [0, 0]], [[1, 0], [1, 0]])   # TP = FP = FN = 1
    0.3333333333333333

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).iou


@_document(_MASKS)
def csi(target, prediction):
    """Critical success index, the forecasters' name for :func:`iou`; 1.0 when both masks are empty.
    {shapes}

    Examples
    --------
    >>> csi([[1, 1], [0, 0]], [[1, 0], [1, 0]])
    0.3333333333333333

    Used in: Pixel-wise metrics.
    """
    return iou(target, prediction)


@_document(_MASKS)
def dice(target, prediction):
    """Dice coefficient, or F1 score: ``2 TP / (2 TP + FP + FN) = 2 IoU / (1 + IoU)``.

    1.0 when both masks are empty. It ranks forecasts as IoU does, with kinder numbers.
    {shapes}

    Examples
    --------
    >>> dice([[1, 1], [0, 0]], [[1, 0], [1, 0]])
    0.5

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).dice


@_document(_MASKS)
def accuracy(target, prediction):
    """Fraction of pixels predicted right: ``(TP + TN) / (H * W)``; always defined.
    {shapes}

    Examples
    --------
    >>> accuracy([[1, 1], [0, 0]], [[1, 0], [1, 0]])
    0.5

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).accuracy


@_document(_MASKS)
def pod(target, prediction):
    """Probability of detection (recall): ``TP / (TP + FN)``; 1.0 when the target is empty.

    With nothing to detect nothing was missed, whatever was predicted; :func:`far` sees those.
    {shapes}

    Examples
    --------
    >>> pod([[1, 1], [0, 0]], [[1, 0], [1, 0]])   # one of the two target pixels found
    0.5

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).pod


@_document(_MASKS)
def far(target, prediction):
    """False alarm ratio: ``FP / (TP + FP)``, the share of predicted pixels that are wrong.

    ``1 - precision``; lower is better. 0.0 when nothing is predicted: no alarm, so no false one.
    {shapes}

    Examples
    --------
    >>> far([[1, 1], [0, 0]], [[1, 0], [1, 0]])   # one of the two predicted pixels is wrong
    0.5

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).far


@_document(_MASKS)
def success_ratio(target, prediction):
    """Success ratio (precision): ``TP / (TP + FP)`` = 1 - FAR; 1.0 when nothing is predicted.

    The x axis of the performance diagram (:func:`coursekit.plotting.performance_diagram`).
    {shapes}

    Examples
    --------
    >>> success_ratio([[1, 1], [0, 0]], [[1, 0], [1, 0]])   # one of the two predicted pixels is right
    0.5

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).success_ratio


@_document(_MASKS)
def frequency_bias(target, prediction):
    """Frequency bias: ``(TP + FP) / (TP + FN)``, the predicted area over the observed area.

    1 is unbiased, above 1 over-forecasts, below 1 under-forecasts. It says nothing
    of place: a forecast of the right size in the wrong place has bias 1 and CSI 0.
    1.0 when both masks are empty, inf when only the prediction has pixels.
    {shapes}

    Examples
    --------
    >>> frequency_bias([[1, 1], [0, 0]], [[1, 1], [1, 0]])   # three pixels forecast, two observed
    1.5

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).bias


@_document(_MASKS)
def ets(target, prediction):
    """Equitable threat score (Gilbert skill score): CSI less the hits a random forecast would score.

    ``(TP - R) / (TP + FP + FN - R)``, ``R = (TP + FP)(TP + FN) / (H W)``: 1 perfect,
    0 no better than the same area scattered at random, -1/3 the worst. NaN when it
    is 0/0 (both masks empty, or both full: chance cannot be beaten).
    {shapes}

    Examples
    --------
    >>> round(ets([[1, 1, 0, 0]], [[1, 0, 0, 0]]), 4)   # R = 1 * 2 / 4 = 0.5
    0.3333

    Used in: Pixel-wise metrics.
    """
    return confusion_counts(target, prediction).ets


def fss(forecast, observed, threshold, scale):
    """Fractions skill score (Roberts and Lean, 2008): do the two fields exceed `threshold` as often nearby?

    Both fields become binary at ``>= threshold``; a square moving average of side
    `scale` pixels turns each into the fraction of its neighbourhood that exceeds
    it (``scipy.ndimage.uniform_filter``, centred as it centres, zeros beyond the
    edges, as pysteps computes it); then

        FSS = 1 - sum((Pf - Po)^2) / (sum(Pf^2) + sum(Po^2)).

    At scale 1 the fractions are the masks themselves and a displaced forecast is
    punished twice, as by CSI; as the scale grows, a near miss counts as a partial
    hit. A forecast is often called useful at the scales where FSS reaches
    ``0.5 + f / 2``, with ``f`` the observed fraction of the domain.

    Parameters
    ----------
    forecast, observed : (H, W) or (N, H, W) array_like
        Fields of the same shape (dBZ, say, or labels); NaN counts as below the threshold.
    threshold : float
    scale : int
        Side of the square neighbourhood in pixels, at least 1.

    Returns
    -------
    float or (N,) ndarray of float
        One score per image, from 0 (no overlap at this scale) to 1. 1.0 when
        neither field reaches the threshold (pysteps gives NaN there).

    Examples
    --------
    >>> one = np.zeros((1, 5)); one[0, 1] = 50
    >>> other = np.zeros((1, 5)); other[0, 2] = 50
    >>> fss(one, other, 40, 1), round(fss(one, other, 40, 3), 4)   # missed by a pixel: a partial hit at scale 3
    (0.0, 0.6667)

    Used in: Pixel-wise metrics.
    """
    forecast = as_array(forecast, "forecast", (2, 3))
    observed = as_array(observed, "observed", (2, 3))
    same_shape(forecast, observed, "forecast", "observed")
    threshold = as_number(threshold, "threshold")
    scale = as_int(scale, "scale", 1)
    size = (scale, scale) if forecast.ndim == 2 else (1, scale, scale)   # never average across images

    def fractions(field):
        return ndimage.uniform_filter((field >= threshold).astype(np.float64), size=size, mode="constant")

    f, o = fractions(forecast), fractions(observed)
    pixels = (-2, -1)
    return 1.0 - _ratio(np.sum((f - o) ** 2, axis=pixels), np.sum(f**2, axis=pixels) + np.sum(o**2, axis=pixels), 0.0)


@_document(_LABELS)
def confusion_matrix(target, prediction, n_classes):
    """How many pixels of each true class got each predicted class, over every pixel of the batch.

    Row ``i``, column ``j`` counts the pixels labelled ``i`` and predicted ``j``, as
    ``sklearn.metrics.confusion_matrix`` arranges it; the diagonal holds the hits.
    {shapes}

    Returns
    -------
    (n_classes, n_classes) int64 ndarray
        Sums to the number of pixels.

    Examples
    --------
    >>> confusion_matrix([[0, 0, 1, 1, 1]], [[0, 1, 1, 1, 2]], 3)
    array([[1, 1, 0],
           [0, 2, 1],
           [0, 0, 0]])

    Used in: Encoder–decoder.
    """
    n_classes = as_int(n_classes, "n_classes", 1)

    def labels(array, name):
        wrong = (array < 0) | (array >= n_classes) | (array != np.round(array))
        if wrong.any():
            raise ValueError(f"The parameter `{name}` must hold class labels 0 to {n_classes - 1} "
                             f"(`n_classes` = {n_classes}); got values {np.unique(array[wrong])[:5]}")
        return array.astype(np.int64, copy=False)

    target, prediction = _pair(target, prediction, labels)
    # Confusion matrix in one bincount: row = true class, column = predicted class.
    matrix = np.bincount((target * n_classes + prediction).ravel(), minlength=n_classes**2)
    return matrix.reshape(n_classes, n_classes).astype(np.int64, copy=False)


@_document(_LABELS)
def iou_per_class(target, prediction, n_classes):
    """IoU of each class of integer label maps, pooled over every pixel of the batch.

    For class ``c`` a pixel is positive when its label is ``c``; the counts add up over
    all images, then ``IoU_c = TP_c / (TP_c + FP_c + FN_c)``.
    {shapes}

    Returns
    -------
    (n_classes,) ndarray of float
        NaN for a class absent from both maps: there is nothing to score.

    Examples
    --------
    >>> iou_per_class([[0, 0, 1, 1, 1]], [[0, 1, 1, 1, 1]], 3)   # class 2 is absent
    array([0.5 , 0.75,  nan])

    Used in: Pixel-wise metrics.
    """
    matrix = confusion_matrix(target, prediction, n_classes)
    tp = np.diag(matrix)
    return _ratio(tp, matrix.sum(axis=0) + matrix.sum(axis=1) - tp, np.nan)


@_document(_LABELS)
def mean_iou(target, prediction, n_classes):
    """Mean of :func:`iou_per_class` over the classes present in either map.
    {shapes}

    Returns
    -------
    float
        Classes absent from both maps (NaN) are left out of the mean.

    Examples
    --------
    >>> mean_iou([[0, 0, 1, 1, 1]], [[0, 1, 1, 1, 1]], 3)   # (1/2 + 3/4) / 2
    0.625

    Used in: Pixel-wise metrics.
    """
    # A map has at least one pixel, so some class is present and nanmean is defined.
    return float(np.nanmean(iou_per_class(target, prediction, n_classes)))


def shift_down(mask, pixels):
    """The mask moved down by `pixels` rows; rows entering at the top are empty.

    Parameters
    ----------
    mask : (H, W) array_like
        A mask, or any field (the tests move dBZ fields for FSS): rows entering
        at the top are zero.
    pixels : int
        Rows to move down, at least 0.

    Returns
    -------
    (H, W) ndarray
        Same dtype as `mask`; what leaves at the bottom is lost.

    Examples
    --------
    >>> shift_down(np.eye(3, dtype=bool), 1).astype(int)
    array([[0, 0, 0],
           [1, 0, 0],
           [0, 1, 0]])

    Used in: Pixel-wise metrics.
    """
    mask = as_array(mask, "mask", 2)
    pixels = as_int(pixels, "pixels", 0)
    shifted = np.zeros_like(mask)
    if pixels < mask.shape[0]:
        shifted[pixels:] = mask[: mask.shape[0] - pixels]
    return shifted
