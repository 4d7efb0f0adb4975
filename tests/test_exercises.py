"""Every exercise is in nbgrader's format, in sync with its solution, and non-vacuous.

An exercise plugs into these checks by adding `solutions/NN_topic.ipynb`, running
`make exercises`, and listing its typical mistakes in `tests/mistakes/NN_topic.yml`.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from coursekit.grading import Status, grade_folder, graded_cells, read_notebook, release
from coursekit.grading.notebooks import nbgrader_meta

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
NAMES = [p.stem for p in SOLUTIONS]


def mistakes(name):
    path = ROOT / "tests" / "mistakes" / f"{name}.yml"
    assert path.is_file(), f"{name} has no typical mistakes in {path.relative_to(ROOT)}"
    return yaml.safe_load(path.read_text())


def test_there_are_exercises():
    assert "01_convolution" in NAMES


# --- format ------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_solution_cells_follow_nbgrader_schema_3(path):
    notebook = read_notebook(path)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    kinds = set()
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta["schema_version"] == 3
        assert re.fullmatch(r"[A-Za-z0-9_-]+", meta["grade_id"])
        if meta["solution"] and cell.cell_type == "code":
            kinds.add("solution")
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        if meta["grade"] and not meta["solution"]:
            kinds.add("test")
            assert meta["locked"] and meta["points"] > 0, meta["grade_id"]
            assert cell.source.count("### BEGIN HIDDEN TESTS") == cell.source.count("### END HIDDEN TESTS")
        if meta["locked"] and not meta["grade"]:
            kinds.add("locked")
    assert kinds == {"solution", "test", "locked"}


def test_grade_ids_are_unique_across_exercises():
    seen = {}
    for path in SOLUTIONS:
        for cell in read_notebook(path).cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id:
                assert grade_id not in seen, f"{grade_id} is in {seen[grade_id]} and {path.name}"
                seen[grade_id] = path.name


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_exercises_are_in_sync_with_solutions(path):
    expected = nbformat.writes(release(read_notebook(path))) + "\n"
    released = ROOT / "exercises" / path.name
    assert released.is_file(), f"exercises/{path.name} is missing: run `make exercises`"
    assert released.read_text() == expected, f"exercises/{path.name} is out of date: run `make exercises`"


def test_no_exercise_without_a_solution():
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_released_exercise_hides_solutions_and_hidden_tests(path):
    released = read_notebook(ROOT / "exercises" / path.name)
    for cell in released.cells:
        assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
        assert cell.get("outputs", []) == []
        meta = nbgrader_meta(cell)
        if meta.get("grade") or meta.get("locked"):
            assert cell.metadata.get("deletable") is False
            assert meta.get("checksum")
        if meta.get("locked"):
            assert cell.metadata.get("editable") is False
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source


def test_real_nbgrader_generates_the_same_student_notebooks(tmp_path):
    """The solutions are valid sources for a real nbgrader course."""
    course = tmp_path / "course"
    for path in SOLUTIONS:
        (course / "source" / path.stem).mkdir(parents=True)
        shutil.copy(path, course / "source" / path.stem / path.name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'cnn-radar'\n"
        "c.CourseDirectory.db_url = 'sqlite:///gradebook.db'\n"
    )
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}  # nbgrader runs alembic
    for path in SOLUTIONS:
        result = subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", path.stem, "--force"],
                                cwd=course, capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        theirs = read_notebook(course / "release" / path.stem / path.name)
        ours = read_notebook(ROOT / "exercises" / path.name)
        assert [c.source for c in theirs.cells] == [c.source for c in ours.cells]
        assert [c.metadata for c in theirs.cells] == [c.metadata for c in ours.cells]


# --- self-check: the visible tests pass for a correct answer, in a real kernel --------


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_visible_tests_pass_in_a_jupyter_kernel_with_correct_answers(path):
    solution = read_notebook(path)
    student = read_notebook(ROOT / "exercises" / path.name)
    answers = {nbgrader_meta(c).get("grade_id"): c.source for c in solution.cells if nbgrader_meta(c).get("solution")}
    for cell in student.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        if nbgrader_meta(cell).get("grade"):
            imports = re.findall(r"^\s*(?:from|import)\s+([\w.]+)", cell.source, flags=re.M)
            assert all(name.split(".")[0] in {"numpy", "coursekit"} for name in imports), imports
    NotebookClient(student, timeout=60, kernel_name="python3").execute()  # raises on any error


@pytest.mark.parametrize("path", SOLUTIONS, ids=NAMES)
def test_hidden_tests_messages_need_no_values(path):
    """Feedback shows a hidden test's message with its {...} values left out (they come from
    a run that saw the hidden tests), so a message that formats in which case failed reads
    "wrong values for a ... image"; such messages say which cases they cover instead."""
    from coursekit.grading.scoring import instructor_messages

    for cell in read_notebook(path).cells:
        for block in cell.source.split("### BEGIN HIDDEN TESTS")[1:]:
            hidden = block.split("### END HIDDEN TESTS")[0]
            blanked = [text for _, text in instructor_messages(hidden) if "…" in text]
            assert not blanked, f"{nbgrader_meta(cell).get('grade_id')}: {blanked}"


# --- non-vacuity ---------------------------------------------------------------------


def _with_answer(solution, grade_id, source):
    notebook = nbformat.from_dict(solution)
    cells = [c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    assert cells and nbgrader_meta(cells[0]).get("solution"), f"{grade_id} is not an answer cell"
    cells[0].source = source
    return notebook


@pytest.fixture(scope="module")
def graded_variants(tmp_path_factory):
    """Grade, in one parallel run: each solution, each released exercise, each typical mistake."""
    base = tmp_path_factory.mktemp("nonvacuous")
    expectations = {}
    for path in SOLUTIONS:
        solution = read_notebook(path)
        variants = {"solution": solution, "released": read_notebook(ROOT / "exercises" / path.name)}
        for number, mistake in enumerate(mistakes(path.stem)):
            variants[f"mistake{number}"] = _with_answer(solution, mistake["cell"], mistake["source"])
            expectations[(f"{path.stem}-mistake{number}", path.stem)] = mistake
        for label, notebook in variants.items():
            folder = base / "submissions" / f"{path.stem}-{label}"
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / path.name)
    rows = grade_folder(base / "submissions", base / "out", ROOT / "solutions", cell_timeout=60, progress=False).rows
    by_key = {(r.student, r.exercise): r for r in rows if r.status is not Status.NO_SUBMISSION}
    return by_key, expectations


@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_marks(graded_variants, name):
    row = graded_variants[0][(f"{name}-solution", name)]
    # Honest work is never flagged by the integrity checks; the suite grades in the sandbox.
    assert row.status is Status.OK and row.sandbox == "bubblewrap", (row.status, row.notes)
    autograded = [s for s in row.scores if not s.by_hand]
    assert autograded and all(s.points == s.max > 0 for s in autograded), row.scores
    # Written answers are left for the instructor, never scored by the machine.
    assert all(s.message == "to grade by hand" for s in row.scores if s.by_hand)


@pytest.mark.parametrize("name", NAMES)
def test_released_exercise_scores_zero_on_every_graded_cell(graded_variants, name):
    row = graded_variants[0][(f"{name}-released", name)]
    assert row.status is Status.OK
    autograded = {s.grade_id: s.points for s in row.scores if not s.by_hand}
    assert autograded == {g: 0 for g in autograded}


@pytest.mark.parametrize("name", NAMES)
def test_every_graded_cell_is_targeted_by_a_typical_mistake(name):
    targeted = {cell for mistake in mistakes(name) for cell in mistake["loses"]}
    graded = {c.grade_id for c in graded_cells(read_notebook(ROOT / "solutions" / f"{name}.ipynb")) if c.autograded}
    assert graded <= targeted, f"no typical mistake aims at {sorted(graded - targeted)}"


def test_each_typical_mistake_loses_exactly_its_cells_points(graded_variants):
    rows, expectations = graded_variants
    assert expectations
    for key, mistake in expectations.items():
        row = rows[key]
        lost = {s.grade_id for s in row.scores if not s.by_hand and s.points < s.max}
        assert lost == set(mistake["loses"]), f"{mistake['name']}: lost {sorted(lost)}, {row.scores}"
        if mistake.get("caught_by_visible_tests"):
            # The student's own run of the test cell already fails, so the mistake cannot
            # look finished; a cell that only the hidden tests fail is scored with this phrase.
            hidden_only = {s.grade_id for s in row.scores if (s.message or "").startswith(
                ("failed in the run with the hidden tests", "not run in the run with the hidden tests"))}
            assert not hidden_only & lost, (
                f"{mistake['name']}: the visible tests of {sorted(hidden_only & lost)} pass it")
