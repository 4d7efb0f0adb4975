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
import os
from dataclasses import dataclass
from pathlib import Path

from . import feedback
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
    """Every ``*.ipynb`` in the solutions folder, by name (file name without suffix)."""
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
        for name in exercises:
            found = sorted(
                (p for p in folder.rglob(f"{name}.ipynb") if ".ipynb_checkpoints" not in p.parts),
                key=lambda p: (len(p.parts), str(p)),
            )
            submissions.append(Submission(folder.name, name, found[0] if found else None))
    return submissions


def grade_folder(submissions_dir, out_dir, solutions_dir="solutions", cell_timeout=30.0,
                 jobs=None, memory_mb=2048, progress=True):
    """Grade every submission; write grades.csv, feedback/ and summary.png into `out_dir`.

    Returns the list of result rows (dicts), one per student and exercise.
    """
    exercises = load_exercises(solutions_dir)
    submissions = find_submissions(submissions_dir, exercises)
    out_dir = Path(out_dir)
    store = out_dir / ".results"
    store.mkdir(parents=True, exist_ok=True)
    settings = json.dumps({"timeout": cell_timeout, "memory": memory_mb, "v": GRADER_VERSION})

    results, to_run, notes = {}, [], {}
    for sub in submissions:
        key = (sub.student, sub.exercise)
        exercise = exercises[sub.exercise]
        if sub.path is None:
            results[key] = _row(sub, exercise, "missing", {}, ["no notebook handed in"])
            continue
        raw = sub.path.read_bytes()
        digest = hashlib.sha256(raw + exercise.digest.encode() + settings.encode()).hexdigest()
        cached = _load_cached(store, sub, digest)
        if cached is not None:
            results[key] = cached
            continue
        try:
            notebook = read_notebook(sub.path)
            assembled = assemble(exercise.solution, exercise.released, notebook)
        except NotebookError as error:
            results[key] = _save(store, sub, digest, _row(sub, exercise, "invalid-notebook", {}, [str(error)]))
            continue
        notes[key] = (digest, assembled)
        to_run.append((key, [source for _, _, source in assembled.cells]))

    if to_run:
        from .runner import run_all  # starts the fork server only when there is work

        bar = _progress_bar(len(to_run), progress)

        def on_done(key, run):
            digest, assembled = notes[key]
            sub = next(s for s in submissions if (s.student, s.exercise) == key)
            exercise = exercises[sub.exercise]
            passed = _scores(exercise, assembled, run)
            results[key] = _save(store, sub, digest, _row(sub, exercise, run.status, passed, assembled.notes))
            bar.update(1)

        run_all(to_run, cell_timeout=cell_timeout, memory_mb=memory_mb, workers=jobs, on_done=on_done)
        bar.close()

    rows = [results[(s.student, s.exercise)] for s in submissions]
    _write_csv(out_dir / "grades.csv", rows, exercises)
    for row in rows:
        feedback.write_page(out_dir / "feedback" / row["student"] / f"{row['exercise']}.html", row)
    feedback.summary_plot(out_dir / "summary.png", rows, exercises)
    return rows


def _scores(exercise, assembled, run):
    """Per test cell: (earned points, error shown to the student or None)."""
    errors = {c.index: c.error for c in run.cells}
    executed = {c.index for c in run.cells}
    by_id = {}
    for index, (kind, grade_id, _) in enumerate(assembled.cells):
        if kind == "test":
            by_id[grade_id] = index
    scores = {}
    for cell in exercise.graded:
        if not cell.autograded:
            scores[cell.grade_id] = {"points": None, "max": cell.points, "message": "graded by hand"}
            continue
        index = by_id[cell.grade_id]
        if index not in executed:
            message = "not run: the notebook stopped before this test"
            scores[cell.grade_id] = {"points": 0.0, "max": cell.points, "message": message}
        elif errors[index] is None:
            scores[cell.grade_id] = {"points": cell.points, "max": cell.points, "message": None}
        else:
            scores[cell.grade_id] = {"points": 0.0, "max": cell.points,
                                     "message": _student_message(errors[index], cell.hidden_tests)}
    return scores


def _student_message(error, has_hidden_tests):
    """The failing test's message, never its source."""
    name, value = error["ename"], error["evalue"].strip()
    if name == "_CellTimeout":
        name = "Timeout"
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
    return saved["row"] if saved.get("digest") == digest else None


def _save(store, sub, digest, row):
    path = _result_path(store, sub)
    atomic_write(path, json.dumps({"digest": digest, "row": row}, indent=1))
    return row


def atomic_write(path, text):
    """Write a file so that readers see the old content or the new, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
