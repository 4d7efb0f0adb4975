"""coursekit.pooling.max_pool2d against a pixel loop and against PyTorch.

Workloads: 2x2 max pooling of a 64 x 8 x 136 x 136 float32 batch (the activation
maps of a first layer with 8 filters on 64 radar images), and the pooling shapes
of the book's networks: LeNet's 2x2 pools on a batch of 16 digits, and the
encoder-decoder's 3x3 pools on a batch of 8 crops of 81 pixels. Every ratio is
the median of interleaved pairs; the layer shapes are timed with one thread on
each side (timing.one_thread says why), in blocks of 10 calls (timing.versus_torch
says why).
"""

import contextlib

import numpy as np

from coursekit.pooling import max_pool2d
from coursekit.testing import pool2d_reference

from .timing import interleaved, one_thread, pairs_note, versus_torch

# name: (input shape, pool size)
SHAPES = {
    "radar": ((64, 8, 136, 136), 2),
    "lenet_pool1": ((16, 6, 28, 28), 2),
    "lenet_pool2": ((16, 16, 10, 10), 2),
    "encdec_pool1": ((8, 8, 81, 81), 3),
    "encdec_pool2": ((8, 16, 27, 27), 3),
    "encdec_pool3": ((8, 32, 9, 9), 3),
}


def run():
    x = np.random.default_rng(0).random(SHAPES["radar"][0], dtype=np.float32)
    # The loop would take minutes on the whole batch: compare it on one map (its cost
    # per output value does not depend on the batch).
    one_map = x[:1, :1]
    np.testing.assert_array_equal(pool2d_reference(one_map, 2), max_pool2d(one_map, 2))
    versus_loop = interleaved(lambda: pool2d_reference(one_map, 2), lambda: max_pool2d(one_map, 2), pairs=3)
    figures = [{"name": "max_pool2d_vs_pixel_loop", "value": versus_loop["ratio"], "target": ">= 20",
                "unit": "x faster than pixel loop", "note": f"one 136x136 map; {pairs_note(versus_loop)}"}]
    try:
        import torch
    except ImportError:
        figures.append({"name": "max_pool2d_vs_torch", "value": None, "target": "<= 1", "unit": "x torch time",
                        "note": "skipped: torch not installed (make torch)"})
        return figures
    for name, (shape, size) in SHAPES.items():
        x = np.random.default_rng(1).random(shape, dtype=np.float32)
        xt = torch.from_numpy(x)
        threads = contextlib.nullcontext() if name == "radar" else one_thread(torch)
        with torch.no_grad(), threads:
            np.testing.assert_array_equal(max_pool2d(x, size), torch.nn.functional.max_pool2d(xt, size).numpy())
            ours, theirs = lambda: max_pool2d(x, size), lambda: torch.nn.functional.max_pool2d(xt, size)
            result, timing = versus_torch(ours, theirs, layer=name != "radar")
            threads_note = f"torch {torch.get_num_threads()} thread(s)"
        figures.append({
            "name": "max_pool2d_vs_torch" if name == "radar" else f"max_pool2d_vs_torch_{name}",
            "value": result["ratio"], "target": "<= 1", "unit": "x torch time",
            "note": f"{shape}, {size}x{size}; {timing}; {threads_note}",
        })
    return figures
