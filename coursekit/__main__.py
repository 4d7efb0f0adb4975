"""The `coursekit` command: release exercises and grade submissions.

    coursekit release [--solutions solutions] [--out exercises]
    coursekit grade SUBMISSIONS --out OUT [--solutions solutions] [--timeout 30] [--jobs N]
                    [--memory 2048] [--exercise NAME] [--sandbox auto|required|off]
                    [--notebook-timeout SECONDS] [--retry-failed] [--hand-grades CSV] [--quiet]

Ctrl-C stops either cleanly: a one-line message, exit status 130, every output
file as it was before or complete (grading keeps what it finished for next time).
"""

import argparse
import os
import sys


def _configure_process():
    """Grading runs one process per core, each with a single BLAS thread, and draws off-screen.

    This must happen before NumPy loads, which is why coursekit imports its modules
    lazily; it is done in main(), not at import, so that importing this module
    (as pytest's doctest collection does) changes nothing.
    """
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    os.environ.setdefault("MPLBACKEND", "Agg")


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive; got {text}")
        return value

    return parse


def main(argv=None):
    _configure_process()
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="generate exercises/ from solutions/")
    release.add_argument("--solutions", default="solutions", help="folder of solution notebooks")
    release.add_argument("--out", default="exercises", help="folder for the student notebooks")

    grade = commands.add_parser("grade", help="grade a folder of submissions")
    grade.add_argument("submissions", help="one folder per student, or <student>.ipynb files")
    grade.add_argument("--out", required=True, help="where grades.csv, feedback/ and summary.png go")
    grade.add_argument("--solutions", default="solutions", help="folder of solution notebooks")
    grade.add_argument("--timeout", type=_positive(float), default=30.0, help="seconds per cell (30)")
    grade.add_argument("--jobs", type=_positive(int), default=None, help="parallel notebooks (all cores)")
    grade.add_argument("--memory", type=_positive(int), default=2048, help="MB of address space per process of a notebook (2048)")
    grade.add_argument("--exercise", default=None, help="grade only this exercise (e.g. 01_convolution)")
    grade.add_argument("--hand-grades", default=None, metavar="CSV",
                       help="points given by hand: a filled-in copy of OUT/to-grade-by-hand.csv")
    grade.add_argument("--retry-failed", action="store_true",
                       help="run again the notebooks whose stored result is a timeout, crash or out-of-memory")
    grade.add_argument("--sandbox", choices=("auto", "required", "off"), default="auto",
                       help="run each notebook in a bubblewrap sandbox: auto (the default: without it "
                            "where it cannot work, and says so), required, or off")
    grade.add_argument("--notebook-timeout", type=_positive(float), default=None,
                       help="seconds per notebook in all (10 x --timeout)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")

    args = parser.parse_args(argv)
    try:
        from coursekit import grading
        from coursekit.grading.sandbox import SandboxUnavailable

        if args.command == "release":
            for path in grading.release_folder(args.solutions, args.out):
                print(f"wrote {path}")
            return 0
        report = grading.grade_folder(args.submissions, args.out, args.solutions, cell_timeout=args.timeout,
                                      jobs=args.jobs, memory_mb=args.memory, progress=not args.quiet,
                                      exercise=args.exercise, retry_failed=args.retry_failed,
                                      sandbox=args.sandbox, notebook_timeout=args.notebook_timeout,
                                      hand_grades=args.hand_grades)
    except KeyboardInterrupt:
        kept = "results finished so far are kept for the next run; " if args.command == "grade" else ""
        print(f"coursekit {args.command}: interrupted; {kept}no file was left half-written", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, SandboxUnavailable) as error:  # NotebookError is a ValueError
        print(f"coursekit {args.command}: error: {error}", file=sys.stderr)
        return 2
    print(_summary(report, os.path.join(args.out, "grades.csv")))
    return 0


def _summary(report, table):
    """What the instructor needs to know after a run, a line each."""
    counts, missing = {}, 0
    for row in report.rows:
        if row.status.value == "no-submission":  # an exercise not handed in: nothing was graded
            missing += 1
        else:
            counts[row.status.value] = counts.get(row.status.value, 0) + 1
    graded = sum(counts.values())
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    reused = sum(row.reused for row in report.rows)
    line = f"graded {graded} notebook{'s' * (graded != 1)}" + (f" ({statuses})" if statuses else "")
    if missing:
        line += f"; {missing} exercise{'s' * (missing != 1)} not handed in"
    totals = os.path.join(os.path.dirname(table), "totals.csv")
    lines = [f"{line}; {reused} from earlier runs; wrote {table} (a line per exercise) and {totals} "
             "(a line per student)"]
    if report.dropped:
        lines.append(f"dropped from grades.csv, no longer in the submissions folder: {', '.join(report.dropped)}")
    if report.ignored:
        lines.append(f"ignored, not a student's: {', '.join(report.ignored)}")
    unreadable = [f"{row.student} ({row.exercise})" for row in report.rows
                  if row.status.value in ("invalid-notebook", "needs-review")]
    if unreadable:
        listed = ", ".join(unreadable[:10]) + (f" and {len(unreadable) - 10} more" if len(unreadable) > 10 else "")
        lines.append(f"could not be read or matched, so not scored (the notes in grades.csv say why): {listed}")
    if report.sandbox == "off":
        lines.append(f"not sandboxed: {report.unsandboxed_because} (see the sandbox column of grades.csv)")
    left_out = getattr(report, "hand_grades_left_out", None)
    if left_out:
        lines.append(f"an earlier run applied the hand grades in {left_out}; this one was given none, so "
                     f"grades.csv lacks them: run again with --hand-grades {left_out} (or, if they are "
                     f"meant to go, delete {os.path.join(os.path.dirname(table), '.hand-grades')})")
    pending = report.to_grade_by_hand
    if pending:
        todo = os.path.join(os.path.dirname(table), "to-grade-by-hand.csv")
        kept = getattr(report, "hand_grades", None)
        where = (f"copy their lines from {todo} into {kept}, fill in the points and pass it again" if kept else
                 f"fill in the points of a copy of {todo}, kept outside that folder, and pass it")
        lines.append(f"{pending} question{'s' * (pending != 1)} to grade by hand: {where} with --hand-grades")
    if report.not_graded:
        lines.append(f"{report.not_graded} notebooks of other exercises have no result yet: "
                     "grade without --exercise to include them")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
