"""Every public function's "Used in:" line names chapters that really use it.

The rule, kept simple and strict:

- A chapter is named by its title (or the title's first words: "Quantization",
  "Pixel-wise metrics", "Encoder-decoder"). Each chapter named must use the function
  in its code cells: ``module.function`` (``from coursekit import module``), or
  ``function`` after ``from coursekit.module import ... function``. An import alone
  does not count.
- "through X" (or "through X and Y") names the functions that call this one: then
  they count as this function in the chapters, and each must really call it.
- "every chapter" alone means all six chapters; "every chapter that/with/whose ..."
  means at least two of them (more than one, or "every" would be the wrong word).
- A line that names no chapter ("Used in: tests and benchmarks.") claims nothing here.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every module with public functions.
MODULES = ["book", "conv", "data", "echo", "encoder_decoder", "lenet", "metrics", "nn", "pixel_classifier", "plotting",
           "pooling", "quantize", "synthetic", "testing", "widgets"]
THROUGH_ONLY = []

#: How docstrings name each chapter, and the chapter's file in book/.
CHAPTERS = {
    "padding, stride and pooling": "padding_stride_pooling",
    "convolution": "convolution",
    "lenet": "lenet",
    "encoder-decoder": "encoder_decoder",
    "quantization": "quantization",
    "pixel-wise metrics": "metrics",
}


def _normalize(text):
    return re.sub(r"\s+", " ", text.replace("\u2013", "-").replace("\u2014", "-")).strip().lower()


def _code_cells(chapter):
    text = (ROOT / "book" / f"{chapter}.md").read_text()
    return "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S))


CODE = {chapter: _code_cells(chapter) for chapter in CHAPTERS.values()}


def chapter_uses(code, module, function):
    """Does this chapter's code call coursekit.<module>.<function>, directly or through its module?"""
    imports = re.findall(rf"^from coursekit\.{module} import (\([^)]*\)|[^\n]*)", code, flags=re.M)
    body = re.sub(r"^(from|import) [^\n(]*(\([^)]*\))?[^\n]*$", "", code, flags=re.M)  # imports removed
    if any(re.search(rf"\b{function}\b", names) for names in imports) and \
            re.search(rf"(?<![.\w]){function}\b", body):
        return True
    module_imported = re.search(rf"^from coursekit import [^\n]*\b{module}\b", code, flags=re.M) or \
        re.search(rf"^import coursekit\.{module}\b", code, flags=re.M)
    return bool(re.search(rf"\bcoursekit\.{module}\.{function}\b", body) or
                (module_imported and re.search(rf"(?<![.\w]){module}\.{function}\b", body)))


def _public_functions():
    for name in MODULES:
        module = importlib.import_module(f"coursekit.{name}")
        for attribute in module.__all__:
            function = getattr(module, attribute)
            if inspect.isfunction(function) and function.__module__ == module.__name__:
                yield name, attribute, function


FUNCTIONS = list(_public_functions())


def used_in(function):
    match = re.search(r"Used in:(.*?)(?:\n\s*\n|$)", inspect.getdoc(function) or "", flags=re.S)
    return None if match is None else _normalize(match.group(1))


def _defining_module(name):
    for module_name in MODULES + THROUGH_ONLY:
        module = importlib.import_module(f"coursekit.{module_name}")
        if name in getattr(module, "__all__", ()):
            return module_name, getattr(module, name)
    raise AssertionError(f"'through {name}': no public coursekit function of that name")


def claims(text):
    """(chapters named, "all" / "several" / None for an "every chapter" phrase, functions named after "through")."""
    through = [name for clause in re.findall(r"\bthrough ([^;()]*)", text)
               for name in re.findall(r"`+(?:\w+\.)*(\w+)`+", clause)]
    remaining = text
    named = []
    for title, chapter in CHAPTERS.items():  # longest titles first, so "convolution" is not found inside another
        if re.search(rf"\b{re.escape(title)}\b", remaining):
            named.append(chapter)
            remaining = re.sub(rf"\b{re.escape(title)}\b", " ", remaining)
    every = None
    if re.search(r"every chapter(?! (that|with|whose|which))", remaining):
        every = "all"
    elif "every chapter" in remaining:
        every = "several"
    return named, every, through


@pytest.mark.parametrize("module, name, function", FUNCTIONS, ids=[f"{m}.{n}" for m, n, _ in FUNCTIONS])
def test_used_in_names_chapters_that_use_the_function(module, name, function):
    text = used_in(function)
    assert text, f"coursekit.{module}.{name} has no 'Used in:' line"
    named, every, through = claims(text)
    callers = [(module, name)]
    for caller in through:
        caller_module, caller_function = _defining_module(caller)
        assert re.search(rf"\b{name}\(", inspect.getsource(caller_function)), \
            f"coursekit.{module}.{name} says it is used through {caller}, which does not call it"
        callers.append((caller_module, caller))

    def used_by(chapter):
        return any(chapter_uses(CODE[chapter], m, f) for m, f in callers)

    wrong = [chapter for chapter in named if not used_by(chapter)]
    assert not wrong, f"coursekit.{module}.{name} says 'Used in: {text}', but {wrong} do not use it"
    users = [chapter for chapter in CODE if used_by(chapter)]
    if every == "all":
        assert len(users) == len(CODE), f"'every chapter', but only {users} use coursekit.{module}.{name}"
    elif every == "several":
        assert len(users) >= 2, f"'every chapter ...', but only {users} use coursekit.{module}.{name}"


def test_the_rule_catches_a_wrong_chapter():
    """The checker itself: quantize is used by the quantization chapter, not the LeNet one."""
    assert chapter_uses(CODE["quantization"], "quantize", "quantize")
    assert not chapter_uses(CODE["lenet"], "quantize", "quantize")
    assert claims("convolution; padding, stride and pooling.") == (["padding_stride_pooling", "convolution"],
                                                                     None, [])
    assert claims("every chapter that shows a radar image (through :func:`show_radar`).") == \
        ([], "several", ["show_radar"])
    assert claims("quantization, through :func:`rain_rate` and ``coursekit.data.load_radar``.")[2] == \
        ["rain_rate", "load_radar"]
    assert chapter_uses("from coursekit.metrics import iou\nprint(iou(a, b))", "metrics", "iou")
    assert not chapter_uses("from coursekit.metrics import iou\n", "metrics", "iou")
    assert chapter_uses("from coursekit import data, metrics\nmetrics.iou(a, b)", "metrics", "iou")
    assert not chapter_uses("from coursekit import data\nmetrics.iou(a, b)", "metrics", "iou")


def _imported_modules(source):
    """The coursekit modules a chapter's source imports, `book` aside."""
    modules = set()
    for line in source.splitlines():
        if match := re.match(r"from coursekit import (.+)", line):
            modules |= {name.strip() for name in match.group(1).split(",")}
        elif match := re.match(r"(?:from|import) coursekit\.(\w+)", line):
            modules.add(match.group(1))
    return modules - {"book"}


def test_the_introduction_lists_the_modules_each_chapter_imports():
    rows = re.findall(r"^\| \{doc\}`(\w+)` \|.*\| ([^|]+) \|$", (ROOT / "book" / "intro.md").read_text(), re.M)
    assert sorted(chapter for chapter, _ in rows) == sorted(CHAPTERS.values())
    for chapter, listed in rows:
        source = (ROOT / "book" / f"{chapter}.md").read_text()
        assert set(re.findall(r"`(\w+)`", listed)) == _imported_modules(source), chapter
