"""Grade a folder of submissions against ``solutions/``: the pipeline, in one direction.

    folder scan (submissions.py)   -> Submission  (student and notebook, from the folder only)
    matching (assembly.py)         -> Job         (cells to run with and without hidden tests)
    runner.run_all, twice a notebook -> scoring.py -> Outcome (kept in the result cache, cache.py)
    Submission + Outcome           -> Row         -> grades.csv, feedback pages, summary.png (writers.py)

Outcomes are saved as each notebook finishes: an interrupted run loses only the
notebooks in progress. ``grades.csv``, written last and in one step, always
describes the folder as it is now: a student no longer in it has no row.

Used in: ``coursekit grade`` and ``make grade``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import replace
from pathlib import Path

from .assembly import assemble
from .cache import ResultCache
from .exercises import exercise_names, load_exercises
from .hand import apply_hand_grades, check_todo, read_hand_grades, write_todo
from .notebooks import NotebookError, notebook_title, parse_notebook, question_titles
from .records import Job, Outcome, Report, Row, Status, Submission
from .runner import Helper, InstructorCode
from .sandbox import choose
from .scoring import score_runs, unrun
from .submissions import find_submissions
from .writers import (atomic_write, from_spreadsheet, write_csv, write_moodle_feedback, write_page,
                      write_summary, write_totals)

__all__ = ["grade_folder"]

_MAX_NOTEBOOK_BYTES = 64 << 20


def grade_folder(submissions_dir, out_dir, solutions_dir="solutions", cell_timeout=30.0, jobs=None,
                 memory_mb=2048, progress=True, exercise=None, retry_failed=False, sandbox="auto",
                 notebook_timeout=None, hand_grades=None, **run_options) -> Report:
    """Grade every submission against the solutions; write the grade table and feedback.

    Parameters
    ----------
    submissions_dir : str or path
        A folder per student, an LMS export (Canvas, Moodle), or ``<student>.ipynb``
        files for a single exercise: see :mod:`coursekit.grading.submissions`.
    out_dir : str or path
        Receives ``grades.csv``, ``feedback/<student>/<exercise>.html``,
        ``summary.png`` and the result cache ``.results/``. Must not be inside
        `submissions_dir`.
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
        Grade only this exercise (a solution's file name without ``.ipynb``);
        rows of the others are kept where the cache holds a result for the
        student's current notebook.
    retry_failed : bool, optional
        Run again the notebooks whose cached result is a failure a busy machine
        can cause (timeout, crash, out of memory).
    sandbox : {"auto", "required", "off"}, optional
        Run each notebook in a bubblewrap sandbox (:mod:`coursekit.grading.sandbox`).
        ``auto`` runs without it where it cannot work, and says so: on standard
        error, in the report, and in the ``sandbox`` column and notes of
        ``grades.csv``. ``required`` raises
        :class:`~coursekit.grading.sandbox.SandboxUnavailable` instead.
    notebook_timeout : float, optional
        Seconds one notebook may run in all; ``10 * cell_timeout`` by default.
    hand_grades : str or path, optional
        A CSV of points given by hand (:mod:`coursekit.grading.hand`), checked before
        anything runs. The questions still to grade by hand are listed in
        ``OUT/to-grade-by-hand.csv`` either way.
    **run_options
        Passed on to :func:`coursekit.grading.runner.run_all` (and part of the cache key).

    Returns
    -------
    Report
        ``rows``: one :class:`Row` per student and exercise, sorted, as in ``grades.csv``.

    Used in: ``coursekit grade`` and ``make grade``.
    """
    names = exercise_names(solutions_dir)
    if exercise is not None and exercise not in names:
        raise ValueError(f"The parameter `exercise` must be one of {', '.join(names)}; got {exercise!r}")
    out_dir = Path(out_dir)
    if out_dir.resolve().is_relative_to(Path(submissions_dir).resolve()):
        raise ValueError(f"the output folder {out_dir} is inside the submissions folder {submissions_dir}: "
                         "its files would be taken for a student's")
    if not Path(submissions_dir).is_dir():  # refused before anything is written to `out_dir`
        raise FileNotFoundError(f"the submissions folder {submissions_dir} does not exist")
    box = choose(sandbox)  # before anything runs: `required` refuses here
    # The mode actually used is part of the key: results of a run that fell back are
    # not reused once the sandbox works.
    cache = ResultCache(out_dir / ".results", {"cell_timeout": cell_timeout, "memory_mb": memory_mb,
                                               "sandbox": box.label, "notebook_timeout": notebook_timeout,
                                               **run_options})
    # The helper process starts now, so that its imports overlap the reading below; it is
    # ended unused when every result comes from the cache.
    helper = Helper(cell_timeout=cell_timeout, memory_mb=memory_mb, sandbox=sandbox,
                    notebook_timeout=notebook_timeout, processes=run_options.get("processes", 64))
    try:
        rows, to_run, not_graded, exercises, ignored, digests = _collect(
            submissions_dir, solutions_dir, exercise, cache, retry_failed,
            _not_handed_in(out_dir / "grades.csv") if exercise is not None else frozenset())
        given = {} if hand_grades is None else read_hand_grades(hand_grades, exercises)
        check_todo(out_dir, hand_grades)
        if to_run:
            _run(to_run, exercises, cache, rows, progress, cell_timeout=cell_timeout, memory_mb=memory_mb,
                 workers=jobs, sandbox=sandbox, notebook_timeout=notebook_timeout, helper=helper, **run_options)
    finally:
        helper.abandon()  # nothing left to end when it ran: run_all ended it

    ordered = [replace(rows[number], notebook=digests.get(number, ("", ""))[0], file=digests.get(number, ("", ""))[1])
               for number in sorted(rows)]
    ordered = apply_hand_grades(ordered, given, only=exercise)
    _check_hand_grades_kept(out_dir, hand_grades, ordered)
    check_todo(out_dir)  # again: points may have been typed into it while the class was graded
    _write_outputs(out_dir, ordered, exercises)
    previous = _students_in(out_dir / "grades.csv")
    write_csv(out_dir / "grades.csv", ordered, exercises)
    write_totals(out_dir / "totals.csv", ordered, exercises)
    pending = write_todo(out_dir, ordered)
    present = {row.student for row in ordered}
    return Report(ordered, ran=len(to_run), dropped=sorted(previous - present), ignored=ignored,
                  not_graded=not_graded, sandbox=box.label, unsandboxed_because=box.reason,
                  to_grade_by_hand=pending,
                  hand_grades_left_out=_remember_hand_grades(out_dir, hand_grades, ordered),
                  hand_grades=None if hand_grades is None else str(hand_grades))


#: In the output folder: the file of hand grades the last run that had one applied, and the
#: questions whose points it applied (JSON; a plain line, the file alone, from older runs).
_HAND_RECORD = ".hand-grades"


def _hand_record(out_dir):
    """The last run's record: ``(file, applied)``, `applied` a set of (student, exercise,
    question, notebook) or None when the record predates it; (None, None) without one."""
    try:
        text = (Path(out_dir) / _HAND_RECORD).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None, None
    try:
        record = json.loads(text)
        return record["file"], {tuple(entry) for entry in record["applied"]}
    except (ValueError, KeyError, TypeError):
        return text or None, None


def _given_by_hand(rows):
    """(student, exercise, question, notebook) of every point given by hand in `rows`."""
    return {(row.student, row.exercise, score.grade_id, row.notebook)
            for row in rows for score in row.scores if score.hand}


def _check_hand_grades_kept(out_dir, hand_grades, rows):
    """Refuse, before anything is written, a run that would drop points an earlier run gave
    by hand to a notebook still handed in: run with no hand-grades file, or with another
    file (a fresh copy of the list of questions left, say) that lacks their lines.

    A grade for a notebook handed in again is meant to go (the question is to grade again),
    and so is one for a student no longer in the folder.
    """
    earlier_file, applied = _hand_record(out_dir)
    if not applied:
        return
    now = {(row.student, row.exercise): row.notebook for row in rows}
    lost = sorted(key[:3] for key in applied - _given_by_hand(rows) if now.get(key[:2]) == key[3])
    if not lost:
        return
    listed = ", ".join(f"{student}'s {question} of {exercise}" for student, exercise, question in lost[:5])
    more = f" and {len(lost) - 5} more" if len(lost) > 5 else ""
    given = f"the hand-grades file {hand_grades} lacks" if hand_grades is not None else "this run was given no " \
        "hand-grades file, so it would drop"
    raise ValueError(
        f"an earlier run gave points by hand from {earlier_file}, and {given} {len(lost)} of them: {listed}{more}. "
        f"Add the new points to {earlier_file} and pass that file (--hand-grades); or, to drop those points "
        f"on purpose, delete {Path(out_dir) / _HAND_RECORD}. Nothing was written")


def _remember_hand_grades(out_dir, hand_grades, rows):
    """Record the hand-grades file of this run and the points it applied; or, for a run
    without one after an older run that recorded only its file, return that file (its
    points are not in this run's grades.csv), or None."""
    record = Path(out_dir) / _HAND_RECORD
    if hand_grades is not None:
        atomic_write(record, json.dumps({"file": str(Path(hand_grades).resolve()),
                                         "applied": sorted(_given_by_hand(rows))}) + "\n")
        return None
    earlier_file, applied = _hand_record(out_dir)
    return earlier_file if applied is None else None


def _collect(submissions_dir, solutions_dir, exercise, cache, retry_failed, missing_before=frozenset()):
    """Every submission's row from the cache, or its job to run: (rows, to_run, not_graded,
    exercises, ignored, digests), rows, jobs and (digest of the notebook's bytes, its path in the
    submissions folder) by the
    submission's number. `missing_before`: the (student, exercise) pairs that the last
    grades.csv said were not handed in."""
    exercises = load_exercises(solutions_dir, releases=cache)
    single = exercise or (next(iter(exercises)) if len(exercises) == 1 else None)
    submissions, ignored = find_submissions(submissions_dir, exercises, single)

    rows: dict[int, Row] = {}
    to_run: dict[int, Job] = {}
    not_graded = 0
    digests: dict[int, tuple[str, str]] = {}
    for number, submission in enumerate(submissions):
        ex = exercises[submission.exercise]
        in_scope = exercise in (None, submission.exercise)
        if submission.path is None:
            # With --exercise, another exercise's row saying it was not handed in is kept when the
            # last grades.csv had it, as graded rows are; a folder downloaded for one exercise
            # does not make every student's other exercises "not handed in".
            if in_scope or (submission.student, submission.exercise) in missing_before:
                rows[number] = Row.join(submission, unrun(ex, Status.NO_SUBMISSION, ()))
            continue
        data = _read(submission.path)
        if data is None:
            if in_scope:
                notes = ("the file could not be read, or is larger than 64 MB",)
                rows[number] = Row.join(submission, unrun(ex, Status.INVALID_NOTEBOOK, notes))
            continue
        digests[number] = ("nb-" + hashlib.sha256(data).hexdigest()[:12],  # a spreadsheet keeps it text
                           _relative(submission.path, submissions_dir))
        key = cache.key(data, ex)
        cached = _valid(cache.load(key), ex)
        if cached is not None and not (retry_failed and in_scope and cached.status.retryable):
            rows[number] = Row.join(submission, cached, reused=True)
        elif not in_scope:
            not_graded += 1
        else:
            prepared = _prepare(submission, ex, data, key)
            if isinstance(prepared, Outcome):
                cache.save(key, prepared)
                rows[number] = Row.join(submission, prepared)
            else:
                to_run[number] = prepared
    return rows, to_run, not_graded, exercises, ignored, digests


def _read(path) -> bytes | None:
    try:
        if path.stat().st_size > _MAX_NOTEBOOK_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _valid(outcome, exercise):
    """A cached outcome, if it scores exactly this exercise's questions."""
    if outcome is None or [s.grade_id for s in outcome.scores] != [c.grade_id for c in exercise.graded]:
        return None
    return outcome


def _prepare(submission: Submission, exercise, data: bytes, key: str) -> Job | Outcome:
    """The job that runs a submission, or its outcome when there is nothing to run."""
    try:
        plan = assemble(exercise.solution, exercise.released, parse_notebook(data, "the notebook"))
    except NotebookError as error:
        return unrun(exercise, Status.INVALID_NOTEBOOK, (str(error),))
    except Exception as error:  # untrusted content: anything malformed is this notebook's problem only
        return unrun(exercise, Status.INVALID_NOTEBOOK, (f"the notebook is malformed: {error!r}",))
    if plan.review:
        return unrun(exercise, Status.NEEDS_REVIEW, plan.notes + (f"needs review: {plan.review}",))
    tests = plan.tests()
    cells = plan.cells[:max(tests.values()) + 1] if tests else plan.cells  # what follows the last test scores nothing
    def sources(which):
        # The exercise's own cells (tests, setup) run apart from IPython (runner.InstructorCode).
        return tuple(InstructorCode(getattr(c, which), test=c.kind == "test") if c.kind in ("test", "locked")
                     else getattr(c, which) for c in cells)

    full = sources("full") if exercise.has_hidden_tests else None
    return Job(submission, key, sources("visible"), full, tests, plan.notes)


def _run(to_run, exercises, cache, rows, progress, **run_all_options):
    """Run each job's visible and full versions; save each outcome as soon as both are in."""
    from .runner import run_all

    runs: dict[int, dict] = {}
    bar = _progress_bar(len(to_run), progress)

    def on_done(key, run):
        number, phase = key
        runs.setdefault(number, {})[phase] = run
        job = to_run[number]
        if len(runs[number]) < (1 if job.full is None else 2):
            return
        outcome = score_runs(exercises[job.submission.exercise], job, runs[number]["visible"],
                             runs[number].get("full"))
        cache.save(job.key, outcome)
        rows[number] = Row.join(job.submission, outcome)
        bar.update(1)

    work = []
    for number, job in to_run.items():  # both runs of a notebook side by side: each finishes early
        work.append(((number, "visible"), job.visible))
        if job.full is not None:
            work.append(((number, "full"), job.full))
    try:
        run_all(work, on_done=on_done, **run_all_options)
    finally:
        bar.close()


def _write_outputs(out_dir, rows, exercises):
    """Feedback pages for these rows (and none for anyone else), then the summary plot."""
    feedback = out_dir / "feedback"
    pages = {}
    titles = {name: question_titles(exercise.solution) for name, exercise in exercises.items()}
    headings = {name: notebook_title(exercise.solution) for name, exercise in exercises.items()}
    for row in rows:
        path = feedback / row.student / f"{row.exercise}.html"
        write_page(path, row, titles.get(row.exercise), headings.get(row.exercise))
        pages[row.student, row.exercise] = path
    written = set(pages.values())
    for page in feedback.glob("*/*.html"):
        if page not in written:  # a student who left, or an exercise with no result any more
            page.unlink()
    for folder in feedback.glob("*"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    write_moodle_feedback(out_dir / "moodle", rows, pages)
    graded = {name: ex for name, ex in exercises.items() if any(r.exercise == name for r in rows)}
    write_summary(out_dir / "summary.png", rows, graded)


def _relative(path, folder):
    """`path` as found in the submissions `folder`, for the instructor to open."""
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return str(path)


def _not_handed_in(table) -> frozenset:
    """The (student, exercise) pairs of `table`'s rows with the status no-submission."""
    try:
        with open(table, newline="", encoding="utf-8") as handle:
            return frozenset((from_spreadsheet(line["student"]), line["exercise"]) for line in csv.DictReader(handle)
                             if line.get("status") == Status.NO_SUBMISSION.value)
    except (OSError, ValueError, KeyError, csv.Error):
        return frozenset()


def _students_in(table) -> set[str]:
    try:
        with open(table, newline="", encoding="utf-8") as handle:
            return {from_spreadsheet(line["student"]) for line in csv.DictReader(handle) if line.get("student")}
    except (OSError, ValueError, KeyError, csv.Error):
        return set()


def _progress_bar(total, enabled):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the grader forks processes
    return tqdm(total=total, desc="grading", unit="notebook", disable=not enabled)
