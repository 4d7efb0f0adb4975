"""The one training loop, :func:`fit`, and batched prediction, :func:`predict`.

Every model of the course trains here: LeNet on digits, the encoder–decoder on
radar images. A model is a :class:`~coursekit.nn.Layer` (``forward``,
``backward``, ``parameters``); a loss has ``forward(prediction, target)`` and
``backward()``.

Used in: LeNet; Encoder–decoder.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from .._validation import as_array, as_generator, as_int, as_number, same_length
from .optim import Adam

__all__ = ["cosine", "fit", "predict"]


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finds NumPy's BLAS once: about 4 ms, where a limit costs 20 us


def _one_blas_thread():
    """A context in which NumPy's matrix products run on one thread.

    The course's layers multiply small matrices (6 to 32 filters, batches of 8 to
    32 images). On an idle 2-core machine a second BLAS thread changes an epoch by
    less than 10% either way (LeNet, the encoder-decoder and the U-Net: two threads
    take 1.09, 0.91 and 0.94 times as long as one). With the other core busy, that
    thread waits for it at every product: epochs took 2.5 to 3.2 times as long, and
    a chapter's training cell in a Jupyter kernel more than ten times as long.
    :func:`fit` and :func:`predict` run in this context; the previous limits come
    back afterwards.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def cosine(epoch, epochs):
    """Step-size factor of a half-cosine schedule: 1 at the first epoch, decaying toward 0.

    Parameters
    ----------
    epoch : int
        Counted from 0.
    epochs : int
        Length of the run.

    Returns
    -------
    float
        ``(1 + cos(pi * epoch / epochs)) / 2``.

    Examples
    --------
    >>> [round(cosine(e, 4), 3) for e in range(4)]
    [1.0, 0.854, 0.5, 0.146]

    Used in: LeNet; Encoder–decoder.
    """
    return float(0.5 * (1 + np.cos(np.pi * epoch / epochs)))


_SCHEDULES = {"cosine": cosine}


def predict(model, x, batch_size=64):
    """Run `model` on `x` a batch at a time and stack the outputs.

    Parameters
    ----------
    model : callable
        A :class:`~coursekit.nn.Layer` or anything mapping a batch to outputs.
    x : (N, ...) array_like
    batch_size : int, optional
        Examples per forward pass: bounds the memory of the activations. Larger
        batches are not faster: LeNet on 1,437 digits took 180 ms in batches of 64
        and 247 ms in batches of 500, whose unfolded windows no longer fit in cache.

    Returns
    -------
    (N, ...) ndarray
        The outputs of all batches, in order.

    Examples
    --------
    >>> from coursekit.nn import Dense
    >>> predict(Dense(3, 2, rng=0), np.ones((5, 3)), batch_size=2).shape
    (5, 2)

    Used in: LeNet; Encoder–decoder.
    """
    x = np.asarray(x)
    batch_size = as_int(batch_size, "batch_size", 1)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"The parameter `x` must hold at least one example; got shape {x.shape}")
    with _one_blas_thread():
        return np.concatenate([model(x[start:start + batch_size]) for start in range(0, len(x), batch_size)])


def fit(model, loss, x, y=None, epochs=1, batch_size=32, optimizer=None, lr=None, schedule=None, augment=None,
        evaluate=None, progress=False, log=None, seed=0):
    """Train `model` by mini-batch gradient descent; return the history of each epoch.

    Each epoch shuffles the examples; for each mini-batch it augments the inputs
    (if asked), runs the model forward, the loss forward and backward, the model
    backward, and one optimizer step.

    Parameters
    ----------
    model : Layer
        Has ``forward`` (or ``__call__``), ``backward`` and ``parameters()``.
    loss : loss object
        ``forward(prediction, target)`` and ``backward()``, such as
        :class:`~coursekit.nn.SoftmaxCrossEntropy`.
    x : (N, ...) array_like
        Training inputs, as the model takes them.
    y : (N, ...) array_like, optional
        Targets, one per input. None trains an autoencoder: the target is the
        (augmented) input itself.
    epochs, batch_size : int, optional
    optimizer : optimizer, optional
        Built on ``model.parameters()``; by default ``Adam(model.parameters(), lr=lr)``.
    lr : float, optional
        Adam's step size when `optimizer` is not given (1e-3 by default).
    schedule : {None, 'cosine'} or callable(epoch, epochs) -> float, optional
        Multiplies the initial step size at each epoch; ``'cosine'`` is :func:`cosine`.
    augment : callable(batch, rng) -> batch, optional
        Makes new training inputs from each mini-batch (random flips, crops,
        rotations). Targets given in `y` are left as they are.
    evaluate : callable(model) -> dict of float, optional
        Called after each epoch; its values are appended to the history under their keys.
    progress : bool, optional
        Show a progress bar over the epochs (tqdm).
    log : callable(str), optional
        Called with one line per epoch (``print`` to watch).
    seed : int or numpy.random.Generator, optional
        Order of the mini-batches and the augmentation.

    Returns
    -------
    dict of lists, one entry per epoch
        ``loss`` (mean training loss over the epoch's mini-batches), ``lr`` (step
        size), ``seconds`` (training time, evaluation excluded), and every key
        that `evaluate` returns.

    Notes
    -----
    NumPy's matrix products run on one BLAS thread meanwhile, as in :func:`predict`
    (``_one_blas_thread`` says why); the limits come back when training ends.

    Examples
    --------
    >>> from coursekit.nn import Dense, MeanSquaredError
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 3)); y = x @ np.array([[1.0], [-2.0], [0.5]])
    >>> history = fit(Dense(3, 1, rng=0), MeanSquaredError(), x, y, epochs=20, batch_size=8, lr=0.05)
    >>> len(history["loss"]), history["loss"][-1] < 0.01 * history["loss"][0]
    (20, True)

    Used in: LeNet; Encoder–decoder.
    """
    x = as_array(x, "x", (2, 3, 4))
    if len(x) == 0:
        raise ValueError(f"The parameter `x` must hold at least one example; got shape {x.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0:
            raise ValueError(f"The parameter `y` must hold one target per example; got {y!r}")
        same_length(y, "y", x, "x")
    epochs, batch_size = as_int(epochs, "epochs", 1), as_int(batch_size, "batch_size", 1)
    if optimizer is None:
        optimizer = Adam(model.parameters(), lr=1e-3 if lr is None else lr)
    elif lr is not None:
        raise ValueError("Give the step size `lr` to the `optimizer` itself, or pass no optimizer")
    schedule = _schedule(schedule)
    if augment is not None and not callable(augment):
        raise TypeError(f"The parameter `augment` must be a function (batch, rng) -> batch; got {augment!r}")
    rng = as_generator(seed, "seed")
    initial_lr = optimizer.lr
    history = {"loss": [], "lr": [], "seconds": []}
    with _one_blas_thread():
        for epoch in _epochs(epochs, progress):
            start = time.perf_counter()
            optimizer.lr = initial_lr if schedule is None else initial_lr * schedule(epoch, epochs)
            order, total = rng.permutation(len(x)), 0.0
            for first in range(0, len(order), batch_size):
                chosen = order[first:first + batch_size]
                inputs = x[chosen] if augment is None else augment(x[chosen], rng)
                target = inputs if y is None else y[chosen]
                total += float(loss.forward(model(inputs), target)) * len(chosen)
                model.backward(loss.backward())
                optimizer.step()
            history["seconds"].append(time.perf_counter() - start)
            history["loss"].append(total / len(x))
            history["lr"].append(optimizer.lr)
            scores = {} if evaluate is None else _scores(evaluate(model))
            for key, value in scores.items():
                history.setdefault(key, []).append(value)
            if log is not None:
                log(f"epoch {epoch + 1:>2}: loss {history['loss'][-1]:.4f}"
                    + "".join(f" | {key} {value:.3f}" for key, value in scores.items()))
    return history


def _scores(result):
    """What `evaluate` returned, checked: a dict of names to numbers."""
    if not isinstance(result, dict):
        raise TypeError(f"The function `evaluate` must return a dict of scores, such as "
                        f"{{'test_accuracy': 0.93}}; it returned {type(result).__name__}")
    return {key: as_number(value, f"evaluate(model)[{key!r}]", finite=False) for key, value in result.items()}


def _schedule(schedule):
    if schedule is None or callable(schedule):
        return schedule
    if schedule in _SCHEDULES:
        return _SCHEDULES[schedule]
    raise ValueError(f"The parameter `schedule` must be None, {', '.join(map(repr, _SCHEDULES))} or a function "
                     f"(epoch, epochs) -> factor; got {schedule!r}")


def _epochs(epochs, progress):
    if not progress:
        return range(epochs)
    from tqdm.auto import tqdm

    return tqdm(range(epochs), desc="training", unit="epoch")
