"""Building the book from the tests: the same `make html` that `make book` runs."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_html(book_dir, radar_env=None):
    """Build `book_dir`. By default chapters use the synthetic radar set, so the build
    never touches the network; `radar_env` replaces that (a local SVRIMG server, say)."""
    env = {**os.environ, **(radar_env or {"COURSEKIT_RADAR_SOURCE": "synthetic"})}
    env.pop("MPLBACKEND", None)  # figures must render inline in the kernel
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "html", f"BOOK={book_dir}"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
