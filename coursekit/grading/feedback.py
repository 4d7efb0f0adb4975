"""Feedback pages for students and the score summary for the instructor."""

from __future__ import annotations

import html
from pathlib import Path

from ._files import atomic_write

__all__ = ["summary_plot", "write_page"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; vertical-align: top; }
.pass { color: #1a7f37; } .fail { color: #b42318; } .status { font-weight: 600; }
code { background: #f4f4f4; padding: 0 .2rem; }
"""

_STATUS_TEXT = {
    "ok": "graded",
    "invalid-notebook": "the file could not be read as a notebook",
    "missing": "no notebook was handed in",
    "kernel-died": "the notebook crashed its Python process before the end",
    "timeout": "a cell ran longer than the time limit",
    "out-of-memory": "a cell used more memory than allowed",
}


def write_page(path, row):
    """One HTML page: total, status, and per question the points and the failing test's message.

    Only messages reach the page, never test source, so hidden tests stay hidden.
    """
    esc = html.escape
    lines = [
        "<!DOCTYPE html>",
        f"<html lang='en'><head><meta charset='utf-8'><title>{esc(row['exercise'])}: {esc(row['student'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{esc(row['exercise'])}</h1>",
        f"<p>Student: <b>{esc(row['student'])}</b></p>",
        f"<p>Score: <b>{row['total']:g} / {row['max']:g}</b></p>",
        f"<p class='status'>Status: {esc(row['status'])} ({esc(_STATUS_TEXT.get(row['status'], ''))})</p>",
        "<table><tr><th>question</th><th>points</th><th>result</th></tr>",
    ]
    for grade_id, score in row["scores"].items():
        if score["points"] is None:
            result, points = "<span>graded by hand</span>", f"? / {score['max']:g}"
        elif score["message"] is None:
            result, points = "<span class='pass'>passed</span>", f"{score['points']:g} / {score['max']:g}"
        else:
            result = f"<span class='fail'>failed</span>: <code>{esc(score['message'])}</code>"
            points = f"{score['points']:g} / {score['max']:g}"
        lines.append(f"<tr><td>{esc(grade_id)}</td><td>{points}</td><td>{result}</td></tr>")
    lines.append("</table>")
    if row["notes"]:
        lines.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in row["notes"]) + "</ul>")
    lines.append("</body></html>")
    atomic_write(path, "\n".join(lines) + "\n")


def summary_plot(path, rows, exercises):
    """Per question, how many students earned full, partial or no points; and the totals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    questions = [(name, c.grade_id, c.points) for name, ex in exercises.items() for c in ex.graded]
    if not questions or not rows:
        return
    full, some, none = [], [], []
    for name, grade_id, _ in questions:
        earned = [r["scores"][grade_id]["points"] or 0 for r in rows if r["exercise"] == name]
        maxima = [r["scores"][grade_id]["max"] for r in rows if r["exercise"] == name]
        full.append(sum(e >= m for e, m in zip(earned, maxima)))
        none.append(sum(e == 0 for e in earned))
        some.append(len(earned) - full[-1] - none[-1])
    labels = [f"{g}\n({p:g} pt)" for _, g, p in questions]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.55 * len(questions) + 2.5),
                                      gridspec_kw={"width_ratios": [3, 2]})
    positions = range(len(questions))
    left.barh(positions, full, color="#2da44e", label="full points")
    left.barh(positions, some, left=full, color="#d4a72c", label="partial")
    left.barh(positions, none, left=[f + s for f, s in zip(full, some)], color="#cf222e", label="no points")
    left.set_yticks(list(positions), labels)
    left.invert_yaxis()
    left.set_xlabel("students")
    left.set_title("Score distribution per question")
    left.legend(loc="lower right", fontsize=8)
    fractions = [r["total"] / r["max"] if r["max"] else 0 for r in rows]
    right.hist(fractions, bins=[i / 10 for i in range(11)], color="#0969da", edgecolor="white")
    right.set_xlabel("total, fraction of the maximum")
    right.set_ylabel("submissions")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_title(f"Totals ({len(rows)} submissions)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_name(f".{Path(path).name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
