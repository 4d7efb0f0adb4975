"""Floyd–Steinberg dithering: the wavefront against the pixel loop, per image.

Workload: radar images of 136x136 dithered to 0, 20, 40, 60 and 80 dBZ, one at a
time and as a batch of 1,000. The loop is timed on a few images (its cost per
image does not depend on the batch).
"""

import numpy as np

from coursekit.data import synthetic_radar
from coursekit.quantize import floyd_steinberg

from .timing import best_time

LEVELS = np.array([0, 20, 40, 60, 80], dtype=float)


def _loop(img):
    buf = img.astype(float).copy()
    rows, cols = buf.shape
    for y in range(rows):
        for x in range(cols):
            old = buf[y, x]
            new = LEVELS[np.argmin(np.abs(LEVELS - old))]
            buf[y, x] = new
            error = old - new
            if x + 1 < cols:
                buf[y, x + 1] += error * 7 / 16
            if y + 1 < rows and x - 1 >= 0:
                buf[y + 1, x - 1] += error * 3 / 16
            if y + 1 < rows:
                buf[y + 1, x] += error * 5 / 16
            if y + 1 < rows and x + 1 < cols:
                buf[y + 1, x + 1] += error * 1 / 16
    return buf


def run():
    x, _ = synthetic_radar(100, seed=3)
    images = np.concatenate([x[..., 0]] * 10).astype(float)  # 1,000 images
    one = images[7]
    loop = best_time(lambda: _loop(one), repeat=3, warmup=0)
    assert np.array_equal(_loop(one), floyd_steinberg(one, LEVELS))
    single = best_time(lambda: floyd_steinberg(one, LEVELS))
    batch = best_time(lambda: floyd_steinberg(images, LEVELS), repeat=3) / len(images)
    return [
        {"name": "floyd_steinberg_batch_vs_loop", "value": loop / batch, "target": ">= 100",
         "unit": "x faster per image", "note": f"batch of 1000: {batch * 1e3:.2f} ms/image; loop {loop * 1e3:.0f} ms"},
        {"name": "floyd_steinberg_single_vs_loop", "value": loop / single, "target": ">= 10",
         "unit": "x faster", "note": f"one image: {single * 1e3:.1f} ms"},
    ]
