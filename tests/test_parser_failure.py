"""Failures of the parser itself: how they are recognised, and the text passes that finish them.

The recognition is checked on real output: mlir-opt 19's stack dump of a
crash in ``scf.forall``'s parser, the pass crashes of the real-crashes data
(never taken for parser failures), mlir-opt 22's parse-time and verifier
diagnostics, and the stand-in carts' parse error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from carts_reduce.parser_failure import parser_failure
from carts_reduce.passes import schedule, unparsed_finish
from carts_reduce.passes.text import Characters
from carts_reduce.run.outcome import Outcome, StepResult

DATA = Path(__file__).parent / "data"
FORALL = (DATA / "parser-crash" / "mlir19-forall.unsymbolized.stderr").read_text()


def outcome(stderr: str, returncode: int | None = 1, signal: int | None = None, stdout: str = "") -> Outcome:
    return Outcome((StepResult("stage", ("tool",), returncode, signal, False, 0.1, stdout, stderr),))


def test_a_stack_dump_in_the_parser_is_one():
    reason = parser_failure(outcome(FORALL, None, 11))
    assert reason == "its stack dump is in MLIR's parser (MLIR Parser: custom op parser 'scf.forall')"


def test_parser_frames_say_so_without_the_pretty_stack():
    frames_only = "\n".join(line for line in FORALL.splitlines() if "MLIR Parser:" not in line)
    reason = parser_failure(outcome(frames_only, None, 11))
    assert reason is not None and reason.startswith("its stack dump is in the parser (")


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "signature").glob("*.stderr")))
def test_pass_and_front_end_crashes_are_not(name):
    assert parser_failure(outcome((DATA / "signature" / name).read_text(), None, 11)) is None


def test_what_a_script_prints_on_stdout_counts_too():
    assert parser_failure(outcome("", 0, stdout=FORALL)) is not None


def test_no_output_says_nothing():
    assert parser_failure(outcome("")) is None
    assert parser_failure(None) is None


def run_mlir_opt(mlir_opt: Path, tmp_path: Path, text: str) -> Outcome:
    path = tmp_path / "input.mlir"
    path.write_text(text)
    proc = subprocess.run([str(mlir_opt), str(path), "-o", "/dev/null"], capture_output=True, text=True)
    return outcome(proc.stderr, proc.returncode)


def test_a_parse_time_diagnostic_is_one_a_verifier_error_is_not(mlir_opt, tmp_path):
    broken = run_mlir_opt(mlir_opt, tmp_path, "func.func @f() {\n  %0 = arith.constant : i32\n  return\n}\n")
    reason = parser_failure(broken)
    assert reason is not None and reason.startswith("its error is a parse-time diagnostic (")
    invalid = run_mlir_opt(mlir_opt, tmp_path, "func.func @f() -> i32 {\n  return\n}\n")
    assert "error:" in invalid.main.stderr
    assert parser_failure(invalid) is None


def test_the_standin_carts_parse_error_is_one(standin_carts, tmp_path):
    path = tmp_path / "input.mlir"
    path.write_text("func.func @f() {\n  %0 = arith.addi %1, : i32\n")
    proc = subprocess.run([str(standin_carts), "run", str(path), "--canonicalize-memrefs"], capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert parser_failure(outcome(proc.stderr, proc.returncode)) == "CARTS says: Could not parse input file"


# ------------------------------------------------------------ the finish
def test_the_finish_is_tokens_then_characters_and_text_from_blocks_on():
    assert [p.name for p in unparsed_finish()] == ["tokens", "characters"]
    assert [p.name for p in unparsed_finish(parses=False)] == ["blocks", "lines", "tokens", "characters"]
    assert all(p.name not in ("tokens", "characters") for phase in schedule("mlir") for p in phase)


def test_characters_are_removed_one_by_one_at_the_end():
    found = [c for _, c in Characters().candidates("abcd", None)]
    assert found[:2] == ["cd", "ab"]
    assert {"bcd", "acd", "abd", "abc"} <= set(found)


def reduce_cli(tmp_path: Path, text: str, script: str) -> subprocess.CompletedProcess:
    source = tmp_path / "input.mlir"
    source.write_text(text)
    check = tmp_path / "check.sh"
    check.write_text(script)
    check.chmod(0o755)
    return subprocess.run(
        [sys.executable, "-m", "carts_reduce", str(source), "--script", str(check), "-o", str(tmp_path / "out.mlir"),
         "-j", "2", "-q"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )


def test_an_input_our_parser_cannot_read_is_reduced_as_text(tmp_path):
    text = "module {\n  func.func @f() {\n    %0 = weird ))) ( syntax [needle here\n  }\n}\n"
    result = reduce_cli(tmp_path, text, '#!/bin/sh\ngrep -q "needle" "$1"\n')
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.mlir").read_text() == "needle"
    assert "the input does not parse as MLIR: it is reduced as plain text" in " ".join(result.stderr.split())


def test_a_valid_input_under_a_non_parser_failure_gets_no_text_finish(tmp_path):
    text = "func.func @f(%a: i32) -> i32 {\n  %0 = arith.addi %a, %a : i32\n  return %0 : i32\n}\n"
    result = reduce_cli(tmp_path, text, '#!/bin/sh\ngrep -q "arith.addi" "$1"\n')
    assert result.returncode == 0, result.stderr
    assert "parser" not in result.stderr
    assert "arith.addi" in (tmp_path / "out.mlir").read_text()
