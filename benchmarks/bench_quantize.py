"""Floyd–Steinberg dithering: the wavefront against the pixel loop, per image.

Workload: radar images of 136x136 dithered to 0, 20, 40, 60 and 80 dBZ, one at a
time and as a batch of 1,000. The loop is timed on a few images (its cost per
image does not depend on the batch).
"""

import numpy as np

from coursekit.synthetic import synthetic_radar
from coursekit.quantize import floyd_steinberg, floyd_steinberg_reference

from .timing import best_time

LEVELS = np.array([0, 20, 40, 60, 80], dtype=float)


def run():
    x, _ = synthetic_radar(100, seed=3)
    images = np.concatenate([x[..., 0]] * 10).astype(float)  # 1,000 images
    one = images[7]
    loop = best_time(lambda: floyd_steinberg_reference(one, LEVELS), repeat=3, warmup=0)
    assert np.array_equal(floyd_steinberg_reference(one, LEVELS), floyd_steinberg(one, LEVELS))
    single = best_time(lambda: floyd_steinberg(one, LEVELS))
    batch = best_time(lambda: floyd_steinberg(images, LEVELS), repeat=3) / len(images)
    return [
        {"name": "floyd_steinberg_batch_vs_loop", "value": loop / batch, "target": ">= 100",
         "unit": "x faster per image", "note": f"batch of 1000: {batch * 1e3:.2f} ms/image; loop {loop * 1e3:.0f} ms"},
        {"name": "floyd_steinberg_single_vs_loop", "value": loop / single, "target": ">= 10",
         "unit": "x faster", "note": f"one image: {single * 1e3:.1f} ms"},
    ]
