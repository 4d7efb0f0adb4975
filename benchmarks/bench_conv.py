"""coursekit.conv.conv2d against a loop of SciPy calls and against PyTorch.

Workloads: a batch of 64 radar-sized images (1 x 136 x 136, float32) through 8
filters of 3x3, as in a first layer on SVRIMG data; and the layer shapes of the
book's two networks: LeNet's two convolutions on a batch of 16 digits, and the
encoder-decoder's three encoder convolutions on a batch of 8 crops of 81 pixels.
Every ratio is the median of interleaved pairs; the layer shapes are timed with
one thread on each side (timing.one_thread says why), in blocks of 10 calls
(timing.versus_torch says why).
"""

import contextlib

import numpy as np
from scipy import signal

from coursekit.conv import conv2d

from .timing import interleaved, one_thread, pairs_note, versus_torch

# name: (input shape, weight shape, padding)
SHAPES = {
    "radar": ((64, 1, 136, 136), (8, 1, 3, 3), 0),
    "lenet_conv1": ((16, 1, 28, 28), (6, 1, 5, 5), 2),
    "lenet_conv2": ((16, 6, 14, 14), (16, 6, 5, 5), 0),
    "encdec_conv1": ((8, 1, 81, 81), (8, 1, 3, 3), 1),
    "encdec_conv2": ((8, 8, 27, 27), (16, 8, 3, 3), 1),
    "encdec_conv3": ((8, 16, 9, 9), (32, 16, 3, 3), 1),
}


def _arrays(x_shape, w_shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 80, size=x_shape).astype(np.float32),
            rng.normal(size=w_shape).astype(np.float32))


def run():
    x, w = _arrays(*SHAPES["radar"][:2])

    def scipy_loop():
        return [[signal.correlate2d(x[n, 0], w[f, 0], mode="valid") for f in range(8)] for n in range(64)]

    versus_scipy = interleaved(scipy_loop, lambda: conv2d(x, w), pairs=3)
    figures = [{"name": "conv2d_vs_scipy_loop", "value": versus_scipy["ratio"], "target": ">= 3",
                "unit": "x faster than scipy loop", "note": pairs_note(versus_scipy)}]
    try:
        import torch
    except ImportError:
        figures.append({"name": "conv2d_vs_torch", "value": None, "target": "<= 1",
                        "unit": "x torch time", "note": "skipped: torch not installed (make torch)"})
        return figures
    for name, (x_shape, w_shape, padding) in SHAPES.items():
        x, w = _arrays(x_shape, w_shape)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        # The radar batch runs both sides on their default threads; the small layer
        # shapes run on one thread each (see timing.one_thread).
        threads = contextlib.nullcontext() if name == "radar" else one_thread(torch)
        with torch.no_grad(), threads:
            np.testing.assert_allclose(conv2d(x, w, padding=padding),
                                       torch.nn.functional.conv2d(xt, wt, padding=padding).numpy(),
                                       rtol=1e-4, atol=2e-3)
            ours, theirs = (lambda: conv2d(x, w, padding=padding),
                            lambda: torch.nn.functional.conv2d(xt, wt, padding=padding))
            result, timing = versus_torch(ours, theirs, layer=name != "radar")
            threads_note = f"torch {torch.get_num_threads()} thread(s)"
        figures.append({
            "name": "conv2d_vs_torch" if name == "radar" else f"conv2d_vs_torch_{name}",
            "value": result["ratio"], "target": "<= 1", "unit": "x torch time",
            "note": f"{x_shape} * {w_shape}; {timing}; {threads_note}",
        })
    return figures
