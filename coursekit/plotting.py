"""Figures for the book: the radar reflectivity colour scale and image grids.

Used in: every chapter.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import matplotlib.pyplot as plt
from matplotlib import patheffects
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize

from ._validation import as_array, as_bool, as_int, as_number, binary_mask, one_of, same_shape, window_fits
from .data import PIXEL_KM
from .nn import (AvgPool2D, Conv2D, ConvTranspose2D, Dense, Flatten, Layer, MaxPool2D, ReLU, Sequential, Sigmoid,
                 SkipConcat, Unpool2D)
from .pooling import max_pool2d

__all__ = [
    "BLOCK_COLORS",
    "Block",
    "CHANNEL_COLORS",
    "DBZ_BOUNDS",
    "NWS_COLORS",
    "WINDOW_COLORS",
    "draw_max_pooling",
    "draw_multichannel_conv",
    "draw_network",
    "network_blocks",
    "north_arrow",
    "performance_diagram",
    "radar_cmap",
    "show_images",
    "show_overlap",
    "show_radar",
    "show_windows",
]

#: Colours of the four outcomes in :func:`show_overlap`.
OVERLAP_COLORS = {"TN": "#ffffff", "FP": "#f4a261", "FN": "#2a9d8f", "TP": "#264653"}

#: Colour of each 5 dBZ band of the U.S. National Weather Service reflectivity
#: scale, starting at 0 dBZ: white for no echo, blues for light returns, greens,
#: yellows and reds for heavier rain, magenta and purple for hail cores, white at 75.
NWS_COLORS = (
    "#ffffff",  # 0-5: no echo
    "#04e9e7", "#019ff4", "#0300f4",  # 5, 10, 15
    "#02fd02", "#01c501", "#008e00",  # 20, 25, 30
    "#fdf802", "#e5bc00", "#fd9500",  # 35, 40, 45
    "#fd0000", "#d40000", "#bc0000",  # 50, 55, 60
    "#f800fd", "#9854c6", "#fdfdfd",  # 65, 70, 75
)
#: Band edges in dBZ: 0, 5, ..., 80.
DBZ_BOUNDS = tuple(range(0, 85, 5))


def radar_cmap():
    """The NWS reflectivity colour map and its 5 dBZ BoundaryNorm.

    Returns
    -------
    cmap : matplotlib.colors.ListedColormap
        16 colours, one per 5 dBZ band from 0 to 80 dBZ.
    norm : matplotlib.colors.BoundaryNorm
        Maps a dBZ value to its band.

    Examples
    --------
    >>> cmap, norm = radar_cmap()
    >>> cmap.N, int(norm(42))
    (16, 8)

    Used in: every chapter that shows a radar image, through :func:`show_radar`
    and :func:`show_images`.
    """
    cmap = ListedColormap(NWS_COLORS, name="nws_reflectivity")
    norm = BoundaryNorm(DBZ_BOUNDS, cmap.N)
    return cmap, norm


def north_arrow(ax, size=0.14, loc=(0.92, 0.70)):
    """Draw a north arrow with an N above its head on a map's axes (north-up images only).

    Arrow and letter sit on white so that they read over any echo.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    size : float, optional
        Length of the arrow as a share of the axes' height.
    loc : (float, float), optional
        Position of the arrow's tail in axes coordinates (0 to 1).

    Returns
    -------
    matplotlib.text.Text
        The letter N.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> north_arrow(ax).get_text()
    'N'

    Used in: every chapter that shows a radar image (through :func:`show_radar`).
    """
    x, y = loc
    ax.annotate("", xy=(x, y + size), xytext=(x, y), xycoords="axes fraction", textcoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_width=0.3,head_length=0.6", "color": "black", "lw": 1.6,
                            "path_effects": [patheffects.withStroke(linewidth=3.5, foreground="white")]})
    return ax.text(x, y + size + 0.015, "N", transform=ax.transAxes, ha="center", va="bottom",
                   fontsize=9, fontweight="bold", gid="north-arrow",
                   bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


def _as_image(img, name="img"):
    img = as_array(img, name, (2, 3))
    if img.ndim == 3:
        if img.shape[-1] != 1:
            raise ValueError(
                f"The parameter `{name}` must be (H, W) or (H, W, 1); got shape {img.shape}"
            )
        img = img[..., 0]
    return img


def show_radar(img, ax=None, title=None, pixel_km=PIXEL_KM, colorbar=True, cmap=None):
    """Show a north-up reflectivity image on the NWS colour scale, as a map.

    Axes are in km from the image's south-west corner (x east, y north, as on a
    map), and a north arrow marks the top, as on SVRIMG's own plots.

    Parameters
    ----------
    img : (H, W) or (H, W, 1) array_like
        Reflectivity in dBZ.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.
    title : str, optional
    pixel_km : float, optional
        Width of one pixel in km; SVRIMG's 136 pixels span about 512 km.
    colorbar : bool, optional
        Add a colour bar labelled in dBZ.
    cmap : str, optional
        Another colour map on a linear 0-80 dBZ scale (``"gray_r"`` shows what
        dithering does to tones); the NWS scale by default.

    Returns
    -------
    matplotlib.image.AxesImage

    Examples
    --------
    >>> img = np.zeros((136, 136), dtype=np.uint8)
    >>> img[60:70, 60:70] = 55
    >>> shown = show_radar(img, title="one cell")
    >>> shown.axes.get_xlabel(), shown.get_extent()[1]
    ('km east', 512.0)

    Used in: Convolution, and every chapter that shows a radar image.
    """
    img = _as_image(img)
    pixel_km = as_number(pixel_km, "pixel_km", positive=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4))
    if cmap is None:
        cmap, norm = radar_cmap()
    else:
        norm = Normalize(0, 80)
    shown = ax.imshow(
        img,
        cmap=cmap,
        norm=norm,
        extent=_map_extent(img.shape, pixel_km),
        interpolation="nearest",
    )
    ax.set_xlabel("km east")
    ax.set_ylabel("km north")
    north_arrow(ax)
    if title:
        ax.set_title(title)
    if colorbar:
        bar = ax.figure.colorbar(shown, ax=ax, ticks=DBZ_BOUNDS[::2], fraction=0.046, pad=0.04)
        bar.set_label("reflectivity (dBZ)")
    return shown


def show_images(images, titles=None, ncols=4, cmap="gray", radar=False, size=2.4, symmetric=False,
                pixel_km=PIXEL_KM):
    """Show images side by side in a grid.

    With ``radar=True`` each panel is a north-up map: NWS colours, km axes on the
    outer panels, a north arrow on each, and one dBZ colour bar for the figure.

    Parameters
    ----------
    images : sequence of (H, W) or (H, W, 1) array_like, or (N, H, W[, 1]) array
    titles : sequence of str, optional
        One per image.
    ncols : int, optional
        Images per row.
    cmap : str, optional
        Colour map for non-radar images.
    radar : bool, optional
        Draw every image on the NWS reflectivity scale (0-80 dBZ).
    size : float, optional
        Width in inches of one panel.
    symmetric : bool, optional
        Centre the colour scale of each panel on 0, for signed filter responses.
    pixel_km : float, optional
        Radar only: width of one pixel in km (a pooled map has wider pixels).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_images(np.zeros((3, 8, 8)), titles=["a", "b", "c"], ncols=2)
    >>> len(fig.axes)  # a 2x2 grid, the fourth panel left blank
    4

    Used in: Convolution.
    """
    images = [_as_image(img, "images") for img in images]
    pixel_km = as_number(pixel_km, "pixel_km", positive=True)
    radar, symmetric = as_bool(radar, "radar"), as_bool(symmetric, "symmetric")
    if not images:
        raise ValueError("The parameter `images` must hold at least one image; got none")
    if titles is not None and len(titles) != len(images):
        raise ValueError(
            f"The parameter `titles` must have one entry per image ({len(images)}); got {len(titles)}"
        )
    ncols = min(as_int(ncols, "ncols", 1), len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    radar_colors, radar_norm = radar_cmap()
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= len(images):
            ax.set_axis_off()
            continue
        img = images[index]
        if radar:
            shown = ax.imshow(img, cmap=radar_colors, norm=radar_norm, interpolation="nearest",
                              extent=_map_extent(img.shape, pixel_km))
            _km_ticks(ax, img.shape, pixel_km, left=index % ncols == 0,
                      bottom=index + ncols >= len(images))
            north_arrow(ax)
        elif symmetric:
            limit = float(np.abs(img).max()) or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        else:
            ax.imshow(img, cmap=cmap, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[index], fontsize=10)
    fig.tight_layout()
    if radar:
        bar = fig.colorbar(shown, ax=axes.ravel().tolist(), ticks=DBZ_BOUNDS[::2], fraction=0.03, pad=0.02)
        bar.set_label("reflectivity (dBZ)")
    return fig


def _map_extent(shape, pixel_km):
    """Where imshow puts a north-up image of `shape` (rows, columns) on a map in km:
    (left, right, bottom, top), so that row 0, the northern edge, is at the top and y
    counts km north of the southern edge."""
    return (0, shape[1] * pixel_km, 0, shape[0] * pixel_km)


def _km_ticks(ax, shape, pixel_km, left, bottom):
    """Ticks every 100 or 200 km on a map's outer sides; inner panels stay clean."""
    span = max(shape) * pixel_km
    step = 200 if span > 300 else 100 if span > 120 else 20
    ax.set_xticks(np.arange(0, shape[1] * pixel_km + 1e-9, step) if bottom else [])
    ax.set_yticks(np.arange(0, shape[0] * pixel_km + 1e-9, step) if left else [])
    ax.tick_params(labelsize=7, length=2)
    if bottom:
        ax.set_xlabel("km east", fontsize=8)
    if left:
        ax.set_ylabel("km north", fontsize=8)


def show_windows(x, kernel, padding=0, stride=1, ax=None, values=True):
    """Draw where a ``kernel x kernel`` window lands on a (zero-padded) image.

    The centre of every window visited is marked with a dot, so the grid of dots
    is the output's grid. Three windows are drawn, no more, so that overlapping
    outlines never hide the picture: the first, shaded; the next one along the row,
    dashed, with an arrow from the first's centre to its centre, one stride long;
    and the last. Padding cells are grey.

    Parameters
    ----------
    x : (H, W) array_like
        A small image (a dozen pixels a side at most reads well).
    kernel : int
        Window size.
    padding : int, optional
        Zeros added on each side.
    stride : int, optional
        Step between windows.
    ax : matplotlib.axes.Axes, optional
    values : bool, optional
        Write each pixel's value in its cell.

    Returns
    -------
    (int, int)
        The output shape, ``output_size`` along each axis.

    Examples
    --------
    >>> show_windows(np.zeros((5, 5)), kernel=3, stride=2)
    (2, 2)

    Used in: Padding, stride and pooling.
    """
    from .conv import output_size, pad2d

    x = as_array(x, "x", 2)
    # Checked here, so that errors name this function's parameters, not output_size's k.
    kernel, padding = as_int(kernel, "kernel", 1), as_int(padding, "padding", 0)
    stride = as_int(stride, "stride", 1)
    window_fits((kernel, kernel), x.shape, (padding, padding), "window `kernel`", "x")
    out_rows = output_size(x.shape[0], kernel, padding, stride)
    out_cols = output_size(x.shape[1], kernel, padding, stride)
    padded = pad2d(x, padding)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * padded.shape[1] + 1, 0.45 * padded.shape[0] + 1))
    is_pad = np.ones(padded.shape, dtype=bool)
    is_pad[padding : padding + x.shape[0], padding : padding + x.shape[1]] = False
    ax.imshow(np.where(is_pad, 0.35, 0.0), cmap="Greys", vmin=0, vmax=1)
    if values and padded.size <= 400:
        for (r, c), value in np.ndenumerate(padded):
            ax.text(c, r, f"{value:g}", ha="center", va="center", fontsize=8,
                    color="dimgray" if is_pad[r, c] else "black")
    count = out_rows * out_cols
    colors = plt.cm.viridis(np.linspace(0, 0.9, count))
    styles = {0: {"fill": True, "alpha": 0.25}, 1: {"fill": False, "ls": "--"}, count - 1: {"fill": False}}
    for number, (i, j) in enumerate(np.ndindex(out_rows, out_cols)):
        top, left = i * stride - 0.5, j * stride - 0.5
        if number in styles and (number != 1 or out_cols > 1):
            ax.add_patch(plt.Rectangle((left, top), kernel, kernel, lw=2, edgecolor=colors[number],
                                       facecolor=colors[number], **styles[number]))
        # A dot at the centre of every window visited shows the grid of positions.
        centre = (left + kernel / 2, top + kernel / 2)
        ax.plot(*centre, "o", color=colors[number], markersize=6, markeredgecolor="white")
    if out_cols > 1:   # one step of the stride, from the first window's centre to the next's
        start = (kernel / 2 - 0.5, kernel / 2 - 0.5)
        ax.annotate("", xy=(start[0] + stride, start[1]), xytext=start,
                    arrowprops={"arrowstyle": "->", "color": "crimson", "lw": 2})
        ax.text(start[0] + stride / 2, start[1] - 0.25, f"stride {stride}", color="crimson", ha="center",
                va="bottom", fontsize=9, fontweight="bold")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"n={x.shape[0]}x{x.shape[1]}, k={kernel}, p={padding}, s={stride}: output {out_rows}x{out_cols}",
                 fontsize=11)
    return out_rows, out_cols


def show_overlap(target, prediction, ax=None, title=None):
    """Draw where a predicted mask hits and misses a target mask.

    True negatives white, false positives orange, false negatives teal, true
    positives dark blue-grey, with a legend giving each count.

    Parameters
    ----------
    target, prediction : (H, W) array_like of bool or 0/1
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    dict of str -> int
        The counts ``TP``, ``FP``, ``FN`` and ``TN``.

    Examples
    --------
    >>> show_overlap(np.eye(3), np.ones((3, 3)))
    {'TN': 0, 'FP': 6, 'FN': 0, 'TP': 3}

    Used in: Pixel-wise metrics.
    """
    from matplotlib.patches import Patch

    target = binary_mask(as_array(target, "target", 2), "target")
    prediction = binary_mask(as_array(prediction, "prediction", 2), "prediction")
    same_shape(target, prediction, "target", "prediction")
    outcome = target.astype(int) * 2 + prediction.astype(int)  # 0 TN, 1 FP, 2 FN, 3 TP
    names = ["TN", "FP", "FN", "TP"]
    counts = {name: int(np.sum(outcome == k)) for k, name in enumerate(names)}
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.imshow(outcome, cmap=ListedColormap([OVERLAP_COLORS[n] for n in names]), vmin=0, vmax=3,
              interpolation="nearest")
    ax.legend(handles=[Patch(facecolor=OVERLAP_COLORS[n], edgecolor="gray", label=f"{n} {counts[n]:,}")
                       for n in names], loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return counts


def performance_diagram(forecasts, ax=None, csi_levels=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                        bias_levels=(0.5, 0.8, 1.0, 1.25, 2.0, 4.0), title=None):
    """Roebber's (2009) performance diagram: POD against success ratio, with CSI and bias read off the grid.

    Each forecast is a point at (success ratio, POD), ``1 - FAR`` across and the
    share of the observed pixels found up. Solid curves join the points of equal
    CSI, ``1 / (1 / SR + 1 / POD - 1)``; dashed lines through the origin join those
    of equal frequency bias, ``POD / SR``. A perfect forecast sits in the top right
    corner; over-forecasting moves a point up and left, under-forecasting down and right.

    Parameters
    ----------
    forecasts : mapping of str -> Counts
        One point per name, from the counts :func:`coursekit.metrics.confusion_counts`
        gives (pool a batch with ``.pooled()`` first).
    ax : matplotlib.axes.Axes, optional
    csi_levels, bias_levels : sequence of float, optional
        The CSI curves and bias lines drawn.
    title : str, optional

    Returns
    -------
    dict of str -> (float, float)
        Each forecast's (success ratio, POD), where its marker is.

    Examples
    --------
    >>> from coursekit.metrics import Counts
    >>> performance_diagram({"a forecast": Counts(tp=6, fp=2, fn=4, tn=88)})
    {'a forecast': (0.75, 0.6)}

    Used in: Pixel-wise metrics.
    """
    if not hasattr(forecasts, "items") or not forecasts:
        raise TypeError(f"The parameter `forecasts` must be a non-empty mapping of names to Counts; got {forecasts!r}")
    points = {}
    for name, counts in forecasts.items():
        if not all(hasattr(counts, score) for score in ("success_ratio", "pod")) or np.ndim(counts.tp):
            raise TypeError(f"`forecasts[{name!r}]` must be the Counts of one image or of a pooled batch; "
                            f"got {counts!r}")
        points[name] = (float(counts.success_ratio), float(counts.pod))
    for level in (*csi_levels, *bias_levels):
        as_number(level, "csi_levels and bias_levels", positive=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 5.2))
    sr, pod = np.meshgrid(np.linspace(0.005, 1, 200), np.linspace(0.005, 1, 200))
    curves = ax.contour(sr, pod, 1 / (1 / sr + 1 / pod - 1), levels=sorted(csi_levels), colors="0.55",
                        linewidths=0.8)
    curves.set_gid("csi")
    ax.clabel(curves, fmt="CSI %.1f", fontsize=7)
    for bias in bias_levels:
        end = (1.0, bias) if bias <= 1 else (1 / bias, 1.0)   # the line POD = bias * SR, up to the frame
        ax.plot([0, end[0]], [0, end[1]], ls="--", color="0.35", lw=0.8, gid=f"bias {bias:g}")
        # Labelled just outside the frame, where the line leaves it: the top right stays clear for the points.
        ax.annotate(f"bias {bias:g}", end, xytext=(3, 0) if bias <= 1 else (0, 3), textcoords="offset points",
                    ha="left" if bias <= 1 else "center", va="center" if bias <= 1 else "bottom",
                    fontsize=7, color="0.25", annotation_clip=False)
    markers = "osD^vP*X"
    for k, (name, (x, y)) in enumerate(points.items()):
        ax.plot(x, y, markers[k % len(markers)], ms=9, mec="black", label=name, zorder=3)
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="success ratio (1 - FAR)",
           ylabel="probability of detection (POD)")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.95)
    if title:
        ax.set_title(title, pad=16)   # above the bias labels
    return points


# Schematics: architecture diagrams read off the model objects, and the two operations
# that are easier to see than to read, multi-channel convolution and max pooling.

#: Fill colour of each kind of block in :func:`draw_network`.
BLOCK_COLORS = {
    "input": "#e0e0e0",
    "conv": "#9ecae1",        # blue: convolutions, with the activation that follows them
    "pool": "#fdae6b",        # orange: pooling shrinks the maps
    "upsample": "#a1d99b",    # green: transposed convolution and unpooling grow them
    "concat": "#ffffff",      # white: the joint of a skip connection
    "flatten": "#d9d9d9",
    "dense": "#cbb8e3",       # purple: fully connected
    "activation": "#fff2ae",  # only when no convolution or dense layer precedes it
    "other": "#f2f2f2",
}
_SKIP_COLOR = "#3b5b7a"
#: The arrows of the schematics: a filled head, drawn from point to point exactly.
_ARROW = {"arrowstyle": "-|>", "mutation_scale": 10, "color": "#222222", "lw": 1.1, "shrinkA": 0, "shrinkB": 0}


def _schematic_axes(ax, width, height, margin=0.0):
    """Axes whose units are inches: a new figure `width` x `height` inches when `ax` is None.

    Text is set in points, so drawing in inches keeps every label the size it was
    measured at; the caller's `ax`, if given, is only made to show the same region.
    """
    if ax is None:
        ax = plt.figure(figsize=(width, height)).add_axes((0, 0, 1, 1))
    ax.set_xlim(-margin, width - margin)
    ax.set_ylim(-margin, height - margin)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


class Block(NamedTuple):
    """One box of :func:`draw_network`: a layer (or a convolution and its activation)."""

    name: str    #: where the layer sits in the model, e.g. ``"level 2/block 2/conv2d 1"``
    kind: str    #: a key of :data:`BLOCK_COLORS`
    label: str   #: what the box says the layer does, one line per ``\\n``
    shape: tuple  #: the layer's output shape for one input, without the batch axis

    @property
    def size(self):
        """The output shape in LeNet's notation, ``"6@28×28"`` (maps @ rows × columns), or ``"400"``."""
        if len(self.shape) == 3:
            return f"{self.shape[0]}@{self.shape[1]}×{self.shape[2]}"
        return "×".join(map(str, self.shape))


def _square(pair):
    return f"{pair[0]}×{pair[1]}"


def _step(pair):
    """A padding or stride: one number when rows and columns agree, else both."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _layer_block(layer):
    """(kind, label) of a layer that is not a container."""
    if isinstance(layer, Conv2D):
        options = ([f"pad {_step(layer.padding)}"] if any(layer.padding) else []) + \
                  ([f"stride {_step(layer.stride)}"] if layer.stride != (1, 1) else [])
        return "conv", "\n".join([f"conv {_square(layer.kernel)}", *options])
    if isinstance(layer, ConvTranspose2D):
        return "upsample", f"up-conv\n{_square(layer.kernel)}\nstride {_step(layer.stride)}"
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        kind = "max" if isinstance(layer, MaxPool2D) else "avg"
        stride = f"\nstride {_step(layer.stride)}" if layer.stride != layer.size else ""
        return "pool", f"{kind} pool\n{_square(layer.size)}{stride}"
    if isinstance(layer, Unpool2D):
        return "upsample", f"unpool ×{layer.size}\n{layer.mode}"
    if isinstance(layer, Flatten):
        return "flatten", "flatten"
    if isinstance(layer, Dense):
        return "dense", "dense"
    if isinstance(layer, (ReLU, Sigmoid)):
        return "activation", "ReLU" if isinstance(layer, ReLU) else "sigmoid"
    return "other", type(layer).__name__


def _trace(layer, x, name, blocks, skips):
    """Run `x` through `layer` one layer at a time, appending a Block per box; return the output.

    Each leaf layer runs its own ``forward``, so every shape drawn is one the code computes.
    A SkipConcat adds a "concat" box and a (source box, concat box) pair to `skips`.
    """
    if isinstance(layer, Sequential):
        for child_name, child in zip(layer.names, layer.layers):
            x = _trace(child, x, f"{name}/{child_name}" if name else child_name, blocks, skips)
        return x
    if isinstance(layer, SkipConcat):
        source = len(blocks) - 1
        y = _trace(layer.inner, x, name, blocks, skips)
        out = np.concatenate([y, x], axis=1)  # SkipConcat's order: the inner maps, then its input
        blocks.append(Block(f"{name}/concat" if name else "concat", "concat", "concat", out.shape[1:]))
        skips.append((source, len(blocks) - 1))
        return out
    out = layer.forward(x)
    kind, label = _layer_block(layer)
    previous = blocks[-1] if blocks else None
    if kind == "activation" and previous and previous.kind in ("conv", "dense", "upsample") \
            and not previous.label.endswith(("ReLU", "sigmoid")):
        # A non-linearity belongs to the layer it follows: one box, "conv 5×5 + sigmoid".
        blocks[-1] = previous._replace(label=f"{previous.label}\n+ {label}")
    else:
        blocks.append(Block(name, kind, label, out.shape[1:]))
    return out


def network_blocks(model, input_shape):
    """The boxes and skip connections :func:`draw_network` draws, read off the model.

    Parameters
    ----------
    model : coursekit.nn.Layer
        Usually a :class:`~coursekit.nn.Sequential` (LeNet, the U-Net), walked layer by
        layer; a :class:`~coursekit.nn.SkipConcat` inside it becomes a skip connection.
    input_shape : (C, H, W) or (features,) tuple of int
        One input, without the batch axis.

    Returns
    -------
    blocks : list of Block
        The input first, then one per layer in the order they run; an activation is
        folded into the convolution or dense layer before it. ``block.shape`` is the
        layer's real output shape, from its own ``forward`` on a batch of one zero input.
    skips : list of (int, int)
        For each SkipConcat, the index of the block whose output it copies and of the
        "concat" block where the copy joins the decoder.

    Examples
    --------
    >>> from coursekit.lenet import LeNet
    >>> blocks, skips = network_blocks(LeNet(), (1, 28, 28))
    >>> [block.size for block in blocks]
    ['1@28×28', '6@28×28', '6@14×14', '16@10×10', '16@5×5', '400', '120', '84', '10']
    >>> blocks[1].label, skips
    ('conv 5×5\\npad 2\\n+ sigmoid', [])

    Used in: LeNet; Encoder–decoder (through :func:`draw_network`).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"The parameter `model` must be a coursekit.nn Layer (a Sequential, LeNet, UNet, ...); "
                        f"got {type(model).__name__}")
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) not in (1, 3):
        raise ValueError(f"The parameter `input_shape` must be (channels, rows, columns) or (features,), "
                         f"without the batch axis; got {input_shape!r}")
    input_shape = tuple(as_int(n, "input_shape", 1) for n in input_shape)
    parameters = model.parameters()
    x = np.zeros((1, *input_shape), dtype=parameters[0].value.dtype if parameters else np.float64)
    try:
        # The model's own forward first: its checks (LeNet's 28x28, U-Net's multiples of 4) speak first.
        expected = model.forward(x).shape
        blocks = [Block("input", "input", "input", input_shape)]
        skips = []
        out = _trace(model, x, "", blocks, skips)
    except ValueError as error:
        raise ValueError(f"The parameter `input_shape` {input_shape} does not fit the model: {error}") from error
    if out.shape != expected:  # a container this walk does not know would end elsewhere
        raise TypeError(f"The parameter `model` holds layers draw_network cannot walk: its output is {expected}, "
                        f"the walk through its layers ends at {out.shape}")
    return blocks, skips


def _network_layout(blocks, layout):
    """(column, row) of each block: one row for a chain; for a U, one row per map size, smallest lowest."""
    if layout == "chain":
        return [(column, 0) for column in range(len(blocks))]
    sizes = sorted({block.shape[1] for block in blocks if len(block.shape) == 3}, reverse=True)
    positions, row = [], 0
    for block in blocks:
        if len(block.shape) == 3:
            row = sizes.index(block.shape[1])
        if not positions:
            positions.append((0, row))
            continue
        column, previous_row = positions[-1]
        # Pooling steps down and upsampling steps up in the same column; other layers move right.
        positions.append((column, row) if row != previous_row else (column + 1, row))
    return positions


def _shape_text(shape):
    """A box's output shape, two short lines for maps ("16 maps", "68×68"), one for a vector ("400")."""
    if len(shape) == 3:
        return f"{shape[0]} map{'s' if shape[0] > 1 else ''}\n{shape[1]}×{shape[2]}"
    return "×".join(map(str, shape))


def _text_inches(lines, size, weight="normal"):
    """Width and height in inches of text with these lines, as Matplotlib will set it."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    font = FontProperties(size=size, weight=weight)
    width = max(text_to_path.get_text_width_height_descent(line, font, ismath=False)[0] for line in lines)
    return width / 72, len(lines) * size * 1.2 / 72


def draw_network(model, input_shape, ax=None, layout="auto"):
    """Draw a network as boxes joined by arrows, each box a layer with its output shape.

    Everything drawn is read off the model: the layers, in the order they run, with their
    kernel sizes, padding and strides, and each output shape as the layer's own
    ``forward`` computes it (:func:`network_blocks`). Colours tell the kinds apart
    (:data:`BLOCK_COLORS`): convolutions blue, with their activation folded into the
    box, pooling orange, upsampling green, dense layers purple. A model with skip
    connections (:class:`~coursekit.nn.SkipConcat`) or upsampling is drawn as a U:
    each map size has its row, pooling steps down, upsampling steps up, and each skip
    is an arrow labelled "concatenate" over the layers it bridges.

    Parameters
    ----------
    model : coursekit.nn.Layer
        LeNet, the U-Net, or any :class:`~coursekit.nn.Sequential` of coursekit layers.
    input_shape : (C, H, W) or (features,) tuple of int
        One input, without the batch axis: ``(1, 28, 28)`` for LeNet.
    ax : matplotlib.axes.Axes, optional
        Where to draw. When omitted, a new figure one inch per unit of the drawing, so
        that the 8.5-point text fits its boxes: LeNet and the course's U-Net are under
        8 inches wide, the width of a page.
    layout : {"auto", "chain", "u"}, optional
        "auto" draws a U when the model has a skip or an upsampling layer, else a chain.

    Returns
    -------
    list of Block
        The boxes drawn, from the input to the output, as :func:`network_blocks` gives them.

    Examples
    --------
    >>> from coursekit.pixel_classifier import UNet
    >>> blocks = draw_network(UNet(channels=(8, 16, 32)), (2, 64, 64))
    >>> [block.size for block in blocks if block.kind == "concat"]
    ['32@32×32', '16@64×64']
    >>> ax = plt.gca()
    >>> sum(text.get_text() == "concatenate" for text in ax.texts)   # one per skip
    2

    Used in: LeNet; Encoder–decoder.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as ArrowPath

    layout = one_of(layout, "layout", ("auto", "chain", "u"))
    blocks, skips = network_blocks(model, input_shape)
    if layout == "auto":
        layout = "u" if skips or any(block.kind == "upsample" for block in blocks) else "chain"
    positions = _network_layout(blocks, layout)
    fontsize = 8.5
    # Every box as wide and as tall as the longest label and shape need (inches: 1 unit = 1 inch).
    label_sizes = [_text_inches(block.label.split("\n"), fontsize) for block in blocks]
    shape_sizes = [_text_inches(_shape_text(block.shape).split("\n"), fontsize, "bold") for block in blocks]
    width = max(w for w, _ in label_sizes + shape_sizes) + 0.1
    height = max(h for _, h in label_sizes) + max(h for _, h in shape_sizes) + 0.18
    column_pitch, row_pitch = width + 0.2, height + 0.5
    skip_room = 0.42 if skips else 0.0
    columns = max(column for column, _ in positions) + 1
    rows = max(row for _, row in positions) + 1
    margin = 0.05
    figure_size = (columns * column_pitch - 0.2 + 2 * margin, rows * row_pitch - 0.5 + skip_room + 2 * margin)
    ax = _schematic_axes(ax, *figure_size, margin)

    def box(index):
        """Left, bottom of a block's box."""
        column, row = positions[index]
        return column * column_pitch, (rows - 1 - row) * row_pitch

    for index, block in enumerate(blocks):
        left, bottom = box(index)
        ax.add_patch(FancyBboxPatch((left, bottom), width, height, boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor=BLOCK_COLORS[block.kind], edgecolor="#333333", lw=1.0,
                                    gid=f"block {block.kind}"))
        # What the layer does at the top of its box, its output shape in bold at the bottom.
        ax.text(left + width / 2, bottom + height - 0.05, block.label, ha="center", va="top", fontsize=fontsize,
                linespacing=1.2, gid="label")
        ax.text(left + width / 2, bottom + 0.05, _shape_text(block.shape), ha="center", va="bottom",
                fontsize=fontsize, fontweight="bold", linespacing=1.2, gid="shape")

    arrow = _ARROW
    for index in range(1, len(blocks)):
        (x0, y0), (x1, y1) = box(index - 1), box(index)
        if y0 == y1:
            start, end = (x0 + width, y0 + height / 2), (x1, y1 + height / 2)
        elif y1 < y0:   # down: pooling
            start, end = (x0 + width / 2, y0), (x1 + width / 2, y1 + height)
        else:           # up: upsampling
            start, end = (x0 + width / 2, y0 + height), (x1 + width / 2, y1)
        ax.add_patch(FancyArrowPatch(start, end, gid="flow", **arrow))
    for source, target in skips:
        (x0, y0), (x1, y1) = box(source), box(target)
        top = y0 + height + 0.27
        path = ArrowPath([(x0 + width / 2, y0 + height), (x0 + width / 2, top), (x1 + width / 2, top),
                          (x1 + width / 2, y1 + height)])
        ax.add_patch(FancyArrowPatch(path=path, gid="skip", **{**arrow, "color": _SKIP_COLOR, "lw": 1.4}))
        ax.text((x0 + x1 + width) / 2, top, "concatenate", ha="center", va="center", fontsize=fontsize,
                style="italic", color=_SKIP_COLOR, gid="skip label",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    return blocks


#: Colour of each input channel in :func:`draw_multichannel_conv` (Tableau 10).
CHANNEL_COLORS = ("#e15759", "#59a14f", "#4e79a7", "#f28e2b", "#b07aa1", "#edc948")


def _grid_square(ax, left, bottom, side, cells, facecolor, gid=None, lw=1.0):
    """A square of cells x cells pixels: a filled outline with thin lines between the pixels."""
    ax.add_patch(plt.Rectangle((left, bottom), side, side, facecolor=facecolor, edgecolor="#333333", lw=lw,
                               gid=gid))
    for k in range(1, cells):
        offset = k * side / cells
        ax.plot([left + offset] * 2, [bottom, bottom + side], color="#333333", lw=0.4, alpha=0.6)
        ax.plot([left, left + side], [bottom + offset] * 2, color="#333333", lw=0.4, alpha=0.6)


def draw_multichannel_conv(c_in=3, c_out=2, ax=None):
    """Draw how a convolutional layer turns `c_in` input channels into `c_out` output maps.

    One filter per output channel; each filter is a stack of `c_in` kernels, one per
    input channel (same colour). Each kernel is cross-correlated with its own channel,
    and the `c_in` results are summed, plus the filter's bias, into one output map:
    ``y[o] = b[o] + sum over c of x[c] ⋆ w[o, c]``. A 5x5 input and 3x3 kernels give
    3x3 maps.

    Parameters
    ----------
    c_in : int, optional
        Input channels, 1 to 6.
    c_out : int, optional
        Output channels (filters), 1 to 4.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure, one inch per unit of the drawing, when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        Kernels are drawn with gid ``"kernel"``, sums with the text "Σ".

    Examples
    --------
    >>> ax = draw_multichannel_conv(c_in=3, c_out=2)
    >>> sum(patch.get_gid() == "kernel" for patch in ax.patches)   # 2 filters of 3 kernels
    6
    >>> sum(text.get_text() == "Σ" for text in ax.texts)
    2

    Used in: Convolution.
    """
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    c_in, c_out = as_int(c_in, "c_in", 1), as_int(c_out, "c_out", 1)
    for name, value, most in (("c_in", c_in, len(CHANNEL_COLORS)), ("c_out", c_out, 4)):
        if value > most:
            raise ValueError(f"The parameter `{name}` must be at most {most}, or the figure is unreadable; "
                             f"got {value}")
    fontsize, row, band_gap, header = 9, 0.62, 0.4, 0.62
    band = max(c_in * row, 1.5)   # room for the bias above each sum, even with one channel
    height = c_out * band + (c_out - 1) * band_gap + header
    width = 6.75
    ax = _schematic_axes(ax, width, height)
    arrow = {**_ARROW, "mutation_scale": 9, "lw": 1.0}
    body = height - header    # the drawing below the column headings

    def heading(x, text):
        ax.text(x, height - 0.08, text, ha="center", va="top", fontsize=fontsize, fontweight="bold", linespacing=1.15)

    # Input: the channels stacked, centred on the drawing.
    side, pitch = 0.62, 0.8
    top = body / 2 + (c_in * pitch - (pitch - side)) / 2
    inputs = []
    for c in range(c_in):
        bottom = top - side - c * pitch
        _grid_square(ax, 0.45, bottom, side, 5, CHANNEL_COLORS[c], gid="input channel")
        ax.text(0.35, bottom + side / 2, f"$x_{c + 1}$", ha="right", va="center", fontsize=fontsize + 1)
        inputs.append(bottom + side / 2)
    heading(0.76, f"input\n{c_in} channel{'s' if c_in > 1 else ''}")
    heading(2.3, "one filter per\noutput channel")
    heading(3.75, "cross-correlations,\none per channel")
    heading(5.15, "sum\n+ bias")
    heading(6.1, f"output\n{c_out} channel{'s' if c_out > 1 else ''}")

    kernel, product = 0.36, 0.42
    for o in range(c_out):
        band_top = body - o * (band + band_gap)
        centre = band_top - band / 2
        rows = [centre + ((c_in - 1) / 2 - c) * row for c in range(c_in)]   # the centre of each kernel's row
        # The filter: c_in kernels in a frame, each the colour of the channel it reads.
        frame_top = rows[0] + kernel / 2 + 0.08
        ax.add_patch(FancyBboxPatch((1.95, rows[-1] - kernel / 2 - 0.08), 0.7, frame_top - rows[-1] + kernel / 2 + 0.08,
                                    boxstyle="round,pad=0,rounding_size=0.06", facecolor="#f5f5f5",
                                    edgecolor="#555555", lw=1.0, gid="filter"))
        ax.text(2.3, frame_top + 0.03, f"filter {o + 1}", ha="center", va="bottom", fontsize=fontsize)
        ax.add_patch(FancyArrowPatch((0.45 + side + 0.05, body / 2), (1.95, centre),
                                     **{**arrow, "color": "#777777"}))
        for c, y in enumerate(rows):
            _grid_square(ax, 2.12, y - kernel / 2, kernel, 3, CHANNEL_COLORS[c], gid="kernel")
            ax.add_patch(FancyArrowPatch((2.65, y), (2.95, y), **arrow))
            _grid_square(ax, 2.95, y - product / 2, product, 3, CHANNEL_COLORS[c], gid="product")
            ax.text(3.45, y, rf"$x_{c + 1} \star w_{{{o + 1},{c + 1}}}$", ha="left", va="center",
                    fontsize=fontsize, gid="product label")
            # Into the sum's circle, stopping at its rim.
            dx, dy = 5.15 - 4.2, centre - y
            reach = 1 - 0.2 / np.hypot(dx, dy)
            ax.add_patch(FancyArrowPatch((4.2, y), (4.2 + dx * reach, y + dy * reach), **arrow))
        ax.add_patch(Circle((5.15, centre), 0.2, facecolor="white", edgecolor="#222222", lw=1.2, gid="sum"))
        ax.text(5.15, centre, "Σ", ha="center", va="center", fontsize=fontsize + 4)
        ax.annotate(f"$+\\,b_{o + 1}$", xy=(5.15, centre + 0.2), xytext=(5.15, centre + 0.55), ha="center",
                    va="bottom", fontsize=fontsize, arrowprops={**arrow, "shrinkA": 1}, gid="bias")
        ax.add_patch(FancyArrowPatch((5.35, centre), (5.78, centre), **arrow))
        out = 0.62
        _grid_square(ax, 5.8, centre - out / 2, out, 3, "#bdbdbd", gid="output channel")
        ax.text(6.5, centre, f"$y_{o + 1}$", ha="left", va="center", fontsize=fontsize + 1)
    return ax


#: Fill colours of neighbouring pooling windows in :func:`draw_max_pooling` (no two neighbours alike).
WINDOW_COLORS = ("#a6cee3", "#fdbf6f", "#b2df8a", "#cab2d6")


def draw_max_pooling(x=None, size=2, ax=None):
    """Draw max pooling on a small grid: each window in its colour, its maximum marked, and the output.

    The output's numbers are those :func:`coursekit.pooling.max_pool2d` returns. The
    windows tile the input (stride = size); each output cell has its window's colour.
    In each window the maximum is bold and framed (the first in reading order when
    several are equal, the one max pooling's gradient goes to).

    Parameters
    ----------
    x : (H, W) array_like, optional
        At most 12 x 12, sides multiples of `size`; the 4 x 4 example of
        :func:`coursekit.pooling.max_pool2d` by default.
    size : int, optional
        Window side, which is also the stride.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure, one inch per unit of the drawing, when omitted.

    Returns
    -------
    (H // size, W // size) ndarray
        The pooled map drawn on the right: ``max_pool2d(x, size)``.

    Examples
    --------
    >>> draw_max_pooling(np.array([[1, 3, 2, 0], [4, 6, 5, 1], [0, 2, 9, 8], [1, 1, 7, 3]]))
    array([[6, 5],
           [2, 9]])

    Used in: Padding, stride and pooling.
    """
    from matplotlib.patches import FancyArrowPatch

    if x is None:
        x = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [0, 2, 9, 8], [1, 1, 7, 3]])
    x = as_array(x, "x", 2, allow_bool=False)
    size = as_int(size, "size", 1)
    if max(x.shape) > 12:
        raise ValueError(f"The parameter `x` must be at most 12 x 12 to be drawn readably; got shape {x.shape}")
    if x.shape[0] % size or x.shape[1] % size:
        raise ValueError(f"The parameter `x` must have sides that are multiples of the window `size` ({size}), "
                         f"so that the windows tile it; got shape {x.shape}")
    pooled = max_pool2d(x, size)
    cell, fontsize = 0.42, 11
    rows, cols = x.shape
    gap = 1.6   # between the grids, for the arrow and its label
    out_left = cols * cell + gap
    width, height = out_left + pooled.shape[1] * cell + 0.1, rows * cell + 0.45
    ax = _schematic_axes(ax, width, height, margin=0.05)

    def number(value):
        return f"{value:g}"

    def draw_cell(left, top, value, color, bold, gid):
        ax.add_patch(plt.Rectangle((left, top - cell), cell, cell, facecolor=color, edgecolor="white", lw=1.0))
        ax.text(left + cell / 2, top - cell / 2, number(value), ha="center", va="center", fontsize=fontsize,
                fontweight="bold" if bold else "normal", gid=gid)

    out_top = rows * cell / 2 + pooled.shape[0] * cell / 2   # the output centred beside the input
    for (i, j), value in np.ndenumerate(pooled):
        color = WINDOW_COLORS[2 * (i % 2) + j % 2]
        window = x[i * size:(i + 1) * size, j * size:(j + 1) * size]
        winner = np.unravel_index(np.argmax(window), window.shape)
        for (r, c), entry in np.ndenumerate(window):
            row, col = i * size + r, j * size + c
            draw_cell(col * cell, rows * cell - row * cell, entry, color, (r, c) == winner, "input value")
            if (r, c) == winner:
                ax.add_patch(plt.Rectangle((col * cell + 0.04, rows * cell - (row + 1) * cell + 0.04),
                                           cell - 0.08, cell - 0.08, fill=False, edgecolor="#222222", lw=1.6,
                                           gid="maximum"))
        # A dark frame around each window.
        ax.add_patch(plt.Rectangle((j * size * cell, rows * cell - (i + 1) * size * cell), size * cell,
                                   size * cell, fill=False, edgecolor="#333333", lw=1.4, gid="window"))
        draw_cell(out_left + j * cell, out_top - i * cell, value, color, True, "output value")
    ax.add_patch(plt.Rectangle((out_left, out_top - pooled.shape[0] * cell), pooled.shape[1] * cell,
                               pooled.shape[0] * cell, fill=False, edgecolor="#333333", lw=1.4))
    middle = rows * cell / 2
    ax.add_patch(FancyArrowPatch((cols * cell + 0.15, middle), (out_left - 0.15, middle),
                                 **{**_ARROW, "mutation_scale": 12, "lw": 1.3}))
    ax.text(cols * cell + gap / 2, middle + 0.1, f"max pool\n{size}×{size}, stride {size}", ha="center",
            va="bottom", fontsize=fontsize - 1.5, linespacing=1.15)
    ax.text(cols * cell / 2, rows * cell + 0.08, f"input {rows}×{cols}", ha="center", va="bottom",
            fontsize=fontsize - 1.5)
    ax.text(out_left + pooled.shape[1] * cell / 2, out_top + 0.08, f"output {pooled.shape[0]}×{pooled.shape[1]}",
            ha="center", va="bottom", fontsize=fontsize - 1.5)
    return pooled
