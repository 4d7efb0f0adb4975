"""Floyd–Steinberg dithering: the wavefront against the pixel loop, per image.

Workload: radar images of 136x136 dithered to 0, 20, 40, 60 and 80 dBZ, one at a
time and as a batch of 1,000. The loop is timed on a few images (its cost per
image does not depend on the batch).
"""

import numpy as np

from coursekit.synthetic import synthetic_radar
from coursekit.quantize import floyd_steinberg, floyd_steinberg_reference

from .timing import interleaved, pairs_note

LEVELS = np.array([0, 20, 40, 60, 80], dtype=float)


def run():
    x, _ = synthetic_radar(100, seed=3)
    images = np.concatenate([x[..., 0]] * 10).astype(float)  # 1,000 images
    one = images[7]
    assert np.array_equal(floyd_steinberg_reference(one, LEVELS), floyd_steinberg(one, LEVELS))
    single = interleaved(lambda: floyd_steinberg_reference(one, LEVELS), lambda: floyd_steinberg(one, LEVELS),
                         pairs=5, warmup=0)
    # The loop's cost per image does not depend on the batch: pair one loop image
    # with the whole batch and scale the ratio by the batch size.
    batch = interleaved(lambda: floyd_steinberg_reference(one, LEVELS), lambda: floyd_steinberg(images, LEVELS),
                        pairs=3, warmup=0)
    return [
        {"name": "floyd_steinberg_batch_vs_loop", "value": batch["ratio"] * len(images), "target": ">= 100",
         "unit": "x faster per image",
         "note": f"batch of {len(images)}: {batch['reference'] / len(images) * 1e3:.2f} ms/image; "
                 f"loop {batch['candidate'] * 1e3:.0f} ms; median of {batch['pairs']} interleaved pairs"},
        {"name": "floyd_steinberg_single_vs_loop", "value": single["ratio"], "target": ">= 10",
         "unit": "x faster", "note": f"one image; {pairs_note(single)}"},
    ]
