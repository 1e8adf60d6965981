"""The stand-in carts behaves as ../shared/CARTS.md says the real one does."""

from __future__ import annotations

import random
import signal
import subprocess

import pytest

from conftest import ROOT, STANDIN_CARTS

EXAMPLE = (ROOT / "examples" / "alloc3d.mlir").read_text()
PARSE_ERROR = "[ERROR] [carts-run] Could not parse input file"


def carts_run(tmp_path, text: str, *flags: str, env: dict | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "case.mlir"
    path.write_text(text)
    return subprocess.run([str(STANDIN_CARTS), "run", str(path), *flags], capture_output=True, text=True,
                          timeout=60, env=env)


def test_crashes_on_a_used_3_level_nested_allocation(tmp_path):
    result = carts_run(tmp_path, EXAMPLE, "--canonicalize-memrefs")
    assert result.returncode == -signal.SIGABRT
    assert "CanonicalizeMemrefsPass::runOnOperation" in result.stderr
    assert "Stack dump:" in result.stderr and "Assertion" in result.stderr
    # Every later stage runs canonicalize-memrefs first.
    assert carts_run(tmp_path, EXAMPLE, "--concurrency").returncode == -signal.SIGABRT


def test_prints_the_module_when_nothing_is_nested_3_deep(tmp_path):
    text = (
        "module {\n  func.func @f(%n: index) -> memref<?xmemref<?xf32>> {\n"
        "    %a = memref.alloc(%n) : memref<?xmemref<?xf32>>\n"
        "    return %a : memref<?xmemref<?xf32>>\n  }\n}\n"
    )
    result = carts_run(tmp_path, text, "--canonicalize-memrefs")
    assert result.returncode == 0, result.stderr
    assert result.stdout == text


def test_an_unused_allocation_does_not_crash(tmp_path):
    text = "module {\n  func.func @f(%n: index) {\n    %a = memref.alloc(%n) : memref<?xmemref<?xmemref<?xf32>>>\n    return\n  }\n}\n"
    assert carts_run(tmp_path, text, "--canonicalize-memrefs").returncode == 0


@pytest.mark.parametrize(
    "broken, message",
    [
        (lambda t: t.replace("    return %c0_i32 : i32\n  }\n}\n", "    return %c0_i32 : i32\n"), "expected '}'"),
        (lambda t: t.replace("%2 = memref.load %0[%c0]", "%2 = memref.load %77[%c0]"), "undeclared SSA value"),
        (lambda t: t.replace("call @rmsnorm(", "call @rmsnorm_gone("), "does not reference a valid function"),
        (lambda t: t.replace("    return\n  }\n  func.func @main", "    cf.br ^bb9\n  }\n  func.func @main"), "undefined block"),
        (lambda t: t.replace("%alloc = memref.alloc(%0) :", "%alloc = memref.alloc(%0) <<>> :"), "error:"),
    ],
    ids=["unbalanced-braces", "undefined-value", "missing-callee", "undefined-block", "garbage"],
)
def test_rejects_what_carts_could_not_parse(tmp_path, broken, message):
    result = carts_run(tmp_path, broken(EXAMPLE), "--canonicalize-memrefs")
    assert result.returncode == 1
    assert PARSE_ERROR in result.stderr
    assert message in result.stderr


def test_upstream_mlir_opt_judges_modules_it_can_read(tmp_path, mlir_opt):
    # Well-formed to the stand-in's own checks, but a type error to a real verifier.
    text = "module {\n  func.func @f(%a: i32) -> i64 {\n    return %a : i32\n  }\n}\n"
    result = carts_run(tmp_path, text, "--canonicalize-memrefs")
    assert result.returncode == 1 and PARSE_ERROR in result.stderr
    assert "error:" in result.stderr


def test_refuses_unknown_stages(tmp_path):
    result = carts_run(tmp_path, EXAMPLE, "--canonicalise-memrefs")
    assert result.returncode == 1
    assert "Unknown command line argument" in result.stderr


def test_bug_knobs_model_other_builds(tmp_path):
    import os

    fixed = carts_run(tmp_path, EXAMPLE, "--canonicalize-memrefs", env={**os.environ, "CARTS_STANDIN_BUG": "fixed"})
    assert fixed.returncode == 0
    other = carts_run(tmp_path, EXAMPLE, "--canonicalize-memrefs", env={**os.environ, "CARTS_STANDIN_BUG": "other"})
    assert other.returncode == -signal.SIGABRT and "CollectMetadataPass" in other.stderr
    leave = carts_run(tmp_path, EXAMPLE, "--canonicalize-memrefs", env={**os.environ, "CARTS_STANDIN_BUG": "leave"})
    assert leave.returncode == 0 and "memref<?xmemref<?xmemref<?xf32>>>" in leave.stdout


def test_accepts_real_carts_modules(shared_data, tmp_path):
    files = sorted((shared_data / "mlir-carts").glob("*.mlir"))
    sample = random.Random(7).sample(files, 40) + [shared_data / "mlir-carts" / "rhs4sg_base__57d19f26.mlir"]
    rejected = []
    for path in sample:
        result = subprocess.run([str(STANDIN_CARTS), "run", str(path), "--canonicalize-memrefs"],
                                capture_output=True, text=True, timeout=60)
        if PARSE_ERROR in result.stderr:
            rejected.append(f"{path.name}: {result.stderr.splitlines()[0]}")
    # A few lit inputs are deliberately odd (split files, partial modules).
    assert len(rejected) <= 2, rejected


def test_a_use_of_another_value_of_the_same_name_does_not_count(tmp_path):
    text = (
        "func.func @f(%n: index, %p: memref<1xmemref<?xmemref<?xf32>>>) {\n"
        "  scf.execute_region {\n"
        "    %c = memref.alloc(%n) : memref<?xmemref<?xmemref<?xf32>>>\n"
        "    scf.yield\n"
        "  }\n"
        "  %c = memref.alloc(%n) : memref<?xmemref<?xf32>>\n"
        "  affine.store %c, %p[0] : memref<1xmemref<?xmemref<?xf32>>>\n"
        "  return\n"
        "}\n"
    )
    assert carts_run(tmp_path, text, "--canonicalize-memrefs").returncode == 0
