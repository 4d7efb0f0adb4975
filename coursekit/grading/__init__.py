"""Release exercises from nbgrader-format solutions, and grade a class's submissions.

The grading pipeline runs one way, through the records of
:mod:`coursekit.grading.records`: submission -> job -> outcome -> row
(see :mod:`coursekit.grading.grade`).

Used in: `make exercises`, `make grade`, and the tests that prove every exercise
is non-vacuous.
"""

from .assembly import assemble
from .exercises import Exercise, load_exercises, release_folder
from .grade import grade_folder
from .notebooks import NotebookError, graded_cells, read_notebook, release
from .records import Outcome, Report, Row, Score, Status, Submission

__all__ = ["Exercise", "NotebookError", "Outcome", "Report", "Row", "Score", "Status", "Submission", "assemble",
           "grade_folder", "graded_cells", "load_exercises", "read_notebook", "release", "release_folder"]
