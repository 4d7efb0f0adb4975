"""The result cache: keyed by everything a grade depends on, trusted for nothing else.

An entry stands for a notebook's bytes graded against a solution, by this grader
in this environment with these settings. It says nothing about whose notebook
it was, and it is signed: a forged, edited or copied entry is graded again.
"""

import dataclasses
import json
import shutil

import pytest
from grading_helpers import FULL, NAME, ROOT, released, solved, write

from coursekit.grading import cache as cache_module
from coursekit.grading import grade_folder, load_exercises
from coursekit.grading.cache import ResultCache, package_fingerprint
from coursekit.grading.records import Outcome, Score, Status

EXERCISE = load_exercises(ROOT / "solutions")[NAME]
SETTINGS = {"cell_timeout": 30.0, "memory_mb": 2048}
OUTCOME = Outcome(Status.OK, (Score("q", 2.0, 2.0, None), Score("essay", 1.0, None, "to grade by hand")), ("a note",))


def test_a_change_to_any_coursekit_file_changes_the_fingerprint(tmp_path):
    package = tmp_path / "coursekit"
    shutil.copytree(ROOT / "coursekit", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = package_fingerprint(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "pooling.cpython-311.pyc").write_bytes(b"compiled")
    assert package_fingerprint(package) == before  # compiled files are not the code
    pooling = package / "pooling.py"
    pooling.write_text(pooling.read_text() + "\n# a fix\n")
    assert package_fingerprint(package) != before
    assert package_fingerprint() == package_fingerprint(ROOT / "coursekit")  # the installed coursekit


def test_the_key_covers_submission_solution_environment_and_settings(tmp_path, monkeypatch):
    cache = ResultCache(tmp_path, SETTINGS)
    key = cache.key(b"notebook", EXERCISE)
    assert cache.key(b"notebook", EXERCISE) == key
    assert cache.key(b"notebook!", EXERCISE) != key
    assert cache.key(b"notebook", dataclasses.replace(EXERCISE, digest="0" * 64)) != key
    assert ResultCache(tmp_path, {**SETTINGS, "cell_timeout": 10.0}).key(b"notebook", EXERCISE) != key
    for part in ("coursekit", "numpy", "grader"):
        environment = {**cache_module.environment(), part: "another version"}
        monkeypatch.setattr(cache_module, "environment", lambda: environment)
        assert ResultCache(tmp_path, SETTINGS).key(b"notebook", EXERCISE) != key, part


def test_an_entry_is_trusted_only_as_the_grader_signed_it(tmp_path):
    cache = ResultCache(tmp_path, SETTINGS)
    cache.save("a" * 64, OUTCOME)
    assert cache.load("a" * 64) == OUTCOME
    assert (tmp_path / ".secret").stat().st_mode & 0o077 == 0
    entry = tmp_path / "aa" / f"{'a' * 64}.json"
    data = json.loads(entry.read_text())
    data["outcome"]["scores"][0][2] = 1000.0  # edited
    entry.write_text(json.dumps(data))
    assert cache.load("a" * 64) is None
    cache.save("a" * 64, OUTCOME)
    (tmp_path / "bb").mkdir()
    shutil.copy(entry, tmp_path / "bb" / f"{'b' * 64}.json")  # copied under another notebook's key
    assert cache.load("b" * 64) is None
    (tmp_path / ".secret").unlink()  # a new secret: nothing signed with the old one counts
    assert ResultCache(tmp_path, SETTINGS).load("a" * 64) is None


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory):
    """A class graded, its cache forged by someone who knows everything but the secret, graded again."""
    base = tmp_path_factory.mktemp("cache")
    subs, out = base / "submissions", base / "out"
    write(subs / "good", solved())
    write(subs / "blank", released())
    first = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME)
    cache = ResultCache(out / ".results", {"cell_timeout": 30.0, "memory_mb": 2048, "sandbox": "bubblewrap",
                                               "notebook_timeout": None})
    good_key = cache.key((subs / "good" / f"{NAME}.ipynb").read_bytes(), EXERCISE)
    blank_key = cache.key((subs / "blank" / f"{NAME}.ipynb").read_bytes(), EXERCISE)
    good_entry = out / ".results" / good_key[:2] / f"{good_key}.json"
    blank_entry = out / ".results" / blank_key[:2] / f"{blank_key}.json"
    assert good_entry.exists() and blank_entry.exists()
    # 1. The good notebook's entry copied over the blank one's.
    shutil.copy(good_entry, blank_entry)
    # 2. Entries naming a student who does not exist, in this format and the last grader's.
    forged = {"outcome": json.loads(good_entry.read_text())["outcome"], "mac": "0" * 64,
              "student": "ghost", "row": {"student": "ghost", "exercise": NAME, "total": FULL}}
    (out / ".results" / "ff").mkdir(exist_ok=True)
    (out / ".results" / "ff" / f"{'f' * 64}.json").write_text(json.dumps(forged))
    (out / ".results" / "ghost").mkdir()
    (out / ".results" / "ghost" / f"{NAME}.json").write_text(json.dumps(forged))
    second = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME)
    return first, second, out, subs


def test_a_forged_entry_changes_no_ones_row_and_adds_no_one(graded_twice):
    first, second, out, _ = graded_twice
    rows = {r.student: r for r in second.rows}
    assert sorted(rows) == ["blank", "good"]
    assert rows["blank"].total == 0 and not rows["blank"].reused  # graded again: its entry failed its check
    assert rows["good"].total == FULL and rows["good"].reused
    assert second.ran == 1
    assert "ghost" not in (out / "grades.csv").read_text() and not (out / "feedback" / "ghost").exists()


def test_a_change_to_the_solutions_grades_everything_again(graded_twice, tmp_path):
    _, _, out, subs = graded_twice
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    notebook = json.loads((ROOT / "solutions" / f"{NAME}.ipynb").read_text())
    notebook["cells"][0]["source"] = ["A reworded introduction.\n"]  # any change at all
    (solutions / f"{NAME}.ipynb").write_text(json.dumps(notebook))
    report = grade_folder(subs, out, solutions, progress=False, exercise=NAME)
    assert report.ran == 2 and not any(r.reused for r in report.rows)
    assert {r.student: r.total for r in report.rows} == {"good": FULL, "blank": 0}
