"""Points given by hand: written answers, Markdown tasks, notebooks that need review.

The grader scores what a test can check and leaves the rest "to grade by hand". After
each run it lists those questions in ``OUT/to-grade-by-hand.csv``. The instructor fills
in its ``points`` (and, if they like, a ``comment`` for the student) in a copy kept
outside ``OUT``, and passes that file back with ``--hand-grades``: its points join
``grades.csv``, the feedback pages and ``summary.png``, and every later run keeps them.

The file is checked in full before anything is graded or written: a line that names an
exercise or question the solutions do not have, gives points that are not a number
between 0 and the question's maximum, or repeats a question, stops the run with an
error naming the file, the line and what is wrong. A line whose student has no
pending question of that name stops it too, once the class is graded (results already
computed are kept in the cache). A line with empty ``points`` is skipped: the template
can be passed back half filled.

Used in: ``coursekit grade --hand-grades``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from pathlib import Path

from .records import Row, Score, Status
from .writers import atomic_write

__all__ = ["TODO_NAME", "apply_hand_grades", "read_hand_grades", "write_todo"]

#: The file in the output folder that lists the questions still to grade by hand.
TODO_NAME = "to-grade-by-hand.csv"

_COLUMNS = ("student", "exercise", "question", "points")
#: Rows without a notebook to read: their written answers cannot be graded.
_NOTHING_TO_READ = (Status.NO_SUBMISSION, Status.INVALID_NOTEBOOK)


def read_hand_grades(path, exercises) -> dict[tuple[str, str, str], tuple[float, str, str]]:
    """The points of a hand-grades file: {(student, exercise, question): (points, comment, where)}.

    `exercises` maps exercise names to :class:`~coursekit.grading.exercises.Exercise`;
    ``where`` is ``"file, line N"``, for later errors. Raises ``ValueError`` naming the
    file and line of the first problem, or ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the hand-grades file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is fine
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the hand-grades file {path}: {error}") from error
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: the header must name the columns {', '.join(_COLUMNS)} (and optionally "
                         f"comment); {', '.join(missing)} missing")
    maxima = {(name, cell.grade_id): cell.points for name, exercise in exercises.items()
              for cell in exercise.graded}
    grades = {}
    for line in reader:
        where = f"{path}, line {reader.line_num}"
        points = (line.get("points") or "").strip()
        if not points:
            continue  # not graded yet
        key = tuple((line.get(c) or "").strip() for c in _COLUMNS[:3])
        student, exercise, question = key
        if not student:
            raise ValueError(f"{where}: the student is empty")
        if exercise not in exercises:
            raise ValueError(f"{where}: no exercise {exercise!r}; the exercises are {', '.join(exercises)}")
        if (exercise, question) not in maxima:
            raise ValueError(f"{where}: {exercise} has no graded question {question!r}")
        top = maxima[exercise, question]
        try:
            value = float(points)
        except ValueError:
            raise ValueError(f"{where}: points must be a number; got {points!r}") from None
        if not (math.isfinite(value) and 0 <= value <= top):
            raise ValueError(f"{where}: points must be between 0 and {top:g}, the maximum of {question}; "
                             f"got {points}")
        if key in grades:
            raise ValueError(f"{where}: {student}'s {question} of {exercise} is graded twice (also at "
                             f"{grades[key][2].rsplit(', ', 1)[1]})")
        grades[key] = (value, (line.get("comment") or "").strip(), where)
    return grades


def apply_hand_grades(rows: list[Row], grades) -> list[Row]:
    """`rows` with the points of :func:`read_hand_grades` in place of their pending scores.

    Raises ``ValueError`` for a grade that has no pending question to go to (a student
    not in the folder, an exercise not handed in, a question graded automatically).
    """
    rows = list(rows)
    by_key = {(row.student, row.exercise): number for number, row in enumerate(rows)}
    for (student, exercise, question), (value, comment, where) in grades.items():
        number = by_key.get((student, exercise))
        if number is None:
            raise ValueError(f"{where}: no result for {student!r} in {exercise}: is the student's "
                             "name spelled as in grades.csv?")
        row = rows[number]
        score = row.score(question)
        if not score.by_hand or row.status in _NOTHING_TO_READ:
            raise ValueError(f"{where}: {question} of {student}'s {exercise} is not waiting to be "
                             "graded by hand (it was graded automatically, or the notebook was not "
                             "handed in)")
        graded = Score(question, score.max, value, comment or None, hand=True)
        rows[number] = replace(row, scores=tuple(graded if s.grade_id == question else s for s in row.scores))
    return rows


def write_todo(out_dir, rows: list[Row]):
    """``OUT/to-grade-by-hand.csv``: a line per question still to grade by hand, points empty;
    removed when there is none."""
    path = Path(out_dir) / TODO_NAME
    pending = [(row, score) for row in rows if row.status not in _NOTHING_TO_READ
               for score in row.scores if score.by_hand]
    if not pending:
        path.unlink(missing_ok=True)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*_COLUMNS, "max", "comment"])
    for row, score in pending:
        writer.writerow([row.student, row.exercise, score.grade_id, "", f"{score.max:g}", ""])
    atomic_write(path, buffer.getvalue())
