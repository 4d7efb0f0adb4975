"""Interactive explorers (ipywidgets) that run in Jupyter and Colab.

Each explorer redraws a figure made by a function of :mod:`coursekit.plotting`,
so the static book can show the same figure for a few fixed settings. The figure
is shown as a PNG in an ``ipywidgets.Image`` (:func:`_figure_area`), not captured
by an ``Output`` widget: when a notebook is executed without a browser (the book
build, papermill, nbclient), the executor answers every output an ``Output``
widget captures with a message to the kernel, sent while it waits for the cell's
reply on the same socket, and that wait then sometimes lasts until the cell's
timeout (jupyter/nbclient#312): 300 s of the book's build, in two runs of three.

Used in: Padding, stride and pooling; Quantization and dithering; Pixel-wise metrics.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from ._validation import as_array, as_int, binary_mask, check_finite
from .conv import conv2d
from .plotting import show_windows

__all__ = ["conv_explorer", "levels_explorer", "offset_explorer"]


def conv_explorer(image=None):
    """Sliders for kernel size, padding and stride over a small image.

    Shows the windows the kernel visits, the output shape, and the output of an
    all-ones kernel (the window sums).

    Parameters
    ----------
    image : (H, W) array_like, optional
        At most 12x12 reads well; a 7x7 ramp by default.

    Returns
    -------
    ipywidgets.VBox
        The sliders, a shape label and the figure (an image whose ``figure`` is the
        Matplotlib figure); display it in a notebook.

    Examples
    --------
    >>> explorer = conv_explorer()
    >>> kernel, padding, stride = explorer.children[0].children
    >>> stride.value = 2
    >>> explorer.children[1].value
    'output shape: (3, 3)'

    Used in: Padding, stride and pooling.
    """
    import ipywidgets as widgets

    image = np.arange(49).reshape(7, 7) % 10 if image is None else as_array(image, "image", 2)
    kernel = widgets.IntSlider(value=3, min=1, max=min(image.shape), description="kernel")
    padding = widgets.IntSlider(value=0, min=0, max=3, description="padding")
    stride = widgets.IntSlider(value=1, min=1, max=4, description="stride")
    shape_label = widgets.Label()
    figure_area = _figure_area()

    def redraw(_=None):
        k, p, s = kernel.value, padding.value, stride.value
        fig = Figure(figsize=(9, 4.2))
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        rows, cols = show_windows(image, k, p, s, ax=left)
        sums = conv2d(image[None, None], np.ones((1, 1, k, k)), stride=s, padding=p)[0, 0]
        right.imshow(sums, cmap="viridis")
        for (r, c), value in np.ndenumerate(sums):
            right.text(c, r, f"{value:g}", ha="center", va="center", color="white", fontsize=8)
        right.set_title("output (window sums)", fontsize=9)
        right.set_xticks([])
        right.set_yticks([])
        fig.tight_layout()
        _draw(fig, figure_area)
        shape_label.value = f"output shape: ({rows}, {cols})"

    for slider in (kernel, padding, stride):
        slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([kernel, padding, stride]), shape_label, figure_area])


def levels_explorer(image):
    """A slider for the number of levels: the image quantized and dithered side by side.

    Parameters
    ----------
    image : (H, W) array_like
        Reflectivity in dBZ (0 to 80).

    Returns
    -------
    ipywidgets.VBox
        The slider, a line of error statistics, and the figure (as in :func:`conv_explorer`).

    Examples
    --------
    >>> explorer = levels_explorer(np.linspace(0, 80, 64).reshape(8, 8))
    >>> explorer.children[0].value = 3
    >>> explorer.children[1].value.startswith("3 levels")
    True

    Used in: Quantization and dithering.
    """
    import ipywidgets as widgets

    from .quantize import floyd_steinberg, nearest_level

    image = check_finite(as_array(image, "image", 2, allow_bool=False), "image").astype(float)
    count = widgets.IntSlider(value=5, min=2, max=17, description="levels")
    stats = widgets.Label()
    figure_area = _figure_area()

    def redraw(_=None):
        levels = np.linspace(0, 80, count.value)
        quantized = nearest_level(image, levels)
        dithered = floyd_steinberg(image, levels)
        fig = Figure(figsize=(11, 3.8))
        for ax, (title, shown) in zip(fig.subplots(1, 3), [("original", image), ("quantized", quantized),
                                                             ("dithered", dithered)]):
            ax.imshow(shown, cmap="gray_r", vmin=0, vmax=80)
            ax.set_title(title)
            ax.set_axis_off()
        _draw(fig, figure_area)
        stats.value = (f"{count.value} levels, {80 / (count.value - 1):.1f} dBZ apart: mean |error| "
                       f"quantized {np.abs(quantized - image).mean():.2f} dBZ, "
                       f"dithered {np.abs(dithered - image).mean():.2f} dBZ")

    count.observe(redraw, names="value")
    redraw()
    return widgets.VBox([count, stats, figure_area])


def offset_explorer(target, max_offset=30):
    """A slider that shifts a copy of a mask down: the overlap, IoU and accuracy live.

    Parameters
    ----------
    target : (H, W) array_like of bool or 0/1
        The mask to forecast, for example ``reflectivity >= 40``.
    max_offset : int, optional
        Largest shift, in pixels.

    Returns
    -------
    ipywidgets.VBox
        The slider, a line with IoU and accuracy, and the overlap figure (as in
        :func:`conv_explorer`).

    Examples
    --------
    >>> mask = np.zeros((20, 20), dtype=bool); mask[5:10, 5:10] = True
    >>> explorer = offset_explorer(mask)
    >>> explorer.children[0].value = 5
    >>> explorer.children[1].value
    'offset 5 px: IoU 0.000, accuracy 0.875'

    Used in: Pixel-wise metrics.
    """
    import ipywidgets as widgets

    from .metrics import accuracy, iou, shift_down
    from .plotting import show_overlap

    target = binary_mask(as_array(target, "target", 2), "target")
    offset = widgets.IntSlider(value=0, min=0, max=as_int(max_offset, "max_offset", 0), description="offset (px)")
    scores = widgets.Label()
    figure_area = _figure_area()

    def redraw(_=None):
        prediction = shift_down(target, offset.value)
        fig = Figure(figsize=(5, 4.5))
        show_overlap(target, prediction, ax=fig.subplots())
        _draw(fig, figure_area)
        scores.value = (f"offset {offset.value} px: IoU {iou(target, prediction):.3f}, "
                        f"accuracy {accuracy(target, prediction):.3f}")

    offset.observe(redraw, names="value")
    redraw()
    return widgets.VBox([offset, scores, figure_area])


def _figure_area():
    """The widget an explorer draws its figure into: an image, as wide as the notebook allows."""
    import ipywidgets as widgets

    return widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))


def _draw(figure, area):
    """Show a Matplotlib `figure` in `area` (:func:`_figure_area`) as a PNG.

    ``area.figure`` keeps the figure last drawn, which the tests read. The figure
    is made without pyplot, so redrawing at every move of a slider leaves no open
    figures behind.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    area.value = buffer.getvalue()
    area.figure = figure
