"""A small mutation tester for coursekit's numeric modules (issue 16).

Usage, from a scratch copy of the repository (``git archive HEAD | tar -x -C /tmp/copy``),
so that nothing it writes lands in the working tree::

    python tools/mutate.py /tmp/copy conv tests/test_conv.py --out /tmp/conv.json
    python tools/mutate.py /tmp/copy pooling tests/test_pooling.py --skip-functions unpool2d
    python tools/mutate.py /tmp/copy quantize tests/test_quantize.py
    python tools/mutate.py /tmp/copy metrics tests/test_metrics.py

It prints the kill rate and every surviving mutant; ``--out`` writes all results as JSON.
When a full run is too slow, ``--every K`` runs a reproducible sample: every K-th
mutant in source order, from ``--start`` (``--every 4 --start 0..3`` covers them all).

Each mutant changes one AST node of coursekit/MODULE.py (arithmetic and comparison
operators, augmented assignments, boolean operators, `not`, unary minus, numeric
constants, True/False/None, a few numpy function names). The parent process imports the
heavy libraries once; each mutant runs in a forked child that executes the mutated
source into the real module's namespace, rebinds other coursekit modules' references to
the mutated functions, and runs pytest in-process on TESTFILE plus the module's doctests
with -x. Docstrings and other string constants are not mutated.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import signal
import sys
import time

SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
              ast.FloorDiv: ast.Div, ast.Mod: ast.Mult, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr,
              ast.BitOr: ast.BitAnd, ast.MatMult: ast.Mult}
SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
SWAP_NAMES = {"maximum": "minimum", "minimum": "maximum", "max": "min", "min": "max", "any": "all",
              "all": "any", "floor": "ceil", "ceil": "floor", "argmin": "argmax", "argmax": "argmin",
              "nanmean": "nanmax", "mean": "sum", "sum": "mean", "round": "floor", "diag": "trace"}


def docstring_nodes(tree):
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                ids.add(id(body[0].value))
    return ids


def enclosing_functions(tree):
    """Map id(node) -> name of the top-level function or class holding it."""
    owner = {}
    for top in tree.body:
        name = getattr(top, "name", None)
        for node in ast.walk(top):
            owner[id(node)] = name
    return owner


def candidate_mutations(tree, skip):
    """Yield (path, description) for every mutation; path locates the node by walk index."""
    docs = docstring_nodes(tree)
    owner = enclosing_functions(tree)
    for index, node in enumerate(ast.walk(tree)):
        if owner.get(id(node)) in skip:
            continue
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.BinOp) and type(node.op) in SWAP_BINOP:
            yield index, "binop", line, f"{type(node.op).__name__} -> {SWAP_BINOP[type(node.op)].__name__}"
        elif isinstance(node, ast.AugAssign) and type(node.op) in SWAP_BINOP:
            yield index, "augassign", line, f"{type(node.op).__name__}= -> {SWAP_BINOP[type(node.op)].__name__}="
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in SWAP_CMP:
                    yield (index, k), "compare", line, f"{type(op).__name__} -> {SWAP_CMP[type(op)].__name__}"
        elif isinstance(node, ast.BoolOp):
            yield index, "boolop", line, "and <-> or"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.Invert)):
            yield index, "unary", line, f"drop {type(node.op).__name__}"
        elif isinstance(node, ast.Constant) and id(node) not in docs:
            value = node.value
            if isinstance(value, bool) or value is None:
                if value is not None:
                    yield index, "const", line, f"{value} -> {not value}"
            elif isinstance(value, (int, float)):
                yield index, "const", line, f"{value!r} -> {value + 1!r}"
        elif isinstance(node, ast.Attribute) and node.attr in SWAP_NAMES and isinstance(node.ctx, ast.Load):
            yield index, "name", line, f".{node.attr} -> .{SWAP_NAMES[node.attr]}"
        elif isinstance(node, ast.Name) and node.id in SWAP_NAMES and isinstance(node.ctx, ast.Load) \
                and node.id in ("max", "min", "any", "all", "round", "sum"):
            yield index, "name", line, f"{node.id} -> {SWAP_NAMES[node.id]}"


def apply(tree, where, kind):
    tree = copy.deepcopy(tree)
    index, k = (where if isinstance(where, tuple) else (where, None))
    node = list(ast.walk(tree))[index]
    if kind in ("binop", "augassign"):
        node.op = SWAP_BINOP[type(node.op)]()
    elif kind == "compare":
        node.ops[k] = SWAP_CMP[type(node.ops[k])]()
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "unary":
        # Replace the UnaryOp by its operand: find the parent.
        for parent in ast.walk(tree):
            for field, value in ast.iter_fields(parent):
                if value is node:
                    setattr(parent, field, node.operand)
                elif isinstance(value, list):
                    for i, item in enumerate(value):
                        if item is node:
                            value[i] = node.operand
    elif kind == "const":
        node.value = (not node.value) if isinstance(node.value, bool) else node.value + 1
    elif kind == "name":
        if isinstance(node, ast.Attribute):
            node.attr = SWAP_NAMES[node.attr]
        else:
            node.id = SWAP_NAMES[node.id]
    return ast.fix_missing_locations(tree)


def run_child(root, module_name, code, tests, timeout):
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(root)
            if not os.environ.get("MUT_DEBUG"):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
            signal.alarm(timeout)
            import importlib
            module = importlib.import_module(module_name)
            old = dict(module.__dict__)
            exec(code, module.__dict__)
            for name, mod in list(sys.modules.items()):
                if name.startswith("coursekit") and mod is not module and mod is not None:
                    for attr, value in list(vars(mod).items()):
                        for old_name, old_value in old.items():
                            if value is old_value and callable(value) and old_name in module.__dict__:
                                setattr(mod, attr, module.__dict__[old_name])
            import pytest
            rc = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-W", "ignore::pytest.PytestAssertRewriteWarning", *tests])
            os._exit(0 if rc == 0 else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
            os._exit(1)
    return pid


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("module")
    parser.add_argument("tests", nargs="+")
    parser.add_argument("--skip-functions", default="")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--out")
    parser.add_argument("--every", type=int, default=1, help="every K-th mutant only")
    parser.add_argument("--start", type=int, default=0, help="first mutant to run")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    sys.path.insert(0, root)
    os.chdir(root)
    os.environ.setdefault("MPLBACKEND", "Agg")
    # Heavy imports once, in the parent: every forked child inherits them.
    import matplotlib
    matplotlib.use("Agg")
    import numpy, scipy.signal, scipy.ndimage, hypothesis, pytest  # noqa: F401
    try:
        import sklearn.metrics  # noqa: F401
    except ImportError:
        pass
    import importlib
    module_name = f"coursekit.{args.module}"
    importlib.import_module("coursekit")
    module = importlib.import_module(module_name)
    for sub in ("conv", "pooling", "quantize", "metrics", "plotting", "widgets", "data", "synthetic"):
        try:
            importlib.import_module(f"coursekit.{sub}")
        except ImportError:
            pass
    path = module.__file__
    source = open(path).read()
    tree = ast.parse(source)
    skip = set(filter(None, args.skip_functions.split(",")))
    mutations = list(candidate_mutations(tree, skip))
    total = len(mutations)
    mutations = mutations[args.start::args.every]
    tests = list(args.tests) + [os.path.relpath(path, root)]

    # Sanity: the unmutated module passes.
    pid = run_child(root, module_name, compile(tree, path, "exec"), tests, args.timeout)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("the unmutated module fails its tests")

    results = []
    running = {}
    queue = list(mutations)
    start = time.time()
    while queue or running:
        while queue and len(running) < args.jobs:
            where, kind, line, description = queue.pop(0)
            try:
                code = compile(apply(tree, where, kind), path, "exec")
            except Exception as error:  # an invalid mutant is not counted
                results.append({"line": line, "kind": kind, "mutation": description, "status": "invalid"})
                continue
            running[run_child(root, module_name, code, tests, args.timeout)] = (line, kind, description, time.time())
        pid, status = os.wait()
        line, kind, description, began = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        status_text = "survived" if code == 0 else ("timeout" if code == -signal.SIGALRM else "killed")
        results.append({"line": line, "kind": kind, "mutation": description, "status": status_text,
                        "seconds": round(time.time() - began, 1)})
        # One line per mutant as it finishes, so that a run cut short still reports.
        done = f"[{len(results)}/{len(mutations)}]"
        print(f"  {done} {status_text:<8} line {line}: {description}", flush=True)
    lines = source.splitlines()
    counted = [r for r in results if r["status"] != "invalid"]
    killed = sum(r["status"] != "survived" for r in counted)
    rate = 100 * killed / max(1, len(counted))
    sample = f" (every {args.every}th of {total}, from {args.start})" if args.every > 1 else ""
    print(f"{args.module}: {killed}/{len(counted)} killed ({rate:.1f}%){sample} "
          f"in {time.time() - start:.0f}s")
    for r in sorted(results, key=lambda r: r["line"] or 0):
        if r["status"] == "survived":
            print(f"  SURVIVED line {r['line']}: {r['mutation']:<22} | {lines[r['line'] - 1].strip()[:100]}")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
