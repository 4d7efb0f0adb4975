"""coursekit.pooling.max_pool2d against a pixel loop and against PyTorch.

Workload: 2x2 max pooling of a 64 x 8 x 136 x 136 float32 batch (the activation
maps of a first layer with 8 filters on 64 radar images).
"""

import numpy as np

from coursekit.pooling import max_pool2d

from .timing import best_time


def _pixel_loop(x):
    out = np.empty(x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2), dtype=x.dtype)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    out[n, c, i, j] = x[n, c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max()
    return out


def run():
    x = np.random.default_rng(0).random((64, 8, 136, 136), dtype=np.float32)
    ours = best_time(lambda: max_pool2d(x, 2))
    # The loop would take minutes on the whole batch: time it on one map and scale by
    # the number of maps (its cost per output value does not depend on the batch).
    one_map = x[:1, :1]
    np.testing.assert_array_equal(_pixel_loop(one_map), max_pool2d(one_map, 2))
    loop = best_time(lambda: _pixel_loop(one_map), repeat=3) * x.shape[0] * x.shape[1]
    figures = [{"name": "max_pool2d_vs_pixel_loop", "value": loop / ours, "target": ">= 20",
                "unit": "x faster than pixel loop", "note": "loop timed on one 136x136 map, scaled to 512"}]
    try:
        import torch
    except ImportError:
        figures.append({"name": "max_pool2d_vs_torch", "value": None, "target": "<= 2", "unit": "x torch time",
                        "note": "skipped: torch not installed (make torch)"})
        return figures
    xt = torch.from_numpy(x)
    with torch.no_grad():
        np.testing.assert_array_equal(max_pool2d(x, 2), torch.nn.functional.max_pool2d(xt, 2).numpy())
        reference = best_time(lambda: torch.nn.functional.max_pool2d(xt, 2))
    figures.append({"name": "max_pool2d_vs_torch", "value": ours / reference, "target": "<= 2",
                    "unit": "x torch time", "note": f"torch {torch.__version__}, {torch.get_num_threads()} threads"})
    return figures
