"""coursekit: the tested helpers behind the book "Convolutional neural networks
for images and weather radar".

One module per concept; each chapter imports the ones it needs::

    from coursekit import conv, data, plotting

Submodules load on first use, so that ``python -m coursekit`` can configure the
process (thread counts, plotting backend) before NumPy or Matplotlib start.
Importing the package does one thing to the process: it asks glibc to keep
freed blocks of up to 32 MB on the heap (see :mod:`coursekit._memory` for why).
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

from ._memory import keep_temporaries_on_heap

try:
    __version__ = version("coursekit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

keep_temporaries_on_heap()

_SUBMODULES = ("book", "conv", "data", "echo", "encoder_decoder", "grading", "lenet", "metrics", "nn", "pixel_classifier",
               "plotting", "pooling", "quantize", "synthetic", "testing", "widgets")
__all__ = [*_SUBMODULES, "__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
