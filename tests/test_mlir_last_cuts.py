"""What a text reducer still took off carts-reduce's results, as passes of their own.

One value in place of another of the same type, a block merged into its
only predecessor, affine operands made literals, ``dense<false>`` ->
``dense<0>``, ``-> (f32)`` -> ``-> f32``, short names for generic ops. Every
candidate is checked as the structural passes' are (re-parses byte for
byte, SSA-sound, no new dangling symbol, smaller), and where upstream
``mlir-opt`` can read the text, its verifier accepts the candidate too.
"""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given

from carts_reduce.formats.mlir import parse
from carts_reduce.passes.mlir import LAST_CUTS, MLIR_PHASES
from carts_reduce.passes.mlir.affine_literals import AffineLiterals
from carts_reduce.passes.mlir.merge_blocks import MergeBlocks
from carts_reduce.passes.mlir.polish_arrows import UnwrapResultTypes
from carts_reduce.passes.mlir.polish_booleans import ShortenBooleans
from carts_reduce.passes.mlir.polish_op_names import ShortenOpNames
from carts_reduce.passes.mlir.reuse import ReuseValues
from mlir_strategies import mlir_modules
from test_mlir_passes import candidates, check_candidate, checked


def verifies(mlir_opt, tmp_path, text: str) -> str:
    """mlir-opt's complaint about ``text`` ("" when it parses and verifies)."""
    file = tmp_path / "candidate.mlir"
    file.write_text(text)
    result = subprocess.run([str(mlir_opt), "--allow-unregistered-dialect", str(file), "-o", "/dev/null"],
                            capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stderr[:500]


def test_the_new_passes_are_scheduled():
    names = [p.name for phase in MLIR_PHASES for p in phase]
    assert names.index("mlir-merge-blocks") < names.index("mlir-replace")
    assert [p.name for p in LAST_CUTS] == ["mlir-reuse", "mlir-affine-literals"]
    assert LAST_CUTS[0] is MLIR_PHASES[1][0]
    for name in ("mlir-polish-op-names", "mlir-polish-booleans", "mlir-polish-arrows"):
        assert name in [p.name for p in MLIR_PHASES[1]]


# ------------------------------------------------------------- reuse
LOOP = """func.func @f(%n: index, %m: memref<?xf32>) {
  %c10 = arith.constant 10 : index
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %c10 step %c1 {
    %x = memref.load %m[%i] : memref<?xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %m[%c0] : memref<?xf32>
  }
  return
}
"""


def test_a_constant_defined_later_feeds_a_loop_bound():
    found = checked(ReuseValues(), LOOP)
    # `%c10` comes first: only a value defined after it, before its use, can stand in.
    first = found[0]
    assert "%c10" not in first and "scf.for %i = %c0 to %c1 step %c1" in first
    assert any("scf.for %i = %c0 to %c0 step %c1" in c for c in found)
    assert any("scf.for %i = %c0 to %n step %c1" in c for c in found)


def test_a_value_never_stands_in_for_one_it_is_computed_from():
    for candidate in checked(ReuseValues(), LOOP):
        assert "%x = memref.load %m[%i]" in candidate or "%x" not in candidate
        assert "%y = arith.addf %y" not in candidate


def test_replacements_come_from_the_same_type_only():
    text = """func.func @f(%a: i32, %b: f32) -> i32 {
  %c = arith.constant 2 : i32
  %d = arith.addi %c, %c : i32
  return %d : i32
}
"""
    found = checked(ReuseValues(), text)
    assert found and all("%b" not in c.split("{", 1)[1] for c in found)
    assert any("arith.addi %a, %a" in c for c in found)


def test_reuse_candidates_verify_with_mlir_opt(mlir_opt, tmp_path):
    for candidate in checked(ReuseValues(), LOOP):
        assert verifies(mlir_opt, tmp_path, candidate) == ""


# ------------------------------------------------------- merge blocks
CFG = """func.func @f(%a: i32, %c: i1) -> i32 {
  %0 = arith.addi %a, %a : i32
  cf.br ^bb1(%0 : i32)
^bb1(%x: i32):
  %1 = arith.muli %x, %x : i32
  cf.cond_br %c, ^bb2, ^bb3(%1 : i32)
^bb2:
  cf.br ^bb3(%x : i32)
^bb3(%y: i32):
  return %y : i32
}
"""


def test_a_block_with_one_unconditional_predecessor_merges_into_it():
    (candidate,) = checked(MergeBlocks(), CFG)
    assert "^bb1" not in candidate and "cf.br ^bb1" not in candidate
    assert "%1 = arith.muli %0, %0 : i32" in candidate
    assert "^bb3(%y: i32):" in candidate  # two predecessors: stays


def test_a_merged_block_moves_to_the_branch_when_it_is_elsewhere():
    text = """func.func @f(%a: i32) -> i32 {
  cf.br ^bb2(%a : i32)
^bb1(%z: i32):
  return %z : i32
^bb2(%x: i32):
  %1 = arith.muli %x, %x : i32
  cf.br ^bb1(%1 : i32)
}
"""
    # The two merges touch the same lines: one per candidate, the next on the text that took it.
    once = checked(MergeBlocks(), text)[0]
    assert once.count("cf.br") == 1
    (twice,) = checked(MergeBlocks(), once)
    assert "cf.br" not in twice and "^bb" not in twice
    assert "%1 = arith.muli %a, %a : i32\n  return %1 : i32\n}" in twice


def test_merged_blocks_verify_with_mlir_opt(mlir_opt, tmp_path):
    for candidate in checked(MergeBlocks(), CFG):
        assert verifies(mlir_opt, tmp_path, candidate) == ""


def test_a_loop_back_to_the_same_block_is_not_merged():
    text = "func.func @f() {\n  cf.br ^bb1\n^bb1:\n  cf.br ^bb1\n}\n"
    assert checked(MergeBlocks(), text) == []


# ----------------------------------------------------- affine literals
AFFINE = """func.func @f(%n: index, %m: memref<8x8xf32>) {
  %c1 = arith.constant 1 : index
  affine.for %i = %c1 to %n {
    %x = affine.load %m[%i + 1, symbol(%n)] : memref<8x8xf32>
    affine.store %x, %m[%i, %c1 * 2] : memref<8x8xf32>
  }
  return
}
"""


def test_affine_operands_become_literals_all_at_once_then_one_by_one():
    found = checked(AffineLiterals(), AFFINE)
    assert "affine.for %i = 0 to 1 {" in found[0]
    assert "%m[0 + 1, 0]" in found[0] and "%m[0, 0 * 2]" in found[0]
    assert any("affine.for %i = %c1 to 1 {" in c for c in found)


def test_affine_literals_verify_with_mlir_opt(mlir_opt, tmp_path):
    for candidate in checked(AffineLiterals(), AFFINE)[:6]:
        assert verifies(mlir_opt, tmp_path, candidate) == ""


def test_map_bounds_are_left_alone():
    text = """#map = affine_map<(d0) -> (d0)>
func.func @f(%n: index) {
  affine.for %i = 0 to #map(%n) {
  }
  return
}
"""
    assert checked(AffineLiterals(), text) == []


# -------------------------------------------------------------- polish
def test_booleans_in_dense_literals_become_integers(mlir_opt, tmp_path):
    text = 'func.func @f() -> vector<2xi1> {\n  %0 = arith.constant dense<[true, false]> : vector<2xi1>\n' \
           '  "a.b"() {s = "true"} : () -> ()\n  return %0 : vector<2xi1>\n}\n'
    found = checked(ShortenBooleans(), text)
    assert "dense<[1, 0]>" in found[0] and '"true"' in found[0]
    assert verifies(mlir_opt, tmp_path, found[0]) == ""


def test_one_result_type_loses_its_parentheses(mlir_opt, tmp_path):
    text = """func.func @f(%c: i1, %a: i32) -> (i32) {
  %0 = scf.if %c -> (i32) {
    scf.yield %a : i32
  } else {
    scf.yield %a : i32
  }
  %1 = "a.b"() : () -> (i32)
  %2:2 = "a.c"() : () -> (i32, i32)
  return %0 : i32
}
func.func private @g() -> (i32 {llvm.noundef})
func.func private @h() -> ((i32) -> i32)
"""
    found = checked(UnwrapResultTypes(), text)
    assert "-> i32 {" in found[0] and "%0 = scf.if %c -> i32 {" in found[0] and "() -> i32\n" in found[0]
    for kept in ("-> (i32, i32)", "-> (i32 {llvm.noundef})", "-> ((i32) -> i32)"):
        assert kept in found[0]
    assert verifies(mlir_opt, tmp_path, found[0]) == ""


def test_generic_op_names_get_one_letter_each():
    text = '%0 = "polygeist.subindex"() : () -> i32\n"polygeist.subindex"(%0) : (i32) -> ()\n' \
           '"other.op"(%0) : (i32) -> ()\narith.addi %0, %0 : i32\n'
    found = checked(ShortenOpNames(), text)
    assert found[0] == '%0 = "a"() : () -> i32\n"a"(%0) : (i32) -> ()\n"b"(%0) : (i32) -> ()\narith.addi %0, %0 : i32\n'
    assert any('"polygeist.subindex"' in c and '"b"' in c for c in found)


# ----------------------------------------------------------- property
@given(mlir_modules())
def test_every_candidate_of_the_last_cuts_is_well_formed(generated):
    text = generated.text
    before = parse(text)
    for pass_ in [*LAST_CUTS, MergeBlocks()]:
        for candidate in candidates(pass_, text, limit=12):
            check_candidate(text, candidate, before)


@pytest.mark.parametrize("name", [
    "real-crashes/mlir22-canonicalize-affine-load-empty-global/input.mlir",
    "real-crashes/mlir19-int-range-ceildivui-sigfpe/input.mlir",
])
def test_last_cuts_on_real_modules_verify_with_mlir_opt(shared_data, mlir_opt, tmp_path, name):
    text = (shared_data / name).read_text()
    for pass_ in [*LAST_CUTS, MergeBlocks()]:
        for candidate in checked(pass_, text, limit=4):
            assert verifies(mlir_opt, tmp_path, candidate) == "", pass_.name
