"""Is the testing machinery still what it was? Checks run inside a notebook's process.

A notebook's code runs in the same interpreter as the tests that grade it, so it
can try to make failing tests pass: replace ``np.allclose`` or
``np.testing.assert_allclose``, install an import hook that returns a fake
``coursekit.pooling``, swap a function's ``__code__``, set a trace function that
jumps over ``assert`` lines, or walk up the stack to the loop that reports each
cell. (IPython's machinery, which the notebook can change too, does not run the
tests: :func:`coursekit.grading.zygote._run_instructor_code` does.) This module
makes those attempts visible:

- :func:`capture` records, before any notebook code has run (in the zygote, so
  before the notebook's process even exists), the identity of everything the
  tests rely on: every attribute of NumPy's, coursekit's and the import system's
  modules (and of the grader's own), the attributes of their classes, the
  builtins, ``sys.meta_path``, ``sys.path_hooks``,
  ``sys.path_importer_cache`` and the ``sys.modules`` entries of those modules.
- :func:`check` compares the present state with that record, after every cell
  (fully after test cells and after the last cell, cheaply after the others).
- :func:`watch` installs an audit hook (which cannot be removed) that reports
  at once, over the grader's channel, the moves that leave no trace to compare:
  setting a trace or profile function (which is handed frames), rewriting a
  function's code or defaults, changing a class of the watched modules, walking the
  interpreter's objects through ``gc`` (the way to find and edit the grader's
  record), and taking a stack frame.

What it cannot stop is written down in the README: code in the same process
can, with enough effort (ctypes, or editing the record before it is compared),
defeat any check made from inside it. These checks make every known way fail
loudly; a notebook that trips one gets the status ``tampered`` and its later
cells earn nothing.
"""

from __future__ import annotations

import _thread
import builtins
import collections
import copyreg
import itertools
import operator
import sys
import types

__all__ = ["BUILTIN_NAMES", "Reference", "capture", "check", "watch"]


WATCHED_PREFIXES = (
    "numpy",
    "scipy",
    "coursekit",
    "importlib",
    "IPython.core",
    # The import system's own classes (ModuleSpec, the finders and loaders): a property set on
    # ModuleSpec's class answered every import's truth test of _initializing (a seventeenth red team).
    "_frozen_importlib",
    "_frozen_importlib_external",
    "json",
    "math",
    "operator",
    # Modules of Python's own whose functions NumPy's and the tests' code calls, looking up their
    # globals as it goes: threading._CRLock, which every np.random.default_rng calls, replaced by
    # a function of the notebook's ran it inside a hidden test (a twentieth red team).
    "threading",
    "abc",
    "numbers",
    "functools",
    "contextlib",
    "collections",
    "enum",
    "types",
    "weakref",
    "copyreg",
)
# Names IPython itself sets and restores around every cell.
_IPYTHON_BUILTINS = frozenset(
    {
        "_",
        "__",
        "___",
        "exit",
        "quit",
        "get_ipython",
        "display",
        "__IPYTHON__",
        "dreload",
        "_ih",
        "_oh",
        "_dh",
    }
)
# The library functions that hand a frame to their caller: a frame one of them takes counts
# as taken by the code that called it. (Library code that uses frames itself, such as
# traceback.print_exc walking a traceback or logging finding its caller, is not the caller's.)
_FRAME_GIVERS = frozenset({
    ("inspect", "currentframe"), ("inspect", "stack"), ("inspect", "trace"),
    ("inspect", "getouterframes"), ("inspect", "getinnerframes"),
    ("traceback", "walk_stack"), ("traceback", "walk_tb"), ("traceback", "_walk_tb_with_full_positions"),
    ("logging", "<lambda>"),  # logging.currentframe
    ("IPython.core.interactiveshell", "get_local_scope"),
    ("IPython.utils.frame", "extract_vars"), ("IPython.utils.frame", "extract_vars_above"),
    ("IPython.utils.frame", "extract_module_locals"), ("IPython.utils.frame", "debugx"),
})
# Givers that are generators run whenever whatever iterates them resumes them, which may be a
# library function that hands what they yield on to the notebook (heapq.nsmallest did, for a
# fifth red team); traceback's summaries keep the frames to themselves, unless they capture
# the frames' variables (whose reprs hold the reporting loop's).
_GENERATOR_GIVERS = frozenset({
    ("traceback", "walk_stack"), ("traceback", "walk_tb"), ("traceback", "_walk_tb_with_full_positions"),
})
_FRAME_SUMMARIES = frozenset({("traceback", "_extract_from_extended_frame_gen")})
# Who may set a trace or profile function: the grader, clearing them before the
# exercise's cells; cProfile (%prun, cProfile.run), whose profiler runs no Python code.
# Read-only, like every table the checks consult: a notebook can import this module.
_MAY_TRACE = types.MappingProxyType({"sys.settrace": ("coursekit.grading.zygote",),
                                     "sys.setprofile": ("coursekit.grading.zygote", "cProfile")})
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: static C types cannot be changed

# Everything the check calls is bound here, at import (before any notebook code), and
# reaches the check as a default argument: a notebook that replaces a builtin such as
# `all`, or a name in this module, does not change what the check runs, and changing a
# function's defaults is reported by the audit hook.
_Tools = collections.namedtuple(
    "_Tools",
    "all any map tuple zip len getattr isinstance is_ attrgetter "
    "sys object str dict type repeat id list issubclass",
)
_TOOLS = _Tools(
    all,
    any,
    map,
    tuple,
    zip,
    len,
    getattr,
    isinstance,
    operator.is_,
    operator.attrgetter,
    sys,
    object,
    str,
    dict,
    type,
    itertools.repeat,
    id,
    list,
    issubclass,
)


def _watched(name):
    return any(name == p or name.startswith(p + ".") for p in WATCHED_PREFIXES)


# The record is made of tuples and named tuples only: a notebook that got hold of it
# could not change it without ctypes.
_Snapshot = collections.namedtuple("_Snapshot", "label namespace keys values")
Reference = collections.namedtuple(
    "Reference",
    (
        "shell namespaces class_ids "
        "meta_path path_hooks importer_cache trace trusted_roots module_names flat "
        "quick versions module_dicts function_ids settings module_table loaded notebook module_versions "
        "module_specs closures cell_guard"
    ),
)
Reference.__doc__ = (
    "What the machinery looked like before any notebook code ran (see :func:`capture`)."
)


#: Globals that a watched module rebinds itself, lazily, on its first use: IPython's event loop
#: for a cell with a top-level `await`, np.info's index of names, and the like (found by
#: looking for `global` statements in them). Nothing the tests use reads them; a notebook that
#: used them honestly was marked tampered (a sixth red team).
_LAZY_GLOBALS = types.MappingProxyType({
    "IPython.core.async_helpers": frozenset({"_asyncio_event_loop"}),
    "IPython.core.pylabtools": frozenset({"_matplotlib_manages_backends_value"}),
    "IPython.utils.terminal": frozenset({"_xterm_term_title_saved", "ignore_termtitle"}),
    "numpy.lib._utils_impl": frozenset({"_namedict", "_dictlist"}),
    # Rebound in every forked process (threading._after_fork), and at shutdown.
    "threading": frozenset({"_active_limbo_lock", "_main_thread", "_shutdown_locks", "_shutdown_locks_lock",
                            "_SHUTTING_DOWN", "excepthook"}),
})


def _snapshot(label, namespace, skip=frozenset()):
    keys = tuple(k for k in namespace if k not in skip)
    return _Snapshot(label, namespace, keys, tuple(map(namespace.get, keys)))


#: The builtins' public names, which code looks up in the builtins unless its namespace has its
#: own: one added to a module (``numpy._core.numeric.abs``, which turned every ``np.isclose``
#: true) takes the builtin's place in all its functions, with no audit event and no recorded
#: name changed (a seventh red team); the zygote hides the notebook's from the exercise's code.
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))

#: What those names are bound to in the builtins, as this module is imported (before any
#: notebook runs). One added to a module as itself changes nothing its functions do: that is
#: ``np.float = float``, the usual fix for old code after NumPy 1.24 removed the alias, which
#: had honest notebooks marked tampered (a thirtieth red team).
#: Read-only: a notebook that put a liar in this table, and the same liar in NumPy's numeric
#: module as `abs`, had every np.isclose true (a review of this change, 16 of 16 with zeros).
_BUILTIN_VALUES = types.MappingProxyType({name: getattr(builtins, name) for name in BUILTIN_NAMES})


#: Modules whose functions NumPy's C code looks up once and keeps (see the zygote's
#: _warm_numpy), and which never change themselves: any change of their namespace, even a
#: name replaced and put back, is tampering.
_SEALED = frozenset({"numpy._core._methods.", "numpy._core.arrayprint.", "numpy._core._internal."})

def _changed(snapshot, t=_TOOLS, builtin_names=BUILTIN_NAMES, builtin_values=_BUILTIN_VALUES,
             frozenset=frozenset):
    """The recorded names of `snapshot` bound to other objects now, or gone; in a module's
    namespace (not the builtins'), the names of builtins it has gained, unless bound to that
    very builtin (:data:`_BUILTIN_VALUES`); and in a class's, any name it has gained (a
    property set on importlib's ModuleSpec class answered every import's test of a spec's
    _initializing: a seventeenth red team)."""
    namespace = snapshot.namespace
    added = []
    if t.isinstance(namespace, t.dict) and snapshot.label != "builtins.":
        recorded = frozenset(snapshot.keys)
        added = [name for name in builtin_names if name in namespace and name not in recorded
                 and namespace.get(name) is not builtin_values[name]]
    elif not t.isinstance(namespace, t.dict) and t.len(namespace) != t.len(snapshot.keys):
        recorded = frozenset(snapshot.keys)
        added = [name for name in t.tuple(namespace) if name not in recorded]
    if not added and t.all(t.map(t.is_, t.map(namespace.get, snapshot.keys), snapshot.values)):
        return []
    missing = t.object()
    return [
        key
        for key, old in t.zip(snapshot.keys, snapshot.values)
        if namespace.get(key, missing) is not old
    ] + added


#: CPython's own test modules, whose functions reconfigure the running interpreter
#: (``_testinternalcapi.set_config``) or poke at its internals: no course notebook needs them.
_INTERPRETER_INTERNALS = frozenset({"_testinternalcapi", "_testcapi", "_testlimitedcapi", "_testclinic",
                                    "_testbuffer", "_testmultiphase", "_testsinglephase",
                                    "_testimportmultiple", "_xxtestfuzz"})

#: What may replace one of :func:`_shell_settings`' traits: a plain value, which runs no code.
_PLAIN = (str, int, float, bool, type(None))
#: The same, by identity: ``type(value) in _PLAIN`` compares with ``==``, which runs the
#: ``__eq__`` of a metaclass of the notebook's, whose instances then passed as plain (a
#: twenty-fourth red team).
_PLAIN_IDS = frozenset(map(id, _PLAIN))


def _shell_settings(shell, classes=()):
    """The settings a notebook may give a plain value, as ``{class label: names}``: the traits
    of IPython's classes (the shell's own and every recorded one), the counter that
    ``importlib.invalidate_caches()`` moves, and NumPy's print style for polynomials.

    ``InteractiveShell.ast_node_interactivity = "all"`` (show every expression's value,
    a common snippet) replaces a trait of the class with a plain value, which every
    shell then reads; so does ``IPCompleter.use_jedi = False``, the fix for slow tab
    completion. Such settings change how IPython runs the notebook's own cells,
    never the tests, which the helper runs without IPython: a plain value there is
    not tampering (see :func:`_settings_only`). ``importlib.invalidate_caches()``, which
    Python's documentation asks for after a module file is written (``%%writefile``),
    adds one to ``_NamespacePath._epoch`` (a twenty-third red team: both had honest
    notebooks marked tampered).
    """
    import traitlets

    settings = {
        f"{cls.__module__}.{cls.__qualname__}.": frozenset(  # its own traits and those it inherits
            name for base in cls.__mro__ for name, value in vars(base).items()
            if isinstance(value, traitlets.TraitType))
        for cls in (*type(shell).__mro__, *classes) if cls.__module__.startswith("IPython.")
    }
    settings["_frozen_importlib_external._NamespacePath."] = frozenset({"_epoch"})
    # np.polynomial.set_default_printstyle("ascii"), how polynomials print (a thirtieth red
    # team: an honest notebook marked tampered).
    settings["numpy.polynomial._polybase.ABCPolyBase."] = frozenset({"_use_unicode"})
    return {label: names for label, names in settings.items() if names}


def _settings_only(snapshot, names, settings, t=_TOOLS, plain=_PLAIN_IDS):
    """`names` less the shell settings of `snapshot` that now hold a plain value."""
    allowed = settings.get(snapshot.label)
    if not allowed:
        return names
    namespace = snapshot.namespace
    return [name for name in names if name not in allowed or t.id(t.type(namespace.get(name))) not in plain]


def capture(shell):
    """Record the machinery as it is now: call before any notebook code runs."""
    modules = {
        name: module
        for name, module in list(sys.modules.items())
        if _watched(name) and isinstance(module, types.ModuleType)
    }
    # A warning issued from a module's code creates that module's __warningregistry__ (even a
    # warning that is ignored): in a sealed module, a change. An honest mean of an empty
    # selection warned from numpy._core._methods and had the notebook marked tampered (a
    # twenty-second red team); a NaN in an answer makes np.allclose warn from numeric, while a
    # test runs, when no namespace may change (see `cell_guard`). Made now, the registry is
    # only filled and emptied in place.
    for module in modules.values():
        vars(module).setdefault("__warningregistry__", {})
    namespaces = [
        _snapshot(f"{name}.", vars(module), _LAZY_GLOBALS.get(name, frozenset()))
        for name, module in modules.items()
    ]
    namespaces.append(_snapshot("builtins.", vars(builtins), skip=_IPYTHON_BUILTINS))
    classes = {}
    for snapshot in namespaces:
        for value in snapshot.values:
            if isinstance(value, type) and _watched(
                getattr(value, "__module__", "") or ""
            ):
                for base in value.__mro__:
                    if _watched(getattr(base, "__module__", "") or ""):
                        classes[id(base)] = base
    for cls in type(shell).__mro__:
        classes[id(cls)] = cls
    classes = {
        key: cls for key, cls in classes.items() if not cls.__flags__ & _IMMUTABLE_TYPE
    }
    # The first copy or pickle of an instance stores its class's __slotnames__ on the class
    # (copyreg): stored now, it is part of the record, and copy.deepcopy(model) in an honest
    # notebook is no change (a twenty-second red team: LeNet, Counts, ChainMap).
    for cls in classes.values():
        try:
            copyreg._slotnames(cls)
        except Exception:
            pass
    namespaces += [
        _snapshot(f"{cls.__module__}.{cls.__qualname__}.", vars(cls))
        for cls in classes.values()
    ]
    roots = {p for p in (sys.prefix, sys.base_prefix) if p}
    roots |= {
        _package_root(m)
        for n, m in modules.items()
        if "." not in n and getattr(m, "__file__", None)
    }
    versions = _versions(namespaces)
    return Reference(
        shell=shell,
        namespaces=tuple(namespaces),
        class_ids=frozenset(classes),
        meta_path=tuple(sys.meta_path),
        path_hooks=tuple(sys.path_hooks),
        importer_cache=tuple(sys.path_importer_cache.items()),
        trace=(sys.gettrace(), sys.getprofile()),
        trusted_roots=tuple(sorted(roots)),
        module_names=frozenset(sys.modules),
        flat=_flatten(namespaces),
        quick=_quick(namespaces, versions),
        versions=versions,
        # The namespaces of the modules loaded now, kept alive (so that no other dict can
        # take one's address): frames running in them are the libraries' code, not the
        # notebook's (see :func:`watch`).
        # (IPython's __main__ holds the notebook's own namespace: not among them.)
        module_dicts={id(vars(m)): vars(m) for m in list(sys.modules.values())
                      if isinstance(m, types.ModuleType) and vars(m) is not shell.user_ns},
        # The functions of the recorded namespaces (kept alive by the snapshots): rewriting
        # the code or defaults of one of these is tampering; a library that sets those of a
        # function it has just made (namedtuple's __new__ gets its defaults so) is not.
        function_ids=frozenset(id(f) for snapshot in namespaces for f in map(_function_of, snapshot.values)
                               if isinstance(f, types.FunctionType)),
        settings=types.MappingProxyType(_shell_settings(shell, classes.values())),
        # Every module loaded now, not only the watched ones: an import statement hands out
        # whatever sys.modules holds, and reading even the `sys` it got can run code (a fake
        # `sys` whose __spec__ swapped NumPy in sys.modules while the setup ran: a tenth red
        # team). Imports use this very dict, whatever name sys.modules is rebound to.
        module_table=sys.modules,
        loaded=_loaded(),
        notebook=shell.user_ns,
        # The dicts of every loaded module, watched or not, and their version tags: a key that is
        # not a plain string in `sys`'s own dict ran its code at the setup's every `sys.modules`
        # (a twelfth red team).
        module_versions=_module_versions(),
        module_specs=_module_specs(),
        closures=_closures(namespaces),
        cell_guard=_cell_guard(namespaces, versions),
    )


def _loaded():
    """The names, objects and classes of the modules in sys.modules now, as three tuples.

    A module's class is part of the record: ``numpy.__class__ = M`` with an ``M`` of the
    notebook's own gave every ``np.allclose`` of the tests M's answer (a twelfth red team:
    86 of 88 points), with NumPy's namespace untouched.
    """
    entries = [(name, module) for name, module in list(sys.modules.items())
               if isinstance(module, types.ModuleType)]
    return (tuple(name for name, _ in entries), tuple(module for _, module in entries),
            tuple(type(module) for _, module in entries))


def _module_specs():
    """What an import of a loaded module reads, besides sys.modules: its ``__spec__`` and the
    spec's ``_initializing`` flag, whose truth test runs the flag's ``__bool__`` (a thirteenth
    red team armed one on ``sys.__spec__``, and the setup's ``import sys`` swapped NumPy).

    Returns ({id of a module's dict: its spec}, the specs, their classes, and (spec dicts,
    version views, versions) or None).
    """
    modules = [m for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)]
    by_dict = {id(vars(m)): vars(m).get("__spec__") for m in modules}
    specs = tuple({id(spec): spec for spec in by_dict.values()}.values())
    dicts = tuple({id(d): d for d in (getattr(spec, "__dict__", None) for spec in specs)
                   if type(d) is dict}.values())
    views = _version_views(dicts)
    return (by_dict, specs, tuple(type(spec) for spec in specs),
            None if views is None else (dicts, views, tuple(view.value for view in views)))


#: Recorded namespaces that a library's own code may change at any time, with nothing of the
#: notebook's involved: the modules with globals rebound lazily (see `_LAZY_GLOBALS`), and the
#: class whose counter ``importlib.invalidate_caches()`` moves (a twenty-seventh red team: an
#: honest function that called it was marked tampered).
_MAY_MOVE = frozenset({*(f"{name}." for name in _LAZY_GLOBALS), "_frozen_importlib_external._NamespacePath."})


def _cell_guard(namespaces, versions):
    """(labels, version views) of the recorded namespaces that no setup or test may change at
    all, even to put a name back; None where version tags cannot be read.

    A test runs the notebook's code (the functions it tests, the ``__array__`` of an answer it
    converts), and that code could put a function of its own in a library's namespace, for the
    test's next comparison to call, which put the real one back when called: NumPy's
    ``isclose`` looks up ``less_equal`` in its module's namespace at every call, so
    ``np.allclose`` said True, and the check after the test found every name as recorded (a
    twenty-fifth red team: 27 points with wrong answers in four exercises). The zygote reads
    these tags before and after the exercise's every cell (see ``zygote.run_submission``).
    """
    if versions is None:
        return None
    views = versions[0]
    kept = [(snapshot.label, view) for snapshot, view in zip(namespaces, views) if snapshot.label not in _MAY_MOVE]
    return tuple(label for label, _ in kept), tuple(view for _, view in kept)


def _module_versions():
    """(dicts, version views, versions now) of every loaded module's namespace, or None."""
    dicts = tuple({id(vars(m)): vars(m) for m in list(sys.modules.values())
                   if isinstance(m, types.ModuleType)}.values())
    views = _version_views(dicts)
    return None if views is None else (dicts, views, tuple(view.value for view in views))


def _quick(namespaces, versions):
    """The quick check's namespaces, each as (snapshot, version view, version then).

    The view and version are None where version tags cannot be read (see
    :func:`_versions`); the quick check then compares every entry of that namespace.
    """
    views, values = versions if versions is not None else ((None,) * len(namespaces),) * 2
    return tuple(
        (snapshot, view, value)
        for snapshot, view, value in zip(namespaces, views, values)
        if snapshot.label in _QUICK
    )


def _versions(namespaces):
    """Views of every recorded namespace's version tag, and their values now; or None.

    CPython gives every dict a version number that changes whenever the dict does
    (PEP 509: ``ma_version_tag``, right after the object header and the size).
    Reading them all is much faster than comparing every entry, so the full check
    compares entries only of the namespaces whose version moved. The layout is
    verified here, on a dict of our own; where it does not hold, the full check
    compares every entry (slower, as exact).
    """
    import gc

    dicts = []
    for snapshot in namespaces:
        namespace = snapshot.namespace
        if not isinstance(
            namespace, dict
        ):  # a class's mappingproxy: the dict behind it
            namespace = next(
                (d for d in gc.get_referents(namespace) if isinstance(d, dict)), None
            )
            if namespace is None:
                return None
        dicts.append(namespace)
    views = _version_views(dicts)
    return None if views is None else (views, tuple(view.value for view in views))


def _version_views(dicts):
    """A ctypes view of each dict's version tag (see :func:`_versions`), or None where the
    layout does not hold."""
    import ctypes

    offset = 3 * ctypes.sizeof(ctypes.c_ssize_t)
    probe = {}
    before = ctypes.c_uint64.from_address(id(probe) + offset).value
    probe["x"] = 1
    after = ctypes.c_uint64.from_address(id(probe) + offset).value
    probe["x"] = 2
    if not before < after < ctypes.c_uint64.from_address(id(probe) + offset).value:
        return None
    return tuple(ctypes.c_uint64.from_address(id(d) + offset) for d in dicts)


def _flatten(namespaces):
    """Every recorded entry in a few long tuples: one pass in C compares them all."""
    flat = {dict: ([], [], []), types.MappingProxyType: ([], [], [])}
    for snapshot in namespaces:
        owners, keys, values = flat[type(snapshot.namespace)]
        owners += [snapshot.namespace] * len(snapshot.keys)
        keys += snapshot.keys
        values += snapshot.values
    return tuple(
        (kind.get, tuple(o), tuple(k), tuple(v)) for kind, (o, k, v) in flat.items()
    )


def _package_root(module):
    path = module.__file__
    return (
        path.rsplit("/", 2)[0]
        if path.endswith("/__init__.py")
        else (path.rsplit("/", 1)[0] or "/")
    )


def _function_of(value):
    """A class's classmethod or staticmethod wraps a function: that function; else `value`."""
    return value.__func__ if isinstance(value, (classmethod, staticmethod)) else value


def _plain_keys(mapping, t=_TOOLS):
    """Whether every key of `mapping` is an exact ``str``, found without hashing or comparing
    any key: a str subclass with the hash of a name runs its ``__eq__`` whenever that name is
    looked up, in the setup, a test or this check (an eleventh red team put one in
    sys.modules, under the hash of "google.colab", and one in the notebook's namespace under
    that of "np": 86 of 88 points)."""
    return t.all(t.map(t.is_, t.map(t.type, t.tuple(mapping)), t.repeat(t.str)))


def _same_items(now, then, t=_TOOLS):
    """Whether sequence `now` holds the very objects of tuple `then`, in order."""
    now = t.tuple(now)
    return t.len(now) == t.len(then) and t.all(t.map(t.is_, now, then))


def _closures(namespaces):
    """The closure cells of the recorded functions, and what each holds now: ``(cells, contents)``.

    A library function made by a decorator calls the function in its closure cell, and a cell's
    ``cell_contents`` can be set with no audit event at all; NumPy's public functions call the
    plain function kept by their C dispatcher (``_implementation``), which no namespace holds (an
    eighteenth red team rewrote those of ``np.isclose`` and ``np.array_equal``). Both are
    followed, through the functions the cells hold and the classes' members (immutable classes'
    too), so the check can compare every cell's contents by identity. Empty cells are left
    out: filling one is not how a library is changed.
    """
    seen, cells, contents = set(), [], []
    work = [_function_of(value) for snapshot in namespaces for value in snapshot.values]
    while work:
        value = work.pop()
        implementation = getattr(value, "_implementation", None) if \
            type(value).__name__ == "_ArrayFunctionDispatcher" else None
        if implementation is not None:
            work.append(implementation)
        if isinstance(value, type) and id(value) not in seen:
            # Classes the record leaves out, since they cannot be changed (Cython's), may still
            # hold functions: SeedSequence.generate_state is NumPy's errstate wrapper, which calls
            # the function in its cell (a nineteenth red team).
            seen.add(id(value))
            try:
                work += [_function_of(member) for cls in value.__mro__ for member in vars(cls).values()]
            except Exception:  # a class that will not list its members (none known): not followed
                pass
            continue
        if not isinstance(value, types.FunctionType) or id(value) in seen:
            continue
        seen.add(id(value))
        for cell in value.__closure__ or ():
            try:
                held = cell.cell_contents
            except ValueError:  # empty
                continue
            cells.append(cell)
            contents.append(held)
            work.append(held)
    return tuple(cells), tuple(contents)


def _same_cells(closures, t=_TOOLS, same=_same_items):
    """Whether every recorded closure cell still holds what it held (see :func:`_closures`)."""
    cells, contents = closures
    try:
        return same(t.map(t.attrgetter("cell_contents"), cells), contents)
    except ValueError:  # a cell emptied
        return False


def check(
    reference,
    full=True,
    t=_TOOLS,
    changed=_changed,
    same=_same_items,
    sealed=_SEALED,
    settings_only=_settings_only,
    plain_keys=_plain_keys,
    same_cells=_same_cells,
):
    """What changed since `reference` was captured: short notes (empty when intact).

    The full check compares every recorded entry (a few milliseconds); it runs
    after every test cell and after the last cell. The quick one (`full` False),
    after the other cells, covers what changes how later cells run: the import
    system, trace functions, and NumPy's testing functions.
    Tampering that lasts until a test runs is therefore always seen, at the
    latest by the full check right after that test.
    """
    problems = []
    sys_ = t.sys
    names, loaded, classes = reference.loaded
    # First, before any attribute or key lookup could run the notebook's code: the classes of
    # the modules (by identity, type() runs no Python), then the keys of the dicts that names
    # are looked up in, those of the namespaces that changed since the capture among them.
    if not t.all(t.map(t.is_, t.map(t.type, loaded), classes)):
        name = [n for n, m, c in t.zip(names, loaded, classes) if t.type(m) is not c][0]
        return [f"the class of the module {name} was changed (its attributes could be made to lie)"]
    if reference.module_versions is not None:
        module_dicts, module_views, module_versions = reference.module_versions
        now = t.tuple(t.map(t.attrgetter("value"), module_views))
        moved_modules = [] if now == module_versions else [
            d for d, old, new in t.zip(module_dicts, module_versions, now) if old != new]
    else:
        moved_modules = reference.module_dicts.values()
    if reference.versions is not None:
        views, versions = reference.versions
        now = t.tuple(t.map(t.attrgetter("value"), views))
        moved = [] if now == versions else [
            snapshot for snapshot, old, new in t.zip(reference.namespaces, versions, now) if old != new]
    else:
        moved = reference.namespaces
    # The import system's containers, before anything iterates them: of their exact types, whose
    # methods are C (a list subclass of the notebook's as sys.meta_path, or a dict subclass as
    # sys.path_importer_cache, ran its __iter__ inside this very check, before anything was
    # compared, and undid the lies told during a test: a twentieth red team, 88 of 88 points).
    if t.type(sys_.path_importer_cache) is not t.dict or t.type(sys_.meta_path) is not t.list or \
            t.type(sys_.path_hooks) is not t.list:
        return ["sys.meta_path, sys.path_hooks or sys.path_importer_cache was replaced by an object of "
                "another type (its code would run whenever the import system or this check reads it)"]
    dicts = [reference.module_table, reference.notebook, *moved_modules, *t.map(t.attrgetter("namespace"), moved)]
    if not t.all(t.map(plain_keys, dicts)) or not plain_keys(sys_.path_importer_cache):
        return ["a key that is not a plain string was put in a namespace or in sys.modules (its code "
                "would run whenever a name is looked up there)"]
    # What an import statement reads of a loaded module: its spec, and the spec's attributes.
    spec_of, specs, spec_classes, spec_versions = reference.module_specs
    if not t.all(t.map(t.is_, t.map(t.type, specs), spec_classes)) or t.any(
            d.get("__spec__") is not spec_of.get(t.id(d), d.get("__spec__")) for d in moved_modules):
        return ["the import spec of a loaded module was replaced (importing it would run the notebook's code)"]
    if spec_versions is not None:
        spec_dicts, spec_views, spec_values = spec_versions
        if t.tuple(t.map(t.attrgetter("value"), spec_views)) != spec_values:
            return ["the import spec of a loaded module was changed (importing it would run the notebook's code)"]
    # By identity: an object can claim to equal anything.
    if not same(sys_.meta_path, reference.meta_path) or not same(sys_.path_hooks, reference.path_hooks):
        problems.append(
            "the import system (sys.meta_path or sys.path_hooks) was changed"
        )
    cache = sys_.path_importer_cache
    if t.any(
        cache.get(key, value) is not value for key, value in reference.importer_cache
    ):
        problems.append("sys.path_importer_cache was changed")
    if not same((sys_.gettrace(), sys_.getprofile()), reference.trace):
        problems.append("a trace or profile function was set")
    modules = reference.module_table
    if sys_.modules is not modules:
        problems.append("sys.modules was rebound to another dict")
    if not t.all(t.map(t.is_, t.map(modules.get, names), loaded)):  # one pass, in C
        name = [n for n, m in t.zip(names, loaded) if modules.get(n) is not m][0]
        problems.append(f"sys.modules[{name!r}] was replaced or removed")
    if not same_cells(reference.closures):
        problems.append("a function of a library was made to call another function (its closure was changed)")
    if not full:
        # Every recorded namespace whose version tag moved, not only the quick ones: a function of
        # NumPy's changed in a student's cell, which NumPy itself calls during a test, could undo
        # itself there before the check after the test. Unmoved namespaces need not be touched
        # (touching them copies their pages from the helper: 3 ms a notebook).
        for snapshot in (moved if reference.versions is not None else (q[0] for q in reference.quick)):
            names = settings_only(snapshot, changed(snapshot), reference.settings)
            if names:
                problems.append(f"{snapshot.label}{names[0]} was replaced")
        return problems
    if reference.versions is not None:  # only the namespaces whose version moved
        suspects = moved
    elif not t.all(
        t.all(t.map(t.is_, t.map(get, owners, keys), values))
        for get, owners, keys, values in reference.flat
    ):
        suspects = reference.namespaces
    else:
        suspects = []
    for snapshot in suspects:
        names = settings_only(snapshot, changed(snapshot), reference.settings)
        if names:
            problems.append(
                f"{snapshot.label}{names[0]} was replaced"
                + (f" (and {t.len(names) - 1} more)" if t.len(names) > 1 else "")
            )
        elif snapshot.label in sealed:
            problems.append(f"{snapshot.label[:-1]} was changed (a name was replaced and put back)")
    # Rewriting a function's code or defaults is reported by the audit hook at once
    # (every Python route to it, func.__code__ = ... included, raises the audited
    # event). Comparing the ~11,000 functions' code after the last cell as well was
    # dropped: it cost 25-75 ms a notebook (the first touch of each function copies
    # its page from the helper) and caught only what ctypes does, which can defeat
    # the comparison too.
    return problems + _new_modules(reference)


_QUICK = frozenset(
    {
        "numpy.",
        "numpy.testing.",
        "numpy.testing._private.utils.",
        "builtins.",
        "importlib.",
        "IPython.core.interactiveshell.InteractiveShell.",
    }
)


def _new_modules(reference, t=_TOOLS, plain_keys=_plain_keys):
    """Watched modules imported after the capture must be files of the installed
    packages. Read without running any of the notebook's code: a module's spec and file
    come from its namespace, not its attributes (a ``__spec__`` property on a module of the
    notebook's ran inside the check, after the test: a twentieth red team)."""
    problems = []
    modules = t.sys.modules
    for name in modules.keys() - reference.module_names:  # a set difference, in C: fast
        module = modules.get(name)
        if module is None or not _watched(name):
            continue
        namespace = _namespace_of(module)
        if namespace is None or not plain_keys(namespace):
            problems.append(f"sys.modules[{name!r}] is not a plain module")
            continue
        spec = namespace.get("__spec__")
        attributes = t.getattr(spec, "__dict__", None) if t.type(spec) is _SPEC_CLASS else None
        if spec is not None and (attributes is None or t.type(attributes) is not t.dict or not plain_keys(attributes)):
            problems.append(f"module {name!r} has an import spec of another kind")
            continue
        origin = None if spec is None else attributes.get("origin")
        file = namespace.get("__file__", origin)
        if spec is None or origin in ("built-in", "frozen"):
            if name in t.sys.builtin_module_names or origin == "frozen" or _made_by_extension(name, module, reference.trusted_roots):
                continue
            problems.append(f"module {name!r} did not come from a file")
            continue
        if (
            t.type(origin) is not t.str
            or not origin.startswith(reference.trusted_roots)
            or t.type(file) is not t.str
            or file != origin
        ):
            problems.append(
                f"module {name!r} was loaded from {origin!r}, "
                "not from the installed package"
            )
    return problems


_SPEC_CLASS = type(sys.__spec__)  # importlib's ModuleSpec, which the capture records
_MODULE_DICT = types.ModuleType.__dict__["__dict__"].__get__  # a module's namespace, past its class


def _namespace_of(module, t=_TOOLS, module_type=types.ModuleType, namespace=_MODULE_DICT):
    """The namespace of `module` if it is a module (of a module class, whatever attributes that
    class gives itself), else None; read without running any code of the notebook's."""
    if not t.issubclass(t.type(module), module_type):
        return None
    found = namespace(module)
    return found if t.type(found) is t.dict else None


def _made_by_extension(name, module, roots, t=_TOOLS, plain_keys=_plain_keys):
    """Whether `module` is a submodule that a compiled extension made of itself (pybind11's
    def_submodule: scipy.optimize._highspy._core.cb), with no file of its own: its parent is
    an extension module file of the installed packages, and holds it under its name."""
    parent_name, _, last = name.rpartition(".")
    parent = _namespace_of(t.sys.modules.get(parent_name))
    if parent is None or not plain_keys(parent):
        return False
    path = parent.get("__file__")
    return (t.type(path) is t.str and path.endswith((".so", ".pyd")) and path.startswith(roots)
            and parent.get(last) is module)


def watch(reference, report):
    """Install an audit hook that calls ``report(note)`` once per kind of tampering.

    Audit hooks cannot be removed, and this one is installed before notebook code
    runs. `report` should send the note over the grader's channel at once.
    """
    sent = set()
    class_ids, function_ids = reference.class_ids, reference.function_ids
    function_type = types.FunctionType
    code_names = frozenset(
        {"__code__", "__defaults__", "__kwdefaults__", "__globals__"}
    )
    frame_attributes = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
    module_dicts, modules, roots = reference.module_dicts, sys.modules, reference.trusted_roots
    # Bound now, like the check's tools: the notebook may replace builtins before it acts.
    getframe, get_ident, id_, type_ = sys._getframe, _thread.get_ident, id, type
    str_, module_type, givers = str, types.ModuleType, _FRAME_GIVERS
    generator_givers, summaries = _GENERATOR_GIVERS, _FRAME_SUMMARIES
    startswith, any_, tuple_ = str.startswith, any, tuple
    notebook, may_trace = reference.shell.user_ns, _MAY_TRACE
    settings, plain = reference.settings, _PLAIN_IDS
    module_ids = frozenset(map(id, reference.loaded[1]))
    interpreter_internals = _INTERPRETER_INTERNALS
    busy = set()  # threads inside the hook: its own sys._getframe raises the event again

    def library(frame):
        """Whether `frame` runs the code of a module loaded from the installed packages."""
        namespace = frame.f_globals
        if namespace is notebook:
            return False
        name, path, filename = namespace.get("__name__"), namespace.get("__file__"), frame.f_code.co_filename
        if type_(name) is not str_:
            return False
        # The module's own code: its file (or, frozen, its frozen name), not code of the
        # notebook's run with the module's namespace.
        if filename != path and filename != f"<frozen {name}>":
            return False
        if module_dicts.get(id_(namespace)) is namespace:
            return True
        module = modules.get(name)
        if type_(module) is not module_type or module.__dict__ is not namespace:
            return False
        return type_(path) is str_ and startswith(path, roots)

    def from_notebook(frame):
        """Whether the code that caused an event is the notebook's: its own, or a library
        function that hands frames back (:data:`_FRAME_GIVERS`) that the notebook called,
        or whose frames reach the notebook through the library code that iterates it."""
        while frame is not None and library(frame):
            where = (frame.f_globals.get("__name__"), frame.f_code.co_name)
            if where not in givers:
                return False
            if where in generator_givers:
                return yields_to_notebook(frame.f_back)
            frame = frame.f_back
        return frame is not None

    def yields_to_notebook(frame):
        """Whether what a generator giver yields reaches the notebook: up through the library
        code that resumed it, unless that is one of traceback's summaries without variables."""
        while frame is not None and library(frame):
            if (frame.f_globals.get("__name__"), frame.f_code.co_name) in summaries and \
                    frame.f_locals.get("capture_locals") is False:
                return False
            frame = frame.f_back
        return frame is not None

    def event_caller():
        """The frame whose code raised the event; None for the event the hook raises itself
        (sys._getframe is audited too)."""
        thread = get_ident()
        if thread in busy:
            return None
        busy.add(thread)
        try:
            return getframe(2)  # past this function and the hook
        finally:
            busy.discard(thread)

    def whose(function):
        """Whose `function` is: "loaded" for a module loaded before the notebook ran (the plain
        functions NumPy's C dispatchers call are in no namespace the capture records, but their
        globals are NumPy's); "imported since" for a module imported later, which sets the code
        of its own functions as it is imported (asyncio's, through types.coroutine); None for
        the notebook's own, and for one a library has just made with globals of its own
        (namedtuple sets the defaults of its __new__)."""
        namespace = function.__globals__
        if namespace is notebook:
            return None
        if module_dicts.get(id_(namespace)) is namespace:
            return "loaded"
        if any_(type_(m) is module_type and m.__dict__ is namespace for m in tuple_(modules.values())):
            return "imported since"
        return None

    def note(text):
        if text not in sent:
            sent.add(text)
            report(text)

    def hook(event, args):
        if event == "sys.addaudithook":
            # A hook of the notebook's own would be handed every test's source as it is
            # compiled, hidden tests included (a fourteenth red team acted on them): refused.
            note("added an audit hook, which would be handed the tests' source")
            raise RuntimeError("no audit hooks in a graded notebook")
        if event in ("sys.settrace", "sys.setprofile"):
            # A trace or profile function is handed every frame (and can skip a test's
            # lines): only the grader's own calls pass, and cProfile's, whose profiler is C.
            caller = event_caller()
            name = caller.f_globals.get("__name__") if caller is not None and library(caller) else None
            if caller is not None and name not in may_trace.get(event, ()):
                note(f"called {event} (a trace function can skip the lines of a test)")
        elif event == "object.__setattr__":
            # By type() and id() only: isinstance() and `in` could run the notebook's code.
            target, name = args[0], args[1]
            if type_(name) is not str_:
                note("set an attribute under a name that is not a plain string")
            elif type_(target) is function_type and name in code_names and (
                    id_(target) in function_ids or whose(target) == "loaded" or (
                    whose(target) == "imported since" and from_notebook(event_caller()))):
                note(f"rewrote the {name} of a function")
            elif id_(target) in module_ids and name == "__class__":
                note("changed the class of a module (its attributes could be made to lie)")
            elif id_(target) in class_ids:
                label = f"{target.__module__}.{target.__qualname__}."
                if not (name in settings.get(label, ()) and id_(type_(args[2])) in plain):
                    note(f"changed the class {label[:-1]}")
        elif event == "import" and args[0] in interpreter_internals:
            # _testinternalcapi.set_config turned on -O for the whole process, so that tests
            # compiled after it lost their asserts (a tenth red team: 70 of 92 points).
            note(f"imported {args[0]}, CPython's test module that reconfigures the interpreter")
        elif event in ("gc.get_objects", "gc.get_referrers", "gc.get_referents"):
            note(
                f"searched the interpreter's objects ({event}), "
                "the way to reach the grader's own"
            )
        elif event == "ctypes.PyObj_FromPtr":
            note("turned a memory address into an object (ctypes)")
        elif event in ("sys._getframe", "sys._current_frames") or (
                event == "object.__getattr__" and args[1] in frame_attributes):
            # A frame reaches the grader's own (f_back leads to the loop that reports each
            # cell, with the cell's nonce): libraries read frames, a notebook has no need to.
            caller = event_caller()
            if caller is not None and from_notebook(caller):
                what = event if event != "object.__getattr__" else args[1]
                note(f"took a stack frame ({what}), the way to reach the grader's own")

    sys.addaudithook(hook)
