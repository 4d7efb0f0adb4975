"""Run assembled notebooks in parallel, each in its own process and temporary directory.

Starting a Jupyter kernel costs about two seconds, most of it importing the same
libraries again. Here a *zygote*, a fresh Python process that has imported
IPython, NumPy, SciPy, Matplotlib and coursekit once, forks one process per
submission; that process runs the cells in an IPython shell of its own.

The zygote starts from a clean interpreter and never sees a notebook, so a
submission cannot find another's answers in memory. Each submission's process
talks to the grader over a socket pair of its own, handed over by the zygote:
there is no address another submission could connect to. Cells are sent one at a
time, when the previous one has reported, so a submission's code never holds the
tests that come after it, and the grader accepts exactly one report per cell sent.

A submission may crash its process (``os._exit``, a segfault), loop forever,
allocate without bound, or kill the zygote. Each ends that one run only:

- ``kernel-died``: the process ended before the last cell;
- ``timeout``: a cell ran longer than the per-cell limit (it is interrupted, and
  its process killed if it does not stop);
- ``out-of-memory``: a cell hit the memory limit;
- a killed zygote is replaced; runs in progress go on.

Limits: submissions run as the grader's user, like nbgrader's kernels. Code that
runs in the same process as the tests can, with effort, subvert them; grading
only makes the easy ways fail. Run the grader as an unprivileged user, in a
container, when the class may be hostile.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

__all__ = ["TIMEOUT_NAME", "CellResult", "RunResult", "run_all"]

TIMEOUT_NAME = "CellTimeout"
_GRACE_SECONDS = 3.0  # after a timeout signal, how long a cell may take to stop
_SPAWN_LIMIT_SECONDS = 60.0  # how long a fork request may go unanswered
_MAX_MESSAGE_BYTES = 1 << 16


@dataclass
class CellResult:
    index: int
    error: dict | None  # {"ename", "evalue"} when the cell raised


@dataclass
class RunResult:
    status: str  # "ok", "kernel-died", "timeout" or "out-of-memory"
    cells: list[CellResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Job:
    key: object
    sources: list[str]
    token: str = ""
    pid: int | None = None
    connection: Connection | None = None
    next_index: int = 0  # the cell sent last and awaited; len(sources) + 1 once all have run
    cell_started: float = 0.0
    started: float = 0.0
    workdir: str = ""
    result: RunResult = field(default_factory=lambda: RunResult(status="ok"))


class _Zygote:
    """The forking process, and the socket to it (messages keep their boundaries)."""

    def __init__(self, cell_timeout, memory_bytes):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coursekit.grading.zygote", str(theirs.fileno()), str(cell_timeout),
             str(memory_bytes)],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.socket = ours

    def spawn(self, job):
        self.socket.send(f"spawn {job.token} {job.workdir}".encode())

    def receive(self):
        """One message: ("pid", token, pid, fd), ("exit", token, status, None), or None if it died."""
        try:
            message, fds, _, _ = socket.recv_fds(self.socket, 1024, 1)
        except OSError:
            return None
        if not message:
            return None
        kind, token, number = message.decode().split()
        return kind, token, int(number), (fds[0] if fds else None)

    def close(self):
        self.socket.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_all(jobs, cell_timeout=30.0, memory_mb=2048, workers=None, on_done=None):
    """Run many notebooks' code cells, at most `workers` at a time.

    Parameters
    ----------
    jobs : iterable of (key, list of str)
        The code cells of each notebook, in order.
    cell_timeout : float
        Seconds one cell may run.
    memory_mb : int
        Memory one submission may allocate beyond what its process starts with.
    workers : int, optional
        Parallel processes; all cores by default.
    on_done : callable(key, RunResult), optional
        Called as each notebook finishes, in the calling process.

    Returns
    -------
    dict of key -> RunResult
    """
    workers = workers or os.cpu_count() or 1
    pending = [_Job(key, list(sources)) for key, sources in jobs][::-1]
    results: dict = {}
    active: dict[str, _Job] = {}
    exit_codes: dict[str, int] = {}
    memory_bytes = memory_mb * 1024 * 1024
    counter = 0

    with tempfile.TemporaryDirectory(prefix="coursekit-grader-") as base:
        zygote = _Zygote(cell_timeout, memory_bytes)

        def finish(job, status=None):
            if status and job.result.status == "ok":
                job.result.status = status
            if job.pid is not None:
                _kill_group(job.pid)
            if job.connection is not None:
                job.connection.close()
            shutil.rmtree(job.workdir, ignore_errors=True)
            job.result.seconds = time.monotonic() - job.started
            results[job.key] = job.result
            del active[job.token]
            if on_done is not None:
                on_done(job.key, job.result)

        def died(job):
            deadline = time.monotonic() + 1.0
            while job.token not in exit_codes and time.monotonic() < deadline:
                if select.select([zygote.socket], [], [], 0.05)[0]:
                    handle(zygote.receive())
            if exit_codes.get(job.token) == -signal.SIGKILL:
                return "out-of-memory"  # the kernel's OOM killer: a SIGKILL this grader did not send
            return "kernel-died"

        def handle(message):
            nonlocal zygote
            if message is None:  # the zygote is gone (perhaps a submission killed it)
                zygote.close()
                zygote = _Zygote(cell_timeout, memory_bytes)
                for job in active.values():
                    job.result.notes.append("the grader's helper process was killed while this notebook ran")
                    if job.connection is None:
                        zygote.spawn(job)
                return
            kind, token, number, fd = message
            job = active.get(token)
            if kind == "exit":
                exit_codes[token] = number
            elif job is None or job.connection is not None:
                if fd is not None:
                    os.close(fd)
            else:
                job.pid = number
                job.connection = Connection(fd)
                _send_cell(job)

        try:
            while pending or active:
                while pending and len(active) < workers:
                    job = pending.pop()
                    counter += 1
                    job.token = f"job{counter}"
                    job.workdir = tempfile.mkdtemp(prefix=f"{job.token}-", dir=base)
                    job.started = job.cell_started = time.monotonic()
                    active[job.token] = job
                    zygote.spawn(job)
                connections = [j.connection for j in active.values() if j.connection is not None]
                ready, _, _ = select.select([zygote.socket, *connections], [], [], 0.2)
                if zygote.socket in ready:
                    handle(zygote.receive())
                now = time.monotonic()
                for job in list(active.values()):
                    if job.connection is None:
                        if now - job.started > _SPAWN_LIMIT_SECONDS:
                            finish(job, "kernel-died")
                        continue
                    if job.connection in ready:
                        _receive(job, finish, died)
                    elif (job.next_index < len(job.sources)
                          and now - job.cell_started > cell_timeout + _GRACE_SECONDS):
                        # The cell ignored its interruption (a C loop, or code that swallows it).
                        job.result.cells.append(CellResult(job.next_index, {
                            "ename": TIMEOUT_NAME, "evalue": f"cell exceeded the time limit of {cell_timeout:g} s"}))
                        finish(job, "timeout")
                    elif job.next_index > len(job.sources) and now - job.cell_started > _GRACE_SECONDS:
                        finish(job)  # every cell ran; the process is slow to exit
        finally:
            for job in list(active.values()):
                if job.pid is not None:
                    _kill_group(job.pid)
            zygote.close()
    return results


def _receive(job, finish, died):
    try:
        # JSON, never pickle: unpickling what a submission sends would run its code here.
        message = json.loads(job.connection.recv_bytes(_MAX_MESSAGE_BYTES))
    except (EOFError, OSError):
        finish(job, None if job.next_index > len(job.sources) else died(job))
        return
    except Exception:  # not even a well-formed message: the submission wrote to the socket
        job.result.notes.append("the notebook wrote to the grader's channel: stopped")
        finish(job, "kernel-died")
        return
    valid = (isinstance(message, list) and len(message) == 2 and message[0] == job.next_index
             and (message[1] is None or (isinstance(message[1], dict)
                                         and set(message[1]) == {"ename", "evalue"})))
    if not valid or job.next_index >= len(job.sources):
        # A report for a cell that was not sent, or a second one: the notebook forged it.
        job.result.notes.append("the notebook sent the grader a result it did not compute: stopped")
        finish(job, "kernel-died")
        return
    index, error = message
    job.result.cells.append(CellResult(index, error))
    if error and error["ename"] == TIMEOUT_NAME:
        job.result.status = "timeout"
    elif error and error["ename"] == "MemoryError" and job.result.status == "ok":
        job.result.status = "out-of-memory"
    job.next_index = index + 1
    _send_cell(job)


def _send_cell(job):
    """Send the job's next cell, or None when all have run (the process then exits)."""
    if job.next_index < len(job.sources):
        message = (job.next_index, job.sources[job.next_index])
    else:
        message = None
        job.next_index = len(job.sources) + 1  # marks "every cell has run"
    try:
        job.connection.send_bytes(json.dumps(message).encode())
    except OSError:
        pass  # the process is gone: end of file on its connection will tell
    job.cell_started = time.monotonic()


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
