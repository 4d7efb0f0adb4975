"""What coursekit imports: every outside package is declared, and no module imports itself back.

Every package coursekit imports is declared in pyproject.toml (dependencies or extras).
An import inside ``try: ... except ImportError`` is optional by construction (coursekit.book
glues numbers only inside a notebook kernel) and need not be declared.

No import cycle: the graph of which coursekit module imports which, counting imports
inside functions too (a deferred import hides a cycle, it does not remove it), has no
cycle. ``from package import name`` counts as importing the submodule ``name`` when there
is one, else the package; a submodule's implicit import of its parent package is not
counted, since every package whose ``__init__`` re-exports its submodules would have one.
"""

import ast
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

#: Import names that differ from the name of the distribution on PyPI.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "IPython": "ipython", "myst_nb": "myst-nb", "yaml": "pyyaml"}


def _optional_imports(tree):
    """ids of import nodes guarded by ``except ImportError``."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            guarded |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return guarded


def imported_distributions():
    found = {}
    for path in sorted((ROOT / "coursekit").rglob("*.py")):
        tree = ast.parse(path.read_text())
        optional = _optional_imports(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("coursekit", "__future__"):
                    continue
                found.setdefault(DISTRIBUTIONS.get(top, top).lower(), path.relative_to(ROOT).as_posix())
    return found


def declared_distributions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + sum(project.get("optional-dependencies", {}).values(), [])
    return {re.split(r"[<>=!~ \[;]", spec)[0].lower().replace("_", "-") for spec in specs}


def test_every_imported_package_is_declared():
    missing = {name: where for name, where in imported_distributions().items() if name not in declared_distributions()}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_scan_sees_the_packages_it_should():
    found = imported_distributions()
    assert {"numpy", "scipy", "matplotlib", "scikit-learn", "pooch", "requests", "ipywidgets"} <= set(found)
    assert "myst-nb" not in found  # optional: imported under `except ImportError`


def import_graph(package_dir):
    """{module: {imported module: line}} over every .py file of a package, with dotted names."""
    root = package_dir.parent
    files = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        # Relative imports count from the package a module sits in; a package's __init__ is that package.
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = graph[name] = {}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                    base = f"{parent}.{base}" if base else parent
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:  # `import coursekit.nn.layers` -> that module; numpy -> none
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.setdefault(target, node.lineno)
    return graph


def import_cycles(graph):
    """Every cycle of the graph, one per strongly connected component, as [a, b, ..., a]."""
    order, low, stack, cycles = {}, {}, [], []

    def visit(module):  # Tarjan's algorithm
        order[module] = low[module] = len(order)
        stack.append(module)
        for target in graph[module]:
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = set(stack[stack.index(module):])
            del stack[stack.index(module):]
            if len(component) > 1:
                cycles.append(_one_cycle(graph, component, module))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return cycles


def _one_cycle(graph, component, start):
    """A path start -> ... -> start inside one strongly connected component (breadth first: a shortest one)."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target in sorted(graph[module]):
                if target == start:
                    return paths[module] + [start]
                if target in component and target not in paths:
                    paths[target] = paths[module] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")


def test_no_import_cycle_in_coursekit():
    graph = import_graph(ROOT / "coursekit")
    cycles = [" -> ".join(f"{a}:{graph[a][b]}" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"
              for cycle in import_cycles(graph)]
    assert not cycles, "import cycles in coursekit (module:line of the import):\n" + "\n".join(cycles)


def test_the_import_graph_sees_relative_absolute_and_deferred_imports():
    graph = import_graph(ROOT / "coursekit")
    assert "coursekit.conv" in graph["coursekit.pooling"]  # from .conv import ...
    assert "coursekit.conv" in graph["coursekit.nn.layers"]  # from .. import conv
    assert "coursekit.grading.runner" in graph["coursekit.grading.zygote"]  # from coursekit.grading.runner import
    assert "coursekit.quantize" in graph["coursekit.widgets"]  # only inside a function
    assert "numpy" not in graph["coursekit.conv"]  # outside packages are not nodes
    assert all(target in graph for edges in graph.values() for target in edges)


def test_an_import_cycle_is_found_and_named(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .a import f\n")
    (package / "a.py").write_text("def f():\n    from .sub import b\n    return b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("from ..c import g\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from . import c\n")  # imports into the cycle, is not part of it
    assert import_cycles(import_graph(package)) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]
