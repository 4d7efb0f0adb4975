"""Specification of coursekit.metrics: confusion counts, IoU and friends, multi-class IoU.

scikit-learn is the reference. Where a score is 0/0 (empty masks), sklearn's default
is 0.0 plus an UndefinedMetricWarning (an error in this test run); coursekit
defines those cases as sklearn's ``zero_division=1.0`` does, so every comparison
passes ``zero_division=1.0``: it changes nothing where the score is defined and
states our convention where it is not.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.ndimage import gaussian_filter
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, jaccard_score, precision_score, recall_score

from coursekit.metrics import (Counts, accuracy, confusion_counts, csi, dice, ets, far, frequency_bias, fss, iou,
                               iou_per_class, mean_iou, pod, shift_down, success_ratio)

SCORES = [iou, csi, dice, accuracy, pod, far, success_ratio, frequency_bias, ets]

masks = st.tuples(st.integers(1, 12), st.integers(1, 12)).flatmap(
    lambda shape: st.tuples(arrays(bool, shape), arrays(bool, shape)))
batches = st.tuples(st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)).flatmap(
    lambda shape: st.tuples(arrays(bool, shape), arrays(bool, shape)))


def sklearn_scores(target, prediction):
    """Reference values for one (H, W) pair, on flattened 0/1 labels."""
    y_true, y_pred = np.ravel(target).astype(int), np.ravel(prediction).astype(int)
    return {
        iou: jaccard_score(y_true, y_pred, zero_division=1.0),
        dice: f1_score(y_true, y_pred, zero_division=1.0),
        accuracy: accuracy_score(y_true, y_pred),
        pod: recall_score(y_true, y_pred, zero_division=1.0),
        far: 1.0 - precision_score(y_true, y_pred, zero_division=1.0),
        success_ratio: precision_score(y_true, y_pred, zero_division=1.0),
    }


@given(masks)
def test_scores_equal_sklearn_on_random_masks(pair):
    target, prediction = pair
    for score, expected in sklearn_scores(target, prediction).items():
        assert score(target, prediction) == pytest.approx(expected, abs=1e-12), score.__name__


@given(masks)
def test_scores_equal_sklearn_when_something_is_there(pair):
    """The same comparison with sklearn's defaults, where no score is 0/0."""
    target, prediction = pair
    assume(target.any() and prediction.any())
    y_true, y_pred = target.ravel().astype(int), prediction.ravel().astype(int)
    assert iou(target, prediction) == pytest.approx(jaccard_score(y_true, y_pred), abs=1e-12)
    assert dice(target, prediction) == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)


@given(batches)
def test_batches_give_one_value_per_image_equal_to_sklearn(pair):
    target, prediction = pair
    references = [sklearn_scores(t, p) for t, p in zip(target, prediction)]
    for score in SCORES:
        values = score(target, prediction)
        assert isinstance(values, np.ndarray) and values.shape == (len(target),)
        np.testing.assert_array_equal(values, [score(t, p) for t, p in zip(target, prediction)])
        if score in references[0] or score is csi:
            np.testing.assert_allclose(values, [r[iou if score is csi else score] for r in references], atol=1e-12)


@given(batches)
def test_batch_counts_equal_the_counts_of_each_image(pair):
    target, prediction = pair
    counts = confusion_counts(target, prediction)
    assert all(c.shape == (len(target),) and c.dtype == np.int64 for c in counts)
    for n in range(len(target)):
        assert tuple(int(c[n]) for c in counts) == confusion_counts(target[n], prediction[n])


@given(masks)
def test_counts_partition_the_pixels_and_match_their_definitions(pair):
    target, prediction = pair
    counts = confusion_counts(target, prediction)
    assert all(type(c) is int for c in counts)
    assert counts == (np.sum(target & prediction), np.sum(~target & prediction),
                      np.sum(target & ~prediction), np.sum(~target & ~prediction))
    assert sum(counts) == target.size


@given(masks)
def test_identities_between_scores(pair):
    target, prediction = pair
    score = iou(target, prediction)
    assert csi(target, prediction) == score
    assert dice(target, prediction) == pytest.approx(2 * score / (1 + score), abs=1e-12)
    assert accuracy(target, prediction) == pytest.approx(np.mean(target == prediction), abs=1e-12)
    assert 0.0 <= score <= dice(target, prediction) <= 1.0


def test_small_example_by_hand():
    # target     prediction
    # 1 1 0      1 0 0       TP = 1 (top left), FN = 2 (top middle, bottom left)
    # 1 0 0      0 0 1       FP = 2 (middle right, bottom right), TN = 4
    # 0 0 0      0 0 1
    target = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
    prediction = [[1, 0, 0], [0, 0, 1], [0, 0, 1]]
    assert confusion_counts(target, prediction) == Counts(tp=1, fp=2, fn=2, tn=4)
    assert pod(target, prediction) == 1 / 3          # 1 of the 3 target pixels detected
    assert far(target, prediction) == 2 / 3          # 2 of the 3 predicted pixels are false alarms
    assert iou(target, prediction) == 1 / 5          # 1 / (1 + 2 + 2)
    assert dice(target, prediction) == 2 / 6         # 2 * 1 / (2 * 1 + 2 + 2)
    assert accuracy(target, prediction) == 5 / 9     # (1 + 4) / 9


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64, np.float32, np.float64])
def test_mask_dtypes_give_the_same_scores(dtype):
    rng = np.random.default_rng(4)
    target, prediction = rng.random((2, 3, 10, 10)) < 0.3
    for score in SCORES:
        np.testing.assert_array_equal(score(target.astype(dtype), prediction.astype(dtype)),
                                      score(target, prediction))


def test_a_displaced_storm_keeps_high_accuracy_but_low_iou():
    # A 20 x 60 pixel storm on a 136 x 136 SVRIMG-sized image, predicted 10 rows too far
    # south: they overlap on 10 rows, so TP = FP = FN = 10 * 60 = 600 and
    # IoU = 600 / 1800 = 1/3, while accuracy = 1 - 1200 / 136**2 (about 0.935).
    target = np.zeros((136, 136), dtype=bool)
    target[40:60, 30:90] = True
    prediction = np.roll(target, 10, axis=0)
    assert confusion_counts(target, prediction)[:3] == (600, 600, 600)
    assert iou(target, prediction) == pytest.approx(1 / 3)
    assert accuracy(target, prediction) == pytest.approx(1 - 1200 / 136**2)
    assert accuracy(target, prediction) > 0.9 and iou(target, prediction) < 0.5


def test_iou_falls_steeply_with_the_offset_while_accuracy_stays_high():
    # As the seed chapter does with 40 dBZ cores: a smooth field thresholded, then the
    # prediction moved 1, 2, ... 20 rows north. Shifts are stacked into one batch.
    field = gaussian_filter(np.random.default_rng(0).normal(size=(136, 136)), sigma=6)
    target = field > np.quantile(field, 0.95)  # the strongest 5% of the image
    offsets = np.arange(1, 21)
    predictions = np.stack([np.vstack([target[k:], np.zeros((k, 136), bool)]) for k in offsets])
    targets = np.broadcast_to(target, predictions.shape)
    ious, accuracies = iou(targets, predictions), accuracy(targets, predictions)
    expected = [jaccard_score(target.ravel(), p.ravel()) for p in predictions]
    np.testing.assert_allclose(ious, expected)
    assert np.all(np.diff(ious[:10]) < 0)
    assert ious[-1] < 0.5 * ious[0]
    assert np.all(accuracies > 0.9)


@pytest.mark.parametrize("shape", [(7, 9), (3, 7, 9)])
def test_empty_masks(shape):
    empty, full = np.zeros(shape, bool), np.ones(shape, bool)
    one = np.ones(shape[:-2]) if len(shape) == 3 else 1.0
    zero = 0 * one
    # Nothing to find and nothing predicted: a perfect forecast of nothing.
    for score, expected in [(iou, one), (csi, one), (dice, one), (accuracy, one), (pod, one), (far, zero)]:
        np.testing.assert_array_equal(score(empty, empty), expected, err_msg=score.__name__)
    # Nothing to find, something predicted: nothing missed (pod 1) but every alarm false.
    for score, expected in [(iou, zero), (dice, zero), (accuracy, zero), (pod, one), (far, one)]:
        np.testing.assert_array_equal(score(empty, full), expected, err_msg=score.__name__)
    # Something to find, nothing predicted: all missed (pod 0), yet no false alarm (far 0).
    for score, expected in [(iou, zero), (dice, zero), (accuracy, zero), (pod, zero), (far, zero)]:
        np.testing.assert_array_equal(score(full, empty), expected, err_msg=score.__name__)


def test_empty_masks_agree_with_sklearn_zero_division_one():
    empty = np.zeros(16, int)
    for score, expected in sklearn_scores(empty, empty).items():
        assert score(empty.reshape(4, 4), empty.reshape(4, 4)) == expected, score.__name__


def test_only_empty_images_of_a_batch_take_the_convention():
    target = np.zeros((2, 4, 4), bool)
    prediction = target.copy()
    target[1, 0, :2] = prediction[1, 0, 1:3] = True  # image 1: TP = FP = FN = 1
    np.testing.assert_allclose(iou(target, prediction), [1.0, 1 / 3])


labels = st.tuples(st.integers(1, 4), st.integers(1, 8), st.integers(1, 8), st.integers(1, 5)).flatmap(
    lambda s: st.tuples(arrays(np.int64, s[:3], elements=st.integers(0, s[3] - 1)),
                        arrays(np.int64, s[:3], elements=st.integers(0, s[3] - 1)), st.just(s[3])))


@given(labels)
def test_iou_per_class_equals_sklearn_over_the_whole_batch(case):
    target, prediction, n_classes = case
    per_class = iou_per_class(target, prediction, n_classes)
    assert per_class.shape == (n_classes,)
    present = np.isin(np.arange(n_classes), np.concatenate([target.ravel(), prediction.ravel()]))
    expected = jaccard_score(target.ravel(), prediction.ravel(), labels=np.arange(n_classes), average=None,
                             zero_division=1.0)
    np.testing.assert_allclose(per_class[present], expected[present])
    assert np.all(np.isnan(per_class[~present]))


@given(labels)
def test_mean_iou_equals_sklearn_macro_when_every_class_is_present(case):
    target, prediction, n_classes = case
    assume(len(np.union1d(target, prediction)) == n_classes)
    expected = jaccard_score(target.ravel(), prediction.ravel(), labels=np.arange(n_classes), average="macro")
    assert mean_iou(target, prediction, n_classes) == pytest.approx(expected)


def test_mean_iou_leaves_absent_classes_out():
    target, prediction = np.array([[0, 0, 1, 1]]), np.array([[0, 1, 1, 1]])  # IoU 1/2 and 2/3; class 2 absent
    np.testing.assert_allclose(iou_per_class(target, prediction, 3), [1 / 2, 2 / 3, np.nan])
    assert mean_iou(target, prediction, 3) == pytest.approx((1 / 2 + 2 / 3) / 2)


@given(masks)
def test_two_class_iou_of_a_binary_mask_is_the_iou_of_class_one(pair):
    target, prediction = pair
    assume(target.any() or prediction.any())
    assert iou_per_class(target, prediction, 2)[1] == pytest.approx(iou(target, prediction))


def test_shift_down_moves_rows_and_drops_the_bottom():
    mask = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype=np.uint8)
    np.testing.assert_array_equal(shift_down(mask, 0), mask)
    np.testing.assert_array_equal(shift_down(mask, 1), [[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(shift_down(mask, 2), [[0, 0, 0], [0, 0, 0], [1, 2, 3]])
    np.testing.assert_array_equal(shift_down(mask, 3), np.zeros((3, 3)))
    np.testing.assert_array_equal(shift_down(mask, 50), np.zeros((3, 3)))
    assert shift_down(mask, 1).dtype == np.uint8 and shift_down(mask.astype(bool), 1).dtype == bool
    assert shift_down(mask, 0) is not mask  # a new array: the caller's mask stays as it was
    wide = np.arange(10).reshape(2, 5)  # rows and columns are not interchangeable
    np.testing.assert_array_equal(shift_down(wide, 1), [[0, 0, 0, 0, 0], [0, 1, 2, 3, 4]])
    np.testing.assert_array_equal(shift_down(wide.T, 3), [[0, 0], [0, 0], [0, 0], [0, 5], [1, 6]])


# --- the rest of the contingency-table family: success ratio, frequency bias, ETS ---------


def tally(target, prediction):
    """The four counts by a loop over pixels, independent of confusion_counts."""
    tp = fp = fn = tn = 0
    for t, p in zip(np.ravel(target), np.ravel(prediction)):
        tp, fp, fn, tn = tp + (t and p), fp + (p and not t), fn + (t and not p), tn + (not t and not p)
    return tp, fp, fn, tn


@given(masks)
def test_frequency_bias_is_forecast_area_over_observed_area(pair):
    target, prediction = pair
    tp, fp, fn, _ = tally(target, prediction)
    bias = frequency_bias(target, prediction)
    if target.any():
        assert bias == pytest.approx(prediction.sum() / target.sum(), abs=1e-12)
        assert bias == pytest.approx((tp + fp) / (tp + fn), abs=1e-12)
        if prediction.any() and tp:
            assert bias == pytest.approx(pod(target, prediction) / success_ratio(target, prediction), abs=1e-12)
    else:
        assert bias == (np.inf if prediction.any() else 1.0)


def test_bias_one_and_csi_zero_for_the_right_area_in_the_wrong_place():
    target = np.zeros((10, 10), bool)
    target[:3, :3] = True
    prediction = shift_down(target, 5)
    assert frequency_bias(target, prediction) == 1.0 and csi(target, prediction) == 0.0
    assert frequency_bias(target, target | shift_down(target, 3)) == 2.0   # twice the area: over-forecast
    assert frequency_bias(target, target[:, ::-1] & False) == 0.0          # nothing forecast


@given(masks)
def test_ets_is_the_heidke_skill_score_that_sklearn_calls_cohens_kappa_rescaled(pair):
    """For two classes Cohen's kappa is the Heidke skill score, and ETS = HSS / (2 - HSS)."""
    target, prediction = pair
    y_true, y_pred = target.ravel().astype(int), prediction.ravel().astype(int)
    chance = target.mean() * prediction.mean() + (1 - target.mean()) * (1 - prediction.mean())
    assume(chance < 1 - 1e-9)   # kappa is 0/0 when chance agreement is certain
    kappa = cohen_kappa_score(y_true, y_pred)
    assert ets(target, prediction) == pytest.approx(kappa / (2 - kappa), abs=1e-12)


@given(masks)
def test_ets_by_its_formula_and_its_range(pair):
    target, prediction = pair
    tp, fp, fn, tn = tally(target, prediction)
    n = tp + fp + fn + tn
    random_hits = (tp + fp) * (tp + fn) / n
    denominator = tp + fp + fn - random_hits
    value = ets(target, prediction)
    if abs(denominator) < 1e-12:
        assert np.isnan(value)
    else:
        assert value == pytest.approx((tp - random_hits) / denominator, abs=1e-12)
        assert -1 / 3 - 1e-12 <= value <= 1 + 1e-12
        assert value <= csi(target, prediction) + 1e-12   # taking chance hits out never raises the score


def test_ets_by_hand():
    # 100 pixels, 10 observed, 8 forecast, 6 of them right: R = 8 * 10 / 100 = 0.8 hits by chance,
    # ETS = (6 - 0.8) / (6 + 2 + 4 - 0.8) = 5.2 / 11.2 while CSI = 6 / 12.
    target, prediction = np.zeros(100, bool), np.zeros(100, bool)
    target[:10], prediction[4:12] = True, True
    target, prediction = target.reshape(10, 10), prediction.reshape(10, 10)
    assert confusion_counts(target, prediction) == Counts(6, 2, 4, 88)
    assert ets(target, prediction) == pytest.approx(5.2 / 11.2, abs=1e-15)
    assert csi(target, prediction) == 0.5
    checkerboard = (np.indices((6, 6)).sum(axis=0) % 2).astype(bool)
    assert ets(checkerboard, ~checkerboard) == pytest.approx(-1 / 3, abs=1e-15)   # the worst score
    assert np.isnan(ets(np.zeros((3, 3)), np.zeros((3, 3)))) and np.isnan(ets(np.ones((3, 3)), np.ones((3, 3))))


@given(batches)
def test_pooled_counts_score_the_whole_batch_as_one_image(pair):
    target, prediction = pair
    pooled = confusion_counts(target, prediction).pooled()
    assert all(type(c) is int for c in pooled)
    whole = confusion_counts(np.concatenate(target), np.concatenate(prediction))   # images stacked into one
    assert pooled == whole
    for name in ("iou", "csi", "dice", "accuracy", "pod", "far", "success_ratio", "bias", "ets"):
        np.testing.assert_equal(getattr(pooled, name), getattr(whole, name))


# --- fractions skill score ----------------------------------------------------------------


def fss_by_loops(forecast, observed, threshold, scale):
    """Roberts and Lean's FSS, fractions counted window by window, zeros beyond the edges. The window
    of pixel i spans i - scale // 2 to i - scale // 2 + scale - 1 (uniform_filter's centring)."""
    rows, cols = forecast.shape
    f_frac, o_frac = np.zeros((rows, cols)), np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            r0, c0 = r - scale // 2, c - scale // 2
            for i in range(max(r0, 0), min(r0 + scale, rows)):
                for j in range(max(c0, 0), min(c0 + scale, cols)):
                    f_frac[r, c] += forecast[i, j] >= threshold
                    o_frac[r, c] += observed[i, j] >= threshold
    f_frac, o_frac = f_frac / scale**2, o_frac / scale**2
    worst = np.sum(f_frac**2) + np.sum(o_frac**2)
    return 1.0 if worst == 0 else 1 - np.sum((f_frac - o_frac) ** 2) / worst


fields = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1)).map(
    lambda c: np.random.default_rng(c[2]).choice([0.0, 20.0, 40.0, 45.0, np.nan], size=(2, c[0], c[1]),
                                                 p=[.4, .25, .1, .2, .05]))  # 40: at the threshold


@given(fields, st.integers(1, 7))
def test_fss_equals_the_window_by_window_definition(pair, scale):
    forecast, observed = pair
    assert fss(forecast, observed, 40, scale) == pytest.approx(fss_by_loops(forecast, observed, 40, scale), abs=1e-12)


@given(fields, st.integers(1, 5))
def test_fss_of_a_batch_scores_each_image_alone(pair, scale):
    batch = np.concatenate([pair, pair[:1]])   # three images, the first again at the end
    observed = np.roll(batch, 1, axis=0)   # not the batch in any order that pairs an image with itself
    values = fss(batch, observed, 10, scale)
    assert values.shape == (3,)   # no window may reach into a neighbouring image
    np.testing.assert_allclose(values, [fss(f, o, 10, scale) for f, o in zip(batch, observed)], atol=1e-12)


def test_fss_rewards_a_near_miss_as_the_scale_grows():
    storm = np.zeros((60, 60))
    storm[20:30, 20:30] = 50
    moved = shift_down(storm, 4)
    assert fss(storm, storm, 40, 1) == 1.0
    assert fss(storm, moved, 40, 1) == pytest.approx(1 - 80 / 200)   # 40 + 40 pixels differ; 100 + 100 in all
    scores = [fss(storm, moved, 40, n) for n in (1, 5, 9, 15, 25)]
    assert all(a < b for a, b in zip(scores, scores[1:])) and scores[-1] > 0.9
    far_away = shift_down(storm, 30)
    assert fss(storm, far_away, 40, 1) == 0.0 and fss(storm, far_away, 40, 9) == 0.0   # windows do not touch
    assert fss(np.zeros((5, 5)), np.zeros((5, 5)), 40, 3) == 1.0   # nothing to find, nothing forecast


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: shift_down(np.ones((2, 2)), -1), ValueError, "`pixels` must be non-negative; got -1"),
        (lambda: shift_down(np.ones((2, 2)), 1.0), TypeError, "`pixels` must be an integer"),
        (lambda: shift_down(np.ones(4), 1), ValueError, "`mask` must be a 2-dimensional"),
        (lambda: iou(np.ones((4, 4)) * 1j, np.ones((4, 4))), TypeError, "`target` must hold real numbers"),
        (lambda: iou(np.ones((4, 4)), np.ones((4, 5))), ValueError,
         r"`target` has shape \(4, 4\).*`prediction` has shape \(4, 5\)"),
        (lambda: dice(np.ones((2, 4, 4)), np.ones((3, 4, 4))), ValueError, "Shape mismatch"),
        (lambda: iou(np.ones((4, 4)), np.full((4, 4), 2)), ValueError,
         r"`prediction` must be a binary mask \(0/1 or bool\); got values \[2\]"),
        (lambda: pod([[0.5, 1]], [[1, 1]]), ValueError, r"`target` must be a binary mask.*0\.5"),
        (lambda: far([[np.nan, 1]], [[1, 1]]), ValueError, "`target` must be a binary mask.*nan"),
        (lambda: accuracy(np.ones(4), np.ones(4)), ValueError, "`target` must be a 2-dimensional or 3-dimensional"),
        (lambda: csi(np.ones((1, 1, 4, 4)), np.ones((1, 1, 4, 4))), ValueError,
         r"`target` must be a 2-dimensional.*got shape \(1, 1, 4, 4\)"),
        (lambda: iou(np.ones((4, 4)), [["a"] * 4] * 4), TypeError, "`prediction` must hold numbers"),
        (lambda: iou(np.ones((0, 4)), np.ones((0, 4))), ValueError, "at least one pixel"),
        (lambda: iou(np.ones((4, 0)), np.ones((4, 0))), ValueError, "at least one pixel"),
        (lambda: dice(np.ones((2, 4, 0)), np.ones((2, 4, 0))), ValueError, "at least one pixel"),
        (lambda: dice(np.ones((2, 0, 4)), np.ones((2, 0, 4))), ValueError, "at least one pixel"),
        (lambda: iou([[2, 3, 4, 5, 6, 7]], np.ones((1, 6))), ValueError, r"got values \[2 3 4 5 6\]$"),
        (lambda: mean_iou([[3, 4, 5, 6, 7, 8]], np.ones((1, 6)), 2), ValueError, r"got values \[3 4 5 6 7\]$"),
        (lambda: confusion_counts([[1, 0]], [[1, -1]]), ValueError, r"`prediction` must be a binary mask.*\[-1\]"),
        (lambda: iou_per_class([[0, 1]], [[0, 1]], 0), ValueError, "`n_classes` must be positive; got 0"),
        (lambda: iou_per_class([[0, 1]], [[0, 1]], 2.0), TypeError, "`n_classes` must be an integer; got 2.0"),
        (lambda: mean_iou([[0, 3]], [[0, 1]], 3), ValueError,
         r"`target` must hold class labels 0 to 2.*got values \[3\]"),
        (lambda: mean_iou([[0, 1]], [[0, -1]], 3), ValueError, r"`prediction` must hold class labels.*\[-1\]"),
        (lambda: iou_per_class([[0, 1.5]], [[0, 1]], 3), ValueError, r"`target` must hold class labels.*1\.5"),
        (lambda: iou_per_class([[0, 1]], [[[0, 1]]], 3), ValueError, "Shape mismatch"),
        (lambda: fss(np.ones((4, 4)), np.ones((4, 4)), 40, 0), ValueError, "`scale` must be positive; got 0"),
        (lambda: fss(np.ones((4, 4)), np.ones((4, 4)), 40, 2.5), TypeError, "`scale` must be an integer"),
        (lambda: fss(np.ones((4, 4)), np.ones((4, 4)), "40", 3), TypeError, "`threshold` must be a real number"),
        (lambda: fss(np.ones((4, 4)), np.ones((4, 4)), np.nan, 3), ValueError, "`threshold` must be finite"),
        (lambda: fss(np.ones((4, 4)), np.ones((5, 4)), 40, 3), ValueError, r"`forecast` has shape \(4, 4\)"),
        (lambda: fss(np.ones(4), np.ones(4), 40, 3), ValueError, "`forecast` must be a 2-dimensional"),
        (lambda: ets(np.ones((4, 4)), np.full((4, 4), 3)), ValueError, "`prediction` must be a binary mask"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
