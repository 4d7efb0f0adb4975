"""The pixel classifier: the transposed convolution, the per-pixel loss, the U-Net, its baselines
and scores, and a short training that must learn something a threshold cannot."""

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import conv, echo, metrics, nn
from coursekit import pixel_classifier as pc
from coursekit.encoder_decoder import DBZ_SCALE
from coursekit.pooling import unpool2d
from coursekit.testing import check_gradients, check_loss_gradient, conv_transpose2d_reference
from strategies import conv_transpose_configs, normal, seeds

GRADIENTS = settings(max_examples=25)
ROOT = Path(__file__).resolve().parents[1]


def make_transpose(config, dtype=np.float64):
    return nn.ConvTranspose2D(config["c_in"], config["c_out"], config["kernel"], stride=config["stride"],
                              padding=config["padding"], output_padding=config["output_padding"],
                              rng=config["seed"], dtype=dtype)


def transpose_input(config):
    return normal(config["seed"] + 1, (config["n"], config["c_in"], *config["shape"]))


# --- the transposed convolution ------------------------------------------------------------


@GRADIENTS
@given(conv_transpose_configs())
def test_conv_transpose_gradients(config):
    check_gradients(make_transpose(config), transpose_input(config), rng=config["seed"], samples=40)


@settings(max_examples=30)
@given(conv_transpose_configs())
def test_conv_transpose_scatters_each_input_value_times_the_kernel(config):
    layer, x = make_transpose(config), transpose_input(config)
    expected = conv_transpose2d_reference(x, layer.weight.value, layer.bias.value, config["stride"],
                                          config["padding"], config["output_padding"])
    np.testing.assert_allclose(layer(x), expected, atol=1e-12)


def zero_insertion_then_convolution(x, w, b, stride, padding, output_padding):
    """Insert stride - 1 zeros between values, pad fully (k - 1 - p on each side, the output padding
    at the bottom and right; a negative padding crops) and cross-correlate with the kernel rotated
    by 180 degrees and its two channel axes swapped."""
    (s_r, s_c), (p_r, p_c), (e_r, e_c) = stride, padding, output_padding
    (k_r, k_c), (rows, cols) = w.shape[2:], x.shape[2:]
    spread = np.zeros(x.shape[:2] + ((rows - 1) * s_r + 1, (cols - 1) * s_c + 1))
    spread[..., ::s_r, ::s_c] = x
    if s_r == s_c:   # unpooling by zeros into each block's corner, less its last s - 1 rows and columns
        corner = unpool2d(x, s_r, "zeros", offset=0)
        np.testing.assert_array_equal(spread, corner[..., :spread.shape[2], :spread.shape[3]])
    widths = [(k_r - 1 - p_r, k_r - 1 - p_r + e_r), (k_c - 1 - p_c, k_c - 1 - p_c + e_c)]
    full = np.pad(spread, [(0, 0), (0, 0)] + [(max(a, 0), max(z, 0)) for a, z in widths])
    full = full[..., max(-widths[0][0], 0):full.shape[2] - max(-widths[0][1], 0),
                max(-widths[1][0], 0):full.shape[3] - max(-widths[1][1], 0)]
    flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[..., ::-1, ::-1])
    return conv.conv2d(full, flipped, b)


@settings(max_examples=40)
@given(conv_transpose_configs())
def test_conv_transpose_is_zero_insertion_then_a_flipped_convolution(config):
    layer, x = make_transpose(config), transpose_input(config)
    expected = zero_insertion_then_convolution(x, layer.weight.value, layer.bias.value, config["stride"],
                                               config["padding"], config["output_padding"])
    np.testing.assert_allclose(layer(x), expected, atol=1e-12)


@settings(max_examples=20)
@given(conv_transpose_configs())
def test_conv_transpose_backward_is_the_convolution_with_the_same_weights(config):
    """Transposed convolution and cross-correlation are adjoint: <T x, y> = <x, C y>."""
    layer, x = make_transpose(config), transpose_input(config)
    layer.bias.value[...] = 0
    y = normal(config["seed"] + 2, layer(x).shape)
    cy = conv.conv2d(y, layer.weight.value, stride=config["stride"], padding=config["padding"])
    np.testing.assert_allclose(layer.backward(y), cy, atol=1e-12)
    assert np.isclose(np.sum(layer(x) * y), np.sum(x * cy))


def test_uneven_overlap_draws_a_checkerboard():
    """A 3x3 kernel of ones at stride 2 covers some outputs once, others twice or four times;
    a 2x2 kernel at stride 2 covers every output once."""
    x = np.ones((1, 1, 4, 4))
    uneven = nn.ConvTranspose2D(1, 1, 3, stride=2, padding=1, output_padding=1)
    even = nn.ConvTranspose2D(1, 1, 2, stride=2)
    for layer in (uneven, even):
        layer.weight.value[...] = 1
        layer.bias.value[...] = 0
    np.testing.assert_array_equal(even(x)[0, 0], np.ones((8, 8)))
    inner = uneven(x)[0, 0, :7, :7]
    np.testing.assert_array_equal(inner[:3, :3], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_conv_transpose_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for kernel, stride, padding, extra in [(2, 2, 0, 0), (3, 2, 1, 1), ((3, 2), (2, 3), (1, 0), (1, 2)), (4, 1, 2, 0)]:
        layer = nn.ConvTranspose2D(3, 2, kernel, stride=stride, padding=padding, output_padding=extra, rng=rng)
        x = rng.normal(size=(2, 3, 5, 4))
        xt = torch.tensor(x, requires_grad=True)
        wt = torch.tensor(layer.weight.value, requires_grad=True)
        bt = torch.tensor(layer.bias.value, requires_grad=True)
        yt = torch.nn.functional.conv_transpose2d(xt, wt, bt, stride=stride, padding=padding, output_padding=extra)
        upstream = rng.normal(size=tuple(yt.shape))
        (yt * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(layer(x), yt.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(layer.weight.grad, wt.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), atol=1e-10)


# --- the per-pixel loss ----------------------------------------------------------------------


@GRADIENTS
@given(st.integers(1, 2), st.integers(2, 4), st.integers(1, 4), st.integers(1, 4), st.booleans(),
       st.sampled_from([0.0, 0.5, 2.0]), seeds)
def test_pixel_cross_entropy_gradient(n, classes, rows, cols, weighted, dice, seed):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 4, classes) if weighted else None
    check_loss_gradient(nn.PixelCrossEntropy(weights, dice=dice), 3 * rng.normal(size=(n, classes, rows, cols)),
                        rng.integers(0, classes, (n, rows, cols)))


def test_pixel_cross_entropy_is_softmax_cross_entropy_per_pixel():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))
    flat_logits = logits.transpose(0, 2, 3, 1).reshape(-1, 3)
    expected = nn.SoftmaxCrossEntropy().forward(flat_logits, labels.ravel())
    assert nn.PixelCrossEntropy().forward(logits, labels) == pytest.approx(expected)


def test_pixel_cross_entropy_matches_torch_with_class_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits, labels, weights = rng.normal(size=(2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5)), [1.0, 2.0, 5.0]
    loss = nn.PixelCrossEntropy(weights)
    lt = torch.tensor(logits, requires_grad=True)
    reference = torch.nn.functional.cross_entropy(lt, torch.tensor(labels),
                                                  weight=torch.tensor(weights, dtype=torch.float64))
    reference.backward()
    assert loss.forward(logits, labels) == pytest.approx(reference.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), lt.grad.numpy(), atol=1e-14)


def test_soft_dice_term_is_about_zero_for_a_confident_right_answer_and_one_for_a_wrong_one():
    labels = np.array([[[0, 1], [2, 2]]])
    one_hot = (labels[:, None] == np.arange(3)[None, :, None, None]).astype(float)
    right, wrong = 50 * one_hot, 50 * np.roll(one_hot, 1, axis=1)
    plain = nn.PixelCrossEntropy()
    with_dice = nn.PixelCrossEntropy(dice=1.0)
    assert with_dice.forward(right, labels) - plain.forward(right, labels) < 1e-6
    assert with_dice.forward(wrong, labels) - plain.forward(wrong, labels) > 0.6


# --- the U-Net -----------------------------------------------------------------------------


@settings(max_examples=6)
@given(st.booleans(), st.sampled_from([(2, 3), (2, 3, 2)]), st.integers(0, 2**16))
def test_whole_unet_gradients(skip, channels, seed):
    model = pc.UNet(channels=channels, skip=skip, seed=seed % 5, dtype=np.float64)
    # He's start zeroes the biases: maps of exact zeros would then sit on ReLU's kink and tie in the
    # max pooling, where central differences mean nothing.
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        if p.value.ndim == 1:
            p.value[...] = rng.normal(scale=0.1, size=p.value.shape)
    side = 2 * model.factor
    x = np.random.default_rng(seed).uniform(0, 1, (2, 2, side, side + model.factor))
    check_gradients(model, x, rng=seed, samples=6)


def test_unet_shapes_names_and_skips():
    model, plain = pc.UNet(), pc.UNet(skip=False)
    assert model(np.zeros((2, 2, 64, 72), np.float32)).shape == (2, 3, 64, 72)
    assert model.factor == 4 and model.names == ["block 1", "level 2", "block 1 up", "head"]
    assert isinstance(model["level 2"], nn.SkipConcat) and not isinstance(plain["level 2"], nn.SkipConcat)
    # A skip doubles the maps entering each decoder block.
    assert model["block 1 up"].layers[0].weight.value.shape == (8, 16, 3, 3)
    assert plain["block 1 up"].layers[0].weight.value.shape == (8, 8, 3, 3)
    ups = [layer for layer in _layers(model) if isinstance(layer, nn.ConvTranspose2D)]
    assert [u.weight.value.shape for u in ups] == [(32, 16, 2, 2), (16, 8, 2, 2)]
    assert all(p.value.dtype == np.float32 for p in model.parameters())


def _layers(layer):
    inner = getattr(layer, "layers", None) or ([layer.inner] if isinstance(layer, nn.SkipConcat) else [])
    return [layer] + [deeper for child in inner for deeper in _layers(child)]


def test_predict_labels_pads_sizes_that_do_not_divide_and_keeps_every_pixel_in_place():
    model = pc.UNet(channels=(2, 3, 4), seed=1)
    images = np.random.default_rng(0).uniform(0, 60, (2, 30, 37))
    labels = pc.predict_labels(model, images)
    assert labels.shape == (2, 30, 37) and labels.dtype == np.int64
    padded = np.pad(images, [(0, 0), (0, 2), (0, 3)])
    np.testing.assert_array_equal(labels, pc.predict_labels(model, padded)[:, :30, :37])
    assert pc.predict_labels(model, images[..., None]).shape == (2, 30, 37)


def test_classifier_input_is_scaled_reflectivity_and_the_echo_mask():
    x = pc.classifier_input(np.array([[[0, 1, 40, 80]]], np.uint8))
    assert x.dtype == np.float32 and x.shape == (1, 2, 1, 4)
    np.testing.assert_allclose(x[0, :, 0], [[0, 1 / 80, 0.5, 1], [0, 1, 1, 1]])


def test_training_crops_cut_images_and_labels_alike():
    images = np.random.default_rng(3).uniform(-5, 60, (3, 40, 40)).round()
    x, y = pc.training_crops(images, side=40, crops=4, seed=1)
    assert x.shape == (12, 2, 40, 40) and y.shape == (12, 40, 40)
    # Whole-image crops differ only by flips, and the rules are isotropic: each crop's labels
    # are the labels of its own pixels.
    np.testing.assert_array_equal(y, echo.convective_stratiform(x[:, 0] * DBZ_SCALE))
    flipped = {tuple(np.flatnonzero([np.array_equal(crop, image[::a, ::b]) for image in images]))
               for crop in x[:, 0] * DBZ_SCALE for a in (1, -1) for b in (1, -1)}
    assert flipped >= {(0,), (1,), (2,)}
    small_x, small_y = pc.training_crops(images, side=16, crops=2)
    assert small_x.shape == (6, 2, 16, 16) and small_y.shape == (6, 16, 16)


def test_threshold_baseline():
    dbz = np.array([[[0, 1, 39.9, 40, 70]]])
    np.testing.assert_array_equal(pc.threshold_labels(dbz), [[[0, 1, 1, 2, 2]]])
    np.testing.assert_array_equal(pc.threshold_labels(dbz, threshold=30), [[[0, 1, 2, 2, 2]]])


def test_scores_and_confusion_matrix_match_scikit_learn():
    from sklearn.metrics import confusion_matrix, jaccard_score

    rng = np.random.default_rng(4)
    target, prediction = rng.integers(0, 3, (3, 8, 9)), rng.integers(0, 3, (3, 8, 9))
    expected = confusion_matrix(target.ravel(), prediction.ravel(), labels=[0, 1, 2])
    np.testing.assert_array_equal(metrics.confusion_matrix(target, prediction, 3), expected)
    result = pc.label_scores(target, prediction)
    np.testing.assert_array_equal(result["confusion"], expected)
    np.testing.assert_allclose(result["iou"], jaccard_score(target.ravel(), prediction.ravel(), average=None))
    assert result["mean_iou"] == pytest.approx(np.mean(result["iou"][1:]))
    assert np.isnan(pc.label_scores(np.zeros((4, 4), int), np.zeros((4, 4), int))["iou"][2])


def test_class_edges_mark_both_sides_of_every_border_and_nothing_else():
    labels = np.zeros((2, 6, 6), int)
    labels[0, 2:4, 2:4] = 2
    edges = pc.class_edges(labels)
    assert not edges[1].any()
    expected = np.zeros((6, 6), bool)
    expected[1:5, 1:5] = True
    np.testing.assert_array_equal(edges[0], expected)
    np.testing.assert_array_equal(pc.class_edges(labels[0]), expected)


# --- a short training ----------------------------------------------------------------------


def bumps(count, seed, side=32):
    """Stratiform rain of 15-25 dBZ with small bumps of 35-39 dBZ on it.

    Steiner's rules call the bumps' cores convective (they stand out from their background by
    more than the peakedness), though none reaches 40 dBZ: the threshold baseline misses them all.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:side, :side]
    images = np.zeros((count, side, side))
    for image in images:
        image[:] = np.where(rng.random((side, side)) < 0.97, rng.uniform(15, 25), 0)
        for _ in range(6):
            r, c = rng.integers(3, side - 3, 2)
            image[(rows - r) ** 2 + (cols - c) ** 2 <= 2] = rng.uniform(35, 39)
    return images.round()


def test_a_short_training_lowers_the_loss_and_finds_convection_the_threshold_misses():
    train_x, test_x = bumps(24, seed=0), bumps(8, seed=1)
    target = echo.convective_stratiform(test_x)
    assert (target == echo.CONVECTIVE).any() and not (test_x >= 40).any()
    model, history = pc.train(train_x, channels=(8, 16), recipe={"side": 32, "crops": 1, "epochs": 30,
                                                                 "batch_size": 4})
    assert history["loss"][-1] < 0.25 * history["loss"][0]
    learned = pc.label_scores(target, pc.predict_labels(model, test_x))
    baseline = pc.label_scores(target, pc.threshold_labels(test_x))
    assert baseline["iou"][echo.CONVECTIVE] == 0
    assert learned["iou"][echo.CONVECTIVE] > 0.3
    assert learned["iou"][echo.NO_ECHO] > 0.99 and learned["iou"][echo.STRATIFORM] > 0.95


def test_train_uses_at_most_the_recipes_number_of_images(monkeypatch):
    images = bumps(6, seed=2, side=16)
    crops = pc.training_crops
    counts = []

    def counting(chosen, **options):
        counts.append(len(chosen))
        assert all(any(np.array_equal(image, original) for original in images) for image in chosen)
        return crops(chosen, **options)

    monkeypatch.setattr(pc, "training_crops", counting)
    for limit in (2, 10):
        pc.train(images, channels=(2, 2), recipe={"images": limit, "side": 16, "crops": 1, "epochs": 1})
    assert counts == [2, 6]


# --- the shipped weights ------------------------------------------------------------------


def synthetic_testing_scores(model):
    from coursekit import data
    testing = data.load_radar("testing", source="synthetic", progressbar=False)
    return pc.label_scores(echo.convective_stratiform(testing.x[..., 0]), pc.predict_labels(model, testing.x))


@pytest.mark.parametrize("skip", [True, False])
def test_shipped_weights_score_as_their_file_says_and_a_fresh_training_scores_the_same(skip):
    """`make weights` is reproducible: training again with the recipe gives the scores the shipped
    file records (exactly here; a machine with another BLAS may round differently along the way)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from train_weights import train_and_score

    model, info = pc.pretrained(skip=skip)
    assert model.skip is skip and info["skip"] is skip and info["recipe"] == pc.CLASSIFIER_RECIPE
    assert "synthetic" in info["data"] and info["class_weights"] == list(pc.CLASS_WEIGHTS)
    shipped = synthetic_testing_scores(model)
    assert shipped["mean_iou"] == pytest.approx(info["scores"]["mean_iou"], abs=1e-4)
    assert shipped["mean_iou"] > (0.85 if skip else 0.75)   # the skips are worth it, as the chapters say
    fresh, fresh_info = train_and_score(skip)
    assert fresh_info["scores"]["mean_iou"] == pytest.approx(info["scores"]["mean_iou"], abs=0.01)
    np.testing.assert_allclose(fresh_info["scores"]["iou"], info["scores"]["iou"], atol=0.015)
    assert fresh_info["final_loss"] == pytest.approx(info["final_loss"], rel=0.05)


def test_saved_parameters_load_into_the_same_architecture_only(tmp_path):
    model = pc.UNet(channels=(2, 4), seed=3)
    path = tmp_path / "small.npz"
    nn.save_parameters(model, path, {"note": "test", "scores": [0.5, 0.25]})
    assert [p.name for p in tmp_path.iterdir()] == ["small.npz"]   # no temporary file left behind
    other = pc.UNet(channels=(2, 4), seed=4)
    x = normal(0, (1, 2, 8, 8)).astype(np.float32)
    assert not np.allclose(other(x), model(x))
    assert nn.load_parameters(other, path) == {"note": "test", "scores": [0.5, 0.25]}
    np.testing.assert_array_equal(other(x), model(x))
    before = [p.value.copy() for p in pc.UNet(channels=(2, 8)).parameters()]
    wrong = pc.UNet(channels=(2, 8))
    with pytest.raises(ValueError, match=r"holds the parameters of UNet\(channels=\(2, 4\)"):
        nn.load_parameters(wrong, path)
    assert all(np.array_equal(a, p.value) for a, p in zip(before, wrong.parameters()))   # left untouched
    with pytest.raises(FileNotFoundError, match="No saved parameters at .*missing.npz"):
        nn.load_parameters(model, tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.npz is not a file of saved parameters"):
        nn.load_parameters(model, tmp_path / "junk.npz")
    with pytest.raises(TypeError, match="`info` must hold only JSON values"):
        nn.save_parameters(model, tmp_path / "bad.npz", {"array": np.zeros(2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz", "small.npz"]


@pytest.mark.parametrize("call, error, match", [
    (lambda: nn.ConvTranspose2D(1, 1, 3, stride=2, output_padding=2), ValueError, "`output_padding` \\(2\\)"),
    (lambda: nn.ConvTranspose2D(1, 1, 3, padding=2)(np.zeros((1, 1, 1, 1))), ValueError, "removes the whole output"),
    (lambda: nn.ConvTranspose2D(2, 1, 2)(np.zeros((1, 3, 4, 4))), ValueError, "expects 2 input channels"),
    (lambda: nn.PixelCrossEntropy(weights=[1, 0, 2]), ValueError, "`weights` must hold one positive"),
    (lambda: nn.PixelCrossEntropy(dice=-1), ValueError, "`dice` must be"),
    (lambda: nn.PixelCrossEntropy().forward(np.zeros((1, 3, 2, 2)), np.zeros((1, 2, 3), int)), ValueError,
     "`labels` must have shape"),
    (lambda: nn.PixelCrossEntropy().forward(np.zeros((1, 3, 2, 2)), np.full((1, 2, 2), 3)), ValueError,
     "integers in 0..2"),
    (lambda: nn.PixelCrossEntropy([1, 2]).forward(np.zeros((1, 3, 2, 2)), np.zeros((1, 2, 2), int)), ValueError,
     "`weights` has 2 entries"),
    (lambda: pc.UNet(channels=(8,)), ValueError, "`channels` must be two or more"),
    (lambda: pc.UNet()(np.zeros((1, 2, 30, 32))), ValueError, "multiples of 4"),
    (lambda: pc.training_crops(np.zeros((2, 40, 40)), side=50), ValueError, "`side` \\(50\\) must not exceed"),
    (lambda: pc.predict_labels(pc.UNet(), np.zeros((2, 40, 40, 3))), ValueError, "must hold one channel"),
    (lambda: pc.classifier_input(np.zeros((0, 40, 40))), ValueError, "`images` holds no image"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
