"""Downloading data files safely: a cache, atomic writes, timeouts, clear errors,
and a pickle loader that cannot run code.

The SVRIMG example data are Python pickles served over the network. A pickle can
name any importable callable and call it while loading, so a tampered or spoofed
file could run arbitrary code. :func:`load_pickle_safely` accepts only the few
NumPy reconstructors that plain arrays need; everything else is refused before it
is imported, let alone called.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path

import numpy as np

CACHE_ENV = "COURSEKIT_DATA_DIR"
TIMEOUT = (10, 60)  # seconds to connect, seconds between received bytes

# (module, name) pairs a pickle of NumPy arrays, tuples and lists may refer to.
# NumPy 2 moved numpy.core to numpy._core; pickles written by NumPy 1 use the old names.
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = np.ndarray.__reduce__(np.zeros(1))[0]
    _ALLOWED[(_module, "scalar")] = np.float64(0).__reduce__()[0]
try:
    from numpy._core.numeric import _frombuffer
except ImportError:  # NumPy 1
    from numpy.core.numeric import _frombuffer
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_module, "_frombuffer")] = _frombuffer  # protocol 5 pickles of arrays


class DownloadError(OSError):
    """A file could not be downloaded; the message names the URL and the cache path."""

    def __init__(self, url, path, reason):
        super().__init__(f"could not download {url} to {path}: {reason}")
        self.url, self.path, self.reason = url, path, reason


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for something other than NumPy arrays, tuples and lists."""


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: only NumPy arrays, dtypes, tuples and lists are allowed"
            ) from None


def load_pickle_safely(path):
    """Unpickle `path`, allowing only NumPy arrays, dtypes, tuples, lists and plain values."""
    data = Path(path).read_bytes()
    try:
        return _ArraysOnlyUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError as error:
        raise UnsafePickleError(f"{path}: {error}") from None


def cache_dir():
    """Where downloads are kept: $COURSEKIT_DATA_DIR, else the user's cache folder."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import pooch

    return Path(pooch.os_cache("coursekit"))


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url, folder, fname, progressbar=True, timeout=TIMEOUT):
    """Download `url` to `folder/fname` unless it is there already; return the path.

    pooch writes to a temporary file and renames it only when the transfer is
    complete, so an interrupted download never leaves a file under `fname`.
    """
    import pooch
    import requests

    folder = Path(folder)
    target = folder / fname
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)
    try:
        pooch.retrieve(url, known_hash=None, fname=fname, path=folder, downloader=downloader)
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise DownloadError(url, target, f"the server answered HTTP {status}") from error
    except (requests.ConnectionError, requests.Timeout) as error:
        reason = "timed out" if isinstance(error, requests.Timeout) else "no connection"
        raise DownloadError(url, target, f"{reason} ({type(error).__name__}); check the network, "
                                         "or use the offline synthetic data") from error
    except requests.RequestException as error:  # for example a transfer cut off midway
        raise DownloadError(url, target, str(error)) from error
    return target
