"""From the two runs of a notebook to its :class:`Outcome`: points, messages, status.

Each submission runs twice. The *visible* run has the tests students see (hidden
tests removed, as in the release); its error messages may become feedback. The
*full* run has every test; from it the grader takes only numbers: whether each
test cell passed, and its status. No text produced in a process that has seen a
hidden test reaches any feedback: a cell that passed its visible tests but not
the full ones shows its points and, when the error is one the instructor wrote
in that test cell (an ``assert``'s message, an ``err_msg=``), that message, taken
from the solution, with any ``{...}`` value left out.

A test cell earns its points when it passed in both runs (an honest notebook that
passes all tests passes the visible ones too).

Used in: ``coursekit grade``.
"""

from __future__ import annotations

import ast
import re

from .notebooks import cell_source, nbgrader_meta
from .records import Job, Outcome, Score, Status
from .runner import TAMPERED_NAME, TIMEOUT_NAME, InstructorCode

__all__ = ["instructor_messages", "score_runs", "unrun"]

_MESSAGE_LIMIT = 500


def unrun(exercise, status: Status, notes) -> Outcome:
    """The outcome of a notebook that was not run (nothing handed in, unreadable, needs review)."""
    scores = []
    for cell in exercise.graded:
        if not cell.autograded:
            scores.append(Score(cell.grade_id, cell.points, None, "to grade by hand"))
        elif status is Status.NEEDS_REVIEW:
            scores.append(Score(cell.grade_id, cell.points, None, "to grade by hand: the notebook needs review"))
        else:
            scores.append(Score(cell.grade_id, cell.points, 0.0, f"not graded: {status.meaning}"))
    return Outcome(status, tuple(scores), tuple(notes))


def score_runs(exercise, job: Job, visible, full=None) -> Outcome:
    """Combine the visible run (messages) and the full run (numbers) into an outcome.

    Parameters
    ----------
    exercise : Exercise
    job : Job
    visible, full : runner.RunResult
        `full` is None when the exercise has no hidden tests.
    """
    seen = {c.index: c.error for c in visible.cells}
    counted = seen if full is None else {c.index: c.error for c in full.cells}
    visible_status = Status(visible.status)
    full_status = visible_status if full is None else Status(full.status)
    status = visible_status if visible_status is not Status.OK else full_status
    notes = list(job.notes) + list(visible.notes)
    tampering = list(visible.tampering)
    if full is not None and full_status is not visible_status and full_status is not Status.OK:
        notes.append(f"in the run with the hidden tests: {full_status.meaning}")  # only the grader's words
        if full_status is Status.TAMPERED:  # what it found is text from that process: not shown
            tampering.append("the machinery was changed in the run with the hidden tests")
    notes += _cell_notes(job, visible)
    hidden = _hidden_lines(exercise.solution)
    scores = []
    for cell in exercise.graded:
        index = job.tests.get(cell.grade_id)
        if not cell.autograded or index is None:
            scores.append(Score(cell.grade_id, cell.points, None, "to grade by hand"))
        elif status is Status.TAMPERED:
            scores.append(Score(cell.grade_id, cell.points, None, "withheld for review: " + status.meaning))
        elif index not in seen:
            scores.append(Score(cell.grade_id, cell.points, 0.0, "not run: the notebook stopped before this test"))
        elif _setup_failed(job.visible, seen, index) or (full is not None and _setup_failed(job.full, counted, index)):
            scores.append(Score(cell.grade_id, cell.points, 0.0, _SETUP_FAILED))
        elif seen[index] is not None and _unanswered(job, seen, index):
            scores.append(Score(cell.grade_id, cell.points, 0.0, _NOT_ANSWERED))
        elif seen[index] is not None:
            scores.append(Score(cell.grade_id, cell.points, 0.0, _student_message(seen[index], hidden)))
        elif index not in counted:
            scores.append(Score(cell.grade_id, cell.points, 0.0,
                                "not run in the run with the hidden tests: the notebook stopped before this test"))
        elif counted[index] is not None:
            message = "failed in the run with the hidden tests"
            known = _instructors_words(exercise.solution, cell.grade_id, counted[index])
            scores.append(Score(cell.grade_id, cell.points, 0.0, f"{message}: {known}" if known else message))
        else:
            scores.append(Score(cell.grade_id, cell.points, cell.points, None))
    return Outcome(status, tuple(scores), tuple(notes), visible.sandbox, tuple(tampering))


_SETUP_FAILED = "not scored: the exercise's setup, run again right before this test, failed"
_NOT_ANSWERED = "not answered yet: the answer above it still raises NotImplementedError"


def _unanswered(job, errors, index) -> bool:
    """Whether a cell of the student's between the previous test and the test at `index`
    still raises NotImplementedError, the release's placeholder: the test's own error (a
    NameError, or the placeholder again) then says less than "not answered yet"."""
    tests = sorted(i for i in job.tests.values() if i < index)
    start = tests[-1] + 1 if tests else 0
    return any(not isinstance(job.visible[position], InstructorCode)
               and (errors.get(position) or {}).get("ename") == "NotImplementedError"
               for position in range(start, index))


def _setup_failed(sources, errors, index) -> bool:
    """Whether a cell of the exercise's own code (the setup, run again right before every
    test) raised just before the test at `index`.

    The test would then see the names as the notebook left them, not as the setup makes
    them: a notebook that made the setup fail (a ``%pip`` magic of its own, which the
    setup's Colab branch calls) had its own always-agreeing ``np`` in every test (a fifth
    red team). The exercise's code does not fail unless the notebook makes it fail.
    """
    position = index - 1
    while position >= 0 and isinstance(sources[position], InstructorCode) and not sources[position].test:
        if errors.get(position) is not None:
            return True
        position -= 1
    return False


def _cell_notes(job, visible) -> list[str]:
    """Notes naming the cells of the visible run that stopped or failed outside the tests.

    A test that fails afterwards only for want of a name (a ``NameError``) would otherwise
    hide the cause: an answer cell that looped past its time limit, or raised. Cells are
    named by the test that follows them, since assembling the notebook renumbers cells.
    The notebook chose the error's name and text, so a note holds neither: only a name
    that reads as a Python identifier, and for a timeout the grader's own words.
    """
    tests = {index: grade_id for grade_id, index in job.tests.items()}
    passed = {cell.index for cell in visible.cells if not cell.error}
    notes = []
    for cell in visible.cells:
        if not cell.error or cell.index in tests or cell.error.get("ename") == TAMPERED_NAME:
            continue  # tampering has notes of its own
        following = min((i for i in tests if i > cell.index), default=None)
        where = (f"a cell before the test `{tests[following]}`" if following is not None
                 else "a cell after the last test")
        name = str(cell.error.get("ename", ""))
        if name == TIMEOUT_NAME:
            notes.append(f"{where} was stopped at its time limit")
        elif name == "NotImplementedError" and following not in passed:
            # Unless the test then passes: a placeholder left above an answer written in a
            # cell of its own raises too (a thirtieth red team).
            notes.append(f"{where} is not answered yet (it raises NotImplementedError)")
        else:
            notes.append(f"{where} raised {name if _IDENTIFIER.fullmatch(name) else 'an exception'}")
    return notes[:3] + ([f"and {len(notes) - 3} more cells failed"] if len(notes) > 3 else [])


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")


def instructor_messages(source: str) -> list[tuple[tuple[str, ...], str]]:
    """The messages an instructor wrote in a test cell: (literal pieces an error message holds in
    this order, text shown).

    ``assert ..., "message"`` and ``err_msg=``/``msg=`` arguments count; an f-string's
    values may be anything and show as "…".

    >>> instructor_messages('assert x == 1, f"x is {x}, not 1"')
    [(('x is ', ', not 1'), 'x is …, not 1')]
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    nodes = [n.msg for n in ast.walk(tree) if isinstance(n, ast.Assert) and n.msg is not None]
    nodes += [k.value for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords
              if k.arg in ("err_msg", "msg")]
    messages = []
    for node in nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            parts = [node.value]
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else None for v in node.values]
        else:
            continue
        text = "".join("…" if p is None else p for p in parts).strip()
        if text.strip("… "):
            messages.append((tuple(p for p in parts if p), text))
    return messages


def _holds(value: str, pieces) -> bool:
    """Whether `value` holds the pieces in order, anything between them (linear: no regex to
    backtrack on a message the notebook chose)."""
    position = 0
    for piece in pieces:
        position = value.find(piece, position)
        if position < 0:
            return False
        position += len(piece)
    return True


def _instructors_words(solution, grade_id, error) -> str | None:
    """The instructor's message that a failed cell's error carries, from the solution; else None."""
    value = str(error.get("evalue", "")) if isinstance(error, dict) else ""
    source = next(cell_source(c) for c in solution.cells if nbgrader_meta(c).get("grade_id") == grade_id)
    matching = [text for pieces, text in instructor_messages(source) if _holds(value, pieces)]
    return max(matching, key=len) if matching else None


def _hidden_lines(solution) -> set[str]:
    lines = set()
    for cell in solution.cells:
        for block in cell.source.split("### BEGIN HIDDEN TESTS")[1:]:
            lines.update(line.strip() for line in block.split("### END HIDDEN TESTS")[0].splitlines())
    return {line for line in lines if len(line) >= 8}


def _student_message(error, hidden_lines) -> str:
    """A failing test's message from the visible run. That run never saw a hidden test; a
    message quoting one anyway (read from a disk the sandbox should have hidden) is withheld."""
    name, value = str(error.get("ename", "Error")), str(error.get("evalue", "")).strip()
    if any(line in value for line in hidden_lines):
        value = "(message withheld: it quotes the hidden tests)"
    if len(value) > _MESSAGE_LIMIT:
        value = value[:_MESSAGE_LIMIT] + " ..."
    return f"{name}: {value}" if value else name
