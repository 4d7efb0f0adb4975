"""Every gradient of coursekit.nn, checked by central differences over generated shapes, strides
and paddings; the convolution layer proven to be cross-correlation; the one training loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from coursekit import conv, nn
from coursekit.lenet import LeNet, random_affine
from coursekit.testing import check_gradients, check_loss_gradient, conv2d_reference
from strategies import conv_configs, normal, pool_configs, seeds, shapes_nchw, small

GRADIENTS = settings(max_examples=25)


def make_conv(config, dtype=np.float64):
    return nn.Conv2D(config["c_in"], config["c_out"], config["kernel"], stride=config["stride"],
                     padding=config["padding"], rng=config["seed"], dtype=dtype)


def conv_input(config):
    return normal(config["seed"] + 1, (config["n"], config["c_in"], *config["shape"]))


# --- gradients, by central differences -----------------------------------------------


@GRADIENTS
@given(conv_configs())
def test_conv2d_gradients(config):
    check_gradients(make_conv(config), conv_input(config), rng=config["seed"], samples=40)


@GRADIENTS
@given(pool_configs(), st.sampled_from([nn.AvgPool2D, nn.MaxPool2D]))
def test_pooling_gradients(config, pool):
    layer = pool(config["size"], stride=config["stride"])
    check_gradients(layer, normal(config["seed"], config["shape"]), rng=config["seed"])


@GRADIENTS
@given(shapes_nchw, small, st.sampled_from(["zeros", "repeat"]), seeds)
def test_unpool_gradients(shape, size, mode, seed):
    check_gradients(nn.Unpool2D(size, mode=mode), normal(seed, shape), rng=seed)


@GRADIENTS
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6), seeds)
def test_dense_gradients(n, in_features, out_features, seed):
    check_gradients(nn.Dense(in_features, out_features, rng=seed), normal(seed + 1, (n, in_features)), rng=seed)


@GRADIENTS
@given(shapes_nchw, st.sampled_from([nn.Sigmoid, nn.ReLU, nn.Flatten]), seeds)
def test_activation_gradients(shape, layer, seed):
    x = normal(seed, shape)
    x[np.abs(x) < 1e-3] = 0.5  # away from ReLU's kink, where differences are meaningless
    check_gradients(layer(), x, rng=seed)


@GRADIENTS
@given(st.integers(1, 5), st.integers(2, 6), seeds)
def test_softmax_cross_entropy_gradient(n, classes, seed):
    rng = np.random.default_rng(seed)
    check_loss_gradient(nn.SoftmaxCrossEntropy(), 3 * rng.normal(size=(n, classes)), rng.integers(0, classes, n))


@GRADIENTS
@given(shapes_nchw, seeds)
def test_weighted_mean_squared_error_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    check_loss_gradient(nn.MeanSquaredError(), rng.normal(size=shape), rng.normal(size=shape),
                        rng.uniform(1, 5, shape))


@GRADIENTS
@given(conv_configs())
def test_skip_concat_gradients(config):
    config = {**config, "stride": (1, 1), "padding": tuple(k // 2 for k in config["kernel"])}
    config["kernel"] = tuple(2 * (k // 2) + 1 for k in config["kernel"])   # odd: same size out
    check_gradients(nn.SkipConcat(make_conv(config)), conv_input(config), rng=config["seed"], samples=40)


@settings(max_examples=15)
@given(conv_configs(), st.sampled_from([nn.ReLU, nn.Sigmoid]), st.sampled_from([nn.AvgPool2D, nn.MaxPool2D]))
def test_small_network_gradients(config, activation, pool):
    """Conv, activation, pooling, dense: the chain rule through a whole generated network."""
    conv_layer = make_conv(config)
    x = conv_input(config)
    side = min(conv_layer(x).shape[-2:])
    stages = [conv_layer, activation(), pool(min(2, side)), nn.Flatten()]
    features = nn.Sequential(stages)(x).shape[1]
    network = nn.Sequential([*stages, nn.Dense(features, 3, rng=config["seed"])])
    check_gradients(network, x, rng=config["seed"], samples=20)


def test_whole_lenet_gradients():
    model = LeNet(seed=3, dtype=np.float64)
    check_gradients(model, normal(2, (2, 1, 28, 28)), rng=2, samples=4)


def test_the_check_explains_a_wrong_gradient():
    class Doubled(nn.Dense):
        def backward(self, grad):
            return 2 * super().backward(grad)

    with pytest.raises(AssertionError, match=r"the input x \(2, 3\) disagrees .* backward\(\) gives"):
        check_gradients(Doubled(3, 2, rng=0), normal(0, (2, 3)))


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties():
    layer = nn.MaxPool2D(2)
    layer.forward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_relu_by_hand_and_it_passes_nan_through_as_torch_does():
    layer = nn.ReLU()
    out = layer.forward(np.array([-np.inf, -2.0, -0.0, 0.0, 3.0, np.inf, np.nan]))
    np.testing.assert_array_equal(out, [0, 0, 0, 0, 3, np.inf, np.nan])
    # The gradient passes where the input was positive, and nowhere else (not at 0, not at NaN).
    np.testing.assert_array_equal(layer.backward(np.arange(1.0, 8.0)), [0, 0, 0, 0, 5, 6, 0])


def test_an_infinite_gradient_reaches_only_the_inputs_it_belongs_to():
    relu = nn.ReLU()
    relu.forward(np.array([-1.0, 2.0, -3.0]))
    np.testing.assert_array_equal(relu.backward(np.array([np.inf, 1.0, np.nan])), [0, 1, 0])
    pool = nn.MaxPool2D(2)
    pool.forward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(pool.backward(np.full((1, 1, 1, 1), np.inf))[0, 0], [[0, 0], [0, np.inf]])


def test_first_conv_layer_can_skip_the_input_gradient():
    full, first = nn.Conv2D(1, 3, 3, rng=0), nn.Conv2D(1, 3, 3, rng=0, input_grad=False)
    x, upstream = normal(5, (2, 1, 6, 6)), normal(6, (2, 3, 4, 4))
    full.forward(x), first.forward(x)
    assert full.backward(upstream) is not None and first.backward(upstream) is None
    for a, b in zip(full.parameters(), first.parameters()):
        np.testing.assert_array_equal(a.grad, b.grad)


# --- Conv2D is conv2d, and both are cross-correlation -----------------------------------


def assert_cross_correlation(x, w, b, stride, padding, out):
    """`out` must be the definition's loop and SciPy's correlate (never convolve) of x with w."""
    np.testing.assert_allclose(out, conv2d_reference(x, w, b, stride, padding), atol=1e-10,
                               err_msg="differs from the definition of cross-correlation")
    xp = np.pad(x, [(0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2])
    for n in range(len(x)):
        for o in range(len(w)):
            full = sum(signal.correlate(xp[n, c], w[o, c], mode="valid") for c in range(x.shape[1])) + b[o]
            np.testing.assert_allclose(out[n, o], full[::stride[0], ::stride[1]], atol=1e-10,
                                       err_msg="differs from scipy.signal.correlate")


def layer_and_function(config):
    layer = make_conv(config)
    x = conv_input(config)
    w, b = layer.weight.value, layer.bias.value
    from_layer = layer(x)
    from_function = conv.conv2d(x, w, b, stride=config["stride"], padding=config["padding"])
    return x, w, b, from_layer, from_function


@settings(max_examples=30)
@given(conv_configs())
def test_conv2d_layer_equals_conv2d_and_both_are_cross_correlation(config):
    x, w, b, from_layer, from_function = layer_and_function(config)
    np.testing.assert_array_equal(from_layer, from_function)
    assert_cross_correlation(x, w, b, config["stride"], config["padding"], from_layer)


def test_a_flipped_kernel_true_convolution_fails_the_cross_correlation_check(monkeypatch):
    """If the shared path flipped the kernel (a true convolution), the check above must catch it."""
    correlate = conv._correlate

    def convolve(x, w, b, stride, padding):
        return correlate(x, w[..., ::-1, ::-1], b, stride, padding)

    monkeypatch.setattr(conv, "_correlate", convolve)
    config = {"n": 1, "c_in": 2, "c_out": 2, "kernel": (3, 2), "stride": (1, 2), "padding": (1, 0),
              "shape": (5, 6), "seed": 7}
    x, w, b, from_layer, from_function = layer_and_function(config)
    np.testing.assert_array_equal(from_layer, from_function)   # both go through the one path...
    for out in (from_layer, from_function):                    # ...and both are caught
        with pytest.raises(AssertionError, match="definition of cross-correlation"):
            assert_cross_correlation(x, w, b, config["stride"], config["padding"], out)


# --- against PyTorch ----------------------------------------------------------------------


def test_layers_match_torch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 9, 8))
    conv_layer = nn.Conv2D(2, 4, 3, stride=2, padding=1, rng=rng)
    cases = [
        (conv_layer, lambda t, w, b: F.conv2d(t, w, b, stride=2, padding=1), conv_layer.parameters()),
        (nn.AvgPool2D(2), lambda t: F.avg_pool2d(t, 2), []),
        (nn.MaxPool2D(2), lambda t: F.max_pool2d(t, 2), []),
        (nn.Sigmoid(), torch.sigmoid, []),
        (nn.ReLU(), torch.relu, []),
        (nn.Unpool2D(3), lambda t: F.interpolate(t, scale_factor=3, mode="nearest"), []),
    ]
    for layer, reference, params in cases:
        xt = torch.tensor(x, requires_grad=True)
        pt = [torch.tensor(p.value, requires_grad=True) for p in params]
        yt = reference(xt, *pt)
        upstream = rng.normal(size=tuple(yt.shape))
        (yt * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), atol=1e-12, err_msg=repr(layer))
        np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), atol=1e-12, err_msg=repr(layer))
        for p, tensor in zip(params, pt):
            np.testing.assert_allclose(p.grad, tensor.grad.numpy(), atol=1e-10, err_msg=repr(layer))


# --- parameters and optimizers -----------------------------------------------------------


def test_sgd_with_momentum_and_adam_follow_their_formulas():
    g = np.array([0.5, 0.25])
    p = nn.Parameter(np.array([1.0, -2.0]))
    p.grad[...] = g
    sgd = nn.SGD([p], lr=0.1, momentum=0.9)
    sgd.step()
    sgd.step()  # v1 = -0.1 g; v2 = 0.9 v1 - 0.1 g = -0.19 g
    np.testing.assert_allclose(p.value, [1.0 - 0.29 * 0.5, -2.0 - 0.29 * 0.25])
    q = nn.Parameter(np.array([1.0, -2.0]))
    q.grad[...] = g
    adam = nn.Adam([q], lr=0.01)
    for _ in range(3):
        adam.step()  # constant gradient: every bias-corrected step is lr * sign(g)
    np.testing.assert_allclose(q.value, [0.97, -2.03], rtol=1e-6)


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.5), lambda ps: nn.Adam(ps, lr=0.1)])
def test_optimizers_minimise_a_quadratic(make):
    w = nn.Parameter(np.array([3.0, -4.0]))
    optimizer = make([w])
    for _ in range(300):
        w.grad[...] = 2 * w.value  # gradient of |w|^2
        optimizer.step()
    assert np.linalg.norm(w.value) < 1e-2


def test_every_parameter_of_a_model_is_listed_once():
    model = LeNet()
    params = model.parameters()
    assert all(isinstance(p, nn.Parameter) for p in params)
    assert len({id(p) for p in params}) == len(params) == 10   # 5 layers with weights, weight and bias each
    assert model["conv 1"].weight is params[0] and model["dense 3"].bias is params[-1]


# --- LeNet ---------------------------------------------------------------------------------


def test_lenet_architecture():
    model = LeNet()
    assert sum(p.value.size for p in model.parameters()) == 61706   # LeCun et al. (1998) with 10 outputs
    assert model(np.zeros((3, 1, 28, 28))).shape == (3, 10)
    summary = model.summary()
    for expected in ("(6, 28, 28)", "(6, 14, 14)", "(16, 10, 10)", "(16, 5, 5)", "(400,)", "(120,)", "(84,)",
                     "(10,)", "156", "2,416", "48,120", "10,164", "850", "61,706"):
        assert expected in summary
    # a table: every row ends at the same column, so no layer name pushes its numbers out
    assert len({len(line.rstrip()) for line in summary.splitlines() if line.split()[0] != "input"}) == 1
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        model(np.zeros((2, 1, 32, 32)))


def test_lenet_activations_are_the_maps_of_each_named_layer():
    model = LeNet(seed=1, dtype=np.float64)
    x = normal(0, (2, 1, 28, 28))
    maps = model.activations(x)
    assert list(maps)[:3] == ["conv 1", "activation 1", "pool 1"]
    np.testing.assert_allclose(maps["conv 1"], conv2d_reference(x, model["conv 1"].weight.value,
                                                                 model["conv 1"].bias.value, padding=2))
    np.testing.assert_allclose(maps["activation 1"], 1 / (1 + np.exp(-maps["conv 1"])))
    np.testing.assert_array_equal(maps["dense 3"], model(x))


def test_random_affine_without_range_is_the_identity_and_with_range_moves_the_digit():
    x = normal(0, (3, 1, 28, 28)).astype(np.float32)
    same = random_affine(x, 0, max_degrees=0, scale=(1, 1), max_shift=0)
    np.testing.assert_allclose(same, x, atol=1e-5)
    moved = random_affine(x, 0)
    assert all(np.abs(moved[i] - x[i]).max() > 0.1 for i in range(3))
    # An int seeds a generator: the same seed, the same transforms.
    np.testing.assert_array_equal(moved, random_affine(x, np.random.default_rng(0)))


def _blobs(seed, n, channels):
    """Images of one Gaussian blob each, well inside a 28 x 28 frame; the same in every channel."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    centres = rng.uniform(10, 18, (n, 2))
    blobs = np.exp(-((rows - centres[:, 0, None, None]) ** 2 + (cols - centres[:, 1, None, None]) ** 2) / 4)
    return np.repeat(blobs[:, None], channels, axis=1)


def _centres(images):
    """Centre of mass (row, column) of each image's first channel, from the frame's centre."""
    rows, cols = np.mgrid[0:28, 0:28] - 13.5
    mass = images[:, 0].sum(axis=(1, 2))
    return np.stack([(images[:, 0] * rows).sum(axis=(1, 2)), (images[:, 0] * cols).sum(axis=(1, 2))], 1) / mass[:, None]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(8, 12), channels=st.integers(1, 3))
def test_random_affine_moves_rotates_and_zooms_each_image_as_a_whole(seed, n, channels):
    x = _blobs(seed, n, channels)
    before = _centres(x)
    # Shifts only: the blob keeps its mass and moves by at most max_shift along each axis,
    # and, as the shift is random, the batch's blobs do not all stay put.
    shifted = random_affine(x, seed, max_degrees=0, scale=(1, 1), max_shift=2)
    assert shifted.shape == x.shape and shifted.dtype == x.dtype
    moved = _centres(shifted) - before
    assert np.abs(moved).max() <= 2 + 1e-6 and np.abs(moved).max() > 0.1
    np.testing.assert_allclose(shifted.sum(axis=(2, 3)), x.sum(axis=(2, 3)), rtol=1e-3)
    for channel in range(1, channels):  # every channel of an image moves with it
        np.testing.assert_array_equal(shifted[:, channel], shifted[:, 0])
    # Rotations only: the distance from the centre stays, the angle turns by at most 20 degrees.
    turned = _centres(random_affine(x, seed, max_degrees=20, scale=(1, 1), max_shift=0))
    np.testing.assert_allclose(np.hypot(*turned.T), np.hypot(*before.T), atol=0.02)
    angle = np.angle((turned[:, 1] + 1j * turned[:, 0]) / (before[:, 1] + 1j * before[:, 0]), deg=True)
    assert np.abs(angle).max() <= 20 + 0.5 and np.abs(angle).max() > 0.5
    # A zoom of exactly 1.1: every blob's distance from the centre grows by 10%.
    zoomed = _centres(random_affine(x, seed, max_degrees=0, scale=(1.1, 1.1), max_shift=0))
    np.testing.assert_allclose(zoomed, 1.1 * before, atol=0.02)


@pytest.mark.parametrize("call, error, match", [
    (lambda: random_affine(np.zeros((1, 1, 8, 8)), 0, max_degrees="12"), TypeError, "`max_degrees` must be a real"),
    (lambda: random_affine(np.zeros((1, 1, 8, 8)), 0, max_shift=-1), ValueError, "`max_shift` must be at least 0"),
    (lambda: random_affine(np.zeros((1, 1, 8, 8)), 0, scale=(0, 0)), ValueError, "`scale` must be positive"),
    (lambda: random_affine(np.zeros((1, 1, 8, 8)), 0, scale=(1.1, 0.9)), ValueError, "smaller zoom first"),
    (lambda: random_affine(np.zeros((1, 1, 8, 8)), 0, scale=1.1), TypeError, "`scale` must be a pair"),
    (lambda: nn.Adam([], lr=-0.1), ValueError, "`lr` must be at least 0"),  # it trained uphill
    (lambda: nn.Adam([], lr="0.1"), TypeError, "`lr` must be a real number"),
    (lambda: nn.SGD([], lr=float("nan")), ValueError, "`lr` must be finite"),
    (lambda: nn.Adam([], betas=0.9), TypeError, "`betas` must be a pair"),
    (lambda: nn.Adam([], betas=(0.9, 1.0)), ValueError, "`betas` must be from 0 up to"),
    (lambda: nn.SGD([], momentum=1.5), ValueError, "`momentum` must be from 0 up to"),
    (lambda: nn.Adam([], eps=0), ValueError, "`eps` must be positive"),
])
def test_bad_augmentation_and_optimizer_settings_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_settings_given_as_arrays_or_numpy_scalars_are_taken():
    # What NumPy code hands around: 0-d arrays, arrays of two, NumPy scalars.
    p = nn.Parameter(np.array([1.0]))
    adam = nn.Adam([p], lr=np.array(1e-3), betas=np.array([0.9, 0.999]), eps=np.float32(1e-8))
    assert (adam.lr, adam.betas) == (1e-3, (0.9, 0.999))
    assert nn.SGD([p], lr=0).lr == 0  # a zero step freezes the weights
    x = normal(0, (2, 1, 8, 8))
    np.testing.assert_array_equal(random_affine(x, 0, scale=np.array([1.0, 1.0]), max_degrees=np.array(0.0),
                                                max_shift=0), random_affine(x, 0, scale=(1, 1), max_degrees=0,
                                                                            max_shift=0))


def test_a_layer_may_take_options_after_its_input():
    class Scaled(nn.Layer):
        def forward(self, x, factor=1.0):
            self.factor = factor
            return x * factor

        def backward(self, grad, keep=False):
            return grad * self.factor

    layer = Scaled()
    assert layer.forward(np.ones(3), factor=2.0).sum() == 6
    assert layer.backward(np.ones(3), keep=True).sum() == 6


def test_fit_says_what_evaluate_should_return():
    x, y = linear_problem(8)
    for evaluate, error, match in [(lambda m: 0.5, TypeError, "must return a dict of scores.*returned float"),
                                   (lambda m: {"r": "high"}, TypeError, r"`evaluate\(model\)\['r'\]` must be a real")]:
        with pytest.raises(error, match=match):
            nn.fit(nn.Dense(3, 1, rng=0), nn.MeanSquaredError(), x, y, epochs=1, batch_size=4, lr=0.1,
                   evaluate=evaluate)


# --- the one training loop ------------------------------------------------------------------


def linear_problem(n=64):
    x = normal(0, (n, 3))
    return x, x @ np.array([[1.0], [-2.0], [0.5]])


def test_fit_learns_a_linear_map_and_records_each_epoch():
    x, y = linear_problem()
    model = nn.Dense(3, 1, rng=0)
    history = nn.fit(model, nn.MeanSquaredError(), x, y, epochs=30, batch_size=8, lr=0.05,
                     evaluate=lambda m: {"weight_error": np.abs(m.weight.value - [1.0, -2.0, 0.5]).max()})
    assert set(history) == {"loss", "lr", "seconds", "weight_error"}
    assert all(len(values) == 30 for values in history.values())
    assert history["loss"][-1] < 1e-3 * history["loss"][0]
    assert history["weight_error"][-1] < 0.01
    np.testing.assert_allclose(nn.predict(model, x, batch_size=7), x @ model.weight.value.T + model.bias.value)


def test_fit_and_predict_run_numpys_products_on_one_thread_and_give_the_limit_back():
    # On a busy machine a second BLAS thread made training 2.5 to 3 times slower (nn.fit).
    import threadpoolctl  # a declared dependency of coursekit: never skipped

    from coursekit.nn.fit import _blas_controller

    blas = {lib["filepath"] for lib in _blas_controller().info() if lib["user_api"] == "blas"}
    assert blas, "threadpoolctl finds no BLAS behind NumPy"

    def threads():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["filepath"] in blas}

    class Recorder(nn.Dense):
        def forward(self, inputs):
            seen.append(threads())
            return super().forward(inputs)

    seen = []
    x, y = linear_problem(8)
    model = Recorder(3, 1, rng=0)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        nn.fit(model, nn.MeanSquaredError(), x, y, epochs=2, batch_size=4, evaluate=lambda m: {"seen": len(seen)})
        nn.predict(model, x, batch_size=8)
        after = threads()
    assert len(seen) == 5  # 2 epochs of 2 batches, then predict's one
    assert all(set(counts.values()) == {1} for counts in seen), seen
    assert set(after.values()) == {2}, after


def test_fit_cosine_schedule_and_seed():
    x, y = linear_problem()
    runs = [nn.fit(nn.Dense(3, 1, rng=0), nn.MeanSquaredError(), x, y, epochs=4, lr=0.1, schedule="cosine", seed=s)
            for s in (1, 1, 2)]
    # (1 + cos(pi e / 4)) / 2 for e = 0..3: 1, (2 + sqrt 2) / 4, 1/2, (2 - sqrt 2) / 4.
    np.testing.assert_allclose(runs[0]["lr"], [0.1, 0.0853553, 0.05, 0.0146447], rtol=1e-5)
    assert runs[0]["loss"] == runs[1]["loss"] and runs[0]["loss"] != runs[2]["loss"]


def test_fit_augments_every_batch_with_a_generator_and_without_y_the_target_is_the_input():
    x = normal(0, (10, 4))
    seen = []

    def augment(batch, rng):
        assert isinstance(rng, np.random.Generator)
        seen.append(len(batch))
        return batch + 1

    class Identity(nn.Layer):
        def forward(self, inputs):
            self.inputs = inputs
            return inputs

        def backward(self, grad):
            return grad

    model = Identity()
    history = nn.fit(model, nn.MeanSquaredError(), x, epochs=2, batch_size=4, augment=augment,
                     optimizer=nn.SGD([], lr=0.1))
    assert seen == [4, 4, 2, 4, 4, 2]
    assert history["loss"] == [0.0, 0.0]   # autoencoder: the augmented input is its own target


@pytest.mark.parametrize("call, error, match", [
    (lambda: nn.fit(LeNet(), nn.SoftmaxCrossEntropy(), np.zeros((5, 1, 28, 28)), np.zeros(3, int)),
     ValueError, r"`y` has 3 entries but `x` has 5"),
    (lambda: nn.fit(nn.Dense(2, 1), nn.MeanSquaredError(), np.zeros((4, 2)), np.zeros((4, 1)), schedule="linear"),
     ValueError, "`schedule` must be"),
    (lambda: nn.fit(nn.Dense(2, 1), nn.MeanSquaredError(), np.zeros((4, 2)), np.zeros((4, 1)),
                    optimizer=nn.SGD([]), lr=0.1), ValueError, "`lr` to the `optimizer`"),
    (lambda: nn.SGD([np.zeros(3)]), TypeError, "Parameter objects"),
    (lambda: nn.MaxPool2D(5)(np.zeros((1, 1, 3, 3))), ValueError, r"window `size` \(5x5\) .* input `x` \(3x3\)"),
    (lambda: nn.AvgPool2D((2, 4))(np.zeros((1, 1, 3, 3))), ValueError, r"`size` \(2x4\)"),
    (lambda: nn.Conv2D(1, 1, 5)(np.zeros((1, 1, 3, 3))), ValueError, r"`kernel_size` \(5x5\)"),
    (lambda: nn.Conv2D(1, 1, 5, padding=1)(np.zeros((1, 1, 2, 2))), ValueError, r"2x2, padded to 4x4"),
    (lambda: random_affine(np.zeros((1, 1, 28, 28)), "0"), TypeError, "`rng` must be a numpy.random.Generator"),
    (lambda: nn.Conv2D(1, 1, 3, rng=1.5), TypeError, "`rng`"),
    (lambda: nn.Conv2D(0, 6, 5), ValueError, "`in_channels` must be positive"),
    (lambda: nn.Conv2D(1, 6, 5).forward(np.zeros((1, 2, 8, 8))), ValueError, "expects 1 input channels"),
    (lambda: nn.Dense(4, 2).forward(np.zeros((1, 5))), ValueError, "expects 4 features"),
    (lambda: nn.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3])), ValueError, "integers in 0..2"),
    (lambda: nn.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0])), ValueError,
     "`labels` has 1 entries but `logits` has 2"),
    (lambda: nn.MeanSquaredError().forward(np.zeros((2, 3)), np.zeros((3, 3))), ValueError, "has shape"),
    (lambda: nn.Unpool2D(2, mode="bilinear"), ValueError, "`mode` must be 'zeros' or 'repeat'"),
    (lambda: nn.Unpool2D(0), ValueError, "`size` must be positive"),
    (lambda: nn.Sequential([nn.ReLU(), np.zeros(3)]), TypeError, "must hold Layer objects"),
    (lambda: LeNet()["conv 3"], KeyError, "no layer named 'conv 3'"),
    (lambda: nn.predict(LeNet(), np.zeros((0, 1, 28, 28))), ValueError, "at least one example"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pool_size_error_never_blames_a_parameter_the_caller_did_not_pass():
    with pytest.raises(ValueError) as caught:
        nn.MaxPool2D(5)(np.zeros((1, 1, 3, 3)))
    assert "`k`" not in str(caught.value)


def test_backward_needs_a_forward_and_a_gradient_of_its_output_shape():
    dense = nn.Dense(3, 2, rng=0)
    with pytest.raises(RuntimeError, match=r"Dense\(3, 2\).backward was called before forward"):
        dense.backward(np.ones((4, 2)))
    dense(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"`grad` of Dense\(3, 2\).backward must have the shape of its last "
                                         r"output, \(4, 2\); got \(4, 3\)"):
        dense.backward(np.ones((4, 3)))  # it broadcast into a wrong weight gradient
    model = LeNet(seed=0)
    model(np.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"`grad` of LeNet.backward .* \(2, 10\); got \(2, 9\)"):
        model.backward(np.zeros((2, 9)))
    # Every kind of layer is checked, the pooling ones included.
    pool = nn.MaxPool2D(2)
    pool(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"MaxPool2D\(2x2, stride=2\).backward"):
        pool.backward(np.ones((1, 1, 4, 4)))


def test_backward_may_follow_the_activations_of_every_layer():
    # The LeNet chapter's measurement: every layer's output, then the gradient of all.
    model = LeNet(seed=0)
    maps = model.activations(np.zeros((2, 1, 28, 28)))
    model.backward(np.ones_like(maps["dense 3"]))
    assert np.abs(model["dense 3"].weight.grad).sum() > 0
