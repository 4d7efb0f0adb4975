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


def interleaved(candidate, reference, pairs=7, warmup=1, calls=1):
    """Time `candidate` and `reference` alternately; return a dict of the results.

    Each side of a pair is a block of `calls` consecutive calls. For a function that
    takes a fraction of a millisecond, single calls alternating with another
    library's measure how much each evicts the other's data and code from the
    caches: in one run, a convolution on LeNet's second layer took 215 us a call
    after itself and 275 us after torch's, and torch's 219 and 261 us. A block
    pays that once rather than at every call.

    Returns ``{"ratio": median of candidate/reference over the pairs, "pairs": n,
    "calls": calls per block, "candidate": median seconds per call, "reference":
    median seconds per call}``. A ratio below 1 means the candidate is faster.
    """
    if pairs < 1:
        raise ValueError(f"The parameter `pairs` must be at least 1; got {pairs}")
    if calls < 1:
        raise ValueError(f"The parameter `calls` must be at least 1; got {calls}")
    if calls > 1:
        candidate, reference = _repeated(candidate, calls), _repeated(reference, calls)
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
        ours.append(a / calls)
        theirs.append(b / calls)
        ratios.append(a / b)
    return {"ratio": statistics.median(ratios), "pairs": pairs, "calls": calls,
            "candidate": statistics.median(ours), "reference": statistics.median(theirs)}


#: Calls per block for the book's layer shapes, each a fraction of a millisecond.
LAYER_CALLS = 10


def versus_torch(candidate, reference, layer):
    """Time a call against torch's; return the result of :func:`interleaved` and a note.

    A whole batch (`layer` false: over 10 ms a call) is timed call by call in
    15 pairs. A layer-sized call is timed in 41 pairs of blocks of :data:`LAYER_CALLS`
    calls, and also call by call: the block ratio is the figure, and the note keeps
    the single-call ratio, which includes the cost of the caches the other library's
    call emptied (see :func:`interleaved`).
    """
    if not layer:
        result = interleaved(candidate, reference, pairs=15)
        return result, pairs_note(result)
    block = interleaved(candidate, reference, pairs=41, calls=LAYER_CALLS)
    single = interleaved(candidate, reference, pairs=41)
    return block, f"{pairs_note(block)}; single calls {single['ratio']:.2f}"


def _repeated(function, calls):
    def block():
        for _ in range(calls):
            function()
    return block


def pairs_note(result, unit="ms", scale=1e3):
    """A short note for a figure: how many pairs (of how many calls), and the median time a call of each side."""
    blocks = f" of {result['calls']}-call blocks" if result.get("calls", 1) > 1 else ""
    return (f"median of {result['pairs']} interleaved pairs{blocks}; {result['candidate'] * scale:.2f} vs "
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
