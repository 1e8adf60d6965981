"""Flaky failures: a result is written only once it reproduces every time."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from conftest import ROOT, STANDIN_CARTS
from test_cli import carts_reduce

EXAMPLE = ROOT / "examples" / "alloc3d.mlir"


def crashes(path, env) -> bool:
    result = subprocess.run([str(STANDIN_CARTS), "run", str(path), "--canonicalize-memrefs"],
                            capture_output=True, text=True, env=env, timeout=60)
    return result.returncode == -signal.SIGABRT and "CanonicalizeMemrefsPass" in result.stderr


def test_output_of_a_flaky_stage_reproduces_20_of_20(tmp_path):
    # Deterministic on the original (88 lines); half of the crashes vanish below 10 lines.
    env = {**os.environ, "CARTS_STANDIN_FLAKY_BELOW": "10"}
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                          "-j", "2", "--verify", "10", "--json-log", "log.jsonl", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "alloc3d.reduced.mlir"
    assert all(crashes(output, env) for _ in range(20))

    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    modes = [e for e in events if e["event"] == "flaky-mode"]
    if modes:  # the reducer met the flakiness: it said so and went k-of-n
        assert "flaky" in result.stderr
        need, runs = modes[0]["min_hits"], modes[0]["repeat"]
        after = events.index(modes[0])
        for accepted in (e for e in events[after:] if e["event"] == "accept"):
            assert accepted["hits"] >= need and accepted["runs"] <= runs
        record = json.loads((tmp_path / "alloc3d.reduced.mlir.json").read_text())
        assert record["flake_rate"] is not None and record["flake_rate"] > 0


def test_repeat_and_min_hits_force_k_of_n_from_the_start(tmp_path):
    env = {**os.environ, "CARTS_STANDIN_FLAKY_BELOW": "10"}
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
