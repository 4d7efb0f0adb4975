"""Points given by hand: written answers, Markdown tasks, notebooks that need review.

The grader scores what a test can check and leaves the rest "to grade by hand". After
each run it lists those questions in ``OUT/to-grade-by-hand.csv``, each with the id of
the notebook it was read from. The instructor fills in the ``points`` (and, if they
like, a ``comment`` for the student) of a copy kept *outside* ``OUT``, and passes that
file back with ``--hand-grades``: its points join ``grades.csv``, the feedback pages
and ``summary.png``, at this run and every later one given the same file.

Nothing typed by hand is lost or misplaced:

- the file is checked in full before anything runs: a line that names an exercise
  or question the solutions do not have, gives points that are not a number from 0
  to the question's maximum, or repeats a question stops the run with an error
  naming the file and line;
- a file inside ``OUT`` is refused (each run rewrites the list there), and so is a run
  that would overwrite a list in ``OUT`` whose points someone filled in;
- once the class is graded, and before anything is written, a line for a student
  with no result for that exercise, or for a question that is not waiting to be
  graded by hand, stops the run the same way;
- a grade written for an earlier notebook (its ``notebook`` id differs: the student
  handed in again) is not applied: the question stays to be graded, with a note.

Lines with empty ``points`` are skipped, so the list can be filled in over several
sessions. A spreadsheet's CSV is read as it was saved: UTF-8 (with or without a
byte-order mark) or Windows-1252, with commas, or with semicolons and decimal commas.

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

__all__ = ["TODO_NAME", "apply_hand_grades", "check_todo", "read_hand_grades", "write_todo"]

#: The file in the output folder that lists the questions still to grade by hand.
TODO_NAME = "to-grade-by-hand.csv"

_COLUMNS = ("student", "exercise", "question", "points")
#: Rows without a notebook to read: their written answers cannot be graded.
_NOTHING_TO_READ = (Status.NO_SUBMISSION, Status.INVALID_NOTEBOOK)


def read_hand_grades(path, exercises) -> dict[tuple[str, str, str], dict]:
    """The points of a hand-grades file: {(student, exercise, question): {"points", "comment",
    "notebook", "where"}}, ``where`` being ``"file, line N"`` for later messages.

    `exercises` maps exercise names to :class:`~coursekit.grading.exercises.Exercise`.
    Raises ``ValueError`` naming the file and line of the first problem, or
    ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the hand-grades file {path} does not exist")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the hand-grades file {path}: {error}") from error
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is fine
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # what Excel saves as plain "CSV" on Windows
    # Excel writes ";" between columns where "," is the decimal separator.
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: the header must name the comma-separated columns {', '.join(_COLUMNS)} "
                         f"(and optionally notebook and comment); {', '.join(missing)} missing")
    maxima = {(name, cell.grade_id): cell.points for name, exercise in exercises.items()
              for cell in exercise.graded}
    grades = {}
    for line in reader:
        where = f"{path}, line {reader.line_num}"
        points = (line.get("points") or "").strip()
        if not points:
            continue  # not graded yet
        # Student ids are taken as they are (a folder may be named "ada "); the ids of
        # exercises and questions have no spaces to lose.
        student = line.get("student") or ""
        exercise, question = ((line.get(c) or "").strip() for c in ("exercise", "question"))
        if not student:
            raise ValueError(f"{where}: the student is empty")
        if exercise not in exercises:
            raise ValueError(f"{where}: no exercise {exercise!r}; the exercises are {', '.join(exercises)}")
        if (exercise, question) not in maxima:
            raise ValueError(f"{where}: {exercise} has no graded question {question!r}")
        top = maxima[exercise, question]
        try:
            value = float(points.replace(",", ".") if delimiter == ";" else points) + 0.0  # -0 becomes 0
        except ValueError:
            raise ValueError(f"{where}: points must be a number; got {points!r}") from None
        if not (math.isfinite(value) and 0 <= value <= top):
            raise ValueError(f"{where}: points must be between 0 and {top:g}, the maximum of {question}; "
                             f"got {points}")
        key = (student, exercise, question)
        if key in grades:
            raise ValueError(f"{where}: {student}'s {question} of {exercise} is graded twice (also at "
                             f"{grades[key]['where'].rsplit(', ', 1)[1]})")
        grades[key] = {"points": value, "comment": (line.get("comment") or "").strip(),
                       "notebook": (line.get("notebook") or "").strip(), "where": where}
    return grades


def check_todo(out_dir, hand_grades=None):
    """Refuse, before anything runs, what would lose points typed by hand: a hand-grades file
    inside `out_dir`, or a list there whose points someone filled in (this run rewrites it)."""
    out_dir, todo = Path(out_dir).resolve(), Path(out_dir) / TODO_NAME
    if hand_grades is not None and Path(hand_grades).resolve().is_relative_to(out_dir):
        raise ValueError(f"the hand-grades file {hand_grades} is inside the output folder, which each run "
                         "rewrites: keep it elsewhere")
    try:
        with open(todo, newline="", encoding="utf-8-sig") as handle:
            filled = any((line.get("points") or "").strip() for line in csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return
    if filled:
        raise ValueError(f"{todo} has points filled in, and this run would overwrite it: move it out of "
                         "the output folder and pass it with --hand-grades")


def apply_hand_grades(rows: list[Row], grades, only=None) -> list[Row]:
    """`rows` with the points of :func:`read_hand_grades` in place of their pending scores.

    A grade for another exercise than `only` (``--exercise``) whose row is not in this
    run is skipped. Raises ``ValueError`` for a grade with no pending question to go to.
    """
    rows = list(rows)
    by_key = {(row.student, row.exercise): number for number, row in enumerate(rows)}
    for (student, exercise, question), grade in grades.items():
        where = grade["where"]
        number = by_key.get((student, exercise))
        if number is None:
            if only is not None and exercise != only:
                continue  # graded in a run over all exercises
            raise ValueError(f"{where}: no result for {student!r} in {exercise}: is the student's "
                             "name spelled as in grades.csv?")
        row = rows[number]
        score = row.score(question)
        if not score.by_hand or row.status in _NOTHING_TO_READ:
            raise ValueError(f"{where}: {question} of {student}'s {exercise} is not waiting to be "
                             "graded by hand (it was graded automatically, or there is no notebook to read)")
        if grade["notebook"] and grade["notebook"] != row.notebook:
            note = (f"a hand grade of {question} ({where}) was written for an earlier notebook: "
                    "grade the new one")
            rows[number] = replace(row, notes=row.notes + (note,))
            continue
        graded = Score(question, score.max, grade["points"], grade["comment"] or None, hand=True)
        rows[number] = replace(row, scores=tuple(graded if s.grade_id == question else s for s in row.scores))
    return rows


def write_todo(out_dir, rows: list[Row]):
    """``OUT/to-grade-by-hand.csv``: a line per question still to grade by hand, points empty,
    with the id of the notebook it is read from; removed when there is none."""
    path = Path(out_dir) / TODO_NAME
    pending = [(row, score) for row in rows if row.status not in _NOTHING_TO_READ
               for score in row.scores if score.by_hand]
    if not pending:
        path.unlink(missing_ok=True)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*_COLUMNS, "max", "notebook", "comment"])
    for row, score in pending:
        writer.writerow([row.student, row.exercise, score.grade_id, "", f"{score.max:g}", row.notebook, ""])
    atomic_write(path, buffer.getvalue())
