"""Grading throughput: 100 submissions of the first exercise, on all cores.

A realistic class: a mix of complete, partly wrong and blank notebooks. The
reference is `nbgrader autograde`, which starts a Jupyter kernel per notebook; it is
run on a sample (BENCH_NBGRADER_N, default 10) and its per-notebook time compared.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursekit.grading import grade_folder, read_notebook
from coursekit.grading.notebooks import nbgrader_meta

ROOT = Path(__file__).resolve().parents[1]
NAME = "01_convolution"


def _class(folder, count):
    solution = read_notebook(ROOT / "solutions" / f"{NAME}.ipynb")
    released = read_notebook(ROOT / "exercises" / f"{NAME}.ipynb")
    answers = {nbgrader_meta(c).get("grade_id"): c.source for c in solution.cells}
    for number in range(count):
        notebook = nbformat.from_dict(released)
        for cell in notebook.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            # Student k answers the first (k mod 5) questions: a spread of scores.
            if nbgrader_meta(cell).get("solution") and ["conv_shape", "conv_values", "conv_padded",
                                                         "conv_corr2d"].index(grade_id) < number % 5:
                cell.source = answers[grade_id]
        (folder / f"student{number:03d}").mkdir(parents=True)
        nbformat.write(notebook, folder / f"student{number:03d}" / f"{NAME}.ipynb")


def _nbgrader_seconds_per_notebook(count, base):
    course = base / "course"
    (course / "source" / NAME).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / f"{NAME}.ipynb", course / "source" / NAME)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.db_url = 'sqlite:///gradebook.db'\n"
        "c.CourseDirectory.course_id = 'bench'\n")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    run = lambda *args: subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=course, env=env,
                                       capture_output=True, text=True, check=True)
    run("generate_assignment", NAME, "--force")
    students = [f"student{n:03d}" for n in range(count)]
    for student in students:
        shutil.copytree(base / "class" / student, course / "submitted" / student / NAME)
    start = time.perf_counter()
    run("autograde", NAME, "--force")
    return (time.perf_counter() - start) / count


def run():
    count = 100
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _class(base / "class", count)
        start = time.perf_counter()
        rows = grade_folder(base / "class", base / "out", ROOT / "solutions", progress=False, exercise=NAME).rows
        seconds = time.perf_counter() - start
        assert len(rows) == count and all(r.status.value == "ok" for r in rows)
        figures = [{"name": "grade_100_submissions", "value": seconds, "target": "<= 60", "unit": "s",
                    "note": f"{os.cpu_count()} cores"}]
        sample = int(os.environ.get("BENCH_NBGRADER_N", "10"))
        try:
            per_notebook = _nbgrader_seconds_per_notebook(sample, base)
        except (subprocess.CalledProcessError, FileNotFoundError) as error:
            figures.append({"name": "nbgrader_vs_coursekit_per_notebook", "value": None, "target": "info",
                            "unit": "x slower", "note": f"nbgrader autograde failed: {error}"})
            return figures
        figures.append({
            "name": "nbgrader_vs_coursekit_per_notebook",
            "value": per_notebook / (seconds / count),
            "target": "info",
            "unit": "x slower (nbgrader)",
            "note": f"nbgrader autograde {per_notebook:.2f} s/notebook on {sample}; "
                    f"100 would take ~{per_notebook * count:.0f} s",
        })
    return figures
