"""Notebooks a class hands in, built from the first exercise: shared by the grading tests."""

import copy
from pathlib import Path

import nbformat

from coursekit.grading import read_notebook
from coursekit.grading.notebooks import nbgrader_meta

ROOT = Path(__file__).resolve().parents[1]
NAME = "01_convolution"
SOLUTION = ROOT / "solutions" / f"{NAME}.ipynb"
RELEASED = ROOT / "exercises" / f"{NAME}.ipynb"
FULL = 16


def solved(**replace):
    """The solution notebook, with some cells' source replaced (by grade_id)."""
    notebook = read_notebook(SOLUTION)
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in replace:
            cell.source = replace[grade_id]
    return notebook


def answer(grade_id):
    """The solution's source of one cell."""
    return next(c.source for c in solved().cells if nbgrader_meta(c).get("grade_id") == grade_id)


def released():
    return read_notebook(RELEASED)


def student_copy_of_test_cells(notebook):
    """What a student really has: the released test cells, no hidden tests."""
    given = {nbgrader_meta(c).get("grade_id"): c for c in released().cells}
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            cell.source = given[meta["grade_id"]].source
    return notebook


def stripped(notebook):
    """The notebook with every cell's metadata gone, as some editors and Colab workflows leave it."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        cell.metadata = {}
    return notebook


def hidden_lines(min_length=12):
    """The lines of the first exercise's hidden tests."""
    lines = []
    for cell in read_notebook(SOLUTION).cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            block = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) >= min_length]
    return lines


def write(folder, notebook, name=NAME):
    """Write a notebook (or raw text) as `folder/name.ipynb`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    if isinstance(notebook, str):
        path.write_text(notebook)
    else:
        nbformat.write(notebook, path)
    return path
