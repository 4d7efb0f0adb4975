"""Matching a submission to its exercise, and building the cells to run for it.

A submission is untrusted: cells may be edited, deleted, moved, re-marked, and
their nbgrader metadata may be gone altogether (some editors and Colab
workflows strip it). Tests, setup cells and points always come from the solution;
only the student's own code comes from the submission.

Each cell of the exercise is matched to a cell of the submission, in order
(a longest common subsequence): by ``grade_id`` when the submission cell has
nbgrader metadata, otherwise, for locked cells (setup, prompts, tests), by its
source. These matches are anchors. Between two anchors, the student's code cells
run in place of the exercise's answer cells there; a locked cell that was not
found (deleted or edited) runs from the solution at its own place. Only when
that place cannot be told (several answers and a missing test between them,
and nothing in the cells saying which answers which) is the notebook left for
review, which is nbgrader's own answer to a notebook it cannot match ("needs
manual grading", nbgrader issues #424 and #1398 ask for the recovery).

Used in: ``coursekit grade``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .notebooks import cell_source, nbgrader_meta, normalized, unanswered

__all__ = ["Cell", "Plan", "assemble", "tests_found"]

MAX_CELLS = 2000  # far beyond any exercise; matching more would cost the grader, not the student


@dataclass(frozen=True)
class Cell:
    """One code cell to run: ``kind`` is "student" (the submission's code), "test" or
    "locked" (both from the solution); ``visible`` is its source in the run without
    hidden tests, ``full`` in the run with them."""

    kind: str
    grade_id: str | None
    visible: str
    full: str


@dataclass(frozen=True)
class Plan:
    """The cells to run for a submission, what was noticed, and why it needs review (or None)."""

    cells: tuple[Cell, ...]
    notes: tuple[str, ...] = ()
    review: str | None = None

    def tests(self) -> dict[str, int]:
        """Index of each test cell, by grade_id."""
        return {c.grade_id: i for i, c in enumerate(self.cells) if c.kind == "test"}


@dataclass(frozen=True)
class _Ref:
    """A cell of the exercise: kind "answer", "test", "locked" or "free" (editable, no answer)."""

    kind: str
    grade_id: str | None
    cell_type: str
    released: str
    solution: str
    texts: frozenset  # both sources, normalized: what a student's unchanged copy may hold


@dataclass(frozen=True)
class _Sub:
    cell_type: str
    source: str
    text: str  # normalized
    grade_id: str | None  # only a grade_id the exercise has


def assemble(solution, released, submission) -> Plan:
    """Combine a student's code with the solution's tests.

    Parameters
    ----------
    solution : NotebookNode
        The instructor notebook: the only source of tests, hidden tests and points.
    released : NotebookNode
        The student version (same cells, in the same order): what an unanswered
        question contains and what the visible tests are.
    submission : NotebookNode
        The student's notebook, untrusted.

    Returns
    -------
    Plan
        Code cells in the solution's order, the student's code in its place.
    """
    refs = _references(solution, released)
    known = {r.grade_id for r in refs if r.grade_id}
    notes, subs, unknown = [], [], []
    for cell in submission.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id is not None and grade_id not in known:
            unknown.append(grade_id)
            grade_id = None
        source = cell_source(cell)
        subs.append(_Sub(str(cell.get("cell_type")), source, normalized(source), grade_id))
    if unknown:
        notes.append(f"{len(unknown)} cell(s) with a grade_id the exercise does not have ({unknown[0][:40]!r}, ...): "
                     "run as the student's own code")
    if len(subs) > MAX_CELLS:
        return Plan((), tuple(notes), f"the notebook has {len(subs)} cells, more than {MAX_CELLS}")
    with_metadata = any(s.grade_id for s in subs)
    if not with_metadata:
        notes.append("the notebook has no nbgrader metadata (an editor or Colab removed it): "
                     "its cells were matched to the exercise by content and position")

    cells = []
    review = []
    anchors = _align(refs, subs)
    previous = (-1, -1)
    for r, s in anchors + [(len(refs), len(subs))]:
        gap_refs, gap_subs = refs[previous[0] + 1:r], subs[previous[1] + 1:s]
        reason = _fill_gap(gap_refs, gap_subs, cells, notes)
        if reason:
            review.append(reason)
        if r < len(refs):
            _add_anchor(refs[r], subs[s], cells, notes)
        previous = (r, s)

    tests = [r for r in refs if r.kind == "test"]
    found = {refs[r].grade_id for r, _ in anchors if refs[r].kind == "test"}
    if not with_metadata and tests and len(found) * 2 < len(tests):  # the root cause of any other doubt
        review = [f"only {len(found)} of the exercise's {len(tests)} test cells were found in it: "
                  "it may not be this exercise's notebook"]
    if unanswered(submission, released):  # told apart from an attempt that got everything wrong
        notes.append("not attempted: the notebook is the released exercise, with no answer")
    return Plan(_setup_before_tests(cells, refs), tuple(notes), "; ".join(review) or None)


def _setup_before_tests(cells, refs) -> tuple[Cell, ...]:
    """The cells with the exercise's setup run again right before every test.

    The setup is the solution's locked code cells before its first answer: the imports
    and the data that the questions and their tests share (``np``, the image ``I``).
    An answer, or a function of the student's that a test calls, may rebind those names
    (``np`` to a module whose ``isclose`` always agrees, the mask a test compares with
    to zeros); run again, the setup gives each test the originals. It is taken from the
    solution, so that no cell of the student's (above the setup, say) can leave it out.
    """
    setup = []
    for ref in refs:
        if ref.kind == "answer":
            break
        if ref.kind == "locked" and ref.cell_type == "code":
            setup.append(Cell("locked", None, ref.released, ref.solution))
    if not setup:
        return tuple(cells)
    planned = []
    for cell in cells:
        if cell.kind == "test":
            planned += setup
        planned.append(cell)
    return tuple(planned)


def tests_found(notebook, solution, released) -> tuple[int, int]:
    """How many of the exercise's test cells a notebook holds (by grade_id or source), of how many."""
    refs = [r for r in _references(solution, released) if r.kind == "test"]
    ids = {nbgrader_meta(c).get("grade_id") for c in notebook.cells}
    sources = {normalized(cell_source(c)) for c in notebook.cells}
    found = sum(r.grade_id in ids or bool(r.texts & sources) for r in refs)
    return found, len(refs)


def _references(solution, released) -> list[_Ref]:
    if len(solution.cells) != len(released.cells):
        raise ValueError("the released notebook does not have the solution's cells")
    refs = []
    for cell, student_version in zip(solution.cells, released.cells):
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            kind = "answer"
        elif meta.get("grade") and cell.cell_type == "code":
            kind = "test"
        elif meta.get("locked"):
            kind = "locked"
        else:
            kind = "free"
        given, full = cell_source(student_version), cell_source(cell)
        refs.append(_Ref(kind, meta.get("grade_id"), cell.cell_type, given, full,
                         frozenset({normalized(given), normalized(full)})))
    return refs


def _matches(ref: _Ref, sub: _Sub) -> bool:
    if sub.grade_id is not None:
        return sub.grade_id == ref.grade_id
    if ref.kind == "answer" or ref.cell_type != sub.cell_type:
        return False  # answers differ from student to student: only metadata identifies them
    return bool(sub.text) and sub.text in ref.texts


def _align(refs, subs) -> list[tuple[int, int]]:
    """The longest in-order matching of exercise cells to submission cells."""
    n, m = len(refs), len(subs)
    length = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if _matches(refs[i], subs[j]):
                length[i][j] = length[i + 1][j + 1] + 1
            else:
                length[i][j] = max(length[i + 1][j], length[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if _matches(refs[i], subs[j]) and length[i][j] == length[i + 1][j + 1] + 1:
            if refs[i].kind == "test":
                j = _best_copy(refs, subs, length, pairs[-1] if pairs else (-1, -1), i, j)
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif length[i + 1][j] >= length[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _best_copy(refs, subs, length, previous, i, j) -> int:
    """Which of the student's copies of test `i` to match, from `j` on, among those that keep
    the matching longest: the first after which the student's cells define (at their top
    level) every name the answers before the test define, or failing that the one after the
    most of them.

    A copy pasted above its answer would otherwise be taken for the test, and the answer
    after it for the next question's (a thirtieth red team: 6 points lost, with "answer not
    found", in a notebook without metadata). Only with two such copies or more is any cell
    read, and no more than :data:`_MAX_READ` of them.
    """
    candidates = []
    for candidate in range(j, len(subs)):
        if length[i][candidate] < length[i][j]:
            break  # from here on no match of test `i` keeps the matching longest
        if _matches(refs[i], subs[candidate]) and length[i + 1][candidate + 1] + 1 == length[i][j]:
            candidates.append(candidate)
    if len(candidates) < 2:
        return j
    window = [sub.source for sub in subs[previous[1] + 1:candidates[-1]] if sub.cell_type == "code"]
    if sum(map(len, window)) > _MAX_READ:
        return j  # far more code than an exercise's answers: not read, the first copy is the test
    wanted = set().union(*(_defined_names(r.solution, top_level=True) for r in refs[previous[0] + 1:i] if r.kind == "answer"))
    if not wanted:
        return j
    best, best_found = j, -1
    defined = set()
    position = previous[1] + 1
    for candidate in candidates:
        for sub in subs[position:candidate]:
            if sub.cell_type == "code":
                defined |= _defined_names(sub.source, top_level=True)
        position = candidate
        found = len(wanted & defined)
        if found == len(wanted):
            return candidate
        if found > best_found:
            best, best_found = candidate, found
    return best


#: The most code :func:`_best_copy` reads before a test (characters): an exercise's answers
#: take a few thousand. Parsing runs at about 3 MB a second: a review's notebook of 650 cells,
#: 13 MB of copies, took 15 s to match without a bound.
_MAX_READ = 200_000


def _add_anchor(ref: _Ref, sub: _Sub, cells, notes):
    """A matched pair: the solution's cell for tests and locked cells, the student's otherwise."""
    if ref.kind in ("test", "locked"):
        if ref.cell_type != "code":
            return
        if sub.text not in ref.texts:
            if ref.kind == "locked" and sub.cell_type == "code":
                # Colab does not enforce locks: a student who added an import to the setup
                # relies on it. Their version runs as their own code, then the original.
                notes.append(f"{_name(ref)} was edited: the student's version ran, then the original")
                cells.append(Cell("student", None, sub.source, sub.source))
            else:
                notes.append(f"{_name(ref)} was edited: the original was run")
        cells.append(Cell(ref.kind, ref.grade_id, ref.released, ref.solution))
    elif sub.cell_type == "code":
        cells.append(Cell("student", ref.grade_id, sub.source, sub.source))
    elif ref.kind == "answer" and ref.cell_type == "code":
        notes.append(f"answer cell {ref.grade_id!r} is not a code cell: counted as unanswered")


def _fill_gap(refs, subs, cells, notes) -> str | None:
    """Between two anchors: the student's code cells in place of the exercise's answers there,
    and the locked cells that were not found at their own place. Returns why it is ambiguous."""
    student = [s.source for s in subs if s.cell_type == "code"]
    slots = [r for r in refs if r.cell_type == "code" and r.kind in ("answer", "free", "test", "locked")]
    answers = [r for r in slots if r.kind in ("answer", "free")]
    fixed = [r for r in slots if r.kind in ("test", "locked")]
    for ref in fixed:
        notes.append(f"{_name(ref)} was not found (deleted, moved or edited): the original was run")
    if answers and not student:
        notes += [f"answer cell {r.grade_id!r} was not found: counted as unanswered"
                  for r in answers if r.kind == "answer"]
    leading = [] if answers else student  # no answer here: the student's cells run first
    if not fixed or len(answers) <= 1:
        segments = {id(answers[0]): student} if answers else {}
    else:
        segments = _split_by_names(answers, student)
        if segments is None and len(student) == len(answers):
            segments = {id(r): [source] for r, source in zip(answers, student)}
        if not segments:
            where = ", ".join(repr(r.grade_id) for r in answers)
            return f"cannot tell which of the student's cells answer {where}, with a cell between them missing"
    cells.extend(Cell("student", None, source, source) for source in leading)
    for ref in slots:
        if ref.kind in ("test", "locked"):
            cells.append(Cell(ref.kind, ref.grade_id, ref.released, ref.solution))
        else:
            grade_id = ref.grade_id if ref.kind == "answer" else None
            cells.extend(Cell("student", grade_id, source, source) for source in segments.get(id(ref), []))
    return None


def _split_by_names(answers, student):
    """Assign each student cell to the answer whose solution defines the same names, in order;
    cells defining none follow the one before. {} when the names contradict that order (a cell
    defines two answers' names, or goes back), None when they do not settle every answer."""
    wanted = [_defined_names(r.solution) for r in answers]
    segments = {id(r): [] for r in answers}
    current = 0
    for source in student:
        names = _defined_names(source)
        owners = [k for k, w in enumerate(wanted) if names & w]
        if len(owners) > 1 or (owners and owners[0] < current):
            return {}
        if owners:
            current = owners[0]
        segments[id(answers[current])].append(source)
    if any(not segments[id(r)] for r in answers if r.kind == "answer"):
        return None
    return segments


def _defined_names(source, top_level=False) -> set[str]:
    """The public names a cell defines (functions, classes, assigned names) anywhere in it, or
    only at its `top_level`, where the names a test reads are defined."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif top_level and isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {name for name in names if not name.startswith("_")}


def _name(ref: _Ref) -> str:
    return f"{'test' if ref.kind == 'test' else 'locked'} cell {ref.grade_id!r}"
