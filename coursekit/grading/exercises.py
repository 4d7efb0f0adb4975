"""The exercises: each solution notebook in ``solutions/`` and its released (student) version.

Used in: ``make exercises`` (``coursekit release``), grading, and the exercise tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nbformat

from .notebooks import cell_source, graded_cells, nbgrader_meta, parse_notebook, read_notebook, release
from .writers import atomic_write

__all__ = ["Exercise", "exercise_names", "load_exercises", "release_folder"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: its solution (the only source of tests and points) and its release."""

    name: str
    solution: object  # NotebookNode
    released: object  # NotebookNode: what students are given
    digest: str  # sha256 of the whole solution notebook file

    @cached_property
    def graded(self):
        return graded_cells(self.solution)

    @cached_property
    def has_hidden_tests(self) -> bool:
        """Whether any cell other than an answer differs between solution and release."""
        return any(cell_source(s) != cell_source(r) for s, r in zip(self.solution.cells, self.released.cells)
                   if s.cell_type == "code" and not nbgrader_meta(s).get("solution"))


def load_exercises(solutions_dir, releases=None) -> dict[str, Exercise]:
    """Every ``*.ipynb`` in the solutions folder, by name (file name without suffix).

    Parameters
    ----------
    solutions_dir : str or path
    releases : ResultCache, optional
        Where the released versions are kept between runs (made afresh without it).

    Returns
    -------
    dict of str -> Exercise
        Each with its solution, its released (student) version and a digest.

    Used in: grading, ``coursekit release`` and the exercise tests.
    """
    solutions_dir = Path(solutions_dir)
    paths = [solutions_dir / f"{name}.ipynb" for name in exercise_names(solutions_dir)]
    exercises = {}
    for path in paths:
        data = path.read_bytes()
        solution = read_notebook(path)
        digest = hashlib.sha256(data).hexdigest()
        if releases is None:
            released = release(solution)
        else:
            released = parse_notebook(releases.release(digest, lambda: nbformat.writes(release(solution))).encode(),
                                      f"the release of {path.name}")
        exercises[path.stem] = Exercise(path.stem, solution, released, digest)
    return exercises


def exercise_names(solutions_dir) -> list[str]:
    """The names of the solution notebooks (file names without ``.ipynb``), sorted."""
    names = sorted(path.stem for path in Path(solutions_dir).glob("*.ipynb"))
    if not names:
        raise FileNotFoundError(f"no solution notebooks (*.ipynb) in {solutions_dir}")
    return names


def release_folder(solutions_dir="solutions", exercises_dir="exercises"):
    """Write the student version of every solution notebook; return the paths written.

    Used in: ``make exercises``.
    """
    import nbformat

    written = []
    for name, exercise in load_exercises(solutions_dir).items():
        path = Path(exercises_dir) / f"{name}.ipynb"
        atomic_write(path, nbformat.writes(exercise.released) + "\n")
        written.append(path)
    return written

