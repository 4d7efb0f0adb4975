"""A small encoder-decoder for radar images, learned or made by hand.

The encoder is three stages of 3x3 convolution, ReLU and 3x3 max pooling
(136 -> 45 -> 15 -> 5 pixels a side); the decoder is three stages of unpooling
(by repetition) and 3x3 convolution back to 135. With ``skip=True`` the
decoder's 45x45 stage also receives the encoder's 45x45 maps, concatenated along
the channels: the skip connection of U-Net (Ronneberger et al., 2015), at one
level. :func:`encode` and :func:`decode` run the same pipeline by hand, on one
image with one fixed kernel, and :func:`hand_made` scores it, so that the chapter
can measure what learning the kernels buys.

Images go in and come out in dBZ; inside, the network works on dBZ / 80. The
network trains with :func:`coursekit.nn.fit`, :class:`ReconstructionError` and
the recipe :data:`RECIPE`.

Used in: Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from ._validation import (as_array, as_generator, as_image_batch, as_int, as_number, check_finite,
                          odd_square_kernel)
from .conv import classic_kernel, conv2d
from .metrics import iou
from .nn import Conv2D, MaxPool2D, MeanSquaredError, ReLU, Sequential, SkipConcat, Unpool2D, predict
from .pooling import max_pool2d, unpool2d

__all__ = [
    "DBZ_SCALE",
    "EDGE_KERNEL",
    "SMOOTH_KERNEL",
    "RECIPE",
    "EncoderDecoder",
    "ReconstructionError",
    "decode",
    "echo_weight",
    "encode",
    "evaluate",
    "hand_made",
    "network_input",
    "random_crop_flip",
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


def network_input(images):
    """Radar images in dBZ as the network takes them: (N, 1, H, W) float32, dBZ / 80.

    Parameters
    ----------
    images : (N, H, W) or (N, H, W, 1) array_like
        Reflectivity in dBZ; each side at least 27 pixels (three 3x3 poolings).

    Returns
    -------
    (N, 1, H, W) float32 ndarray
        About 0..1.

    Examples
    --------
    >>> network_input(np.full((2, 136, 136, 1), 40, np.uint8))[0, 0, 0, 0]
    np.float32(0.5)

    Used in: Encoder–decoder.
    """
    return _images(images, "images")


def _images(x, name):
    """(N, 136, 136[, 1]) dBZ -> (N, 1, H, W) float32 scaled to about 0..1."""
    x = check_finite(as_image_batch(x, name), name)
    if min(x.shape[1:]) < _SIZE**3:
        raise ValueError(f"`{name}` must be at least {_SIZE**3} x {_SIZE**3} pixels (three 3x3 poolings); "
                         f"got shape {x.shape}")
    return (x[:, None].astype(np.float32)) / DBZ_SCALE


def _same(x, kernel):
    """Cross-correlation with "same" padding: the map keeps its size (odd square kernel)."""
    return conv2d(x[None, None], kernel[None, None], padding=len(kernel) // 2)[0, 0]


def _target(x):
    """The part of each image the decoder can rebuild: each side rounded down to a multiple of 27."""
    rows, cols = (n // _SIZE**3 * _SIZE**3 for n in x.shape[-2:])
    return x[..., :rows, :cols]


class EncoderDecoder(Sequential):
    """Three pooling stages down, three unpooling stages up; optionally one skip connection.

    A :class:`~coursekit.nn.Sequential` of six stages, ``down 1`` to ``up 3``
    (each a Sequential of its own); with ``skip=True`` the four middle stages sit
    inside a :class:`~coursekit.nn.SkipConcat` named ``skip``.

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
    >>> model.names
    ['down 1', 'skip', 'up 3']

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
        middle = {"down 2": self.down2, "down 3": self.down3, "up 1": self.up1, "up 2": self.up2}
        if self.skip:
            super().__init__({"down 1": self.down1, "skip": SkipConcat(Sequential(middle)), "up 3": self.up3})
        else:
            super().__init__({"down 1": self.down1, **middle, "up 3": self.up3})

    def _inputs(self, x):
        x = as_array(x, "x", 4)
        if min(x.shape[-2:]) < _SIZE**3:
            raise ValueError(f"`x` must be at least {_SIZE**3} pixels a side (three 3x3 poolings); got {x.shape}")
        # Pixels beyond a multiple of 27 cannot come back through three unpoolings: leave them out,
        # so that the skip's maps and the decoder's always have the same size.
        return _target(x)

    def forward(self, x):
        """(N, 1, H, W) scaled images -> (N, 1, H', W') with H' = H rounded down to a multiple of 27."""
        return super().forward(self._inputs(x))

    def activations(self, x):
        """Every stage's output for a batch (N, 1, H, W), by stage name."""
        return super().activations(self._inputs(x))

    def code_shape(self, image_shape):
        """Shape of one image's code (channels, rows, cols) at the bottleneck."""
        rows, cols = (as_int(n, "image_shape", 1) // _SIZE**3 for n in image_shape)
        return (self.channels[2], rows, cols)

    def __repr__(self):
        return f"EncoderDecoder(channels={self.channels}, skip={self.skip})"


class ReconstructionError(MeanSquaredError):
    """The encoder–decoder's training loss: the squared error of each reconstruction against
    the input it rebuilds, each pixel weighted by :func:`echo_weight`.

    ``forward(prediction, images)`` takes the network's output (N, 1, H', W') and its
    input (N, 1, H, W), dBZ / 80, cropped to the output's H' x W'; with
    :func:`coursekit.nn.fit` and ``y=None`` the input is the target.

    Examples
    --------
    >>> images = np.full((1, 1, 28, 28), 0.5)          # 40 dBZ: weight 10
    >>> float(ReconstructionError().forward(np.zeros((1, 1, 27, 27)), images))
    2.5

    Used in: Encoder–decoder.
    """

    def forward(self, prediction, images):
        target = _target(np.asarray(images))
        return super().forward(prediction, target, echo_weight(target * DBZ_SCALE))


def random_crop_flip(batch, rng, side=81):
    """A random square crop of each image, the whole batch then mirrored at random.

    The network is fully convolutional, so it can learn on crops and then run on
    whole images; crops of 81 = 3 x 27 pixels cost a third of whole images.
    Mirrored images are nearly as good as new ones for this task: real storms do
    have preferred orientations (a Northern-Hemisphere squall line usually runs
    south-west to north-east, with its stratiform rain behind it), but copying an
    image through the network's bottleneck is the same task whichever way it faces.

    Parameters
    ----------
    batch : (N, C, H, W) array_like
    rng : numpy.random.Generator or int
        The source of the crops and flips; an int seeds a new generator.
    side : int, optional
        Side of the crops, at least 27 and at most the images' shorter side.

    Returns
    -------
    (N, C, side, side) ndarray
        Each image cropped at its own random place; left-right and up-down flips
        each with probability 1/2, for the whole batch.

    Examples
    --------
    >>> random_crop_flip(np.zeros((2, 1, 136, 136)), 0).shape
    (2, 1, 81, 81)

    Used in: :data:`RECIPE`, as its augmentation.
    """
    batch = as_array(batch, "batch", 4)
    rng = as_generator(rng, "rng")
    side = as_int(side, "side", _SIZE**3)
    if side > min(batch.shape[-2:]):
        raise ValueError(f"The parameter `side` ({side}) must not exceed the images' side {min(batch.shape[-2:])}")
    rows = rng.integers(0, batch.shape[-2] - side + 1, len(batch))
    cols = rng.integers(0, batch.shape[-1] - side + 1, len(batch))
    crops = np.stack([image[:, r:r + side, c:c + side] for image, r, c in zip(batch, rows, cols)])
    if rng.random() < 0.5:
        crops = crops[..., ::-1]
    if rng.random() < 0.5:
        crops = crops[..., ::-1, :]
    return np.ascontiguousarray(crops)


#: The chapter's recipe for :func:`coursekit.nn.fit` (with :class:`ReconstructionError`
#: and :func:`network_input`): Adam on batches of 8 random 81-pixel crops, the step
#: size decaying along a cosine.
RECIPE = {"epochs": 15, "batch_size": 8, "lr": 3e-3, "schedule": "cosine", "augment": random_crop_flip}


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
    return np.clip(predict(model, _images(images, "images"), batch_size)[:, 0] * DBZ_SCALE, 0, DBZ_SCALE)


def echo_weight(dbz):
    """How much each pixel's error counts in training: 1 below 20 dBZ, then 2, 5 and 10
    from 20, 30 and 40 dBZ.

    Strong echoes cover a few per cent of the pixels; with equal weights the network
    would learn to blur them away. Weights growing with intensity are adapted from
    the balanced loss of Shi et al. (2017) for precipitation nowcasting, whose
    weights were 1, 2, 5, 10 and 30 from 0, 2, 5, 10 and 30 mm/h of rain.

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

    Used in: :class:`ReconstructionError`, the learned decoders' loss.
    """
    dbz = np.asarray(dbz)
    return np.select([dbz >= 40, dbz >= 30, dbz >= 20], [10.0, 5.0, 2.0], 1.0).astype(np.result_type(dbz.dtype, np.float32), copy=False)


def encode(image, kernel, size=3, depth=3):
    """A hand-made encoder: `depth` times cross-correlate (same padding), ReLU, max pool.

    Parameters
    ----------
    image : (H, W) array_like
    kernel : (k, k) array_like
        Odd size; applied with padding (k - 1) / 2 so that only pooling shrinks the map.
    size : int, optional
        Pooling window and stride.
    depth : int, optional
        Number of stages.

    Returns
    -------
    list of (str, ndarray)
        Every intermediate map, named: ``conv 1``, ``relu 1``, ``pool 1``, ... The last
        is the code, of side ``H // size**depth`` (136 -> 45 -> 15 -> 5 for size 3).

    Examples
    --------
    >>> stages = encode(np.ones((136, 136)), np.ones((3, 3)) / 9)
    >>> [img.shape[0] for name, img in stages if name.startswith("pool")]
    [45, 15, 5]

    Used in: Encoder–decoder.
    """
    x = as_array(image, "image", 2).astype(float)
    kernel = odd_square_kernel(kernel, "kernel")
    size, depth = as_int(size, "size", 1), as_int(depth, "depth", 1)
    if min(x.shape) < size**depth:
        raise ValueError(f"The parameter `image` ({x.shape[0]}x{x.shape[1]}) is too small for `depth`={depth} "
                         f"poolings of `size`={size}: it needs at least {size**depth} pixels a side")
    stages = []
    for stage in range(1, depth + 1):
        x = _same(x, kernel)
        stages.append((f"conv {stage}", x))
        x = np.maximum(x, 0)
        stages.append((f"relu {stage}", x))
        x = max_pool2d(x, size)
        stages.append((f"pool {stage}", x))
    return stages


def decode(code, kernel, size=3, depth=3, mode="zeros", offset=None):
    """A hand-made decoder: `depth` times unpool, cross-correlate (same padding), ReLU.

    Parameters
    ----------
    code : (h, w) array_like
    kernel : (k, k) array_like
        The reconstruction kernel, odd size.
    size : int, optional
        Enlargement per stage.
    depth : int, optional
    mode : {'zeros', 'repeat'}, optional
        How :func:`~coursekit.pooling.unpool2d` enlarges.
    offset : int, optional
        For ``'zeros'``: where in its block each value goes, as in
        :func:`~coursekit.pooling.unpool2d`; the block's centre by default. With 0,
        the top-left corner, each stage moves the image up and left by
        (size - 1) / 2 of its own pixels: 1 + 3 + 9 = 13 output pixels for three
        stages of 3.

    Returns
    -------
    list of (str, ndarray)
        ``unpool 1``, ``conv 1``, ``relu 1``, ...; the last map has side ``h * size**depth``.

    Examples
    --------
    >>> stages = decode(np.ones((5, 5)), np.ones((3, 3)) / 9)
    >>> stages[-1][1].shape
    (135, 135)

    Used in: Encoder–decoder.
    """
    x = as_array(code, "code", 2).astype(float)
    kernel = odd_square_kernel(kernel, "kernel")
    stages = []
    for stage in range(1, as_int(depth, "depth", 1) + 1):
        x = unpool2d(x, size, mode, offset)
        stages.append((f"unpool {stage}", x))
        x = _same(x, kernel)
        stages.append((f"conv {stage}", x))
        x = np.maximum(x, 0)
        stages.append((f"relu {stage}", x))
    return stages


def hand_made(images, mode="zeros", fit=None, edge=EDGE_KERNEL, smooth=SMOOTH_KERNEL):
    """The fixed pipeline: :func:`encode` then :func:`decode`.

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
    def raw(batch, name):
        x = _images(batch, name)[:, 0] * DBZ_SCALE
        return x, np.stack([decode(encode(image, edge)[-1][1], smooth, mode=mode)[-1][1] for image in x])

    x, decoded = raw(images, "images")
    fit_x, fit_decoded = (x, decoded) if fit is None else raw(fit, "fit")
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
    y = check_finite(as_array(reconstructions, "reconstructions", 3, allow_bool=False), "reconstructions")
    if y.shape != x.shape:
        raise ValueError(f"`reconstructions` must have shape {x.shape} to match `images`; got {y.shape}")
    threshold = as_number(threshold, "threshold")
    return {"rmse": float(np.sqrt(np.mean((x - y) ** 2))),
            # All images as one tall mask: the IoU of every pixel together.
            "iou": float(iou((x >= threshold).reshape(-1, x.shape[-1]), (y >= threshold).reshape(-1, x.shape[-1])))}
