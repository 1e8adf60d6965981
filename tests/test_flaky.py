"""Flaky failures: a result is written only once it reproduces every time."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

from conftest import ROOT, STANDIN_CARTS
from test_cli import carts_reduce

EXAMPLE = ROOT / "examples" / "alloc3d.mlir"


def crashes(path, env) -> bool:
    result = subprocess.run([str(STANDIN_CARTS), "run", str(path), "--canonicalize-memrefs"],
                            capture_output=True, text=True, env=env, timeout=60)
    return result.returncode == -signal.SIGABRT and "CanonicalizeMemrefsPass" in result.stderr


def flaky_below_10(tmp_path) -> dict[str, str]:
    """The stand-in with half of the crashes gone below 10 lines (every other run of a text)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    return {**os.environ, "CARTS_STANDIN_FLAKY_BELOW": "10", "CARTS_STANDIN_FLAKY_RUNS": str(runs)}


def test_output_of_a_flaky_stage_reproduces_20_of_20(tmp_path):
    # Deterministic on the original (88 lines); below 10 lines a text crashes
    # on its 1st, 3rd, ... run only, so a small result fails its re-tests.
    env = flaky_below_10(tmp_path)
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                          "-j", "2", "--verify", "10", "--json-log", "log.jsonl", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "alloc3d.reduced.mlir"
    assert all(crashes(output, env) for _ in range(20))

    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    modes = [e for e in events if e["event"] == "flaky-mode"]
    assert modes, "the reducer never met the flakiness"
    # It said what it saw, and went k-of-n.
    assert re.search(r"the failure is flaky: the result showed it in \d+ of \d+ re-tests, the original in 5 of 5",
                     result.stderr), result.stderr
    need, runs = modes[0]["min_hits"], modes[0]["repeat"]
    after = events.index(modes[0])
    for accepted in (e for e in events[after:] if e["event"] == "accept"):
        assert accepted["hits"] >= need and accepted["runs"] <= runs
    record = json.loads((tmp_path / "alloc3d.reduced.mlir.json").read_text())
    assert record["flake_rate"] is not None and record["flake_rate"] > 0


def test_repeat_and_min_hits_force_k_of_n_from_the_start(tmp_path):
    env = flaky_below_10(tmp_path)
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                          "-j", "2", "--repeat", "4", "--min-hits", "4", "--json-log", "log.jsonl",
                          cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    accepted = [e for e in events if e["event"] == "accept"]
    assert accepted and all(e["hits"] >= 4 for e in accepted)
    assert all(crashes(tmp_path / "alloc3d.reduced.mlir", env) for _ in range(20))


# Five lines on which the stand-in crashes (a reduction of the example).
SMALL = """\
func.func @a() -> memref<?xmemref<?xmemref<?xf32>>> {
  %0 = arith.constant 0 : index
  %a = memref.alloc(%0) : memref<?xmemref<?xmemref<?xf32>>>
  return %a : memref<?xmemref<?xmemref<?xf32>>>
}
"""


def test_the_flaky_stand_in_is_flaky_and_the_same_every_time(tmp_path):
    small = tmp_path / "small.mlir"
    small.write_text(SMALL)
    big = tmp_path / "big.mlir"
    big.write_text(EXAMPLE.read_text())
    for attempt in ("first", "second"):
        (tmp_path / attempt).mkdir()
        env = flaky_below_10(tmp_path / attempt)
        assert [crashes(small, env) for _ in range(4)] == [True, False, True, False]
        assert all(crashes(big, env) for _ in range(3))
