"""coursekit: the tested helpers behind the book "Convolutional neural networks
for images and weather radar".

One module per concept; each chapter imports the ones it needs::

    from coursekit import conv, data, plotting
"""

from importlib.metadata import PackageNotFoundError, version

from . import conv, data, plotting

try:
    __version__ = version("coursekit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["conv", "data", "plotting", "__version__"]
