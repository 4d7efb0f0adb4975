"""Timing helper shared by the benchmark modules."""

import time


def best_time(function, repeat=7, warmup=1):
    """Best wall time of `function()` in seconds over `repeat` runs: the least noisy estimate."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
