"""Shared test set-up: Hypothesis settings, closing figures after each test, and which
tests share a worker when the suite runs in parallel."""

import ipaddress
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Deterministic example generation keeps CI runs repeatable; no deadline because a
# shared 2-core machine makes per-example timings meaningless.
settings.register_profile(
    "course",
    deadline=None,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("course")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    """No test may reach the internet: only loopback names and addresses resolve."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        allowed = ipaddress.ip_address(name).is_loopback
    except ValueError:
        allowed = name == "localhost"
    if not allowed:
        raise socket.gaierror(f"tests may not reach {name!r}: only 127.0.0.1 and localhost")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The whole book, built once per test session (strict flags, executed chapters),
    on real-format data: SVRIMG pickles made from the shipped real storms, served on
    127.0.0.1, loaded through the same download path as the published build's.
    (The Colab emulation runs every chapter on the synthetic set, so both sources
    are executed by the suite.)"""
    from bookbuild import ROOT, make_html
    from svrimg_splits import serve_folder, write_splits

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # the workers of one run share the parent of their temporary folders
        claim = tmp_path_factory.getbasetemp().parent / "built_book.worker"
        try:
            with open(claim, "x") as f:
                f.write(worker)
        except FileExistsError:
            pytest.fail(f"{claim.read_text()} builds the book already, and {worker} would build it into the same "
                        "_build: the book's tests must share one worker (SHARED_FIXTURES, below)")
    served = tmp_path_factory.mktemp("svrimg-served")
    write_splits(served)
    ipython_dir = tmp_path_factory.mktemp("ipython")
    (ipython_dir / "profile_default" / "startup").mkdir(parents=True)
    (ipython_dir / "profile_default" / "startup" / "cell_timer.py").write_text(_CELL_TIMER)
    cell_log = ipython_dir / "cells.jsonl"
    with serve_folder(served) as url:
        result = make_html(ROOT, radar_env={
            "COURSEKIT_RADAR_SOURCE": "svrimg",
            "COURSEKIT_SVRIMG_URL": url,
            "COURSEKIT_DATA_DIR": str(tmp_path_factory.mktemp("svrimg-cache")),
            "IPYTHONDIR": str(ipython_dir),
            "COURSEKIT_CELL_LOG": str(cell_log),
        })
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    _warn_of_slow_chapters(result.stdout + result.stderr, cell_log)
    return ROOT / "_build" / "html", result.stdout + result.stderr


#: A chapter that executes for longer than this in the book build is named in the run's
#: warnings: the slowest takes about 70 s. Fresh-clone runs' quantization chapter took 305-312 s
#: (12 s normally), a third of the 15-minute budget: the executor waited for the reply to the
#: cell after its explorer until the 300-s cell timeout (jupyter/nbclient#312; the explorers
#: now draw into images, see coursekit.widgets).
SLOW_CHAPTER_SECONDS = 150

#: An IPython startup file for the book build's kernels: it logs when each kernel starts and
#: when each cell starts and ends, so that a slow chapter's warning can say where its time went.
_CELL_TIMER = """\
def _time_cells():  # a function, so that the chapters' namespace gains no names
    import json, os, time

    path = os.environ.get("COURSEKIT_CELL_LOG")

    def log(**entry):
        try:  # a diagnostic: it must never put a traceback into a chapter's output
            with open(path, "a") as out:
                out.write(json.dumps({"pid": os.getpid(), "time": time.time(), **entry}) + "\\n")
        except Exception:
            pass

    if path:
        log(event="start")
        get_ipython().events.register(
            "pre_run_cell", lambda info: log(event="cell", source=info.raw_cell.strip()[:60]))
        get_ipython().events.register("post_run_cell", lambda result: log(event="done"))

_time_cells()
del _time_cells
"""


def _warn_of_slow_chapters(build_log, cell_log):
    """Warn (not fail: a loaded machine is not a bug) of every chapter that myst-nb took long to
    execute, with how long its cells ran by the kernel's clock, and its slowest cell."""
    import json
    import re
    import warnings

    chapters = re.findall(r"([^\s/]+\.md): Executed notebook in ([\d.]+) seconds", build_log)
    kernels = {}  # pid: entries, in the order the kernels started (one per chapter, in turn)
    try:
        for line in cell_log.read_text().splitlines():
            entry = json.loads(line)
            kernels.setdefault(entry["pid"], []).append(entry)
    except (OSError, ValueError, KeyError):  # no log, or a line cut short by a killed kernel
        kernels = {}
    runs = list(kernels.values()) if len(kernels) == len(chapters) else [None] * len(chapters)
    for (page, seconds), entries in zip(chapters, runs):
        if float(seconds) <= SLOW_CHAPTER_SECONDS:
            continue
        where = "no kernel-side timing"
        if entries:
            cells = [(end["time"] - begin["time"], (begin["source"].splitlines() or [""])[0])
                     for begin, end in zip(entries, entries[1:]) if begin["event"] == "cell" and end["event"] == "done"]
            slowest = max(cells, default=(0.0, ""))
            first_cell = next((e["time"] for e in entries if e["event"] == "cell"), entries[0]["time"])
            # Between one cell's end and the next one's start: the executor's side of the exchange.
            waits = [(after["time"] - done["time"], (before["source"].splitlines() or [""])[0])
                     for before, done, after in zip(entries, entries[1:], entries[2:])
                     if (before["event"], done["event"], after["event"]) == ("cell", "done", "cell")]
            wait = max(waits, default=(0.0, ""))
            where = (f"its kernel ran {len(cells)} cells for {sum(t for t, _ in cells):.0f} s in all, the slowest "
                     f"{slowest[0]:.0f} s ({slowest[1]!r}), the first {first_cell - entries[0]['time']:.0f} s "
                     f"after the kernel's start-up file; the longest wait for the next cell was {wait[0]:.0f} s, "
                     f"after {wait[1]!r}; the rest went outside its cells")
        warnings.warn(f"the book build executed {page} in {float(seconds):.0f} s "
                      f"(more than {SLOW_CHAPTER_SECONDS} s): {where}", stacklevel=2)


# --- running in parallel -------------------------------------------------------------
# `make test` runs the suite in two pytest-xdist workers (-n 2). Tests that use one of
# these expensive shared fixtures form a group that runs in one worker, so that the
# fixture is built once while the other worker runs the rest. For the book it is also a
# matter of correctness: it builds into the checkout's _build, which two workers must
# never write at once.
SHARED_FIXTURES = {
    "built_book": "book",  # the strict build; the browser check serves its pages
    "colab": "colab",  # the emulated Colab's clean venv, then every notebook run in it
    "graded_class": "graded-class",  # a class of broken and hostile submissions
    "graded": "graded-hidden",  # test_grading_hidden's class of leaking notebooks
    "hostile_class": "hostile-class",  # the attacks of issue 18, graded with the sandbox required
    "graded_variants": "graded-variants",  # every exercise graded solved, released and mistaken
}


def _group(item):
    """The group of a test: its xdist_group marks, else the group of its shared fixture."""
    marked = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    if marked:
        return "_".join(sorted(marked))
    return next((group for fixture, group in SHARED_FIXTURES.items() if fixture in item.fixturenames), None)


# xdist 3.8 would carry an xdist_group to its scheduler by appending "@group" to the test's
# node id, which pytest 9.2 no longer lets it change (pytest-dev/pytest-xdist#1386), so
# groups would be silently ignored. Instead, each worker writes the groups it collected
# to a file, and the scheduler reads them once every worker has collected.
_GROUPS_INPUT = "coursekit_groups_folder"
_GROUPS_FOLDER = pytest.StashKey[str]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """Controller: give every worker the folder to write its groups to."""
    stash = node.config.stash
    if _GROUPS_FOLDER not in stash:
        stash[_GROUPS_FOLDER] = tempfile.mkdtemp(prefix="pytest-xdist-groups-")
    node.workerinput[_GROUPS_INPUT] = stash[_GROUPS_FOLDER]


def pytest_collection_modifyitems(config, items):
    folder = getattr(config, "workerinput", {}).get(_GROUPS_INPUT)
    if folder:  # in a worker, before it reports its collection
        groups = {item.nodeid: _group(item) for item in items}
        path = Path(folder) / f"{config.workerinput['workerid']}.json"
        path.with_suffix(".tmp").write_text(json.dumps({nodeid: g for nodeid, g in groups.items() if g}))
        path.with_suffix(".tmp").replace(path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """For --dist load (what -n picks by default) and loadgroup alike: groups stay together."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupsFromWorkers(LoadGroupScheduling):
        groups = None

        def _split_scope(self, nodeid):
            if self.groups is None:  # first called once every worker has collected
                self.groups = {}
                for path in Path(config.stash[_GROUPS_FOLDER]).glob("*.json"):
                    self.groups.update(json.loads(path.read_text()))
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return GroupsFromWorkers(config, log)


def pytest_unconfigure(config):
    if _GROUPS_FOLDER in config.stash:
        shutil.rmtree(config.stash[_GROUPS_FOLDER], ignore_errors=True)
