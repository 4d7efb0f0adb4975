"""Specification of coursekit.plotting: the NWS colour scale and image grids."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from coursekit import data
from coursekit.plotting import DBZ_BOUNDS, north_arrow, radar_cmap, show_images, show_radar


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
    assert ax.get_xlabel() == "km east" and ax.get_ylabel() == "km south"
    left, right, bottom, top = shown.get_extent()
    assert right - left == pytest.approx(512) and bottom - top == pytest.approx(512)
    colorbar_axes = [a for a in ax.figure.axes if a is not ax]
    assert "dBZ" in colorbar_axes[0].get_ylabel()


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
    # Row 0 (north) is drawn at the top: the y axis runs from 0 km at the top down to 512 km.
    bottom, top = shown.axes.get_ylim()
    assert top == pytest.approx(0) and bottom == pytest.approx(512)


def test_radar_grids_are_maps_with_arrows_km_and_one_colour_bar():
    storms = data.example_storms().x
    fig = show_images(storms[:4], radar=True, ncols=2, titles=list("abcd"))
    panels, bars = fig.axes[:4], fig.axes[4:]
    for ax in panels:
        assert len(_north_arrows(ax)) == 1 and _arrow_points_up(ax)
        image = ax.images[0]
        assert image.get_extent() == pytest.approx((0, 512, 512, 0))
        assert image.cmap.name == "nws_reflectivity"
        np.testing.assert_array_equal(image.get_array(), storms[panels.index(ax), :, :, 0])
    assert [ax.get_xlabel() for ax in panels] == ["", "", "km east", "km east"]  # outer panels only
    assert [ax.get_ylabel() for ax in panels] == ["km south", "", "km south", ""]
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
