"""Saving a model's parameters to one ``.npz`` file, and loading them back into the same model.

The file holds each Parameter's value in the order ``model.parameters()`` gives
them (``p000``, ``p001``, ...), the model's ``repr`` to catch a file loaded into
the wrong architecture, and an ``info`` dict of whatever the caller wants kept
with the weights (the recipe, the data, the scores), as JSON. No pickle: loading
a file runs no code from it.

Used in: Pixel-wise metrics (through :func:`coursekit.pixel_classifier.pretrained`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["load_parameters", "save_parameters"]


def save_parameters(model, path, info=None):
    """Write `model`'s parameters, and `info`, to `path` (an ``.npz`` file), all or nothing.

    The file is written under a temporary name in the same folder and renamed at
    the end, so an interrupted save never leaves a half-written file at `path`.

    Parameters
    ----------
    model : Layer
        Anything with ``parameters()``.
    path : str or Path
    info : dict, optional
        Kept with the weights; it must survive ``json.dumps`` (numbers, strings, lists, dicts).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from coursekit.nn import Dense
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dense.npz"
    >>> save_parameters(Dense(3, 2, rng=0), path, {"epochs": 5})
    >>> load_parameters(Dense(3, 2, rng=1), path)
    {'epochs': 5}

    Used in: ``make weights`` (tools/train_weights.py).
    """
    path = Path(path)
    try:
        info_text = json.dumps(info or {}, sort_keys=True)
    except TypeError as error:
        raise TypeError(f"The parameter `info` must hold only JSON values (numbers, strings, lists, dicts): {error}") \
            from None
    arrays = {f"p{k:03d}": parameter.value for k, parameter in enumerate(model.parameters())}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, architecture=np.array(repr(model)), info=np.array(info_text), **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)   # mkstemp's file is private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load_parameters(model, path):
    """Copy the parameters saved in `path` into `model`, which must be built like the saved one.

    Parameters
    ----------
    model : Layer
        A model of the saved architecture (same ``repr``, same parameter shapes).
    path : str or Path
        A file :func:`save_parameters` wrote.

    Returns
    -------
    dict
        The ``info`` saved with the weights.

    Raises
    ------
    FileNotFoundError
        No file at `path`.
    ValueError
        The file is not one of these, or holds another architecture or other shapes.

    Used in: :func:`coursekit.pixel_classifier.pretrained`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No saved parameters at {path}")
    try:
        with np.load(path, allow_pickle=False) as saved:
            contents = {name: saved[name] for name in saved.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a file of saved parameters (.npz): {error}") from None
    names = sorted(name for name in contents if name.startswith("p"))
    if "architecture" not in contents or "info" not in contents:
        raise ValueError(f"{path} is not a file save_parameters wrote: it has no architecture or info")
    saved_architecture = str(contents["architecture"])
    if saved_architecture != repr(model):
        raise ValueError(f"{path} holds the parameters of {saved_architecture}, not of {model!r}")
    parameters = model.parameters()
    if len(names) != len(parameters):
        raise ValueError(f"{path} holds {len(names)} parameters; {model!r} has {len(parameters)}")
    for name, parameter in zip(names, parameters):
        if contents[name].shape != parameter.value.shape:
            raise ValueError(f"{path}: parameter {name} has shape {contents[name].shape}; the model's has "
                             f"{parameter.value.shape}")
    for name, parameter in zip(names, parameters):   # only once every shape is known to fit
        parameter.value[...] = contents[name]
    return json.loads(str(contents["info"]))
