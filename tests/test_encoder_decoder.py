"""The encoder-decoder: its gradients, its shapes, its scores, and the chapter's claims in small."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import encoder_decoder as ed
from coursekit import nn, synthetic
from coursekit.conv import classic_kernel
from coursekit.encoder_decoder import decode, encode
from coursekit.testing import check_gradients, check_loss_gradient

ORIENTATIONS = {"as is": lambda a: a, "left-right": lambda a: a[..., ::-1],
                "up-down": lambda a: a[..., ::-1, :], "both": lambda a: a[..., ::-1, ::-1]}


def _orientation_and_crop(out, image, side):
    """How `out` (C, side, side) came from `image` (C, H, W): the orientation and corner, or None."""
    for name, turn in ORIENTATIONS.items():
        for r in range(image.shape[-2] - side + 1):
            for c in range(image.shape[-1] - side + 1):
                if np.array_equal(turn(image[:, r:r + side, c:c + side]), out):
                    return name, (r, c)
    return None


def test_random_crop_flip_crops_each_image_and_turns_the_batch_alike():
    rng = np.random.default_rng(5)
    batch = rng.random((3, 2, 31, 33))  # distinct values: a crop is found in one place only
    seen, corners = set(), set()
    for seed in range(24):
        out = ed.random_crop_flip(batch, seed, side=27)
        assert out.shape == (3, 2, 27, 27) and out.flags.c_contiguous
        found = [_orientation_and_crop(o, image, 27) for o, image in zip(out, batch)]
        assert None not in found, seed  # every output is a crop of its own image, turned
        assert len({name for name, _ in found}) == 1, found  # one orientation for the whole batch
        seen.add(found[0][0])
        corners |= {corner for _, corner in found}
    assert seen == set(ORIENTATIONS)  # both flips, each on and off
    assert len(corners) > 10  # each image at its own random place


def train(model, images, **options):
    """The chapter's recipe through the one training loop; returns the losses per epoch."""
    side = options.pop("side", 81)
    recipe = {**ed.RECIPE, "augment": functools.partial(ed.random_crop_flip, side=side), **options}
    return nn.fit(model, ed.ReconstructionError(), ed.network_input(images), **recipe)["loss"]


@settings(max_examples=6)
@given(st.booleans(), st.integers(27, 40), st.integers(27, 40), st.integers(0, 2**16))
def test_whole_network_gradients(skip, rows, cols, seed):
    model = ed.EncoderDecoder(channels=(2, 3, 2), skip=skip, seed=seed % 7, dtype=np.float64)
    x = np.random.default_rng(seed).uniform(0, 1, (1, 1, rows, cols))
    check_gradients(model, x, rng=seed, samples=5)


def test_reconstruction_error_gradient_and_weights():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 0.8, (2, 1, 30, 29))
    check_loss_gradient(ed.ReconstructionError(), rng.uniform(0, 1, (2, 1, 27, 27)), images)
    # One pixel of 40 dBZ (weight 10) off by 0.1, the rest exact: 10 * 0.01 / (27 * 27).
    images = np.zeros((1, 1, 27, 27))
    images[0, 0, 3, 4] = 0.5
    prediction = images.copy()
    prediction[0, 0, 3, 4] = 0.6
    assert ed.ReconstructionError().forward(prediction, images) == pytest.approx(0.1 / 729)


def test_skip_connection_feeds_the_last_stage_from_the_first():
    x = np.random.default_rng(0).uniform(0, 1, (1, 1, 54, 54))
    with_skip = ed.EncoderDecoder(channels=(2, 2, 2), skip=True)
    without = ed.EncoderDecoder(channels=(2, 2, 2), skip=False)
    assert with_skip.up3.layers[1].weight.value.shape[1] == 4 and without.up3.layers[1].weight.value.shape[1] == 2
    # With the deep path silenced, only the skip carries the image to the output.
    for stage in (with_skip.up2,):
        stage.layers[1].weight.value[...] = 0
        stage.layers[1].bias.value[...] = 0
    first = with_skip(x)
    second = with_skip(x[..., ::-1].copy())
    assert not np.allclose(first, second)


def test_shapes_follow_the_chapter():
    model = ed.EncoderDecoder()
    assert model.code_shape((136, 136)) == (32, 5, 5)
    assert model(np.zeros((1, 1, 136, 136), np.float32)).shape == (1, 1, 135, 135)
    assert ed.reconstruct(model, np.zeros((3, 136, 136, 1), np.uint8)).shape == (3, 135, 135)


@pytest.mark.parametrize("shape", [(100, 100), (128, 128), (60, 90), (136, 136)])
def test_any_image_size_works_with_and_without_skip(shape):
    """Fully convolutional: every side is rounded down to a multiple of 27, as three unpoolings need."""
    images = np.random.default_rng(3).uniform(0, 60, (2, *shape))
    expected = tuple(n // 27 * 27 for n in shape)
    for skip in (False, True):
        model = ed.EncoderDecoder(channels=(2, 2, 2), skip=skip)
        assert ed.reconstruct(model, images).shape == (2, *expected)
        assert len(train(model, images, epochs=1, side=min(shape))) == 1
    assert ed.evaluate(images, images[:, :expected[0], :expected[1]])["rmse"] < 1e-4


def test_hand_made_edge_kernel_is_the_seed_convolution():
    # scipy's convolve2d flips the kernel: convolving with the seed's [1 0 -1] Sobel is
    # cross-correlating with its flip, coursekit's sobel_x.
    from scipy.signal import convolve2d

    from coursekit.conv import corr2d, pad2d

    image = np.random.default_rng(1).uniform(0, 60, (20, 20))
    np.testing.assert_allclose(corr2d(pad2d(image, 1), ed.EDGE_KERNEL),
                               convolve2d(image, ed.EDGE_KERNEL[::-1, ::-1], mode="same"))
    np.testing.assert_array_equal(ed.EDGE_KERNEL, classic_kernel("sobel_x"))


def test_evaluate_scores():
    x = np.zeros((2, 136, 136))
    x[:, 30:40, 30:40] = 50
    perfect = x[:, :135, :135]
    assert ed.evaluate(x, perfect) == {"rmse": 0.0, "iou": 1.0}
    shifted = np.roll(perfect, 5, axis=-1)      # 10x10 square moved by 5: IoU = 50 / 150
    scores = ed.evaluate(x, shifted)
    assert np.isclose(scores["iou"], 1 / 3)
    assert np.isclose(scores["rmse"], np.sqrt(2 * 2 * 5 * 10 * 50**2 / (2 * 135 * 135)))
    with pytest.raises(ValueError, match="`reconstructions` must have shape"):
        ed.evaluate(x, perfect[:, :100])


def test_echo_weight_grows_with_reflectivity():
    np.testing.assert_array_equal(ed.echo_weight(np.array([0, 19.9, 20, 30, 40, 80])), [1, 1, 2, 5, 10, 10])


def test_hand_made_gain_is_fitted_on_the_given_images():
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 60, (3, 136, 136))
    fitted_on_self = ed.hand_made(images, "repeat")
    residual = images[:, :135, :135] - fitted_on_self
    # Least squares: a gain and an offset cannot reduce the error any further.
    for gain, offset in [(1.01, 0), (0.99, 0), (1, 0.5), (1, -0.5)]:
        worse = np.clip(gain * fitted_on_self + offset, 0, 80)
        assert np.mean(residual**2) <= np.mean((images[:, :135, :135] - worse) ** 2) + 1e-9


def test_learning_beats_hand_made_and_skip_beats_no_skip():
    """The chapter's claims, on a smaller budget: learned < hand-made < error of nothing."""
    train_x = synthetic.synthetic_radar(64, seed=11)[0]
    test_x = synthetic.synthetic_radar(16, seed=12)[0]
    hand = ed.evaluate(test_x, ed.hand_made(test_x, "repeat", fit=train_x))
    scores = {}
    for skip in (False, True):
        model = ed.EncoderDecoder(skip=skip)
        losses = train(model, train_x, epochs=10)
        assert losses[-1] < losses[0]
        scores[skip] = ed.evaluate(test_x, ed.reconstruct(model, test_x))
    assert scores[False]["rmse"] < hand["rmse"]
    assert scores[False]["iou"] > hand["iou"]
    assert scores[True]["rmse"] < scores[False]["rmse"]
    assert scores[True]["iou"] > scores[False]["iou"]


@pytest.mark.parametrize("call, match", [
    (lambda: ed.EncoderDecoder(channels=8), "`channels` must be three counts"),
    (lambda: ed.EncoderDecoder(channels=(8, 0, 8)), "`channels` must be positive"),
    (lambda: train(ed.EncoderDecoder(), np.zeros((2, 136, 136)), side=200), "`side` \\(200\\) must not exceed"),
    (lambda: encode(np.ones((20, 20)), np.ones((2, 2))), "`kernel` must be a square kernel of odd size"),
    (lambda: decode(np.ones((5, 5)), np.ones((3, 5))), "`kernel` must be a square kernel of odd size"),
    (lambda: ed.reconstruct(ed.EncoderDecoder(), np.zeros((2, 136, 136, 3))), "must hold one channel"),
    (lambda: ed.reconstruct(ed.EncoderDecoder(), np.zeros((136, 136))), "`images`"),
    (lambda: ed.reconstruct(ed.EncoderDecoder(), np.zeros((0, 136, 136))), "`images` holds no image"),
    (lambda: ed.reconstruct(ed.EncoderDecoder(), np.zeros((2, 20, 136))), "at least 27 x 27 pixels"),
    (lambda: ed.EncoderDecoder()(np.zeros((1, 1, 26, 40))), "at least 27 pixels a side"),
    # It blamed a window larger than an `x` the caller never passed.
    (lambda: encode(np.zeros((9, 9)), np.ones((3, 3)), depth=3),
     r"`image` \(9x9\) is too small for `depth`=3 poolings of `size`=3: it needs at least 27"),
    # NaN gave an IoU of 1 in evaluate, and a LAPACK error in the hand-made fit.
    (lambda: ed.evaluate(np.zeros((1, 136, 136)), np.full((1, 135, 135), np.nan)),
     "`reconstructions` must hold finite values"),
    (lambda: ed.evaluate(np.zeros((1, 136, 136)), np.zeros((1, 135, 135)), threshold=np.nan),
     "`threshold` must be finite"),
    (lambda: ed.hand_made(np.full((1, 27, 27), np.nan)), "`images` must hold finite values"),
    (lambda: ed.hand_made(np.zeros((1, 27, 27)), fit=np.full((1, 27, 27), np.inf)), "`fit` must hold finite"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_encoder_and_decoder_shapes_follow_the_seed_pipeline():
    image = np.random.default_rng(1).uniform(0, 80, size=(136, 136))
    edge = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    stages = dict(encode(image, edge, size=3, depth=3))
    assert [stages[f"pool {k}"].shape for k in (1, 2, 3)] == [(45, 45), (15, 15), (5, 5)]
    assert stages["conv 1"].shape == (136, 136)
    assert np.all(stages["relu 2"] >= 0)
    decoded = dict(decode(stages["pool 3"], np.ones((3, 3)) / 9, size=3, depth=3, mode="repeat"))
    assert [decoded[f"relu {k}"].shape for k in (1, 2, 3)] == [(15, 15), (45, 45), (135, 135)]


def test_decoded_impulse_stays_where_the_encoder_found_it():
    """Code pixel (2, 2) summarises input rows and columns 54 to 80, centred on 67: zero
    insertion at each block's centre decodes it there; in the top-left corner, 13 pixels
    (1 + 3 + 9) up and to the left."""
    from scipy import ndimage

    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1
    for mode, offset, centre in [("zeros", None, 67), ("repeat", None, 67), ("zeros", 0, 54)]:
        decoded = decode(impulse, ed.SMOOTH_KERNEL, mode=mode, offset=offset)[-1][1]
        np.testing.assert_allclose(ndimage.center_of_mass(decoded), (centre, centre), atol=1e-9)

