"""Notebooks for Colab, pinned to the book's own version: `make notebooks`.

Every chapter of _toc.yml (MyST Markdown) becomes `_build/notebooks/<name>.ipynb`;
every exercise becomes `_build/notebooks/exercises/<name>.ipynb`. In each, the
Colab install cell is replaced by one that installs coursekit from the repository
named in _config.yml (`repository.url`) at the commit the book was built from,
never a moving branch. With $COURSEKIT_INSTALL_SOURCE set (a path or a pip URL),
the cell installs from there instead, which is how the tests run a notebook
against the local checkout. The Sphinx extension tools/sphinx_colab.py links each
page to its notebook's published copy with the same functions.

    python tools/publish.py [--book .] [--out _build/notebooks] [--site _build/html]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTALL_ENV = "COURSEKIT_INSTALL_SOURCE"
REF_ENV = "COURSEKIT_BOOK_REF"
# Where the publishing workflow puts the built site; Colab opens notebooks from there.
PAGES_BRANCH = "gh-pages"
NOTEBOOKS = "notebooks"
# The Colab set-up block that chapters and exercises carry in their sources (it installs
# from the repository's default branch); `make notebooks` swaps it for the pinned one.
_INSTALL_BLOCK = re.compile(
    r"(?:#[^\n]*\n)*import sys\n\nif \"google\.colab\" in sys\.modules:\n"
    r"    %pip install --quiet \"coursekit @ git\+(?P<url>[^\"]+)\"")


def repository(book=ROOT):
    """(url, owner, name) from the one `repository.url` setting of the book's _config.yml."""
    config = yaml.safe_load((Path(book) / "_config.yml").read_text())
    url = ((config or {}).get("repository") or {}).get("url", "")
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url)
    if not match:
        raise ValueError(f"{Path(book) / '_config.yml'}: repository.url must be https://github.com/OWNER/NAME; "
                         f"got {url!r}")
    return f"https://github.com/{match[1]}/{match[2]}", match[1], match[2]


def book_ref(book=ROOT):
    """The commit the book is built from ($COURSEKIT_BOOK_REF overrides, e.g. a release tag)."""
    if os.environ.get(REF_ENV):
        return os.environ[REF_ENV]
    try:
        return subprocess.run(["git", "-C", str(book), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError(f"Cannot tell which commit {book} is (git rev-parse HEAD failed: {error}); "
                           f"set ${REF_ENV} to the tag or commit the notebooks should install") from error


def install_cell_source(url, ref):
    """The first code cell of every published notebook."""
    return f'''# Install coursekit, the course's helpers, at the version this notebook belongs to.
# Colab already has NumPy, SciPy and Matplotlib: pip keeps the versions it finds.
import os
import sys

COURSEKIT_SOURCE = os.environ.get("{INSTALL_ENV}", "git+{url}@{ref}")
if "google.colab" in sys.modules or "{INSTALL_ENV}" in os.environ:
    %pip install --quiet "{{COURSEKIT_SOURCE}}"'''


def colab_url(owner, name, path):
    """Colab's address for a notebook published at `path` of the site (the Pages branch)."""
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{PAGES_BRANCH}/{path}"


def published_path(docname):
    """Where, inside the site, the notebook of a page lives; None for pages without one."""
    if docname.startswith("exercises/"):
        return f"{NOTEBOOKS}/{docname}.ipynb"
    if docname.startswith("book/"):
        return f"{NOTEBOOKS}/{docname.split('/', 1)[1]}.ipynb"
    return None


def notebook_pages(book=ROOT):
    """(docname, source path) of every toc page that is a notebook (has code cells)."""
    toc = yaml.safe_load((Path(book) / "_toc.yml").read_text())
    entries = [toc["root"]]
    for item in toc.get("chapters", []) + [c for part in toc.get("parts", []) for c in part["chapters"]]:
        entries.append(item["file"])
    pages = []
    for docname in entries:
        for suffix in (".md", ".ipynb"):
            path = Path(book) / f"{docname}{suffix}"
            if path.is_file() and published_path(docname) and _has_code(path):
                pages.append((docname, path))
    return pages


def _has_code(path):
    return "{code-cell}" in path.read_text() if path.suffix == ".md" else any(
        c["cell_type"] == "code" for c in json.loads(path.read_text())["cells"])


def pin_notebook(notebook, cell_source, origin):
    """Swap the notebook's Colab set-up block (in its first code cell that has one) for `cell_source`."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and _INSTALL_BLOCK.search(cell.source):
            cell.source = _INSTALL_BLOCK.sub(lambda _: cell_source, cell.source, count=1)
            cell.outputs, cell.execution_count = [], None
            tags = cell.metadata.get("tags", [])
            if "remove-cell" in tags:
                cell.metadata["tags"] = [t for t in tags if t != "remove-cell"]
            return notebook
    raise ValueError(f"{origin} has no Colab set-up block (`if \"google.colab\" in sys.modules:` then "
                     f"`%pip install --quiet \"coursekit @ git+URL\"`)")


def source_install_urls(book=ROOT):
    """{source file: repository URL its Colab set-up block installs from}, for every notebook page and solution."""
    files = [path for _, path in notebook_pages(book)] + sorted((Path(book) / "solutions").glob("*.ipynb"))
    urls = {}
    for path in files:
        match = _INSTALL_BLOCK.search(path.read_text() if path.suffix == ".md" else "\n".join(
            "".join(c["source"]) for c in json.loads(path.read_text())["cells"]))
        urls[path] = match["url"] if match else None
    return urls


def make_notebooks(book=ROOT, out=None, site=None):
    """Write the pinned notebooks; copy them into the built site when `site` is given. Returns the paths."""
    book = Path(book)
    out = Path(out) if out else book / "_build" / NOTEBOOKS
    pages = notebook_pages(book)
    if not pages:
        return []
    url, _, _ = repository(book)
    cell = install_cell_source(url, book_ref(book))
    shutil.rmtree(out, ignore_errors=True)  # no notebook of a page that no longer exists
    written = []
    for docname, source in pages:
        notebook = jupytext.read(source) if source.suffix == ".md" else nbformat.read(source, as_version=4)
        notebook.metadata.pop("jupytext", None)
        pin_notebook(notebook, cell, source)
        target = out / Path(published_path(docname)).relative_to(NOTEBOOKS)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".ipynb.partial")
        nbformat.write(notebook, partial)
        partial.replace(target)
        written.append(target)
    if site and Path(site).is_dir():
        destination = Path(site) / NOTEBOOKS
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(out, destination)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", default=str(ROOT), help="the book's root (holds _config.yml and _toc.yml)")
    parser.add_argument("--out", help="where to write the notebooks (default: BOOK/_build/notebooks)")
    parser.add_argument("--site", help="a built HTML site to copy them into, as SITE/notebooks")
    args = parser.parse_args(argv)
    try:
        written = make_notebooks(args.book, args.out, args.site)
    except (ValueError, RuntimeError) as error:
        print(f"make notebooks: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} notebooks" + (f" (also into {args.site}/{NOTEBOOKS})" if args.site else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
