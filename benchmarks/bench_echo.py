"""coursekit.echo.convective_stratiform on a batch against a plain loop of the same rules.

Workload: the five real SVRIMG storms, repeated to a batch of 100 images of
136 x 136 labelled at once, against the pixel loop of coursekit.testing on one of
them (the loop's cost per image does not depend on the batch; it grows with the
echo area, and these storms echo over four fifths of the image). The loop is the same algorithm as Py-ART's
``steiner_conv_strat``, also a pixel loop (about 1-2.5 s per image here), so the
ratio is a lower bound of the speed-up over Py-ART. Median of interleaved pairs.
"""

import numpy as np

from coursekit import data, echo
from coursekit.testing import convective_stratiform_loop

from .timing import interleaved

BATCH = 100


def run():
    storms = data.example_storms().x[..., 0]
    batch = np.concatenate([storms] * (BATCH // len(storms)))
    one = batch[0]
    result = interleaved(lambda: convective_stratiform_loop(one, data.PIXEL_KM),
                         lambda: echo.convective_stratiform(batch), pairs=3, warmup=1)
    per_image = result["reference"] / BATCH
    return [{"name": "steiner_batch_vs_loop", "value": result["ratio"] * BATCH, "target": ">= 100",
             "unit": "x faster per image",
             "note": f"batch of {BATCH}: {per_image * 1e3:.1f} ms/image; loop {result['candidate']:.2f} s/image; "
                     f"median of {result['pairs']} interleaved pairs"}]
