"""LeNet-5, as in the lecture: built from :mod:`coursekit.nn` and trained in NumPy.

Two 5x5 convolutions, each followed by a sigmoid and 2x2 average pooling, then
dense layers of 120, 84 and 10 units: the network LeCun and colleagues used to
read handwritten digits (LeCun et al., 1998), modernised as most courses teach it.
The original squashed with a scaled tanh, subsampled with a trainable coefficient
and bias, connected each map of its second convolution to a subset of the first
layer's maps, and ended in RBF units.

Used in: LeNet.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, as_generator, as_int, as_number, number_pair, same_length
from .nn import AvgPool2D, Conv2D, Dense, Flatten, Sequential, Sigmoid, SoftmaxCrossEntropy, predict

__all__ = ["TRAINING", "LeNet", "model_accuracy", "random_affine", "scores"]


class LeNet(Sequential):
    """LeNet-5 for (N, 1, 28, 28) images and 10 classes: a :class:`~coursekit.nn.Sequential`.

    Its layers are named ``conv 1``, ``activation 1``, ``pool 1``, ``conv 2``,
    ``activation 2``, ``pool 2``, ``flatten``, ``dense 1``, ``activation 3``,
    ``dense 2``, ``activation 4`` and ``dense 3``: ``model["conv 1"]`` is the first
    convolution, and ``model.activations(x)["activation 1"]`` its maps after the
    non-linearity.

    Parameters
    ----------
    seed : int, optional
        Seed of the initial weights.
    dtype : numpy dtype, optional
        float32 trains fastest; float64 for gradient checks.
    activation : type, optional
        The non-linearity: :class:`~coursekit.nn.Sigmoid` (S-shaped, like the 1998 scaled
        tanh) or :class:`~coursekit.nn.ReLU`.
    pool : type, optional
        :class:`~coursekit.nn.AvgPool2D` (the 1998 network's subsampling, less its trainable
        coefficient and bias) or :class:`~coursekit.nn.MaxPool2D`.

    Examples
    --------
    >>> model = LeNet()
    >>> model(np.zeros((2, 1, 28, 28))).shape
    (2, 10)
    >>> sum(p.value.size for p in model.parameters())
    61706
    >>> model.activations(np.zeros((1, 1, 28, 28)))["pool 1"].shape
    (1, 6, 14, 14)

    Used in: LeNet.
    """

    def __init__(self, seed=0, dtype=np.float32, activation=Sigmoid, pool=AvgPool2D):
        rng = np.random.default_rng(as_int(seed, "seed", 0))
        super().__init__({
            "conv 1": Conv2D(1, 6, 5, padding=2, rng=rng, dtype=dtype, input_grad=False),
            "activation 1": activation(),
            "pool 1": pool(2),
            "conv 2": Conv2D(6, 16, 5, rng=rng, dtype=dtype),
            "activation 2": activation(),
            "pool 2": pool(2),
            "flatten": Flatten(),
            "dense 1": Dense(16 * 5 * 5, 120, rng=rng, dtype=dtype),
            "activation 3": activation(),
            "dense 2": Dense(120, 84, rng=rng, dtype=dtype),
            "activation 4": activation(),
            "dense 3": Dense(84, 10, rng=rng, dtype=dtype),
        })
        self.dtype = np.dtype(dtype)

    def _images(self, x):
        x = as_array(x, "x", 4)
        if x.shape[1:] != (1, 28, 28):
            raise ValueError(f"LeNet expects images of shape (N, 1, 28, 28); `x` has shape {x.shape}")
        return x.astype(self.dtype, copy=False)

    def forward(self, x):
        """Logits (N, 10) for a batch (N, 1, 28, 28)."""
        return super().forward(self._images(x))

    def activations(self, x):
        """Every layer's output for a batch (N, 1, 28, 28), by layer name."""
        return super().activations(self._images(x))

    def summary(self):
        """A table of every layer's output shape and parameter count, as a string."""
        maps = self.activations(np.zeros((1, 1, 28, 28), dtype=self.dtype))
        rows = [("input", (1, 28, 28), "")]
        rows += [(repr(layer), x.shape[1:], f"{sum(p.value.size for p in layer.parameters()):,}")
                 for layer, x in zip(self.layers, maps.values())]
        width = max(len(name) for name, _, _ in rows) + 2   # the names never overflow
        rule = "-" * (width + 30)
        lines = [f"{'layer':<{width}}{'output shape':>18}{'parameters':>12}", rule]
        lines += [f"{name:<{width}}{str(shape):>18}{count:>12}" for name, shape, count in rows]
        total = sum(p.value.size for p in self.parameters())
        lines += [rule, f"{'total':<{width}}{'':>18}{total:>12,}"]
        return "\n".join(lines)


def model_accuracy(model, x, y, batch_size=64):
    """Fraction of images whose largest logit is the true class.

    Parameters
    ----------
    model : LeNet
    x : (N, 1, 28, 28) ndarray
    y : (N,) int ndarray
    batch_size : int, optional
        Images per forward pass (see :func:`coursekit.nn.predict`).

    Returns
    -------
    float
        Between 0 and 1.

    Examples
    --------
    >>> round(model_accuracy(LeNet(), np.zeros((4, 1, 28, 28)), np.array([0, 1, 2, 3])), 2) in (0.0, 0.25)
    True

    Used in: ``make bench`` (the held-out accuracy of the digit recipe).
    """
    x, y = as_array(x, "x", 4), as_array(y, "y", 1)
    same_length(y, "y", x, "x")
    return float(np.mean(predict(model, x, batch_size).argmax(axis=1) == y))


def scores(model, batch_size=64, **splits):
    """Cross-entropy and accuracy of `model` on named splits: the per-epoch evaluation of training.

    Parameters
    ----------
    model : LeNet
    batch_size : int, optional
        Images per forward pass (see :func:`coursekit.nn.predict`).
    **splits : (x, y) pairs
        For example ``train=(x_train, y_train), test=(x_test, y_test)``.

    Returns
    -------
    dict of float
        ``{name}_loss`` and ``{name}_accuracy`` for each split.

    Examples
    --------
    >>> x, y = np.zeros((4, 1, 28, 28)), np.array([0, 1, 2, 3])
    >>> sorted(scores(LeNet(), test=(x, y)))
    ['test_accuracy', 'test_loss']

    Used in: LeNet.
    """
    loss, results = SoftmaxCrossEntropy(), {}
    for name, (x, y) in splits.items():
        logits = predict(model, x, batch_size)
        results[f"{name}_loss"] = float(loss.forward(logits, y))
        results[f"{name}_accuracy"] = float(np.mean(logits.argmax(axis=1) == y))
    return results


def random_affine(x, rng, max_degrees=12.0, scale=(0.9, 1.1), max_shift=2.0):
    """Randomly rotate, scale and shift each image of a batch: new training examples for free.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
        Every channel of an image moves with it.
    rng : numpy.random.Generator or int
        The source of the random transforms; an int seeds a new generator.
    max_degrees : float, optional
        Rotations are uniform in +-max_degrees.
    scale : (float, float), optional
        Range of the zoom factor, two positive numbers, the smaller first.
    max_shift : float, optional
        Shifts are uniform in +-max_shift pixels along each axis.

    Returns
    -------
    (N, C, H, W) ndarray
        Bilinear resampling; what leaves the frame is lost, what enters it is 0.

    Examples
    --------
    >>> x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    >>> random_affine(x, np.random.default_rng(0)).shape
    (3, 1, 28, 28)

    Used in: :data:`TRAINING`, as its augmentation.
    """
    from scipy import ndimage

    x = as_array(x, "x", 4)
    rng = as_generator(rng, "rng")
    max_degrees = as_number(max_degrees, "max_degrees")
    max_shift = as_number(max_shift, "max_shift")
    if max_degrees < 0 or max_shift < 0:
        raise ValueError(f"The parameters `max_degrees` and `max_shift` must be at least 0; got "
                         f"{max_degrees} and {max_shift}")
    low, high = (as_number(factor, "scale", positive=True)
                 for factor in number_pair(scale, "scale", "(smallest, largest zoom)"))
    if low > high:
        raise ValueError(f"The parameter `scale` must give the smaller zoom first; got {scale!r}")
    n, channels, height, width = x.shape
    angle = np.deg2rad(rng.uniform(-max_degrees, max_degrees, n))
    zoom = rng.uniform(low, high, n)
    shift = rng.uniform(-max_shift, max_shift, (n, 2))
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    rows, cols = rows - (height - 1) / 2, cols - (width - 1) / 2
    cos, sin = (np.cos(angle) / zoom)[:, None, None], (np.sin(angle) / zoom)[:, None, None]
    # For every output pixel, the input position it samples (the inverse transform).
    source_rows = cos * rows - sin * cols + (height - 1) / 2 + shift[:, 0, None, None]
    source_cols = sin * rows + cos * cols + (width - 1) / 2 + shift[:, 1, None, None]
    image_index = np.broadcast_to(np.arange(n)[:, None, None], source_rows.shape)
    moved = np.stack([ndimage.map_coordinates(x[:, channel], [image_index, source_rows, source_cols], order=1,
                                              mode="constant") for channel in range(channels)], axis=1)
    return moved.astype(x.dtype, copy=False)


#: The recipe the chapter and the benchmark use with :func:`coursekit.nn.fit`: 1,437
#: training digits are few, so every mini-batch is seen slightly rotated, scaled and
#: shifted, and the step size decays along a cosine to settle the weights.
TRAINING = {"epochs": 30, "batch_size": 16, "lr": 3e-3, "schedule": "cosine", "augment": random_affine}
