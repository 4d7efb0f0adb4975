"""The built book, in a real browser: headless Chromium opens every page, offline.

The site is served on 127.0.0.1; any request elsewhere is refused and reported,
so a page that needs the internet (a CDN script, a web font) fails here. On each
page: it loads; every image has loaded; the book's own scripts log no error;
math has been typeset by the local MathJax; notebook pages carry their Colab
link. A full-page screenshot of each goes to _build/screenshots/.
"""

import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import publish  # noqa: E402

SCREENSHOTS = ROOT / "_build" / "screenshots"
pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def site(built_book):
    html, _ = built_book
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a tab closed mid-transfer; what the browser saw is checked on its side


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--disable-dev-shm-usage"])
        yield browser
        browser.close()


def pages(html):
    """Every HTML page of the site but index.html, which only redirects."""
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if p.name != "index.html" and "_static" not in p.parts and "notebooks" not in p.parts)


def visit(browser, base, page):
    """Open one page; return what a reader would have seen go wrong, and the page's facts."""
    problems, external = [], []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")

    def route(route, request):
        if request.url.startswith(base):
            route.continue_()
        else:
            external.append(request.url)
            route.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    tab.on("requestfailed", lambda r: None if not r.url.startswith(base) else problems.append(f"failed: {r.url}"))
    # The book's own files must all be there (the browser's own favicon guess aside).
    tab.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
           if r.url.startswith(base) and r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    response = tab.goto(f"{base}/{page}", wait_until="load", timeout=30000)
    if response is None or not response.ok:
        problems.append(f"HTTP {response.status if response else 'no response'}")
    math = tab.locator(".math").count()
    if math:
        # MathJax typesets after the load event: wait for it, with a time limit.
        tab.wait_for_function(f"document.querySelectorAll('mjx-container').length >= {math}", timeout=20000)
    facts = tab.evaluate("""() => ({
        images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth,
                                                         complete: i.complete})),
        colab: Array.from(document.querySelectorAll('a.coursekit-colab-link')).map(a => a.href),
        typeset: document.querySelectorAll('mjx-container').length,
        mathErrors: document.querySelectorAll('mjx-merror').length,
    })""")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / (page.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
    context.close()
    facts["math"] = math
    for image in facts["images"]:
        if not image["complete"] or image["width"] == 0:
            problems.append(f"image not loaded: {image['src']}")
    if facts["mathErrors"]:
        problems.append(f"{facts['mathErrors']} formulas failed to typeset")
    problems += [f"request outside the site: {url}" for url in external]
    return problems, facts


def test_the_site_has_the_book_s_pages(site):
    html, _ = site
    found = pages(html)
    assert {"book/intro.html", "book/convolution.html", "book/encoder_decoder.html",
            "exercises/01_convolution.html", "book/bibliography.html"} <= set(found), found


def test_every_page_works_offline_in_chromium(site, browser):
    html, base = site
    notebooks = {docname: publish.published_path(docname) for docname, _ in publish.notebook_pages(ROOT)}
    report, failures = [], []
    for page in pages(html):
        problems, facts = visit(browser, base, page)
        docname = page.removesuffix(".html")
        if docname in notebooks:
            if len(facts["colab"]) != 1 or "colab.research.google.com/github/" not in facts["colab"][0]:
                problems.append(f"no Open in Colab link (found {facts['colab']})")
            elif not facts["colab"][0].endswith(f"/{notebooks[docname]}"):
                problems.append(f"the Colab link {facts['colab'][0]} does not open {notebooks[docname]}")
        report.append(f"{page}: {len(facts['images'])} images, {facts['typeset']}/{facts['math']} formulas, "
                      f"colab={bool(facts['colab'])}")
        failures += [f"{page}: {p}" for p in problems]
    print("\n".join(report))
    assert not failures, "\n".join(failures)
    assert sum(1 for line in report if "colab=True" in line) >= 12


def test_the_redirect_page_leads_to_the_introduction(site, browser):
    _, base = site
    tab = browser.new_page()
    tab.goto(f"{base}/index.html")
    tab.wait_for_url("**/book/intro.html", timeout=10000)
    assert "Convolutional neural networks" in tab.title()
    tab.close()
