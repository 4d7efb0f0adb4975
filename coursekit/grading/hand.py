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
  handed in again) is not applied: the question stays to be graded, with a note; the
  new notebook's line can sit beside it (a line without an id grades any notebook).

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
from .writers import atomic_write, from_spreadsheet, to_spreadsheet

__all__ = ["TODO_NAME", "apply_hand_grades", "check_todo", "read_hand_grades", "write_todo"]

#: The file in the output folder that lists the questions still to grade by hand.
TODO_NAME = "to-grade-by-hand.csv"

_COLUMNS = ("student", "exercise", "question", "points")
#: Rows without a notebook to read: their written answers cannot be graded.
_NOTHING_TO_READ = (Status.NO_SUBMISSION, Status.INVALID_NOTEBOOK)


def _rows(path):
    """([(line number, line as a dict)], header, delimiter) of a CSV as a spreadsheet saves it:
    UTF-8 (a byte-order mark is fine) or Windows-1252; "," between columns, or ";" where the
    decimal separator is ",". Raises ``OSError`` or ``csv.Error``."""
    data = Path(path).read_bytes()
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # a zip (.xlsx, .ods) or an old .xls
        raise csv.Error("it is a spreadsheet workbook, not CSV: save it as CSV (File, Save as, "
                        "CSV, comma- or semicolon-separated) and pass that file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # what Excel saves as plain "CSV" on Windows
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    lines = [(reader.line_num, line) for line in reader]
    return lines, reader.fieldnames or [], delimiter


def read_hand_grades(path, exercises) -> dict[tuple[str, str, str], list[dict]]:
    """The points of a hand-grades file: {(student, exercise, question): [{"points", "comment",
    "notebook", "where"}, ...]}, one entry per notebook id the file grades that question of;
    ``where`` is ``"file, line N"`` for messages.

    `exercises` maps exercise names to :class:`~coursekit.grading.exercises.Exercise`.
    Raises ``ValueError`` naming the file and line of the first problem, or
    ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the hand-grades file {path} does not exist")
    try:
        lines, header, delimiter = _rows(path)
    except (OSError, csv.Error) as error:
        raise ValueError(f"cannot read the hand-grades file {path}: {error}") from error
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}: the header must name the comma-separated columns {', '.join(_COLUMNS)} "
                         f"(and optionally notebook and comment); {', '.join(missing)} missing")
    maxima = {(name, cell.grade_id): cell.points for name, exercise in exercises.items()
              for cell in exercise.graded}
    grades: dict[tuple[str, str, str], list[dict]] = {}
    for number, line in lines:
        where = f"{path}, line {number}"
        points = (line.get("points") or "").strip()
        if not points:
            continue  # not graded yet
        # Student ids are taken as they are (a folder may be named "ada "); the ids of
        # exercises and questions have no spaces to lose.
        student = line.get("student") or ""  # as written: apply_hand_grades resolves it
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
        notebook = (line.get("notebook") or "").strip()
        entries = grades.setdefault((student, exercise, question), [])
        twin = next((e for e in entries if e["notebook"] == notebook), None)
        if twin is not None:  # the same question of the same notebook
            raise ValueError(f"{where}: {student}'s {question} of {exercise} is graded twice (also at "
                             f"{twin['where'].rsplit(', ', 1)[1]})")
        entries.append({"points": value, "comment": (line.get("comment") or "").strip(),
                        "notebook": notebook, "where": where})
    return grades


def check_todo(out_dir, hand_grades=None):
    """Refuse, before anything runs, what would lose points typed by hand: a hand-grades file
    inside `out_dir`, or a list there whose points someone filled in (this run rewrites it)."""
    out_dir, todo = Path(out_dir).resolve(), Path(out_dir) / TODO_NAME
    if hand_grades is not None and Path(hand_grades).resolve().is_relative_to(out_dir):
        raise ValueError(f"the hand-grades file {hand_grades} is inside the output folder, which each run "
                         "rewrites: keep it elsewhere")
    if not todo.exists():
        return
    try:
        lines, _, _ = _rows(todo)
        filled = any((line.get("points") or "").strip() for _, line in lines)
    except (OSError, csv.Error):
        filled = True  # not what a run wrote: someone changed it
    if filled:
        raise ValueError(f"{todo} has points filled in (or was changed), and this run would overwrite it: "
                         "move it out of the output folder and pass it with --hand-grades")


def apply_hand_grades(rows: list[Row], grades, only=None) -> list[Row]:
    """`rows` with the points of :func:`read_hand_grades` in place of their pending scores.

    A grade for another exercise than `only` (``--exercise``) whose row is not in this
    run is skipped. Raises ``ValueError`` for a grade with no pending question to go to.
    """
    rows = list(rows)
    by_key = {(row.student, row.exercise): number for number, row in enumerate(rows)}
    applied = {}
    for (cell, exercise, question), entries in grades.items():
        where = entries[0]["where"]
        student = _student(cell, exercise, by_key, where)
        if (student, exercise, question) in applied:
            raise ValueError(f"{where}: {student}'s {question} of {exercise} is graded twice (also at "
                             f"{applied[student, exercise, question].rsplit(', ', 1)[1]})")
        applied[student, exercise, question] = where
        number = by_key.get((student, exercise))
        if number is None:
            if only is not None and exercise != only:
                continue  # graded in a run over all exercises
            raise ValueError(f"{where}: no result for {student!r} in {exercise}: is the student's "
                             "name spelled as in grades.csv?")
        row = rows[number]
        # A line with no notebook id grades whatever notebook was handed in.
        grade = next((e for e in entries if e["notebook"] in ("", row.notebook)), None)
        if grade is None:  # written for an earlier notebook: the student handed in again
            note = f"a grade given by hand to {question} was for an earlier notebook: it is to grade again"
            rows[number] = replace(row, notes=row.notes + (note,))
            continue
        score = row.score(question)
        if not score.by_hand or row.status in _NOTHING_TO_READ:
            raise ValueError(f"{grade['where']}: {question} of {student}'s {exercise} is not waiting to be "
                             "graded by hand (it was graded automatically, or there is no notebook to read)")
        graded = Score(question, score.max, grade["points"], grade["comment"] or None, hand=True)
        rows[number] = replace(row, scores=tuple(graded if s.grade_id == question else s for s in row.scores))
    return rows


def _student(cell, exercise, by_key, where):
    """The student a hand-grades line names. Ids that start like a formula are written with
    an apostrophe in front (:func:`~coursekit.grading.writers.to_spreadsheet`), which a
    spreadsheet may keep or drop on saving: the cell as written and the cell without it
    are both tried, and a cell that could name two students stops the run."""
    names = [name for name in dict.fromkeys((cell, from_spreadsheet(cell))) if (name, exercise) in by_key]
    if len(names) > 1:
        raise ValueError(f"{where}: {cell!r} could name the student {names[0]!r} or {names[1]!r}: edit the "
                         "line in a text editor so that it names one")
    return names[0] if names else from_spreadsheet(cell)


def write_todo(out_dir, rows: list[Row]) -> int:
    """``OUT/to-grade-by-hand.csv``: a line per question still to grade by hand, points empty,
    with the id of the notebook it is read from and its path in the submissions folder;
    removed when there is none. Returns how many questions it lists."""
    path = Path(out_dir) / TODO_NAME
    pending = [(row, score) for row in rows if row.status not in _NOTHING_TO_READ
               for score in row.scores if score.by_hand]
    if not pending:
        path.unlink(missing_ok=True)
        return 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # The file comes last: where to read the answer; the reader of hand grades ignores it.
    writer.writerow([*_COLUMNS, "max", "notebook", "comment", "file"])
    for row, score in pending:
        writer.writerow([to_spreadsheet(row.student), row.exercise, score.grade_id, "", f"{score.max:g}",
                         row.notebook, "", to_spreadsheet(row.file)])
    atomic_write(path, buffer.getvalue())
    return len(pending)
