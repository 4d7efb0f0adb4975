"""Release exercises from nbgrader-format solutions, and grade a class's submissions.

Used in: `make exercises`, `make grade`, and the tests that prove every exercise
is non-vacuous.
"""

from .grade import STATUSES, grade_folder, load_exercises
from .notebooks import NotebookError, assemble, graded_cells, read_notebook, release

__all__ = ["STATUSES", "NotebookError", "assemble", "grade_folder", "graded_cells", "load_exercises",
           "read_notebook", "release", "release_folder"]


def release_folder(solutions_dir="solutions", exercises_dir="exercises"):
    """Write the student version of every solution notebook; return the paths written."""
    from pathlib import Path

    import nbformat

    from ._files import atomic_write

    written = []
    for name, exercise in load_exercises(solutions_dir).items():
        path = Path(exercises_dir) / f"{name}.ipynb"
        atomic_write(path, nbformat.writes(exercise.released) + "\n")
        written.append(path)
    return written
