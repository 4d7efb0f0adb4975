"""The records that flow through grading, in one direction: submission -> job -> outcome -> row.

- :class:`Submission`: what the folder scan found for one student and exercise
  (the notebook to grade, or none, and how it was chosen);
- :class:`Job`: the code cells to run for it, twice: once with the visible tests
  only (its messages become feedback) and once with the hidden tests too (only
  its pass/fail counts);
- :class:`Outcome`: what grading those bytes gave (status, per-question
  :class:`Score`, notes), the unit the result cache stores;
- :class:`Row`: one line of ``grades.csv`` and one feedback page: the student
  and exercise from the folder scan, joined with an outcome.

:class:`Status` holds every status's name and meaning, once.

Used in: ``coursekit grade``; the README's status table lists :class:`Status`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

__all__ = ["Job", "Outcome", "Report", "Row", "Score", "Status", "Submission"]


class Status(Enum):
    """How grading one submission ended: the text in ``grades.csv`` and what it means."""

    OK = ("ok", "graded: every cell up to the last test ran (failing tests simply earn no points)")
    NEEDS_REVIEW = ("needs-review", "the notebook could not be matched to the exercise with certainty: "
                                    "grade it by hand (the notes say why)")
    TAMPERED = ("tampered", "the notebook changed the machinery the tests rely on: points withheld for review")
    INVALID_NOTEBOOK = ("invalid-notebook", "the file is not valid JSON or not a Jupyter notebook")
    NO_SUBMISSION = ("no-submission", "no notebook for this exercise was found in the student's submission")
    KERNEL_DIED = ("kernel-died", "the notebook ended its own process (os._exit, a crash) before the end, "
                                  "or wrote to the grader's channel what it did not compute; "
                                  "tests before it keep their points")
    TIMEOUT = ("timeout", "a cell, or the whole notebook, ran past its time limit; it was stopped")
    OUT_OF_MEMORY = ("out-of-memory", "a cell used more memory than allowed")

    def __new__(cls, text, meaning):
        member = object.__new__(cls)
        member._value_ = text
        member.meaning = meaning
        return member

    def __str__(self):
        return self.value

    @property
    def retryable(self) -> bool:
        """Failures a busy machine can cause: ``--retry-failed`` runs them again."""
        return self in (Status.KERNEL_DIED, Status.TIMEOUT, Status.OUT_OF_MEMORY)


@dataclass(frozen=True)
class Score:
    """One graded question: points earned (None: to grade by hand), maximum, message to the student."""

    grade_id: str
    max: float
    points: float | None
    message: str | None = None  # None when the test passed
    hand: bool = False  # points given by hand (coursekit.grading.hand); message is the comment

    @property
    def by_hand(self) -> bool:
        """Still to grade by hand: no points yet."""
        return self.points is None


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one exercise, as the folder scan found it.

    The student id comes from the submissions folder (a folder or an LMS file
    name), never from inside a file.
    """

    student: str
    exercise: str
    path: Path | None  # None: nothing was handed in for this exercise
    notes: tuple[str, ...] = ()  # how it was chosen among candidates, LMS remarks


@dataclass(frozen=True)
class Job:
    """What to execute for one submission: the same cells with and without hidden tests.

    ``tests`` maps each autograded question to the index of its test cell in both lists.
    ``full`` is None when the exercise has no hidden tests (one run is then enough).
    """

    submission: Submission
    key: str  # the result cache's key for these bytes
    visible: tuple[str, ...]
    full: tuple[str, ...] | None
    tests: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What grading one notebook's bytes gave: depends on nothing but those bytes, the
    solutions, the grader's environment and settings, so the cache may keep it."""

    status: Status
    scores: tuple[Score, ...]
    notes: tuple[str, ...] = ()
    sandbox: str = ""  # "bubblewrap", "off" (auto fell back, or turned off), "" (not run)
    tampering: tuple[str, ...] = ()  # what the integrity checks found (status TAMPERED)

    def to_json(self) -> dict:
        return {"status": self.status.value, "notes": list(self.notes), "sandbox": self.sandbox,
                "tampering": list(self.tampering),
                "scores": [[s.grade_id, s.max, s.points, s.message] for s in self.scores]}

    @classmethod
    def from_json(cls, data) -> Outcome:
        """Raises ValueError, TypeError or KeyError on anything malformed."""
        scores = []
        for grade_id, maximum, points, message in data["scores"]:
            if not (isinstance(grade_id, str) and isinstance(maximum, (int, float))
                    and (points is None or isinstance(points, (int, float)))
                    and (message is None or isinstance(message, str))):
                raise TypeError("malformed score")
            scores.append(Score(grade_id, float(maximum), None if points is None else float(points), message))
        notes, sandbox, tampering = data["notes"], data["sandbox"], data["tampering"]
        if not all(isinstance(note, str) for note in [*notes, sandbox, *tampering]):
            raise TypeError("malformed notes")
        return cls(Status(data["status"]), tuple(scores), tuple(notes), sandbox, tuple(tampering))


@dataclass(frozen=True)
class Row:
    """One student's result for one exercise: a line of ``grades.csv`` and a feedback page."""

    student: str
    exercise: str
    status: Status
    scores: tuple[Score, ...]
    notes: tuple[str, ...] = ()
    reused: bool = False  # taken from the result cache, not run in this run
    sandbox: str = ""  # how its notebook ran: see Outcome.sandbox
    notebook: str = ""  # a digest of the graded notebook's bytes, which hand grades are tied to
    file: str = ""  # the graded notebook's path in the submissions folder

    @classmethod
    def join(cls, submission: Submission, outcome: Outcome, reused=False) -> Row:
        return cls(submission.student, submission.exercise, outcome.status, outcome.scores,
                   submission.notes + outcome.notes, reused, outcome.sandbox)

    @property
    def total(self) -> float:
        return sum(s.points or 0.0 for s in self.scores)

    @property
    def max(self) -> float:
        return sum(s.max for s in self.scores)

    def score(self, grade_id) -> Score:
        return next(s for s in self.scores if s.grade_id == grade_id)


@dataclass
class Report:
    """What ``grade_folder`` did: the rows written, and what the instructor should know."""

    rows: list[Row]
    ran: int = 0  # notebooks executed in this run (the rest came from the cache)
    dropped: list[str] = field(default_factory=list)  # students in the last grades.csv, gone from the folder
    ignored: list[str] = field(default_factory=list)  # files in the folder that belong to no student
    not_graded: int = 0  # rows of other exercises (with --exercise) that have no cached result yet
    sandbox: str = "bubblewrap"  # how this run's notebooks ran: "bubblewrap" or "off"
    unsandboxed_because: str = ""  # why not, when "off"
    to_grade_by_hand: int = 0  # questions listed in OUT/to-grade-by-hand.csv
    hand_grades_left_out: str | None = None  # hand grades an earlier run applied and this one was not given
    hand_grades: str | None = None  # the hand-grades file this run applied
