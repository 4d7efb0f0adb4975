"""What a reader sees on the page: code that fits the column, figures with alt text,
numbers that come from the code.

The book's code column holds 88 characters; a longer line scrolls sideways on the
rendered page and in Colab's narrow cells. A figure without alt text is a blank to a
screen reader. A number typed into prose beside glued ones goes stale when the data
change, so a paragraph that glues numbers must glue all of its measured ones.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.md"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", flags=re.S)
WIDTH = 88


OPTIONS = re.compile(r"\A(---\n.*?\n---\n|(:[^\n]*\n)+)", flags=re.S)   # a cell's YAML or :key: options


def code_cells(path):
    """The code of each code cell, without its options (alt text may be long: it is not code)."""
    if path.suffix == ".md":
        return [OPTIONS.sub("", cell) for cell in CELL.findall(path.read_text())]
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def long_lines(path):
    return [f"{path.name}: {len(line)} characters: {line.strip()[:60]}..."
            for source in code_cells(path) for line in source.splitlines() if len(line) > WIDTH]


@pytest.mark.parametrize("path", CHAPTERS + SOLUTIONS, ids=lambda p: p.name)
def test_code_lines_fit_the_column(path):
    assert not long_lines(path), "\n".join(long_lines(path))


def test_the_line_check_sees_long_lines(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```{code-cell} ipython3\n---\nmystnb:\n  image:\n    alt: " + "words " * 30 + "\n---\n"
                    "x = 1\n" + "y = " + "1 + " * 30 + "1\n```\n")
    assert len(long_lines(page)) == 1   # the code line, not the alt text


# --- numbers in prose -----------------------------------------------------------------------

FENCED = re.compile(r"```.*?```", flags=re.S)


def prose_paragraphs(text):
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)   # the jupytext header
    return [p for p in re.split(r"\n\s*\n", FENCED.sub("\n\n", text)) if p.strip()]


def typed_figures(paragraph):
    """Decimal numbers and percentages typed into a paragraph: glued values, maths, code,
    citations and dates in brackets are left out."""
    text = re.sub(r"\{glue:[a-z]+\}`[^`]*`", " ", paragraph)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", text, flags=re.S)
    text = re.sub(r"\{(cite|doc|numref)\}`[^`]*`|`[^`]*`", " ", text)
    return re.findall(r"(?<![\w.])\d+\.\d+%?|(?<![\w.])\d+%", text)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_typed_figure_beside_a_glued_one(path):
    """A paragraph that glues its measurements must glue all of them: a decimal or a
    percentage typed next to glued values is a measurement that will go stale."""
    found = [(typed_figures(p), p[:100]) for p in prose_paragraphs(path.read_text()) if "{glue:" in p]
    found = [f"{numbers} in: {start}..." for numbers, start in found if numbers]
    assert not found, "\n".join(found)


def test_the_figure_check_sees_a_typed_number_and_spares_glue_maths_and_code():
    paragraph = ("IoU is {glue:text}`iou:.3f` here and 0.131 there, 12% of the pixels; "
                 "$x = 0.5$, `a = 2.5`, and 40 dBZ are fine.")
    assert typed_figures(paragraph) == ["0.131", "12%"]
