"""Grade a folder of submissions against ``solutions/``.

Layout of ``SUBMISSIONS``: one folder per student, holding notebooks named as in
``exercises/`` (at any depth, as an LMS export or nbgrader's ``submitted/`` has
them); or, when there is a single exercise, a flat folder of ``<student>.ipynb``.

Results are kept per submission in ``OUT/.results/`` as soon as each is graded,
keyed by a hash of the submission, its solution and the grading settings: a run
that is interrupted loses nothing, and the next run grades only what changed.
``grades.csv`` is replaced in one step when a run completes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from . import feedback
from ._files import atomic_write
from .notebooks import NotebookError, assemble, graded_cells, read_notebook, release

__all__ = ["Exercise", "Submission", "find_submissions", "grade_folder", "load_exercises"]

GRADER_VERSION = "1"
STATUSES = ("ok", "invalid-notebook", "missing", "kernel-died", "timeout", "out-of-memory")


@dataclass
class Exercise:
    name: str
    solution: object
    released: object
    digest: str

    @property
    def graded(self):
        return graded_cells(self.solution)


@dataclass
class Submission:
    student: str
    exercise: str
    path: Path | None  # None when the student handed in nothing for this exercise


def load_exercises(solutions_dir) -> dict[str, Exercise]:
    """Every ``*.ipynb`` in the solutions folder, by name (file name without suffix).

    Parameters
    ----------
    solutions_dir : str or path

    Returns
    -------
    dict of str -> Exercise
        Each with its solution, its released (student) version and a digest.

    Used in: grading, ``coursekit release`` and the exercise tests.
    """
    solutions_dir = Path(solutions_dir)
    paths = sorted(solutions_dir.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no solution notebooks (*.ipynb) in {solutions_dir}")
    exercises = {}
    for path in paths:
        solution = read_notebook(path)
        exercises[path.stem] = Exercise(
            name=path.stem,
            solution=solution,
            released=release(solution),
            digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        )
    return exercises


def find_submissions(submissions_dir, exercises) -> list[Submission]:
    """One Submission per (student, exercise), including the missing ones."""
    root = Path(submissions_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"the submissions folder {root} does not exist")
    students = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    flat = sorted(p for p in root.glob("*.ipynb"))
    submissions = []
    if flat and not students:
        if len(exercises) != 1:
            raise ValueError(
                f"{root} holds notebooks directly, which works only with a single exercise; "
                f"there are {len(exercises)} ({', '.join(exercises)}): use one folder per student"
            )
        (name,) = exercises
        return [Submission(p.stem, name, p) for p in flat]
    for folder in students:
        notebooks = sorted((p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts),
                           key=lambda p: (len(p.parts), str(p)))
        for name in exercises:
            exact = [p for p in notebooks if p.stem == name]
            # Colab and browsers rename downloads: "Copy of 01_convolution", "01_convolution (1)".
            renamed = [p for p in notebooks if name in p.stem and p.stem != name]
            found = exact or renamed
            submissions.append(Submission(folder.name, name, found[0] if found else None))
    return submissions


def grade_folder(submissions_dir, out_dir, solutions_dir="solutions", cell_timeout=30.0,
                 jobs=None, memory_mb=2048, progress=True, exercise=None):
    """Grade every submission against the solutions; write the grade table and feedback.

    Parameters
    ----------
    submissions_dir : str or path
        One folder per student, or ``<student>.ipynb`` files for a single exercise.
    out_dir : str or path
        Receives ``grades.csv``, ``feedback/<student>/<exercise>.html``,
        ``summary.png`` and the per-submission results in ``.results/``.
    solutions_dir : str or path, optional
        The nbgrader-format solution notebooks: the only source of tests and points.
    cell_timeout : float, optional
        Seconds one cell may run.
    jobs : int, optional
        Notebooks run at once; all cores by default.
    memory_mb : int, optional
        Memory one notebook may allocate.
    progress : bool, optional
        Show a progress bar.
    exercise : str, optional
        Grade only this exercise (a solution's file name without ``.ipynb``).

    Returns
    -------
    list of dict
        One row per student and exercise: ``student``, ``exercise``, ``status``,
        ``scores`` (per graded cell: ``points``, ``max``, ``message``), ``total``,
        ``max`` and ``notes``. Rows of earlier runs into the same `out_dir` that this
        run did not cover are kept.

    Used in: ``coursekit grade`` and ``make grade``.
    """
    exercises = all_exercises = load_exercises(solutions_dir)
    if exercise is not None:
        if exercise not in exercises:
            raise ValueError(f"The parameter `exercise` must be one of {', '.join(exercises)}; got {exercise!r}")
        exercises = {exercise: exercises[exercise]}
    submissions = find_submissions(submissions_dir, exercises)
    out_dir = Path(out_dir)
    store = out_dir / ".results"
    store.mkdir(parents=True, exist_ok=True)
    settings = json.dumps({"timeout": cell_timeout, "memory": memory_mb, "v": GRADER_VERSION})

    results, to_run, pending = {}, [], {}
    for sub in submissions:
        key = (sub.student, sub.exercise)
        ex = exercises[sub.exercise]
        if sub.path is None:
            results[key] = _save(store, sub, None, _row(sub, ex, "missing", {}, ["no notebook handed in"]))
            continue
        digest = hashlib.sha256(sub.path.read_bytes() + ex.digest.encode() + settings.encode()).hexdigest()
        cached = _load_cached(store, sub, digest)
        if cached is not None:
            results[key] = cached
            continue
        notes = [] if sub.path.stem == sub.exercise else [f"graded {sub.path.name}, named differently"]
        try:
            assembled = assemble(ex.solution, ex.released, read_notebook(sub.path))
        except Exception as error:  # untrusted content: anything unreadable is this row's problem only
            message = str(error) if isinstance(error, NotebookError) else f"{sub.path} is malformed: {error!r}"
            results[key] = _save(store, sub, digest, _row(sub, ex, "invalid-notebook", {}, notes + [message]))
            continue
        assembled.notes[:0] = notes
        pending[key] = (sub, digest, assembled)
        to_run.append((key, [source for _, _, source in assembled.cells]))

    if to_run:
        from .runner import run_all

        bar = _progress_bar(len(to_run), progress)

        def on_done(key, run):
            sub, digest, assembled = pending[key]
            ex = exercises[sub.exercise]
            row = _row(sub, ex, run.status, _scores(ex, assembled, run), assembled.notes + run.notes)
            # Failures that a busy machine can cause are not kept: the next run tries again.
            results[key] = _save(store, sub, digest if run.status == "ok" else None, row)
            bar.update(1)

        run_all(to_run, cell_timeout=cell_timeout, memory_mb=memory_mb, workers=jobs, on_done=on_done)
        bar.close()

    rows = [results[(s.student, s.exercise)] for s in submissions]
    for row in rows:
        feedback.write_page(out_dir / "feedback" / row["student"] / f"{row['exercise']}.html", row)
    every_row = rows + _earlier_rows(store, set(results))
    every_row.sort(key=lambda r: (r["student"], r["exercise"]))
    _write_csv(out_dir / "grades.csv", every_row, all_exercises)
    feedback.summary_plot(out_dir / "summary.png", rows, exercises)
    return every_row


def _earlier_rows(store, covered):
    """Rows saved by earlier runs for (student, exercise) pairs this run did not grade."""
    rows = []
    for path in sorted(store.glob("*/*.json")):
        try:
            row = json.loads(path.read_text())["row"]
        except (OSError, ValueError, KeyError):
            continue
        if (row.get("student"), row.get("exercise")) not in covered:
            rows.append(row)
    return rows


def _scores(exercise, assembled, run):
    """Per graded cell: earned points, maximum, and the message shown to the student."""
    errors = {c.index: c.error for c in run.cells}
    test_index = {grade_id: i for i, (kind, grade_id, _) in enumerate(assembled.cells) if kind == "test"}
    hidden = _hidden_lines(exercise.solution)
    scores = {}
    for cell in exercise.graded:
        index = test_index.get(cell.grade_id)
        if not cell.autograded or index is None:
            scores[cell.grade_id] = {"points": None, "max": cell.points, "message": "graded by hand"}
        elif index not in errors:
            scores[cell.grade_id] = {"points": 0.0, "max": cell.points,
                                     "message": "not run: the notebook stopped before this test"}
        elif errors[index] is None:
            scores[cell.grade_id] = {"points": cell.points, "max": cell.points, "message": None}
        else:
            scores[cell.grade_id] = {"points": 0.0, "max": cell.points,
                                     "message": _student_message(errors[index], cell.hidden_tests, hidden)}
    return scores


def _hidden_lines(solution):
    lines = set()
    for cell in solution.cells:
        for block in cell.source.split("### BEGIN HIDDEN TESTS")[1:]:
            lines.update(line.strip() for line in block.split("### END HIDDEN TESTS")[0].splitlines())
    return {line for line in lines if len(line) >= 8}


def _student_message(error, has_hidden_tests, hidden_lines):
    """The failing test's message, never its source (even if the submission's error quotes it)."""
    name, value = error["ename"], error["evalue"].strip()
    if any(line in value for line in hidden_lines):
        value = "(message withheld: it quotes the hidden tests)"
    if len(value) > 500:
        value = value[:500] + " ..."
    text = f"{name}: {value}" if value else name
    if name == "AssertionError" and not value and has_hidden_tests:
        text += " (a hidden test failed)"
    return text


def _row(sub, exercise, status, scores, notes):
    row = {"student": sub.student, "exercise": sub.exercise, "status": status, "scores": {}, "notes": list(notes)}
    total = 0.0
    for cell in exercise.graded:
        score = scores.get(cell.grade_id, {"points": 0.0, "max": cell.points, "message": "not graded: " + status})
        row["scores"][cell.grade_id] = score
        total += score["points"] or 0.0
    row["total"] = total
    row["max"] = sum(cell.points for cell in exercise.graded)
    return row


def _result_path(store, sub):
    return store / sub.student / f"{sub.exercise}.json"


def _load_cached(store, sub, digest):
    path = _result_path(store, sub)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return saved["row"] if saved.get("digest") == digest and digest is not None else None


def _save(store, sub, digest, row):
    path = _result_path(store, sub)
    atomic_write(path, json.dumps({"digest": digest, "row": row}, indent=1))
    return row


def _write_csv(path, rows, exercises):
    columns = []
    for exercise in exercises.values():
        columns += [c.grade_id for c in exercise.graded if c.grade_id not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "exercise", *columns, "total", "max", "status", "notes"])
    for row in rows:
        cells = []
        for column in columns:
            score = row["scores"].get(column)
            cells.append("" if score is None or score["points"] is None else _number(score["points"]))
        writer.writerow([row["student"], row["exercise"], *cells, _number(row["total"]),
                         _number(row["max"]), row["status"], "; ".join(row["notes"])])
    atomic_write(path, buffer.getvalue())


def _number(value):
    return f"{value:g}"


def _progress_bar(total, enabled):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the grader forks processes
    return tqdm(total=total, desc="grading", unit="notebook", disable=not enabled)
