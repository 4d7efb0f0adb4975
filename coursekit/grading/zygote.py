"""The zygote: imports the heavy libraries once, then forks one process per submission.

Started by :func:`coursekit.grading.runner.run_all` as
``python -m coursekit.grading.zygote SOCKET CELL_TIMEOUT MEMORY_BYTES``. It reads
``TOKEN WORKDIR`` lines on standard input; for each it forks a process that
connects to SOCKET, says TOKEN, and then runs the cells it is sent. It writes
``pid TOKEN PID`` after each fork and ``exit TOKEN STATUS`` (negative: killed by
that signal) when a process ends.
"""

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

TIMEOUT_NAME = "CellTimeout"


class CellTimeout(BaseException):
    """Raised inside a cell that ran out of time. A BaseException, so that
    ``except Exception`` in a submission does not swallow it."""


def run_submission(address, token, workdir, cell_timeout, memory_bytes):
    """Body of one submission's process: run cells as they arrive, report each."""
    os.setsid()  # its own process group: killing it also ends what it spawned
    os.chdir(workdir)
    # What a notebook prints is not feedback (a traceback would show hidden tests'
    # source) and must not reach the grader's terminal.
    with open(os.devnull, "r+b") as devnull:
        for fd in (0, 1, 2):  # nor read the zygote's instructions
            os.dup2(devnull.fileno(), fd)
    if memory_bytes:
        import resource

        with open("/proc/self/status") as status:
            in_use = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (in_use + memory_bytes, in_use + memory_bytes))

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    connection = Connection(sock.detach())
    connection.send(token)

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
        message = connection.recv()
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
        connection.send((index, error))
    connection.close()


def main(address, cell_timeout, memory_bytes):
    children = {}
    stdin = sys.stdin.fileno()
    buffer = b""
    open_input = True
    while open_input or children:
        if open_input and select.select([stdin], [], [], 0.05)[0]:
            chunk = os.read(stdin, 65536)
            if not chunk:
                open_input = False
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                token, workdir = line.decode().split(" ", 1)
                pid = os.fork()
                if pid == 0:
                    code = 0
                    try:
                        run_submission(address, token, workdir, cell_timeout, memory_bytes)
                    except BaseException:
                        code = 1
                    os._exit(code)
                children[pid] = token
                print(f"pid {token} {pid}", flush=True)
        elif not open_input:
            select.select([], [], [], 0.05)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(f"exit {children.pop(pid)} {code}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
