"""Run every benchmark module, print one line per figure, write _build/bench.json.

Each module in this package named ``bench_*.py`` has a ``run()`` that returns a list
of figures ``{"name", "value", "target", "unit", "note"}``. A figure whose reference
is unavailable (torch not installed, say) has ``value`` None and says why in ``note``.
Later chapters add their own modules; nothing here needs to change.

Each line, and each figure in the JSON (``"meets"``), says whether the value meets
its target, and the run ends with the names of those that miss, so that a figure
that has slipped past its target is not lost among the others.
"""

import importlib
import json
import pkgutil
import re
import sys
from pathlib import Path

import benchmarks

OUT = Path(__file__).resolve().parents[1] / "_build" / "bench.json"

_NUMBER = r"(-?\d+(?:\.\d+)?)"


def meets(value, target):
    """Whether `value` meets `target`: True, False, or None when there is nothing to judge.

    A target is ``"<= x"``, ``">= x"`` or ``"a to b"`` (both ends included); any other
    (``"info"``, ``"about -2.8"``) gives None, as does a value of None (a reference
    that was not available).

    >>> meets(0.8, "<= 1"), meets(2.5, ">= 3"), meets(-2.4, "-3.5 to -2.0"), meets(1.0, "info")
    (True, False, True, None)
    """
    if value is None:
        return None
    if match := re.fullmatch(rf"\s*(<=|>=)\s*{_NUMBER}\s*", target):
        bound = float(match.group(2))
        return value <= bound if match.group(1) == "<=" else value >= bound
    if match := re.fullmatch(rf"\s*{_NUMBER}\s+to\s+{_NUMBER}\s*", target):
        return float(match.group(1)) <= value <= float(match.group(2))
    return None


def main():
    figures = {}
    missed = []
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        for figure in module.run():
            verdict = meets(figure["value"], figure["target"])
            figures[figure["name"]] = {k: figure[k] for k in ("value", "target", "unit")}
            figures[figure["name"]]["meets"] = verdict
            if verdict is False:
                missed.append(figure["name"])
            value = "n/a" if figure["value"] is None else f"{figure['value']:.2f}"
            mark = {True: "meets", False: "MISSES", None: ""}[verdict]
            print(f"{figure['name']:<32} {value:>8} {figure['unit']:<28} target {figure['target']:<6}"
                  f" {mark:<6}  {figure.get('note', '')}".rstrip())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(figures, indent=2) + "\n")
    tmp.replace(OUT)
    judged = sum(figure["meets"] is not None for figure in figures.values())
    print(f"{judged - len(missed)} of {judged} judged figures meet their target"
          + (f"; these miss: {', '.join(missed)}" if missed else ""))
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
