"""coursekit.conv.conv2d against a loop of SciPy calls and against PyTorch.

Workload: a batch of 64 radar-sized images (1 x 136 x 136, float32) and 8 filters
of 3x3, as in a first convolutional layer on SVRIMG data.
"""

import numpy as np
from scipy import signal

from coursekit.conv import conv2d

from .timing import best_time


def run():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 80, size=(64, 1, 136, 136)).astype(np.float32)
    w = rng.normal(size=(8, 1, 3, 3)).astype(np.float32)

    ours = best_time(lambda: conv2d(x, w))

    def scipy_loop():
        return [[signal.correlate2d(x[n, 0], w[f, 0], mode="valid") for f in range(8)] for n in range(64)]

    figures = [{
        "name": "conv2d_vs_scipy_loop",
        "value": best_time(scipy_loop, repeat=3) / ours,
        "target": ">= 3",
        "unit": "x faster than scipy loop",
    }]
    try:
        import torch
    except ImportError:
        figures.append({"name": "conv2d_vs_torch", "value": None, "target": "<= 1.5",
                        "unit": "x torch time", "note": "skipped: torch not installed (make torch)"})
        return figures
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    with torch.no_grad():
        np.testing.assert_allclose(conv2d(x, w), torch.nn.functional.conv2d(xt, wt).numpy(), rtol=1e-4, atol=1e-3)
        reference = best_time(lambda: torch.nn.functional.conv2d(xt, wt))
    figures.append({
        "name": "conv2d_vs_torch",
        "value": ours / reference,
        "target": "<= 1.5",
        "unit": "x torch time",
        "note": f"torch {torch.__version__}, {torch.get_num_threads()} threads",
    })
    return figures
