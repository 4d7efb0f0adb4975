"""The `coursekit` command: release exercises and grade submissions.

    coursekit release [--solutions solutions] [--out exercises]
    coursekit grade SUBMISSIONS --out OUT [--timeout 30] [--jobs N] [--memory 2048] [--exercise NAME]
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
    grade.add_argument("--memory", type=_positive(int), default=2048, help="MB per notebook (2048)")
    grade.add_argument("--exercise", default=None, help="grade only this exercise (e.g. 01_convolution)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")

    args = parser.parse_args(argv)
    from coursekit import grading

    try:
        if args.command == "release":
            for path in grading.release_folder(args.solutions, args.out):
                print(f"wrote {path}")
            return 0
        rows = grading.grade_folder(args.submissions, args.out, args.solutions, cell_timeout=args.timeout,
                                    jobs=args.jobs, memory_mb=args.memory, progress=not args.quiet,
                                    exercise=args.exercise)
    except (FileNotFoundError, ValueError, grading.NotebookError) as error:
        print(f"coursekit {args.command}: error: {error}", file=sys.stderr)
        return 2
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"graded {len(rows)} submissions ({summary}); wrote {os.path.join(args.out, 'grades.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
