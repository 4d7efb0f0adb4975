"""LeNet-5, as in the lecture: built from :mod:`coursekit.nn` and trained in NumPy.

Two 5x5 convolutions, each followed by a sigmoid and 2x2 average pooling, then
dense layers of 120, 84 and 10 units: the network LeCun and colleagues used to
read handwritten digits (LeCun et al., 1998).

Used in: LeNet.
"""

from __future__ import annotations

import time

import numpy as np

from ._validation import as_array, as_int
from .nn import Adam, AvgPool2D, Conv2D, Dense, Flatten, Sequential, Sigmoid, SoftmaxCrossEntropy

__all__ = ["TRAINING", "LeNet", "model_accuracy", "random_affine", "train"]

#: The recipe the chapter and the benchmark use: 1,437 training digits are few, so
#: every epoch sees them slightly rotated, scaled and shifted, and the step size
#: decays along a cosine to settle the weights.
TRAINING = {"epochs": 30, "batch_size": 16, "lr": 3e-3, "augment": True}


class LeNet:
    """LeNet-5 for (N, 1, 28, 28) images and 10 classes.

    Parameters
    ----------
    seed : int, optional
        Seed of the initial weights.
    dtype : numpy dtype, optional
        float32 trains fastest; float64 for gradient checks.
    activation : type, optional
        The non-linearity, :class:`~coursekit.nn.Sigmoid` as in 1998 or :class:`~coursekit.nn.ReLU`.
    pool : type, optional
        :class:`~coursekit.nn.AvgPool2D` as in 1998 or :class:`~coursekit.nn.MaxPool2D`.

    Examples
    --------
    >>> model = LeNet()
    >>> model(np.zeros((2, 1, 28, 28))).shape
    (2, 10)
    >>> sum(p.size for p in model.parameters())
    61706

    Used in: LeNet.
    """

    def __init__(self, seed=0, dtype=np.float32, activation=Sigmoid, pool=AvgPool2D):
        rng = np.random.default_rng(as_int(seed, "seed", 0))
        self.network = Sequential([
            Conv2D(1, 6, 5, padding=2, rng=rng, dtype=dtype), activation(), pool(2),
            Conv2D(6, 16, 5, rng=rng, dtype=dtype), activation(), pool(2),
            Flatten(),
            Dense(16 * 5 * 5, 120, rng=rng, dtype=dtype), activation(),
            Dense(120, 84, rng=rng, dtype=dtype), activation(),
            Dense(84, 10, rng=rng, dtype=dtype),
        ])
        self.dtype = np.dtype(dtype)

    def __call__(self, x):
        """Logits (N, 10) for a batch (N, 1, 28, 28)."""
        x = as_array(x, "x", 4)
        if x.shape[1:] != (1, 28, 28):
            raise ValueError(f"LeNet expects images of shape (N, 1, 28, 28); `x` has shape {x.shape}")
        return self.network.forward(x.astype(self.dtype, copy=False))

    def backward(self, grad):
        return self.network.backward(grad)

    def parameters(self):
        """The parameter arrays (weights and biases), updated in place by the optimizers."""
        return self.network.params

    def gradients(self):
        """The gradient arrays, in the order of :meth:`parameters`."""
        return self.network.grads

    def summary(self):
        """A table of every layer's output shape and parameter count, as a string."""
        lines = [f"{'layer':<34}{'output shape':>18}{'parameters':>12}", "-" * 64]
        x = np.zeros((1, 1, 28, 28), dtype=self.dtype)
        lines.append(f"{'input':<34}{str(x.shape[1:]):>18}{'':>12}")
        for layer in self.network.layers:
            x = layer.forward(x)
            count = sum(p.size for p in layer.params)
            lines.append(f"{repr(layer):<34}{str(x.shape[1:]):>18}{count:>12,}")
        lines.append("-" * 64)
        lines.append(f"{'total':<34}{'':>18}{sum(p.size for p in self.parameters()):>12,}")
        return "\n".join(lines)


def model_accuracy(model, x, y, batch_size=500):
    """Fraction of images whose largest logit is the true class.

    Parameters
    ----------
    model : LeNet
    x : (N, 1, 28, 28) ndarray
    y : (N,) int ndarray
    batch_size : int, optional
        Images per forward pass.

    Returns
    -------
    float
        Between 0 and 1.

    Examples
    --------
    >>> round(model_accuracy(LeNet(), np.zeros((4, 1, 28, 28)), np.array([0, 1, 2, 3])), 2) in (0.0, 0.25)
    True

    Used in: LeNet.
    """
    return float(np.mean(_logits(model, x, batch_size).argmax(axis=1) == np.asarray(y)))


def _logits(model, x, batch_size=500):
    return np.concatenate([model(x[start:start + batch_size]) for start in range(0, len(x), batch_size)])


def random_affine(x, rng, max_degrees=12.0, scale=(0.9, 1.1), max_shift=2.0):
    """Randomly rotate, scale and shift each image of a batch: new training examples for free.

    Parameters
    ----------
    x : (N, 1, H, W) ndarray
    rng : numpy.random.Generator
    max_degrees : float, optional
        Rotations are uniform in +-max_degrees.
    scale : (float, float), optional
        Range of the zoom factor.
    max_shift : float, optional
        Shifts are uniform in +-max_shift pixels along each axis.

    Returns
    -------
    (N, 1, H, W) ndarray
        Bilinear resampling; what leaves the frame is lost, what enters it is 0.

    Examples
    --------
    >>> x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    >>> random_affine(x, np.random.default_rng(0)).shape
    (3, 1, 28, 28)

    Used in: LeNet.
    """
    from scipy import ndimage

    x = as_array(x, "x", 4)
    n, _, height, width = x.shape
    angle = np.deg2rad(rng.uniform(-max_degrees, max_degrees, n))
    zoom = rng.uniform(*scale, n)
    shift = rng.uniform(-max_shift, max_shift, (n, 2))
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    rows, cols = rows - (height - 1) / 2, cols - (width - 1) / 2
    cos, sin = (np.cos(angle) / zoom)[:, None, None], (np.sin(angle) / zoom)[:, None, None]
    # For every output pixel, the input position it samples (the inverse transform).
    source_rows = cos * rows - sin * cols + (height - 1) / 2 + shift[:, 0, None, None]
    source_cols = sin * rows + cos * cols + (width - 1) / 2 + shift[:, 1, None, None]
    image_index = np.broadcast_to(np.arange(n)[:, None, None], source_rows.shape)
    moved = ndimage.map_coordinates(x[:, 0], [image_index, source_rows, source_cols], order=1, mode="constant")
    return moved[:, None].astype(x.dtype, copy=False)


def train(model, x_train, y_train, x_test, y_test, epochs=30, batch_size=16, lr=3e-3, augment=False, seed=0,
          log=None):
    """Train with Adam on mini-batches, the step size decaying along a cosine; return the history.

    Parameters
    ----------
    model : LeNet
    x_train, x_test : (N, 1, 28, 28) ndarray
    y_train, y_test : (N,) int ndarray
    epochs, batch_size : int, optional
    lr : float, optional
        Adam's initial step size; it decays to 0 along a half cosine.
    augment : bool, optional
        Train each epoch on randomly rotated, scaled and shifted copies (:func:`random_affine`).
    seed : int, optional
        Order of the mini-batches and the augmentation.
    log : callable(str), optional
        Called with one line per epoch (``print`` to watch).

    Returns
    -------
    dict of lists
        ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` and
        ``seconds`` (training time of each epoch).

    Examples
    --------
    >>> x = np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32)
    >>> y = np.arange(8) % 2
    >>> history = train(LeNet(), x, y, x, y, epochs=2, batch_size=4)
    >>> len(history["test_accuracy"])
    2

    Used in: LeNet.
    """
    x_train, x_test = as_array(x_train, "x_train", 4), as_array(x_test, "x_test", 4)
    epochs, batch_size = as_int(epochs, "epochs", 1), as_int(batch_size, "batch_size", 1)
    rng = np.random.default_rng(seed)
    loss = SoftmaxCrossEntropy()
    optimizer = Adam(model.parameters(), model.gradients(), lr=lr)
    history = {key: [] for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")}
    for epoch in range(epochs):
        start = time.perf_counter()
        optimizer.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        inputs = random_affine(x_train, rng) if augment else x_train
        order = rng.permutation(len(x_train))
        for first in range(0, len(order), batch_size):
            batch = order[first:first + batch_size]
            loss.forward(model(inputs[batch]), y_train[batch])
            model.backward(loss.backward())
            optimizer.step()
        history["seconds"].append(time.perf_counter() - start)
        for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
            logits = _logits(model, x)
            history[f"{split}_loss"].append(float(loss.forward(logits, y)))
            history[f"{split}_accuracy"].append(float(np.mean(logits.argmax(axis=1) == y)))
        if log is not None:
            log(f"epoch {epoch + 1:>2}: train loss {history['train_loss'][-1]:.3f}, "
                f"accuracy {history['train_accuracy'][-1]:.3f} | test accuracy {history['test_accuracy'][-1]:.3f}")
    return history
