"""Specification of coursekit.plotting: the NWS colour scale and image grids."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from coursekit import data
from coursekit.metrics import Counts
from coursekit.plotting import (DBZ_BOUNDS, north_arrow, performance_diagram, radar_cmap, show_images, show_overlap,
                                show_radar, show_windows)


def test_nws_scale_has_a_colour_every_5_dbz_from_white_at_zero():
    cmap, norm = radar_cmap()
    assert DBZ_BOUNDS == tuple(range(0, 81, 5))
    assert cmap.N == 16
    assert to_hex(cmap(0)) == "#ffffff"
    assert len({to_hex(cmap(i)) for i in range(cmap.N)}) == 16


@pytest.mark.parametrize("dbz, band", [(0, 0), (4.9, 0), (5, 1), (42, 8), (74.9, 14), (79, 15)])
def test_norm_maps_dbz_to_its_band(dbz, band):
    _, norm = radar_cmap()
    assert int(norm(dbz)) == band


def test_show_radar_labels_km_and_dbz():
    img = np.zeros((136, 136, 1), dtype=np.uint8)
    img[60:70, 60:70] = 55
    shown = show_radar(img, title="test")
    ax = shown.axes
    assert ax.get_xlabel() == "km east" and ax.get_ylabel() == "km north"
    left, right, bottom, top = shown.get_extent()
    assert right - left == pytest.approx(512) and top - bottom == pytest.approx(512)
    # A map: y grows northward, and row 0 (the northern edge) is drawn at the top.
    assert shown.origin == "upper" and (bottom, top) == (0, pytest.approx(512))
    colorbar_axes = [a for a in ax.figure.axes if a is not ax]
    assert "dBZ" in colorbar_axes[0].get_ylabel()


def test_show_radar_spans_width_across_and_height_up_on_an_oblong_image():
    # 10 rows by 20 columns of pixels of 2.5 km: 50 km east, 25 km north.
    shown = show_radar(np.zeros((10, 20)), pixel_km=2.5, colorbar=False)
    assert shown.get_extent() == pytest.approx((0, 50, 0, 25))


def test_show_radar_draws_on_given_axes():
    fig, ax = plt.subplots()
    shown = show_radar(np.zeros((10, 10)), ax=ax, colorbar=False)
    assert shown.axes is ax and len(fig.axes) == 1


def test_show_radar_rejects_multichannel_images():
    with pytest.raises(ValueError, match=r"`img` must be \(H, W\) or \(H, W, 1\)"):
        show_radar(np.zeros((10, 10, 3)))


def test_show_images_grid():
    fig = show_images(np.zeros((5, 8, 8)), titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:5]] == list("abcde")
    assert not fig.axes[5].axison


def test_show_images_checks_titles_and_emptiness():
    with pytest.raises(ValueError, match="`titles` must have one entry per image"):
        show_images(np.zeros((2, 4, 4)), titles=["only one"])
    with pytest.raises(ValueError, match="`images` must hold at least one image"):
        show_images([])


def _north_arrows(ax):
    return [t for t in ax.texts if t.get_gid() == "north-arrow" and t.get_text() == "N"]


def _arrow_points_up(ax):
    """The arrow's head lies above its tail, in the axes' own coordinates."""
    [arrow] = [a for a in ax.texts if a.get_text() == "" and getattr(a, "arrow_patch", None) is not None]
    (head_x, head_y), (tail_x, tail_y) = arrow.xy, arrow.xyann
    return head_x == tail_x and head_y > tail_y


def test_show_radar_draws_a_north_arrow_at_the_top():
    shown = show_radar(data.example_storms().x[0])
    [letter] = _north_arrows(shown.axes)
    assert _arrow_points_up(shown.axes)
    assert letter.get_position()[1] > 0.5  # in the upper half of the map
    # A map's y axis: km north of the southern edge, 0 at the bottom.
    bottom, top = shown.axes.get_ylim()
    assert bottom == pytest.approx(0) and top == pytest.approx(512)


def test_show_radar_paints_row_0_the_northern_edge_at_the_top():
    img = np.zeros((4, 4))
    img[0] = 55  # the northern row, red on the NWS scale
    shown = show_radar(img, colorbar=False)
    fig, ax = shown.axes.figure, shown.axes
    for text in list(ax.texts):  # the north arrow and its letter, which sit on white boxes
        text.remove()
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    box = ax.get_window_extent()
    height = pixels.shape[0]  # the buffer's rows run down from the figure's top
    top, bottom = height - int(box.y1), height - int(box.y0)
    left, right = int(box.x0), int(box.x1)
    quarter = (bottom - top) // 4
    upper = pixels[top + 2:top + quarter - 2, left + 2:right - 2].reshape(-1, 3)
    lower = pixels[bottom - quarter + 2:bottom - 2, left + 2:right - 2].reshape(-1, 3)
    assert (upper == [0xd4, 0, 0]).all(axis=1).mean() > 0.95
    assert (lower == [255, 255, 255]).all(axis=1).mean() > 0.95


def test_radar_grids_are_maps_with_arrows_km_and_one_colour_bar():
    storms = data.example_storms().x
    fig = show_images(storms[:4], radar=True, ncols=2, titles=list("abcd"))
    panels, bars = fig.axes[:4], fig.axes[4:]
    for ax in panels:
        assert len(_north_arrows(ax)) == 1 and _arrow_points_up(ax)
        image = ax.images[0]
        assert image.get_extent() == pytest.approx((0, 512, 0, 512))
        assert image.cmap.name == "nws_reflectivity"
        np.testing.assert_array_equal(image.get_array(), storms[panels.index(ax), :, :, 0])
    assert [ax.get_xlabel() for ax in panels] == ["", "", "km east", "km east"]  # outer panels only
    assert [ax.get_ylabel() for ax in panels] == ["km north", "", "km north", ""]
    assert len(bars) == 1 and "dBZ" in bars[0].get_ylabel()


def test_grey_images_are_not_maps():
    fig = show_images(np.zeros((2, 8, 8)))
    assert all(not _north_arrows(ax) and ax.images[0].cmap.name == "gray" for ax in fig.axes)


def test_show_radar_can_use_a_linear_grey_scale():
    shown = show_radar(np.full((4, 4), 40.0), cmap="gray_r", colorbar=False)
    assert shown.cmap.name == "gray_r" and shown.norm(40.0) == pytest.approx(0.5)
    assert _north_arrows(shown.axes)


def test_north_arrow_returns_its_letter():
    fig, ax = plt.subplots()
    assert north_arrow(ax).get_text() == "N" and _arrow_points_up(ax)


# --- what the figures draw ---------------------------------------------------------------


def _drawn_colour(image, row, col):
    """The colour matplotlib paints at one pixel of an AxesImage."""
    return to_hex(image.cmap(image.norm(image.get_array()[row, col])))


def test_radar_grids_paint_each_band_in_its_nws_colour():
    img = np.zeros((4, 4))
    img[0, 1], img[1, 2], img[2, 3], img[3, 0] = 42, 55, 7, 79.9
    fig = show_images([img, img], radar=True)
    image = fig.axes[0].images[0]
    # NWS scale: 40-45 dBZ "#e5bc00", 55-60 "#d40000", 5-10 "#04e9e7", 75-80 "#fdfdfd", 0-5 white.
    drawn = [_drawn_colour(image, r, c) for r, c in [(0, 1), (1, 2), (2, 3), (3, 0), (0, 0)]]
    assert drawn == ["#e5bc00", "#d40000", "#04e9e7", "#fdfdfd", "#ffffff"]
    assert list(image.norm.boundaries) == list(range(0, 85, 5))


def test_plain_grids_show_the_data_in_the_colour_map_asked_for():
    images = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) - 10
    fig = show_images(images, cmap="viridis")
    for ax, img in zip(fig.axes, images):
        assert ax.images[0].cmap.name == "viridis"
        np.testing.assert_array_equal(ax.images[0].get_array(), img)
    fig = show_images(images, symmetric=True)
    for ax, img in zip(fig.axes, images):
        limit = np.abs(img).max()
        assert ax.images[0].cmap.name == "RdBu_r" and ax.images[0].get_clim() == (-limit, limit)


def test_show_radar_paints_nws_colours_and_takes_another_colour_map():
    img = np.zeros((3, 3))
    img[1, 1] = 55
    shown = show_radar(img, colorbar=False)
    assert _drawn_colour(shown, 1, 1) == "#d40000" and _drawn_colour(shown, 0, 0) == "#ffffff"
    np.testing.assert_array_equal(shown.get_array(), img)
    grey = show_radar(img, cmap="gray_r", colorbar=False)
    assert grey.get_clim() == (0, 80) and _drawn_colour(grey, 1, 1) == to_hex(plt.get_cmap("gray_r")(55 / 80))
    half = show_radar(img, pixel_km=2.0, colorbar=False)
    assert half.get_extent() == pytest.approx((0, 6, 0, 6))


def test_show_overlap_colours_each_outcome_as_documented():
    target = [[1, 1], [0, 0]]
    prediction = [[1, 0], [1, 0]]  # TP at (0, 0), FN at (0, 1), FP at (1, 0), TN at (1, 1)
    fig, ax = plt.subplots()
    counts = show_overlap(target, prediction, ax=ax, title="t")
    assert counts == {"TN": 1, "FP": 1, "FN": 1, "TP": 1}
    image = ax.images[0]
    # As the docstring says: TN white, FP orange, FN teal, TP dark blue-grey.
    assert _drawn_colour(image, 1, 1) == "#ffffff"
    assert _drawn_colour(image, 1, 0) == "#f4a261"
    assert _drawn_colour(image, 0, 1) == "#2a9d8f"
    assert _drawn_colour(image, 0, 0) == "#264653"
    legend = ax.get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == ["TN 1", "FP 1", "FN 1", "TP 1"]
    assert [to_hex(patch.get_facecolor()) for patch in legend.get_patches()] == \
        ["#ffffff", "#f4a261", "#2a9d8f", "#264653"]
    assert ax.get_title() == "t"


def test_show_overlap_counts_a_larger_case():
    target = np.zeros((5, 6), bool)
    target[1:4, 1:4] = True  # 9 pixels
    prediction = np.zeros((5, 6), bool)
    prediction[2:5, 2:6] = True  # 12 pixels; overlap rows 2-3, columns 2-3: 4
    assert show_overlap(target, prediction) == {"TN": 30 - 9 - 12 + 4, "FP": 8, "FN": 5, "TP": 4}


def test_windows_are_drawn_where_the_stride_puts_them():
    fig, ax = plt.subplots()
    show_windows(np.zeros((5, 5)), kernel=3, stride=2, ax=ax)
    # Windows start at columns (and rows) 0 and 2; their centres are at pixel 1 and 3.
    centres = sorted((line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines)
    assert centres == [(1, 1), (1, 3), (3, 1), (3, 3)]
    first = ax.patches[0]
    assert first.get_xy() == (-0.5, -0.5) and first.get_width() == 3


def test_windows_mark_the_padding_grey():
    fig, ax = plt.subplots()
    assert show_windows(np.ones((3, 4)), kernel=3, padding=1, ax=ax) == (3, 4)
    shade = ax.images[0].get_array()
    assert shade.shape == (5, 6)
    assert np.all(shade[1:-1, 1:-1] == 0) and np.all(shade[0] > 0) and np.all(shade[:, -1] > 0)
    assert ax.get_title() == "n=3x4, k=3, p=1, s=1: output 3x4"


@pytest.mark.parametrize("call, error, match", [
    (lambda: show_windows(np.zeros((5, 5)), kernel=1.5), TypeError,
     "`kernel` must be an integer; got 1.5"),
    (lambda: show_windows(np.zeros((3, 3)), kernel=5), ValueError,
     r"window `kernel` \(5x5\) is larger than the padded input `x` \(3x3\)"),
    (lambda: show_windows(np.zeros((5, 5)), 3, stride=0), ValueError,
     "`stride` must be positive"),
    (lambda: show_overlap(np.ones((2, 2)), np.ones((2, 3))),
     ValueError, r"Shape mismatch: `target` has shape \(2, 2\) but `prediction` has shape \(2, 3\)"),
    (lambda: show_overlap(np.ones((2, 2)), np.full((2, 2), 3)),
     ValueError, r"`prediction` must be a binary mask.*\[3\]"),
    (lambda: show_images(np.zeros((2, 4, 4)), ncols=0), ValueError, "`ncols` must be positive"),
    (lambda: show_radar(np.zeros((4, 4)), pixel_km=0), ValueError, "`pixel_km` must be positive"),
    (lambda: show_radar(np.zeros((4, 4)) + 1j), TypeError, "`img` must hold real numbers"),
    # A string is truthy: "no" drew radar panels.
    (lambda: show_images(np.zeros((2, 4, 4)), radar="no"), TypeError, "`radar` must be True or False; got 'no'"),
    (lambda: show_images(np.zeros((2, 4, 4)), symmetric=1), TypeError, "`symmetric` must be True or False"),
])
def test_bad_input_names_the_parameter(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_performance_diagram_puts_each_forecast_at_its_success_ratio_and_pod():
    forecasts = {"good": Counts(tp=8, fp=2, fn=2, tn=88),      # SR 0.8, POD 0.8
                 "timid": Counts(tp=2, fp=0, fn=8, tn=90),     # SR 1.0, POD 0.2
                 "eager": Counts(tp=9, fp=27, fn=1, tn=63)}    # SR 0.25, POD 0.9
    fig, ax = plt.subplots()
    points = performance_diagram(forecasts, ax=ax, title="t")
    assert points == {"good": (0.8, 0.8), "timid": (1.0, 0.2), "eager": (0.25, 0.9)}
    markers = {line.get_label(): (line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines
               if not line.get_label().startswith("_") and line.get_gid() is None}
    assert markers == points
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["good", "timid", "eager"]
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1) and ax.get_title() == "t"
    assert "success ratio" in ax.get_xlabel() and "POD" in ax.get_ylabel()


def test_performance_diagram_bias_lines_have_slope_bias_and_csi_curves_their_csi():
    fig, ax = plt.subplots()
    performance_diagram({"x": Counts(1, 1, 1, 1)}, ax=ax, csi_levels=(0.2, 0.5), bias_levels=(0.5, 1.0, 2.0))
    lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    assert set(lines) == {"bias 0.5", "bias 1", "bias 2"}
    for gid, line in lines.items():
        bias = float(gid.split()[1])
        (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
        assert (x0, y0) == (0, 0) and y1 == pytest.approx(bias * x1) and max(x1, y1) == pytest.approx(1.0)
        assert line.get_linestyle() == "--"
    contour = next(c for c in ax.findobj() if getattr(c, "get_gid", lambda: None)() == "csi")
    assert list(contour.levels) == [0.2, 0.5]
    for level, path in zip(contour.levels, contour.get_paths()):
        sr, pod = path.vertices.T
        assert len(sr) > 10
        # Every vertex drawn for a level has that CSI: 1 / CSI = 1 / SR + 1 / POD - 1.
        np.testing.assert_allclose(1 / (1 / sr + 1 / pod - 1), level, atol=0.01)


@pytest.mark.parametrize("forecasts, match", [
    ({}, "`forecasts` must be a non-empty mapping"),
    ([Counts(1, 1, 1, 1)], "`forecasts` must be a non-empty mapping"),
    ({"a": (0.5, 0.5)}, r"`forecasts\['a'\]` must be the Counts"),
    ({"a": Counts(np.ones(2, int), np.ones(2, int), np.ones(2, int), np.ones(2, int))}, "pooled batch"),
])
def test_performance_diagram_bad_input(forecasts, match):
    with pytest.raises(TypeError, match=match):
        performance_diagram(forecasts)
