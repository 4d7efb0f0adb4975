"""Specification of coursekit.plotting: the NWS colour scale and image grids."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from coursekit.plotting import DBZ_BOUNDS, radar_cmap, show_images, show_radar


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
    assert ax.get_xlabel() == "km" and ax.get_ylabel() == "km"
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
