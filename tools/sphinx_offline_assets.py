"""Sphinx extension: a book that reads offline, math included.

- MathJax 3 is served from the site itself: the es5 build and its licence come
  from the `django-static-mathjax` wheel (Apache-2.0; Django is not needed to
  import it) and are copied to `_static/mathjax/` after the build.
- The theme's colour mode starts empty on a reader's first visit, which its
  script reports as a console error; it starts at "auto" (follow the system).
- sphinx-thebe registers its inline `THEBE_JS_URL` script once per page event,
  so pages declared the same constant twice, a console error on every page;
  identical inline scripts are kept once.

Widgets need no script from a CDN either: _config.yml turns myst-nb's ipywidgets
loader off (`nb_ipywidgets_js`), and every explorer has a static figure. Without
the loader, the widgets' state that myst-nb still writes into a page (each
explorer's sliders and last figure, 170 kB of the quantization chapter's 250) is
read by nothing, and is left out.
"""

from __future__ import annotations

from pathlib import Path

import mathjax
from sphinx.util.fileutil import copy_asset, copy_asset_file

MATHJAX = Path(mathjax.__file__).resolve().parent / "static" / "mathjax"
ENTRY = "mathjax/tex-chtml.js"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _use_local_mathjax(app, config):
    if not (MATHJAX / "es5" / "tex-chtml.js").is_file():
        raise FileNotFoundError(f"MathJax is missing from {MATHJAX / 'es5'}: reinstall django-static-mathjax")
    config.mathjax_path = ENTRY  # relative to _static/


def _copy_mathjax(app, error):
    if error is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        copy_asset(str(MATHJAX / "es5"), str(target))
        copy_asset_file(str(MATHJAX / "LICENSE"), str(target))


def _tidy_page(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        if attributes.get("type") == WIDGET_STATE and not app.config.nb_ipywidgets_js:
            continue
        body = attributes.get("body")
        if body:
            if body in seen:
                continue
            seen.add(body)
        scripts.append(script)
    if "script_files" in context:
        context["script_files"][:] = scripts


def setup(app):
    app.connect("config-inited", _use_local_mathjax)
    app.connect("html-page-context", _tidy_page, priority=900)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
