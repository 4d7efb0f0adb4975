"""Keep NumPy's temporaries of a few megabytes on the heap, so that they are not
faulted in afresh on every call (glibc only; elsewhere nothing changes).

A convolution or a layer's backward pass allocates and frees arrays of 0.1-30 MB
on every call (the unfolded windows, for one). glibc serves blocks above its
"mmap threshold" straight from the kernel and returns them on ``free``; it raises
that threshold only after it has freed such a block, and it gives the top of the
heap back to the kernel whenever more than its "trim threshold" lies free there.
So, depending on what the process did before, every call can get its temporaries
as fresh pages, each of which the kernel must zero on first touch: ``conv2d`` on
8 maps of 81 x 81 with 3 x 3 kernels then took 4.3 ms and 915 page faults a call
instead of 0.4 ms and none. Importing torch happens to leave glibc in the good
state, so benchmarks against torch never showed it; a student's notebook, which
does not import torch, did.

Fixing both thresholds keeps such blocks on the heap and reuses them, as an
allocator that caches memory would. The cost is memory the process keeps: at
least :data:`TRIM_THRESHOLD` bytes of freed heap, and more where a long-lived
small block sits above freed large ones. A user's own setting (glibc's
``MALLOC_*_THRESHOLD_`` variables or ``GLIBC_TUNABLES``) is left alone.
"""

from __future__ import annotations

import os
import platform

#: Blocks up to this size come from the heap (glibc's largest allowed value on 64-bit).
MMAP_THRESHOLD = 32 << 20
#: Free memory at the top of the heap is returned to the kernel only beyond this size.
TRIM_THRESHOLD = 128 << 20

# mallopt's parameter numbers, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_temporaries_on_heap() -> bool:
    """Set glibc's mmap and trim thresholds; return whether both were set.

    Returns False, changing nothing, where the C library is not glibc (macOS,
    Windows, musl), where the user has set malloc's thresholds, or where glibc
    refuses a value (32-bit builds).
    """
    if platform.libc_ver()[0] != "glibc" or any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        import ctypes

        # The process's own symbols include glibc's: no library search (find_library
        # would run ldconfig, 3 ms at every import).
        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
