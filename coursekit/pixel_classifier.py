"""A U-Net that labels every radar pixel no echo, stratiform or convective, and its baselines.

The targets are Steiner, Houze and Yuter's labels (:func:`coursekit.echo.convective_stratiform`):
0 no echo, 1 stratiform, 2 convective. The network (:class:`UNet`, after
Ronneberger et al., 2015) has an encoder of 3x3 convolution-ReLU blocks and 2x2
max pooling, a decoder of learnable upsampling (:class:`~coursekit.nn.ConvTranspose2D`)
that concatenates the encoder's maps of the same size at every level
(:class:`~coursekit.nn.SkipConcat`), and a 1x1 convolution to one score per class
and pixel. ``skip=False`` builds the same network without the skips, a baseline;
:func:`threshold_labels`, the rule "convective from 40 dBZ", is the other.

It trains with :func:`coursekit.nn.fit`, :class:`~coursekit.nn.PixelCrossEntropy`
and :data:`CLASSIFIER_RECIPE`, on random crops of the training images (:func:`training_crops`);
:func:`train` does all of that in one call. :func:`predict_labels` labels whole
images and :func:`label_scores` compares labels with the targets.

Used in: Encoder–decoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from . import echo
from ._validation import as_array, as_generator, as_image_batch, as_int
from .encoder_decoder import DBZ_SCALE
from .metrics import confusion_matrix, iou_per_class
from .nn import (Conv2D, ConvTranspose2D, MaxPool2D, PixelCrossEntropy, ReLU, Sequential, SkipConcat, fit,
                 load_parameters, predict)

__all__ = ["CLASS_WEIGHTS", "CLASSIFIER_RECIPE", "DICE", "UNet", "class_edges", "classifier_input", "label_scores",
           "predict_labels", "pretrained", "threshold_labels", "train", "training_crops"]

#: Weights of no echo, stratiform and convective in the cross-entropy: convective
#: echo covers a few per cent of the pixels, so each of its pixels counts more. (With 3
#: instead of 2 the network calls too many stratiform pixels convective.)
CLASS_WEIGHTS = (1.0, 1.0, 2.0)
#: Weight of the soft Dice term of the loss.
DICE = 0.5
#: Where the shipped weights are: ``make weights`` (tools/train_weights.py) writes them.
WEIGHTS = Path(__file__).parent / "weights"


class UNet(Sequential):
    """U-Net for per-pixel classes: encoder, decoder with a skip at every level, 1x1 head.

    With channels ``(c1, c2, ..., cL)``: a block of 3x3 convolutions (padding 1)
    and ReLU to ``c1`` maps at full size; then, at each level below, 2x2 max
    pooling and a block to the next count; back up, a 2x2 transposed convolution
    of stride 2 doubles the size, the encoder's maps of that size are concatenated
    (``skip=True``), and a block mixes them; finally a 1x1 convolution gives one
    score (logit) per class and pixel. Written recursively: each level below the
    top is ``SkipConcat(Sequential([pool, block, deeper levels, upsample]))``.

    Parameters
    ----------
    channels : sequence of int, optional
        Maps at each level, top first; ``len(channels) - 1`` poolings, so image
        sides must be multiples of ``2 ** (len(channels) - 1)`` (see :meth:`factor`).
    skip : bool, optional
        False builds the same network without the concatenations (a baseline).
    in_channels : int, optional
        Maps per input image: two for :func:`classifier_input`.
    classes : int, optional
    convolutions : int, optional
        3x3 convolutions per block.
    seed : int, optional
        Seed of the initial weights.
    dtype : numpy dtype, optional

    Examples
    --------
    >>> model = UNet(channels=(4, 8), seed=0)
    >>> model(np.zeros((2, 2, 16, 16), np.float32)).shape
    (2, 3, 16, 16)
    >>> model.names
    ['block 1', 'level 2', 'block 1 up', 'head']
    >>> UNet(channels=(4, 8, 16)).factor
    4

    Used in: Encoder–decoder.
    """

    def __init__(self, channels=(8, 16, 32), skip=True, in_channels=2, classes=3, convolutions=1, seed=0,
                 dtype=np.float32):
        if np.ndim(channels) != 1 or len(channels) < 2:
            raise ValueError(f"The parameter `channels` must be two or more counts, one per level; got {channels!r}")
        self.channels = tuple(as_int(c, "channels", 1) for c in channels)
        self.skip, self.classes = bool(skip), as_int(classes, "classes", 1)
        self.in_channels = as_int(in_channels, "in_channels", 1)
        self.convolutions = as_int(convolutions, "convolutions", 1)
        rng = np.random.default_rng(as_int(seed, "seed", 0))

        def block(n_in, n_out, first=False):
            layers = []
            for number in range(self.convolutions):
                layers += [Conv2D(n_in if number == 0 else n_out, n_out, 3, padding=1, rng=rng, dtype=dtype,
                                  input_grad=not (first and number == 0)), ReLU()]
            return Sequential(layers)

        def level(depth):
            """Pool, the block of this level, the levels below it, and the way back up."""
            c_up, c = self.channels[depth - 1], self.channels[depth]
            inner = {"pool": MaxPool2D(2), f"block {depth + 1}": block(c_up, c)}
            if depth + 1 < len(self.channels):
                inner[f"level {depth + 2}"] = level(depth + 1)
                inner[f"block {depth + 1} up"] = block(2 * c if self.skip else c, c)
            inner["upsample"] = ConvTranspose2D(c, c_up, 2, stride=2, rng=rng, dtype=dtype)
            down_and_up = Sequential(inner)
            return SkipConcat(down_and_up) if self.skip else down_and_up

        c1 = self.channels[0]
        super().__init__({"block 1": block(self.in_channels, c1, first=True), "level 2": level(1),
                          "block 1 up": block(2 * c1 if self.skip else c1, c1),
                          "head": Conv2D(c1, self.classes, 1, rng=rng, dtype=dtype)})
        _he_start(self, rng)

    @property
    def factor(self):
        """Image sides must be multiples of this: 2 to the number of poolings."""
        return 2 ** (len(self.channels) - 1)

    def forward(self, x):
        """(N, in_channels, H, W) inputs -> (N, classes, H, W) logits; H and W multiples of :attr:`factor`."""
        x = as_array(x, "x", 4)
        if x.shape[2] % self.factor or x.shape[3] % self.factor:
            raise ValueError(f"UNet with {len(self.channels) - 1} poolings needs sides that are multiples of "
                             f"{self.factor}; `x` has shape {x.shape} (predict_labels pads them)")
        return super().forward(x)

    def __repr__(self):
        return f"UNet(channels={self.channels}, skip={self.skip}, classes={self.classes})"


def _he_start(layer, rng):
    """Start every weight uniform in +-sqrt(6 / fan_in) and every bias at 0 (He et al., 2015).

    PyTorch's default start, +-1/sqrt(fan_in), divides the spread of the maps by about
    2.5 at each convolution-ReLU; through the eight layers of this U-Net the signal (and
    the gradient) all but vanish, and training crawls. He's start keeps the spread
    constant through ReLUs. A transposed convolution of stride 2 and kernel 2 sums
    over the input channels only: its fan-in is ``in_channels``.
    """
    if isinstance(layer, Sequential):
        for child in layer.layers:
            _he_start(child, rng)
    elif isinstance(layer, SkipConcat):
        _he_start(layer.inner, rng)
    elif isinstance(layer, (Conv2D, ConvTranspose2D)):
        weight = layer.weight.value
        taps = weight.shape[2] * weight.shape[3]
        if isinstance(layer, ConvTranspose2D):
            fan_in = weight.shape[0] * taps / (layer.stride[0] * layer.stride[1])
        else:
            fan_in = weight.shape[1] * taps
        bound = np.sqrt(6 / fan_in)
        weight[...] = rng.uniform(-bound, bound, weight.shape)
        layer.bias.value[...] = 0


def _dbz(images, name="images"):
    """(N, H, W) or (N, H, W, 1) dBZ, as float32 (N, H, W)."""
    return as_image_batch(images, name).astype(np.float32, copy=False)


def classifier_input(images):
    """Radar images as the U-Net takes them: reflectivity / 80 and the echo mask, two maps per image.

    The mask (1 where dBZ > 0) tells the network where the echo is, which is exactly
    the border between no echo and the rest (Steiner's "echo" is a dBZ above 0). From
    reflectivity alone it would have to learn a step between 0 and 1 dBZ, 0 and
    0.0125 after scaling, which small initial weights take many epochs to grow.

    Parameters
    ----------
    images : (N, H, W) or (N, H, W, 1) array_like
        Reflectivity in dBZ.

    Returns
    -------
    (N, 2, H, W) float32 ndarray
        Channel 0: dBZ / 80 (about 0..1); channel 1: 1.0 where dBZ > 0, else 0.0.

    Examples
    --------
    >>> classifier_input(np.array([[[0, 40]]]))[0, :, 0]
    array([[0. , 0.5],
           [0. , 1. ]], dtype=float32)

    Used in: Encoder–decoder (through `predict_labels`).
    """
    dbz = _dbz(images)
    return np.stack([dbz / np.float32(DBZ_SCALE), (dbz > 0).astype(np.float32)], axis=1)


def training_crops(images, side=64, crops=4, seed=0):
    """Labelled training examples: random square crops of the images and of their labels, some mirrored.

    The labels come from :func:`coursekit.echo.convective_stratiform` on the *whole*
    images, so that a crop's edge pixels keep the label their full neighbourhood
    gives. Each image gives `crops` crops at random places; each crop is mirrored
    left-right and up-down with probability 1/2 each. Real storms do have
    preferred orientations (a Northern-Hemisphere squall line usually runs south-west
    to north-east), but Steiner's labels depend on no direction, so a mirrored crop
    keeps labels that are right for it. The network is fully convolutional: it
    learns on crops and labels whole images.

    Parameters
    ----------
    images : (N, H, W) or (N, H, W, 1) array_like
        Reflectivity in dBZ.
    side : int, optional
        Side of the crops, at most the images' shorter side.
    crops : int, optional
        Crops per image.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    x : (N * crops, 2, side, side) float32 ndarray
        As :func:`classifier_input` gives it.
    y : (N * crops, side, side) int64 ndarray
        0 no echo, 1 stratiform, 2 convective.

    Examples
    --------
    >>> x, y = training_crops(np.full((2, 136, 136), 30.0), side=64, crops=3)
    >>> x.shape, y.shape, int(y.max())
    ((6, 2, 64, 64), (6, 64, 64), 1)

    Used in: Encoder–decoder (through `train`).
    """
    dbz = _dbz(images)
    side, crops = as_int(side, "side", 1), as_int(crops, "crops", 1)
    if side > min(dbz.shape[1:]):
        raise ValueError(f"The parameter `side` ({side}) must not exceed the images' side {min(dbz.shape[1:])}")
    rng = as_generator(seed, "seed")
    labels = echo.convective_stratiform(dbz)
    inputs = classifier_input(dbz)
    x, y = [], []
    for image, label in zip(inputs, labels):
        for _ in range(crops):
            r, c = rng.integers(0, image.shape[1] - side + 1), rng.integers(0, image.shape[2] - side + 1)
            window = (slice(r, r + side), slice(c, c + side))
            crop, crop_label = image[(slice(None), *window)], label[window]
            if rng.random() < 0.5:
                crop, crop_label = crop[..., ::-1], crop_label[..., ::-1]
            if rng.random() < 0.5:
                crop, crop_label = crop[..., ::-1, :], crop_label[::-1]
            x.append(crop)
            y.append(crop_label)
    return np.stack(x), np.stack(y).astype(np.int64)


#: The chapter's recipe: at most ``images`` training images (a random choice when there
#: are more: SVRIMG's training split holds 1331, ten times what the time budget allows),
#: ``crops`` random crops of ``side`` pixels from each (:func:`training_crops`), and
#: :func:`coursekit.nn.fit`'s options, Adam with the step size decaying along a cosine.
CLASSIFIER_RECIPE = {"images": 133, "side": 64, "crops": 3, "epochs": 5, "batch_size": 8, "lr": 1e-2,
                     "schedule": "cosine"}


def train(images, skip=True, channels=(8, 16, 32), recipe=None, seed=0, log=None):
    """Train a :class:`UNet` on Steiner's labels of `images` with :data:`CLASSIFIER_RECIPE`.

    Parameters
    ----------
    images : (N, H, W) or (N, H, W, 1) array_like
        Training images in dBZ (north-up, as :func:`coursekit.data.load_radar` gives them).
    skip : bool, optional
        With or without the skip connections.
    channels : sequence of int, optional
    recipe : dict, optional
        Overrides of :data:`CLASSIFIER_RECIPE` (``images``, ``side`` and ``crops`` choose the
        training crops, the rest goes to :func:`coursekit.nn.fit`).
    seed : int, optional
        Seed of the weights, the crops and the order of the mini-batches.
    log : callable(str), optional
        One line per epoch (``print`` to watch).

    Returns
    -------
    model : UNet
    history : dict of lists
        As :func:`coursekit.nn.fit` returns it (``loss``, ``lr``, ``seconds`` per epoch).

    Examples
    --------
    >>> model, history = train(np.full((2, 32, 32), 30.0), channels=(2, 2), recipe={"side": 16, "epochs": 2})
    >>> len(history["loss"]), model.skip
    (2, True)

    Used in: Encoder–decoder.
    """
    recipe = {**CLASSIFIER_RECIPE, **(recipe or {})}
    count, side, crops = as_int(recipe.pop("images"), "images", 1), recipe.pop("side"), recipe.pop("crops")
    images = _dbz(images)
    if len(images) > count:
        images = images[np.sort(np.random.default_rng(seed).choice(len(images), count, replace=False))]
    x, y = training_crops(images, side=side, crops=crops, seed=seed)
    model = UNet(channels=channels, skip=skip, seed=seed)
    history = fit(model, PixelCrossEntropy(CLASS_WEIGHTS, dice=DICE), x, y, seed=seed, log=log, **recipe)
    return model, history


def pretrained(skip=True):
    """The U-Net (or, ``skip=False``, its baseline without skips) as trained for the book, ready to use.

    The weights ship with coursekit (``coursekit/weights/``, about 60 kB each). They
    were made by :func:`train` with :data:`CLASSIFIER_RECIPE` and seed 0 on the
    synthetic training split (``load_radar("training", source="synthetic")``), so
    they are the same on every machine and need no download; ``make weights``
    makes them again, and a test checks that a fresh training scores as they do.

    Parameters
    ----------
    skip : bool, optional

    Returns
    -------
    model : UNet
    info : dict
        How the weights were made: ``recipe``, ``channels``, ``seed``, ``data``, and
        ``scores`` on the synthetic testing split (``mean_iou``, ``iou`` per class).

    Examples
    --------
    >>> model, info = pretrained()
    >>> model, info["seed"], info["recipe"]["epochs"]
    (UNet(channels=(8, 16, 32), skip=True, classes=3), 0, 5)

    Used in: Pixel-wise metrics.
    """
    path = WEIGHTS / ("unet.npz" if skip else "unet_noskip.npz")
    model = UNet(channels=(8, 16, 32), skip=bool(skip))
    info = load_parameters(model, path)
    return model, info


def predict_labels(model, images, batch_size=16):
    """Label whole images with a trained :class:`UNet`: the class of highest score at each pixel.

    Sides that are not multiples of ``model.factor`` are padded with zeros (no echo)
    at the bottom and right up to the next multiple, and the labels cropped back:
    every pixel keeps its place, and the padding only adds empty sky. (136 is a
    multiple of 8, so SVRIMG's images need no padding with up to three poolings.)

    Parameters
    ----------
    model : UNet
    images : (N, H, W) or (N, H, W, 1) array_like
        Reflectivity in dBZ.
    batch_size : int, optional

    Returns
    -------
    (N, H, W) int64 ndarray
        0 no echo, 1 stratiform, 2 convective.

    Examples
    --------
    >>> predict_labels(UNet(channels=(2, 2)), np.zeros((1, 15, 20))).shape
    (1, 15, 20)

    Used in: Encoder–decoder.
    """
    dbz = _dbz(images)
    rows, cols = dbz.shape[1:]
    factor = model.factor
    padded = np.pad(dbz, [(0, 0), (0, -rows % factor), (0, -cols % factor)])
    logits = predict(model, classifier_input(padded), batch_size)
    return logits.argmax(axis=1)[:, :rows, :cols].astype(np.int64)


def threshold_labels(images, threshold=40.0):
    """The baseline without learning: convective from `threshold` dBZ, stratiform below, no echo at 0.

    Parameters
    ----------
    images : (N, H, W) or (N, H, W, 1) array_like
        Reflectivity in dBZ.
    threshold : float, optional

    Returns
    -------
    (N, H, W) int64 ndarray
        2 where dBZ >= threshold, 1 where 0 < dBZ < threshold, 0 elsewhere (as
        :func:`coursekit.echo.convective_stratiform`, echo is a dBZ above 0).

    Examples
    --------
    >>> threshold_labels(np.array([[[0, 20, 40, 55]]]))
    array([[[0, 1, 2, 2]]])

    Used in: Encoder–decoder.
    """
    dbz = _dbz(images)
    return np.select([dbz >= threshold, dbz > 0], [echo.CONVECTIVE, echo.STRATIFORM], echo.NO_ECHO).astype(np.int64)


def label_scores(target, prediction):
    """Per-class IoU, the mean IoU of stratiform and convective, and the confusion matrix.

    Counts pool every pixel of every image (:func:`coursekit.metrics.confusion_matrix`).
    No echo is left out of the mean: it is where reflectivity is 0, which any
    method finds, and it would flatter every score.

    Parameters
    ----------
    target, prediction : (N, H, W) or (H, W) array_like
        Labels 0 no echo, 1 stratiform, 2 convective.

    Returns
    -------
    dict
        ``iou``: (3,) float ndarray, per class (NaN for a class absent from both);
        ``mean_iou``: float, mean of the stratiform and convective IoU;
        ``confusion``: (3, 3) int64 ndarray, rows true, columns predicted.

    Examples
    --------
    >>> s = label_scores([[0, 1, 1, 2]], [[0, 1, 2, 2]])
    >>> s["iou"], s["mean_iou"]
    (array([1. , 0.5, 0.5]), 0.5)

    Used in: Encoder–decoder.
    """
    iou = iou_per_class(target, prediction, 3)
    return {"iou": iou, "mean_iou": float(np.mean(iou[[echo.STRATIFORM, echo.CONVECTIVE]])),
            "confusion": confusion_matrix(target, prediction, 3)}


def class_edges(labels):
    """Where one class meets another: pixels whose 3x3 neighbourhood holds more than one label.

    Storm edges, in the widest sense: the border of the echo, and the border between
    stratiform and convective rain. Most of any method's mistakes fall there; this
    mask measures how many (``prediction[edges] != target[edges]``).

    Parameters
    ----------
    labels : (H, W) or (N, H, W) array_like of int

    Returns
    -------
    bool ndarray, same shape
        Images are treated one by one; beyond the border counts as the nearest pixel.

    Examples
    --------
    >>> class_edges(np.array([[0, 0, 0, 1, 1]])).astype(int)
    array([[0, 0, 1, 1, 0]])

    Used in: the tests and ``make bench`` (where the U-Net's mistakes fall).
    """
    labels = as_array(labels, "labels", (2, 3))
    size = (3, 3) if labels.ndim == 2 else (1, 3, 3)
    return ndimage.maximum_filter(labels, size=size, mode="nearest") != \
        ndimage.minimum_filter(labels, size=size, mode="nearest")
