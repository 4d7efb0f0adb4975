"""Everything the grader writes: ``grades.csv``, ``totals.csv``, feedback pages (and Moodle's zips of
them), ``summary.png``, and the
one :func:`atomic_write` that every file goes through (cache entries and released
notebooks included), so that an interrupted run leaves each file old or new, never part.

Used in: ``coursekit grade`` and ``coursekit release``.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import secrets
import zipfile
from pathlib import Path

from .records import Row, Status

__all__ = ["atomic_write", "from_spreadsheet", "to_spreadsheet", "write_csv", "write_page", "write_summary",
           "write_moodle_feedback", "write_totals"]


def atomic_write(path, data, mode=0o644):
    """Write `data` (str or bytes) to `path` so that readers see the old file or the new one.

    The temporary file sits next to the target and is removed if anything, Ctrl-C
    included, interrupts the write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(descriptor, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


#: The first characters that make a spreadsheet read a CSV cell as a formula (or, for the
#: apostrophe, as the mark that hides one).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def to_spreadsheet(text):
    """`text` as a CSV cell that a spreadsheet shows as text and never runs as a formula.

    A student chooses the name in their LMS profile, which becomes their id here, and a
    grader's note may quote a file name they chose. A cell that starts like a formula
    (``=HYPERLINK(...)``, ``+``, ``-``, ``@``, a tab or a carriage return) would run when the
    instructor opens ``grades.csv`` in a spreadsheet; an apostrophe in front makes it text.
    :func:`from_spreadsheet` undoes it.
    """
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def from_spreadsheet(text):
    """The text :func:`to_spreadsheet` wrote, whether a spreadsheet saved the cell back with
    its apostrophe or without it."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


def write_csv(path, rows: list[Row], exercises):
    """``grades.csv``: a row per student and exercise, a column per graded question.

    A question graded by hand (or awaiting review) has an empty cell, not a zero. The
    ``sandbox`` column says how the notebook ran: ``bubblewrap``, or ``off`` when
    ``--sandbox auto`` found no working sandbox (its notes say why) or it was turned off.
    ``to_grade_by_hand`` is the points still to grade by hand, which ``max`` includes and
    ``total`` does not yet; ``file`` is the graded notebook's path in the submissions folder.
    Student ids, notes and files are written with :func:`to_spreadsheet`.
    """
    columns = []
    for exercise in exercises.values():
        columns += [c.grade_id for c in exercise.graded if c.grade_id not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "exercise", *columns, "total", "max", "to_grade_by_hand", "status", "sandbox",
                     "notes", "file"])
    for row in rows:
        points = {s.grade_id: s.points for s in row.scores}
        cells = ["" if points.get(column) is None else _number(points[column]) for column in columns]
        writer.writerow([to_spreadsheet(row.student), row.exercise, *cells, _number(row.total),
                         _number(row.max), _number(_pending(row)), row.status.value, row.sandbox,
                         to_spreadsheet("; ".join(row.notes)), to_spreadsheet(row.file)])
    atomic_write(path, buffer.getvalue())


def write_totals(path, rows: list[Row], exercises):
    """``totals.csv``: a row per student, their points per exercise and in all, and what to check.

    The table a learning platform's gradebook takes: one line per student, one column per
    exercise that someone has a result for (``grades.csv`` has a line per student and
    exercise). An exercise's cell is empty until its points are final: not handed in, no
    result in this folder, not readable, or points still to give by hand (withheld for
    review included), so that a gradebook fed with it records no zero that is not one, and
    the instructor's own rule for missing work decides. ``total`` is the points given so far
    and ``max`` those of every exercise in the table, as in ``grades.csv``;
    ``to_grade_by_hand`` is the points still to give by hand (a notebook that could not be
    read has none). ``to_check`` names every exercise that needs the instructor's look:
    not handed in, unreadable, a status other than ok, or points to give by hand.
    """
    present = {row.exercise for row in rows}  # an exercise nobody has a line for is not this class's
    names = [name for name in exercises if name in present] + sorted(present - set(exercises))
    most = {row.exercise: row.max for row in rows}
    students = {}
    for row in rows:
        students.setdefault(row.student, {})[row.exercise] = row
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *names, "total", "max", "to_grade_by_hand", "to_check"])
    for student, own in students.items():
        cells, to_check = [], []
        for name in names:
            row = own.get(name)
            if row is None or row.status is Status.NO_SUBMISSION:
                cells.append("")
                to_check.append(f"{name}: {'not handed in' if row else 'no result'}")
                continue
            pending = 0 if row.status is Status.INVALID_NOTEBOOK else _pending(row)
            final = row.status is not Status.INVALID_NOTEBOOK and not pending
            cells.append(_number(row.total) if final else "")
            reason = [] if row.status is Status.OK else [row.status.value]
            if pending:
                reason.append(f"{_number(pending)} points to grade by hand")
            if reason:
                to_check.append(f"{name}: {', '.join(reason)}")
        handed_in = [r for r in own.values() if r.status not in (Status.NO_SUBMISSION, Status.INVALID_NOTEBOOK)]
        writer.writerow([to_spreadsheet(student), *cells, _number(sum(r.total for r in own.values())),
                         _number(sum(most[name] for name in names)), _number(sum(map(_pending, handed_in))),
                         to_spreadsheet("; ".join(to_check))])
    atomic_write(path, buffer.getvalue())


def _pending(row):
    """The points of `row` still to grade by hand."""
    return sum(s.max for s in row.scores if s.by_hand)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; vertical-align: top; }
.pass { color: #1a7f37; } .fail { color: #b42318; } .status { font-weight: 600; }
code { background: #f4f4f4; padding: 0 .2rem; }
"""


def write_page(path, row: Row, titles=None, heading=None):
    """One student's feedback for one exercise: total, status, and per question the points
    and the message of the failing test.

    Messages come from the run without hidden tests, or are the instructor's own
    text (for a hidden test), so no hidden test's source can reach the page. `titles`
    (:func:`coursekit.grading.notebooks.question_titles`) names the questions as the notebook does; their ids
    follow, for reference. `heading` is the exercise's title (the notebook's own), above its id.
    """
    esc, titles = html.escape, titles or {}
    lines = [
        "<!DOCTYPE html>",
        f"<html lang='en'><head><meta charset='utf-8'><title>{esc(row.exercise)}: {esc(row.student)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{esc(heading or row.exercise)}</h1>",
        *([f"<p><small><code>{esc(row.exercise)}</code></small></p>"] if heading else []),
        f"<p>Student: <b>{esc(row.student)}</b></p>",
    ]
    if row.status is Status.NO_SUBMISSION:
        lines.append("<p class='status'>No notebook for this exercise was found in your submission, "
                     "so nothing was graded.</p>")
    elif row.status is Status.INVALID_NOTEBOOK:
        # One plain sentence and what to do, not a column of failed questions (an instructor's review).
        lines.append("<p class='status'>Your notebook for this exercise could not be opened, so nothing was "
                     "graded: the file is not a complete Jupyter notebook (it may be empty, or cut off while "
                     "it was saved or uploaded), or it is too large (clear its outputs first: Edit, then "
                     "Clear all outputs). Open it in Jupyter or Colab, save it, download it again (File, "
                     "then Download .ipynb) and hand it in again.</p>")
    else:
        by_hand = sum(s.max for s in row.scores if s.by_hand)
        if by_hand:
            lines.append(f"<p>Score: <b>{_number(row.total)} / {_number(row.max - by_hand)}</b> so far; "
                         f"{_number(by_hand)} more points are still to be graded by hand.</p>")
        else:
            lines.append(f"<p>Score: <b>{_number(row.total)} / {_number(row.max)}</b></p>")
        if row.status is not Status.OK:  # "ok" tells a student nothing the score does not
            lines.append(f"<p class='status'>Status: {esc(row.status.value)} &mdash; {esc(row.status.meaning)}</p>")
        lines.append("<table><tr><th>question</th><th>points</th><th>result</th></tr>")
        for score in row.scores:
            if score.by_hand:
                points = f"? / {_number(score.max)}"
                result = f"<span>{esc(score.message or 'to grade by hand')}</span>"
            elif score.hand:
                points = f"{_number(score.points)} / {_number(score.max)}"
                result = "<span>graded by hand</span>" + (f": {esc(score.message)}" if score.message else "")
            elif score.message is None:
                points, result = f"{_number(score.points)} / {_number(score.max)}", "<span class='pass'>passed</span>"
            else:
                points = f"{_number(score.points)} / {_number(score.max)}"
                result = f"<span class='fail'>failed</span>: <code>{esc(score.message)}</code>"
            title = titles.get(score.grade_id)
            title = title and re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(title))  # Markdown's code spans
            question = (f"{title}<br><small><code>{esc(score.grade_id)}</code></small>" if title
                        else f"<code>{esc(score.grade_id)}</code>")
            lines.append(f"<tr><td>{question}</td><td>{points}</td><td>{result}</td></tr>")
        lines.append("</table>")
    if row.notes:
        lines.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in row.notes) + "</ul>")
    lines.append("</body></html>")
    atomic_write(path, "\n".join(lines) + "\n")


#: A participant's folder in Moodle's download: "Full Name_12345_assignsubmission_file", with a
#: trailing "_" before Moodle 4.1, or a flat file with its own name after that "_".
_MOODLE_FOLDER = re.compile(r"^(?P<participant>[^_/]+_\d+)_assignsubmission_[a-z]+(?:_|/|$)")


def write_moodle_feedback(folder, rows: list[Row], pages):
    """``moodle/<exercise>.zip``: the feedback pages of the students whose notebooks came from a
    Moodle download, named as Moodle's "Upload multiple feedback files in a zip" reads them.

    Moodle takes the participant from the first part of a path that splits, on ``_``, into a
    full name, a numeric id and a plugin (``Ada Lovelace_12345_assignfeedback_file/...``);
    its downloads already have names with no ``_`` of their own. `pages` maps each row's
    ``(student, exercise)`` to its written page. A zip of an exercise with no such student
    is removed, so that none of an earlier class is uploaded by mistake.
    """
    folder = Path(folder)
    chosen = {}
    for row in rows:
        moodle = _MOODLE_FOLDER.match(row.file)
        if moodle and (row.student, row.exercise) in pages:
            chosen.setdefault(row.exercise, []).append((moodle["participant"], pages[row.student, row.exercise]))
    for exercise, entries in chosen.items():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for participant, page in entries:
                archive.writestr(f"{participant}_assignfeedback_file/{exercise}.html", Path(page).read_bytes())
        atomic_write(folder / f"{exercise}.zip", buffer.getvalue())
    for old in folder.glob("*.zip"):
        if old.stem not in chosen:
            old.unlink()


# Per question, the share of students in each category, and its colour.
_CATEGORIES = (("full points", "#2da44e"), ("partial", "#d4a72c"), ("no points", "#cf222e"),
               ("to grade by hand", "#8c959f"))


def question_counts(rows: list[Row], exercises):
    """[(exercise, grade_id, points, {category: students})] for every graded question."""
    counts = []
    for name, exercise in exercises.items():
        for cell in exercise.graded:
            tally = {label: 0 for label, _ in _CATEGORIES}
            for row in rows:
                if row.exercise != name:
                    continue
                score = row.score(cell.grade_id)
                if score.by_hand:
                    tally["to grade by hand"] += 1
                elif score.points >= score.max:
                    tally["full points"] += 1
                elif score.points > 0:
                    tally["partial"] += 1
                else:
                    tally["no points"] += 1
            counts.append((name, cell.grade_id, cell.points, tally))
    return counts


def write_summary(path, rows: list[Row], exercises):
    """``summary.png``: per question how many students earned full, partial or no points, or
    await grading by hand; and the distribution of totals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    # An exercise nobody handed in is neither a failure nor a score: it is counted apart.
    missing = sum(r.status is Status.NO_SUBMISSION for r in rows)
    rows = [r for r in rows if r.status is not Status.NO_SUBMISSION]
    exercises = {name: ex for name, ex in exercises.items() if any(r.exercise == name for r in rows)}
    counts = question_counts(rows, exercises)
    if not counts or not rows:
        Path(path).unlink(missing_ok=True)  # no plot of an earlier class left behind
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.55 * len(counts) + 2.5),
                                      gridspec_kw={"width_ratios": [3, 2]})
    positions = range(len(counts))
    start = [0] * len(counts)
    for label, colour in _CATEGORIES:
        widths = [tally[label] for _, _, _, tally in counts]
        left.barh(positions, widths, left=start, color=colour, label=label)
        start = [s + w for s, w in zip(start, widths)]
    left.set_yticks(list(positions), [f"{g}\n({p:g} pt)" for _, g, p, _ in counts])
    left.invert_yaxis()
    left.set_xlabel("students")
    left.set_title("Score distribution per question")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=4, fontsize=8, frameon=False)
    # Of the points graded so far: the ones still to grade by hand are not known yet.
    # Notebooks with nothing graded yet (needs review, withheld) are not at 0%: they are left out.
    so_far = [(r, r.max - sum(s.max for s in r.scores if s.by_hand)) for r in rows]
    fractions = [r.total / most for r, most in so_far if most]
    right.hist(fractions, bins=[i / 10 for i in range(11)], color="#0969da", edgecolor="white")
    right.set_xlabel("total / points graded so far\n(points still to grade by hand not counted)")
    right.set_ylabel("notebooks")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    graded = f"{len(rows)} notebook{'s' * (len(rows) != 1)}"
    right.set_title(f"Totals ({graded}; {missing} not handed in)" if missing else f"Totals ({graded})")
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, image.getvalue())


def _number(value):
    return f"{value:g}"
