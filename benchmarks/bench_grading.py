"""Grading throughput: 100 students x 6 exercises, sandboxed, on all cores (issue 18: <= 60 s).

A realistic class: for every exercise, a mix of complete, partly answered and blank
notebooks. Three figures, each from interleaved pairs (see ``timing.py``):

- ``grade_600_sandboxed``: seconds for the whole class with the bubblewrap sandbox
  required (median of the pairs' coursekit runs; every run starts from an empty
  results cache);
- ``nbgrader_vs_coursekit_per_notebook``: how many times longer `nbgrader
  autograde` (a Jupyter kernel per notebook) takes per notebook, on a sample of
  BENCH_NBGRADER_STUDENTS students (default 2) x 6 exercises, timed alternately
  with the class run;
- ``grade_600_cpu_seconds``: the CPU time the class run took in all (grader,
  helper and every notebook's process), median over the runs: on a shared machine
  the wall clock says how busy the machine was, this says what the grading costs
  (two idle cores give at most 120 CPU seconds a minute);
- ``sandbox_overhead``: the first exercise's 100 notebooks graded with the sandbox
  required against the same without it.

BENCH_GRADING_PAIRS (default 3) sets the number of pairs.
"""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursekit.grading import grade_folder, read_notebook, runner
from coursekit.grading.notebooks import nbgrader_meta

from .timing import interleaved, pairs_note

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = 100


def _class(folder, count, exercises):
    """`count` students; student k answers the first k mod 5 fifths of each exercise's answer cells."""
    for name in exercises:
        solution = read_notebook(ROOT / "solutions" / f"{name}.ipynb")
        released = read_notebook(ROOT / "exercises" / f"{name}.ipynb")
        answers = {nbgrader_meta(c).get("grade_id"): c.source for c in solution.cells}
        answer_ids = [nbgrader_meta(c)["grade_id"] for c in released.cells
                      if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
        for number in range(count):
            notebook = nbformat.from_dict(released)
            answered = set(answer_ids[:len(answer_ids) * (number % 5) // 4])
            for cell in notebook.cells:
                if nbgrader_meta(cell).get("grade_id") in answered:
                    cell.source = answers[nbgrader_meta(cell)["grade_id"]]
            (folder / f"student{number:03d}").mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, folder / f"student{number:03d}" / f"{name}.ipynb")


def _nbgrader(base, exercises, students):
    """A callable that runs `nbgrader autograde` on `students` x `exercises`; and the notebook count."""
    course = base / "course"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    run = lambda *args: subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=course, env=env,  # noqa: E731
                                       capture_output=True, text=True, check=True)
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.db_url = 'sqlite:///gradebook.db'\n"
        "c.CourseDirectory.course_id = 'bench'\n")
    for name in exercises:
        (course / "source" / name).mkdir()
        shutil.copy(ROOT / "solutions" / f"{name}.ipynb", course / "source" / name)
        run("generate_assignment", name, "--force")
        for number in range(students):
            student = f"student{number:03d}"
            target = course / "submitted" / student / name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(base / "class" / student / f"{name}.ipynb", target)

    def autograde():
        for name in exercises:
            run("autograde", name, "--force")

    return autograde, students * len(exercises)


def run():
    exercises = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    pairs = int(os.environ.get("BENCH_GRADING_PAIRS", "3"))
    sample = int(os.environ.get("BENCH_NBGRADER_STUDENTS", "2"))
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _class(base / "class", STUDENTS, exercises)
        total = STUDENTS * len(exercises)
        runs, cpu = [], []

        def grade(sandbox="required", exercise=None):
            out = base / f"out{len(runs)}"
            before = _cpu_seconds()
            rows = grade_folder(base / "class", out, ROOT / "solutions", progress=False, sandbox=sandbox,
                                exercise=exercise).rows
            if exercise is None:
                cpu.append(_cpu_seconds() - before)
            runs.append(out)
            shutil.rmtree(out)
            bad = [r for r in rows if r.status.value != "ok"]
            assert not bad, bad[:3]

        try:
            nbgrader, sampled = _nbgrader(base, exercises, sample)
        except (subprocess.CalledProcessError, FileNotFoundError) as error:
            nbgrader, sampled = None, 0
            reason = getattr(error, "stderr", "") or str(error)
        if nbgrader is not None:
            # A pair: the class with coursekit, the sample with nbgrader, each per notebook.
            result = interleaved(lambda: grade(), nbgrader, pairs=pairs, warmup=0)
            per_ours, per_theirs = result["candidate"] / total, result["reference"] / sampled
            figures.append({"name": "grade_600_sandboxed", "value": result["candidate"], "target": "<= 60",
                            "unit": "s", "note": f"{total} notebooks, {os.cpu_count()} cores; median of "
                                                 f"{pairs} runs interleaved with nbgrader"})
            # Each pair's ratio compares the totals; per notebook, scale by the counts.
            figures.append({"name": "nbgrader_vs_coursekit_per_notebook", "value": total / (sampled * result["ratio"]),
                            "target": "info", "unit": "x slower (nbgrader)",
                            "note": f"{pairs_note(result, 's', 1)} (class of {total} vs nbgrader on {sampled}); "
                                    f"{per_ours:.3f} vs {per_theirs:.2f} s per notebook"})
        else:
            seconds = []
            for _ in range(pairs):
                start = time.perf_counter()
                grade()
                seconds.append(time.perf_counter() - start)
            seconds.sort()
            figures.append({"name": "grade_600_sandboxed", "value": seconds[len(seconds) // 2], "target": "<= 60",
                            "unit": "s", "note": f"{total} notebooks, {os.cpu_count()} cores"})
            figures.append({"name": "nbgrader_vs_coursekit_per_notebook", "value": None, "target": "info",
                            "unit": "x slower (nbgrader)",
                            "note": f"nbgrader autograde failed ({reason.strip()[-200:]}); "
                                    "issue 18 measured about 2.7 s per notebook"})
        figures.append({"name": "grade_600_cpu_seconds", "value": statistics.median(cpu), "target": "<= 120",
                        "unit": "CPU s", "note": f"{total} notebooks, sandboxed; grader, helper and notebooks; "
                                                 f"median of {len(cpu)} runs"})
        overhead = interleaved(lambda: grade("required", exercises[0]), lambda: grade("off", exercises[0]),
                               pairs=pairs, warmup=0)
        figures.append({"name": "sandbox_overhead", "value": overhead["ratio"], "target": "info",
                        "unit": "x (sandboxed / not)",
                        "note": f"{STUDENTS} notebooks of {exercises[0]}; {pairs_note(overhead, 's', 1)}"})
    return figures


def _cpu_seconds():
    """CPU time of this process, of the processes it has waited for, and of every helper and
    notebook of the runs (which bubblewrap hides from getrusage)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage) + runner.cpu_seconds()
