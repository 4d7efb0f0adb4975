"""Writing the grader's output files (grades, cached results, feedback pages, released notebooks).

A module of its own, imported by the modules that write, so that none of them has
to import another for it (``grade`` and ``feedback`` used to import each other).
"""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path, text):
    """Write a file so that readers see the old content or the new, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
