"""Run assembled notebooks in parallel, each in a sandbox of its own.

Starting a Jupyter kernel costs about two seconds, most of it importing the same
libraries again. Here a *zygote*, a fresh Python process that has imported
IPython, NumPy, SciPy, Matplotlib and coursekit once, forks one process per
notebook; that process runs the cells in an IPython shell of its own.

The sandbox (:mod:`coursekit.grading.sandbox`, ``sandbox="auto"`` by default):
the zygote runs inside bubblewrap, which shows it only the system, Python and
the coursekit package, read-only, with no network; each notebook's process
then takes user, mount, PID, network and IPC namespaces of its own, a private
scratch folder, and limits on memory, processes and CPU time. A notebook can
see and signal only its own processes, and all of them end with it. Without
bubblewrap, ``auto`` runs as before (a process group and a temporary folder per
notebook), says so on the terminal and adds a note to every result;
``required`` refuses.

The zygote never sees a notebook, so a submission cannot find another's answers
in memory. Each notebook's process talks to the grader over a socket pair of its
own, handed over by the zygote: there is no address another notebook could
connect to. Cells are sent one at a time, each with a fresh nonce, when the
previous one has reported, so a notebook's code never holds the tests that come
after it, and the grader accepts exactly one report per cell sent, carrying that
cell's nonce. After each cell the process checks that the testing machinery is
intact (:mod:`coursekit.grading.integrity`); a notebook that changed it gets the
status ``tampered``, and the cells from the one where it happened on earn nothing.

A submission may crash its process (``os._exit``, a segfault), loop forever,
allocate without bound, fork without end, or signal whatever it can see. Each
ends that one run only:

- ``kernel-died``: the process ended before the last cell, or wrote to the
  grader's channel what it did not compute;
- ``timeout``: a cell ran longer than the per-cell limit (it is interrupted, and
  its process killed if it does not stop), or the notebook longer than the
  per-notebook limit; a cell or a notebook that ran out of time starved of the
  processor while other notebooks ran is run again, alone, at the end
  (:data:`_STARVED_SHARE`);
- ``out-of-memory``: a cell hit the memory limit;
- ``tampered``: the integrity check failed;
- a killed zygote is replaced; runs in progress go on (without the sandbox) or
  are started again (with it, where they die with it).
"""

from __future__ import annotations

import ast
import functools
import json
import os
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .records import Status

__all__ = ["TAMPERED_NAME", "TIMEOUT_NAME", "CellResult", "Helper", "InstructorCode", "RunResult", "cpu_seconds",
           "run_all"]

TIMEOUT_NAME = "CellTimeout"


class InstructorCode(str):
    """The source of a cell of the exercise's own (a test, the setup), not the student's.

    Such a cell runs apart from IPython's machinery, which the notebook's code can reach
    and change (its input transformers, its compiler, the events run after a cell, the
    result object that says whether the cell raised): compiled from the plain Python that
    IPython's transformer makes of it here, in the grader, and executed in the notebook's
    namespace by the helper's own ``exec``, with the real builtins and no trace function.
    A test (``test=True``) runs in a copy of that namespace, so that the student's
    functions it calls, whose globals are the notebook's, cannot rebind the names the
    test itself uses (its ``np``) while it runs; what the test defines is copied back.
    """

    def __new__(cls, source, test=False):
        code = super().__new__(cls, source)
        code.test = test
        return code


@functools.lru_cache(maxsize=512)
def setup_imports(source):
    """What the top-level imports of the exercise's code `source` bind: ``((name, module,
    attribute or None), ...)`` (``import numpy as np``: ``("np", "numpy", None)``; ``import
    a.b``: ``("a", "a", None)``; ``from a import b as c``: ``("c", "a", "b")``). The notebook's
    process checks that each name is the very object its record holds."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return ()
    bound = []
    for node in body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                bound.append((alias.asname, alias.name, None) if alias.asname else (top, top, None))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            bound += [(alias.asname or alias.name, node.module, alias.name) for alias in node.names
                      if alias.name != "*"]
    return tuple(bound)


@functools.lru_cache(maxsize=512)
def _plain_python(source):
    """An instructor cell as plain Python: its IPython syntax (``%pip`` in the setup's Colab
    branch) turned into calls, as IPython's own transformer turns it."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)
TAMPERED_NAME = "Tampered"  # the error put on cells that ran after tampering: they earn nothing
_GRACE_SECONDS = 3.0  # after a timeout signal, how long a cell may take to stop
_SPAWN_LIMIT_SECONDS = 60.0  # how long a fork request may go unanswered
_MAX_MESSAGE_BYTES = 1 << 16
_MAX_NOTES = 20  # tampering notes kept per notebook
_MAX_RESTARTS = 2  # a notebook whose zygote died under it is started again at most this often
#: A cell (or a notebook) that ran out of time having waited, runnable, for a processor for at least
#: this share of its time was starved by the notebooks beside it (one can start dozens of busy
#: processes, each in a session of its own) or by the machine: it runs again after the others,
#: alone, rather than lose its points for another's doing. A cell that loops, or sleeps, waits for
#: no processor, and is not run again.
_STARVED_SHARE = 0.25


_cpu_seconds = [0.0]  # CPU time of the sandboxed zygotes (and so of their notebooks) so far
_FRAME = struct.Struct("!i")  # a message's length, before it: the framing of the zygote's _send


class _Channel:
    """The grader's end of a notebook's socket, which never blocks.

    One loop serves every notebook of the run, and the notebook's own code can reach its
    end of the socket. A notebook that stops reading (a thread holding the GIL) while the
    grader sends it a large cell, or that writes half a message and sleeps, stalled the
    grader; every notebook beside it then ran out of time (a fourth red team). So a
    message goes out as far as the socket takes it, the rest when :func:`select.select`
    says it may (:meth:`flush`), and what comes in is kept until a message is whole.
    """

    def __init__(self, fd):
        os.set_blocking(fd, False)
        self.fd, self.outbox, self.inbox = fd, bytearray(), bytearray()

    def fileno(self):
        return self.fd

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def send(self, payload):
        self.outbox += _FRAME.pack(len(payload)) + payload
        self.flush()

    def flush(self):
        """Write what the socket takes now; an error (the process is gone) drops the rest:
        the end of the stream on the other direction tells."""
        try:
            while self.outbox:
                del self.outbox[:os.write(self.fd, self.outbox)]
        except BlockingIOError:
            pass
        except OSError:
            self.outbox.clear()

    def receive(self):
        """The messages that are whole now, and whether the stream has ended.

        Raises ValueError for a length no message of the helper's has (the notebook wrote
        to the socket). At most one message's worth is read ahead, so a notebook that
        floods its socket cannot keep the loop here."""
        ended = False
        try:
            while len(self.inbox) < _FRAME.size + _MAX_MESSAGE_BYTES:
                chunk = os.read(self.fd, _FRAME.size + _MAX_MESSAGE_BYTES - len(self.inbox))
                if not chunk:
                    ended = True
                    break
                self.inbox += chunk
        except BlockingIOError:
            pass
        except OSError:
            ended = True
        messages = []
        while len(self.inbox) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(self.inbox)
            if not 0 <= size <= _MAX_MESSAGE_BYTES:
                raise ValueError(f"a message of {size} bytes")
            if len(self.inbox) < _FRAME.size + size:
                break
            messages.append(bytes(self.inbox[_FRAME.size:_FRAME.size + size]))
            del self.inbox[:_FRAME.size + size]
        return messages, ended


def cpu_seconds():
    """CPU seconds used so far by the helpers and notebooks of this process's sandboxed runs.

    The grader's own ``getrusage(RUSAGE_CHILDREN)`` does not see them through bubblewrap
    (it does see unsandboxed ones); each helper reports its total (its own and its
    notebooks') as it ends.
    Used in: ``make bench``.
    """
    return _cpu_seconds[0]


@dataclass
class CellResult:
    index: int
    error: dict | None  # {"ename", "evalue"} when the cell raised


@dataclass
class RunResult:
    status: Status = Status.OK
    cells: list[CellResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sandbox: str = "bubblewrap"  # or "off" (then a note says why)
    tampering: list[str] = field(default_factory=list)  # what the integrity checks found


@dataclass
class _Job:
    key: object
    sources: list[str]
    token: str = ""
    pid: int | None = None  # in the zygote's PID namespace
    connection: _Channel | None = None
    next_index: int = 0  # the cell sent last and awaited; len(sources) + 1 once all have run
    nonce: str = ""
    cell_started: float = 0.0
    requested: float = 0.0  # when the zygote was asked for its process
    started: float = 0.0  # when its process was ready: the notebook's time limit counts from here
    workdir: str = ""
    forged: bool = False
    tampered_at: int | None = None  # the first cell during or after which tampering was seen
    restarts: int = 0
    crowded: bool = False  # another notebook ran beside it at some time
    starved: bool = False  # it ran out of time having waited for a processor much of that time
    alone: bool = False  # run again, alone, after the others (see _STARVED_SHARE)
    waited: float = 0.0  # seconds its process waited for a processor during the cells it reported
    result: RunResult = field(default_factory=lambda: RunResult())


#: How long :meth:`_Zygote.abandon` waits for the sandbox to start the zygote (or, where
#: /proc cannot tell, for the zygote to end by itself: its imports take about 2 s on a
#: loaded machine) before it kills bubblewrap anyway.
_ABANDON_SECONDS = 10


class _Zygote:
    """The forking process, and the socket to it (messages keep their boundaries)."""

    def __init__(self, settings, box):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", "coursekit.grading.zygote", str(theirs.fileno()), json.dumps(settings)]
        env = None
        if box.enabled:
            from .sandbox import ZygoteLaunch

            launch = ZygoteLaunch(box.bwrap, command, [theirs.fileno()])
            command, fds = launch.argv, launch.fds
        else:
            launch, fds = None, [theirs.fileno()]
            # The zygote imports this checkout's coursekit, wherever the grader was started.
            package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [package_parent, *filter(None, [os.environ.get("PYTHONPATH")])])}
        try:
            self.process = subprocess.Popen(command, pass_fds=fds, stdin=subprocess.DEVNULL, env=env)
        finally:
            if launch is not None:
                launch.close()
            theirs.close()
        self.socket = ours
        self.sandboxed = box.enabled
        self.ready_at = None  # when it had imported everything (a loaded machine may take a while)

    def abandon(self):
        """End a zygote that will not be used (nothing to run).

        Killing bubblewrap in its first milliseconds would catch it setting the sandbox up:
        the sandbox's first process then waits forever for a signal that never comes, one
        process left behind per run. So bubblewrap is killed once the sandbox has started
        the zygote (--die-with-parent then takes the sandbox with it), or, where /proc
        cannot tell, once the zygote has ended by itself: closing the socket ends it as
        soon as it has imported. Either wait ends after :data:`_ABANDON_SECONDS`."""
        self.socket.close()
        deadline = time.monotonic() + _ABANDON_SECONDS
        while self.sandboxed and self.process.poll() is None and time.monotonic() < deadline:
            started = _grandchildren(self.process.pid)
            if started:
                break
            time.sleep(0.005 if started is not None else 0.05)
        self.process.kill()
        self.process.wait()

    def spawn(self, job):
        self._send(f"spawn {job.token} {job.workdir or '-'}")

    def kill(self, job):
        self._send(f"kill {job.token}")
        if not self.sandboxed and job.pid is not None:
            _kill_group(job.pid)  # same PID namespace: the grader can reach it even if the zygote cannot

    def _send(self, text):
        try:
            self.socket.send(text.encode())
        except OSError:
            pass  # the zygote is gone: receive() will say so

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
        """Ask the zygote to end once its notebooks have, and count the CPU time it reports."""
        try:
            self.socket.send(b"quit - -")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if not select.select([self.socket], [], [], 0.5)[0]:
                    continue
                message = self.receive()
                if message is None:
                    break
                kind, _, number, fd = message
                if fd is not None:
                    os.close(fd)
                if kind == "bye":
                    if self.sandboxed:  # otherwise getrusage(RUSAGE_CHILDREN) counts it already
                        _cpu_seconds[0] += number / 1000
                    break
        except OSError:
            pass  # it is gone already
        self.socket.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Helper:
    """A zygote started ahead of :func:`run_all`, so that its imports (about 2 s) overlap
    whatever the caller does meanwhile (reading and preparing the submissions).

    Pass it to :func:`run_all` as ``helper=``, which then uses and ends it; or call
    :meth:`abandon` when nothing is to run. The keyword arguments are those of
    :func:`run_all`, whose defaults they share.
    """

    def __init__(self, *, cell_timeout=30.0, memory_mb=2048, sandbox="auto", notebook_timeout=None,
                 processes=64):
        from .sandbox import choose

        self.box = choose(sandbox)
        notebook_timeout = notebook_timeout or 10 * cell_timeout
        self.notebook_timeout = notebook_timeout
        self.settings = {"cell_timeout": cell_timeout, "memory_bytes": memory_mb * 1024 * 1024,
                         "sandbox": self.box.enabled, "processes": processes, "cpu_seconds": notebook_timeout,
                         "scratch_mb": max(16, min(memory_mb, 512))}
        self.zygote = _Zygote(self.settings, self.box)

    def abandon(self):
        if self.zygote is not None:
            self.zygote.abandon()
            self.zygote = None


def run_all(jobs, cell_timeout=30.0, memory_mb=2048, workers=None, on_done=None, *, sandbox="auto",
            notebook_timeout=None, processes=64, announce=None, helper=None):
    """Run many notebooks' code cells, at most `workers` at a time, each in a sandbox.

    Parameters
    ----------
    jobs : iterable of (key, list of str)
        The code cells of each notebook, in order.
    cell_timeout : float
        Seconds one cell may run.
    memory_mb : int
        Memory one notebook's process may allocate beyond what it starts with.
    workers : int, optional
        Parallel processes; all cores by default.
    on_done : callable(key, RunResult), optional
        Called as each notebook finishes, in the calling process.
    sandbox : {"auto", "required", "off"}
        ``auto`` uses bubblewrap where it works and says so (`announce`, and a note
        in every result) where it does not; ``required`` raises
        :class:`coursekit.grading.sandbox.SandboxUnavailable` instead.
    notebook_timeout : float, optional
        Seconds one notebook may run in all (wall clock); ``10 * cell_timeout`` by default.
        Also each process's CPU-time limit.
    processes : int
        Processes (and threads) one notebook may have at once, in the sandbox.
    announce : callable(str), optional
        Where to say that the run is not sandboxed; standard error by default.
    helper : Helper, optional
        A zygote started earlier with these same settings; used, then ended.

    Returns
    -------
    dict of key -> RunResult
    """
    if helper is None or helper.zygote is None:
        from .sandbox import choose

        helper = None
        choose(sandbox)  # `required` refuses even when there is nothing to run
    pending = [_Job(key, list(sources)) for key, sources in jobs][::-1]
    if not pending:
        if helper is not None:
            helper.abandon()
        return {}
    helper = helper or Helper(cell_timeout=cell_timeout, memory_mb=memory_mb, sandbox=sandbox,
                              notebook_timeout=notebook_timeout, processes=processes)
    return _run_all(pending, helper, workers or os.cpu_count() or 1, on_done, announce)


def _run_all(pending, helper, workers, on_done, announce):
    box, settings, notebook_timeout = helper.box, helper.settings, helper.notebook_timeout
    cell_timeout = settings["cell_timeout"]
    sandbox_note = None
    if not box.enabled:
        sandbox_note = f"not sandboxed: {box.reason}"
        (announce or (lambda text: print(f"coursekit grade: {text}", file=sys.stderr)))(
            f"running without the sandbox: {box.reason}")
    results: dict = {}
    active: dict[str, _Job] = {}
    exit_codes: dict[str, int] = {}
    later: list[_Job] = []  # starved while others ran: run again, one at a time, at the end
    counter = 0

    with tempfile.TemporaryDirectory(prefix="coursekit-grader-") as base:
        zygote, helper.zygote = helper.zygote, None

        def start(job):
            nonlocal counter
            counter += 1
            job.token = f"job{counter}"
            job.pid, job.connection, job.next_index = None, None, 0
            job.workdir = "" if box.enabled else tempfile.mkdtemp(prefix=f"{job.token}-", dir=base)
            job.requested = job.started = job.cell_started = time.monotonic()
            for other in active.values():
                job.crowded = other.crowded = True
            active[job.token] = job
            zygote.spawn(job)

        def finish(job, status=None):
            if job.connection is not None or job.pid is not None:
                zygote.kill(job)
            if job.connection is not None:
                job.connection.close()
            if job.workdir:
                shutil.rmtree(job.workdir, ignore_errors=True)
            result = job.result
            if status and result.status is Status.OK:
                result.status = status
            if (result.status is Status.TIMEOUT and job.starved and job.crowded and not job.alone
                    and not job.forged and job.tampered_at is None):
                del active[job.token]
                job.alone, job.restarts, job.waited = True, 0, 0.0
                job.result = RunResult(notes=["it ran out of time while other notebooks ran beside it, waiting "
                                              "for a processor they held: the notebook was run again, alone, "
                                              "after them"])
                later.append(job)
                return
            _settle_tampering(job)
            result.sandbox = box.label
            if sandbox_note:
                result.notes.append(sandbox_note)
            result.seconds = time.monotonic() - job.started
            results[job.key] = result
            del active[job.token]
            if on_done is not None:
                on_done(job.key, result)

        def died(job):
            deadline = time.monotonic() + 1.0
            while job.token not in exit_codes and time.monotonic() < deadline:
                if select.select([zygote.socket], [], [], 0.05)[0]:
                    handle(zygote.receive())
            if exit_codes.get(job.token) == -signal.SIGKILL:
                return Status.OUT_OF_MEMORY  # the kernel's OOM killer: a SIGKILL this grader did not send
            if exit_codes.get(job.token) == -signal.SIGXCPU:  # see sandbox._wait_and_mirror
                job.result.notes.append(f"stopped after {notebook_timeout:g} s of CPU time, the limit per notebook")
                return Status.TIMEOUT
            return Status.KERNEL_DIED

        def handle(message):
            nonlocal zygote
            if message is None:  # the zygote is gone (perhaps a submission killed it)
                zygote.close()
                zygote = _Zygote(settings, box)
                for job in list(active.values()):
                    if box.enabled or job.connection is None:
                        # In the sandbox its notebooks died with it: start them again.
                        if job.connection is not None:
                            job.connection.close()
                        job.restarts += 1
                        del active[job.token]
                        if job.restarts > _MAX_RESTARTS:
                            active[job.token] = job
                            job.result.notes.append("the grader's helper process ended under this notebook "
                                                    f"{job.restarts} times: stopped")
                            job.connection = job.pid = None
                            finish(job, Status.KERNEL_DIED)
                            continue
                        job.result = RunResult(notes=[
                            "the grader's helper process ended while this notebook ran: it was run again"])
                        job.tampered_at, job.forged, job.waited = None, False, 0.0
                        start(job)
                    else:
                        job.result.notes.append("the grader's helper process was killed while this notebook ran")
                return
            kind, token, number, fd = message
            job = active.get(token)
            if kind == "ready":
                zygote.ready_at = time.monotonic()
            elif kind == "exit":
                exit_codes[token] = number
            elif job is None or job.connection is not None:
                if fd is not None:
                    os.close(fd)
            else:
                job.pid = number
                job.connection = _Channel(fd)
                job.started = time.monotonic()
                _send_cell(job)

        try:
            while pending or active or later:
                if not pending and not active:
                    pending, later, workers = later[::-1], [], 1
                while pending and len(active) < workers:
                    start(pending.pop())
                connections = [j.connection for j in active.values() if j.connection is not None]
                ready, writable, _ = select.select([zygote.socket, *connections],
                                                   [c for c in connections if c.outbox], [], 0.2)
                for connection in writable:
                    connection.flush()
                if zygote.socket in ready:
                    handle(zygote.receive())
                now = time.monotonic()
                for job in list(active.values()):
                    if job.token not in active:
                        continue
                    if job.connection is None:
                        if zygote.ready_at and now - max(job.requested, zygote.ready_at) > _SPAWN_LIMIT_SECONDS:
                            finish(job, Status.KERNEL_DIED)
                        continue
                    if job.connection in ready:
                        _receive(job, finish, died)
                        if job.token not in active:
                            continue
                    # Even when it has just sent something: a notebook that keeps its socket
                    # readable (a flood of messages) is held to its limits too (a fifth red team).
                    if now - job.started > notebook_timeout:
                        # Starved over the cells it reported (the one running has a limit of its
                        # own): the notebooks beside it may have held the processor.
                        job.starved = job.starved or job.waited >= _STARVED_SHARE * (job.cell_started - job.started)
                        if job.next_index < len(job.sources):
                            job.result.cells.append(CellResult(job.next_index, {
                                "ename": TIMEOUT_NAME,
                                "evalue": f"the notebook exceeded its time limit of {notebook_timeout:g} s"}))
                        job.result.notes.append(f"stopped after {notebook_timeout:g} s, the limit per notebook")
                        finish(job, Status.TIMEOUT)
                    elif (job.next_index < len(job.sources)
                          and now - job.cell_started > cell_timeout + _GRACE_SECONDS):
                        # The cell ignored its interruption (a C loop, or code that swallows it).
                        job.result.cells.append(CellResult(job.next_index, {
                            "ename": TIMEOUT_NAME, "evalue": f"cell exceeded the time limit of {cell_timeout:g} s"}))
                        finish(job, Status.TIMEOUT)
                    elif job.next_index > len(job.sources) and now - job.cell_started > _GRACE_SECONDS:
                        finish(job)  # every cell ran; the process is slow to exit
        finally:
            for job in list(active.values()):
                zygote.kill(job)
            zygote.close()
    return results


def _settle_tampering(job):
    """A notebook that changed the testing machinery earns nothing from then on, and says so."""
    result = job.result
    if job.tampered_at is None:
        return
    for cell in result.cells:
        if cell.index >= job.tampered_at:
            cell.error = {"ename": TAMPERED_NAME, "evalue": "not counted: the notebook changed the grader's "
                                                           "testing machinery before this cell ended"}
    if not job.forged:
        result.status = Status.TAMPERED
    result.notes.append("tampering, for review: " + "; ".join(result.tampering)
                        + f" (cells from number {job.tampered_at + 1} on earn nothing)")


def _tamper(job, notes):
    seen = job.result.tampering
    # What the checks found is reported from the notebook's process, where its code could
    # write its own: only printable characters reach the notes.
    for note in ("".join(c if c.isprintable() else "?" for c in n) for n in notes):
        if note and note not in seen and len(seen) < _MAX_NOTES:
            seen.append(note)
    if job.tampered_at is None:
        job.tampered_at = min(job.next_index, len(job.sources))


def _receive(job, finish, died):
    """Handle what the job's notebook sent, message by message, then the end of its stream."""
    channel = job.connection
    try:
        messages, ended = channel.receive()
    except ValueError:  # a length no message has: the submission wrote to the socket
        _forged(job, "the notebook wrote to the grader's channel: stopped", finish)
        return
    for payload in messages:
        if job.connection is not channel or channel.fd < 0:
            return  # finished (or started again) by an earlier message
        _handle(job, payload, finish)
    if ended and job.connection is channel and channel.fd >= 0:
        finish(job, None if job.next_index > len(job.sources) else died(job))


def _handle(job, payload, finish):
    try:
        # JSON, never pickle: unpickling what a submission sends would run its code here.
        message = json.loads(payload)
    except Exception:  # not even a well-formed message: the submission wrote to the socket
        _forged(job, "the notebook wrote to the grader's channel: stopped", finish)
        return
    kind = message[0] if isinstance(message, list) and message else None
    if kind == "tamper" and len(message) == 2 and isinstance(message[1], str):
        _tamper(job, [message[1][:300]])
        return
    if kind == "error" and len(message) == 2 and type(message[1]) is int and 0 < message[1] < 4096:
        # The helper's report that it could not isolate the notebook: an errno, in the grader's
        # words. The notebook's own code could send one too, during its first cell, but can
        # choose no word of the note.
        job.result.notes.append(f"could not isolate the notebook: {os.strerror(message[1])}")
        finish(job, Status.KERNEL_DIED)
        return
    if kind == "error":
        _forged(job, "the notebook wrote to the grader's channel: stopped", finish)
        return
    valid = (kind == "report" and len(message) == 6 and message[1] == job.next_index
             and job.next_index < len(job.sources) and message[2] == job.nonce
             and (message[3] is None or (isinstance(message[3], dict) and set(message[3]) == {"ename", "evalue"}
                                         and all(isinstance(v, str) for v in message[3].values())))
             and isinstance(message[4], list) and all(isinstance(p, str) for p in message[4])
             and type(message[5]) in (int, float) and 0 <= message[5] < 1e9)
    if not valid:
        # A report for a cell that was not sent, a second one, or without the cell's nonce.
        _forged(job, "the notebook sent the grader a result it did not compute: stopped", finish)
        return
    _, index, _, error, problems, seconds = message
    job.waited += seconds
    if problems:
        _tamper(job, [p[:300] for p in problems])
    job.result.cells.append(CellResult(index, error))
    if error and error["ename"] == TIMEOUT_NAME:
        job.result.status = Status.TIMEOUT
        job.starved = job.starved or seconds >= _STARVED_SHARE * (time.monotonic() - job.cell_started)
    elif error and error["ename"] == "MemoryError" and job.result.status is Status.OK:
        job.result.status = Status.OUT_OF_MEMORY
    job.next_index = index + 1
    _send_cell(job)


def _forged(job, note, finish):
    job.forged = True
    job.result.notes.append(note)
    finish(job, Status.KERNEL_DIED)


def _send_cell(job):
    """Send the job's next cell with a fresh nonce, or None when all have run (the process then exits)."""
    if job.next_index < len(job.sources):
        job.nonce = secrets.token_hex(8)
        source = job.sources[job.next_index]
        # The integrity check: quick after most cells, full after test cells (they assert)
        # and after the last cell.
        last = job.next_index == len(job.sources) - 1
        level = 1 if last or "assert" in source else 0
        instructor = isinstance(source, InstructorCode)
        mode = ("test" if source.test else "exec") if instructor else "ipython"
        plain = _plain_python(str(source)) if instructor else source
        message = [job.next_index, job.nonce, plain, level, mode, setup_imports(plain) if mode in ("exec", "test") else []]
    else:
        message = None
        job.next_index = len(job.sources) + 1  # marks "every cell has run"
    job.connection.send(json.dumps(message).encode())
    job.cell_started = time.monotonic()


def _grandchildren(pid):
    """Whether process `pid` has a grandchild (True or False), or None if /proc cannot say."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return any(Path(f"/proc/{child}/task/{child}/children").read_text().split() for child in children)
    except FileNotFoundError:  # the kernel lists no children, or `pid` has ended
        return None if Path(f"/proc/{pid}").exists() else False
    except OSError:
        return None


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
