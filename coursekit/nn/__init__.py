"""Neural networks in NumPy, on the course's own primitives.

Layers with forward and backward passes (:mod:`~coursekit.nn.layers`, with weights;
:mod:`~coursekit.nn.resampling`, pooling and the like; :mod:`~coursekit.nn.activations`)
hold :class:`Parameter` objects (``value`` and ``grad``); containers
(:mod:`~coursekit.nn.containers`) build models from layers; losses
(:mod:`~coursekit.nn.losses`) start the backward pass; optimizers
(:mod:`~coursekit.nn.optim`) take one list, ``model.parameters()``; and
:func:`fit` (:mod:`~coursekit.nn.fit`) is the one training loop::

    from coursekit import nn
    model = nn.Sequential([nn.Flatten(), nn.Dense(784, 10)])
    history = nn.fit(model, nn.SoftmaxCrossEntropy(), x, y, epochs=5, schedule="cosine")

Batches are NCHW; convolution weights are (C_out, C_in, kH, kW) as in PyTorch.

Used in: LeNet; Encoder–decoder.
"""

from .containers import Sequential, SkipConcat
from .fit import cosine, fit, predict
from .activations import ReLU, Sigmoid
from .layers import Conv2D, ConvTranspose2D, Dense, Layer, Parameter
from .losses import MeanSquaredError, PixelCrossEntropy, SoftmaxCrossEntropy
from .optim import SGD, Adam
from .resampling import AvgPool2D, Flatten, MaxPool2D, Unpool2D
from .saving import load_parameters, save_parameters

__all__ = [
    "Adam",
    "AvgPool2D",
    "Conv2D",
    "ConvTranspose2D",
    "Dense",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "MeanSquaredError",
    "Parameter",
    "PixelCrossEntropy",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "SkipConcat",
    "SoftmaxCrossEntropy",
    "Unpool2D",
    "cosine",
    "fit",
    "load_parameters",
    "predict",
    "save_parameters",
]
