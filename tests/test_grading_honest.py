"""Honest notebooks are graded right, in every layout a class hands them in.

Metadata stripped by an editor or Colab, several candidate files, renamed
downloads, Canvas and Moodle exports: matching and discovery are checked
directly (no notebook runs), and one grading run checks the whole way to
``grades.csv`` for each kind.
"""

import csv
import os

import nbformat
import pytest
from grading_helpers import (FULL, NAME, ROOT, answer, released, solved, stripped, student_copy_of_test_cells,
                             write)

from coursekit.grading import assemble, grade_folder, load_exercises
from coursekit.grading.notebooks import nbgrader_meta
from coursekit.grading.submissions import find_submissions

EXERCISES = load_exercises(ROOT / "solutions")


def plan(notebook, name=NAME):
    exercise = EXERCISES[name]
    return assemble(exercise.solution, exercise.released, notebook)


def runs(plan):
    """What the plan executes, in order, and from where: (kind, visible source, full source)."""
    return [(c.kind, c.visible, c.full) for c in plan.cells]


def colab_download(notebook):
    """A notebook as Colab saves it: its own cell ids and metadata, outputs, a scratch cell."""
    notebook = stripped(notebook)
    notebook.metadata = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    for number, cell in enumerate(notebook.cells):
        cell.metadata = {"id": f"c{number:04x}"}
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    notebook.cells.insert(4, nbformat.v4.new_code_cell("print(valid_shape)  # checking", metadata={"id": "scratch"}))
    return notebook


# --- matching a notebook without metadata ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_notebook_without_metadata_runs_exactly_what_it_would_with_it(name):
    exercise = EXERCISES[name]
    for notebook in (exercise.solution, exercise.released):
        with_metadata, without = plan(notebook, name), plan(stripped(notebook), name)
        assert without.review is None, without.review
        assert runs(without) == runs(with_metadata)
        assert "no nbgrader metadata" in " ".join(without.notes)
        assert "no nbgrader metadata" not in " ".join(with_metadata.notes)


def test_scratch_cells_without_metadata_run_where_the_student_put_them():
    notebook = stripped(solved())
    position = next(i for i, c in enumerate(notebook.cells) if c.source == answer("conv_values"))
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell("check = I_star_K1.sum()"))
    notebook.cells.insert(position + 1, nbformat.v4.new_markdown_cell("My notes."))
    sources = [c.visible for c in plan(notebook).cells]
    assert sources.index("check = I_star_K1.sum()") == sources.index(answer("conv_values")) + 1


def test_a_test_cell_edited_without_metadata_still_runs_the_original_in_its_place():
    notebook = student_copy_of_test_cells(solved())
    next(c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "conv_test_values").source += "\nprint(1)"
    result = plan(stripped(notebook))
    assert result.review is None
    kinds = [(c.kind, c.grade_id) for c in result.cells]
    # After the edit, and after the setup, which runs again before every test.
    test = kinds.index(("test", "conv_test_values"))
    assert kinds[test - 2:test] == [("student", "conv_values"), ("locked", None)], kinds
    assert test == kinds.index(("student", "conv_values")) + 3
    assert "conv_test_values' was not found" in " ".join(result.notes)


def test_a_copy_of_a_test_pasted_above_its_answer_without_metadata_leaves_the_answer_its_own():
    # A thirtieth red team: the copy was taken for the test, the answer after it ran after the
    # test (6 points lost, "answer not found"). The copy now runs as the student's own code.
    notebook = student_copy_of_test_cells(solved())
    test = next(c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "conv_test_corr2d")
    position = next(i for i, c in enumerate(notebook.cells) if nbgrader_meta(c).get("grade_id") == "conv_corr2d")
    notebook.cells.insert(position, nbformat.v4.new_code_cell(test.source))
    result = plan(stripped(notebook))
    assert result.review is None, result.review
    order = [(c.kind, c.grade_id, c.visible) for c in result.cells]
    answer_at = order.index(("student", "conv_corr2d", answer("conv_corr2d")))
    test_at = [k for k, (kind, grade_id, _) in enumerate(order) if (kind, grade_id) == ("test", "conv_test_corr2d")]
    assert test_at == [answer_at + 2], order  # after the answer, and the setup run again before it
    assert order[answer_at - 1] == ("student", "conv_corr2d", test.source)
    assert not any("not found" in note for note in result.notes), result.notes


def test_a_copy_of_a_test_pasted_below_a_later_answer_leaves_each_answer_its_own():
    # The other way round, the first copy is the test: after it, the later answer is the next one's.
    notebook = student_copy_of_test_cells(solved())
    test = next(c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "conv_test_shape")
    position = next(i for i, c in enumerate(notebook.cells) if nbgrader_meta(c).get("grade_id") == "conv_values")
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell(test.source))
    result = plan(stripped(notebook))
    assert result.review is None, result.review
    order = [(c.kind, c.grade_id) for c in result.cells]
    assert order.index(("student", "conv_shape")) < order.index(("test", "conv_test_shape")) \
        < order.index(("student", "conv_values")) < order.index(("test", "conv_test_values"))
    assert not any("not found" in note for note in result.notes), result.notes


def _copy_above_the_answer(scratch=None):
    notebook = student_copy_of_test_cells(solved())
    test = next(c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "conv_test_corr2d")
    position = next(i for i, c in enumerate(notebook.cells) if nbgrader_meta(c).get("grade_id") == "conv_corr2d")
    notebook.cells.insert(position, nbformat.v4.new_code_cell(test.source))
    if scratch is not None:
        notebook.cells.insert(position, nbformat.v4.new_code_cell(scratch))
    return stripped(notebook), test.source


def test_which_copy_of_a_test_is_its_own_is_read_only_when_it_could_matter(monkeypatch):
    import coursekit.grading.assembly as assembly

    def unread(source, top_level=False):
        raise AssertionError("a cell was read")

    # One copy of each test: no cell is read (a review had 2,000 cells parsed for every test).
    monkeypatch.setattr(assembly, "_defined_names", unread)
    assert plan(stripped(student_copy_of_test_cells(solved()))).review is None
    # Two copies, but far more code before them than any answer: not read, the first copy is the test.
    notebook, copied = _copy_above_the_answer(scratch="x = [" + "1, " * 70_000 + "]")
    order = [(c.kind, c.grade_id, c.visible) for c in plan(notebook).cells]
    test_at = [(k, g) for k, g, _ in order].index(("test", "conv_test_corr2d"))
    assert order[test_at + 1:] == [("student", None, answer("conv_corr2d")), ("student", None, copied)], order


def test_a_copy_of_a_test_goes_after_the_cells_that_define_most_of_its_answers_names():
    # Neither copy follows every name the answers define (conv_shape's two): the one after one does.
    notebook = student_copy_of_test_cells(solved(conv_shape="valid_shape = (2, 2)"))
    test = next(c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "conv_test_shape")
    position = next(i for i, c in enumerate(notebook.cells) if nbgrader_meta(c).get("grade_id") == "conv_shape")
    notebook.cells.insert(position, nbformat.v4.new_code_cell(test.source))
    order = [(c.kind, c.grade_id, c.visible) for c in plan(stripped(notebook)).cells]
    answer_at = order.index(("student", "conv_shape", "valid_shape = (2, 2)"))
    assert [(k, g) for k, g, _ in order].index(("test", "conv_test_shape")) > answer_at, order


def without(notebook, *grade_ids):
    notebook.cells = [c for c in notebook.cells if nbgrader_meta(c).get("grade_id") not in grade_ids]
    return notebook


def test_missing_cells_between_two_answers_are_placed_by_the_names_the_answers_define():
    # The test after the first answer and the prompt of the second are gone; a scratch cell follows the first.
    notebook = without(solved(), "conv_test_shape", "conv_q_values")
    position = next(i for i, c in enumerate(notebook.cells) if c.source == answer("conv_shape"))
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell("print('checking')"))
    result = plan(stripped(notebook))
    assert result.review is None, result.review
    order = [(c.kind, c.grade_id) for c in result.cells]
    assert order.index(("student", "conv_shape")) < order.index(("test", "conv_test_shape")) \
        < order.index(("student", "conv_values"))


def test_an_import_added_to_the_setup_is_kept_with_or_without_metadata(tmp_path):
    # Colab does not enforce locked cells, and students add their imports to the setup
    # (a review of honest notebooks: 10 of 16 with metadata, 16 without).
    notebook = solved(conv_corr2d="def corr2d(x, k):\n    return correlate2d(x, k, mode='valid')")
    setup = next(c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "conv_setup")
    setup.source += "\nfrom scipy.signal import correlate2d"
    for kind, copy in (("with_metadata", notebook), ("stripped", stripped(notebook))):
        order = [(c.kind, c.grade_id, c.visible) for c in plan(copy).cells]
        edited = order.index(("student", None, setup.source))
        assert order[edited + 1][:2] == ("locked", "conv_setup"), (kind, order[:3])
        write(tmp_path / "subs" / kind, copy)
    report = grade_folder(tmp_path / "subs", tmp_path / "out", ROOT / "solutions", progress=False, exercise=NAME)
    assert {row.student: (row.status.value, row.total) for row in report.rows} == {
        "with_metadata": ("ok", FULL), "stripped": ("ok", FULL)}
    notes = " ".join(next(r for r in report.rows if r.student == "with_metadata").notes)
    assert "'conv_setup' was edited: the student's version ran, then the original" in notes


def test_a_match_that_cannot_be_told_is_left_for_review():
    # Two answers in one cell, the test between them gone: where that test should run is unknowable.
    notebook = without(solved(), "conv_test_shape", "conv_q_values", "conv_values")
    next(c for c in notebook.cells if c.source == answer("conv_shape")).source += "\n" + answer("conv_values")
    notebook.cells.insert(3, nbformat.v4.new_code_cell("print('scratch')"))
    assert "cannot tell which" in plan(stripped(notebook)).review
    # A notebook that holds almost nothing of the exercise.
    rewritten = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(answer("conv_shape"))])
    assert "test cells were found" in plan(rewritten).review


# --- which notebook, whose ---------------------------------------------------------------------------


def discover(folder, single=None):
    submissions, ignored = find_submissions(folder, EXERCISES, single)
    return {(s.student, s.exercise): s for s in submissions if s.path is not None}, ignored


def age(path, seconds_ago):
    moment = 1_700_000_000 - seconds_ago
    os.utime(path, (moment, moment))
    return path


def test_a_correct_copy_beats_the_blank_release_and_the_note_names_both(tmp_path):
    copy_of = write(tmp_path / "ada", solved(), name=f"Copy of {NAME}")
    write(tmp_path / "ada" / "old", released())
    found = discover(tmp_path)[0][("ada", NAME)]
    assert found.path == copy_of
    note = " ".join(found.notes)
    assert "2 notebooks could be 01_convolution" in note
    assert note.index(f"Copy of {NAME}.ipynb") < note.index("not graded") < note.index(f"old/{NAME}.ipynb")
    assert "unanswered" in note


def test_among_exact_names_the_newest_wins(tmp_path):
    age(write(tmp_path / "ada" / "v1", solved()), 3600)
    newer = age(write(tmp_path / "ada" / "v2", solved(conv_shape="valid_shape = (2, 2)\nwhy_smaller = 'b'")), 60)
    found = discover(tmp_path)[0][("ada", NAME)]
    assert found.path == newer and "v1/01_convolution.ipynb" in " ".join(found.notes)


def test_an_exact_name_beats_a_newer_renamed_download(tmp_path):
    exact = age(write(tmp_path / "ada", solved()), 3600)
    age(write(tmp_path / "ada", solved(conv_shape="valid_shape = (3, 3)"), name=f"{NAME} (1)"), 60)
    found = discover(tmp_path)[0][("ada", NAME)]
    assert found.path == exact and f"{NAME} (1).ipynb" in " ".join(found.notes)


def test_checkpoints_are_never_candidates(tmp_path):
    copy1 = write(tmp_path / "ada", solved(), name=f"{NAME}-Copy1")
    write(tmp_path / "ada" / ".ipynb_checkpoints", solved(), name=f"{NAME}-checkpoint")
    write(tmp_path / "ada", solved(), name=f"{NAME}-checkpoint")
    found = discover(tmp_path)[0][("ada", NAME)]
    assert found.path == copy1
    assert found.notes == (f"graded '{NAME}-Copy1.ipynb', named differently from {NAME}.ipynb",)


def test_a_notebook_named_otherwise_is_found_by_its_test_cells(tmp_path):
    untitled = write(tmp_path / "ada", stripped(solved()), name="Untitled0")
    write(tmp_path / "ada", nbformat.v4.new_notebook(), name="scratch")
    found = discover(tmp_path)[0]
    assert list(found) == [("ada", NAME)] and found[("ada", NAME)].path == untitled
    assert "its test cells are 01_convolution's" in " ".join(found[("ada", NAME)].notes)


def test_a_canvas_export_makes_one_student_per_person(tmp_path):
    write(tmp_path, solved(), name=f"lovelaceada_12345_67890_{NAME}")
    write(tmp_path, solved(), name="lovelaceada_LATE_12345_67891_02_padding_stride_pooling")
    first = age(write(tmp_path, solved(conv_shape="valid_shape = (3, 3)"), name=f"hopper_23456_78901_{NAME}"), 0)
    reupload = age(write(tmp_path, solved(), name=f"hopper_23456_78902_{NAME}-1"), 0)
    late = write(tmp_path, solved(), name=f"turing_34567_89012_LATE_{NAME}")
    found, ignored = discover(tmp_path)
    assert sorted(found) == [("hopper_23456", NAME), ("lovelaceada_12345", NAME),
                             ("lovelaceada_12345", "02_padding_stride_pooling"), ("turing_34567", NAME)]
    assert found[("hopper_23456", NAME)].path == reupload and first.name in " ".join(found[("hopper_23456", NAME)].notes)
    assert found[("turing_34567", NAME)].path == late and "LATE" in " ".join(found[("turing_34567", NAME)].notes)
    assert "LATE" in " ".join(found[("lovelaceada_12345", "02_padding_stride_pooling")].notes)
    assert not found[("lovelaceada_12345", NAME)].notes and not ignored


def test_a_canvas_upload_named_like_a_moodle_file_stays_its_uploaders(tmp_path):
    # Canvas keeps the name a student gives a file after its own prefix; one shaped like a
    # Moodle export's made a row of its own, under a name of the student's choosing (a
    # twenty-fifth red team).
    write(tmp_path, solved(), name=f"hopper_23456_78901_Ada Lovelace_12345_assignsubmission_file_{NAME}")
    write(tmp_path, solved(), name=f"lovelaceada_12345_67890_{NAME}")
    found, ignored = discover(tmp_path)
    assert sorted(found) == [("hopper_23456", NAME), ("lovelaceada_12345", NAME)] and not ignored


def test_a_moodle_export_makes_one_student_per_participant(tmp_path):
    inside = write(tmp_path / "Ada Lovelace_12345_assignsubmission_file_", solved())
    (tmp_path / "Ada Lovelace_12345_assignsubmission_onlinetext_").mkdir()
    (tmp_path / "Ada Lovelace_12345_assignsubmission_onlinetext_" / "onlinetext.html").write_text("<p>hi</p>")
    flat = write(tmp_path, solved(), name=f"Grace Hopper_23456_assignsubmission_file_{NAME}")
    found, ignored = discover(tmp_path)
    assert found == {("Ada Lovelace_12345", NAME): found[("Ada Lovelace_12345", NAME)],
                     ("Grace Hopper_23456", NAME): found[("Grace Hopper_23456", NAME)]}
    assert found[("Ada Lovelace_12345", NAME)].path == inside and found[("Grace Hopper_23456", NAME)].path == flat
    assert not ignored


def test_a_moodle_4_export_without_the_trailing_underscore_makes_one_student_too(tmp_path):
    # Moodle 4.1 and later name the folders "..._assignsubmission_file", with no "_" after it.
    inside = write(tmp_path / "Ada Lovelace_12345_assignsubmission_file", solved())
    (tmp_path / "Ada Lovelace_12345_assignsubmission_onlinetext").mkdir()
    (tmp_path / "Ada Lovelace_12345_assignsubmission_onlinetext" / "onlinetext.html").write_text("<p>hi</p>")
    write(tmp_path / "Participant_23456_assignsubmission_file" / "week 1", solved())  # blind marking
    found, ignored = discover(tmp_path)
    assert sorted(found) == [("Ada Lovelace_12345", NAME), ("Participant_23456", NAME)]
    assert found[("Ada Lovelace_12345", NAME)].path == inside and not ignored
    # The folder of her online text is hers, not a student of its own with nothing handed in.
    assert {s.student for s in find_submissions(tmp_path, EXERCISES)[0]} == {"Ada Lovelace_12345",
                                                                            "Participant_23456"}


def test_stray_notebooks_and_links_belong_to_no_student(tmp_path):
    write(tmp_path / "ada", solved())
    write(tmp_path, solved(), name="README")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / f"{NAME}.ipynb").symlink_to(tmp_path / "ada" / f"{NAME}.ipynb")
    (tmp_path / "eve").symlink_to(tmp_path / "ada")
    found, ignored = discover(tmp_path)
    assert list(found) == [("ada", NAME)]
    assert ignored and "README.ipynb" in ignored[0]


# --- the whole way to grades.csv ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def honest_class(tmp_path_factory):
    subs = tmp_path_factory.mktemp("honest") / "submissions"
    write(subs / "stripped", stripped(student_copy_of_test_cells(solved())))
    write(subs / "colab", colab_download(student_copy_of_test_cells(solved())))
    write(subs / "stripped_blank", stripped(released()))
    write(subs / "stripped_wrong", stripped(solved(conv_values="I_star_K1 = I_star_K2 = np.zeros((2, 2))")))
    write(subs / "rewritten", nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "\n".join(answer(g) for g in ("conv_shape", "conv_values", "conv_padded", "conv_corr2d")))]))
    write(subs / "copies", solved(), name=f"Copy of {NAME}")
    write(subs / "copies" / "old", released())
    write(subs, solved(), name=f"lovelaceada_12345_67890_{NAME}")
    write(subs / "Jane Roe_45678_assignsubmission_file_", stripped(solved()))
    out = subs.parent / "out"
    report = grade_folder(subs, out, ROOT / "solutions", cell_timeout=20, progress=False, exercise=NAME)
    return {r.student: r for r in report.rows}, out


def test_honest_notebooks_in_every_layout_get_their_points(honest_class):
    rows, _ = honest_class
    totals = {student: (row.status.value, row.total) for student, row in rows.items()}
    assert totals == {
        "stripped": ("ok", FULL), "colab": ("ok", FULL), "stripped_blank": ("ok", 0),
        "stripped_wrong": ("ok", FULL - 4), "rewritten": ("needs-review", 0), "copies": ("ok", FULL),
        "lovelaceada_12345": ("ok", FULL), "Jane Roe_45678": ("ok", FULL),
    }
    assert "no nbgrader metadata" in " ".join(rows["colab"].notes)
    assert "not graded" in " ".join(rows["copies"].notes)


def test_moodle_students_get_their_feedback_in_a_zip_moodle_can_upload(honest_class):
    import zipfile

    _, out = honest_class
    with zipfile.ZipFile(out / "moodle" / f"{NAME}.zip") as archive:
        names = archive.namelist()
        page = archive.read(names[0])
    # Only the student from Moodle's download, under the name Moodle's import splits on "_":
    # full name, participant id, the feedback plugin's type and name, then the file.
    assert names == [f"Jane Roe_45678_assignfeedback_file/{NAME}.html"]
    name, participant, kind, plugin = names[0].split("/")[0].split("_", 4)
    assert (name, participant.isdigit(), kind, plugin) == ("Jane Roe", True, "assignfeedback", "file")
    assert page == (out / "feedback" / "Jane Roe_45678" / f"{NAME}.html").read_bytes()


def test_a_notebook_left_for_review_is_not_scored_as_zero(honest_class):
    rows, out = honest_class
    row = rows["rewritten"]
    assert all(s.by_hand for s in row.scores) and "needs review" in " ".join(row.notes)
    with open(out / "grades.csv", newline="") as handle:
        line = next(line for line in csv.DictReader(handle) if line["student"] == "rewritten")
    assert [line[s.grade_id] for s in row.scores] == ["", "", "", ""]
    assert (line["total"], line["max"], line["status"]) == ("0", f"{FULL:g}", "needs-review")
    assert "to grade by hand" in (out / "feedback" / "rewritten" / f"{NAME}.html").read_text()


def test_the_summary_counts_questions_to_grade_by_hand_apart(honest_class):
    from coursekit.grading.writers import question_counts

    rows, out = honest_class
    counts = question_counts(list(rows.values()), {NAME: EXERCISES[NAME]})
    for _, _, _, tally in counts:
        assert tally["to grade by hand"] == 1 and sum(tally.values()) == len(rows)
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# Ordinary code a student may write beside an answer. Each was once taken for tampering
# (a review): libraries set the defaults or code of functions they make, matplotlib
# registers an IPython callback with its first figure, scipy's compiled modules make
# submodules without files, traceback walks frames, a nested cell sets IPython's excepthook.
HONEST_CODE = {
    "plots": "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()",
    "scipy": "from scipy import optimize, signal\nsignal.correlate2d(np.ones((3, 3)), np.ones((2, 2)))",
    "sklearn": "from sklearn.metrics import confusion_matrix\nconfusion_matrix([0, 1], [0, 1])",
    "namedtuple_defaults": "from collections import namedtuple\nP = namedtuple('P', 'x y', defaults=(0,))\nP(1)",
    "typed_namedtuple": "from typing import NamedTuple\nclass Q(NamedTuple):\n    x: int = 0\nQ()",
    # A twenty-second red team: a warning from NumPy's sealed _methods module (the mean of an
    # empty selection), and copies of instances of recorded classes (copyreg stores the class's
    # __slotnames__ on it), each had an honest notebook marked tampered.
    "empty_mean": "empty = np.array([])\nprint(empty.mean())",
    "copies": ("import copy\nfrom collections import ChainMap\nfrom coursekit import metrics\n"
               "counts = copy.copy(metrics.confusion_counts(np.ones((2, 2), bool), np.ones((2, 2), bool)))\n"
               "settings = copy.deepcopy(ChainMap({'kernel': 3}, {'stride': 1}))"),
    # A twenty-third red team: importlib.invalidate_caches() (after %%writefile, as Python's
    # documentation asks) and the class-level fix for slow tab completion were marked tampered.
    "invalidates_import_caches": "import importlib\nimportlib.invalidate_caches()",
    "completer_setting": "from IPython.core.completer import IPCompleter\nIPCompleter.use_jedi = False",
    "progress_bar": "import asyncio\nfrom tqdm.auto import tqdm\nfor _ in tqdm(range(3)):\n    pass",
    "printed_traceback": "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    traceback.print_exc()",
    "logging": "import logging\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    logging.exception('boom')",
    "captured": "%%capture\n",
    # IPython's event callbacks, added by extensions (found by a review).
    "matplotlib_inline": "%matplotlib inline",
    "autoreload": "%load_ext autoreload\n%autoreload 2",
    # cProfile's profiler is C code: it is handed no frame.
    "profiled": "import cProfile\ncProfile.run('corr2d(I, K1)')\n%prun -q corr2d(I, K1)",
    # Globals that IPython and NumPy set on first use (a sixth red team).
    "top_level_await": "import asyncio\nawait asyncio.sleep(0)",
    "numpy_info": "np.info('convolve')",
    # Worker processes, whose semaphores need /dev/shm (a sixth red team).
    "process_pool": "from multiprocessing import Pool\nwith Pool(2) as pool:\n    assert pool.map(abs, [-1, 2]) == [1, 2]",
    # Shell commands, which ran through a pseudo-terminal (a seventh red team).
    "shell_escapes": "!ls\n!echo hello\n%pip --version",
    # NumPy's printing and error settings, held beside the modules the grader seals.
    "numpy_settings": "np.set_printoptions(precision=3)\nnp.seterr(all='ignore')\nprint(np.arange(3.0) / 3, repr(np.eye(2)))",
    # A debugging leftover: the grader's helper runs breakpoint() as a no-op.
    "leftover_breakpoint": "def check():\n    breakpoint()\n    return corr2d(I, K1)\n\n\ncheck()",
    # The common snippet that shows every expression's value (found by a review of honest
    # notebooks: all 16 points were withheld as tampering).
    "shows_every_value": "from IPython.core.interactiveshell import InteractiveShell\n"
                         "InteractiveShell.ast_node_interactivity = 'all'\nI.shape\nK1.shape",
    # A thirtieth red team: the usual fix for old code after NumPy 1.24 removed np.float and its
    # kin, a documented print setting of NumPy's kept on a class, and a library that adds a finder
    # to sys.meta_path as it is imported each had an honest notebook marked tampered.
    "old_numpy_aliases": ("np.float = float\nnp.int = int\nsetattr(np, 'object', object)\n"
                          "print(np.zeros(2, dtype=np.float), np.int(2.5))"),
    "polynomial_print_style": ("np.polynomial.set_default_printstyle('ascii')\n"
                               "print(np.polynomial.Polynomial([1, 2]))"),
    "imports_six": "import six\nassert six.PY3",
}


def test_a_module_the_notebook_writes_can_be_imported(tmp_path):
    # %%writefile, then an import, as in Jupyter, whose working folder is on the path.
    notebook = solved(conv_corr2d="%%writefile mylib.py\nimport numpy as np\n\n\n" + answer("conv_corr2d"))
    position = next(i for i, c in enumerate(notebook.cells) if nbgrader_meta(c).get("grade_id") == "conv_corr2d")
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell("from mylib import corr2d"))
    write(tmp_path / "subs" / "ada", notebook)
    (row,) = grade_folder(tmp_path / "subs", tmp_path / "out", ROOT / "solutions", progress=False, exercise=NAME).rows
    assert (row.status.value, row.total) == ("ok", FULL), row.notes


def test_installs_left_in_a_notebook_fail_at_once(tmp_path):
    # Colab users leave `%pip install` lines in; the grader has no network, and pip's retries
    # of an unreachable index took about 8 s a line (a review of honest notebooks).
    installs = "%pip install --quiet not-a-course-package\n%pip install another-missing-package\n"
    write(tmp_path / "subs" / "ada", solved(conv_corr2d=installs + answer("conv_corr2d")))
    (row,) = grade_folder(tmp_path / "subs", tmp_path / "out", ROOT / "solutions", progress=False,
                          exercise=NAME, cell_timeout=10).rows
    assert (row.status.value, row.total) == ("ok", FULL), row.notes


def test_a_function_that_prints_while_the_tests_run_keeps_its_points(tmp_path):
    # The tests call the student's function, which may print (flushed, at length, to stderr) or
    # show a progress bar: it goes nowhere, and costs nothing (streams the helper made before it
    # forked were closed in the notebook's process, and a flush there failed the test).
    wrapper = ("\nimport sys\nfrom tqdm.auto import tqdm\n\ndef corr2d(X, K):\n"
               "    print('computing', flush=True)\n    print('x' * 20000)\n"
               "    print('to stderr', file=sys.stderr, flush=True)\n"
               "    for _ in tqdm(range(3)):\n        pass\n    return _corr2d(X, K)\n")
    write(tmp_path / "subs" / "chatty", solved(conv_corr2d=answer("conv_corr2d").replace(
        "def corr2d(", "def _corr2d(") + wrapper))
    (row,) = grade_folder(tmp_path / "subs", tmp_path / "out", ROOT / "solutions", progress=False,
                          exercise=NAME).rows
    assert (row.status.value, row.total, row.notes) == ("ok", FULL, ()), row


def test_ordinary_code_beside_an_answer_is_not_tampering(tmp_path):
    subs = tmp_path / "subs"
    for student, code in HONEST_CODE.items():
        source = code + answer("conv_corr2d") if code.startswith("%%") else f"{answer('conv_corr2d')}\n\n{code}"
        write(subs / student, solved(conv_corr2d=source))
    report = grade_folder(subs, tmp_path / "out", ROOT / "solutions", progress=False, exercise=NAME)
    rows = {row.student: (row.status.value, row.total, row.notes) for row in report.rows}
    assert rows == {student: ("ok", FULL, ()) for student in HONEST_CODE}, rows



#: What the tests' calls of corr2d may do, each honest, and each a change to a library's namespace
#: while a test runs, which the grader otherwise takes for tampering (a twenty-fifth red team put a
#: liar in NumPy's and took it back within one test).
CALLED_BY_THE_TESTS = {
    # Modules imported for the first time inside the function, which bind themselves into their
    # packages (the grader imports NumPy's and IPython's core modules before the record).
    "imports": "import numpy.lib.recfunctions, numpy.polynomial.hermite\nfrom scipy.signal import correlate2d\n",
    # A twenty-ninth red team: the first read of a package's data (coursekit's example storms)
    # imports importlib's resource readers.
    "reads_storms": "from coursekit import data\ndata.example_storms()\n",
    # A warning raised from a NumPy module's code creates that module's registry; the notebook's
    # own calls are 4 x 4, so this warns first inside a test.
    "warns": "if np.shape(X) != (4, 4):\n    np.corrcoef([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])\n",
    # A twenty-seventh red team: importlib.invalidate_caches() moves a counter of importlib's, and a
    # magic called from code puts IPython's names in the builtins and takes them away.
    "invalidates": "import importlib\nimportlib.invalidate_caches()\n",
    "magic": "get_ipython().run_line_magic('precision', '3')\n",
    # Libraries' own context managers rebind names of `warnings` and `sys` and put them back.
    "redirects": ("import contextlib, io, warnings\nwith warnings.catch_warnings():\n"
                  "    warnings.simplefilter('ignore')\n    np.mean(np.array([]))\n"
                  "with contextlib.redirect_stdout(io.StringIO()):\n    print('quiet')\n"),
}


def test_a_function_the_tests_call_may_import_warn_and_redirect_without_being_tampering(tmp_path):
    subs = tmp_path / "subs"
    for student, code in CALLED_BY_THE_TESTS.items():
        body = "".join(f"    {line}\n" for line in code.splitlines())
        write(subs / student, solved(conv_corr2d=answer("conv_corr2d").replace("def corr2d(", "def _corr2d(")
                                     + f"\n\ndef corr2d(X, K):\n{body}    return _corr2d(X, K)\n"))
    report = grade_folder(subs, tmp_path / "out", ROOT / "solutions", progress=False, exercise=NAME)
    rows = {row.student: (row.status.value, row.total, row.notes) for row in report.rows}
    assert rows == {student: ("ok", FULL, ()) for student in CALLED_BY_THE_TESTS}, rows


def test_a_placeholder_left_above_an_answer_in_a_cell_of_its_own_is_not_called_unanswered(tmp_path):
    # The released cell still raises NotImplementedError; the answer follows in a new cell, and
    # its tests pass. The note said "not answered yet" all the same (a thirtieth red team).
    placeholder = next(c.source for c in released().cells if nbgrader_meta(c).get("grade_id") == "conv_shape")
    assert placeholder.endswith("raise NotImplementedError()")
    notebook = solved(conv_shape=placeholder)
    position = next(i for i, c in enumerate(notebook.cells) if nbgrader_meta(c).get("grade_id") == "conv_shape")
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell(answer("conv_shape")))
    write(tmp_path / "subs" / "ada", notebook)
    (row,) = grade_folder(tmp_path / "subs", tmp_path / "out", ROOT / "solutions", progress=False, exercise=NAME).rows
    assert (row.status.value, row.total) == ("ok", FULL), row.notes
    assert row.notes == ("a cell before the test `conv_test_shape` raised NotImplementedError",), row.notes
