"""The driver: first interesting candidate in pass order wins, whatever --jobs is."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carts_reduce.run.outcome import Outcome, StepResult, TestSpec
from carts_reduce.search.driver import SPECULATE_ABOVE, NotInteresting, Reducer, Settings
from carts_reduce.passes.text import Blocks, Lines, Tokens
from carts_reduce.run.tool import Tool


class ExitZero:
    """Interesting when the test's last step exits 0 (a stand-in predicate)."""

    min_timeout = None

    def adjust(self, steps, expand):
        return steps

    def calibrate(self, original):
        pass

    def __call__(self, outcome, candidate):
        return outcome.main.returncode == 0

    def describe(self, outcome):
        return outcome.main.status


def grep_tool(*needles: str) -> Tool:
    checks = " && ".join(f"grep -q '{n}' {{input}}" for n in needles)
    return Tool(input_name="case.txt", command=checks)


def reduce_text(text: str, tool: Tool, jobs: int, phases=None) -> Reducer:
    reducer = Reducer(text, tool, ExitZero(), phases or [[Lines(), Tokens()]], Settings(jobs=jobs, timeout=10))

    async def go():
        await reducer.check_original()
        await reducer.reduce()

    anyio.run(go)
    return reducer


TEXT = "".join(f"line {i} filler {i * 7}\n" for i in range(40)).replace("line 13 ", "line 13 NEEDLE ").replace(
    "line 31 ", "line 31 OTHER "
)


def test_reduces_to_the_needed_lines_only():
    reducer = reduce_text(TEXT, grep_tool("NEEDLE", "OTHER"), jobs=2)
    assert "NEEDLE" in reducer.best and "OTHER" in reducer.best
    assert len(reducer.best) <= len("NEEDLEOTHER") + 2
    assert reducer.stats.tests_run > 0


def test_result_and_test_sequence_do_not_depend_on_jobs():
    one = reduce_text(TEXT, grep_tool("NEEDLE", "OTHER"), jobs=1)
    three = reduce_text(TEXT, grep_tool("NEEDLE", "OTHER"), jobs=3)
    assert one.best == three.best
    assert one.history == three.history


def test_cache_answers_repeated_candidates():
    reducer = reduce_text(TEXT, grep_tool("NEEDLE"), jobs=1, phases=[[Lines()], [Lines()]])
    assert reducer.stats.cache_hits > 0


def test_an_original_that_is_not_interesting_is_refused():
    reducer = Reducer("no needle here\n", grep_tool("NEEDLE"), ExitZero(), [[Lines()]], Settings(jobs=1, timeout=5))
    with pytest.raises(NotInteresting, match="not interesting"):
        anyio.run(reducer.check_original)


def test_a_flaky_original_is_refused(tmp_path):
    counter = tmp_path / "count"
    # Interesting on the first run only.
    tool = Tool(input_name="case.txt", command=f"mkdir {counter}")  # succeeds once
    reducer = Reducer("x\n", tool, ExitZero(), [[Lines()]], Settings(jobs=1, timeout=5))
    with pytest.raises(NotInteresting, match="flaky"):
        anyio.run(reducer.check_original)


def test_blocks_pass_removes_balanced_blocks():
    text = "keep {\n  a\n}\nf {\n  g {\n    h\n  }\n}\nNEEDLE\n"
    reducer = reduce_text(text, grep_tool("NEEDLE"), jobs=2, phases=[[Blocks()]])
    assert reducer.best == "NEEDLE\n"


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "NEEDLE", "x y", "{", "}"]), min_size=1, max_size=12))
def test_result_is_interesting_and_never_larger(words):
    text = "\n".join(words) + "\nNEEDLE\n"
    reducer = reduce_text(text, grep_tool("NEEDLE"), jobs=2)
    assert "NEEDLE" in reducer.best
    assert len(reducer.best.encode()) <= len(text.encode())


class RecordingLines(Lines):
    """Lines, noting each text it is asked for candidates of."""

    def __init__(self):
        self.asked: list[str] = []

    def candidates(self, text, cursor):
        self.asked.append(text)
        yield from super().candidates(text, cursor)


def needle_test(duration: float, yields: int):
    """An in-process test that takes ``duration`` (as reported) and gives the
    event loop ``yields`` turns before its verdict: timing without a clock."""

    async def run(spec: TestSpec) -> Outcome:
        for _ in range(yields):
            await anyio.sleep(0)
        code = 0 if b"NEEDLE" in spec.files[0][1] else 1
        return Outcome((StepResult("stage", ("test",), code, None, False, duration, "", ""),))

    return run


def test_with_slow_tests_the_next_round_begins_while_a_candidate_is_tested():
    # NEEDLE first: the first candidate of a round drops it and is rejected.
    text = "NEEDLE\n" + "".join(f"x{i}\n" for i in range(6))
    runs = {}
    for name, duration, yields in (("fast", 0.0, 0), ("slow", 2 * SPECULATE_ABOVE, 5)):
        lines = RecordingLines()
        reducer = Reducer(text, Tool(input_name="case.txt", command="test"), ExitZero(), [[lines]],
                          Settings(jobs=1, timeout=10), run=needle_test(duration, yields))

        async def go():
            await reducer.check_original()
            await reducer.reduce()

        anyio.run(go)
        runs[name] = (reducer, lines.asked)
    (fast, fast_asked), (slow, slow_asked) = runs["fast"], runs["slow"]
    assert (fast.speculate, slow.speculate) == (False, True)
    assert fast.history == slow.history and slow.best == "NEEDLE\n"
    # Slow tests: rounds were begun from candidates then rejected (the speculation);
    # a round begun from the accepted one was used, not asked for again.
    assert all(asked in fast.history for asked in fast_asked)
    assert any(asked not in slow.history for asked in slow_asked)
    for accepted in slow.history:
        assert slow_asked.count(accepted) == fast_asked.count(accepted)
