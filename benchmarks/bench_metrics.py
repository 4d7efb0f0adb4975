"""coursekit.metrics.iou on a batch against scikit-learn's jaccard_score called per mask.

Workload: IoU of 1000 pairs of 136 x 136 masks (SVRIMG's image size), one score per
image. The masks are smooth random fields thresholded to about 10% coverage, like
40 dBZ cores; each prediction is its target's field plus smooth noise, thresholded
the same way, so that scores spread over (0, 1) as a model's would.
"""

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.metrics import jaccard_score

from coursekit.metrics import iou

from .timing import interleaved, pairs_note

N_MASKS, SIZE, SUBSET = 1000, 136, 100


def _masks(seed=0):
    """(target, prediction): two (N_MASKS, SIZE, SIZE) bool batches, the same for a given seed."""
    rng = np.random.default_rng(seed)
    truth, noise = (gaussian_filter(rng.standard_normal((N_MASKS, SIZE, SIZE), dtype=np.float32), (0, 6, 6))
                    for _ in range(2))
    forecast = truth + 0.7 * noise
    return tuple(field > np.quantile(field, 0.9, axis=(1, 2), keepdims=True) for field in (truth, forecast))


def _sklearn_loop(target, prediction):
    return [jaccard_score(t.ravel(), p.ravel(), zero_division=1.0) for t, p in zip(target, prediction)]


def run():
    target, prediction = _masks()
    # jaccard_score costs a few milliseconds per mask, whatever the batch: compare it
    # with iou on the first SUBSET masks, after checking that the two agree.
    subset = target[:SUBSET], prediction[:SUBSET]
    np.testing.assert_allclose(iou(*subset), _sklearn_loop(*subset), rtol=1e-12)
    result = interleaved(lambda: _sklearn_loop(*subset), lambda: iou(*subset), pairs=5)
    batch = interleaved(lambda: iou(target, prediction), lambda: iou(*subset), pairs=5)
    return [{"name": "iou_vs_sklearn_loop", "value": result["ratio"], "target": ">= 10",
             "unit": "x faster than sklearn per mask",
             "note": f"{SUBSET} masks of {SIZE}x{SIZE}; {pairs_note(result)}; "
                     f"all {N_MASKS} masks take {batch['candidate'] * 1e3:.1f} ms"}]
