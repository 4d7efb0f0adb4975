"""Run every benchmark module, print one line per figure, write _build/bench.json.

Each module in this package named ``bench_*.py`` has a ``run()`` that returns a list
of figures ``{"name", "value", "target", "unit", "note"}``. A figure whose reference
is unavailable (torch not installed, say) has ``value`` None and says why in ``note``.
Later chapters add their own modules; nothing here needs to change.
"""

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import benchmarks

OUT = Path(__file__).resolve().parents[1] / "_build" / "bench.json"


def main():
    figures = {}
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        for figure in module.run():
            figures[figure["name"]] = {k: figure[k] for k in ("value", "target", "unit")}
            value = "n/a" if figure["value"] is None else f"{figure['value']:.2f}"
            print(f"{figure['name']:<32} {value:>8} {figure['unit']:<28} target {figure['target']}"
                  f"  {figure.get('note', '')}".rstrip())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(figures, indent=2) + "\n")
    tmp.replace(OUT)
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
