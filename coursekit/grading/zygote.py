"""The zygote: imports the heavy libraries once, then forks one process per submission.

Started by :mod:`coursekit.grading.runner` as
``python -m coursekit.grading.zygote FD CELL_TIMEOUT MEMORY_BYTES``, where FD is
its end of a SOCK_SEQPACKET socket pair. For each ``spawn TOKEN WORKDIR`` message
it makes a socket pair, forks a process that keeps one end and runs the cells it
receives there, and passes the other end back with ``pid TOKEN PID``. When a
process ends it sends ``exit TOKEN STATUS`` (negative: killed by that signal).
"""

import json
import os
import select
import signal
import socket
import sys
from multiprocessing.connection import Connection

os.environ.setdefault("MPLBACKEND", "Agg")
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

# The imports every exercise pays for, paid once here.
import IPython.core.interactiveshell  # noqa: E402,F401
import matplotlib.pyplot  # noqa: E402,F401
import numpy  # noqa: E402,F401
import scipy.signal  # noqa: E402,F401

import coursekit.conv  # noqa: E402,F401
import coursekit.data  # noqa: E402,F401
import coursekit.pooling  # noqa: E402,F401
from coursekit.grading.runner import TIMEOUT_NAME  # noqa: E402


class CellTimeout(BaseException):
    """Raised inside a cell that ran out of time. A BaseException, so that
    ``except Exception`` in a submission does not swallow it."""


def _limit_memory(memory_bytes):
    try:
        import resource

        with open("/proc/self/status") as status:
            in_use = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (ImportError, OSError, StopIteration):
        return  # no /proc (not Linux): run without a memory limit
    resource.setrlimit(resource.RLIMIT_AS, (in_use + memory_bytes, in_use + memory_bytes))


def run_submission(channel, workdir, cell_timeout, memory_bytes):
    """Body of one submission's process: run cells as they arrive, report each."""
    os.setsid()  # its own process group: killing it also ends what it spawned
    os.chdir(workdir)
    # What a notebook prints is not feedback (a traceback would show hidden tests'
    # source) and must not reach the grader's terminal.
    with open(os.devnull, "r+b") as devnull:
        for fd in (0, 1, 2):
            os.dup2(devnull.fileno(), fd)
    if memory_bytes:
        _limit_memory(memory_bytes)
    connection = Connection(channel.detach())

    def on_alarm(signum, frame):
        raise CellTimeout(f"cell exceeded the time limit of {cell_timeout:g} s")

    signal.signal(signal.SIGALRM, on_alarm)
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.showtraceback = lambda *args, **kwargs: None
    while True:
        message = json.loads(connection.recv_bytes())
        if message is None:
            break
        index, source = message
        caught = None
        signal.setitimer(signal.ITIMER_REAL, cell_timeout)
        try:
            outcome = shell.run_cell(source, store_history=False)
            caught = outcome.error_before_exec or outcome.error_in_exec
        except CellTimeout as error:  # raised where IPython does not guard
            caught = error
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        error = None
        if caught is not None:
            name = TIMEOUT_NAME if isinstance(caught, CellTimeout) else type(caught).__name__
            error = {"ename": name, "evalue": str(caught)[:2000]}
        connection.send_bytes(json.dumps([index, error]).encode())
    connection.close()


def main(control_fd, cell_timeout, memory_bytes):
    control = socket.socket(fileno=control_fd)
    children = {}
    open_control = True
    while open_control or children:
        if open_control and select.select([control], [], [], 0.05)[0]:
            request = control.recv(4096)
            if not request:
                open_control = False
                continue
            _, token, workdir = request.decode().split(" ", 2)
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                control.close()  # the submission must not speak for the zygote
                ours.close()
                code = 0
                try:
                    run_submission(theirs, workdir, cell_timeout, memory_bytes)
                except BaseException:
                    code = 1
                os._exit(code)
            theirs.close()
            children[pid] = token
            try:
                socket.send_fds(control, [f"pid {token} {pid}".encode()], [ours.fileno()])
            except OSError:  # the grader has gone (Ctrl-C): wait for the children quietly
                open_control = False
            ours.close()
        elif not open_control:
            select.select([], [], [], 0.05)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            token = children.pop(pid)
            if open_control:
                try:
                    control.send(f"exit {token} {code}".encode())
                except OSError:
                    open_control = False


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))
