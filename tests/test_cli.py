"""The command line on bad input: one clear line, exit status 2, input untouched."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, STANDIN_CARTS

EXAMPLE = ROOT / "examples" / "alloc3d.mlir"


def carts_reduce(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "carts_reduce", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("carts-reduce: error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def case(tmp_path) -> Path:
    path = tmp_path / "alloc3d.mlir"
    path.write_text(EXAMPLE.read_text())
    return path


def test_missing_file(tmp_path):
    result = carts_reduce("nope.mlir", "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS), cwd=tmp_path)
    assert_one_line_error(result, "nope.mlir", "no such file")


def test_empty_file(tmp_path):
    (tmp_path / "empty.mlir").write_text("\n  \n")
    result = carts_reduce("empty.mlir", "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS), cwd=tmp_path)
    assert_one_line_error(result, "empty")


def test_binary_file(tmp_path):
    (tmp_path / "blob.mlir").write_bytes(b"\x7fELF\x00\x01\x02")
    result = carts_reduce("blob.mlir", "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS), cwd=tmp_path)
    assert_one_line_error(result, "binary")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(case):
    case.chmod(0)
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS), cwd=case.parent)
    assert_one_line_error(result, "cannot read")


def test_unknown_stage(case):
    result = carts_reduce(case.name, "--pass", "canonicalise-memrefs", "--carts", str(STANDIN_CARTS), cwd=case.parent)
    assert_one_line_error(result, "unknown stage", "canonicalize-memrefs")


def test_no_stage_for_a_command_of_another_tool(case):
    # Without carts there are no stages to search: {stage} must be given.
    result = carts_reduce(case.name, "--command", "cat {input} --{stage}", cwd=case.parent)
    assert_one_line_error(result, "--pass")


def test_carts_not_found(case):
    env = {"PATH": "/usr/bin:/bin", "CARTS": ""}
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", cwd=case.parent, env=env)
    assert_one_line_error(result, "carts not found", "--carts")
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", "/no/carts", cwd=case.parent)
    assert_one_line_error(result, "carts not found")


def test_original_that_does_not_fail(case):
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                          cwd=case.parent, env={"CARTS_STANDIN_BUG": "fixed"})
    assert_one_line_error(result, "not interesting")
    assert not (case.parent / "alloc3d.reduced.mlir").exists()


def test_flaky_original(case, tmp_path):
    # Fails on its first run only: the second run of the original disagrees.
    marker = tmp_path / "ran-once"
    script = tmp_path / "first-time-only.sh"
    script.write_text(f"#!/bin/sh\nmkdir {marker} 2>/dev/null\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    result = carts_reduce(case.name, "--script", str(script), "-j", "1", cwd=case.parent)
    assert_one_line_error(result, "flaky")


def test_unknown_predicate(case):
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                          "--predicate", "no-such-predicate", cwd=case.parent)
    assert_one_line_error(result, "no-such-predicate")


def test_output_may_not_be_the_input(case):
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                          "-o", case.name, cwd=case.parent)
    assert_one_line_error(result, "never modifies")


def test_help_explains_the_main_options(tmp_path):
    result = carts_reduce("--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--pass", "--carts", "--command", "--script", "--jobs", "--timeout", "--max-time", "--json-log",
                   "--resume", "--version"):
        assert option in result.stdout
    assert "corpus" in result.stdout
    assert "Usage: carts-reduce [OPTIONS] [INPUT]" in result.stdout
    assert "[default: CPU count" in result.stdout and "[default: STEM.reduced.SUFFIX" in result.stdout


HELPS = [("--help",), ("corpus", "--help"), ("corpus", "add", "--help"), ("corpus", "list", "--help"),
         ("corpus", "check", "--help"), ("corpus", "export-lit", "--help"), ("report", "--help"),
         ("predicates", "--help")]


@pytest.mark.parametrize("args", HELPS, ids=[" ".join(a) for a in HELPS])
def test_help_texts_read_cleanly(tmp_path, args):
    result = carts_reduce(*args, cwd=tmp_path, env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    text = result.stdout
    flat = " ".join(line.strip("│ ") for line in text.splitlines())
    assert "<bool>" not in text, "a flag shows a value type"
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert not re.search(r"\{[a-z_]+\}", usage), "the usage line names an argument {like_this}"
    assert not re.search(r"\w \s*[;.,]( |$)", flat), "a help text has an empty default spliced in"
    assert "[default: ]" not in flat


def test_report_help_names_the_carts_it_uses(tmp_path):
    result = carts_reduce("report", "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert "the one the case was reduced with" in result.stdout


def test_version(tmp_path):
    result = carts_reduce("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("carts-reduce ")
    combined = carts_reduce("missing.mlir", "--pass", "x", "--version", cwd=tmp_path)
    assert combined.returncode == 0 and combined.stdout.startswith("carts-reduce "), combined.stderr


def test_validate_with_mlir_opt_skips_what_upstream_rejects(case, mlir_opt):
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                          "--validate-with", "mlir-opt", "-j", "2", "-q", cwd=case.parent)
    assert result.returncode == 0, result.stderr
    import json

    record = json.loads((case.parent / "alloc3d.reduced.mlir.json").read_text())
    assert record["precheck_rejected"] > 0
    reduced = case.parent / "alloc3d.reduced.mlir"
    check = subprocess.run([str(mlir_opt), "--allow-unregistered-dialect", str(reduced), "-o", "/dev/null"])
    assert check.returncode == 0
    assert record["sizes_after"]["ops"] < record["sizes_before"]["ops"]


def test_a_command_group_without_a_command_shows_its_help(tmp_path):
    result = carts_reduce("corpus", cwd=tmp_path)
    assert "Usage: carts-reduce corpus" in result.stdout + result.stderr
    assert "error" not in result.stderr
