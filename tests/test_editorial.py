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
