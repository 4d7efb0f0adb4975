"""The ipywidgets explorers react to their sliders (no browser needed)."""

import numpy as np
import pytest
from matplotlib.colors import to_hex

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
    assert len(ax.patches) == 3  # the first, the next along the row, and the last
    _, ax = plt.subplots()
    show_windows(np.zeros((5, 5)), kernel=3, stride=2, ax=ax)
    assert len(ax.lines) == 4 and len(ax.patches) == 3
    _, ax = plt.subplots()
    show_windows(np.zeros((3, 5)), kernel=3, stride=1, ax=ax)   # one row of three windows
    assert len(ax.lines) == len(ax.patches) == 3


@pytest.mark.parametrize("kernel, padding, stride", [(3, 0, 1), (3, 1, 2), (5, 2, 1), (2, 0, 3), (1, 3, 4)])
def test_explorer_updates_the_output_shape(kernel, padding, stride):
    explorer = conv_explorer()
    kernel_slider, padding_slider, stride_slider = explorer.children[0].children
    kernel_slider.value, padding_slider.value, stride_slider.value = kernel, padding, stride
    size = len(range(0, 7 + 2 * padding - kernel + 1, stride))  # window positions that fit, counted
    assert explorer.children[1].value == f"output shape: ({size}, {size})"


def test_explorer_accepts_an_image_and_rejects_a_bad_one():
    explorer = conv_explorer(np.ones((10, 6)))
    assert explorer.children[0].children[0].max == 6
    with pytest.raises(ValueError, match="`image` must be a 2-dimensional"):
        conv_explorer(np.ones((2, 3, 4)))


# --- what the explorers draw ----------------------------------------------------------


def _figure(explorer):
    """The figure an explorer drew last, after checking it is the PNG its image shows."""
    import io

    from matplotlib.image import imread

    area = explorer.children[2]
    shown = imread(io.BytesIO(area.value), format="png")
    width, height = area.figure.get_size_inches() * 80  # drawn at 80 dpi, trimmed to the figure's content
    assert 0.5 * width < shown.shape[1] <= width + 1 and 0 < shown.shape[0] <= height + 1
    return area.figure


def _window_sums(image, kernel, padding, stride):
    """Reference: the sum of every window visited, with plain loops."""
    padded = np.pad(np.asarray(image, float), padding)
    starts = range(0, padded.shape[0] - kernel + 1, stride)
    return np.array([[padded[i : i + kernel, j : j + kernel].sum() for j in starts] for i in starts])


@pytest.mark.parametrize("kernel, padding, stride", [(3, 0, 2), (3, 1, 2), (2, 0, 3), (3, 0, 1), (5, 2, 4)])
def test_conv_explorer_panel_shows_the_window_sums_at_the_stride(kernel, padding, stride):
    explorer = conv_explorer()
    kernel_slider, padding_slider, stride_slider = explorer.children[0].children
    kernel_slider.value, padding_slider.value, stride_slider.value = kernel, padding, stride
    windows, sums = _figure(explorer).axes[:2]
    image = np.arange(49).reshape(7, 7) % 10
    expected = _window_sums(image, kernel, padding, stride)
    np.testing.assert_array_equal(sums.images[0].get_array(), expected)
    assert [t.get_text() for t in sums.texts] == [f"{v:g}" for v in expected.ravel()]
    assert len(windows.lines) == expected.size  # one dot per window visited
    assert f"k={kernel}, p={padding}, s={stride}" in windows.get_title()


def test_conv_explorer_first_window_sum_by_hand():
    explorer = conv_explorer()
    explorer.children[0].children[2].value = 2
    # Rows 0-2, columns 0-2 of (arange(49) % 10): 0+1+2 + 7+8+9 + 4+5+6 = 42; the next
    # window, two columns on: 2+3+4 + 9+0+1 + 6+7+8 = 40.
    assert _figure(explorer).axes[1].images[0].get_array()[0, :2].tolist() == [42, 40]


def test_levels_explorer_shows_original_quantized_and_dithered():
    from coursekit.quantize import floyd_steinberg_reference
    from coursekit.widgets import levels_explorer

    image = np.array([[0, 19, 20, 21], [39, 40, 61, 80]], dtype=float)
    explorer = levels_explorer(image)
    explorer.children[0].value = 3  # levels 0, 40, 80
    axes = _figure(explorer).axes
    assert [ax.get_title() for ax in axes] == ["original", "quantized", "dithered"]
    shown = [ax.images[0].get_array() for ax in axes]
    np.testing.assert_array_equal(shown[0], image)
    # Nearest of 0, 40, 80; 20 is a tie and goes down; 61 is 19 from 80 and 21 from 40.
    np.testing.assert_array_equal(shown[1], [[0, 0, 0, 40], [40, 40, 80, 80]])
    np.testing.assert_array_equal(shown[2], floyd_steinberg_reference(image, [0, 40, 80]))
    assert all(ax.images[0].cmap.name == "gray_r" and ax.images[0].get_clim() == (0, 80) for ax in axes)
    # |error| of the quantized image: 0 19 20 19 1 0 19 0, mean 78 / 8 = 9.75.
    assert explorer.children[1].value.startswith("3 levels, 40.0 dBZ apart: mean |error| quantized 9.75 dBZ")


def test_offset_explorer_shifts_the_forecast_and_scores_it():
    from coursekit.plotting import OVERLAP_COLORS
    from coursekit.widgets import offset_explorer

    mask = np.zeros((20, 20), dtype=np.uint8)
    mask[5:10, 5:10] = 1
    explorer = offset_explorer(mask, max_offset=8)
    assert explorer.children[0].max == 8
    explorer.children[0].value = 2  # rows 7-11 predicted: TP 3 x 5, FP 2 x 5, FN 2 x 5
    assert explorer.children[1].value == f"offset 2 px: IoU {15 / 35:.3f}, accuracy {1 - 20 / 400:.3f}"
    image = _figure(explorer).axes[0].images[0]
    colour = lambda r, c: to_hex(image.cmap(image.norm(image.get_array()[r, c])))  # noqa: E731
    assert colour(5, 5) == OVERLAP_COLORS["FN"] and colour(8, 5) == OVERLAP_COLORS["TP"]
    assert colour(11, 5) == OVERLAP_COLORS["FP"] and colour(0, 0) == OVERLAP_COLORS["TN"]


def test_offset_explorer_rejects_a_mask_that_is_not_binary():
    from coursekit.widgets import offset_explorer

    with pytest.raises(ValueError, match=r"`target` must be a binary mask.*\[2\]"):
        offset_explorer(np.full((4, 4), 2))
    with pytest.raises(ValueError, match="`max_offset` must be non-negative"):
        offset_explorer(np.ones((4, 4)), max_offset=-1)


def test_levels_explorer_rejects_non_finite_images():
    from coursekit.widgets import levels_explorer

    with pytest.raises(ValueError, match="`image` must hold finite values"):
        levels_explorer(np.full((4, 4), np.nan))


def test_an_executor_without_a_browser_runs_the_explorers_without_answering_them(monkeypatch):
    """nbclient (the book build's executor) answers every output an ipywidgets Output widget
    captures with a message on the kernel's shell socket, sent while it waits for the
    cell's reply on that socket; the wait then sometimes lasted until the cell's timeout
    (jupyter/nbclient#312), 300 s of the book build. The explorers draw into images,
    so the executor has nothing to answer, and every explorer's figure reaches it."""
    import nbformat
    from nbclient import NotebookClient, output_widget

    answers = []
    monkeypatch.setattr(output_widget.OutputWidget, "sync_state", lambda self: answers.append(self.comm_id))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in [
        "import numpy as np\nfrom coursekit.widgets import conv_explorer, levels_explorer, offset_explorer",
        "conv_explorer()",
        "levels_explorer(np.linspace(0, 80, 64).reshape(8, 8))",
        "offset_explorer(np.eye(8, dtype=bool))",
    ]])
    client = NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute()
    assert answers == []
    images = [comm for comm, state in client.widget_state.items() if state["_model_name"] == "ImageModel"]
    assert len(images) == 3
    for comm in images:  # the figure's PNG, base64-encoded
        assert client.widget_buffers[comm][("value",)]["data"].startswith("iVBORw0KGgo")
