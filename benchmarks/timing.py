"""Timing shared by the benchmark modules: ratios from interleaved pairs.

On a shared, noisy machine two separately timed bests can differ several-fold
(a LeNet epoch against torch swung from 0.95 to 3.7). Timing the candidate and
the reference alternately (A, B, A, B, ...) exposes both to the same background
load; the ratio of each pair is taken and the median of the ratios is reported,
with the number of pairs.
"""

from __future__ import annotations

import contextlib
import statistics
import time


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def interleaved(candidate, reference, pairs=7, warmup=1):
    """Time `candidate` and `reference` alternately; return a dict of the results.

    Returns ``{"ratio": median of candidate/reference over the pairs, "pairs": n,
    "candidate": median seconds, "reference": median seconds}``. A ratio below 1
    means the candidate is faster.
    """
    if pairs < 1:
        raise ValueError(f"The parameter `pairs` must be at least 1; got {pairs}")
    for _ in range(warmup):
        candidate()
        reference()
    ratios, ours, theirs = [], [], []
    for number in range(pairs):
        # Alternate which side goes first, so that neither always follows the other.
        if number % 2 == 0:
            a = _seconds(candidate)
            b = _seconds(reference)
        else:
            b = _seconds(reference)
            a = _seconds(candidate)
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return {"ratio": statistics.median(ratios), "pairs": pairs,
            "candidate": statistics.median(ours), "reference": statistics.median(theirs)}


def pairs_note(result, unit="ms", scale=1e3):
    """A short note for a figure: how many pairs, and the median times of each side."""
    return (f"median of {result['pairs']} interleaved pairs; {result['candidate'] * scale:.2f} vs "
            f"{result['reference'] * scale:.2f} {unit}")


def numpy_epoch(model, loss, optimizer, x, y, batch_size):
    """One pass of mini-batch training of a coursekit.nn model, as a callable to time.

    The same steps as :func:`coursekit.nn.fit` without its shuffling and bookkeeping,
    so that the comparison with a bare torch loop is like for like; like ``fit``,
    it runs NumPy's products on one BLAS thread.
    """
    from coursekit.nn.fit import _one_blas_thread

    def epoch():
        with _one_blas_thread():
            for start in range(0, len(x), batch_size):
                loss.forward(model(x[start:start + batch_size]), y[start:start + batch_size])
                model.backward(loss.backward())
                optimizer.step()

    return epoch


@contextlib.contextmanager
def one_thread(torch):
    """Run NumPy's BLAS and `torch` on one thread each, restoring both afterwards.

    For the book's small layer shapes (a fraction of a millisecond a call) on a
    2-core machine, interleaving two libraries whose idle worker threads spin
    measures how much each pool slows the other, not either library: torch's
    time for one call swung from 0.2 to 3 ms that way. One thread each compares
    the two computations like for like.
    """
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)
