"""Release exercises from nbgrader-format solutions, and grade a class's submissions.

The grading pipeline runs one way, through the records of
:mod:`coursekit.grading.records`: submission -> job -> outcome -> row
(see :mod:`coursekit.grading.grade`).

The names below are imported when first used: the grader's sandboxed helper
process imports :mod:`coursekit.grading.runner` and its neighbours, and must not
pay for nbformat and its JSON-schema validators (seconds at every start) that
only the grader needs.

Used in: `make exercises`, `make grade`, and the tests that prove every exercise
is non-vacuous.
"""

import importlib

# Each public name, and the module that defines it.
_HOMES = {
    "assemble": "assembly",
    "Exercise": "exercises", "load_exercises": "exercises", "release_folder": "exercises",
    "grade_folder": "grade",
    "NotebookError": "notebooks", "graded_cells": "notebooks", "read_notebook": "notebooks",
    "release": "notebooks",
    "Outcome": "records", "Report": "records", "Row": "records", "Score": "records",
    "Status": "records", "Submission": "records",
}

__all__ = sorted(_HOMES, key=str.lower)


def __getattr__(name):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOMES))
