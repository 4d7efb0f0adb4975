"""Print which radar data a build of the book would execute its chapters on.

``make html`` keeps this line in ``_build/.radar-source`` and starts from an empty
execution cache and Sphinx environment when it changes: the cache keys on code, not
on data, so without it pages computed on one source would be served for another.

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


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # the chapters report a fallback themselves
    print(identity())
    sys.exit(0)
