"""Layers made of layers: a chain (:class:`Sequential`) and U-Net's skip (:class:`SkipConcat`).

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer

__all__ = ["Sequential", "SkipConcat"]


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse.

    Parameters
    ----------
    layers : list of Layer, or dict of name -> Layer
        Without names, each layer is named by its kind and rank: ``"conv2d 1"``,
        ``"relu 1"``, ``"conv2d 2"``, ...

    Examples
    --------
    >>> from coursekit.nn import Dense, Flatten, ReLU
    >>> net = Sequential([Flatten(), Dense(4, 2, rng=0), ReLU()])
    >>> net(np.ones((3, 1, 2, 2))).shape
    (3, 2)
    >>> list(net.activations(np.ones((3, 1, 2, 2))))
    ['flatten 1', 'dense 1', 'relu 1']
    >>> net["dense 1"]
    Dense(4, 2)

    Used in: LeNet; Encoder–decoder.
    """

    def __init__(self, layers):
        if isinstance(layers, dict):
            names, layers = list(layers), list(layers.values())
        else:
            layers, counts, names = list(layers), {}, []
            for layer in layers:
                kind = type(layer).__name__.lower()
                counts[kind] = counts.get(kind, 0) + 1
                names.append(f"{kind} {counts[kind]}")
        for name, layer in zip(names, layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"The parameter `layers` must hold Layer objects; {name!r} is {layer!r}")
        self.layers, self.names = layers, names

    def __getitem__(self, key):
        """A layer by position or by name."""
        if isinstance(key, str):
            if key not in self.names:
                raise KeyError(f"no layer named {key!r}; the layers are {', '.join(self.names)}")
            return self.layers[self.names.index(key)]
        return self.layers[key]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def activations(self, x):
        """Every layer's output for the batch `x`, in order: a dict from layer name to array."""
        maps = {}
        for name, layer in zip(self.names, self.layers):
            x = maps[name] = layer.forward(x)
        self._output_shape = np.shape(x)  # a forward pass: backward may follow (Layer's check)
        return maps

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"


class SkipConcat(Layer):
    """Run `inner`, then stack its output with the block's own input along the channels.

    U-Net's skip connection (Ronneberger et al., 2015): maps of the encoder cross
    over to the decoder's maps of the same size. In backward the gradient splits
    the same way: the first channels go back through `inner`, the others straight
    to the input, and the two add up.

    Parameters
    ----------
    inner : Layer
        Maps (N, C, H, W) to (N, C', H, W): same rows and columns.

    Examples
    --------
    >>> from coursekit.nn import Conv2D
    >>> block = SkipConcat(Conv2D(2, 3, 3, padding=1, rng=0))
    >>> block(np.ones((1, 2, 5, 5))).shape       # 3 channels of inner, 2 of the input
    (1, 5, 5, 5)

    Used in: Encoder–decoder.
    """

    def __init__(self, inner):
        if not isinstance(inner, Layer):
            raise TypeError(f"The parameter `inner` must be a Layer; got {inner!r}")
        self.inner = inner

    def parameters(self):
        return self.inner.parameters()

    def forward(self, x):
        y = self.inner.forward(x)
        if y.shape[2:] != x.shape[2:]:
            raise ValueError(f"SkipConcat: `inner` turned maps of {x.shape[2:]} into {y.shape[2:]}; "
                             "a skip joins maps of the same size")
        self._inner_channels = y.shape[1]
        return np.concatenate([y, x], axis=1)

    def backward(self, grad):
        through = self.inner.backward(grad[:, :self._inner_channels])
        return through + grad[:, self._inner_channels:]

    def __repr__(self):
        return f"SkipConcat({self.inner!r})"
