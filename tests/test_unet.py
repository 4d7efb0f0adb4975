"""The encoder-decoder: its gradients, its shapes, its scores, and the chapter's claims in small."""

import numpy as np
import pytest

from coursekit import synthetic, unet
from coursekit.conv import classic_kernel

from test_nn import numerical_gradient, sample_indices


@pytest.mark.parametrize("skip", [False, True])
def test_whole_network_gradient_by_central_differences(skip):
    rng = np.random.default_rng(int(skip))
    model = unet.EncoderDecoder(channels=(2, 3, 2), skip=skip, seed=3, dtype=np.float64)
    x = rng.uniform(0, 1, (2, 1, 54, 54))
    upstream = rng.normal(size=(2, 1, 54, 54))

    def loss():
        return float(np.sum(model(x) * upstream))

    model(x)
    model.backward(upstream)
    analytic = [g.copy() for g in model.gradients()]
    for number, (param, grad) in enumerate(zip(model.parameters(), analytic)):
        indices = sample_indices(param, rng, count=6)
        numeric = numerical_gradient(loss, param, indices)
        computed = np.array([grad[i] for i in indices])
        worst = np.max(np.abs(numeric - computed) / (np.abs(numeric) + np.abs(computed) + 1e-8))
        assert worst < 1e-5, f"parameter {number} {param.shape}: relative error {worst:.2e} (skip={skip})"


def test_skip_connection_feeds_the_last_stage_from_the_first():
    x = np.random.default_rng(0).uniform(0, 1, (1, 1, 54, 54))
    with_skip = unet.EncoderDecoder(channels=(2, 2, 2), skip=True)
    without = unet.EncoderDecoder(channels=(2, 2, 2), skip=False)
    assert with_skip.up3.layers[1].weight.shape[1] == 4 and without.up3.layers[1].weight.shape[1] == 2
    # With the deep path silenced, only the skip carries the image to the output.
    for stage in (with_skip.up2,):
        stage.layers[1].weight[...] = 0
        stage.layers[1].bias[...] = 0
    first = with_skip(x)
    second = with_skip(x[..., ::-1].copy())
    assert not np.allclose(first, second)


def test_shapes_follow_the_chapter():
    model = unet.EncoderDecoder()
    assert model.code_shape((136, 136)) == (32, 5, 5)
    assert model(np.zeros((1, 1, 136, 136), np.float32)).shape == (1, 1, 135, 135)
    assert unet.reconstruct(model, np.zeros((3, 136, 136, 1), np.uint8)).shape == (3, 135, 135)


@pytest.mark.parametrize("shape", [(100, 100), (128, 128), (60, 90), (136, 136)])
def test_any_image_size_works_with_and_without_skip(shape):
    """Fully convolutional: every side is rounded down to a multiple of 27, as three unpoolings need."""
    images = np.random.default_rng(3).uniform(0, 60, (2, *shape))
    expected = tuple(n // 27 * 27 for n in shape)
    for skip in (False, True):
        model = unet.EncoderDecoder(channels=(2, 2, 2), skip=skip)
        assert unet.reconstruct(model, images).shape == (2, *expected)
        assert len(unet.fit(model, images, epochs=1, crop=min(shape))) == 1
    assert unet.evaluate(images, images[:, :expected[0], :expected[1]])["rmse"] < 1e-4


def test_hand_made_edge_kernel_is_the_seed_convolution():
    # scipy's convolve2d flips the kernel: convolving with the seed's [1 0 -1] Sobel is
    # cross-correlating with its flip, coursekit's sobel_x.
    from scipy.signal import convolve2d

    from coursekit.conv import corr2d, pad2d

    image = np.random.default_rng(1).uniform(0, 60, (20, 20))
    np.testing.assert_allclose(corr2d(pad2d(image, 1), unet.EDGE_KERNEL),
                               convolve2d(image, unet.EDGE_KERNEL[::-1, ::-1], mode="same"))
    np.testing.assert_array_equal(unet.EDGE_KERNEL, classic_kernel("sobel_x"))


def test_evaluate_scores():
    x = np.zeros((2, 136, 136))
    x[:, 30:40, 30:40] = 50
    perfect = x[:, :135, :135]
    assert unet.evaluate(x, perfect) == {"rmse": 0.0, "iou": 1.0}
    shifted = np.roll(perfect, 5, axis=-1)      # 10x10 square moved by 5: IoU = 50 / 150
    scores = unet.evaluate(x, shifted)
    assert np.isclose(scores["iou"], 1 / 3)
    assert np.isclose(scores["rmse"], np.sqrt(2 * 2 * 5 * 10 * 50**2 / (2 * 135 * 135)))
    with pytest.raises(ValueError, match="`reconstructions` must have shape"):
        unet.evaluate(x, perfect[:, :100])


def test_echo_weight_grows_with_reflectivity():
    np.testing.assert_array_equal(unet.echo_weight(np.array([0, 19.9, 20, 30, 40, 80])), [1, 1, 2, 5, 10, 10])


def test_hand_made_gain_is_fitted_on_the_given_images():
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 60, (3, 136, 136))
    fitted_on_self = unet.hand_made(images, "repeat")
    residual = images[:, :135, :135] - fitted_on_self
    # Least squares: a gain and an offset cannot reduce the error any further.
    for gain, offset in [(1.01, 0), (0.99, 0), (1, 0.5), (1, -0.5)]:
        worse = np.clip(gain * fitted_on_self + offset, 0, 80)
        assert np.mean(residual**2) <= np.mean((images[:, :135, :135] - worse) ** 2) + 1e-9


def test_learning_beats_hand_made_and_skip_beats_no_skip():
    """The chapter's claims, on a smaller budget: learned < hand-made < error of nothing."""
    train_x = synthetic.synthetic_radar(64, seed=11)[0]
    test_x = synthetic.synthetic_radar(16, seed=12)[0]
    hand = unet.evaluate(test_x, unet.hand_made(test_x, "repeat", fit=train_x))
    scores = {}
    for skip in (False, True):
        model = unet.EncoderDecoder(skip=skip)
        losses = unet.fit(model, train_x, epochs=10)
        assert losses[-1] < losses[0]
        scores[skip] = unet.evaluate(test_x, unet.reconstruct(model, test_x))
    assert scores[False]["rmse"] < hand["rmse"]
    assert scores[False]["iou"] > hand["iou"]
    assert scores[True]["rmse"] < scores[False]["rmse"]
    assert scores[True]["iou"] > scores[False]["iou"]


@pytest.mark.parametrize("call, match", [
    (lambda: unet.EncoderDecoder(channels=8), "`channels` must be three counts"),
    (lambda: unet.EncoderDecoder(channels=(8, 0, 8)), "`channels` must be positive"),
    (lambda: unet.fit(unet.EncoderDecoder(), np.zeros((2, 136, 136)), crop=200), "`crop` \\(200\\) must not exceed"),
    (lambda: unet.reconstruct(unet.EncoderDecoder(), np.zeros((2, 136, 136, 3))), "must hold one channel"),
    (lambda: unet.reconstruct(unet.EncoderDecoder(), np.zeros((136, 136))), "`images`"),
    (lambda: unet.reconstruct(unet.EncoderDecoder(), np.zeros((0, 136, 136))), "`images` holds no image"),
    (lambda: unet.reconstruct(unet.EncoderDecoder(), np.zeros((2, 20, 136))), "at least 27 x 27 pixels"),
    (lambda: unet.EncoderDecoder()(np.zeros((1, 1, 26, 40))), "at least 27 pixels a side"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
