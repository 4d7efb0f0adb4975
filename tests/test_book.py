"""The book builds strictly, executes every chapter, and fails loudly when it should.

These tests run the same `make html` that `make book` runs, so the flags tested
here are the flags used to publish.
"""

import re
import shutil
from pathlib import Path

import pytest
import yaml
from bookbuild import make_html

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.book


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


def chapter_sources():
    """The chapters that are notebooks (every Markdown page with code cells)."""
    return [ROOT / f"{f}.md" for f in toc_files()
            if (ROOT / f"{f}.md").is_file() and "{code-cell}" in (ROOT / f"{f}.md").read_text()]


def test_every_exercise_is_a_page_of_the_book():
    assert sorted(f for f in toc_files() if f.startswith("exercises/")) == sorted(
        f"exercises/{p.stem}" for p in (ROOT / "exercises").glob("*.ipynb"))


def test_every_toc_page_is_rendered(built_book):
    html, _ = built_book
    for page in toc_files():
        assert (html / f"{page}.html").is_file(), page


def test_every_chapter_was_executed_without_errors(built_book):
    html, log = built_book
    for source in chapter_sources():
        page = (html / source.relative_to(ROOT)).with_suffix(".html").read_text()
        assert "cell_output" in page, f"{source.name} shows no outputs: was it executed?"
        assert "Traceback" not in page and 'class="output traceback' not in page, source.name


@pytest.mark.parametrize("source", chapter_sources(), ids=lambda p: p.name)
def test_chapters_render_their_figures(built_book, source):
    html, _ = built_book
    page = (html / source.relative_to(ROOT)).with_suffix(".html")
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page.read_text())
    assert len(images) >= 3, f"{source.name}: only {len(images)} figures"
    for src in images:
        assert (page.parent / src).resolve().is_file(), src
    missing = images_without_alt_text(page.read_text())
    assert not missing, f"{source.name}: figures without alt text (give their cells mystnb: image: alt:)\n" + \
        "\n".join(missing)


def test_explorer_pages_carry_no_widget_state_that_nothing_reads(built_book):
    """The book loads no ipywidgets script (`nb_ipywidgets_js` is empty in _config.yml): the
    widgets' state myst-nb writes into the page of a chapter with an explorer (its sliders and
    its last figure, 170 kB of the quantization chapter's 250) would be read by nothing."""
    html, _ = built_book
    pages = {source.name: (html / source.relative_to(ROOT)).with_suffix(".html").read_text()
             for source in chapter_sources()}
    explorers = [name for name, page in pages.items() if re.search(r"\b(conv|levels|offset)_explorer\b", page)]
    assert len(explorers) == 3, explorers  # the explorers' cells are still shown
    assert [name for name, page in pages.items() if "widget-state+json" in page] == []


def test_execution_cache_is_on_and_holds_every_chapter(built_book):
    from jupyter_cache import get_cache

    cache = get_cache(ROOT / "_build" / ".jupyter_cache")
    cached_uris = {Path(record.uri).resolve() for record in cache.list_cache_records()}
    for source in chapter_sources():
        assert source.resolve() in cached_uris, f"{source.name} is not in the execution cache"


def test_bibliography_lists_the_sources(built_book):
    html, _ = built_book
    page = (html / "book" / "bibliography.html").read_text()
    for needle in ("Gradient-based learning", "Mean storms", "GridRad"):
        assert needle in page


@pytest.mark.parametrize("source", chapter_sources(), ids=lambda p: p.name)
def test_chapter_is_a_myst_notebook_that_imports_coursekit(source):
    text = source.read_text()
    assert text.startswith("---\njupytext:"), "chapters start with a jupytext header"
    assert "format_name: myst" in text and "name: python3" in text
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S)
    first = cells[0]
    assert "remove-cell" in first and "google.colab" in first and "pip install" in first
    assert any(re.search(r"^from coursekit import|^import coursekit", c, flags=re.M) for c in cells)


def _throwaway_book(tmp_path, page_text):
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "tools", tmp_path / "tools")  # the book's own Sphinx extensions
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (tmp_path / "page.md").write_text(page_text)
    return tmp_path


NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def test_a_failing_cell_fails_the_build(tmp_path):
    book = _throwaway_book(
        tmp_path, NOTEBOOK_HEADER + "# Broken\n\n```{code-cell} ipython3\nraise RuntimeError('cell exploded')\n```\n"
    )
    result = make_html(book)
    assert result.returncode != 0
    assert "cell exploded" in result.stdout + result.stderr


def images_without_alt_text(page_html):
    """The <img> tags of a page whose alt text is missing, or is only the file name
    (myst-nb's default, which a screen reader reads out as a hash)."""
    missing = []
    for tag in re.findall(r"<img[^>]*>", page_html):
        alt = re.search(r'alt="([^"]*)"', tag)
        text = alt.group(1) if alt else ""
        if len(text) < 20 or text.endswith(".png") or "_images/" in text:
            missing.append(tag[:120])
    return missing


def test_figure_alt_text_comes_from_the_cell_metadata(tmp_path):
    """The mechanism every chapter uses: `mystnb: image: alt:` on the figure's cell."""
    cells = ("```{code-cell} ipython3\n---\nmystnb:\n  image:\n    alt: A straight rising line on white, "
             "labelled y = x.\n---\nimport matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\n```\n\n"
             "```{code-cell} ipython3\nplt.plot([1, 0])\nplt.show()\n```\n")
    result = make_html(_throwaway_book(tmp_path, NOTEBOOK_HEADER + "# Figures\n\n" + cells))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = (tmp_path / "_build" / "html" / "page.html").read_text()
    assert 'alt="A straight rising line on white, labelled y = x."' in page
    assert len(images_without_alt_text(page)) == 1   # the second figure has none, and is caught


def test_a_sphinx_warning_fails_the_build(tmp_path):
    book = _throwaway_book(tmp_path, "# Page\n\nSee {doc}`a-page-that-does-not-exist`.\n")
    result = make_html(book)
    assert result.returncode != 0
    assert "a-page-that-does-not-exist" in result.stdout + result.stderr


@pytest.mark.parametrize("source", chapter_sources(), ids=lambda p: p.name)
def test_every_chapter_ends_with_a_link_to_its_exercise(built_book, source):
    html, _ = built_book
    text = source.read_text()
    assert text.rstrip().split("\n## ")[-1].startswith("Exercise"), "the last section is the exercise"
    exercises = re.findall(r"\{doc\}`\.\./exercises/(\d\d_\w+)`", text)
    assert exercises, f"{source.name} does not link its exercise page"
    assert (ROOT / "exercises" / f"{exercises[0]}.ipynb").is_file()
    page = (html / source.relative_to(ROOT)).with_suffix(".html")
    # Only the page's own Exercise section counts (the sidebar links every exercise page).
    section = page.read_text().split('id="exercise"', 1)[-1].split("</section>", 1)[0]
    links = re.findall(rf'href="([^"#]*exercises/{exercises[0]}\.html)"', section)
    assert links and (page.parent / links[0]).resolve().is_file()


def test_encoder_decoder_page_shows_that_learning_and_the_skip_pay_off(built_book):
    """The comparison table renders as a table, and its numbers say what the text says."""
    html, _ = built_book
    page = (html / "book" / "encoder_decoder.html").read_text()
    rows = dict(
        (name, (float(rmse), float(iou)))
        for name, rmse, iou in re.findall(
            r"<tr[^>]*>\s*<td[^>]*>(?:<p>)?([^<]+)(?:</p>)?</td>\s*<td[^>]*>(?:<p>)?([\d.]+)(?:</p>)?</td>"
            r"\s*<td[^>]*>(?:<p>)?([\d.]+)(?:</p>)?</td>", page)
    )
    assert set(rows) >= {"hand-made, zero insertion", "hand-made, repetition", "learned, no skip",
                         "learned, one skip"}, f"no comparison table in the page; rows found: {rows}"
    best_hand_rmse = min(rows["hand-made, zero insertion"][0], rows["hand-made, repetition"][0])
    best_hand_iou = max(rows["hand-made, zero insertion"][1], rows["hand-made, repetition"][1])
    assert rows["learned, no skip"][0] < best_hand_rmse and rows["learned, no skip"][1] > best_hand_iou
    assert rows["learned, one skip"][0] < rows["learned, no skip"][0]
    assert rows["learned, one skip"][1] > rows["learned, no skip"][1]


def _code_cells(source):
    """(options line, body) of every code cell of a MyST notebook."""
    return re.findall(r"```\{code-cell\}[^\n]*\n((?::[^\n]*\n)*)(.*?)```", source.read_text(), flags=re.S)


@pytest.mark.parametrize("source", chapter_sources(), ids=lambda p: p.name)
def test_cells_that_may_download_keep_their_notices_out_of_the_page(source):
    """A download's progress bar (a widget in Jupyter) and a fallback warning (the
    log, on stderr) belong in a notebook, never in the rendered book: a cell that
    may download shows its code but not its output."""
    for options, body in _code_cells(source):
        if "load_radar(" in body:
            assert "remove-output" in options or "remove-cell" in options, body[:200]


def test_no_page_prints_a_download_failure(built_book):
    html, _ = built_book
    for page in html.rglob("*.html"):
        text = page.read_text()
        for phrase in ("data unavailable", "DownloadError", "no connection", "using synthetic radar images"):
            assert phrase not in text, f"{page.relative_to(html)} prints {phrase!r}"


def test_the_book_was_built_on_real_format_data(built_book):
    """The suite's build loads SVRIMG-format pickles through the real download path;
    the pages say so in the cells that load them."""
    html, _ = built_book
    for page, split in (("metrics", "testing"), ("encoder_decoder", "training"), ("encoder_decoder", "testing")):
        text = (html / "book" / f"{page}.html").read_text()
        assert f"SVRIMG&#8217;s {split} split" in text or f"SVRIMG's {split} split" in text, (page, split)
        for quote in ("&#8217;", "'"):
            # the fallback's description; the metrics page may still say its shipped
            # weights were trained on synthetic images, which is true on every source
            assert f"standing in for SVRIMG{quote}s {split} split" not in text, (page, split)


@pytest.mark.parametrize("name", ["convolution", "padding_stride_pooling", "encoder_decoder", "quantization",
                                  "metrics"])
def test_chapters_analyse_a_real_storm_and_name_it(name):
    text = (ROOT / "book" / f"{name}.md").read_text()
    assert "data.example_storms()" in text
    assert "real" in text and ("4 April 2011" in text or "squall line" in text)
    assert "data.strongest_storm(" in text
    assert not re.search(r"argmax\(\(\s*(x|x_test|reflectivity)\b", text), "pick the storm with data.strongest_storm"


def test_intro_says_which_images_are_real():
    text = (ROOT / "book" / "intro.md").read_text()
    for phrase in ("Real, always", "Synthetic otherwise", "north-up", "4 April 2011"):
        assert phrase in text


@pytest.mark.parametrize("source", chapter_sources(), ids=lambda p: p.name)
def test_every_glued_name_is_glued_by_the_chapter(source):
    text = source.read_text()
    used = set(re.findall(r"\{glue:text\}`([a-z0-9_]+)", text))
    glued = set(re.findall(r"glue\(\s*\"([a-z0-9_]+)\"", text))
    # A name made in a loop, glue(f"useful_{k}_km", ...), stands for the names of its pattern;
    # it must start with a literal word, or it would stand for any name at all.
    patterns = [re.sub(r"\\\{[^}]*\\\}", "[a-z0-9_]+", re.escape(name))
                for name in re.findall(r"glue\(\s*f\"([a-z][a-z0-9]+_[a-z0-9_{}]+)\"", text)]
    missing = sorted(name for name in used - glued if not any(re.fullmatch(p, name) for p in patterns))
    assert not missing, f"{source.name}: prose uses {missing} that no cell glues"
