"""Every gradient of coursekit.nn, checked by central differences and against PyTorch."""

import numpy as np
import pytest

from coursekit import nn
from coursekit.lenet import LeNet


def numerical_gradient(f, array, indices, eps=1e-6):
    """Central differences of the scalar f() with respect to chosen entries of `array`."""
    grads = []
    for index in indices:
        saved = array[index]
        array[index] = saved + eps
        plus = f()
        array[index] = saved - eps
        minus = f()
        array[index] = saved
        grads.append((plus - minus) / (2 * eps))
    return np.array(grads)


def sample_indices(array, rng, count=25):
    flat = rng.choice(array.size, size=min(count, array.size), replace=False)
    return [np.unravel_index(i, array.shape) for i in flat]


def check_layer(layer, x, rng):
    """Compare backward() with central differences for the input and every parameter."""
    upstream = rng.normal(size=layer.forward(x).shape)

    def loss():
        return float(np.sum(layer.forward(x) * upstream))

    layer.forward(x)
    dx = layer.backward(upstream)
    analytic = {"input": (x, dx)}
    for number, (param, grad) in enumerate(zip(layer.params, layer.grads)):
        analytic[f"parameter {number} {param.shape}"] = (param, grad.copy())
    for name, (array, grad) in analytic.items():
        indices = sample_indices(array, rng)
        numeric = numerical_gradient(loss, array, indices)
        computed = np.array([grad[i] for i in indices])
        worst = np.max(np.abs(numeric - computed) / (np.abs(numeric) + np.abs(computed) + 1e-8))
        assert worst < 1e-5, (
            f"{layer!r}: the gradient with respect to {name} disagrees with central differences "
            f"(worst relative error {worst:.2e}); backward() does not match forward()")


@pytest.mark.parametrize("make_layer, shape", [
    (lambda rng: nn.Conv2D(2, 3, 3, rng=rng), (2, 2, 7, 6)),
    (lambda rng: nn.Conv2D(1, 4, 5, padding=2, rng=rng), (2, 1, 9, 9)),
    (lambda rng: nn.Conv2D(3, 2, (3, 2), stride=2, padding=1, rng=rng), (2, 3, 8, 7)),
    (lambda rng: nn.AvgPool2D(2), (2, 3, 6, 8)),
    (lambda rng: nn.AvgPool2D(3, stride=2), (1, 2, 7, 7)),
    (lambda rng: nn.MaxPool2D(2), (2, 3, 6, 8)),
    (lambda rng: nn.MaxPool2D(3, stride=1), (1, 2, 5, 6)),
    (lambda rng: nn.Sigmoid(), (3, 7)),
    (lambda rng: nn.ReLU(), (3, 2, 4, 4)),
    (lambda rng: nn.Flatten(), (2, 3, 2, 2)),
    (lambda rng: nn.Dense(6, 4, rng=rng), (5, 6)),
    (lambda rng: nn.Unpool2D(3, mode="repeat"), (2, 3, 4, 5)),
    (lambda rng: nn.Unpool2D(2, mode="zeros"), (2, 3, 4, 5)),
])
def test_gradients_match_central_differences(make_layer, shape):
    rng = np.random.default_rng(sum(shape))
    layer = make_layer(rng)
    x = rng.normal(size=shape)
    if isinstance(layer, nn.ReLU):
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink, where differences are meaningless
    check_layer(layer, x, rng)


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(4, 10)), np.array([3, 0, 9, 3])
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(logits, labels)
    analytic = loss.backward()
    indices = [np.unravel_index(i, logits.shape) for i in range(logits.size)]
    numeric = numerical_gradient(lambda: float(loss.forward(logits, labels)), logits, indices)
    np.testing.assert_allclose(analytic.ravel(), numeric, atol=1e-7)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    loss = nn.SoftmaxCrossEntropy()
    value = loss.forward(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([0, 0]))
    assert np.isfinite(value) and value == pytest.approx(0.0)


def test_whole_lenet_gradient_by_central_differences():
    rng = np.random.default_rng(2)
    model = LeNet(seed=3, dtype=np.float64)
    x, labels = rng.normal(size=(2, 1, 28, 28)), np.array([4, 7])
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(model(x), labels)
    model.backward(loss.backward())
    for param, grad in zip(model.parameters(), model.gradients()):
        indices = sample_indices(param, rng, count=4)
        numeric = numerical_gradient(lambda: float(loss.forward(model(x), labels)), param, indices)
        np.testing.assert_allclose([grad[i] for i in indices], numeric, rtol=1e-4, atol=1e-9)


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties():
    layer = nn.MaxPool2D(2)
    layer.forward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_layers_match_torch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 9, 8))
    conv = nn.Conv2D(2, 4, 3, stride=2, padding=1, rng=rng)
    pool_avg, pool_max = nn.AvgPool2D(2), nn.MaxPool2D(2)
    # Compare conv + pooling + activations one by one, value and gradient.
    cases = [
        (conv, lambda t, w, b: F.conv2d(t, w, b, stride=2, padding=1), [conv.weight, conv.bias]),
        (pool_avg, lambda t: F.avg_pool2d(t, 2), []),
        (pool_max, lambda t: F.max_pool2d(t, 2), []),
        (nn.Sigmoid(), torch.sigmoid, []),
        (nn.ReLU(), torch.relu, []),
        (nn.Unpool2D(3), lambda t: F.interpolate(t, scale_factor=3, mode="nearest"), []),
    ]
    for layer, reference, params in cases:
        xt = torch.tensor(x, requires_grad=True)
        pt = [torch.tensor(p, requires_grad=True) for p in params]
        yt = reference(xt, *pt)
        upstream = rng.normal(size=tuple(yt.shape))
        (yt * torch.tensor(upstream)).sum().backward()
        y = layer.forward(x)
        np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12, err_msg=repr(layer))
        np.testing.assert_allclose(layer.backward(upstream), xt.grad.numpy(), atol=1e-12, err_msg=repr(layer))
        for grad, tensor in zip(layer.grads, pt):
            np.testing.assert_allclose(grad, tensor.grad.numpy(), atol=1e-10, err_msg=repr(layer))


def test_sgd_with_momentum_and_adam_follow_their_formulas():
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    sgd = nn.SGD([p], [g], lr=0.1, momentum=0.9)
    sgd.step()
    sgd.step()  # v1 = -0.1 g; v2 = 0.9 v1 - 0.1 g = -0.19 g
    np.testing.assert_allclose(p, np.array([1.0, -2.0]) - 0.29 * g)
    q = np.array([1.0, -2.0])
    adam = nn.Adam([q], [g], lr=0.01)
    for _ in range(3):
        adam.step()  # constant gradient: every bias-corrected step is lr * sign(g)
    np.testing.assert_allclose(q, np.array([1.0, -2.0]) - 0.03 * np.sign(g), rtol=1e-6)


def test_optimizers_minimise_a_quadratic():
    for make in (lambda p, g: nn.SGD(p, g, lr=0.1, momentum=0.5), lambda p, g: nn.Adam(p, g, lr=0.1)):
        w, grad = np.array([3.0, -4.0]), np.zeros(2)
        optimizer = make([w], [grad])
        for _ in range(300):
            grad[...] = 2 * w  # gradient of |w|^2
            optimizer.step()
        assert np.linalg.norm(w) < 1e-2


def test_lenet_architecture():
    model = LeNet()
    assert sum(p.size for p in model.parameters()) == 61706
    assert model(np.zeros((3, 1, 28, 28))).shape == (3, 10)
    summary = model.summary()
    for expected in ("(6, 28, 28)", "(6, 14, 14)", "(16, 10, 10)", "(16, 5, 5)", "(400,)", "(120,)", "(84,)",
                     "(10,)", "156", "2,416", "48,120", "10,164", "850", "61,706"):
        assert expected in summary
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        model(np.zeros((2, 1, 32, 32)))


def test_first_conv_layer_can_skip_the_input_gradient():
    rng = np.random.default_rng(5)
    full, first = nn.Conv2D(1, 3, 3, rng=np.random.default_rng(0)), nn.Conv2D(1, 3, 3, rng=np.random.default_rng(0),
                                                                             input_grad=False)
    x, upstream = rng.normal(size=(2, 1, 6, 6)), rng.normal(size=(2, 3, 4, 4))
    full.forward(x), first.forward(x)
    assert full.backward(upstream) is not None and first.backward(upstream) is None
    for a, b in zip(full.grads, first.grads):
        np.testing.assert_array_equal(a, b)


def test_weighted_mean_squared_error_gradient():
    rng = np.random.default_rng(6)
    prediction, target, weight = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.uniform(1, 5, (3, 4))
    loss = nn.MeanSquaredError()
    assert np.isclose(loss.forward(prediction, target, weight), np.mean(weight * (prediction - target) ** 2))
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(prediction, target, weight), prediction,
                                 list(np.ndindex(prediction.shape)))
    np.testing.assert_allclose(analytic.ravel(), numeric, rtol=1e-6)
    with pytest.raises(ValueError, match="has shape"):
        loss.forward(prediction, target[:2])


@pytest.mark.parametrize("call, match", [
    (lambda: nn.Conv2D(0, 6, 5), "`in_channels` must be positive"),
    (lambda: nn.Conv2D(1, 6, 5).forward(np.zeros((1, 2, 8, 8))), "expects 1 input channels"),
    (lambda: nn.Dense(4, 2).forward(np.zeros((1, 5))), "expects 4 features"),
    (lambda: nn.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3])), "integers in 0..2"),
    (lambda: nn.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0])), "1 entries for 2 rows"),
    (lambda: nn.Unpool2D(2, mode="bilinear"), "`mode` must be 'zeros' or 'repeat'"),
    (lambda: nn.Unpool2D(0), "`size` must be positive"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
