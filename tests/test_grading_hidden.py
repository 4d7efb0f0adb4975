"""Hidden tests stay hidden: no text from a process that saw one reaches any feedback.

Each notebook runs twice: with the visible tests (its messages become feedback)
and with all tests (only pass/fail is read). These notebooks try to carry a
hidden test's source out: an input transformer that turns every test cell into
an ``AssertionError`` carrying the cell's source in base64, a function that
raises with its caller's source, and plain printing. None of it may appear,
in any encoding, in a feedback page or in ``grades.csv``. (Input transformers
are also tampering: those notebooks end ``tampered``, their points withheld.)
"""

import base64
import binascii
import html
import re

import pytest
from grading_helpers import FULL, NAME, ROOT, answer, hidden_lines, released, solved, student_copy_of_test_cells, write

from coursekit.grading import Status, grade_folder
from coursekit.grading.notebooks import nbgrader_meta
from coursekit.grading.scoring import instructor_messages

SHAPE = "valid_shape = (2, 2)\nwhy_smaller = 'b'\n"

# Rewrites every later test cell into an error that carries the end of its source (where hidden
# tests are), base64-encoded, short enough for any message; and prints it.
TRANSFORMER = '''import base64
def _carry(lines):
    source = "".join(lines)
    print(source)
    if "assert" in source:
        return ["raise AssertionError(%r)\\n" % base64.b64encode(source[-300:].encode()).decode()]
    return lines
get_ipython().input_transformers_post.append(_carry)
'''

# Remembers every later cell, and raises the whole record (base64) from the function the tests call.
RECORDER = '''import base64
_seen = []
get_ipython().input_transformers_post.append(lambda lines: _seen.append("".join(lines)) or lines)
'''
RECORDING_CORR2D = '''def corr2d(x, k):
    import sys
    caller = sys._getframe(1).f_code
    raise ValueError(base64.b64encode(("".join(_seen) + repr(caller.co_consts)).encode()).decode())
'''

# Raises with the newest source in linecache, in base64: no tampering, so its message reaches
# feedback, from the visible run only. The test cell that calls it was once that source.
CALLER_SOURCE_CORR2D = '''def corr2d(x, k):
    import base64, linecache
    source = "".join(list(linecache.cache.values())[-1][2])
    raise ValueError(base64.b64encode(source[-300:].encode()).decode())
'''

# The same through the calling frame: taking a frame is tampering (it leads to the grader's).
CALLER_FRAME_CORR2D = '''def corr2d(x, k):
    import base64, linecache, sys
    source = "".join(linecache.getlines(sys._getframe(1).f_code.co_filename))
    raise ValueError(base64.b64encode(source[-300:].encode()).decode())
'''

# Right on the chapter's 4x4 example (the visible tests), wrong elsewhere (the hidden ones).
NARROW_CORR2D = answer("conv_corr2d").replace("    return out", "    return out if x.shape == (4, 4) else out * 0")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("hidden") / "submissions"
    write(subs / "good", student_copy_of_test_cells(solved()))
    write(subs / "carries_tests_out", solved(conv_shape=TRANSFORMER + SHAPE))
    write(subs / "records_and_raises", solved(conv_shape=RECORDER + SHAPE, conv_corr2d=RECORDING_CORR2D))
    write(subs / "raises_caller_source", solved(conv_corr2d=CALLER_SOURCE_CORR2D))
    write(subs / "reads_caller_frame", solved(conv_corr2d=CALLER_FRAME_CORR2D))
    write(subs / "passes_visible_only", solved(conv_shape="valid_shape = (2, 2)\nwhy_smaller = 'a'",
                                              conv_corr2d=NARROW_CORR2D))
    write(subs / "blank", released())
    out = subs.parent / "out"
    report = grade_folder(subs, out, ROOT / "solutions", cell_timeout=20, progress=False, exercise=NAME)
    return {r.student: r for r in report.rows}, out


def decoded_forms(text):
    """The text, HTML-unescaped, and every base64 or hex run in it decoded."""
    text = html.unescape(text)
    forms = [text]
    for token in re.findall(r"[A-Za-z0-9+/=]{16,}", text):
        for decode in (lambda t: base64.b64decode(t + "=" * (-len(t) % 4)), binascii.unhexlify):
            try:
                forms.append(decode(token).decode("utf-8", "replace"))
            except (ValueError, binascii.Error):
                pass
    return forms


def test_nothing_of_a_hidden_test_reaches_feedback_or_the_table(graded):
    rows, out = graded
    hidden = hidden_lines(min_length=20)
    assert hidden
    outputs = [*sorted((out / "feedback").rglob("*.html")), out / "grades.csv"]
    assert len(outputs) == len(rows) + 1
    for path in outputs:
        for form in decoded_forms(path.read_text()):
            assert "HIDDEN TESTS" not in form, path
            for line in hidden:
                assert line not in form, (path, line)


def test_the_leaking_notebooks_earn_nothing_for_it(graded):
    rows, _ = graded
    # A frame taken: tampering.
    for student in ("records_and_raises", "reads_caller_frame"):
        assert rows[student].status is Status.TAMPERED and rows[student].total == 0, student
        assert all(s.message.startswith("withheld for review") for s in rows[student].scores)
    # IPython's transformers never see a test (the exercise's cells run apart from IPython):
    # this one's answers are right, and its trap for the tests caught nothing.
    assert (rows["carries_tests_out"].status, rows["carries_tests_out"].total) == (Status.OK, FULL)
    assert rows["raises_caller_source"].total == FULL - 6  # its corr2d raises instead of computing
    assert rows["good"].total == FULL and rows["blank"].total == 0
    assert {rows[s].status for s in ("good", "blank", "raises_caller_source", "passes_visible_only")} == {Status.OK}


def test_feedback_comes_from_the_run_without_hidden_tests(graded):
    rows, _ = graded
    # What the notebook carried out of the visible run is not even the test cell students already
    # have: the test's source is in no cache of the notebook's (linecache held it once).
    message = rows["raises_caller_source"].score("conv_test_corr2d").message
    carried = base64.b64decode(message.split("ValueError: ")[1]).decode()
    shown = next(c.source for c in released().cells if nbgrader_meta(c).get("grade_id") == "conv_test_corr2d")
    assert carried and not [line for line in shown.splitlines() if len(line.strip()) >= 20 and line in carried]


def test_a_failed_hidden_test_shows_only_the_instructors_message(graded):
    rows, _ = graded
    row = rows["passes_visible_only"]
    shape, corr2d = row.score("conv_test_shape"), row.score("conv_test_corr2d")
    assert (shape.points, corr2d.points) == (0, 0)
    assert shape.message == ("failed in the run with the hidden tests: "
                             "why_smaller does not name the reason the output shrinks")
    # The message as the solution writes it (an f-string's values would be left out: they
    # come from the notebook's process; see the next test).
    assert corr2d.message == ("failed in the run with the hidden tests: wrong values for a rectangular "
                              "image or kernel (5x8 with 2x3, 9x4 with 4x1, 6x6 with 6x6, 7x3 with 1x1): "
                              "does your loop use the kernel's own shape?")
    assert row.score("conv_test_values").points == 4


def test_instructor_messages_are_read_from_asserts_and_err_msg():
    source = ('assert x, "plain"\nassert y, f"value {y!r} is wrong"\n'
              'np.testing.assert_allclose(a, b, err_msg="arrays differ")\nassert z\n')
    messages = instructor_messages(source)
    assert [text for _, text in messages] == ["plain", "value … is wrong", "arrays differ"]
    assert messages[1][0] == ("value ", " is wrong")
