"""nbgrader-format notebooks: reading cell metadata, releasing, and assembling a submission.

The instructor notebooks in ``solutions/`` use nbgrader's cell metadata (schema
version 3). Releasing runs nbgrader's own preprocessors, in the order of
``nbgrader generate_assignment``, so that the student notebooks are exactly what
nbgrader would produce. Assembling builds the notebook that is actually executed
for a submission: the student's answers, and everything else (setup, tests with
their hidden parts, points) from the solution.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = [
    "GradedCell",
    "NotebookError",
    "assemble",
    "graded_cells",
    "read_notebook",
    "release",
]


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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NotebookError(f"cannot read {path}: {error}") from error
    try:
        notebook = nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise NotebookError(f"{path} is not valid JSON: {error}") from error
    except Exception as error:  # nbformat raises several types for malformed notebooks
        raise NotebookError(f"{path} is not a Jupyter notebook: {error}") from error
    if not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path} is not a Jupyter notebook: it has no list of cells")
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


@dataclass
class Assembled:
    """The notebook to execute for one submission, and what was noticed on the way."""

    cells: list  # (kind, grade_id or None, source) for every code cell, in order
    notes: list[str] = field(default_factory=list)


def assemble(solution, exercise, submission) -> Assembled:
    """Combine a student's answers with the solution's tests.

    Parameters
    ----------
    solution : NotebookNode
        The instructor notebook: the only source of tests, hidden tests and points.
    exercise : NotebookNode
        The released notebook: what an unanswered question contains.
    submission : NotebookNode
        The student's notebook, untrusted: cells may be edited, deleted, re-marked.

    Returns
    -------
    Assembled
        Code cells in the solution's order. Answer cells come from the submission
        (matched by ``grade_id``), followed by the student's own unmarked code cells
        that came after them; every other cell comes from the solution, whatever
        the submission did to it.
    """
    released = {nbgrader_meta(c).get("grade_id"): c for c in exercise.cells}
    answers, extras, notes = {}, {None: []}, []
    anchor = None
    solution_ids = {nbgrader_meta(c).get("grade_id"): c for c in solution.cells if nbgrader_meta(c)}
    for cell in submission.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if grade_id is None:
            if cell.get("cell_type") == "code":
                extras.setdefault(anchor, []).append(_source(cell))
            continue
        if grade_id not in solution_ids:
            notes.append(f"ignored cell {grade_id!r}, which the exercise does not have")
            continue
        anchor = grade_id
        answers.setdefault(grade_id, cell)

    cells = [("student", None, source) for source in extras[None]]
    for cell in solution.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if meta.get("solution"):
            answer = answers.get(grade_id)
            if answer is None:
                notes.append(f"answer cell {grade_id!r} was deleted: counted as unanswered")
                answer = released[grade_id]
            if cell.cell_type == "code":
                cells.append(("answer", grade_id, _source(answer)))
        elif cell.cell_type == "code":
            kind = "test" if meta.get("grade") else "locked"
            student_copy = answers.get(grade_id)
            if kind == "test" and student_copy is None and grade_id is not None:
                notes.append(f"test cell {grade_id!r} was deleted: the original was run")
            elif kind == "test" and _source(student_copy) not in (_source(released.get(grade_id, cell)), _source(cell)):
                notes.append(f"test cell {grade_id!r} was edited: the original was run")
            cells.append((kind, grade_id, _source(cell)))
        if grade_id is not None:
            cells.extend(("student", None, source) for source in extras.get(grade_id, []))
    return Assembled(cells=cells, notes=notes)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)
