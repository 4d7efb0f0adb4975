"""A small encoder-decoder for radar images, learned or made by hand.

The encoder is three stages of 3x3 convolution, ReLU and 3x3 max pooling
(136 -> 45 -> 15 -> 5 pixels a side); the decoder is three stages of unpooling
(by repetition) and 3x3 convolution back to 135. With ``skip=True`` the
decoder's 45x45 stage also receives the encoder's 45x45 maps, concatenated along
the channels: the skip connection of U-Net (Ronneberger et al., 2015), at one
level. :func:`hand_made` runs the same pipeline with fixed kernels instead, so
that the chapter can measure what learning the kernels buys.

Images go in and come out in dBZ; inside, the network works on dBZ / 80.

Used in: Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, as_int
from .conv import classic_kernel
from .metrics import iou
from .nn import Adam, Conv2D, MaxPool2D, MeanSquaredError, ReLU, Sequential, Unpool2D
from .pooling import decode, encode

__all__ = [
    "EDGE_KERNEL",
    "SMOOTH_KERNEL",
    "DBZ_SCALE",
    "EncoderDecoder",
    "echo_weight",
    "evaluate",
    "fit",
    "hand_made",
    "reconstruct",
]

#: The hand-made encoder's kernel, for cross-correlation: Sobel's horizontal derivative,
#: positive where reflectivity rises from left to right. (Convolving with its flip,
#: ``EDGE_KERNEL[::-1, ::-1]``, as ``scipy.signal.convolve2d`` does, gives the same maps.)
EDGE_KERNEL = classic_kernel("sobel_x")
#: The hand-made decoder's kernel: a tent (outer product of [1, 2, 1]), times 2.
SMOOTH_KERNEL = 2.0 * np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0])
#: Reflectivity is divided by this before it enters the network.
DBZ_SCALE = 80.0
_SIZE = 3


def _images(x, name):
    """(N, 136, 136[, 1]) dBZ -> (N, 1, H, W) float32 scaled to about 0..1."""
    x = as_array(x, name, (3, 4))
    if x.ndim == 4:
        if x.shape[-1] != 1:
            raise ValueError(f"`{name}` must hold one channel, (N, H, W) or (N, H, W, 1); got shape {x.shape}")
        x = x[..., 0]
    if len(x) == 0:
        raise ValueError(f"`{name}` holds no image")
    if min(x.shape[1:]) < _SIZE**3:
        raise ValueError(f"`{name}` must be at least {_SIZE**3} x {_SIZE**3} pixels (three 3x3 poolings); "
                         f"got shape {x.shape}")
    return (x[:, None].astype(np.float32)) / DBZ_SCALE


def _target(x):
    """The part of each image the decoder can rebuild: each side rounded down to a multiple of 27."""
    rows, cols = (n // _SIZE**3 * _SIZE**3 for n in x.shape[-2:])
    return x[..., :rows, :cols]


class EncoderDecoder:
    """Three pooling stages down, three unpooling stages up; optionally one skip connection.

    Parameters
    ----------
    channels : (int, int, int), optional
        Maps after each encoder stage (45, 15 and 5 pixels a side); the decoder
        mirrors them. The code is ``channels[2]`` maps of 5x5.
    skip : bool, optional
        Concatenate the encoder's first pooled maps (45x45) to the decoder's maps
        of the same size before its last stage.
    seed : int, optional
        Seed of the initial weights.
    dtype : numpy dtype, optional

    Examples
    --------
    >>> model = EncoderDecoder(channels=(2, 4, 8), skip=True)
    >>> model(np.zeros((2, 1, 136, 136), np.float32)).shape
    (2, 1, 135, 135)
    >>> model.code_shape((136, 136))
    (8, 5, 5)

    Used in: Encoder–decoder.
    """

    def __init__(self, channels=(8, 16, 32), skip=False, seed=0, dtype=np.float32):
        if np.ndim(channels) != 1 or len(channels) != 3:
            raise ValueError(f"The parameter `channels` must be three counts, one per stage; got {channels!r}")
        c1, c2, c3 = (as_int(c, "channels", 1) for c in channels)
        rng = np.random.default_rng(as_int(seed, "seed", 0))
        self.channels, self.skip = (c1, c2, c3), bool(skip)

        def conv(n_in, n_out, **options):
            return Conv2D(n_in, n_out, 3, padding=1, rng=rng, dtype=dtype, **options)

        self.down1 = Sequential([conv(1, c1, input_grad=False), ReLU(), MaxPool2D(_SIZE)])
        self.down2 = Sequential([conv(c1, c2), ReLU(), MaxPool2D(_SIZE)])
        self.down3 = Sequential([conv(c2, c3), ReLU(), MaxPool2D(_SIZE)])
        self.up1 = Sequential([Unpool2D(_SIZE), conv(c3, c2), ReLU()])
        self.up2 = Sequential([Unpool2D(_SIZE), conv(c2, c1), ReLU()])
        # The last stage ends in dBZ / 80, so no ReLU there.
        self.up3 = Sequential([Unpool2D(_SIZE), conv(2 * c1 if self.skip else c1, 1)])
        self.stages = [self.down1, self.down2, self.down3, self.up1, self.up2, self.up3]

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """(N, 1, H, W) scaled images -> (N, 1, H', W') with H' = H rounded down to a multiple of 27."""
        x = as_array(x, "x", 4)
        if min(x.shape[-2:]) < _SIZE**3:
            raise ValueError(f"`x` must be at least {_SIZE**3} pixels a side (three 3x3 poolings); got {x.shape}")
        # Pixels beyond a multiple of 27 cannot come back through three unpoolings: leave them out,
        # so that the skip's maps and the decoder's always have the same size.
        x = _target(x)
        self._first = self.down1(x)
        code = self.down3(self.down2(self._first))
        y = self.up2(self.up1(code))
        if self.skip:
            y = np.concatenate([y, self._first], axis=1)
        return self.up3(y)

    def backward(self, grad):
        """Gradients of all parameters from the loss gradient at the output."""
        grad = self.up3.backward(grad)
        if self.skip:
            grad, to_first = grad[:, :self.channels[0]], grad[:, self.channels[0]:]
        grad = self.down2.backward(self.down3.backward(self.up1.backward(self.up2.backward(grad))))
        if self.skip:
            grad = grad + to_first
        self.down1.backward(grad)

    def parameters(self):
        return [p for stage in self.stages for p in stage.params]

    def gradients(self):
        return [g for stage in self.stages for g in stage.grads]

    def code_shape(self, image_shape):
        """Shape of one image's code (channels, rows, cols) at the bottleneck."""
        rows, cols = (as_int(n, "image_shape", 1) // _SIZE**3 for n in image_shape)
        return (self.channels[2], rows, cols)

    def __repr__(self):
        return f"EncoderDecoder(channels={self.channels}, skip={self.skip})"


def reconstruct(model, images, batch_size=32):
    """Run `model` on dBZ images; return its reconstructions in dBZ, (N, 135, 135).

    Parameters
    ----------
    model : EncoderDecoder
    images : (N, 136, 136) or (N, 136, 136, 1) array_like
        Reflectivity in dBZ.
    batch_size : int, optional

    Returns
    -------
    (N, 135, 135) float ndarray
        Clipped to 0..80 dBZ.

    Examples
    --------
    >>> reconstruct(EncoderDecoder(channels=(2, 2, 2)), np.zeros((1, 136, 136))).shape
    (1, 135, 135)

    Used in: Encoder–decoder.
    """
    x = _images(images, "images")
    out = [model(x[i:i + batch_size])[:, 0] for i in range(0, len(x), as_int(batch_size, "batch_size", 1))]
    return np.clip(np.concatenate(out) * DBZ_SCALE, 0, DBZ_SCALE)


def echo_weight(dbz):
    """How much each pixel's error counts in training: 1 below 20 dBZ, then 2, 5 and 10
    from 20, 30 and 40 dBZ.

    Strong echoes cover about 1 % of the pixels; with equal weights the network
    would learn to blur them away. Weights growing with intensity follow the
    balanced loss of Shi et al. (2017) for precipitation nowcasting.

    Parameters
    ----------
    dbz : array_like
        Reflectivity in dBZ.

    Returns
    -------
    ndarray
        The weights, same shape (and floating dtype) as `dbz`.

    Examples
    --------
    >>> echo_weight(np.array([0.0, 25.0, 35.0, 55.0]))
    array([ 1.,  2.,  5., 10.])

    Used in: Encoder–decoder.
    """
    dbz = np.asarray(dbz)
    return np.select([dbz >= 40, dbz >= 30, dbz >= 20], [10.0, 5.0, 2.0], 1.0).astype(np.result_type(dbz.dtype, np.float32), copy=False)


def fit(model, images, epochs=15, batch_size=8, lr=3e-3, crop=81, seed=0, log=None):
    """Teach `model` to rebuild its input: Adam on the mean squared error, cosine-decayed steps.

    The network is fully convolutional, so it can learn on random crops and then
    run on whole images; crops of 81 = 3 x 27 pixels cost a third of whole images.

    Parameters
    ----------
    model : EncoderDecoder
    images : (N, 136, 136) or (N, 136, 136, 1) array_like
        Training images in dBZ.
    epochs, batch_size : int, optional
    lr : float, optional
        Initial step size; it decays to 0 along a half cosine.
    crop : int or None, optional
        Side of the random square crops trained on (None: whole images).
    seed : int, optional
        Order of the mini-batches, crops and random flips.
    log : callable(str), optional
        Called with one line per epoch.

    Returns
    -------
    list of float
        Mean training loss of each epoch (on images scaled by 1/80).

    Examples
    --------
    >>> images = np.random.default_rng(0).uniform(0, 60, (4, 136, 136))
    >>> losses = fit(EncoderDecoder(channels=(2, 2, 2)), images, epochs=2, batch_size=2, crop=54)
    >>> len(losses), losses[-1] < losses[0]
    (2, True)

    Used in: Encoder–decoder.
    """
    x = _images(images, "images")
    epochs, batch_size = as_int(epochs, "epochs", 1), as_int(batch_size, "batch_size", 1)
    side = x.shape[-1] if crop is None else as_int(crop, "crop", _SIZE**3)
    if side > min(x.shape[-2:]):
        raise ValueError(f"The parameter `crop` ({side}) must not exceed the images' side {min(x.shape[-2:])}")
    rng = np.random.default_rng(as_int(seed, "seed", 0))
    loss = MeanSquaredError()
    optimizer = Adam(model.parameters(), model.gradients(), lr=lr)
    history = []
    for epoch in range(epochs):
        optimizer.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        order, total = rng.permutation(len(x)), 0.0
        for first in range(0, len(order), batch_size):
            chosen = order[first:first + batch_size]
            rows = rng.integers(0, x.shape[-2] - side + 1, len(chosen))
            cols = rng.integers(0, x.shape[-1] - side + 1, len(chosen))
            batch = np.stack([x[i, :, r:r + side, c:c + side] for i, r, c in zip(chosen, rows, cols)])
            # Storms have no preferred side: mirrored images are as good as new ones.
            if rng.random() < 0.5:
                batch = batch[..., ::-1]
            if rng.random() < 0.5:
                batch = batch[..., ::-1, :]
            batch = np.ascontiguousarray(batch)
            target = _target(batch)
            total += float(loss.forward(model(batch), target, echo_weight(target * DBZ_SCALE))) * len(batch)
            model.backward(loss.backward())
            optimizer.step()
        history.append(total / len(x))
        if log is not None:
            log(f"epoch {epoch + 1:>2}: loss {history[-1]:.5f}")
    return history


def hand_made(images, mode="zeros", fit=None, edge=EDGE_KERNEL, smooth=SMOOTH_KERNEL):
    """The fixed pipeline: :func:`~coursekit.pooling.encode` then :func:`~coursekit.pooling.decode`.

    Its output is in arbitrary units, so a gain and an offset map it to dBZ: the
    least-squares fit over the images `fit` (training images), which gives the
    fixed kernels their best chance.

    Parameters
    ----------
    images : (N, 136, 136) or (N, 136, 136, 1) array_like
        Reflectivity in dBZ.
    mode : {'zeros', 'repeat'}, optional
        Unpooling by zero insertion or by repetition.
    fit : array_like of images, optional
        Where to fit gain and offset; by default `images` themselves.
    edge, smooth : (3, 3) array_like, optional
        Encoder and decoder kernels.

    Returns
    -------
    (N, 135, 135) float ndarray
        Reconstructions in dBZ, clipped to 0..80.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> hand_made(rng.uniform(0, 60, (2, 136, 136))).shape
    (2, 135, 135)

    Used in: Encoder–decoder.
    """
    def raw(batch):
        x = _images(batch, "images")[:, 0] * DBZ_SCALE
        return x, np.stack([decode(encode(image, edge)[-1][1], smooth, mode=mode)[-1][1] for image in x])

    x, decoded = raw(images)
    fit_x, fit_decoded = (x, decoded) if fit is None else raw(fit)
    design = np.stack([fit_decoded.ravel(), np.ones(fit_decoded.size)], axis=1)
    (gain, offset), *_ = np.linalg.lstsq(design, _target(fit_x).ravel(), rcond=None)
    return np.clip(gain * decoded + offset, 0, DBZ_SCALE)


def evaluate(images, reconstructions, threshold=40.0):
    """Score reconstructions against the images: RMSE in dBZ and the IoU of the >= `threshold` mask.

    Parameters
    ----------
    images : (N, 136, 136) or (N, 136, 136, 1) array_like
        The originals, in dBZ (cropped to the reconstructions' size).
    reconstructions : (N, 135, 135) array_like
    threshold : float, optional
        The mask is reflectivity at or above this many dBZ (40 dBZ: strong storms).

    Returns
    -------
    dict
        ``rmse`` (dBZ, over all pixels) and ``iou`` (over all pixels of all images
        together).

    Examples
    --------
    >>> x = np.zeros((1, 136, 136)); x[0, 10:20, 10:20] = 50
    >>> evaluate(x, x[:, :135, :135])
    {'rmse': 0.0, 'iou': 1.0}

    Used in: Encoder–decoder.
    """
    x = _target(_images(images, "images")[:, 0] * DBZ_SCALE)
    y = as_array(reconstructions, "reconstructions", 3)
    if y.shape != x.shape:
        raise ValueError(f"`reconstructions` must have shape {x.shape} to match `images`; got {y.shape}")
    return {"rmse": float(np.sqrt(np.mean((x - y) ** 2))),
            # All images as one tall mask: the IoU of every pixel together.
            "iou": float(iou((x >= threshold).reshape(-1, x.shape[-1]), (y >= threshold).reshape(-1, x.shape[-1])))}
