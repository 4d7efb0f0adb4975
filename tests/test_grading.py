"""`coursekit grade`: a whole class in one run, every submission treated as untrusted."""

import csv
import hashlib
import json
import warnings
import os
import re
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from grading_helpers import (FULL, NAME, RELEASED, ROOT, answer, hidden_lines, solved, student_copy_of_test_cells,
                             write)

from coursekit.grading import Status, grade_folder, load_exercises, read_notebook
from coursekit.grading.notebooks import nbgrader_meta

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    subs = base / "submissions"
    write(subs / "good", student_copy_of_test_cells(solved()))
    write(subs / "blank", read_notebook(RELEASED))
    write(subs / "not_json", '{"cells": [ this is not json')
    write(subs / "not_a_notebook", json.dumps({"hello": "world"}))
    write(subs / "exits", solved(conv_padded="import os\nos._exit(3)"))
    write(subs / "loops", solved(conv_padded="while True:\n    try:\n        pass\n    except BaseException:\n        pass"))
    write(subs / "hogs_memory", solved(conv_padded="hog = bytearray(64 * 1024 ** 3)"))
    # Tampering: tests deleted, tests edited to pass, points raised, a test re-marked as an answer.
    tampered = student_copy_of_test_cells(solved(conv_values="I_star_K1 = I_star_K2 = np.zeros((2, 2))"))
    for cell in tampered.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade_id") == "conv_test_values":
            cell.source = "pass"
            meta["points"] = 1000
        if meta.get("grade_id") == "conv_test_corr2d":
            meta["solution"] = True
            cell.source = "assert True"
    tampered.cells = [c for c in tampered.cells if nbgrader_meta(c).get("grade_id") != "conv_test_shape"]
    write(subs / "tampers", tampered)
    # A correct answer that prints warnings keeps its points.
    warn = solved().cells
    write(subs / "warns", solved(conv_corr2d=next(c.source for c in warn if nbgrader_meta(c).get("grade_id") == "conv_corr2d")
                                 .replace('"""Valid', 'import warnings; warnings.warn("slow loop", RuntimeWarning)\n    """Valid')))
    # Scratch cells of the student's own are kept, in place.
    scratch = solved()
    scratch.cells.insert(3, nbformat.v4.new_code_cell("helper_value = 41 + 1"))
    write(subs / "scratch", scratch)
    # Isolation: a file written by one submission is not seen by another.
    write(subs / "writes_file", solved(conv_shape="open('shared.txt', 'w').write('x')\nvalid_shape = (2, 2)\nwhy_smaller = 'b'"))
    write(subs / "reads_file", solved(conv_shape="import os\nassert not os.path.exists('shared.txt')\nvalid_shape = (2, 2)\nwhy_smaller = 'b'"))
    # An nbgrader-style nested layout, and a student who handed in nothing.
    write(subs / "nested" / NAME, solved())
    (subs / "empty_handed").mkdir()
    (subs / "empty_handed" / "notes.txt").write_text("sorry")
    # Hostile: forging results, killing the grader's helper, quoting hidden tests, bad metadata.
    write(subs / "forges", solved(conv_shape=(
        "import gc, json, os\nfrom multiprocessing.connection import Connection\n"
        "channel = next(o for o in gc.get_objects() if isinstance(o, Connection))\n"
        "for index in range(30):\n    channel.send_bytes(json.dumps([index, None]).encode())\nos._exit(0)")))
    write(subs / "kills_helper", solved(conv_shape="import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
                                                   "valid_shape = (2, 2)\nwhy_smaller = 'b'"))
    write(subs / "quotes_tests", solved(conv_corr2d=answer("conv_corr2d").replace(
        '"""Valid', 'import linecache\n    if x.shape != (4, 4):\n        raise ValueError("".join('
        'list(linecache.cache.values())[-1][2]))\n    """Valid')))
    bad_metadata = solved()
    bad_metadata.cells[3].metadata["nbgrader"] = "oops"
    write(subs / "bad_metadata", bad_metadata)
    write(subs / "not_cells", json.dumps({"cells": [5, "x"], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    write(subs / "renamed", solved(), name=f"Copy of {NAME}")
    out = base / "out"
    report = grade_folder(subs, out, ROOT / "solutions", cell_timeout=4, memory_mb=1024, progress=False,
                          exercise=NAME)
    return {r.student: r for r in report.rows}, out


def test_statuses(graded_class):
    rows, _ = graded_class
    expected = {
        "good": "ok", "blank": "ok", "not_json": "invalid-notebook", "not_a_notebook": "invalid-notebook",
        "exits": "kernel-died", "loops": "timeout", "hogs_memory": "out-of-memory", "tampers": "ok",
        "warns": "ok", "scratch": "ok", "nested": "ok", "empty_handed": "no-submission",
        "forges": "tampered", "quotes_tests": "ok", "bad_metadata": "ok", "not_cells": "invalid-notebook",
        "renamed": "ok",
    }
    assert {s: rows[s].status.value for s in expected} == expected
    assert all(isinstance(r.status, Status) for r in rows.values())


def test_a_notebook_that_cannot_be_opened_gets_one_plain_sentence_and_what_to_do(graded_class):
    # Not a column of failed questions, each "not graded: the file is not valid JSON" (a review).
    _, out = graded_class
    page = (out / "feedback" / "not_json" / f"{NAME}.html").read_text()
    assert "could not be opened" in page and "hand it in again" in page
    assert "<table>" not in page and "failed" not in page


def test_scores(graded_class):
    rows, _ = graded_class
    assert rows["good"].total == FULL and rows["nested"].total == FULL
    for student in ("blank", "not_json", "not_a_notebook", "empty_handed"):
        assert rows[student].total == 0, student
    # Cells before the crash, the loop or the allocation keep their points.
    for student in ("exits", "loops", "hogs_memory"):
        points = {s.grade_id: s.points for s in rows[student].scores}
        assert points["conv_test_shape"] == 2 and points["conv_test_values"] == 4, (student, points)
        assert points["conv_test_padded"] == 0, (student, points)
    # The process survives a loop and a failed allocation and runs the last test; an exit ends it.
    assert rows["loops"].score("conv_test_corr2d").points == 6
    assert rows["hogs_memory"].score("conv_test_corr2d").points == 6
    assert rows["exits"].score("conv_test_corr2d").points == 0


def test_tests_and_points_come_from_the_solutions(graded_class):
    rows, _ = graded_class
    row = rows["tampers"]
    assert row.max == FULL
    points = {s.grade_id: s.points for s in row.scores}
    assert points == {"conv_test_shape": 2, "conv_test_values": 0, "conv_test_padded": 4, "conv_test_corr2d": 6}
    notes = " ".join(row.notes)
    assert "conv_test_shape' was not found" in notes and "conv_test_values' was edited" in notes


def test_hostile_submissions_gain_nothing_and_cost_others_nothing(graded_class):
    rows, _ = graded_class
    assert rows["forges"].total == 0
    # It looked for the grader's channel through gc: flagged before it could send anything.
    assert "tampering, for review" in " ".join(rows["forges"].notes)
    # Without the sandbox the helper can be killed, and is replaced; in it, it cannot be reached.
    notes = " ".join(rows["kills_helper"].notes)
    assert ("helper process was killed" in notes) == ("not sandboxed" in notes)
    assert rows["kills_helper"].total == FULL
    # Its error would quote the test that called it: the test's source is not in linecache (a red
    # team read hidden tests there), so neither the visible test nor the hidden one is quoted.
    quoted = rows["quotes_tests"].score("conv_test_corr2d")
    assert quoted.points == 0 and "corr2d(np.zeros((5, 7))" not in quoted.message
    assert "_reference" not in quoted.message
    # Everyone else was graded normally, whatever ran beside them.
    assert rows["good"].total == rows["renamed"].total == FULL
    assert "named differently" in " ".join(rows["renamed"].notes)


def test_warnings_keep_their_points_and_scratch_cells_are_kept(graded_class):
    rows, _ = graded_class
    assert rows["warns"].total == FULL
    assert rows["scratch"].total == FULL


def test_each_submission_runs_in_its_own_directory(graded_class):
    rows, _ = graded_class
    assert rows["writes_file"].total == FULL
    assert rows["reads_file"].total == FULL
    assert not (ROOT / "shared.txt").exists()


def test_grades_csv(graded_class):
    rows, out = graded_class
    with open(out / "grades.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0])[:2] == ["student", "exercise"]
    assert {"conv_test_shape", "conv_test_values", "conv_test_padded", "conv_test_corr2d",
            "total", "max", "status"} <= set(table[0])
    assert len(table) == len(rows)
    good = next(r for r in table if r["student"] == "good")
    assert (good["total"], good["max"], good["status"]) == ("16", "16", "ok")


def test_totals_csv_has_a_line_per_student(graded_class):
    rows, out = graded_class
    with open(out / "totals.csv", newline="") as handle:
        table = {line["student"]: line for line in csv.DictReader(handle)}
    assert set(table) == set(rows)
    assert list(next(iter(table.values()))) == ["student", NAME, "total", "max", "to_grade_by_hand", "to_check"]
    assert [table["good"][key] for key in (NAME, "total", "max", "to_check")] == ["16", "16", "16", ""]
    for student, row in rows.items():
        assert table[student]["total"] == f"{row.total:g}", student
    # Missing work is left empty for the instructor's own rule, not scored as a zero.
    assert (table["empty_handed"][NAME], table["empty_handed"]["to_check"]) == ("", f"{NAME}: not handed in")
    assert table["not_json"]["to_check"] == f"{NAME}: invalid-notebook" and table["not_json"][NAME] == ""
    assert table["loops"]["to_check"] == f"{NAME}: timeout"


def test_totals_add_up_each_students_exercises_and_name_what_to_check(tmp_path):
    from coursekit.grading.records import Row, Score
    from coursekit.grading.writers import write_totals

    def row(student, exercise, status, *scores):
        return Row(student, exercise, status, tuple(Score(f"q{i}", m, p) for i, (p, m) in enumerate(scores)))

    rows = [row("=ada", "01_a", Status.OK, (3, 4), (None, 2)), row("=ada", "02_b", Status.OK, (5, 5)),
            row("bo", "01_a", Status.TAMPERED, (None, 4), (None, 2)),
            row("bo", "02_b", Status.NO_SUBMISSION, (0, 5)),
            row("cy", "02_b", Status.INVALID_NOTEBOOK, (0, 5))]
    write_totals(tmp_path / "totals.csv", rows, {"01_a": None, "02_b": None})
    with open(tmp_path / "totals.csv", newline="") as handle:
        table = list(csv.reader(handle))
    # A cell is empty until its points are final: a gradebook fed with it records no false zero.
    assert table == [
        ["student", "01_a", "02_b", "total", "max", "to_grade_by_hand", "to_check"],
        ["'=ada", "", "5", "8", "11", "2", "01_a: 2 points to grade by hand"],
        ["bo", "", "", "0", "11", "6", "01_a: tampered, 6 points to grade by hand; 02_b: not handed in"],
        ["cy", "", "", "0", "11", "0", "01_a: no result; 02_b: invalid-notebook"],
    ]


def test_moodle_feedback_zips_cover_the_moodle_students_of_each_exercise_and_no_other(tmp_path):
    import zipfile

    from coursekit.grading.records import Row
    from coursekit.grading.writers import write_moodle_feedback

    pages = {}
    for student in ("Ada Lovelace_12345", "Bo Chen_23456", "cy", "Di Roy_34567"):
        pages[student, "01_a"] = tmp_path / "feedback" / student / "01_a.html"
        pages[student, "01_a"].parent.mkdir(parents=True)
        pages[student, "01_a"].write_text(f"page of {student}")
    rows = [Row("Ada Lovelace_12345", "01_a", Status.OK, (), file="Ada Lovelace_12345_assignsubmission_file/x/01_a.ipynb"),
            Row("Bo Chen_23456", "01_a", Status.OK, (), file="Bo Chen_23456_assignsubmission_file_01_a.ipynb"),
            Row("cy", "01_a", Status.OK, (), file="cy/01_a.ipynb"),
            Row("Di Roy_34567", "01_a", Status.NO_SUBMISSION, ())]
    (tmp_path / "moodle").mkdir()
    (tmp_path / "moodle" / "00_old.zip").write_bytes(b"an earlier class's")
    write_moodle_feedback(tmp_path / "moodle", rows, pages)
    assert sorted(p.name for p in (tmp_path / "moodle").iterdir()) == ["01_a.zip"]
    with zipfile.ZipFile(tmp_path / "moodle" / "01_a.zip") as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == {
            "Ada Lovelace_12345_assignfeedback_file/01_a.html": b"page of Ada Lovelace_12345",
            "Bo Chen_23456_assignfeedback_file/01_a.html": b"page of Bo Chen_23456"}


def test_feedback_shows_messages_but_never_hidden_test_source(graded_class):
    rows, out = graded_class
    hidden = hidden_lines()
    assert hidden
    pages = list((out / "feedback").rglob("*.html"))
    assert len(pages) == len(rows)
    for page in pages:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text
        for line in hidden:
            assert line not in text, (page, line)
    blank = (out / "feedback" / "blank" / f"{NAME}.html").read_text()
    # A question left as released says so, rather than quoting the NameError its test then meets.
    assert "0 / 16" in blank and "failed" in blank and "NameError" not in blank
    assert "not answered yet: the answer above it still raises NotImplementedError" in blank
    assert "a cell before the test `conv_test_shape` is not answered yet" in " ".join(rows["blank"].notes)
    # The release as given is told apart from an attempt that earned nothing.
    assert "not attempted: the notebook is the released exercise, with no answer" in rows["blank"].notes
    assert not any("not attempted" in note for note in rows["good"].notes + rows["scratch"].notes)
    # The exercise and its questions are named as the notebook names them, with ids for reference.
    assert "<h1>Exercise 1: cross-correlation by hand</h1>" in blank and "Status: ok" not in blank
    assert "Status: timeout" in (out / "feedback" / "loops" / f"{NAME}.html").read_text()
    assert "Question 1 (2 points): the output shape<br><small><code>conv_test_shape</code>" in blank
    # An exercise not handed in says so, without a column of failed questions.
    nothing = (out / "feedback" / "empty_handed" / f"{NAME}.html").read_text()
    assert "No notebook for this exercise was found" in nothing and "failed" not in nothing


def test_summary_plot(graded_class):
    _, out = graded_class
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_skips_unchanged_submissions_and_keeps_grades(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "a", solved())
    write(subs / "b", read_notebook(RELEASED))
    first = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME)
    assert first.ran == 2 and not any(r.reused for r in first.rows)
    write(subs / "b", solved(conv_shape="valid_shape = (2, 2)\nwhy_smaller = 'b'  # now right"))
    second = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME)
    rows = {r.student: r for r in second.rows}
    assert second.ran == 1 and rows["a"].reused and not rows["b"].reused
    assert rows["a"].total == rows["b"].total == FULL


def _helpers_running(marker):
    """Processes whose command line holds `marker` (the helper's settings are on its command line)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if marker in handle.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            pass
    return found


def test_a_rerun_with_every_result_cached_ends_the_helper_it_started_early(tmp_path):
    """The helper starts before the cache is read; unused, it must not outlive the run."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "a", solved())
    timeout = 29.371  # a setting no other run uses, to find this run's helper by its command line
    first = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME, cell_timeout=timeout)
    assert first.ran == 1
    second = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME, cell_timeout=timeout)
    assert second.ran == 0 and second.rows[0].reused and second.rows[0].total == FULL
    marker = b'"cell_timeout": 29.371'
    deadline = time.monotonic() + 5
    while _helpers_running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _helpers_running(marker)


def test_the_release_is_made_once_and_kept_signed_in_the_cache(tmp_path, monkeypatch):
    from coursekit.grading import exercises as exercises_module

    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "a", solved())
    made = []
    release = exercises_module.release
    monkeypatch.setattr(exercises_module, "release", lambda solution: made.append(1) or release(solution))
    grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME, sandbox="off")
    assert len(made) == len(list((ROOT / "solutions").glob("*.ipynb")))
    grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME, sandbox="off")
    assert len(made) == len(list((ROOT / "solutions").glob("*.ipynb")))  # none made again
    # An entry changed by anyone but the grader fails its signature and is made again.
    entry = sorted((out / ".results" / "releases").glob("*.json"))[0]
    data = json.loads(entry.read_text())
    data["notebook"] = data["notebook"].replace("NotImplementedError", "pass  #")
    entry.write_text(json.dumps(data))
    again = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME, sandbox="off")
    assert len(made) == len(list((ROOT / "solutions").glob("*.ipynb"))) + 1
    assert again.rows[0].total == FULL


def test_a_failed_run_leaves_the_previous_grades_intact(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "a", solved())
    grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME)
    before = (out / "grades.csv").read_text()
    with pytest.raises(FileNotFoundError, match="no solution notebooks"):
        grade_folder(subs, out, tmp_path / "no-solutions-here", progress=False)
    assert (out / "grades.csv").read_text() == before
    assert not [p for p in out.rglob("*.tmp*")]


def test_the_output_folder_may_not_sit_among_the_submissions(tmp_path):
    write(tmp_path / "subs" / "ada", solved())
    with pytest.raises(ValueError, match="inside the submissions folder"):
        grade_folder(tmp_path / "subs", tmp_path / "subs" / "out", ROOT / "solutions", progress=False)
    assert not (tmp_path / "subs" / "out").exists()


def test_flat_folder_of_student_notebooks(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(solved(), subs / "ada.ipynb")
    nbformat.write(read_notebook(RELEASED), subs / "bob.ipynb")
    rows = {r.student: r.total
            for r in grade_folder(subs, tmp_path / "out", ROOT / "solutions", progress=False, exercise=NAME).rows}
    assert rows == {"ada": FULL, "bob": 0}
    with pytest.raises(ValueError, match="only with a single exercise"):
        grade_folder(subs, tmp_path / "out2", ROOT / "solutions", progress=False)


def test_command_line(tmp_path):
    subs = tmp_path / "subs"
    write(subs / "ada", solved())
    command = [sys.executable, "-m", "coursekit", "grade", str(subs), "--out", str(tmp_path / "out"),
               "--jobs", "1", "--timeout", "20", "--quiet", "--exercise", NAME]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "graded 1 notebook (1 ok)" in result.stdout
    missing = subprocess.run([sys.executable, "-m", "coursekit", "grade", str(tmp_path / "nope"), "--out",
                              str(tmp_path / "o2")], capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 2 and "nope" in missing.stderr and "does not exist" in missing.stderr
    bad = subprocess.run([sys.executable, "-m", "coursekit", "grade", str(subs), "--out", "x", "--jobs", "0"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "--jobs" in bad.stderr


def test_the_command_counts_exercises_not_handed_in_apart_from_graded_notebooks():
    from types import SimpleNamespace

    from coursekit.__main__ import _summary

    rows = [SimpleNamespace(status=status, reused=reused, student=student, exercise="01_convolution")
            for status, reused, student in
            [(Status.OK, True, "ada"), (Status.TIMEOUT, False, "bob"), (Status.NO_SUBMISSION, False, "cy"),
             (Status.NO_SUBMISSION, False, "di"), (Status.INVALID_NOTEBOOK, False, "ed"),
             (Status.NEEDS_REVIEW, False, "flo")]]
    report = SimpleNamespace(rows=rows, dropped=[], ignored=[], sandbox="bubblewrap", not_graded=0,
                             to_grade_by_hand=2)
    assert _summary(report, "out/grades.csv").splitlines() == [
        "graded 4 notebooks (1 invalid-notebook, 1 needs-review, 1 ok, 1 timeout); 2 exercises not "
        "handed in; 1 from earlier runs; wrote out/grades.csv (a line per exercise) and out/totals.csv (a line "
        "per student)",
        "could not be read or matched, so not scored (the notes in grades.csv say why): ed (01_convolution), flo (01_convolution)",
        "2 questions to grade by hand: fill in the points of a copy of out/to-grade-by-hand.csv, kept "
        "outside that folder, and pass it with --hand-grades"]


@pytest.mark.parametrize("target", ["grader", "process group", "grader, while its helper starts"])
def test_ctrl_c_ends_with_one_line_and_leaves_no_file_half_written(tmp_path, target):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "a_fast", solved())
    write(subs / "b_slow", solved(conv_padded="import time\ntime.sleep(120)\n" + answer("conv_padded")))
    out.mkdir()
    (out / "grades.csv").write_text("student,exercise\nfrom,the last run\n")
    grader = subprocess.Popen([sys.executable, "-m", "coursekit", "grade", str(subs), "--out", str(out),
                               "--jobs", "1", "--timeout", "300", "--quiet", "--exercise", NAME],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)  # its own process group, as a terminal gives it
    try:
        deadline = time.monotonic() + 300
        # a_fast is graded: b_slow is running; or, early, the releases are made: the helper is importing
        wanted = "releases/*.json" if target.endswith("starts") else "??/*.json"
        while not list((out / ".results").glob(wanted)):
            assert grader.poll() is None and time.monotonic() < deadline, grader.communicate()
            time.sleep(0.05 if target.endswith("starts") else 0.2)
        if target.startswith("grader"):
            grader.send_signal(signal.SIGINT)
        else:
            os.killpg(grader.pid, signal.SIGINT)
        stdout, stderr = grader.communicate(timeout=120)
    finally:
        grader.kill()
    assert grader.returncode == 130, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "interrupted" in stderr
    assert (out / "grades.csv").read_text() == "student,exercise\nfrom,the last run\n"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not (out / "feedback").exists()  # pages are written when a run completes


def test_the_readme_explains_every_status():
    text = (ROOT / "README.md").read_text()
    table = re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.M)
    assert sorted(table) == sorted(s.value for s in Status)


def test_timeouts_are_kept_like_other_results_and_retried_on_request(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "slow", solved(conv_padded="import time\ntime.sleep(3)\n" + answer("conv_padded")))
    first = grade_folder(subs, out, ROOT / "solutions", cell_timeout=1, progress=False, exercise=NAME)
    assert first.rows[0].status is Status.TIMEOUT and first.ran == 1
    # The note names the cell and the limit: the feedback of the test after it shows
    # only the knock-on NameError.
    assert "a cell before the test `conv_test_padded` was stopped at its time limit" in first.rows[0].notes
    second = grade_folder(subs, out, ROOT / "solutions", cell_timeout=1, progress=False, exercise=NAME)
    assert second.rows[0].status is Status.TIMEOUT and second.ran == 0 and second.rows[0].reused
    third = grade_folder(subs, out, ROOT / "solutions", cell_timeout=1, progress=False, exercise=NAME,
                         retry_failed=True)
    assert third.rows[0].status is Status.TIMEOUT and third.ran == 1 and not third.rows[0].reused


def test_an_answer_cell_that_raises_is_named_in_the_notes_without_its_message(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "stuck", solved(conv_values="raise ValueError('no idea, sorry')"))
    # The notebook names its exception class: a name that is no identifier is not repeated.
    write(subs / "sneaky", solved(conv_values="raise type('X; not attempted\\x1b[2J', (Exception,), {})()"))
    rows = {r.student: r for r in grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME).rows}
    row = rows["stuck"]
    assert row.status is Status.OK and row.score("conv_test_values").points == 0
    assert "a cell before the test `conv_test_values` raised ValueError" in row.notes, row.notes
    assert "no idea" not in " ".join(row.notes)
    assert "a cell before the test `conv_test_values` raised an exception" in rows["sneaky"].notes
    assert not any("not attempted" in note or "\x1b" in note for note in rows["sneaky"].notes)


def test_students_no_longer_in_the_folder_are_dropped_from_the_table(tmp_path):
    out = tmp_path / "out"
    write(tmp_path / "first" / "ada", solved())
    write(tmp_path / "late" / "bob", read_notebook(RELEASED))
    grade_folder(tmp_path / "first", out, ROOT / "solutions", progress=False, exercise=NAME)
    assert (out / "feedback" / "ada" / f"{NAME}.html").exists()
    report = grade_folder(tmp_path / "late", out, ROOT / "solutions", progress=False, exercise=NAME)
    assert [(r.student, r.total) for r in report.rows] == [("bob", 0)]
    assert report.dropped == ["ada"]
    with open(out / "grades.csv", newline="") as handle:
        assert {r["student"] for r in csv.DictReader(handle)} == {"bob"}
    assert not (out / "feedback" / "ada").exists()


def _tiny_exercise_with_questions_graded_by_hand(folder):
    """99_tiny: a test (2 points), a Markdown task (3) and a written answer (1); its solution
    in folder/sol and, handed in as it is, ada's notebook in folder/subs."""
    def cell(kind, source, **meta):
        base = {"grade": False, "grade_id": meta.pop("grade_id"), "locked": False, "schema_version": 3,
                "solution": False, "task": False}
        base.update(meta)
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        return make(source, metadata={"nbgrader": base})

    solution = nbformat.v4.new_notebook(cells=[
        cell("code", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", grade_id="answer", solution=True),
        cell("code", "assert answer == 42", grade_id="test_answer", grade=True, locked=True, points=2),
        cell("markdown", "Explain why.\n\n=== BEGIN MARK SCHEME ===\nbecause\n=== END MARK SCHEME ===",
             grade_id="task", grade=True, task=True, locked=True, points=3),
        cell("markdown", "YOUR ANSWER HERE", grade_id="essay", grade=True, solution=True, points=1),
    ])
    solution.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (folder / "sol").mkdir()
    nbformat.write(solution, folder / "sol" / "99_tiny.ipynb")
    write(folder / "subs" / "ada", solution, name="99_tiny")


def test_markdown_tasks_and_written_answers_are_left_for_the_instructor(tmp_path):
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    (row,) = grade_folder(tmp_path / "subs", tmp_path / "out", tmp_path / "sol", progress=False).rows
    assert row.status is Status.OK and row.total == 2 and row.max == 6
    assert row.score("task").by_hand and row.score("essay").by_hand
    page = (tmp_path / "out" / "feedback" / "ada" / "99_tiny.html").read_text()
    assert "<b>2 / 2</b> so far; 4 more points are still to be graded by hand" in page


def _hand(folder, *lines, name="hand.csv"):
    """A hand-grades file of `lines` (after the header) in `folder`."""
    path = folder / name
    path.write_text("student,exercise,question,points,max,notebook,comment\n" + "".join(f"{l}\n" for l in lines))
    return path


def test_points_given_by_hand_join_the_table_the_feedback_and_later_runs(tmp_path):
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    assert grade_folder(subs, out, sol, progress=False).to_grade_by_hand == 2
    todo = (out / "to-grade-by-hand.csv").read_text().splitlines()
    notebook = "nb-" + hashlib.sha256((subs / "ada" / "99_tiny.ipynb").read_bytes()).hexdigest()[:12]
    # The last column says where the answers are, in the submissions folder.
    assert todo == ["student,exercise,question,points,max,notebook,comment,file",
                    f"ada,99_tiny,task,,3,{notebook},,ada/99_tiny.ipynb",
                    f"ada,99_tiny,essay,,1,{notebook},,ada/99_tiny.ipynb"]
    # The instructor fills in a copy, the task only so far, in a spreadsheet (BOM, CRLF, quotes).
    hand = tmp_path / "hand.csv"
    hand.write_bytes("\ufeff".encode() + "\r\n".join(
        [todo[0], f'ada,99_tiny,task,2.5,3,{notebook},"clear, but no units"', todo[2], ""]).encode())
    (row,) = grade_folder(subs, out, sol, progress=False, hand_grades=hand).rows
    assert row.total == 4.5 and row.score("task").hand and row.score("essay").by_hand
    with open(out / "grades.csv", newline="") as handle:
        line = next(csv.DictReader(handle))
    assert (line["task"], line["essay"], line["total"]) == ("2.5", "", "4.5")
    # What is still to grade by hand, and where the notebook is, for the instructor.
    assert (line["max"], line["to_grade_by_hand"], line["file"]) == ("6", "1", "ada/99_tiny.ipynb")
    page = (out / "feedback" / "ada" / "99_tiny.html").read_text()
    assert "2.5 / 3</td><td><span>graded by hand</span>: clear, but no units" in page
    assert (out / "to-grade-by-hand.csv").read_text().splitlines()[1:] == [
        f"ada,99_tiny,essay,,1,{notebook},,ada/99_tiny.ipynb"]
    # Ada hands in again: the grade written for her earlier notebook is not applied to the new one.
    solution = read_notebook(sol / "99_tiny.ipynb")
    solution.cells[0].source += "\n# a second try"
    write(subs / "ada", solution, name="99_tiny")
    (row,) = grade_folder(subs, out, sol, progress=False, hand_grades=hand).rows
    assert row.score("task").by_hand and row.total == 2
    # The note reaches ada's page too: it names the question, not the instructor's file.
    assert "a grade given by hand to task was for an earlier notebook: it is to grade again" in row.notes
    assert not any(str(hand) in note for note in row.notes)
    # The new notebook's line joins the old one in the file: each grades its own notebook.
    renewed = (out / "to-grade-by-hand.csv").read_text().splitlines()[1].replace("task,,3,", "task,1,3,")
    with open(hand, "a", newline="") as handle:
        handle.write(renewed + "\r\n")
    (row,) = grade_folder(subs, out, sol, progress=False, hand_grades=hand).rows
    assert row.score("task").points == 1 and not any("earlier notebook" in note for note in row.notes)


def test_a_run_that_would_drop_points_given_by_hand_is_refused_before_anything_is_written(tmp_path):
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    grade_folder(subs, out, sol, progress=False)  # none ever given: nothing to keep
    hand = _hand(tmp_path, "ada,99_tiny,task,2,,,")
    assert grade_folder(subs, out, sol, progress=False, hand_grades=hand).rows[0].total == 4
    written = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and ".results" not in p.parts}
    # HAND= forgotten, or a fresh copy of the list of questions left (which lacks the task's line)
    # passed instead of the file that holds it (an instructor review lost 5 grades that way).
    fresh_copy = _hand(tmp_path, "ada,99_tiny,essay,1,,,", name="marks2.csv")
    for given in (None, fresh_copy):
        with pytest.raises(ValueError, match=rf"ada's task of 99_tiny.*Add the new points to {re.escape(str(hand.resolve()))}"):
            grade_folder(subs, out, sol, progress=False, hand_grades=given)
        assert {p: p.read_bytes() for p in written} == written
    # The same points in the new file: accepted, and both questions are graded.
    both = _hand(tmp_path, "ada,99_tiny,task,2,,,", "ada,99_tiny,essay,1,,,", name="marks3.csv")
    assert grade_folder(subs, out, sol, progress=False, hand_grades=both).rows[0].total == 5
    # Dropping on purpose: delete the record, as the message says.
    (out / ".hand-grades").unlink()
    assert grade_folder(subs, out, sol, progress=False).rows[0].total == 2


def test_a_grade_for_a_notebook_handed_in_again_may_go(tmp_path):
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    hand = _hand(tmp_path, "ada,99_tiny,task,2,,,")
    grade_folder(subs, out, sol, progress=False, hand_grades=hand)
    solution = read_notebook(sol / "99_tiny.ipynb")
    solution.cells[0].source += "\n# a second try"
    write(subs / "ada", solution, name="99_tiny")
    (row,) = grade_folder(subs, out, sol, progress=False).rows  # the task is to grade again
    assert row.score("task").by_hand


def test_a_run_after_an_older_record_of_the_file_alone_says_which_file_it_lacks(tmp_path):
    from coursekit.__main__ import _summary

    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    hand = _hand(tmp_path, "ada,99_tiny,task,2,,,")
    grade_folder(subs, out, sol, progress=False, hand_grades=hand)
    (out / ".hand-grades").write_text(f"{hand.resolve()}\n")  # as runs before the points were recorded
    report = grade_folder(subs, out, sol, progress=False)
    assert report.rows[0].total == 2 and report.hand_grades_left_out == str(hand.resolve())
    assert f"run again with --hand-grades {hand.resolve()}" in _summary(report, str(out / "grades.csv"))
    report = grade_folder(subs, out, sol, progress=False, hand_grades=hand)
    assert report.hand_grades_left_out is None
    # Questions still to grade after a run with a file: their lines go into that file.
    assert f"into {hand}" in _summary(report, str(out / "grades.csv"))


def test_a_workbook_passed_for_hand_grades_is_refused_with_what_to_do(tmp_path):
    # An instructor's review: an .xlsx gave Python's "new-line character seen in unquoted field".
    from coursekit.grading.hand import read_hand_grades

    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    workbook = tmp_path / "marks.xlsx"
    workbook.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"marks.xlsx: it is a spreadsheet workbook, not CSV: save it as CSV"):
        read_hand_grades(workbook, load_exercises(tmp_path / "sol"))


def test_hand_grades_saved_by_a_spreadsheet_in_a_comma_decimal_locale_are_read(tmp_path):
    from coursekit.grading.hand import read_hand_grades

    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    exercises = load_exercises(tmp_path / "sol")
    hand = tmp_path / "hand.csv"  # Excel's "CSV" in Windows-1252, ";" between columns, "," in numbers
    hand.write_bytes("student;exercise;question;points;max;notebook;comment\r\n"
                     "zoë;99_tiny;task;2,5;3;;très bien\r\n".encode("cp1252"))
    (grade,) = read_hand_grades(hand, exercises)[("zoë", "99_tiny", "task")]
    assert grade["points"] == 2.5
    assert grade["comment"] == "très bien"


def test_hand_grades_are_never_read_from_or_left_in_the_output_folder(tmp_path):
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    grade_folder(subs, out, sol, progress=False)
    todo = out / "to-grade-by-hand.csv"
    with pytest.raises(ValueError, match="is inside the output folder"):
        grade_folder(subs, out, sol, progress=False, hand_grades=todo)
    # Points typed into the list itself would be overwritten by the next run: it stops first,
    # however a spreadsheet saved them (here: semicolons, Windows-1252).
    original = todo.read_text()
    for filled in (original.replace("task,,3,", "task,3,3,").encode(),
                   original.replace(",", ";").replace("task;;3;", "task;2,5;3;").replace(
                       "\n", ";très bien\r\n", 1).encode("cp1252")):
        todo.write_bytes(filled)
        with pytest.raises(ValueError, match="has points filled in .*this run would overwrite it"):
            grade_folder(subs, out, sol, progress=False)
        assert todo.read_bytes() == filled


def test_hand_grades_reach_names_as_the_folder_spells_them_and_only_notebooks_to_read(tmp_path):
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    (subs / "ada").rename(subs / "ada ")  # a folder name with a trailing space
    write(subs / "bob", '{"cells": [ not json', name="99_tiny")
    (subs / "cleo").mkdir()  # handed in nothing
    grade_folder(subs, out, sol, progress=False)
    assert [line.split(",")[0] for line in (out / "to-grade-by-hand.csv").read_text().splitlines()[1:]] == [
        "ada ", "ada "]  # bob's and cleo's questions cannot be read
    (row,) = [r for r in grade_folder(subs, out, sol, progress=False,
                                      hand_grades=_hand(tmp_path, "ada ,99_tiny,task,-0,3,,")).rows
              if r.student == "ada "]
    assert row.score("task").points == 0 and str(row.score("task").points) == "0.0"
    for student in ("bob", "cleo"):
        with pytest.raises(ValueError, match=f"task of {student}'s 99_tiny is not waiting to be graded by hand"):
            grade_folder(subs, out, sol, progress=False, hand_grades=_hand(tmp_path, f"{student},99_tiny,task,1,,,"))


def test_a_name_that_starts_like_a_formula_stays_text_in_every_table_and_comes_back(tmp_path):
    # A student picks the name in their LMS profile; opened in a spreadsheet, a cell such as
    # =HYPERLINK(...) would run. Written with an apostrophe in front, it is text.
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    name = '=HYPERLINK("http:evil","ada")'
    (subs / "ada").rename(subs / name)
    write(subs / "-1+2", read_notebook(sol / "99_tiny.ipynb"), name="99_tiny")
    grade_folder(subs, out, sol, progress=False)
    for table in ("grades.csv", "to-grade-by-hand.csv"):
        with open(out / table, newline="") as handle:
            students = [line["student"] for line in csv.DictReader(handle)]
        assert sorted(set(students)) == ["'-1+2", f"'{name}"], table
    # Graded in a spreadsheet that keeps the apostrophe, or one that drops it on saving.
    for spelled in (f"'{name}", name):
        hand = tmp_path / "hand.csv"
        with open(hand, "w", newline="") as handle:
            csv.writer(handle).writerow(["student", "exercise", "question", "points"])
            csv.writer(handle).writerow([spelled, "99_tiny", "task", "3"])
        report = grade_folder(subs, out, sol, progress=False, hand_grades=hand)
        assert {r.student: r.total for r in report.rows} == {name: 5, "-1+2": 2}
        assert report.dropped == []  # the names read back from grades.csv are the students'
    # Students "-1+2" and "'-1+2": a spreadsheet that drops the apostrophe of "''-1+2" leaves
    # "'-1+2", which could name either. The run stops rather than guess, and a student
    # graded twice under two spellings is caught too.
    write(subs / "'-1+2", read_notebook(sol / "99_tiny.ipynb"), name="99_tiny")
    for cells, error in (([["'-1+2", "99_tiny", "task", "1"]], "line 2: \"'-1+2\" could name the student"),
                         ([[name, "99_tiny", "task", "1"], [f"'{name}", "99_tiny", "task", "2"]],
                          f"line 3: {name}'s task of 99_tiny is graded twice (also at line 2)")):
        hand = tmp_path / "hand.csv"
        with open(hand, "w", newline="") as handle:
            csv.writer(handle).writerows([["student", "exercise", "question", "points"], *cells])
        with pytest.raises(ValueError, match=re.escape(error)):
            grade_folder(subs, out, sol, progress=False, hand_grades=hand)

def test_a_note_that_starts_like_a_formula_is_written_as_text(tmp_path):
    # Notes may quote a file name the student chose.
    from coursekit.grading.records import Row
    from coursekit.grading.writers import write_csv

    write_csv(tmp_path / "grades.csv", [Row("ada", "99_tiny", Status.OK, (), notes=("@SUM(A1) was ignored",))], {})
    with open(tmp_path / "grades.csv", newline="") as handle:
        assert next(csv.DictReader(handle))["notes"] == "'@SUM(A1) was ignored"



@pytest.mark.parametrize("line, error", [
    ("ada,99_tiny,task,4,,,", "line 2: points must be between 0 and 3"),
    ("ada,99_tiny,task,two,,,", "line 2: points must be a number; got 'two'"),
    ("ada,99_tiny,task,nan,,,", "line 2: points must be between 0 and 3"),
    ("ada,99_tiny,tsak,1,,,", "line 2: 99_tiny has no graded question 'tsak'"),
    ("ada,99_tiney,task,1,,,", "line 2: no exercise '99_tiney'"),
    ("ada,99_tiny,task,1,,,\nada,99_tiny,task,2,,,", "line 3: ada's task of 99_tiny is graded twice (also at line 2)"),
    ("ada,99_tiny,test_answer,1,,,", "line 2: test_answer of ada's 99_tiny is not waiting to be graded by hand"),
    ("adda,99_tiny,task,1,,,", "line 2: no result for 'adda' in 99_tiny"),
])
def test_a_bad_hand_grade_stops_the_run_naming_its_line_and_changes_no_output(tmp_path, line, error):
    _tiny_exercise_with_questions_graded_by_hand(tmp_path)
    subs, out, sol = tmp_path / "subs", tmp_path / "out", tmp_path / "sol"
    grade_folder(subs, out, sol, progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and ".results" not in p.parts}
    hand = _hand(tmp_path, line)
    with pytest.raises(ValueError, match=re.escape(f"{hand}, {error}")):
        grade_folder(subs, out, sol, progress=False, hand_grades=hand)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and ".results" not in p.parts}
    assert after == before


def test_a_hand_grades_file_that_is_missing_or_lacks_a_column_is_refused(tmp_path):
    from coursekit.grading.hand import read_hand_grades

    with pytest.raises(FileNotFoundError, match="the hand-grades file nowhere.csv does not exist"):
        read_hand_grades("nowhere.csv", {})
    (tmp_path / "hand.csv").write_text("student,exercise,points\nada,99_tiny,2\n")
    with pytest.raises(ValueError, match="must name the comma-separated columns student, exercise, question, points .*; "
                                         "question missing"):
        read_hand_grades(tmp_path / "hand.csv", {})


def test_a_notebook_whose_cells_have_no_ids_is_read_without_a_warning():
    # nbformat gives such cells ids and warns, on the grader's terminal, naming no file.
    from coursekit.grading.notebooks import parse_notebook

    cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}
    data = json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notebook = parse_notebook(data, "ada/01_convolution.ipynb")
    assert notebook.cells[0].source == "x = 1"


def test_a_notebook_saved_with_a_byte_order_mark_is_read():
    # Some Windows editors start a UTF-8 file with one; such a notebook was refused as not JSON
    # (a thirtieth red team). Bytes that are not UTF-8 are still refused, naming the file.
    from coursekit.grading.notebooks import NotebookError, parse_notebook

    cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None,
            "id": "a"}
    data = json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    assert parse_notebook(b"\xef\xbb\xbf" + data, "ada/01_convolution.ipynb").cells[0].source == "x = 1"
    with pytest.raises(NotebookError, match="ada/01_convolution.ipynb is not UTF-8 text"):
        parse_notebook(b"\xff\xfe" + data, "ada/01_convolution.ipynb")


def test_the_exercises_code_keeps_its_asserts_under_python_dash_o():
    # A notebook could switch the interpreter to -O (through CPython's test module), so that
    # tests compiled afterwards lost their asserts: the helper compiles them with asserts.
    import subprocess
    import sys

    script = ("from coursekit.grading import zygote\n"
              "try:\n    zygote._run_instructor_code(0, 'assert False, 7', {}, None)\n"
              "except AssertionError as error:\n    print('raised', error)\n")
    result = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "raised 7", result.stdout + result.stderr


def test_grading_one_exercise_keeps_the_others_not_handed_in_rows_and_invents_none(tmp_path):
    # An instructor's review: after a run over every exercise, one with --exercise dropped the
    # rows (and pages) saying the other exercises were not handed in.
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "ada", solved())
    everything = grade_folder(subs, out, ROOT / "solutions", progress=False)
    missing = {(r.student, r.exercise) for r in everything.rows if r.status is Status.NO_SUBMISSION}
    assert len(missing) == len(load_exercises(ROOT / "solutions")) - 1
    one = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME)
    assert {(r.student, r.exercise) for r in one.rows if r.status is Status.NO_SUBMISSION} == missing
    assert all((out / "feedback" / "ada" / f"{exercise}.html").exists() for _, exercise in missing)
    # A first run over one exercise (a folder downloaded for it) says nothing of the others.
    fresh = grade_folder(subs, tmp_path / "fresh", ROOT / "solutions", progress=False, exercise=NAME)
    assert [(r.student, r.exercise) for r in fresh.rows] == [("ada", NAME)]


def test_the_exercises_code_runs_with_numpys_default_error_handling_and_print_options():
    # NumPy keeps np.seterrcall and its print options in context variables: set by a notebook,
    # they would run its functions in the middle of a test. The exercise's code gets a fresh context.
    import numpy as np

    from coursekit.grading import zygote

    calls = []
    state = np.geterr()
    try:
        np.seterrcall(lambda *args: calls.append(args))
        np.seterr(all="call")
        with np.printoptions(formatter={"float": lambda value: "lie"}):
            namespace = {}
            zygote._run_instructor_code(0, "import numpy as np\nimport warnings\n"
                                           "with warnings.catch_warnings():\n"
                                           "    warnings.simplefilter('ignore')\n"
                                           "    quotient = np.array([1.0]) / 0\n"
                                           "shown = str(np.array([1.5]))", namespace, None)
    finally:
        np.seterr(**state)
        np.seterrcall(None)
    assert calls == [] and namespace["shown"] == "[1.5]"


def test_the_exercises_code_never_touches_the_notebooks_warning_registry():
    # A warning is looked up in its frame's globals' __warningregistry__ before any filter, and a
    # stale registry is emptied: what the notebook kept there ran its __del__ (or a key's __eq__)
    # in the middle of a hidden test (a sixteenth red team: 8 of 16).
    from coursekit.grading import zygote

    freed = []

    class Kept:
        def __del__(self):
            freed.append(True)

    import warnings

    registry = {"version": -1, "kept": Kept()}
    for apart in (False, True):
        namespace = {"__warningregistry__": registry}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as the helper does: the registry is consulted first
            zygote._run_instructor_code(0, "import warnings\nwarnings.warn('a warning of the test')", namespace,
                                        None, apart=apart)
        assert freed == [] and namespace["__warningregistry__"] is registry and "kept" in registry


def test_the_exercises_code_prints_to_the_helpers_own_streams_not_the_notebooks():
    # Every visible test ends with a print: a sys.stdout of the notebook's ran its write() between
    # a test's asserts (a nineteenth red team). Its own streams and hooks are put back afterwards.
    import sys

    from coursekit.grading import zygote

    written = []

    class Spy:
        def write(self, text):
            written.append(text)

    spy, hook = Spy(), lambda *args: written.append(args)
    saved = sys.stdout, sys.unraisablehook
    sys.stdout, sys.unraisablehook = spy, hook
    try:
        state = zygote._quiet_surroundings()
        try:
            zygote._run_instructor_code(0, "import sys\nprint('The shape is right.')\n"
                                           "print('and to stderr', file=sys.stderr)", {}, None, apart=True)
        finally:
            zygote._restore_surroundings(state)
        assert sys.stdout is spy and sys.unraisablehook is hook
    finally:
        sys.stdout, sys.unraisablehook = saved
    assert written == []


def test_a_setup_import_that_bound_another_object_than_the_recorded_module_is_tampering():
    # Whatever made the setup's `import numpy as np` bind a fake and put the real NumPy back before
    # the check (rounds ten to seventeen and twenty-one of the red teams), the name is not NumPy.
    import types

    import numpy

    import coursekit
    from coursekit.grading import zygote
    from coursekit.grading.runner import setup_imports

    imports = setup_imports("import sys\nif 'google.colab' in sys.modules:\n    pass\nimport numpy as np\n"
                            "from coursekit import conv as c\nimport os.path\nfrom . import nothing")
    assert imports == (("sys", "sys", None), ("np", "numpy", None), ("c", "coursekit", "conv"), ("os", "os", None))
    recorded = {"numpy": numpy, "coursekit": coursekit, "sys": sys}  # os: not recorded, not compared
    honest = {"sys": sys, "np": numpy, "c": coursekit.conv, "os": types}
    assert zygote._imported_elsewhere(imports, honest, recorded) == []
    for name, fake in (("np", types.ModuleType("numpy")), ("c", types.ModuleType("conv"))):
        problems = zygote._imported_elsewhere(imports, {**honest, name: fake}, recorded)
        assert problems and f"bound {name} to another object" in problems[0], problems


def test_the_setups_shell_cannot_be_given_a_magic_of_the_notebooks():
    from coursekit.grading import zygote

    with pytest.raises(AttributeError):
        zygote._exercises_ipython().run_line_magic = print


def test_the_helpers_own_streams_cannot_be_given_a_write_of_the_notebooks():
    # A file object's instance dict took a write() of the notebook's, which every test's print then
    # ran (a twentieth red team: 88 of 88 points, with the check made to undo the lies).
    from coursekit.grading import zygote

    for name in ("stdout", "stderr"):
        with pytest.raises(AttributeError):
            zygote._OWN_SYS[name].write = print


def test_new_modules_are_read_without_running_their_code():
    # A module of the notebook's under a watched name, whose __spec__ property ran inside the check
    # after the test and undid the lies told during it (a twentieth red team).
    import types
    from types import SimpleNamespace

    from coursekit.grading import integrity

    ran = []

    class Module(types.ModuleType):
        @property
        def __spec__(self):
            ran.append("__spec__")
            return None

        def __getattribute__(self, name):
            ran.append(name)
            return super().__getattribute__(name)

    name = "coursekit._a_module_of_the_notebooks"
    sys.modules[name] = Module(name)
    try:
        problems = integrity._new_modules(SimpleNamespace(module_names=frozenset(sys.modules) - {name},
                                                          trusted_roots=(sys.prefix,)))
    finally:
        del sys.modules[name]
    assert ran == [] and problems == [f"module {name!r} did not come from a file"]


def test_what_only_the_tests_context_holds_is_freed_after_the_check_not_before():
    # A value the notebook set in the test's context variables ran its __del__ as the context
    # went, right after the test's last assert, and undid its lies before the check (a nineteenth
    # red team): the helper keeps the context, and the test's namespace, until after the check.
    from coursekit.grading import zygote

    freed, kept = [], []

    class Cleanup:
        def __del__(self):
            freed.append(True)

    namespace = {"Cleanup": Cleanup, "var": __import__("contextvars").ContextVar("var")}
    zygote._run_instructor_code(0, "var.set(Cleanup())", namespace, None, apart=True, keep=kept.append)
    assert freed == [] and kept
    kept.clear()
    assert freed == [True]


def test_the_check_after_a_students_cell_compares_every_namespace_that_moved():
    # A function of NumPy's replaced in a student's cell, which NumPy itself calls during the next
    # test, could undo itself there before the check after that test; so the quick check after the
    # student's cell compares every recorded namespace whose version moved, not only NumPy's top.
    import subprocess
    import sys

    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "import numpy\nfrom numpy._core import numeric\nfrom coursekit.grading import integrity\n"
        "reference = integrity.capture(InteractiveShell.instance())\n"
        "assert integrity.check(reference, full=False) == []\n"
        "real, numeric.isclose = numeric.isclose, lambda *a, **k: True\n"
        "print(integrity.check(reference, full=False))\n"
        "numeric.isclose = real\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "numpy._core.numeric.isclose was replaced" in result.stdout, result.stdout + result.stderr


def test_a_tests_names_are_not_copied_back_past_a_key_that_would_run_the_notebooks_code():
    # A thirty-first red team: a function the test called put a str subclass among the notebook's
    # names; its __eq__, run by the copy-back's lookups after the test's last line, undid what the
    # function had done before the check looked (12 points with wrong answers, with a module of its
    # own in sys.modules). The copy-back is skipped and the key left for the check to report.
    from coursekit.grading import zygote

    calls = []

    class Key(str):
        def __hash__(self):
            return str.__hash__("result")

        def __eq__(self, other):
            calls.append(other)
            return False

    notebook = {}

    def plant():
        notebook[Key("planted")] = None

    notebook["plant"] = plant
    zygote._run_instructor_code(0, "plant()\nresult = 1", notebook, None, apart=True)
    assert calls == [] and "result" not in notebook and any(type(k) is Key for k in notebook)
    # Plain names are copied back as before.
    notebook = {"plant": lambda: None}
    zygote._run_instructor_code(0, "plant()\nresult = 1", notebook, None, apart=True)
    assert notebook["result"] == 1
