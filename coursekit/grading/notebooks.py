"""nbgrader-format notebooks: reading them, their cell metadata, and releasing.

The instructor notebooks in ``solutions/`` use nbgrader's cell metadata (schema
version 3). Releasing runs nbgrader's own preprocessors, in the order of
``nbgrader generate_assignment``, so that the student notebooks are exactly what
nbgrader would produce. (Matching a submission to its exercise is in
:mod:`coursekit.grading.assembly`.)
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["GradedCell", "NotebookError", "cell_source", "graded_cells", "nbgrader_meta", "normalized",
           "parse_notebook", "read_notebook", "release"]


class NotebookError(ValueError):
    """A file that is not a readable Jupyter notebook."""


@dataclass(frozen=True)
class GradedCell:
    """One cell that earns points: an autograded test, or a manually graded answer."""

    grade_id: str
    points: float
    autograded: bool  # False for manually graded answers (a solution cell with points)
    hidden_tests: bool


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata, or {} when it has none or it is malformed (a submission
    is untrusted: its metadata may be anything)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("grade_id"), str):
        return {}
    return meta


def read_notebook(path) -> nbformat.NotebookNode:
    """Read a notebook, raising :class:`NotebookError` naming the file when it is not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise NotebookError(f"cannot read {path}: {error}") from error
    return parse_notebook(data, str(path))


def parse_notebook(data: bytes, name: str) -> nbformat.NotebookNode:
    """A notebook from a file's bytes (read once, so that what is graded is what was hashed);
    :class:`NotebookError` naming `name` when they are not one."""
    path = name
    try:
        # "utf-8-sig": a byte-order mark, which some Windows editors write, is dropped (a
        # thirtieth red team: such a notebook was refused as not JSON).
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotebookError(f"{path} is not UTF-8 text: {error}") from error
    try:
        with warnings.catch_warnings():
            # Cells without ids (nbformat < 4.5, some editors): nbformat gives them ids and
            # says so on the grader's terminal, naming no file. Nothing to act on.
            warnings.simplefilter("ignore", nbformat.warnings.MissingIDFieldWarning)
            notebook = nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise NotebookError(f"{path} is not valid JSON: {error}") from error
    except Exception as error:  # nbformat raises several types for malformed notebooks
        raise NotebookError(f"{path} is not a Jupyter notebook: {error}") from error
    if not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path} is not a Jupyter notebook: it has no list of cells")
    for number, cell in enumerate(notebook.cells, 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"{path} is not a Jupyter notebook: its cell {number} is not a cell")
    return notebook


def graded_cells(solution) -> list[GradedCell]:
    """The cells that carry points, in notebook order."""
    cells = []
    for cell in solution.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            cells.append(
                GradedCell(
                    grade_id=meta["grade_id"],
                    points=float(meta.get("points", 0)),
                    # Test code cells are autograded; graded answers and tasks (Markdown) by hand.
                    autograded=cell.cell_type == "code" and not meta.get("solution", False),
                    hidden_tests="### BEGIN HIDDEN TESTS" in cell.source,
                )
            )
    return cells


def release(solution) -> nbformat.NotebookNode:
    """The student version of a solution notebook, as ``nbgrader generate_assignment`` makes it.

    Solutions become ``raise NotImplementedError()``, hidden tests are removed,
    outputs cleared, graded and locked cells made read-only and undeletable, and
    checksums recorded. (nbgrader's header/footer and database steps do not apply.)
    """
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    notebook = copy.deepcopy(solution)
    resources: dict = {}
    # Same order as nbgrader's GenerateAssignment: checksums are computed before the
    # hidden tests are cleared and again after.
    for step in (LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
                 ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata):
        notebook, resources = step().preprocess(notebook, resources)
    return notebook


def cell_source(cell) -> str:
    """A cell's source as one string, whatever a submission stored there."""
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def question_titles(solution) -> dict[str, str]:
    """For each graded cell of a solution notebook, the heading of the question it belongs to:
    the first line of the last Markdown cell before it that starts with ``## ``, without
    the ``## ``. Headings are text students see; a cell before any heading is left out.
    """
    titles, heading = {}, None
    for cell in solution.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            heading = cell.source.splitlines()[0][3:].strip()
        grade_id = nbgrader_meta(cell).get("grade_id")
        if heading and grade_id and (nbgrader_meta(cell).get("grade") or nbgrader_meta(cell).get("task")):
            titles[grade_id] = heading
    return titles


def notebook_title(notebook) -> str | None:
    """The notebook's title: its first Markdown heading of level one, without the ``# ``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip() or None
    return None


def unanswered(notebook, released) -> bool:
    """Whether a notebook holds nothing its released version did not: no answer, no code of
    the student's (cells compared as :func:`normalized` sources, in any order)."""
    given = {normalized(cell_source(c)) for c in released.cells} | {""}
    return all(normalized(cell_source(c)) in given for c in notebook.cells)


def normalized(source: str) -> str:
    """Source compared for identity: trailing spaces and blank edges do not count (editors add them)."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())
