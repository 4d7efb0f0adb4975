"""Keep NumPy's temporaries of a few megabytes on the heap, so that they are not
faulted in afresh on every call (glibc only; elsewhere nothing changes).

A convolution or a layer's backward pass allocates and frees arrays of 0.1-30 MB
on every call (the unfolded windows, for one). glibc serves blocks above its
"mmap threshold" (128 kB at start) straight from the kernel and returns them on
``free``; it raises the threshold only after it has freed such a block, and it
trims the top of the heap back to the kernel whenever more than twice the
threshold lies free there. So, depending on what the process did before, every
call can get its temporaries as fresh pages, each of which the kernel must zero
on first touch: ``conv2d`` on 8 maps of 81 x 81 with 3 x 3 kernels then took
4.3 ms and 915 page faults a call instead of 0.4 ms and none. Importing torch
happens to leave glibc in the good state, so benchmarks against torch never
showed it; a student's notebook, which does not import torch, did.

Fixing both thresholds keeps such blocks on the heap and reuses them, as an
allocator that caches memory would. The cost is that up to
:data:`TRIM_THRESHOLD` bytes of freed heap stay with the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

#: Blocks up to this size come from the heap (glibc's largest allowed value on 64-bit).
MMAP_THRESHOLD = 32 << 20
#: Free memory at the top of the heap is returned to the kernel only beyond this size.
TRIM_THRESHOLD = 128 << 20

# mallopt's parameter numbers, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_temporaries_on_heap() -> bool:
    """Set glibc's mmap and trim thresholds; return whether both were set.

    Returns False, changing nothing, where the C library is not glibc (macOS,
    Windows, musl) or refuses a value.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
