"""What keeps a reduction of a huge module linear and small: trees without cycles,
one parse per text whoever asks, room made before a parse, a round that goes on
with the tree it has, no round begun ahead when that costs more than a test.

The speed and memory figures themselves are a benchmark (``bench/scale.py``);
these tests check the mechanisms, deterministically.
"""

from __future__ import annotations

import gc
import itertools
import re
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

import carts_reduce.formats.mlir.cache as cache_module
from carts_reduce.formats import non_space_chars
from carts_reduce.formats.mlir import TextCache, count_ops, parse
from carts_reduce.passes.mlir.common import parsed
from carts_reduce.passes.mlir.functions import DeleteFunctions
from carts_reduce.run.outcome import Outcome, StepResult
from carts_reduce.run.tool import Tool
from carts_reduce.search.driver import Reducer, Settings

TEXT = """func.func @f(%a: i32) -> i32 {
  %0 = arith.addi %a, %a : i32
  scf.if %c {
    "x.y"(%0) : (i32) -> ()
  }
  return %0 : i32
}
"""


def test_a_tree_is_freed_as_soon_as_its_module_is():
    paused = gc.isenabled()
    gc.disable()  # no cycle collector: reference counting alone must do it
    try:
        module = parse(TEXT)
        op = module.ops[0].regions[0].blocks[0].ops[1]
        value = module.ops[0].regions[0].blocks[0].ops[0].results[0]
        watched = [weakref.ref(x) for x in (module.ops[0], op, op.regions[0].blocks[0], value)]
        del module, op, value
        assert [w() for w in watched] == [None, None, None, None]
    finally:
        if paused:
            gc.enable()


def test_links_up_the_tree_hold_while_the_module_is_alive():
    module = parse(TEXT)
    func = module.ops[0]
    inner = func.regions[0].blocks[0].ops[1].regions[0].blocks[0].ops[0]
    assert inner.parent_op.parent_op is func and func.parent is module.body
    use = inner.operands[0]
    assert use.user is inner and use.value.owner is func.regions[0].blocks[0].ops[0]


def test_room_is_made_before_a_new_text_is_computed():
    held: list[list[str]] = []
    box: dict = {}

    def compute(text: str) -> str:
        held.append(list(box["cache"]._entries))  # what the cache still holds while this one is made
        return text.upper()

    box["cache"] = cache = TextCache(compute, entries=3, characters=10)
    assert cache.get("aaaa") == "AAAA" and cache.get("bbbb") == "BBBB"
    cache.get("aaaa")  # remembered: not computed again, and now the most recent
    cache.get("cccccccc")  # 8 characters: room for it means only it may stay
    assert held == [[], ["aaaa"], []]
    cache.get("dd")
    cache.get("ee")
    cache.get("ff")
    assert held[-1] == ["dd", "ee"] and list(cache._entries) == ["dd", "ee", "ff"]  # three at most


def test_the_op_count_of_the_input_and_the_passes_share_one_parse(monkeypatch):
    calls: list[int] = []
    real = cache_module.parse

    def counting(text: str):
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(cache_module, "parse", counting)
    text = TEXT + "// one parse\n"
    assert count_ops(text) == 7  # the module, the implicit scf.yield
    assert parsed(text) is not None and parsed(text).module is parsed(text).module
    assert calls == [len(text)]


def big_module(copies: int) -> str:
    one = "\n".join(
        f"func.func @f{n}() -> i32 {{\n  %0 = func.call @g{n}() : () -> i32\n  return %0 : i32\n}}\n"
        f"func.func private @g{n}() -> i32 {{\n  %c = arith.constant {n} : i32\n  return %c : i32\n}}"
        for n in range(copies)
    )
    return one + '\n"needle.op"() : () -> ()\n'


def test_deleting_functions_parses_a_lineage_once(monkeypatch):
    """Accepting its own candidates round after round, the pass parses only the first text."""
    calls: list[int] = []
    real = cache_module.parse
    monkeypatch.setattr(cache_module, "parse", lambda text: calls.append(len(text)) or real(text))
    text, cursor = big_module(40), None
    remembering = DeleteFunctions()
    for _ in range(12):
        found = next(((c, t) for c, t in remembering.candidates(text, cursor) if "@f0(" in t or "@f3" in t), None)
        if found is None:
            break
        cursor, text = found
    assert len(calls) == 1
    assert "needle.op" in text and text.count("func.func") < 80


def reducer_with(duration: float, speculate: bool = True) -> Reducer:
    reducer = Reducer("x", Tool(input_name="a.txt", command="true"), _Never(), [], Settings(jobs=2, timeout=5))
    reducer.original_outcome = Outcome((StepResult("stage", ("true",), 0, None, False, duration, "", ""),))
    reducer.speculate = speculate
    return reducer


class _Never:
    min_timeout = None

    def adjust(self, steps, expand):
        return steps


@pytest.mark.parametrize("seconds_per_byte, size, test_seconds, expected", [
    (None, 10_000_000, 0.02, True),  # nothing measured yet
    (1e-6, 10_000, 0.02, True),  # 10 ms of work against a 20 ms test
    (1e-6, 3_000_000, 0.02, False),  # 3 s of parsing against a 20 ms test
    (1e-6, 3_000_000, 5.0, True),  # a slow stage: begun ahead even on a big module
])
def test_a_round_is_begun_ahead_only_when_it_costs_less_than_a_test(seconds_per_byte, size, test_seconds, expected):
    reducer = reducer_with(test_seconds)
    if seconds_per_byte is not None:
        reducer._learn_start(seconds_per_byte * 1000, 1000)
    assert reducer._ahead_pays("x" * size) is expected
    assert reducer_with(test_seconds, speculate=False)._ahead_pays("x") is False


def test_round_starts_are_measured_per_byte():
    reducer = reducer_with(0.02)
    reducer._learn_start(2.0, 1_000_000)
    reducer._learn_start(4.0, 1_000_000)
    assert reducer._start_rate == pytest.approx(3e-6)


def test_the_scale_generator_module_parses_like_its_source(shared_data):
    """The benchmark's input is real CARTS output copied under renamed symbols: it parses and counts linearly."""
    source = (shared_data / "mlir-carts" / "rhs4sg_base__57d19f26.mlir").read_text()
    lines = source.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("module"))
    end = max(i for i, line in enumerate(lines) if line.startswith("}"))
    body = lines[start + 1 : end]
    copies = ["\n".join(re.sub(r"@([A-Za-z_][\w$.]*)", rf"@\1_c{k}", line) for line in body) for k in range(3)]
    text = "\n".join([*lines[: start + 1], *copies, *lines[end:]])
    once, thrice = parse(source), parse(text)
    assert thrice.print() == text
    assert thrice.op_count() - 1 == 3 * (once.op_count() - 1)
    assert sum(1 for _ in itertools.islice(thrice.walk(), None)) == 3 * sum(1 for _ in once.walk()) - 2


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_non_space_characters_are_those_isspace_rejects(text):
    """The size in characters is counted in C for an ASCII text, by a loop otherwise: the same count."""
    assert non_space_chars(text) == sum(1 for ch in text if not ch.isspace())


def test_every_ascii_whitespace_is_left_out_of_the_character_count():
    every = "".join(map(chr, range(128)))
    assert non_space_chars(every) == 128 - sum(ch.isspace() for ch in every) == 118
