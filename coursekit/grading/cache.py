"""The result cache: the :class:`Outcome` of grading each notebook's bytes, in ``OUT/.results``.

An entry's key is a hash of everything its outcome depends on: the submission's
bytes, the whole solution notebook, the grader's code and environment (every file
of the installed ``coursekit``, and the NumPy, SciPy, IPython and Python
versions) and the grading settings. A change to any of them is a different key,
so a stale entry is never used. Failures (timeouts, crashes) are kept like any
other outcome; ``--retry-failed`` runs them again.

Nothing in an entry says whose it is: the folder scan decides which student a
notebook belongs to, and the entry only stands for those bytes. Each entry is
also signed (HMAC-SHA256) with a secret created in the cache folder, which no
notebook's sandbox can see: an entry that was written, edited or copied by
anyone else fails its check and is graded again. (Without the sandbox, a
notebook runs as the grader's user and could read the secret: see the README.)

Used in: ``coursekit grade``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .records import Outcome
from .writers import atomic_write

__all__ = ["GRADER_VERSION", "ResultCache", "environment", "package_fingerprint"]

GRADER_VERSION = "3"  # 3: outcomes say how they ran (sandbox) and what tampering was seen
_MAX_ENTRY_BYTES = 1 << 20


def package_fingerprint(folder=None) -> str:
    """sha256 over every file of a package folder (coursekit's by default), names included."""
    if folder is None:
        return _coursekit_fingerprint()
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _coursekit_fingerprint():
    import coursekit

    return package_fingerprint(Path(coursekit.__file__).parent)


def environment() -> dict:
    """What, besides the submission and the solution, decides a grade."""
    versions = {}
    for distribution in ("numpy", "scipy", "ipython"):
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = None
    return {"grader": GRADER_VERSION, "coursekit": package_fingerprint(), "python": sys.version.split()[0],
            **versions}


class ResultCache:
    """Outcomes by key, in `folder`; `settings` (time and memory limits, sandbox mode, ...)
    are part of every key."""

    def __init__(self, folder, settings: dict):
        self.folder = Path(folder)
        self.context = json.dumps({"environment": environment(), "settings": settings}, sort_keys=True)
        self._secret = self._load_secret()

    def key(self, data: bytes, exercise) -> str:
        """The key for grading these submission bytes against this exercise."""
        material = json.dumps({"submission": hashlib.sha256(data).hexdigest(), "solution": exercise.digest,
                               "exercise": exercise.name, "context": self.context}, sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    def load(self, key: str) -> Outcome | None:
        """The outcome saved under `key`, or None when there is none or it fails its check."""
        path = self._path(key)
        try:
            if path.stat().st_size > _MAX_ENTRY_BYTES:
                return None
            entry = json.loads(path.read_bytes())
            if not hmac.compare_digest(str(entry["mac"]), self._mac(key, entry["outcome"])):
                return None
            return Outcome.from_json(entry["outcome"])
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save(self, key: str, outcome: Outcome):
        data = outcome.to_json()
        atomic_write(self._path(key), json.dumps({"outcome": data, "mac": self._mac(key, data)}))

    def release(self, solution_digest: str, make):
        """The released notebook (its JSON text) of the solution with this digest.

        Made by `make` (nbgrader's preprocessors, 2 s with their import) the first time,
        then kept here, signed like an outcome, for as long as the solution, coursekit
        and nbgrader stay the same.
        """
        try:
            nbgrader = metadata.version("nbgrader")
        except metadata.PackageNotFoundError:
            nbgrader = None
        key = hashlib.sha256(json.dumps({"release": solution_digest, "nbgrader": nbgrader,
                                         "coursekit": package_fingerprint()}).encode()).hexdigest()
        path = self.folder / "releases" / f"{key}.json"
        try:
            if path.stat().st_size <= _MAX_ENTRY_BYTES:
                entry = json.loads(path.read_bytes())
                if hmac.compare_digest(str(entry["mac"]), self._mac(key, entry["notebook"])):
                    return entry["notebook"]
        except (OSError, ValueError, TypeError, KeyError):
            pass
        text = make()
        atomic_write(path, json.dumps({"notebook": text, "mac": self._mac(key, text)}))
        return text

    def _path(self, key):
        return self.folder / key[:2] / f"{key}.json"

    def _mac(self, key, data) -> str:
        message = key.encode() + b"\n" + json.dumps(data, sort_keys=True).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _load_secret(self) -> bytes:
        path = self.folder / ".secret"
        try:
            secret = bytes.fromhex(path.read_text().strip())
            if len(secret) >= 32:
                return secret
        except (OSError, ValueError):
            pass
        secret = secrets.token_bytes(32)  # a new secret: every earlier entry is graded again
        atomic_write(path, secret.hex(), mode=0o600)
        return secret
