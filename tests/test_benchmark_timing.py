"""The benchmarks' timing: interleaved pairs, their median ratio, and blocks of calls.

A fake clock stands in for time.perf_counter, so that the arithmetic is checked
exactly and no assertion depends on how fast this machine is.
"""

import pytest

from benchmarks import timing


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])
    return now


def _costing(clock, seconds, log, name):
    """A function that advances the fake clock by the next of `seconds` and logs its name."""
    costs = iter(seconds)

    def function():
        log.append(name)
        clock[0] += next(costs)
    return function


def test_pairs_alternate_and_the_ratio_is_the_median_of_pair_ratios(clock):
    log = []
    # Warm-up first (not timed), then three pairs: ratios 2, 3 and 10, median 3.
    candidate = _costing(clock, [99, 2, 6, 10], log, "a")
    reference = _costing(clock, [99, 1, 2, 1], log, "b")
    result = timing.interleaved(candidate, reference, pairs=3)
    assert log == ["a", "b", "a", "b", "b", "a", "a", "b"]  # the second pair starts with the reference
    assert result == {"ratio": 3.0, "pairs": 3, "calls": 1, "candidate": 6, "reference": 1}


def test_a_block_times_its_calls_together_and_reports_seconds_per_call(clock):
    log = []
    # The warm-up is a block too; then pairs of blocks, the second starting with the reference.
    candidate = _costing(clock, [5] * 4 + [1, 1, 1, 1] + [4, 4, 4, 4], log, "a")
    reference = _costing(clock, [5] * 4 + [2, 2, 2, 2] + [1, 1, 1, 1], log, "b")
    result = timing.interleaved(candidate, reference, pairs=2, warmup=1, calls=4)
    assert log == ["a"] * 4 + ["b"] * 4 + ["a"] * 4 + ["b"] * 4 + ["b"] * 4 + ["a"] * 4
    # Pair ratios 4/8 and 16/4: median 2.25; per call, medians of (1, 4) and (2, 1).
    assert result["ratio"] == pytest.approx(2.25)
    assert result["calls"] == 4
    assert result["candidate"] == pytest.approx(2.5) and result["reference"] == pytest.approx(1.5)
    assert "of 4-call blocks" in timing.pairs_note(result)


@pytest.mark.parametrize("keyword, value", [("pairs", 0), ("calls", 0)])
def test_a_count_below_one_is_refused_by_name(keyword, value):
    with pytest.raises(ValueError, match=f"`{keyword}`"):
        timing.interleaved(lambda: None, lambda: None, **{keyword: value})


def test_a_layer_is_timed_in_blocks_and_the_note_keeps_the_single_call_ratio(clock):
    calls = {"a": 0, "b": 0}

    def candidate():
        calls["a"] += 1
        clock[0] += 3

    def reference():
        calls["b"] += 1
        clock[0] += 2

    result, note = timing.versus_torch(candidate, reference, layer=True)
    assert result["ratio"] == pytest.approx(1.5) and result["calls"] == timing.LAYER_CALLS
    assert "single calls 1.50" in note and f"of {timing.LAYER_CALLS}-call blocks" in note
    # Blocks: warm-up and 41 pairs of LAYER_CALLS calls; single calls: warm-up and 41 pairs.
    assert calls["a"] == calls["b"] == 42 * timing.LAYER_CALLS + 42
    whole, note = timing.versus_torch(candidate, reference, layer=False)
    assert whole["calls"] == 1 and whole["pairs"] == 15 and "single" not in note


@pytest.mark.parametrize(("value", "target", "verdict"), [
    (1.0, "<= 1", True), (1.01, "<= 1", False), (0.22, "<= 1", True),
    (3.31, ">= 3", True), (2.9, ">= 3", False), (0.97, ">= 0.97", True),
    (-2.4, "-3.5 to -2.0", True), (-3.5, "-3.5 to -2.0", True), (-1.9, "-3.5 to -2.0", False),
    (-3.6, "-3.5 to -2.0", False), (1.0, "info", None), (-2.8, "about -2.8", None),
    (None, "<= 1", None),
])
def test_a_figure_is_judged_against_its_target(value, target, verdict):
    from benchmarks.__main__ import meets

    assert meets(value, target) is verdict


def test_the_run_names_the_figures_that_miss_their_target(monkeypatch, tmp_path, capsys):
    import json
    import types

    from benchmarks import __main__ as bench

    fake = types.SimpleNamespace(run=lambda: [
        {"name": "fast", "value": 0.5, "target": "<= 1", "unit": "x torch time", "note": "n"},
        {"name": "slow", "value": 1.2, "target": "<= 1", "unit": "x torch time"},
        {"name": "told", "value": 7.0, "target": "info", "unit": "s"},
        {"name": "absent", "value": None, "target": "<= 2", "unit": "x", "note": "skipped"},
    ])
    monkeypatch.setattr(bench.pkgutil, "iter_modules", lambda path: [types.SimpleNamespace(name="bench_fake")])
    monkeypatch.setattr(bench.importlib, "import_module", lambda name: fake)
    monkeypatch.setattr(bench, "OUT", tmp_path / "bench.json")
    assert bench.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert "meets" in lines[0] and "MISSES" in lines[1] and "MISSES" not in lines[2] + lines[3]
    assert lines[4] == "1 of 2 judged figures meet their target; these miss: slow"
    written = json.loads((tmp_path / "bench.json").read_text())
    assert {name: figure["meets"] for name, figure in written.items()} == {
        "fast": True, "slow": False, "told": None, "absent": None}
