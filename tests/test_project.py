"""The repository keeps its promises: layout, pins, lower bounds, documented helpers."""

import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["coursekit.book", "coursekit.conv", "coursekit.data", "coursekit.echo", "coursekit.encoder_decoder",
           "coursekit.lenet", "coursekit.metrics", "coursekit.nn.activations", "coursekit.nn.containers", "coursekit.nn.fit",
           "coursekit.nn.layers", "coursekit.nn.resampling",
           "coursekit.nn.losses", "coursekit.nn.optim", "coursekit.pixel_classifier", "coursekit.plotting",
           "coursekit.pooling", "coursekit.quantize", "coursekit.synthetic", "coursekit.testing", "coursekit.widgets"]


def test_layout():
    for name in ["book", "coursekit", "exercises", "solutions", "tests", "_config.yml", "_toc.yml",
                 "requirements.txt", "Makefile", "pyproject.toml", "README.md", ".ci/run",
                 "references.bib", "LICENSE", "LICENSE-TEXT"]:
        assert (ROOT / name).exists(), name


def test_pyproject_states_lower_bounds_only():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + sum(project.get("optional-dependencies", {}).values(), [])
    names = set()
    for spec in specs:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+>=[0-9.]+", spec), f"{spec!r}: lower bounds only"
        names.add(spec.split(">=")[0].lower())
    assert {"numpy", "scipy", "matplotlib"} <= names


def test_requirements_pin_the_whole_environment():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        requirement = line.split(";")[0].strip()  # a marker may follow, per Python version
        if not requirement or requirement.startswith("#"):
            continue
        name, _, version = requirement.partition("==")
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), f"{line!r} is not pinned"
        pins.setdefault(name.lower().replace("_", "-"), []).append(version)
    for needed in ["jupyter-book", "myst-nb", "jupytext", "numpy", "scipy", "matplotlib", "scikit-learn",
                   "ipywidgets", "pytest", "hypothesis", "ipykernel", "sphinxcontrib-bibtex", "setuptools"]:
        assert needed in pins, needed
    assert all(v.startswith("1.") for v in pins["jupyter-book"]), "the book is Jupyter Book 1.x"


def test_readme_shows_the_two_commands_first():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^make \w+", readme, flags=re.M)
    assert commands[:2] == ["make book", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("module_name", MODULES)
def test_public_functions_are_documented_with_examples_and_chapter(module_name):
    module = importlib.import_module(module_name)
    assert module.__all__, module_name
    for name in module.__all__:
        obj = getattr(module, name)
        if not inspect.isfunction(obj):
            continue
        doc = inspect.getdoc(obj) or ""
        assert obj.__module__ == module_name, f"{name} is defined in {obj.__module__}, not here"
        sections = ["Returns", "Examples", "Used in:"]
        if inspect.signature(obj).parameters:
            sections.append("Parameters")
        for section in sections:
            assert section in doc, f"{module_name}.{name} lacks {section!r}"


def test_each_public_name_is_defined_in_one_module_only():
    seen = {}
    for module_name in MODULES:
        for name in importlib.import_module(module_name).__all__:
            assert name not in seen, f"{name} is public in both {seen[name]} and {module_name}"
            seen[name] = module_name


def test_no_bare_assert_for_input_checks():
    for path in (ROOT / "coursekit").rglob("*.py"):
        assert not re.search(r"^\s+assert ", path.read_text(), flags=re.M), path.name


def test_every_benchmark_module_has_a_run_function():
    import benchmarks

    modules = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    assert modules
    for path in modules:
        module = importlib.import_module(f"benchmarks.{path.stem}")
        assert callable(getattr(module, "run", None)), path.name


def _workflow(name):
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    # YAML reads the key `on` as True.
    return workflow, workflow.get("on", workflow.get(True))


def test_publishing_workflow_builds_like_make_book_and_deploys_the_site():
    workflow, triggers = _workflow("publish.yml")
    assert triggers["push"]["branches"] == ["main"]
    steps = workflow["jobs"]["publish"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "make book" in runs, "the site must be built by the same command as locally"
    build = next(s for s in steps if s.get("run") == "make book")
    assert build["env"]["COURSEKIT_RADAR_SOURCE"] == "svrimg", "the published book is built on the real splits"
    assert any("cache" in s.get("uses", "") and ".cache/pip" in s["with"]["path"] for s in steps)
    deploy = next(s for s in steps if "gh-pages" in s.get("uses", ""))
    assert deploy["with"]["publish_dir"] == "./_build/html"
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import publish

    # Colab opens the published notebooks from the branch this workflow writes.
    assert deploy["with"]["publish_branch"] == publish.PAGES_BRANCH


def test_make_grade_passes_every_documented_setting_on():
    import subprocess

    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed", "-o", "sandbox", "grade",
         "SUBMISSIONS=subs", "OUT=out", "EXERCISE=01_convolution", "SANDBOX=required", "TIMEOUT=20",
         "HAND=marks.csv", "JOBS=3", "MEMORY=512", "NOTEBOOK_TIMEOUT=60", "RETRY=1"],
        capture_output=True, text=True, check=True)
    command = " ".join(result.stdout.split())
    for option in ('--out "out"', '--exercise "01_convolution"', '--sandbox "required"', '--timeout "20"',
                   '--hand-grades "marks.csv"', '--jobs "3"', '--memory "512"', '--notebook-timeout "60"',
                   "--retry-failed"):
        assert option in command, (option, command)


def test_pull_requests_run_make_test():
    workflow, triggers = _workflow("test.yml")
    assert "pull_request" in triggers
    steps = workflow["jobs"]["test"]["steps"]
    assert "make test" in [s.get("run", "") for s in steps]


def test_a_book_build_on_another_radar_source_starts_from_a_fresh_cache_and_environment(tmp_path):
    # Sphinx rereads only the sources that changed, and the execution cache keys on code:
    # pages executed on the synthetic stand-in must not survive a build on SVRIMG's data.
    import os
    import subprocess

    fake = tmp_path / "bin"
    fake.mkdir()
    # The recipe's commands, doing nothing; tools/radar_source.py, run by the fake python,
    # names the data by the source asked for (tested for real below).
    for tool, script in (("jupyter-book", "exit 0"), ("python", 'echo "$COURSEKIT_RADAR_SOURCE"')):
        (fake / tool).write_text(f"#!/bin/sh\n{script}\n")
        (fake / tool).chmod(0o755)
    build = tmp_path / "_build"

    def make_html(source):
        for kept in (".jupyter_cache", ".doctrees"):
            (build / kept).mkdir(parents=True, exist_ok=True)
        subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed", "html",
                        f"BOOK={tmp_path}", f"BIN={fake}"], check=True, capture_output=True,
                       env={**os.environ, "COURSEKIT_RADAR_SOURCE": source})
        return {kept: (build / kept).exists() for kept in (".jupyter_cache", ".doctrees")}

    assert make_html("synthetic") == {".jupyter_cache": False, ".doctrees": False}  # no stamp yet
    assert make_html("synthetic") == {".jupyter_cache": True, ".doctrees": True}
    assert make_html("svrimg") == {".jupyter_cache": False, ".doctrees": False}
    assert (build / ".radar-source").read_text().strip() == "svrimg"


def test_the_radar_stamp_names_the_data_the_chapters_would_run_on(tmp_path, monkeypatch):
    # Two servers of SVRIMG-format splits, one unreachable: what make html's stamp says.
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    from radar_source import identity
    from svrimg_splits import serve_folder, write_splits

    write_splits(tmp_path / "served")
    monkeypatch.setenv("COURSEKIT_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSEKIT_RADAR_SOURCE", "synthetic")
    assert identity() == "synthetic"
    monkeypatch.setenv("COURSEKIT_RADAR_SOURCE", "svrimg")
    with serve_folder(tmp_path / "served") as url:
        monkeypatch.setenv("COURSEKIT_SVRIMG_URL", url)
        served = identity()
    assert served.startswith(f"svrimg {url} ") and len(served.split()[-1]) == 16
    assert identity() == served  # read from the cache the first call filled
    for name in ("1996_2011_train.pkl", "2014_2017_test.pkl"):  # a server without the data
        (tmp_path / "cache" / name).unlink()
    (tmp_path / "other").mkdir()
    with serve_folder(tmp_path / "other") as url:
        monkeypatch.setenv("COURSEKIT_SVRIMG_URL", url)
        assert identity().startswith(f"svrimg {url} unavailable")
        monkeypatch.setenv("COURSEKIT_RADAR_SOURCE", "auto")
        assert identity() == "synthetic (fallback)"


def test_the_stamp_changes_with_any_file_of_the_package(tmp_path, monkeypatch):
    # The execution cache keys on a chapter's code only: a changed coursekit must clear it.
    import shutil

    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    from radar_source import package_digest

    copy = tmp_path / "coursekit"
    shutil.copytree(ROOT / "coursekit", copy, ignore=shutil.ignore_patterns("__pycache__"))
    first = package_digest(copy)
    assert package_digest(copy) == first and package_digest() == first
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.pyc").write_bytes(b"compiled")  # not the package's content
    assert package_digest(copy) == first
    plotting = copy / "plotting.py"
    plotting.write_text(plotting.read_text() + "\n# a comment\n")
    assert package_digest(copy) != first


def test_a_slow_chapter_warning_says_where_the_time_went(tmp_path):
    """The book build's warning of a slow chapter names its slowest cell and the longest wait
    for its next cell (where a hung executor shows), from the kernels' cell log."""
    import json

    from conftest import _warn_of_slow_chapters

    events = [(1, 0, "start", ""), (1, 1, "cell", "fast = 1"), (1, 2, "done", ""),
              (2, 10, "start", ""), (2, 11, "cell", "import numpy"), (2, 12, "done", ""),
              (2, 13, "cell", "explorer(storm)"), (2, 20, "done", ""), (2, 320, "cell", "figure()"),
              (2, 321, "done", "")]
    log = tmp_path / "cells.jsonl"
    log.write_text("".join(json.dumps({"pid": pid, "time": time, "event": event, "source": source}) + "\n"
                           for pid, time, event, source in events))
    build_log = "a.md: Executed notebook in 2.0 seconds\nb.md: Executed notebook in 311.5 seconds\n"
    with pytest.warns(UserWarning) as caught:
        _warn_of_slow_chapters(build_log, log)
    assert [str(w.message) for w in caught] == [
        "the book build executed b.md in 312 s (more than 150 s): its kernel ran 3 cells for 9 s in all, the "
        "slowest 7 s ('explorer(storm)'), the first 1 s after the kernel's start-up file; the longest wait for "
        "the next cell was 300 s, after 'explorer(storm)'; the rest went outside its cells"]
