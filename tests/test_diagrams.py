"""Specification of the schematics in coursekit.plotting: what each one draws.

The architecture diagrams are read off the model objects, so these tests compare what
is drawn (the text in each box, the skip arrows, where the boxes sit) with what the
model itself computes; the multi-channel convolution with the counts it is given; the
max-pooling schematic with coursekit.pooling's numbers.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from coursekit import nn
from coursekit.lenet import LeNet
from coursekit.pixel_classifier import UNet
from coursekit.plotting import (CHANNEL_COLORS, draw_max_pooling, draw_multichannel_conv, draw_network,
                                network_blocks)
from coursekit.pooling import max_pool2d


def _texts(ax, gid):
    return [text.get_text() for text in ax.texts if text.get_gid() == gid]


def _patches(ax, gid):
    return [patch for patch in ax.patches if patch.get_gid() == gid]


def _boxes(ax):
    return [patch for patch in ax.patches if (patch.get_gid() or "").startswith("block")]


def _maps(channels, rows, cols):
    return f"{channels} map{'s' if channels > 1 else ''}\n{rows}×{cols}"


def _skip_concats(layer):
    if isinstance(layer, nn.Sequential):
        return sum(_skip_concats(child) for child in layer.layers)
    if isinstance(layer, nn.SkipConcat):
        return 1 + _skip_concats(layer.inner)
    return 0


# Architecture diagrams


def test_lenet_boxes_show_the_shapes_the_model_computes():
    model = LeNet()
    draw_network(model, (1, 28, 28))
    ax = plt.gca()
    maps = model.activations(np.zeros((1, 1, 28, 28)))
    # One box per layer, each activation inside the box of the layer it follows.
    shown = ["activation 1", "pool 1", "activation 2", "pool 2", "flatten", "activation 3", "activation 4", "dense 3"]
    expected = [_maps(1, 28, 28)] + [
        _maps(*maps[name].shape[1:]) if maps[name].ndim == 4 else str(maps[name].shape[1]) for name in shown]
    assert _texts(ax, "shape") == expected
    # LeNet-5's published sizes (LeCun et al., 1998, figure 2): C1 6@28x28, S2 6@14x14, C3 16@10x10, S4 16@5x5.
    assert expected[1:5] == ["6 maps\n28×28", "6 maps\n14×14", "16 maps\n10×10", "16 maps\n5×5"]
    assert expected[5:] == ["400", "120", "84", "10"]


def test_lenet_boxes_name_each_layer_with_its_kernel_and_activation():
    draw_network(LeNet(), (1, 28, 28))
    assert _texts(plt.gca(), "label") == [
        "input", "conv 5×5\npad 2\n+ sigmoid", "avg pool\n2×2", "conv 5×5\n+ sigmoid", "avg pool\n2×2", "flatten",
        "dense\n+ sigmoid", "dense\n+ sigmoid", "dense"]


def test_lenet_is_a_chain_coloured_by_layer_kind():
    blocks = draw_network(LeNet(), (1, 28, 28))
    ax = plt.gca()
    boxes = _boxes(ax)
    assert len({box.get_y() for box in boxes}) == 1                          # one row
    assert [box.get_x() for box in boxes] == sorted(box.get_x() for box in boxes)
    assert len(_patches(ax, "flow")) == len(blocks) - 1 and not _patches(ax, "skip")
    colour = {block.kind: to_hex(box.get_facecolor()) for block, box in zip(blocks, boxes)}
    assert len(set(colour.values())) == len(colour) == 5  # input, conv, pool, flatten, dense


def test_a_different_lenet_draws_a_different_diagram():
    draw_network(LeNet(activation=nn.ReLU, pool=nn.MaxPool2D), (1, 28, 28))
    labels = _texts(plt.gca(), "label")
    assert labels[1] == "conv 5×5\npad 2\n+ ReLU" and labels[2] == "max pool\n2×2"


@pytest.mark.parametrize("channels", [(8, 16, 32), (4, 12), (3, 5, 7, 9)])
def test_unet_boxes_follow_its_channels(channels):
    side = 64
    blocks = draw_network(UNet(channels=channels), (2, side, side))
    shapes = _texts(plt.gca(), "shape")
    depth = len(channels)
    down = [_maps(c, side >> level, side >> level) for level, c in enumerate(channels)]
    # The concatenation after each upsampling holds twice the maps of that level.
    concats = [_maps(2 * channels[level], side >> level, side >> level) for level in reversed(range(depth - 1))]
    assert [shape for shape, block in zip(shapes, blocks) if block.label.startswith("conv 3×3")] == \
        down + down[-2::-1]
    assert [shape for shape, block in zip(shapes, blocks) if block.kind == "concat"] == concats
    assert shapes[-1] == _maps(3, side, side)  # the 1x1 head: three classes per pixel


def test_unet_has_one_skip_arrow_per_skipconcat():
    for model in (UNet(channels=(8, 16)), UNet(channels=(8, 16, 32)), UNet(channels=(2, 4, 8, 16))):
        plt.close("all")
        draw_network(model, (2, 32, 32))
        ax = plt.gca()
        assert len(_patches(ax, "skip")) == _skip_concats(model) == len(model.channels) - 1
        assert _texts(ax, "skip label") == ["concatenate"] * _skip_concats(model)


def test_a_unet_without_skips_has_no_skip_arrow_but_keeps_its_u():
    draw_network(UNet(skip=False), (2, 32, 32))
    ax = plt.gca()
    assert not _patches(ax, "skip") and "concatenate" not in _texts(ax, "skip label")
    assert len({box.get_y() for box in _boxes(ax)}) == 3   # three map sizes, three rows


def test_each_skip_joins_maps_of_one_size_and_adds_their_channels():
    blocks, skips = network_blocks(UNet(channels=(8, 16, 32)), (2, 64, 64))
    assert len(skips) == 2
    for source, target in skips:
        copied, upsampled, joined = blocks[source].shape, blocks[target - 1].shape, blocks[target].shape
        assert blocks[target].kind == "concat" and blocks[target - 1].kind == "upsample"
        assert copied[1:] == upsampled[1:] == joined[1:]
        assert joined[0] == copied[0] + upsampled[0]


def test_u_layout_gives_each_map_size_a_row_smaller_maps_lower():
    blocks = draw_network(UNet(channels=(8, 16, 32)), (2, 64, 64))
    rows = {}
    for block, box in zip(blocks, _boxes(plt.gca())):
        rows.setdefault(block.shape[1], set()).add(box.get_y())
    assert sorted(rows) == [16, 32, 64]
    assert all(len(heights) == 1 for heights in rows.values())   # one row per map size
    full, half, quarter = (rows[size].pop() for size in (64, 32, 16))
    assert full > half > quarter


def test_skip_arrows_run_over_the_boxes_from_the_copied_maps_to_the_concatenation():
    blocks, skips = network_blocks(UNet(channels=(8, 16, 32)), (2, 64, 64))
    draw_network(UNet(channels=(8, 16, 32)), (2, 64, 64))
    ax = plt.gca()
    boxes = _boxes(ax)
    for (source, target), arrow in zip(skips, _patches(ax, "skip")):
        path = arrow.get_path()   # the line and its head, closed polygons included
        vertices = path.vertices[path.codes != path.CLOSEPOLY]
        centres = [boxes[i].get_x() + boxes[i].get_width() / 2 for i in (source, target)]
        assert vertices[:, 0].min() == pytest.approx(centres[0])
        assert vertices[:, 0].max() == pytest.approx(centres[1], abs=0.05)   # the head is a little wider
        assert vertices[:, 1].max() > boxes[source].get_y() + boxes[source].get_height()   # above the row


def test_box_text_stays_inside_its_box_label_above_shape():
    for model, shape in ((LeNet(), (1, 28, 28)), (UNet(), (2, 136, 136))):
        plt.close("all")
        blocks = draw_network(model, shape)
        fig, ax = plt.gcf(), plt.gca()
        renderer = fig.canvas.get_renderer()
        texts = [t for t in ax.texts if t.get_gid() in ("label", "shape")]
        for index, box in enumerate(_boxes(ax)):
            frame = box.get_window_extent(renderer)
            label, size = (text.get_window_extent(renderer) for text in texts[2 * index: 2 * index + 2])
            for inner in (label, size):
                assert frame.x0 <= inner.x0 and inner.x1 <= frame.x1, blocks[index]
                assert frame.y0 <= inner.y0 and inner.y1 <= frame.y1, blocks[index]
            assert label.y0 >= size.y1, blocks[index]   # no line of one runs into the other


def test_course_networks_fit_a_page_at_a_readable_size():
    """About 800 pixels at 100 dpi, the width of the book's text column, with 8.5-point text."""
    for model, shape in ((LeNet(), (1, 28, 28)), (UNet(), (2, 136, 136))):
        plt.close("all")
        draw_network(model, shape)
        assert plt.gcf().get_size_inches()[0] <= 8.3
        assert min(text.get_fontsize() for text in plt.gca().texts) >= 8.5


def test_layout_can_be_chosen():
    draw_network(UNet(channels=(4, 8)), (2, 16, 16), layout="chain")
    assert len({box.get_y() for box in _boxes(plt.gca())}) == 1


def test_draw_network_rejects_what_it_cannot_draw():
    with pytest.raises(TypeError, match="`model` must be a coursekit.nn Layer"):
        draw_network("LeNet", (1, 28, 28))
    with pytest.raises(ValueError, match=r"`input_shape` \(1, 32, 32\) does not fit the model.*28, 28"):
        draw_network(LeNet(), (1, 32, 32))
    with pytest.raises(ValueError, match=r"`input_shape` \(2, 30, 30\) does not fit the model.*multiples of 4"):
        draw_network(UNet(), (2, 30, 30))
    with pytest.raises(ValueError, match=r"`input_shape` must be \(channels, rows, columns\)"):
        draw_network(LeNet(), (28, 28))
    with pytest.raises(ValueError, match="`input_shape` must be positive; got 0"):
        draw_network(LeNet(), (0, 28, 28))
    with pytest.raises(ValueError, match="`layout` must be 'auto', 'chain' or 'u'"):
        draw_network(LeNet(), (1, 28, 28), layout="v")


# Multi-channel convolution


@pytest.mark.parametrize("c_in, c_out", [(1, 1), (3, 2), (6, 4)])
def test_multichannel_conv_draws_one_filter_of_c_in_kernels_per_output(c_in, c_out):
    ax = draw_multichannel_conv(c_in=c_in, c_out=c_out)
    assert len(_patches(ax, "input channel")) == c_in
    assert len(_patches(ax, "filter")) == len(_patches(ax, "sum")) == len(_patches(ax, "output channel")) == c_out
    assert len(_patches(ax, "kernel")) == len(_patches(ax, "product")) == c_in * c_out
    assert sum(text.get_text() == "Σ" for text in ax.texts) == c_out
    assert sorted(_texts(ax, "product label")) == sorted(
        rf"$x_{c} \star w_{{{o},{c}}}$" for o in range(1, c_out + 1) for c in range(1, c_in + 1))
    assert [ann.get_text() for ann in ax.texts if ann.get_gid() == "bias"] == \
        [f"$+\\,b_{o}$" for o in range(1, c_out + 1)]


def test_each_kernel_has_the_colour_of_the_channel_it_reads():
    ax = draw_multichannel_conv(c_in=3, c_out=2)
    inputs = [to_hex(p.get_facecolor()) for p in _patches(ax, "input channel")]
    assert inputs == list(CHANNEL_COLORS[:3])
    assert [to_hex(p.get_facecolor()) for p in _patches(ax, "kernel")] == inputs * 2


@pytest.mark.parametrize("kwargs, error, message", [
    ({"c_in": 0}, ValueError, "`c_in` must be positive; got 0"),
    ({"c_in": 7}, ValueError, "`c_in` must be at most 6"),
    ({"c_out": 5}, ValueError, "`c_out` must be at most 4"),
    ({"c_out": 2.5}, TypeError, "`c_out` must be an integer"),
])
def test_multichannel_conv_rejects_counts_it_cannot_draw(kwargs, error, message):
    with pytest.raises(error, match=message):
        draw_multichannel_conv(**kwargs)


# Max pooling


def _cells(ax, gid):
    """(row, column) -> text of the cells drawn with this gid, rows from the top."""
    texts = [t for t in ax.texts if t.get_gid() == gid]
    xs = sorted({round(t.get_position()[0], 6) for t in texts})
    ys = sorted({round(t.get_position()[1], 6) for t in texts}, reverse=True)
    return {(ys.index(round(t.get_position()[1], 6)), xs.index(round(t.get_position()[0], 6))): t for t in texts}


@pytest.mark.parametrize("seed, shape, size", [(0, (4, 4), 2), (1, (6, 6), 3), (2, (6, 8), 2), (3, (3, 3), 1)])
def test_max_pooling_shows_coursekit_numbers(seed, shape, size):
    x = np.random.default_rng(seed).integers(0, 20, size=shape)
    out = draw_max_pooling(x, size)
    ax = plt.gca()
    np.testing.assert_array_equal(out, max_pool2d(x, size))
    inputs, outputs = _cells(ax, "input value"), _cells(ax, "output value")
    assert {cell: int(t.get_text()) for cell, t in inputs.items()} == {cell: v for cell, v in np.ndenumerate(x)}
    assert {cell: int(t.get_text()) for cell, t in outputs.items()} == \
        {cell: v for cell, v in np.ndenumerate(max_pool2d(x, size))}


def test_max_pooling_marks_each_window_maximum_and_colours_the_output_like_its_window():
    x = np.array([[1, 3, 2, 0], [4, 6, 5, 1], [0, 2, 9, 8], [1, 1, 7, 3]])
    draw_max_pooling(x)
    ax = plt.gca()
    inputs, outputs = _cells(ax, "input value"), _cells(ax, "output value")
    bold = sorted(cell for cell, t in inputs.items() if t.get_fontweight() == "bold")
    assert bold == [(1, 1), (1, 2), (2, 1), (2, 2)]   # 6, 5, 2 (the first of two), 9
    assert len(_patches(ax, "maximum")) == len(_patches(ax, "window")) == 4
    colour = {}
    for patch in ax.patches:   # the cell under each number
        if type(patch) is plt.Rectangle and patch.get_fill() and patch.get_gid() is None:
            colour[(round(patch.get_x(), 6), round(patch.get_y(), 6))] = to_hex(patch.get_facecolor())

    def colour_under(text):
        x0, y0 = text.get_position()
        return next(c for (x, y), c in colour.items() if x < x0 < x + 0.42 + 1e-9 and y < y0 < y + 0.42 + 1e-9)

    for (i, j), out in outputs.items():
        window = {colour_under(inputs[(2 * i + r, 2 * j + c)]) for r in range(2) for c in range(2)}
        assert window == {colour_under(out)}
    assert len({colour_under(out) for out in outputs.values()}) == 4


def test_max_pooling_shows_floats_as_written():
    out = draw_max_pooling(np.array([[0.5, 1.25], [-2.0, 0.0]]))
    assert out.tolist() == [[1.25]]
    assert _texts(plt.gca(), "output value") == ["1.25"]


@pytest.mark.parametrize("x, size, error, message", [
    (np.zeros((5, 5)), 2, ValueError, r"`x` must have sides that are multiples of the window `size` \(2\)"),
    (np.zeros((14, 14)), 2, ValueError, "`x` must be at most 12 x 12"),
    (np.zeros((2, 4, 4)), 2, ValueError, "`x` must be a 2-dimensional array"),
    (np.zeros((4, 4), dtype=bool), 2, TypeError, "`x` must hold numbers, not bool"),
    (np.zeros((4, 4)), 0, ValueError, "`size` must be positive"),
])
def test_max_pooling_rejects_what_it_cannot_draw(x, size, error, message):
    with pytest.raises(error, match=message):
        draw_max_pooling(x, size)
