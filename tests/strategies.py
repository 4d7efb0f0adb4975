"""Hypothesis strategies shared by the tests of coursekit.nn and the models (MiniTorch style).

Shapes stay small so that central differences over every entry take milliseconds.
"""

import numpy as np
from hypothesis import strategies as st

seeds = st.integers(0, 2**32 - 1)
small = st.integers(1, 3)


def pairs(low, high):
    return st.tuples(st.integers(low, high), st.integers(low, high))


@st.composite
def conv_configs(draw):
    """A Conv2D set-up whose window fits: batch, channels, kernel, stride, padding, input side."""
    kernel, stride, padding = draw(pairs(1, 4)), draw(pairs(1, 3)), draw(pairs(0, 2))
    smallest = [max(1, k - 2 * p) for k, p in zip(kernel, padding)]
    rows, cols = (draw(st.integers(low, low + 5)) for low in smallest)
    return {"n": draw(st.integers(1, 2)), "c_in": draw(small), "c_out": draw(small), "kernel": kernel,
            "stride": stride, "padding": padding, "shape": (rows, cols), "seed": draw(seeds)}


@st.composite
def pool_configs(draw):
    """A pooling set-up (no padding) whose window fits; stride may be smaller than the window."""
    size, stride = draw(pairs(1, 3)), draw(pairs(1, 3))
    rows, cols = (draw(st.integers(s, s + 5)) for s in size)
    return {"shape": (draw(st.integers(1, 2)), draw(small), rows, cols), "size": size, "stride": stride,
            "seed": draw(seeds)}


shapes_nchw = st.tuples(st.integers(1, 2), small, st.integers(1, 5), st.integers(1, 5))


def normal(seed, shape):
    """Standard normal float64 values: ties (in max pooling) have probability zero."""
    return np.random.default_rng(seed).normal(size=shape)


@st.composite
def conv_transpose_configs(draw):
    """A ConvTranspose2D set-up whose output is at least one pixel: batch, channels, kernel, stride,
    padding, output padding (less than the stride), input side."""
    kernel, stride = draw(pairs(1, 4)), draw(pairs(1, 3))
    padding = tuple(draw(st.integers(0, k)) for k in kernel)
    output_padding = tuple(draw(st.integers(0, s - 1)) for s in stride)
    # Smallest input side whose output (n - 1) s - 2 p + k + output_padding is at least 1.
    smallest = [max(1, -(-(2 * p - k - e + 1) // s) + 1) for k, s, p, e in zip(kernel, stride, padding, output_padding)]
    rows, cols = (draw(st.integers(low, low + 4)) for low in smallest)
    return {"n": draw(st.integers(1, 2)), "c_in": draw(small), "c_out": draw(small), "kernel": kernel,
            "stride": stride, "padding": padding, "output_padding": output_padding, "shape": (rows, cols),
            "seed": draw(seeds)}
