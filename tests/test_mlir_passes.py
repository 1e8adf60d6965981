"""The structural MLIR passes: every candidate well-formed, smaller, and doing its one job.

"Well-formed" is checked on the re-parsed candidate: it prints back byte for
byte, every SSA use resolves, no name is defined twice where MLIR's scoping
would see both, no symbol reference dangles that did not before, and the
candidate is strictly smaller (shortlex on UTF-8 bytes).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given

from carts_reduce.formats.mlir import Module, apply_edits, count_ops, def_use_errors, parse
from carts_reduce.passes.mlir import MLIR_PHASES, STRUCTURAL_PASSES
from carts_reduce.passes.mlir.arguments import DeleteArguments
from carts_reduce.passes.mlir.common import deletion_closure, deletion_edits, parsed
from carts_reduce.passes.mlir.functions import DeclareFunctions, DeleteFunctions
from carts_reduce.passes.mlir.hoist import HoistRegions
from carts_reduce.passes.mlir.locations import DropLocations
from carts_reduce.passes.mlir.ops import DeleteDeadOps, DeleteOps
from carts_reduce.passes.mlir.replace import ReplaceResults
from carts_reduce.passes.mlir.symbols import DropUnusedSymbols
from mlir_strategies import mlir_modules

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------- checks
def redefinitions(module: Module) -> list[str]:
    """Names defined where an earlier definition of the same name is still visible (MLIR rejects these)."""
    found: list[str] = []

    def block(ops, visible: set[str]) -> None:
        local: set[str] = set()
        for op in ops:
            nested(op, visible | local)
            for value in op.results:
                if value.name in visible or value.name in local:
                    found.append(value.name)
                local.add(value.name)

    def nested(op, visible: set[str]) -> None:
        if not op.regions:
            return
        inner = set() if op.isolated else set(visible)
        for value in op.region_args:
            if value.name in inner:
                found.append(value.name)
            inner.add(value.name)
        for region in op.regions:
            args = {a.name for b in region.blocks for a in b.args}
            found.extend(a.name for b in region.blocks for a in b.args if a.name in inner)
            for b in region.blocks:
                block(b.ops, inner | args)

    block(module.body.ops, set())
    return found


def dangling_symbols(module: Module) -> set[str]:
    defined = module.symbols
    return {ref.name for op in module.walk() for ref in op.symbol_refs if ref.name not in defined}


def check_candidate(original: str, candidate: str, before: Module | None = None) -> Module:
    before = before or parse(original)
    module = parse(candidate)
    assert module.print() == candidate
    assert def_use_errors(module) == []
    if not redefinitions(before):
        assert redefinitions(module) == []
    assert dangling_symbols(module) <= dangling_symbols(before)
    a, b = candidate.encode(), original.encode()
    assert (len(a), candidate) < (len(b), original)
    return module


def candidates(pass_, text: str, limit: int = 1000) -> list[str]:
    return [c for _, c in itertools.islice(pass_.candidates(text, None), limit)]


def checked(pass_, text: str, limit: int = 1000) -> list[str]:
    before = parse(text)
    found = candidates(pass_, text, limit)
    for candidate in found:
        check_candidate(text, candidate, before)
    return found


# ------------------------------------------------------------ schedule
def test_schedule_has_structure_then_polish():
    assert len(MLIR_PHASES) == 2
    assert [p.name for p in MLIR_PHASES[0]][:3] == ["mlir-functions", "mlir-locations", "mlir-symbols"]
    assert len({p.name for phase in MLIR_PHASES for p in phase}) == sum(len(phase) for phase in MLIR_PHASES)


# ------------------------------------------------------------ locations
LOCATED = """#loc = loc(unknown)
#loc1 = loc("a.c":1:2)
#loc2 = loc(callsite(#loc1 at #loc))
module {
  func.func @f(%arg0: i32 loc("a.c":3:4)) -> i32 {
    %0 = arith.addi %arg0, %arg0 : i32 loc(#loc2)
    cf.br ^bb1(%0 : i32) loc(#loc1)
  ^bb1(%x: i32 loc(#loc1)):
    return %x : i32 loc(#loc)
  } loc(#loc1)
} loc(#loc)
"""


def test_locations_go_in_one_candidate():
    (candidate,) = checked(DropLocations(), LOCATED)
    assert "loc" not in candidate
    assert "^bb1(%x: i32):" in candidate


def test_a_location_alias_named_by_an_attribute_stays():
    text = '#loc1 = loc("a.c":1:2)\nfunc.func @f() attributes {where = #loc1} {\n  return loc(#loc1)\n}\n'
    (candidate,) = checked(DropLocations(), text)
    assert "#loc1 = loc" in candidate and "return\n" in candidate


# -------------------------------------------------------------- symbols
SYMBOLS = """#map = affine_map<(d0) -> (d0 + 1)>
#unused = affine_map<(d0) -> (d0)>
#chain = affine_map<(d0) -> (d0 * 2)>
!t = !foo.type<#chain>
module attributes {dlti.dl_spec = #dlti.dl_spec<i64 = dense<64> : vector<2xi64>>, llvm.target_triple = "x"} {
  memref.global "private" @used : memref<4xf32>
  memref.global "private" @dead : memref<4xf32>
  llvm.mlir.global internal constant @str("x\\00") {addr_space = 0 : i32}
  func.func private @declared(i32) -> i32
  func.func private @needed(i32)
  func.func @main(%arg0: i32) {
    %0 = memref.get_global @used : memref<4xf32>
    %1 = affine.apply #map(%arg0)
    func.call @needed(%arg0) : (i32) -> ()
    return
  }
}
"""


def test_module_attributes_first_then_all_unused_then_one_by_one():
    found = checked(DropUnusedSymbols(), SYMBOLS)
    assert found[0].startswith(SYMBOLS.split("module attributes")[0] + "module {")
    everything = found[1]
    for gone in ("#unused", "#chain", "!t", "@dead", "@str", "@declared"):
        assert gone not in everything
    for kept in ("#map", "@used", "@needed"):
        assert kept in everything
    # One by one: only what nothing refers to (the `#chain` alias is used by `!t`).
    singles = found[2:]
    assert any("#unused" not in c and "@dead" in c for c in singles)
    assert all("#chain =" in c for c in singles if "!t =" in c)


def test_a_symbol_named_only_in_an_alias_stays():
    text = '#h = #foo.handler<@g>\nfunc.func private @g()\n"foo.use"() {h = #h} : () -> ()\n'
    for _, candidate in DropUnusedSymbols().candidates(text, None):
        assert "@g()" in candidate


# ------------------------------------------------------------ functions
FUNCTIONS = """module {
  func.func @helper(%arg0: i32 loc("a.c":1:1), %arg1: memref<?xf32> {llvm.noalias}) -> i32 attributes {llvm.linkage = #llvm.linkage<internal>} {
    %c1 = arith.constant 1 : i32
    %0 = arith.addi %arg0, %c1 : i32
    return %0 : i32
  } loc("a.c":1:1)
  func.func @other() {
    return
  }
  func.func @main(%m: memref<?xf32>) -> i32 {
    %c0 = arith.constant 0 : i32
    %0 = func.call @helper(%c0, %m) : (i32, memref<?xf32>) -> i32
    %1 = arith.muli %0, %0 : i32
    memref.store %c0, %m[%c0] : memref<?xf32>
    %2 = call @helper(%c0, %m) : (i32, memref<?xf32>) -> i32
    return %2 : i32
  }
}
"""


def test_deleting_a_function_deletes_its_calls_and_their_users():
    found = checked(DeleteFunctions(), FUNCTIONS)
    # @helper's second call feeds `return`: deleting @helper is never offered.
    assert all("func.func @helper" in c for c in found)
    assert any("@other" not in c for c in found)
    assert any("@main" not in c for c in found)  # nothing calls it


def test_deleting_a_function_whose_calls_can_go():
    text = FUNCTIONS.replace("    %2 = call @helper(%c0, %m) : (i32, memref<?xf32>) -> i32\n    return %2 : i32", "    return %c0 : i32")
    found = checked(DeleteFunctions(), text)
    without_helper = [c for c in found if "@helper" not in c]
    assert without_helper
    assert "arith.muli" not in without_helper[0]  # the call's user went with it
    assert "memref.store" in without_helper[0]


def test_a_round_on_its_own_candidate_reuses_the_tree_and_proposes_the_same(shared_data):
    """What the pass remembers of its candidates changes how much it parses, never what it proposes."""
    text = (shared_data / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global" / "input.mlir").read_text()
    remembering = DeleteFunctions()
    current, cursor = text, None
    for step in (0, 3, 1, 5):  # accept the step-th candidate of each round, as the driver would
        proposed = list(itertools.islice(remembering.candidates(current, cursor), step + 1))
        cursor, accepted = proposed[step]
        assert accepted in remembering._cut_from  # the next round goes on from the tree it has
        fresh = [c for _, c in itertools.islice(DeleteFunctions().candidates(accepted, cursor), 20)]
        again = [c for _, c in itertools.islice(remembering.candidates(accepted, cursor), 20)]
        assert again == fresh and fresh
        for candidate in again[:3]:
            check_candidate(accepted, candidate)
        current = accepted
    # A text it did not make starts a new lineage: the old tree is let go.
    list(itertools.islice(remembering.candidates(FUNCTIONS, None), 1))
    assert all(tree.text == FUNCTIONS for tree, _ in remembering._cut_from.values())


def test_declaration_keeps_types_attributes_and_drops_names():
    found = checked(DeclareFunctions(), FUNCTIONS)
    assert len(found) == 1  # @other and @main are not called
    declaration = [line for line in found[0].splitlines() if "@helper(" in line and "func.func" in line][0]
    assert declaration.strip() == (
        "func.func private @helper(i32, memref<?xf32> {llvm.noalias}) -> i32 "
        'attributes {llvm.linkage = #llvm.linkage<internal>} loc("a.c":1:1)'
    )
    assert "arith.addi" not in found[0]


# ------------------------------------------------------------------ ops
OPS = """func.func @f(%arg0: index, %m: memref<?xi32>) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : i32
  %a = arith.addi %c1, %c1 : i32
  %b = arith.muli %a, %c1 : i32
  memref.store %b, %m[%c0] : memref<?xi32>
  %e = foo.region %a {
    %inner = foo.compute %a, %b : i32
    foo.yield %inner : i32
  } : i64
  foo.sink %e : i64
  %r = scf.if %true -> (i32) {
    scf.yield %a : i32
  } else {
    scf.yield %c1 : i32
  }
  bar.effect
  return %c1 : i32
}
"""


def test_deleting_an_op_takes_its_forward_slice():
    text = OPS.replace("%true", "%arg0")
    tree = parsed(text)
    (a,) = [op for op in tree.ops if op.results and op.results[0].name == "%a"]
    candidate = apply_edits(text, deletion_edits(deletion_closure(tree, [a])))
    check_candidate(text, candidate)
    # %b, the store, the custom region op (its yield uses %inner, which uses %a),
    # the sink of its result, and the scf.if whose yield uses %a all go.
    for gone in ("%a =", "arith.muli", "memref.store", "foo.region", "foo.sink", "scf.if"):
        assert gone not in candidate
    assert "bar.effect" in candidate and "return %c1 : i32" in candidate


def test_a_slice_reaching_a_function_return_is_refused():
    tree = parsed(OPS)
    (c1,) = [op for op in tree.ops if op.results and op.results[0].name == "%c1"]
    assert deletion_closure(tree, [c1]) is None


def test_ops_are_tried_last_first_and_supersets_of_refused_deletions_skipped():
    text = """func.func @f(%arg0: i32) {
  %0 = arith.addi %arg0, %arg0 : i32
  %1 = arith.addi %0, %0 : i32
  %2 = arith.addi %1, %1 : i32
  foo.sink %2 : i32
  return
}
"""
    found = checked(DeleteOps(), text)
    # Halves first (last op first), then single ops; deleting %1 or %0 would
    # include the refused deletion of %2 and the sink, so they are not offered.
    singles = [c for c in found if c.count("\n") == text.count("\n") - 1]
    assert [c for c in singles] == [text.replace("  foo.sink %2 : i32\n", "")]


def test_terminators_never_go_alone():
    text = OPS.replace("%true", "%arg0")
    tree = parsed(text)
    for op in tree.ops:  # the slice of every single op, whether the pass offers it or not
        closure = deletion_closure(tree, [op])
        if closure is None:
            continue
        candidate = apply_edits(text, deletion_edits(closure))
        module = check_candidate(text, candidate)
        for kept in module.walk():
            if kept.name in ("func.func", "foo.region", "scf.if"):
                for region in kept.regions:
                    last = region.blocks[0].ops[-1].name
                    assert last in ("return", "foo.yield", "scf.yield"), candidate


def test_a_made_up_op_with_a_typed_region_end_is_one_unit():
    text = OPS.replace("%true", "%arg0")
    found = checked(DeleteOps(), text)
    assert any("foo.region" not in c and "%a =" in c and "foo.sink" not in c for c in found)
    assert not any("} : i64" in c and "foo.region" not in c for c in found)


def test_dead_pure_ops_go_first_together():
    text = """func.func @f(%arg0: i32, %p: !llvm.ptr) {
  %c = arith.constant 3 : i32
  %0 = arith.addi %arg0, %c : i32
  %1 = math.absi %0 : i32
  %2 = llvm.load %p : !llvm.ptr -> i32
  %3 = foo.effect %arg0 : i32
  %used = arith.constant 1 : i32
  foo.sink %used : i32
  return
}
"""
    found = checked(DeleteDeadOps(), text)
    first = found[0]
    for gone in ("%c =", "arith.addi", "math.absi", "llvm.load"):
        assert gone not in first
    assert "foo.effect" in first and "%used" in first
    assert any("foo.effect" not in c for c in found[1:])


# ---------------------------------------------------------------- hoist
def test_hoisting_a_loop_binds_the_induction_variable_and_iter_args():
    text = """func.func @f(%lb: index, %ub: index, %init: i32) -> i32 {
  %r = scf.for %i = %lb to %ub step %lb iter_args(%acc = %init) -> (i32) {
    %x = arith.index_cast %i : index to i32
    %y = arith.addi %acc, %x : i32
    scf.yield %y : i32
  }
  return %r : i32
}
"""
    (candidate,) = checked(HoistRegions(), text)
    assert candidate == """func.func @f(%lb: index, %ub: index, %init: i32) -> i32 {
  %x = arith.index_cast %lb : index to i32
  %y = arith.addi %init, %x : i32
  return %y : i32
}
"""


def test_hoisting_an_if_offers_each_branch():
    text = """func.func @f(%c: i1, %a: i32) -> i32 {
  %r = scf.if %c -> (i32) {
    %t = arith.addi %a, %a : i32
    scf.yield %t : i32
  } else {
    scf.yield %a : i32
  }
  return %r : i32
}
"""
    then, other = checked(HoistRegions(), text)
    assert "%t = arith.addi %a, %a : i32\n  return %t : i32" in then
    assert "scf.if" not in other and "return %a : i32" in other


def test_hoisting_a_custom_op_with_literal_bounds_and_clashing_names():
    text = """func.func @f(%m: memref<4xi32>) {
  affine.for %i loc("a.c":1:1) = 0 to 4 {
    %v = affine.load %m[%i] : memref<4xi32>
    foo.sink %v : i32
  }
  %e = foo.region {
    %v = foo.make : i64
    foo.yield %v : i64
  } : i64
  foo.sink %e : i64
  return
}
"""
    first, second = checked(HoistRegions(), text)
    assert "%c0 = arith.constant 0 : index\n  %hv = affine.load %m[%c0]" in first
    assert "foo.sink %hv : i32" in first
    # The loop's `%v` lived in a region that closed before: no clash, no rename.
    assert "  }\n  %v = foo.make : i64\n  foo.sink %v : i64" in second


WRAPPED = """func.func @f(%A: memref<128xi32>, %sum: memref<?xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  omp.parallel {
    omp.wsloop reduction(@add_i32 %sum -> %prv : memref<?xi32>) {
      omp.loop_nest (%i) : index = (%c0) to (%c128) step (%c1) {
        %val = memref.load %A[%i] : memref<128xi32>
        memref.store %val, %prv[%c0] : memref<?xi32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
"""


def test_a_loop_wrapper_goes_with_its_loop_nest():
    found = checked(HoistRegions(), WRAPPED)
    # The wrapper is hoisted together with the nest, its clause argument bound to its operand.
    assert any("omp.wsloop" not in c and "omp.loop_nest" not in c and "memref.store %val, %sum[%c0]" in c
               and "memref.load %A[%c0]" in c for c in found)
    assert not any("omp.wsloop" in c and "omp.loop_nest" not in c for c in found)
    assert not any("omp.loop_nest" in c and "omp.wsloop" not in c for c in found)
    # Deleting the nest alone would leave an empty wrapper: the wrapper goes too.
    for candidate in checked(DeleteOps(), WRAPPED):
        assert ("omp.wsloop" in candidate) == ("omp.loop_nest" in candidate)


def test_block_arguments_that_mirror_operands_are_bound_to_them():
    text = """func.func @f(%p: memref<?xf32>, %q: memref<?xi32>) {
  %c0 = arith.constant 0 : index
  arts.edt <task> <intranode> route(%c0) (%p, %q) : memref<?xf32>, memref<?xi32> attributes {id = 1 : i64} {
  ^bb0(%a: memref<?xf32>, %b: memref<?xi32>):
    %v = memref.load %a[%c0] : memref<?xf32>
    memref.store %v, %a[%c0] : memref<?xf32>
  }
  return
}
"""
    (candidate,) = checked(HoistRegions(), text)
    assert "  %v = memref.load %p[%c0] : memref<?xf32>\n  memref.store %v, %p[%c0]" in candidate


def test_a_region_argument_that_cannot_be_bound_is_not_hoisted():
    text = """func.func @f(%m: memref<4xf32>) {
  foo.loop %m {
  ^bb0(%t: !foo.token):
    foo.use %t : !foo.token
    foo.yield
  }
  return
}
"""
    assert checked(HoistRegions(), text) == []


# -------------------------------------------------------------- replace
def test_replacing_results_with_arguments_constants_or_a_fresh_zero():
    text = """func.func @f(%arg0: i32, %m: memref<?xf32>, %i: index) -> i1 {
  %0 = foo.make %arg0 : i32
  %1 = memref.load %m[%i] : memref<?xf32>
  %2 = arith.cmpf olt, %1, %1 : f32
  %k = arith.muli %arg0, %arg0 : i32
  %3 = arith.addi %0, %k : i32
  foo.sink %3, %1 : i32, f32
  return %2 : i1
}
"""
    found = checked(ReplaceResults(), text)
    assert len(found) == 6  # one per site, the last one twice (with and without its feeder)
    make, load, compare, square, add, add_alone = found
    assert "foo.make" not in make and "%3 = arith.addi %arg0, %k" in make
    assert "%1 = arith.constant 0.000000e+00 : f32" in load
    assert "%2 = arith.constant false" in compare
    assert "%k =" not in square and "%3 = arith.addi %0, %arg0" in square
    # Replaced by the argument; the pure op that only fed it goes too, the custom one stays.
    assert "foo.sink %arg0, %1" in add and "arith.muli" not in add and "foo.make" in add
    # Refused with its feeders, the replacement is offered alone next.
    assert "foo.sink %arg0, %1" in add_alone and "arith.muli" in add_alone


def test_a_result_of_unknown_type_is_left_alone():
    text = """func.func @f(%a: i32) {
  %x = foo.opaque %a
  foo.sink %x
  return
}
"""
    assert checked(ReplaceResults(), text) == []


# ------------------------------------------------------------ arguments
def test_unused_arguments_go_with_their_operands():
    text = """func.func private @g(%a: i32, %b: f32 {llvm.noundef}, %c: index) -> i32 {
  return %a : i32
}
func.func @main(%x: i32, %y: f32) -> i32 {
  %c0 = arith.constant 0 : index
  %0 = func.call @g(%x, %y, %c0) : (i32, f32, index) -> i32
  cf.br ^bb1(%0, %y : i32, f32)
^bb1(%p: i32, %q: f32):
  return %p : i32
}
"""
    found = checked(DeleteArguments(), text)
    everything = found[0]
    assert "func.func private @g(%a: i32) -> i32" in everything
    assert "func.call @g(%x) : (i32) -> i32" in everything
    assert "cf.br ^bb1(%0 : i32)" in everything and "^bb1(%p: i32):" in everything
    assert "@main(%x: i32, %y: f32) {" in everything  # nobody calls @main: its result goes
    assert "  return\n" in everything


def test_results_of_a_function_nobody_calls_go():
    text = """func.func @main(%x: i32) -> (i32 {llvm.noundef}, f32) attributes {a} {
  %f = arith.constant 1.0 : f32
  return %x, %f : i32, f32 loc("a.c":1:1)
}
func.func @called() -> i32 {
  %c = arith.constant 1 : i32
  return %c : i32
}
func.func @caller() {
  %r = func.call @called() : () -> i32
  return
}
"""
    (candidate,) = checked(DeleteArguments(), text)
    assert "func.func @main(%x: i32) attributes {a} {" in candidate
    assert "  return\n}" in candidate
    assert "@called() -> i32" in candidate


def test_a_function_whose_address_is_taken_keeps_its_signature():
    text = """func.func private @g(%a: i32) {
  return
}
func.func @main() {
  %f = func.constant @g : (i32) -> ()
  return
}
"""
    assert checked(DeleteArguments(), text) == []


# ------------------------------------------------------------- property
@given(mlir_modules())
def test_every_candidate_of_every_pass_is_well_formed(generated):
    text = generated.text
    before = parse(text)
    for pass_ in STRUCTURAL_PASSES:
        for candidate in candidates(pass_, text, limit=12):
            check_candidate(text, candidate, before)


# ------------------------------------------------------------ real data
REAL = [
    "rhs4sg_base__57d19f26.mlir",
]


def corpus_files(shared_data: Path, count: int) -> list[Path]:
    files = sorted((shared_data / "mlir-carts").glob("*.mlir"))
    step = max(1, len(files) // count)
    return files[::step][:count]


def test_real_files_give_well_formed_candidates(shared_data):
    paths = [shared_data / "mlir-carts" / name for name in REAL] + corpus_files(shared_data, 8)
    for path in paths:
        text = path.read_text()
        for pass_ in STRUCTURAL_PASSES:
            checked(pass_, text, limit=15)


UPSTREAM = [
    "llama2-transformer/transformer-2025-11.mlir22.mlir",
    "mlir-carts/openmp_to_arts_forwards_reduction_strategy__d5dc0338.mlir",
    "mlir-carts/sde_vectorization_hints_elementwise__bb5c280d.mlir",
    "real-crashes/mlir22-canonicalize-affine-load-empty-global/input.mlir",
]


@pytest.mark.parametrize("name", UPSTREAM)
def test_candidates_of_an_upstream_module_pass_mlir_opt(shared_data, mlir_opt, tmp_path, name):
    """On a module upstream MLIR can read, its verifier accepts every candidate (types, op rules included)."""
    text = (shared_data / name).read_text()
    file = tmp_path / "candidate.mlir"
    for pass_ in STRUCTURAL_PASSES:
        for candidate in candidates(pass_, text, limit=6):
            file.write_text(candidate)
            result = subprocess.run([str(mlir_opt), "--allow-unregistered-dialect", str(file), "-o", "/dev/null"],
                                    capture_output=True, text=True)
            assert result.returncode == 0, f"{pass_.name}: {result.stderr[:500]}"


def test_passes_are_fast_on_a_big_file(shared_data):
    """Ten renamed copies of rhs4sg (15,000 lines): every pass parses once and edits in O(text)."""
    source = (shared_data / "mlir-carts" / "rhs4sg_base__57d19f26.mlir").read_text()
    head, _, rest = source.partition("\nmodule ")
    header, _, body = rest.partition("\n")
    body, _, tail = body.rpartition("\n}")
    copies = [re.sub(r"@(\w+)", rf"@\1_{n}", body) for n in range(10)]
    text = head + "\nmodule " + header + "\n" + "\n".join(copies) + "\n}" + tail
    assert text.count("\n") > 15000
    parse(text)  # warm-up, and a check that the copies make one sound module
    started = time.perf_counter()
    for pass_ in STRUCTURAL_PASSES:
        candidates(pass_, text, limit=5)
    assert time.perf_counter() - started < 30


# ---------------------------------------------------------- end to end
def test_rhs4sg_with_the_standin_reduces_to_at_most_12_ops(shared_data, standin_carts, tmp_path):
    """The issue's target: the stand-in's nested-memref crash on rhs4sg_base, in at most 12 ops."""
    source = tmp_path / "rhs4sg.mlir"
    shutil.copy(shared_data / "mlir-carts" / "rhs4sg_base__57d19f26.mlir", source)
    source.chmod(0o644)
    output = tmp_path / "reduced.mlir"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "carts_reduce", str(source), "--pass", "canonicalize-memrefs",
         "--carts", str(standin_carts), "-o", str(output), "-j", "2", "-q"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    reduced = output.read_text()
    assert count_ops(reduced) <= 12, reduced
    check = subprocess.run([str(standin_carts), "run", str(output), "--canonicalize-memrefs"], capture_output=True, text=True)
    assert check.returncode != 0
    assert "nested memrefs of more than 2 levels are not supported" in check.stderr
    assert "CanonicalizeMemrefsPass::runOnOperation" in check.stderr
    record = json.loads(Path(f"{output}.json").read_text())
    assert record["tests_run"] < 1000
    print(f"rhs4sg: {count_ops(reduced)} ops, {len(reduced.encode())} bytes, {record['tests_run']} tests, {elapsed:.1f} s")


def test_generic_text_passes_only_offer_mlir_that_parses(shared_data):
    from carts_reduce.formats.mlir import def_use_errors
    from carts_reduce.passes.mlir.wellformed import WellFormed
    from carts_reduce.passes.text import Lines

    text = (shared_data / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global" / "reference.mlir").read_text()
    raw = [c for _, c in Lines().candidates(text, None)]
    kept = [c for _, c in WellFormed(Lines()).candidates(text, None)]
    assert 0 < len(kept) < len(raw)
    for candidate in kept:
        assert def_use_errors(parse(candidate)) == []
