"""Run assembled notebooks in parallel, each in its own process and temporary directory.

Starting a Jupyter kernel costs about two seconds, most of it importing the same
libraries again. Here a *zygote*, a fresh Python process that has imported
IPython, NumPy, SciPy, Matplotlib and coursekit once, forks one process per
submission; that process runs the cells in an IPython shell of its own.

The zygote is started from a clean interpreter and never sees a notebook, so a
submission cannot find another's answers in memory. Cells reach a submission's
process one at a time, when the previous cell has finished, so its code never
holds the tests that come after it.

A submission may crash its process (``os._exit``, a segfault), loop forever, or
allocate without bound. Each ends that process only, and is reported:

- ``kernel-died``: the process ended before the last cell;
- ``timeout``: a cell ran longer than the per-cell limit (it is interrupted, and
  its process killed if it does not stop);
- ``out-of-memory``: a cell hit the memory limit.
"""

from __future__ import annotations

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

__all__ = ["CellResult", "RunResult", "run_all"]

_GRACE_SECONDS = 3.0  # after a timeout signal, how long a cell may take to stop
_TIMEOUT_NAME = "CellTimeout"


@dataclass
class CellResult:
    index: int
    error: dict | None  # {"ename", "evalue"} when the cell raised


@dataclass
class RunResult:
    status: str  # "ok", "kernel-died", "timeout" or "out-of-memory"
    cells: list[CellResult] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Job:
    key: object
    sources: list[str]
    token: str = ""
    connection: Connection | None = None
    next_index: int = 0
    cell_started: float = 0.0
    started: float = 0.0
    workdir: str = ""
    result: RunResult = field(default_factory=lambda: RunResult(status="ok"))


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
    results = {}
    with tempfile.TemporaryDirectory(prefix="coursekit-grader-") as base:
        address = os.path.join(base, "socket")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(address)
        server.listen(64)
        server.setblocking(False)
        zygote = subprocess.Popen(
            [sys.executable, "-m", "coursekit.grading.zygote", address, str(cell_timeout),
             str(memory_mb * 1024 * 1024)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        try:
            _schedule(pending, results, zygote, server, base, workers, cell_timeout, on_done)
        finally:
            zygote.stdin.close()
            try:
                zygote.wait(timeout=10)
            except subprocess.TimeoutExpired:
                zygote.kill()
                zygote.wait()
            zygote.stdout.close()
            server.close()
    return results


class _ZygoteOutput:
    """Lines from the zygote: "pid TOKEN PID" after each fork, "exit TOKEN STATUS" after each end."""

    def __init__(self, stream):
        self.fd = stream.fileno()
        self.buffer = b""
        self.pids: dict[str, int] = {}
        self.exit_codes: dict[str, int] = {}

    def read_available(self):
        chunk = os.read(self.fd, 65536)
        if not chunk:
            raise RuntimeError("the grading zygote process ended unexpectedly")
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            kind, token, number = line.decode().split()
            (self.pids if kind == "pid" else self.exit_codes)[token] = int(number)

    def wait_exit(self, token, seconds):
        deadline = time.monotonic() + seconds
        while token not in self.exit_codes and time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.05)[0]:
                self.read_available()
        return self.exit_codes.get(token)


def _send_cell(job):
    """Send the job's next cell, or None when all have run (the process then exits)."""
    if job.next_index < len(job.sources):
        message = (job.next_index, job.sources[job.next_index])
    else:
        message = None
        job.next_index = len(job.sources) + 1  # marks "every cell has run"
    try:
        job.connection.send(message)
    except OSError:
        pass  # the process is gone: end of file on its connection will tell
    job.cell_started = time.monotonic()


def _schedule(pending, results, zygote, server, base, workers, cell_timeout, on_done):
    active: dict[str, _Job] = {}
    output = _ZygoteOutput(zygote.stdout)
    counter = 0

    def finish(job, status):
        if status and job.result.status == "ok":
            job.result.status = status
        pid = output.pids.get(job.token)
        if pid is not None:
            _kill_group(pid)
        if job.connection is not None:
            job.connection.close()
        shutil.rmtree(job.workdir, ignore_errors=True)
        job.result.seconds = time.monotonic() - job.started
        results[job.key] = job.result
        del active[job.token]
        if on_done is not None:
            on_done(job.key, job.result)

    def death_status(job):
        code = output.wait_exit(job.token, 1.0)
        if code is not None and code == -signal.SIGKILL:
            return "out-of-memory"  # the kernel's OOM killer: a SIGKILL this grader did not send
        return "kernel-died"

    while pending or active:
        while pending and len(active) < workers:
            job = pending.pop()
            counter += 1
            job.token = f"job{counter}"
            job.workdir = tempfile.mkdtemp(prefix=f"{job.token}-", dir=base)
            job.started = job.cell_started = time.monotonic()
            active[job.token] = job
            zygote.stdin.write(f"{job.token} {job.workdir}\n")
            zygote.stdin.flush()

        readable = [output.fd, server] + [j.connection for j in active.values() if j.connection]
        ready, _, _ = select.select(readable, [], [], 0.2)
        if output.fd in ready:
            output.read_available()
        if server in ready:
            _accept(server, active)
        for job in list(active.values()):
            if job.connection is None:
                if time.monotonic() - job.started > 60:
                    finish(job, "kernel-died")  # its process never connected
                continue
            if job.connection in ready:
                try:
                    index, error = job.connection.recv()
                except (EOFError, OSError):
                    done = job.next_index > len(job.sources)
                    finish(job, None if done else death_status(job))
                    continue
                job.result.cells.append(CellResult(index, error))
                if error and error["ename"] == _TIMEOUT_NAME:
                    job.result.status = "timeout"
                elif error and error["ename"] == "MemoryError" and job.result.status == "ok":
                    job.result.status = "out-of-memory"
                job.next_index = index + 1
                _send_cell(job)
            elif (job.next_index < len(job.sources)
                  and time.monotonic() - job.cell_started > cell_timeout + _GRACE_SECONDS):
                # The cell ignored its interruption (a C loop, or code that swallows it).
                job.result.cells.append(CellResult(job.next_index, {
                    "ename": _TIMEOUT_NAME, "evalue": f"cell exceeded the time limit of {cell_timeout:g} s"}))
                finish(job, "timeout")
            elif job.next_index > len(job.sources) and time.monotonic() - job.cell_started > _GRACE_SECONDS:
                finish(job, None)  # every cell ran; the process is slow to exit


def _accept(server, active):
    """Connect each newly forked process to its job, and send it the first cell."""
    while True:
        try:
            sock, _ = server.accept()
        except BlockingIOError:
            return
        sock.setblocking(True)
        connection = Connection(sock.detach())
        try:
            token = connection.recv()
        except (EOFError, OSError):
            connection.close()
            continue
        job = active.get(token)
        if job is None or job.connection is not None:
            connection.close()
            continue
        job.connection = connection
        _send_cell(job)


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
