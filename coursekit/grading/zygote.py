"""The zygote: imports the heavy libraries once, then forks one process per notebook.

Started by :mod:`coursekit.grading.runner` as
``python -m coursekit.grading.zygote FD SETTINGS_JSON``, inside bubblewrap when the
sandbox is on (:mod:`coursekit.grading.sandbox`), where FD is its end of a
SOCK_SEQPACKET socket pair with the grader. Requests and answers are one line each:

- ``spawn TOKEN WORKDIR``: fork a process for one notebook; answer ``pid TOKEN PID``
  with the grader's end of a new socket pair attached (the notebook's channel);
- ``kill TOKEN``: end that notebook and every process it started;
- when a notebook's process ends: ``exit TOKEN STATUS`` (negative: killed by that signal);
- once, when it has imported everything: ``ready - 0``;
- ``quit``: end once every notebook has ended, saying ``bye - MILLISECONDS`` (the CPU
  time of the zygote and of every process it started: ``getrusage`` cannot see
  through bubblewrap from the grader).

The interactive shell and the integrity reference (:mod:`coursekit.grading.integrity`)
are made here, once, before any notebook exists; each forked process inherits a
pristine copy. In the sandbox each process then isolates itself
(:func:`coursekit.grading.sandbox.isolate`) before it reads its first cell.
"""

import _warnings
import builtins
import contextvars
import gc
import json
import operator
import os
import resource
import select
import signal
import socket
import struct
import sys
import types
import warnings

if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group; the grader handles it and
    # ends this process, which must not print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

os.environ.setdefault("MPLBACKEND", "Agg")
# A breakpoint() left in a student's function does nothing here (PEP 553's setting): a debugger
# would wait for input no one gives, and the trace function it sets would count as tampering.
os.environ["PYTHONBREAKPOINT"] = "0"
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
# A `%pip install` left in a notebook fails at once rather than retrying an index it cannot
# reach for about 8 s a line (four lines in one cell passed a 30-s time limit); without the
# sandbox, it installs nothing from the network into the grader's environment either.
os.environ["PIP_NO_INDEX"] = "1"
os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

from coursekit.grading import sandbox as _sandbox  # noqa: E402

if __name__ == "__main__" and os.environ.get("COURSEKIT_SANDBOX") == "bubblewrap":
    # First, while this process alone runs: a /proc that nested namespaces may remount.
    _sandbox.fresh_proc()

# The imports notebooks pay for, paid once here. Not more: every module loaded here
# makes each fork dearer (copying and then tearing down the page tables of its memory
# and libraries), and each notebook costs four forks. scipy.signal, which no exercise
# uses, made a fork 4 ms dearer (1,004 mappings instead of 558) and is left to the
# notebooks that import it (1.2 s each); matplotlib.pyplot costs 2.4 ms a fork but
# would cost a plotting notebook 0.7 s a run, and students plot.
import importlib  # noqa: E402
from importlib import resources  # noqa: E402
import pkgutil  # noqa: E402

import IPython.core.interactiveshell  # noqa: E402,F401
import matplotlib.pyplot  # noqa: E402,F401
import numpy  # noqa: E402,F401
import numpy.testing  # noqa: E402,F401

import coursekit  # noqa: E402
from coursekit.grading import integrity  # noqa: E402
from coursekit.grading.runner import TIMEOUT_NAME  # noqa: E402

# Every coursekit module a test may import, so that the integrity reference knows them
# (widgets and book need a browser or Sphinx; grading is the grader).
for _module in pkgutil.iter_modules(coursekit.__path__):
    if _module.name not in ("grading", "widgets", "book", "__main__"):
        importlib.import_module(f"coursekit.{_module.name}")


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


def _make_shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.showtraceback = lambda *args, **kwargs: None
    shell.showsyntaxerror = lambda *args, **kwargs: None
    # There is no GUI event loop to start; a plain shell raises NotImplementedError where
    # Jupyter's kernel accepts `%matplotlib inline`, common in students' notebooks.
    shell.enable_gui = lambda gui=None: None
    # `!ls`, `!pip install ...`: through a plain subprocess, as the shell's own `system_raw`
    # does, not pexpect's, which needs a pseudo-terminal, and a notebook has none here
    # (sandbox.isolate); the line then raised OSError and the rest of the cell was lost.
    shell.system = shell.system_raw
    return shell


class _ExercisesShell:
    """What ``get_ipython()`` returns to the exercise's own code: the setup's IPython lines
    (``%pip install`` in its Colab branch) do nothing, as the grader has what they install.

    The real shell's magics are the notebook's to change: a ``pip`` magic of its own, which
    the setup's Colab branch then called, made the setup fail or rebind ``np`` (a fifth and
    a seventh red team). It has no instance dict: one took a ``run_line_magic`` of the
    notebook's, which the setup's Colab branch then ran (a twenty-first red team)."""

    __slots__ = ()

    @staticmethod
    def run_line_magic(*args, **kwargs):
        return None

    run_cell_magic = system = run_line_magic


def _exercises_ipython(shell=_ExercisesShell()):
    return shell


# The channel to the grader, spoken without multiprocessing or json's module state:
# everything it uses is bound here, before any notebook code runs, and reaches the
# functions as default arguments (changing those is reported by the audit hook). The
# framing is multiprocessing.connection's (a 4-byte big-endian length, then the bytes),
# which is what the grader reads.
_FRAME = struct.Struct("!i")
_quote = json.encoder.encode_basestring_ascii
# json's C scanner, whose settings are read-only: a JSONDecoder's attributes are not, and a
# notebook that reached this module's namespace replaced its scan_once, turning every test it
# was sent into `pass` (a blank notebook had full marks in all six exercises, a ninth red team).
_scan = json.scanner.c_make_scanner(json.JSONDecoder())


def _decode(text, scan=_scan):
    return scan(text, 0)[0]


def _send(fd, payload, write=os.write, pack=_FRAME.pack, len=len):
    data = pack(len(payload)) + payload
    while data:
        data = data[write(fd, data):]


def _read_exact(fd, size, read=os.read, len=len):
    data = b""
    while len(data) < size:
        chunk = read(fd, size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _receive(fd, unpack=_FRAME.unpack, read_exact=_read_exact, decode=_decode):
    (size,) = unpack(read_exact(fd, 4))
    return decode(read_exact(fd, size).decode())


def _report(index, nonce, error, problems, seconds, quote=_quote, join=",".join, map=map):
    """A cell's report: its error (name, message) or None, what the checks found, and the seconds
    the notebook's process waited for a processor while the cell ran (a notebook held back so while
    others ran is run again, alone: see runner._STARVED_SHARE)."""
    error = "null" if error is None else '{"ename":%s,"evalue":%s}' % (quote(error[0]), quote(error[1]))
    return ('["report",%d,%s,%s,[%s],%.3f]' % (index, quote(nonce), error, join(map(quote, problems)),
                                               seconds)).encode()


def _tamper_message(note, quote=_quote):
    return ('["tamper",%s]' % quote(note)).encode()


def _describe(caught, timeout=CellTimeout, isinstance=isinstance, type=type, str=str):
    """(name, message) of what a cell raised; the notebook's own __str__ may fail or lie."""
    if isinstance(caught, timeout):
        return TIMEOUT_NAME, str(caught)
    try:
        name = type(caught).__name__
        return (name if isinstance(name, str) else "Exception"), str(str(caught))[:2000]
    except BaseException:
        return "Exception", "(the error's message could not be shown)"


def _run_instructor_code(index, source, namespace, ipython, apart=False, keep=None, compile=compile, exec=exec,
                         dict=dict, builtins=builtins, builtin_names=tuple(integrity.BUILTIN_NAMES),
                         settrace=sys.settrace, setprofile=sys.setprofile, fresh_context=contextvars.Context,
                         plain_keys=integrity._plain_keys, unbound=()):
    """Run a cell of the exercise's own (runner.InstructorCode: plain Python already) in the
    notebook's namespace, raising what it raises: none of IPython's machinery in between,
    the real builtins (an answer may have set a ``__builtins__`` of its own, whose
    ``__import__`` hands out a fake NumPy, or globals named like builtins), `ipython` as
    ``get_ipython`` (:class:`_ExercisesShell`: the setup calls it in Colab), and no trace or profile
    function (which can skip a test's lines). `apart` (a test): in a copy of the namespace,
    whose new or rebound names are copied back afterwards, so that the student's functions
    it calls (their globals are the notebook's) cannot rebind its names while it runs;
    the names in `unbound` (those its imports bind) start unbound there, so that a name bound
    afterwards was bound by the test's own import (see :func:`_imported_elsewhere`).

    The notebook's globals named like builtins are out of the code's sight while it runs,
    so that ``float`` in a test is the builtin (an answer had set ``float = object``, and
    ``np.asarray(answer, dtype=float)`` kept its always-equal objects).

    It is compiled with asserts, whatever optimization level the interpreter was switched to,
    and runs in a fresh :class:`contextvars.Context`, with NumPy's default error handling
    and print options.
    The cell's source is not put in ``linecache`` for tracebacks: code the test calls could
    read a hidden test there (the grader reports only an error's name and message).

    `keep` (a callable) is handed that context and the test's copy of the namespace when the
    code ends, so that what only they hold is not freed before the check after the test: a
    value the notebook set in the context ran its ``__del__`` as the context went, after the
    test's last assert, and undid the lies it had told (a nineteenth red team).

    The names are copied back only while the notebook's namespace holds plain string keys:
    a key of another kind, put there by a function the test called, would run the notebook's
    code as it is looked up, after the test and before the check, which then finds all put
    back (a thirty-first red team). Left there, the check after the test reports it.
    """
    before = namespace
    if apart:
        namespace = dict(before)
        for name in unbound:
            namespace.pop(name, None)
    hidden = {name: namespace.pop(name) for name in builtin_names if name in namespace}
    missing = object()
    # A warning is first looked up in its frame's globals' __warningregistry__, before any
    # filter: the notebook's registry ran the notebook's code in the middle of a hidden test
    # (the __del__ of what it held, and the __eq__ of its keys; a sixteenth red team).
    registry = namespace.pop("__warningregistry__", missing)
    own_ipython = namespace.get("get_ipython", missing)
    namespace["get_ipython"] = ipython
    namespace["__builtins__"] = builtins
    settrace(None)
    setprofile(None)
    try:
        # Asserts kept whatever the interpreter's -O level, and no __future__ flags from here.
        # In a context of its own, where every context variable has its default: NumPy keeps its
        # error handling (np.seterrcall) and print options there, which would run the notebook's
        # functions in the middle of a test.
        code = compile(source, f"<exercise cell {index}>", "exec", dont_inherit=True, optimize=0)
        context = fresh_context()
        if keep is not None:
            keep((context, namespace))
        context.run(exec, code, namespace)
    finally:
        if namespace.get("get_ipython") is ipython:
            if own_ipython is missing:
                del namespace["get_ipython"]
            else:
                namespace["get_ipython"] = own_ipython
        namespace.pop("__warningregistry__", None)  # the exercise's own, if it warned
        if registry is not missing and not apart:
            namespace["__warningregistry__"] = registry
        if apart and plain_keys(before):
            for name, value in dict(namespace).items():
                if before.get(name, namespace) is not value:
                    before[name] = value
        else:
            for name, value in hidden.items():
                namespace.setdefault(name, value)


class _Nowhere:
    """Where what the exercise's code prints goes: nowhere. It has no instance dict, and its class
    is the grader's, which the capture records, so a notebook can change neither (a file object's
    instance dict took a ``write`` of the notebook's: a twentieth red team)."""

    __slots__ = ()

    def write(self, text):
        pass

    def flush(self):
        pass


#: What the exercise's code finds in ``sys`` instead of the notebook's: streams and hooks of the
#: helper's own, made before any notebook code runs (what the tests print goes nowhere anyway).
_OWN_SYS = types.MappingProxyType({
    "stdout": _Nowhere(), "stderr": _Nowhere(),
    "displayhook": sys.__displayhook__, "excepthook": sys.__excepthook__,
    "unraisablehook": sys.__unraisablehook__, "breakpointhook": sys.__breakpointhook__,
})


def _quiet_surroundings(isenabled=gc.isenabled, disable=gc.disable, callbacks=gc.callbacks, list=list,
                        warnings_namespace=vars(warnings), mutated=_warnings._filters_mutated,
                        ignore_all=(("ignore", None, Warning, None, 0),), sys_namespace=vars(sys),
                        own_sys=_OWN_SYS, tuple=tuple):
    """For the exercise's code: stop garbage collection and empty its callbacks (the list the
    collector itself uses, bound before any notebook code), ignore every warning, and give it
    ``sys.stdout``, ``sys.stderr`` and the ``sys`` hooks of the helper's own. Returns what
    :func:`_restore_surroundings` puts back.

    Every visible test ends with a ``print``: a ``sys.stdout`` of the notebook's ran its
    ``write`` there, between a test's asserts, and made NumPy's comparisons lie (a nineteenth
    red team: points in all six exercises, with wrong answers and no function called).

    Warnings are ignored by the first filter, before any of the notebook's: a warning NumPy
    gave inside a hidden test (a complex answer cast to float) ran the notebook's
    ``showwarning``, or the ``match`` of a filter's pattern of its own, which made
    ``np.array_equal`` lie (a fifteenth red team). The warnings module's namespace has plain
    keys (the check before has seen to it), and its filters are what Python's C code reads.
    """
    missing = own_sys  # a marker: the notebook may have deleted a name of sys
    state = (isenabled(), list(callbacks), warnings_namespace.get("filters"),
             tuple((name, sys_namespace.get(name, missing)) for name in own_sys))
    disable()
    callbacks.clear()
    warnings_namespace["filters"] = list(ignore_all)
    mutated()
    sys_namespace.update(own_sys)
    return state


def _restore_surroundings(state, enable=gc.enable, callbacks=gc.callbacks,
                          warnings_namespace=vars(warnings), mutated=_warnings._filters_mutated,
                          sys_namespace=vars(sys), missing=_OWN_SYS):
    enabled, saved, filters, notebooks_sys = state
    callbacks[:] = saved
    warnings_namespace["filters"] = filters
    mutated()
    for name, value in notebooks_sys:
        if value is missing:
            sys_namespace.pop(name, None)
        else:
            sys_namespace[name] = value
    if enabled:
        enable()


def _forget_tracebacks(error, set_traceback=BaseException.__traceback__.__set__, isinstance=isinstance,
                       id=id):
    """Drop the tracebacks of `error` and of the errors chained to it. An error the notebook
    raised and keeps (one its ``get_ipython`` raised inside the setup, say) would otherwise
    hold the frames of the loop that reports each cell, with its nonce."""
    seen, errors = set(), [error]
    while errors:
        error = errors.pop()
        if isinstance(error, BaseException) and id(error) not in seen:
            seen.add(id(error))
            set_traceback(error, None)
            errors += [BaseException.__cause__.__get__(error), BaseException.__context__.__get__(error)]


def _waited_seconds(open_=os.open, read=os.read, close=os.close, flags=os.O_RDONLY, int=int, float=float):
    """Seconds this process has waited, runnable, for a processor (the kernel's run-queue delay,
    /proc/self/schedstat); 0 where the kernel does not say. A cell that waited much of its time
    was held back by the processes beside it, not by its own work or its sleep."""
    try:
        fd = open_("/proc/self/schedstat", flags)
        try:
            return int(read(fd, 200).split()[1]) / 1e9
        finally:
            close(fd)
    except (OSError, ValueError, IndexError):
        return float(0)


def _imported_elsewhere(imports, namespace, recorded, test=False, vars=vars, missing=object()):
    """After the setup or a test (and the check, which has seen to the namespaces' keys): the
    names its imports bound that are not the very objects the record holds. `imports` is
    ``[[name, module, attribute or None], ...]`` (runner.setup_imports); `namespace` is where
    the code ran (a `test`'s own copy of the notebook's, where a name its import binds is
    unbound until the import runs: a test that failed before it leaves the name unbound).

    Whatever the notebook does to make the setup's ``import numpy as np`` bind a fake, and put
    the real one back before the check (a spec's property, a __del__, a gc callback, a magic of
    its own: rounds ten to seventeen and a twenty-first red team), the name the setup bound
    is not NumPy, and that is seen here. So with a hidden test's ``from coursekit.pooling
    import max_pool2d as _reference``: a function the test called had put a module of its own
    in ``sys.modules`` for it, which handed out the student's function as the reference and
    put the real module back (a thirty-first red team: 12 points with wrong answers)."""
    for name, module, attribute in imports:
        source = recorded.get(module)
        if source is None:  # not loaded before the notebook ran: nothing recorded to compare
            continue
        expected = source if attribute is None else vars(source).get(attribute, missing)
        bound = namespace.get(name, missing)
        if test and bound is missing:
            continue
        if expected is not missing and bound is not expected:
            return [f"the exercise's import of {module if attribute is None else module + '.' + attribute} "
                    f"bound {name} to another object (the notebook had put its own in its place)"]
    return []


#: Parts of a module's name that keep it out of :func:`_import_libraries`: test suites, build
#: tools and plugins, which a notebook does not import and some of which need what is not installed.
_NOT_LIBRARY = frozenset({"tests", "testing", "conftest", "setup", "f2py", "distutils", "mypy_plugin"})


#: Beyond NumPy's and IPython's: the SciPy subpackages of the course's chapters, which a student's
#: function plausibly imports inside itself (``from scipy.signal import correlate2d`` in corr2d: a
#: twenty-ninth red team had it marked tampered). They bring some 400 modules, which every check
#: compares: grading 600 notebooks takes about a third longer.
#: And ``six``, where it is installed: importing it adds a finder to ``sys.meta_path``, which no
#: notebook may change, so that a notebook whose libraries import it was marked tampered (a
#: thirtieth red team).
_ALSO_IMPORTED = ("scipy.signal", "scipy.ndimage", "six")


def _import_libraries(numpy=numpy, ipython=IPython.core, import_module=importlib.import_module,
                      listing=pkgutil.iter_modules):
    """Import every public module of NumPy's and of IPython's core (its magics load lazily), and
    `_ALSO_IMPORTED`, before the record is taken (0.5 s).

    A module imported for the first time while a test runs binds itself into its package's
    namespace, which no setup or test may change. Loaded here, NumPy's (``import numpy.lib.
    recfunctions`` inside the function a test calls) and IPython's (a magic called from code)
    change nothing then. Other SciPy subpackages are not loaded (every check would compare their
    modules); one imported first inside a test is named for review. (Running a notebook
    again with such modules loaded, as the grader did for a while, let its first run pass what it
    learnt of the hidden tests to the second: in the modules it imported, in their order, and in
    when it asked for the second run; the twenty-seventh and twenty-eighth red teams.)
    Only public modules, and no test suites or build tools (`_NOT_LIBRARY`: numpy.distutils
    replaces the class of logging's root logger); their side effects on the search path and the
    environment are undone.
    """
    def imported(name):
        try:
            return import_module(name)
        except BaseException:  # noqa: BLE001 - not importable here: a notebook's import will say so
            return None

    def walk(package, depth):
        for info in listing(getattr(package, "__path__", None) or []):
            if info.name.startswith("_") or info.name in _NOT_LIBRARY:
                continue
            module = imported(f"{package.__name__}.{info.name}")
            if module is not None and info.ispkg and depth:
                walk(module, depth - 1)

    path, environment = list(sys.path), dict(os.environ)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk(numpy, 3)
        walk(ipython, 3)
        for name in _ALSO_IMPORTED:
            imported(name)
        # The first read of a package's data imports importlib's readers (coursekit's
        # example_storms() does it, and was marked tampered when a test called it first: a
        # twenty-ninth red team).
        try:
            with resources.as_file(resources.files("coursekit").joinpath("__init__.py")):
                pass
        except BaseException:  # noqa: BLE001 - then a first read in a test will be named for review
            pass
    sys.path[:] = path
    os.environ.clear()
    os.environ.update(environment)


def run_submission(fd, settings, shell, reference):
    """Body of one notebook's process: run cells as they arrive on `fd`, report each.

    Each cell arrives as ``[index, nonce, source, level, mode]`` (mode "exec" for the
    exercise's setup, "test" for its tests, "ipython" for the student's); its report is
    ``["report", index, nonce, error, problems]``, where `problems` is what the
    integrity check found after it (quick at level 0, full at 1). Tampering noticed while a cell
    runs is sent at once as ``["tamper", note]``.
    """
    # What a notebook prints is not feedback (a traceback would show hidden tests'
    # source) and must not reach the grader's terminal.
    with open(os.devnull, "r+b") as devnull:
        for stream in (0, 1, 2):
            os.dup2(devnull.fileno(), stream)
    if settings["memory_bytes"]:
        _limit_memory(settings["memory_bytes"])
    send, receive, report, describe = _send, _receive, _report, _describe
    check, run_cell, set_timer, timer = integrity.check, shell.run_cell, signal.setitimer, signal.ITIMER_REAL
    quiet, resume = _quiet_surroundings, _restore_surroundings
    held, collector = [], None  # see below: the exercise's code runs with these kept, and no collection
    ran_in = []  # (context, namespace) the exercise's last cell ran in: a test's own copy of the names

    def keep(kept, held=held, ran_in=ran_in):
        held.append(kept)
        ran_in.append(kept)
    run_instructor_code, namespace, ipython = _run_instructor_code, shell.user_ns, _exercises_ipython
    forget, imported_elsewhere = _forget_tracebacks, _imported_elsewhere
    recorded = dict(zip(reference.loaded[0], reference.loaded[1]))  # before any notebook code runs
    guard_labels, guard_views = reference.cell_guard or (None, None)
    tag, modules = operator.attrgetter("value"), reference.module_table
    waited = _waited_seconds
    # Builtins the loop calls after the notebook's code, bound before any of it runs: a `tuple` of
    # the notebook's could otherwise answer the comparison of the version tags itself.
    tuple_, map_, len_, zip_, max_, list_of = tuple, map, len, zip, max, list
    cell_timeout = settings["cell_timeout"]

    # The handler's globals are a dict of its own, not this module's: anyone can read the
    # handler back (signal.getsignal), and its __globals__ led a notebook into this namespace.
    scope = {"__builtins__": builtins, "timeout": CellTimeout,
             "message": f"cell exceeded the time limit of {cell_timeout:g} s"}
    exec("def on_alarm(signum, frame):\n    raise timeout(message)\n", scope)
    signal.signal(signal.SIGALRM, scope.pop("on_alarm"))
    if settings["sandbox"]:
        _sandbox.drop_capabilities()
    integrity.watch(reference, lambda note, fd=fd, send=_send, message=_tamper_message: send(fd, message(note)))
    while True:
        message = receive(fd)
        if message is None:
            break
        index, nonce, source, level, mode, imports = message
        caught = None
        if mode in ("exec", "test"):
            # From the setup to the check after its test, the exercise's code runs with nothing of
            # the notebook's running beside it: no value it drops is freed (a __del__ ran inside
            # the setup as it rebound `np`, and bound a fake; freed between the setup and the
            # test, it bound one for the test), no garbage collection runs the notebook's
            # gc.callbacks (one swapped NumPy for the setup's import; a fourteenth red team), and
            # no warning reaches the notebook's warnings filters or showwarning (a fifteenth).
            if collector is None:
                collector = quiet()
            held.append(tuple_(namespace.values()))
        elif collector is not None:  # the student's cell: their objects may go now, as their code
            resume(collector)
            collector = None
            held.clear()
        guarded, moved = mode in ("exec", "test") and guard_views is not None, []
        if guarded:
            before, modules_before = tuple_(map_(tag, guard_views)), len_(modules)
        waited_before = waited()
        set_timer(timer, cell_timeout)
        try:
            if mode in ("exec", "test"):  # the exercise's setup or a test: see _run_instructor_code
                ran_in.clear()
                run_instructor_code(index, source, namespace, ipython, apart=mode == "test", keep=keep,
                                    unbound=tuple_(entry[0] for entry in imports) if mode == "test" else ())
            else:  # the student's: as in Jupyter, magics and all
                outcome = run_cell(source, store_history=False)
                caught = outcome.error_before_exec or outcome.error_in_exec
        except BaseException as error:  # a timeout where IPython does not guard, or IPython broken by the cell
            caught = error
        finally:
            set_timer(timer, 0)
        if guarded and tuple_(map_(tag, guard_views)) != before:
            # A library's namespace changed while the exercise's code ran: tampering, even with
            # every name put back (integrity._cell_guard says why). A module imported for the
            # first time does it too, binding itself into its package: named for the reviewer.
            moved = [label for label, view, old in zip_(guard_labels, guard_views, before) if view.value != old]
            imported = list_of(modules)[modules_before:][:5] if len_(modules) > modules_before else []
        error = None if caught is None else describe(caught)
        spent = max_(0.0, waited() - waited_before)
        forget(caught)
        if collector is not None:  # freed with the rest of what the exercise's code leaves
            held.append(caught)
        caught = None
        try:
            problems = check(reference, level >= 1)
            if moved:
                problems.insert(0, f"{moved[0][:-1]} was changed while the exercise's code ran (a name of "
                                   f"its replaced, even if put back, changes what the test computes)"
                                + (f"; it imported {', '.join(imported)} for the first time" if imported else ""))
            if not problems and imports:  # in the namespace the code ran in: a test's own copy
                problems = imported_elsewhere(imports, ran_in[-1][1] if ran_in else namespace, recorded,
                                              test=mode == "test")
        except BaseException as failure:  # the check itself was broken: that is tampering too
            problems = [f"the integrity check failed ({type(failure).__name__})"]
        send(fd, report(index, nonce, error, problems, spent))
    os.close(fd)


def _child(channel, workdir, settings, shell, reference, pid_pipe):
    """In the forked process: isolate (sandbox) or start a session (no sandbox), then run."""
    try:
        fd = channel.detach()
        # Nothing of the zygote's may stay open here: not its control socket, not the
        # pidfds of the notebooks that run beside this one.
        start = 3
        for keep in sorted({fd, pid_pipe}) + [os.sysconf("SC_OPEN_MAX")]:
            os.closerange(start, keep)
            start = keep + 1
        # A session (and process group) of its own, first: a signal to "my process group"
        # (kill(0, ...)) crosses PID namespaces, and must not reach the notebooks beside it.
        os.setsid()
        # Memory is limited per process, not per notebook: if a notebook's processes
        # together exhaust the machine, the kernel's OOM killer is to pick them first.
        try:
            with open("/proc/self/oom_score_adj", "w") as adjust:
                adjust.write("1000")
        except OSError:
            pass
        if settings["sandbox"]:
            try:
                _sandbox.isolate(settings["scratch_mb"], pid_pipe, settings["cpu_seconds"])
            except OSError as error:
                # An errno only: the grader words the note (a notebook could send this too).
                _send(fd, json.dumps(["error", error.errno or 1]).encode())
                os._exit(70)
            _sandbox.limit(settings["processes"], settings["cpu_seconds"])
        else:
            os.close(pid_pipe)
            os.chdir(workdir)
        # The notebook's folder, where Jupyter imports from (a module written with %%writefile),
        # but after the installed packages: a file of the notebook's never stands in for one.
        sys.path.append(os.getcwd())
        run_submission(fd, settings, shell, reference)
    except BaseException:
        os._exit(1)
    os._exit(0)


def _warm_numpy():
    """Have NumPy look up, now, the Python functions its C code keeps after their first use:
    the bodies of ndarray.max, .sum, .mean and the like (numpy._core._methods) and of an
    array's str and repr (arrayprint). A notebook that swapped one in for that first use, and
    put the name back, changed ``.max()`` for the whole process with no name changed: the
    hidden tests' references then shared its answer's bug (an eighth red team)."""
    array = numpy.arange(6.0).reshape(2, 3)
    for method in ("all", "any", "sum", "max", "min", "prod", "mean", "var", "std"):
        getattr(array, method)()
        getattr(array, method)(axis=0)
    array.clip(0, 1)
    array.dumps()
    str(array), repr(array), str(array[0, 0:1]), repr(numpy.array(1.5))


def main(control_fd, settings):
    control = socket.socket(fileno=control_fd)
    shell = _make_shell()
    # IPython sets much up on its first cell (4 ms): done here once, not in every notebook.
    shell.run_cell("pass", store_history=False)
    # Matplotlib registers an IPython callback with its first figure: made here, it is part
    # of the reference, not a change made by the first notebook that plots.
    matplotlib.pyplot.close(matplotlib.pyplot.figure())
    _warm_numpy()
    # IPython adds its names to the builtins around every cell and magic, and takes them away
    # after: entered once here, that happens no more, and a student's function that calls a magic
    # while a test runs changes no builtins (a twenty-seventh red team: it was marked tampered).
    shell.builtin_trap.__enter__()
    _import_libraries()
    reference = integrity.capture(shell)
    # The grader may be gone already (Ctrl-C while this process was importing): then the
    # loop below finds the socket closed and ends quietly.
    _try_send(control, b"ready - 0")
    children = {}  # pid of the forked process -> token
    targets = {}  # token -> pid to kill (PID 1 of the notebook's namespace in the sandbox)
    open_control, quitting = True, False
    while open_control or children:
        if quitting and not children:
            # Every notebook has ended and been waited for: their CPU time is in ours.
            usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
            milliseconds = int(1000 * sum(u.ru_utime + u.ru_stime for u in usage))
            _try_send(control, f"bye - {milliseconds}".encode())
            break
        if open_control and select.select([control], [], [], 0.05)[0]:
            try:
                request = control.recv(4096)
            except OSError:  # reset by a grader that ended (Ctrl-C)
                request = b""
            if not request:
                open_control = False
                continue
            kind, token, *rest = request.decode().split(" ", 2)
            if kind == "kill":
                _kill(targets.get(token), settings["sandbox"])
                continue
            if kind == "quit":
                quitting = True
                continue
            workdir = rest[0]
            ours, theirs = socket.socketpair()
            pid_read, pid_write = os.pipe()
            pid = os.fork()
            if pid == 0:
                control.close()  # the notebook must not speak for the zygote
                ours.close()
                os.close(pid_read)
                _child(theirs, workdir, settings, shell, reference, pid_write)
            theirs.close()
            os.close(pid_write)
            # A pidfd, not a number: a number may name another process once this one is gone.
            target = pid
            if settings["sandbox"]:  # its parent is not reaped yet: pidfd_open(pid) is safe
                target = _read_target(pid_read) or os.pidfd_open(pid)
            os.close(pid_read)
            children[pid] = token
            targets[token] = target
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
            token = children.pop(pid, None)
            if token is None:
                continue
            target = targets.pop(token, None)
            if settings["sandbox"] and target is not None:
                os.close(target)
            if open_control:
                open_control = _try_send(control, f"exit {token} {code}".encode())


def _try_send(control, message):
    try:
        control.send(message)
        return True
    except OSError:
        return False


def _read_target(fd):
    """A pidfd of the notebook's PID 1, whose pid its parent writes to `fd`; None if it did not."""
    if not select.select([fd], [], [], 30)[0]:
        return None
    text = os.read(fd, 32).decode()
    try:
        return os.pidfd_open(int(text))
    except (ValueError, OSError):
        return None


def _kill(target, sandboxed):
    if target is None:
        return
    try:
        if sandboxed:
            # PID 1 of its namespace (through a pidfd): every process in it dies too.
            signal.pidfd_send_signal(target, signal.SIGKILL)
        else:
            os.killpg(target, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


if __name__ == "__main__":
    from coursekit.grading import zygote as _zygote  # the module, not this __main__ copy

    _zygote.main(int(sys.argv[1]), json.loads(sys.argv[2]))
