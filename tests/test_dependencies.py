"""Every package coursekit imports is declared in pyproject.toml (dependencies or extras).

An import inside ``try: ... except ImportError`` is optional by construction (coursekit.book
glues numbers only inside a notebook kernel) and need not be declared.
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
