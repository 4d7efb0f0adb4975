"""Finding each student's notebook for each exercise in a folder of submissions.

Student ids come from the folder's layout, never from inside a file:

- one folder per student (``ada/01_convolution.ipynb``, at any depth, as
  nbgrader's ``submitted/`` or a zip of downloads has them);
- a Moodle export: ``Full Name_12345_assignsubmission_file/01_convolution.ipynb``
  (Moodle 4.1 on; earlier versions end the folder's name with ``_``), or
  ``Full Name_12345_assignsubmission_file_01_convolution.ipynb``, one flat file;
  every folder of one participant (``..._file``, ``..._onlinetext``) is one
  student, ``Full Name_12345``;
- a Canvas export, one flat folder: ``doejane_12345_67890_01_convolution.ipynb``,
  ``doejane_LATE_12345_67890_01_convolution.ipynb`` (user id, then file id),
  and Canvas's renamed re-uploads ``..._01_convolution-1.ipynb``; the student is
  ``doejane_12345``;
- for a single exercise, a flat folder of ``<student>.ipynb``.

A student may hold several notebooks that could be one exercise: an exact name,
renamed copies ("Copy of 01_convolution.ipynb", "01_convolution (1).ipynb",
"01_convolution-Copy1.ipynb"), or a notebook named otherwise whose test cells are
the exercise's. Checkpoints (``.ipynb_checkpoints/``, ``*-checkpoint.ipynb``),
hidden folders, macOS ``__MACOSX``/``._*`` files and symbolic links are never
candidates. The one graded is, in order: a readable notebook before an
unreadable one; one with answers before one that is the release as given; an
exact name before a renamed copy before a notebook found by its content; the
newest (modification time, then copy number). The row's note names every
candidate and the one graded.

Used in: ``coursekit grade``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .assembly import tests_found
from .notebooks import NotebookError, parse_notebook, unanswered
from .records import Submission

__all__ = ["find_submissions"]

_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?:_(?P<late>late))?_(?P<user>\d+)_(?P<file_id>\d+)"
                     r"(?:_(?P<late_after>late))?_(?P<file>.+)$", re.IGNORECASE)
# Moodle 4.1 and later name a participant's folder "Full Name_12345_assignsubmission_file",
# earlier versions "..._file_"; a flat export puts the file's own name after that underscore.
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?:_(?P<file>.*))?$")
_CANVAS_REUPLOAD = re.compile(r"^(?P<stem>.+)-(?P<number>\d+)$")


@dataclass(frozen=True)
class _File:
    """A notebook a student handed in: where it is, how to call it, the name it was given."""

    path: Path
    shown: str  # the path inside the student's folder, or the LMS export's file name
    stem: str  # the file name the student gave it, without LMS prefixes or ".ipynb"
    canvas: bool = False
    late: bool = False


def find_submissions(submissions_dir, exercises, single=None):
    """One Submission per (student, exercise), including those with nothing handed in.

    Parameters
    ----------
    submissions_dir : str or path
    exercises : dict of str -> Exercise
        Every exercise a notebook may belong to.
    single : str, optional
        The one exercise being graded, which allows a flat folder of ``<student>.ipynb``.

    Returns
    -------
    submissions : list of Submission
        Sorted by student, then exercise.
    ignored : list of str
        Notebooks in the folder that belong to no student.
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"the submissions folder {root} does not exist")
    students: dict[str, list[_File]] = {}
    plain, folders = [], False
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "__MACOSX")) or entry.is_symlink():
            continue
        if entry.is_dir():
            folders = True
            moodle = _MOODLE.match(entry.name)
            student = f"{moodle['name']}_{moodle['id']}" if moodle and not moodle["file"] else entry.name
            students.setdefault(student, []).extend(_notebooks_in(entry))
        elif entry.suffix == ".ipynb":
            moodle, canvas = _MOODLE.match(entry.name), _CANVAS.match(entry.name)
            # Canvas's prefix first: after it comes the name the student gave the file, which
            # may look like a Moodle export's and name someone else (a twenty-fifth red team).
            # A Moodle name has no Canvas prefix: "assignsubmission" follows its one number.
            if canvas:
                late = bool(canvas["late"] or canvas["late_after"])
                students.setdefault(f"{canvas['name']}_{canvas['user']}", []).append(
                    _File(entry, entry.name, Path(canvas["file"]).stem, canvas=True, late=late))
            elif moodle and moodle["file"]:
                stem = Path(moodle["file"]).stem
                students.setdefault(f"{moodle['name']}_{moodle['id']}", []).append(_File(entry, entry.name, stem))
            else:
                plain.append(entry)
    if plain and not students:
        if single is None:
            raise ValueError(
                f"{root} holds notebooks directly, which works only with a single exercise; "
                f"there are {len(exercises)} ({', '.join(exercises)}): use one folder per student, "
                "or grade one exercise with --exercise")
        return [Submission(p.stem, single, p) for p in plain], []
    why = "beside the student folders" if folders else "not named as an LMS export names a student's file"
    ignored = [f"{p.name} ({why})" for p in plain]

    submissions = []
    for student in sorted(students):
        chosen = _choose(students[student], exercises)
        for name in exercises:
            path, notes = chosen.get(name, (None, ()))
            submissions.append(Submission(student, name, path, tuple(notes)))
    return submissions, ignored


def _notebooks_in(folder: Path) -> list[_File]:
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        inside = path.relative_to(folder)
        if any(part.startswith((".", "__MACOSX")) for part in inside.parts) or path.stem.endswith("-checkpoint"):
            continue  # checkpoints, hidden folders, macOS resource forks
        if path.is_symlink() or any(p.is_symlink() for p in path.parents if folder in p.parents):
            continue
        moodle = _MOODLE.match(path.name)
        stem = Path(moodle["file"]).stem if moodle and moodle["file"] else path.stem
        found.append(_File(path, inside.as_posix(), stem))
    return found


@dataclass
class _Candidate:
    file: _File
    naming: int  # 0 exact name, 1 renamed copy, 2 found by its content
    copy_number: int
    mtime: float = 0.0
    unreadable: bool = False
    unanswered: bool = False

    def rank(self):
        return (self.unreadable, self.unanswered, self.naming, -self.mtime, -self.copy_number, self.file.shown)

    def describe(self) -> str:
        parts = ["unreadable" if self.unreadable else "unanswered: the release as given"
                 if self.unanswered else "with answers",
                 ("exact name", "renamed copy", "named otherwise, its test cells are this exercise's")[self.naming],
                 f"saved {datetime.fromtimestamp(self.mtime):%Y-%m-%d %H:%M:%S}"]
        return f"{self.file.shown!r} ({'; '.join(parts)})"


def _choose(files, exercises) -> dict[str, tuple[Path, list[str]]]:
    """For each exercise the student has a candidate for: the notebook to grade and its notes."""
    by_exercise: dict[str, list[_Candidate]] = {}
    unnamed = []
    for file in files:
        match = _naming(file, exercises)
        if match is None:
            unnamed.append(file)
        else:
            name, naming, number = match
            by_exercise.setdefault(name, []).append(_Candidate(file, naming, number))
    for file in unnamed:  # "Untitled.ipynb", "homework.ipynb": identified by their test cells
        notebook = _read(file.path)
        if notebook is None:
            continue
        shares = {name: _share_of_tests(notebook, exercise) for name, exercise in exercises.items()}
        best = max(shares, key=shares.get)
        if shares[best] >= 0.5:
            by_exercise.setdefault(best, []).append(_Candidate(file, 2, 0))

    chosen = {}
    for name, candidates in by_exercise.items():
        for candidate in candidates:
            try:
                candidate.mtime = candidate.file.path.stat().st_mtime
            except OSError:
                candidate.unreadable = True
        if len(candidates) > 1:
            for candidate in candidates:
                notebook = _read(candidate.file.path)
                candidate.unreadable = candidate.unreadable or notebook is None
                candidate.unanswered = notebook is not None and unanswered(notebook, exercises[name].released)
        candidates.sort(key=_Candidate.rank)
        best = candidates[0]
        notes = []
        if len(candidates) > 1:
            others = "; ".join(c.describe() for c in candidates[1:])
            notes.append(f"{len(candidates)} notebooks could be {name}: graded {best.describe()}; not graded: {others}")
        elif best.naming == 1:
            notes.append(f"graded {best.file.shown!r}, named differently from {name}.ipynb")
        elif best.naming == 2:
            notes.append(f"graded {best.file.shown!r}: its name matches no exercise, its test cells are {name}'s")
        if best.file.late:
            notes.append("Canvas marked this submission LATE")
        chosen[name] = (best.file.path, notes)
    return chosen


def _naming(file: _File, exercises):
    """(exercise, 0 exact or 1 renamed, copy number), or None when the name matches no exercise."""
    stem = file.stem
    if file.canvas:  # Canvas renames a re-upload of the same file name "name-1", "name-2"
        reupload = _CANVAS_REUPLOAD.match(stem)
        if reupload and reupload["stem"] in exercises:
            return reupload["stem"], 0, int(reupload["number"])
    if stem in exercises:
        return stem, 0, 0
    # The longest name first, so that "01_convolution_2" is not taken for "01_conv".
    for name in sorted(exercises, key=len, reverse=True):
        if name.lower() in stem.lower():
            rest = stem.lower().replace(name.lower(), " ")
            numbers = re.findall(r"\d+", rest)
            return name, 1, int(numbers[-1]) if numbers else 0
    return None


def _read(path):
    try:
        return parse_notebook(path.read_bytes(), path.name)
    except (OSError, NotebookError):
        return None


def _share_of_tests(notebook, exercise) -> float:
    found, total = tests_found(notebook, exercise.solution, exercise.released)
    return found / total if total else 0.0
