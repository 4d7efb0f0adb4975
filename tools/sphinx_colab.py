"""Sphinx extension: an "Open in Colab" link and a download link on every notebook page.

Jupyter Book 1's own Colab button only works for .ipynb sources, and would open
the repository's default branch. This one points at the notebooks that
tools/publish.py pins to the book's commit and publishes with the site. The
repository comes from _config.yml's `repository.url` (which Jupyter Book passes
to the theme as `repository_url`).
"""

from __future__ import annotations

import posixpath
import sys
from pathlib import Path

from markupsafe import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
import publish  # noqa: E402


def _links(app, pagename, templatename, context, doctree):
    if pagename not in app.coursekit_notebooks or "body" not in context:
        return
    path = publish.published_path(pagename)
    _, owner, name = publish.repository(app.srcdir)
    colab = publish.colab_url(owner, name, path)
    download = posixpath.relpath(path, posixpath.dirname(pagename) or ".")
    context["body"] = (
        '<p class="coursekit-colab">'
        f'<a class="reference external coursekit-colab-link" href="{escape(colab)}">Open in Colab</a>'
        f' · <a class="reference internal" href="{escape(download)}" download>Download the notebook</a>'
        "</p>\n" + context["body"]
    )


def _find_notebooks(app):
    app.coursekit_notebooks = {docname for docname, _ in publish.notebook_pages(app.srcdir)}
    publish.repository(app.srcdir)  # a missing or malformed repository.url stops the build here


def setup(app):
    app.connect("builder-inited", _find_notebooks)
    app.connect("html-page-context", _links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
