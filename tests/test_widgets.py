"""The ipywidgets explorers react to their sliders (no browser needed)."""

import numpy as np
import pytest

from coursekit.conv import output_size
from coursekit.plotting import show_windows
from coursekit.widgets import conv_explorer


def test_stride_figure_matches_the_slides():
    assert show_windows(np.zeros((5, 5)), kernel=3, stride=1) == (3, 3)
    assert show_windows(np.zeros((5, 5)), kernel=3, stride=2) == (2, 2)


def test_windows_drawn_are_the_windows_visited():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    rows, cols = show_windows(np.zeros((7, 7)), kernel=3, padding=1, stride=2, ax=ax)
    assert len(ax.lines) == rows * cols == 16  # one dot per window visited
    assert len(ax.patches) == 2  # many windows: the first and the last are outlined
    _, ax = plt.subplots()
    show_windows(np.zeros((5, 5)), kernel=3, stride=2, ax=ax)
    assert len(ax.patches) == len(ax.lines) == 4


@pytest.mark.parametrize("kernel, padding, stride", [(3, 0, 1), (3, 1, 2), (5, 2, 1), (2, 0, 3), (1, 3, 4)])
def test_explorer_updates_the_output_shape(kernel, padding, stride):
    explorer = conv_explorer()
    kernel_slider, padding_slider, stride_slider = explorer.children[0].children
    kernel_slider.value, padding_slider.value, stride_slider.value = kernel, padding, stride
    size = output_size(7, kernel, padding, stride)
    assert explorer.children[1].value == f"output shape: ({size}, {size})"


def test_explorer_accepts_an_image_and_rejects_a_bad_one():
    explorer = conv_explorer(np.ones((10, 6)))
    assert explorer.children[0].children[0].max == 6
    with pytest.raises(ValueError, match="`image` must be a 2-dimensional"):
        conv_explorer(np.ones((2, 3, 4)))
