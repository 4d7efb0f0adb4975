"""Print which radar data a build of the book would execute its chapters on.

``make html`` keeps this line in ``_build/.radar-source`` and starts from an empty
execution cache and Sphinx environment when it changes: the cache keys on code, not
on data, so without it pages computed on one source would be served for another.

The line also carries a digest of the ``coursekit`` package (:func:`package_digest`),
whose outputs the cache does not key on either.

The line names the source that ``coursekit.data.load_radar`` resolves to, as the
chapters see it (``$COURSEKIT_RADAR_SOURCE``, ``$COURSEKIT_SVRIMG_URL``,
``$COURSEKIT_DATA_DIR``): ``synthetic``, or ``svrimg`` with the server and a digest
of the splits the chapters load. The splits are fetched into the cache first, as the
chapters would fetch them; offline, ``auto`` resolves to ``synthetic (fallback)``.
"""

import hashlib
import logging
import os
import sys

from coursekit import data

SPLITS = ("training", "testing")  # what the chapters load


def identity():
    source = os.environ.get(data.SOURCE_ENV, "auto")
    if source == "synthetic":
        return "synthetic"
    url = os.environ.get(data.URL_ENV) or data.SVRIMG_URL
    digest = hashlib.sha256()
    try:
        for split in SPLITS:
            x, y = data.get_example_data(split, url=url, progressbar=False)
            digest.update(x.tobytes())
            digest.update(y.tobytes())
    except Exception as error:  # anything that stops the download stops the chapters' too
        if source == "svrimg":
            return f"svrimg {url} unavailable ({type(error).__name__})"
        return "synthetic (fallback)"
    return f"svrimg {url} {digest.hexdigest()[:16]}"


def package_digest(root=None):
    """A digest of every file of the ``coursekit`` package (code, shipped storms and weights).

    The execution cache keys on a chapter's own code: a page whose cells did not change
    would keep outputs computed by an older ``coursekit``, and a change to the package
    that breaks a chapter would pass a local ``make test``. The stamp carries this digest
    too, so that any change to the package starts the build from an empty cache. It is
    the grader's fingerprint of the package, which its stored results key on likewise.
    """
    from pathlib import Path

    import coursekit
    from coursekit.grading.cache import package_fingerprint

    return package_fingerprint(root or Path(coursekit.__file__).parent)[:16]


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # the chapters report a fallback themselves
    print(f"{identity()}; coursekit {package_digest()}")
    sys.exit(0)
