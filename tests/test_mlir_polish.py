"""The MLIR polish passes: renames, shorter literals and types, dropped attributes, tidier text."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from mlir_strategies import mlir_texts

from carts_reduce.search.driver import Reducer, Settings
from carts_reduce.formats.mlir import def_use_errors, parse
from carts_reduce.passes.base import Pass
from carts_reduce.passes.mlir.polish import POLISH_PASSES
from carts_reduce.passes.mlir.polish_aliases import RenameAliases
from carts_reduce.passes.mlir.polish_attributes import DropAttributes
from carts_reduce.passes.mlir.polish_comments import StripComments
from carts_reduce.passes.mlir.polish_common import dangling_symbols, smaller
from carts_reduce.passes.mlir.polish_labels import RenameLabels
from carts_reduce.passes.mlir.polish_function import UnwrapFunctions
from carts_reduce.passes.mlir.polish_module import UnwrapModule
from carts_reduce.passes.mlir.polish_numbers import ShortenNumbers, exact_float
from carts_reduce.passes.mlir.polish_rename import RenameValues
from carts_reduce.passes.mlir.polish_symbols import RenameSymbols
from carts_reduce.passes.mlir.polish_types import ShortenTypes, variants
from carts_reduce.passes.mlir.polish_unused import DropUnusedNames
from carts_reduce.passes.mlir.polish_whitespace import TidyWhitespace
from carts_reduce.run.tool import Tool

MLIR_OPT_19 = Path("/usr/lib/llvm-19/bin/mlir-opt")
MLIR_OPT_22 = Path("/usr/lib/llvm-22/bin/mlir-opt")


def first(pass_: Pass, text: str) -> str:
    """The pass's first candidate: everything at once."""
    return next(iter(pass_.candidates(text, None)))[1]


def drive(pass_: Pass, text: str, interesting: Callable[[str], bool]) -> str:
    """What the driver does with one pass: first interesting candidate wins, resume at its cursor."""
    cursor = None
    while True:
        for position, candidate in pass_.candidates(text, cursor):
            assert smaller(candidate, text)
            if interesting(candidate):
                text, cursor = candidate, json.loads(json.dumps(position))
                break
        else:
            return text


def assert_sound(candidate: str, original: str) -> None:
    module = parse(candidate)
    assert module.print() == candidate
    assert def_use_errors(module) == []
    assert dangling_symbols(module) <= dangling_symbols(parse(original))
    assert smaller(candidate, original)


# ---------------------------------------------------------------- comments
COMMENTED = """\
// RUN: carts run %s --canonicalize-memrefs | FileCheck %s
// CHECK: func.func @f
func.func @f(%arg0: i32) -> i32 {  // the only function
  // CHECK-NEXT: return
  return %arg0 : i32
}
"""


def test_comments_all_go_in_the_first_candidate_then_ddmin():
    candidates = [c for _, c in StripComments().candidates(COMMENTED, None)]
    assert candidates[0] == "func.func @f(%arg0: i32) -> i32 {\n  return %arg0 : i32\n}\n"
    assert len(candidates) > 4  # halves, then one comment at a time
    for candidate in candidates:
        assert_sound(candidate, COMMENTED)


def test_a_needed_comment_stays_and_the_others_go():
    kept = drive(StripComments(), COMMENTED, lambda text: "CHECK-NEXT" in text)
    assert kept == "func.func @f(%arg0: i32) -> i32 {\n  // CHECK-NEXT: return\n  return %arg0 : i32\n}\n"


def test_a_pass_resumes_at_the_accepted_cursor_instead_of_starting_over():
    text = "".join(f"// note {n}\n" for n in range(16)) + "func.func private @f()\n"
    tested: list[str] = []

    def interesting(candidate: str) -> bool:
        tested.append(candidate)
        return "note 11\n" in candidate

    kept = drive(StripComments(), text, interesting)
    assert kept == "// note 11\nfunc.func private @f()\n"
    # Halves, quarters... of what is left: fewer distinct tests than comments (a repeat is
    # a cache hit in the driver), where starting over would cost one per comment at least.
    assert tested[0] == "func.func private @f()\n" and len(set(tested)) < 8


# ------------------------------------------------------------------ module
def test_the_top_level_module_is_unwrapped_one_level_less_indented():
    text = "#map = affine_map<(d0) -> (d0)>\nmodule {\n  func.func @f() {\n    return\n  }\n}\n"
    assert first(UnwrapModule(), text) == "#map = affine_map<(d0) -> (d0)>\nfunc.func @f() {\n  return\n}\n"
    func = '"func.func"() <{function_type = () -> (), sym_name = "f"}> ({\n}) : () -> ()\n'
    generic = '"builtin.module"() ({\n  ' + func.replace("\n}", "\n  }") + "}) : () -> ()\n"
    assert first(UnwrapModule(), generic) == func


@pytest.mark.parametrize(
    "text",
    [
        "module attributes {a.b = 1} {\n  func.func @f()\n}\n",  # the implicit module has no attributes
        "module @m {\n  func.func @f()\n}\n",  # nor a name
        "module {\n}\nmodule {\n}\n",  # two modules are not one
    ],
)
def test_a_module_that_means_more_than_syntax_stays(text):
    assert list(UnwrapModule().candidates(text, None)) == []


# --------------------------------------------------------------- functions
def test_a_function_body_goes_to_module_level_without_its_return():
    text = "func.func @a() {\n  %0 = test.with_bounds : i1\n  arith.ceildivui %0, %0 : i1\n  return\n}\n"
    assert first(UnwrapFunctions(), text) == "%0 = test.with_bounds : i1\narith.ceildivui %0, %0 : i1\n"
    nested = "module {\n  func.func @a() {\n    %0 = arith.constant 1 : i1\n    return\n  }\n}\n"
    assert first(UnwrapFunctions(), nested) == "module {\n  %0 = arith.constant 1 : i1\n}\n"


def test_the_last_function_goes_first_and_each_candidate_is_sound():
    text = (
        "func.func @a() {\n  %0 = arith.constant 0 : i8\n  return\n}\n"
        "func.func @b() {\n  %1 = arith.constant 1 : i8\n  return\n}\n"
    )
    candidates = [c for _, c in UnwrapFunctions().candidates(text, None)]
    assert len(candidates) == 2 and candidates[0].endswith("%1 = arith.constant 1 : i8\n")
    for candidate in candidates:
        assert_sound(candidate, text)


@pytest.mark.parametrize(
    "text",
    [
        "func.func @a(%x: i1) {\n  arith.addi %x, %x : i1\n  return\n}\n",  # uses its argument
        "func.func @a() {\n  return\n}\nfunc.func @b() {\n  func.call @a() : () -> ()\n  return\n}\n",  # @a is called
        "%0 = arith.constant 0 : i1\nfunc.func @a() {\n  %0 = arith.constant 1 : i1\n  return\n}\n",  # %0 is taken
        "func.func @a() {\n  cf.br ^bb1\n^bb1:\n  return\n}\n",  # several blocks
    ],
)
def test_a_function_whose_body_cannot_stand_alone_stays(text):
    assert [c for _, c in UnwrapFunctions().candidates(text, None) if "@a" not in c] == []


# ------------------------------------------------------------- unused names
def test_names_of_unused_results_are_dropped():
    text = (
        "func.func @f(%a: i32) {\n"
        "  %0 = arith.addi %a, %a : i32\n"
        "  %1 = arith.muli %0, %0 : i32\n"
        '  %p:2, %q = "foo.op"(%a) : (i32) -> (i32, i32, i32)\n'
        "  %r:2 = \"foo.pair\"(%a) : (i32) -> (i32, i32)\n"
        '  "foo.use"(%r#1) : (i32) -> ()\n'
        "  return\n}\n"
    )
    dropped = first(DropUnusedNames(), text)
    assert_sound(dropped, text)
    assert "%0 = arith.addi" in dropped and "\n  arith.muli %0, %0 : i32\n" in dropped
    assert '\n  "foo.op"(%a)' in dropped and '%r:2 = "foo.pair"' in dropped


# ------------------------------------------------------------------ values
VALUES = """\
func.func @f(%arg12: memref<4xf32>, %a: index) -> f32 {
  %alloca_3 = memref.alloca() : memref<4xf32>
  %c320_i64 = arith.constant 320 : i64
  %pair:2 = "test.pair"(%c320_i64) : (i64) -> (f32, f32)
  %0 = memref.load %arg12[%a] : memref<4xf32>
  %sum = arith.addf %0, %pair#1 : f32
  %r = scf.for %iv = %a to %a step %a iter_args(%acc = %sum) -> (f32) {
    %inner = arith.addf %acc, %pair#0 : f32
    scf.yield %inner : f32
  }
  return %r : f32
}
func.func @g(%arg0: i32) -> i32 {
  %long_name = arith.addi %arg0, %arg0 : i32
  return %long_name : i32
}
"""


def test_values_are_renamed_all_at_once_in_order_of_appearance():
    renamed = first(RenameValues(), VALUES)
    assert_sound(renamed, VALUES)
    assert "func.func @f(%b: memref<4xf32>, %a: index)" in renamed  # %a was taken: %arg12 gets %b
    assert "%c = memref.alloca()" in renamed and "%d = arith.constant 320 : i64" in renamed
    assert '%e:2 = "test.pair"(%d)' in renamed  # :2 and #1 kept
    assert "%f = arith.addf %0, %e#1" in renamed and "%r = scf.for" in renamed  # %r: already short
    assert "scf.for %g = %a to %a step %a iter_args(%h = %f)" in renamed and "%i = arith.addf %h, %e#0" in renamed
    assert "func.func @g(%a: i32)" in renamed and "%b = arith.addi %a, %a" in renamed  # names reused per function
    assert "%0 = memref.load" in renamed  # already short


def test_each_subset_of_value_renames_is_well_formed():
    candidates = [c for _, c in RenameValues().candidates(VALUES, None)]
    assert len(candidates) > 10
    for candidate in candidates:
        assert_sound(candidate, VALUES)


def test_a_name_the_failure_needs_is_kept():
    kept = drive(RenameValues(), VALUES, lambda text: "%alloca_3" in text)
    assert "%alloca_3 = memref.alloca()" in kept
    assert "%arg12" not in kept and "%c320_i64" not in kept and "%long_name" not in kept
    assert_sound(kept, VALUES)


def test_values_with_one_name_in_sibling_regions_share_the_new_one():
    text = (
        "func.func @f(%n: index) {\n"
        "  scf.for %arg6 = %n to %n step %n {\n    %tmp = arith.addi %arg6, %arg6 : index\n  }\n"
        "  scf.for %arg6 = %n to %n step %n {\n    %tmp = arith.muli %arg6, %arg6 : index\n  }\n"
        "  return\n}\n"
    )
    renamed = first(RenameValues(), text)
    assert renamed.count("scf.for %a = %n") == 2 and renamed.count("%b = arith") == 2
    assert_sound(renamed, text)


def test_past_one_letter_names_come_two_letter_ones():
    lines = ["func.func @f(%arg0: i32) -> i32 {"]
    previous = "%arg0"
    for n in range(100):
        lines.append(f"  %value_{n} = arith.addi {previous}, %arg0 : i32")
        previous = f"%value_{n}"
    lines += [f"  return {previous} : i32", "}", ""]
    text = "\n".join(lines)
    renamed = first(RenameValues(), text)
    assert_sound(renamed, text)
    names = [line.split(" = ")[0].strip() for line in renamed.splitlines() if " = " in line]
    assert len(set(names)) == 100 and "%9" in names and "%aa" in names and "%bn" not in names


def test_value_renames_verify_with_mlir_opt(shared_data):
    if not MLIR_OPT_22.exists():
        pytest.skip("upstream mlir-opt 22 is not installed (apt-get install mlir-22-tools)")
    source = shared_data / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global" / "input.mlir"
    text = source.read_text()
    for pass_ in (RenameValues(), RenameSymbols(), RenameAliases()):
        renamed = first(pass_, text)
        assert len(renamed) < len(text)
        run = subprocess.run([str(MLIR_OPT_22), "-", "-o", "/dev/null"], input=renamed, capture_output=True, text=True)
        assert run.returncode == 0, (pass_.name, run.stderr[:500])


# ------------------------------------------------------------------ labels
def test_block_labels_are_shortened_with_their_branches():
    text = (
        "func.func @f(%c: i1, %x: i32) -> i32 {\n"
        "  cf.cond_br %c, ^bb12(%x : i32), ^bb7\n"
        "^bb12(%y: i32):\n  cf.br ^bb7\n"
        "^bb7:\n  return %x : i32\n}\n"
    )
    renamed = first(RenameLabels(), text)
    assert renamed == (
        "func.func @f(%c: i1, %x: i32) -> i32 {\n"
        "  cf.cond_br %c, ^a(%x : i32), ^b\n"
        "^a(%y: i32):\n  cf.br ^b\n"
        "^b:\n  return %x : i32\n}\n"
    )


# ----------------------------------------------------------------- symbols
SYMBOLS = """\
module {
  memref.global "private" constant @__constant_0xi8 : memref<0xi8> = dense<>
  llvm.mlir.global internal @"a global" (0 : i32) : i32
  func.func private @printf(i32)
  func.func @kernel_2mm_0() -> memref<0xi8> {
    %0 = memref.get_global @__constant_0xi8 : memref<0xi8>
    %1 = llvm.mlir.addressof @"a global" : !llvm.ptr
    return %0 : memref<0xi8>
  }
  func.func @main() {
    %0 = call @kernel_2mm_0() : () -> memref<0xi8>
    %1 = "test.call"() {callee = @kernel_2mm_0} : () -> i32
    func.call @printf(%1) : (i32) -> ()
    func.call @external(%1) : (i32) -> ()
    return
  }
}
"""


def test_symbols_get_one_letter_names_everywhere():
    renamed = first(RenameSymbols(), SYMBOLS)
    assert_sound(renamed, SYMBOLS)
    assert "constant @a : memref<0xi8>" in renamed and "memref.get_global @a :" in renamed
    assert "internal @b (0 : i32)" in renamed and "llvm.mlir.addressof @b :" in renamed
    assert "func.func private @c(i32)" in renamed and "func.call @c(%1)" in renamed
    assert "func.func @d()" in renamed and "call @d()" in renamed and "{callee = @d}" in renamed
    assert "func.func @e()" in renamed  # @main too
    assert "@external" in renamed  # not defined here: keeps the name the linker knows


def test_generic_sym_name_is_renamed_with_its_references():
    text = (
        '"builtin.module"() ({\n'
        '  "func.func"() <{function_type = () -> (), sym_name = "simple_arith.ceildivui"}> ({\n'
        '    "func.return"() : () -> ()\n  }) : () -> ()\n'
        '  "func.func"() <{function_type = () -> (), sym_name = "caller"}> ({\n'
        '    "func.call"() <{callee = @simple_arith.ceildivui}> : () -> ()\n'
        '    "func.return"() : () -> ()\n  }) : () -> ()\n'
        "}) : () -> ()\n"
    )
    renamed = first(RenameSymbols(), text)
    assert 'sym_name = "a"' in renamed and "callee = @a}" in renamed and 'sym_name = "b"' in renamed
    assert_sound(renamed, text)


# ----------------------------------------------------------------- aliases
def test_aliases_are_renamed_in_every_use():
    text = (
        "#map12 = affine_map<(d0) -> (d0 + 1)>\n"
        "#set = affine_set<(d0) : (d0 >= 0)>\n"
        "!llvm_struct = !llvm.struct<(i32, f32)>\n"
        "func.func @f(%m: memref<4xf32, #map12>, %p: !llvm_struct) {\n"
        "  %0 = affine.apply #map12(%c0)\n"
        "  return\n}\n"
    ).replace("%c0", "%i")
    text = text.replace("func.func @f(", "func.func @f(%i: index, ")
    renamed = first(RenameAliases(), text)
    assert renamed.startswith("#a = affine_map<(d0) -> (d0 + 1)>\n#b = affine_set")
    assert "!a = !llvm.struct<(i32, f32)>" in renamed
    assert "memref<4xf32, #a>" in renamed and "%p: !a)" in renamed and "affine.apply #a(%i)" in renamed
    assert "#map12" not in renamed and "!llvm_struct" not in renamed
    assert_sound(renamed, text)


# ----------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    ("spelled", "short"),
    [("1.000000e+00", "1."), ("0.000000e+00", "0."), ("-0.000000e+00", "-0."), ("1.500000e+01", "15."),
     ("1.000000e-01", "0.1"), ("1.000000e-05", "1.e-5"), ("1.000000e+20", "1.e20"), ("3.14159274", "3.14159274")],
)
def test_floats_are_respelled_exactly(spelled, short):
    assert exact_float(spelled) == short


NUMBERS = """\
func.func @f(%m: memref<20x32xf32>) -> f32 {
  %cst = arith.constant 1.000000e+00 : f32
  %nan = arith.constant 0x7FC00000 : f32
  %c42 = arith.constant 42 : i32
  %neg = arith.constant -17 : i64
  %seven = arith.constant 7 : i32
  %one = arith.constant 1 : i32
  %d = arith.constant dense<[2.500000e+00, 3.000000e+00]> : vector<2xf32>
  %i = arith.constant 25 : index
  %0 = memref.load %m[%i, %i] : memref<20x32xf32>
  return %cst : f32
}
"""


def test_numbers_exact_first_then_splats_zeros_and_ones():
    candidates = [(cursor, c) for cursor, c in ShortenNumbers().candidates(NUMBERS, None)]
    for _, candidate in candidates:
        assert_sound(candidate, NUMBERS)
    by_group: dict[int, str] = {}
    for cursor, candidate in candidates:
        by_group.setdefault(cursor[0], candidate)
    exact, splat, zero, one = (by_group[g] for g in (0, 2, 3, 4))
    assert "arith.constant 1. : f32" in exact and "dense<[2.5, 3.]>" in exact and "42" in exact
    assert "dense<2.500000e+00> : vector<2xf32>" in splat
    assert "constant 0. : f32" in zero and "constant 0 : i32" in zero and "constant 0 : i64" in zero
    assert "0x7FC00000" not in zero and "constant 0. : f32\n  %c42" in zero  # hex float literal: 0.
    assert "%one = arith.constant 1 : i32" in zero  # 1 -> 0 saves nothing: not proposed
    assert "constant 1 : i32" in one and "%seven = arith.constant 1" in one
    assert "memref<20x32xf32>" in zero  # shapes are the types pass's business


def test_attribute_literal_types_go_default_ones_first():
    text = (
        'func.func @f() {\n  %0 = "foo.op"() <{a = 64 : i64, b = 2.5 : f64, c = 3 : i32, d = -1 : i64}> : () -> i32\n'
        "  %1 = arith.constant 5 : i64\n  return\n}\n"
    )
    candidates = [(cursor, c) for cursor, c in ShortenNumbers().candidates(text, None)]
    defaults = next(c for cursor, c in candidates if cursor[0] == 1)
    assert "<{a = 64, b = 2.5, c = 3 : i32, d = -1}>" in defaults
    assert "arith.constant 5 : i64" in defaults  # an op's own ``: type`` is not an attribute's
    others = next(c for cursor, c in candidates if cursor[0] == 5)
    assert "c = 3," in others


def test_only_the_literal_the_crash_needs_keeps_its_value():
    reduced = drive(ShortenNumbers(), NUMBERS, lambda text: "constant 42 :" in text)
    assert "%c42 = arith.constant 42 : i32" in reduced
    assert "%neg = arith.constant 0 : i64" in reduced and "%seven = arith.constant 0 : i32" in reduced
    assert "%cst = arith.constant 1. : f32" in reduced  # respelled; 1 -> 0 would save nothing
    assert "dense<0.> : vector<2xf32>" in reduced and "%i = arith.constant 0 : index" in reduced


# ------------------------------------------------------------------- types
def test_type_variants():
    assert variants("i64") == ["i1", "i8"]
    assert variants("i8") == [] and variants("f64") == [] and variants("index") == []
    assert variants("memref<20x60xf32>") == ["memref<1x1xf32>"]
    assert variants("memref<4x32xf32, strided<[32, 1], offset: ?>>") == [
        "memref<1x1xf32, strided<[32, 1], offset: ?>>",
        "memref<4x32xf32>",
    ]
    assert variants("!llvm.array<10 x i32>") == ["!llvm.array<1 x i32>"]
    assert variants("bf16") == ["f16", "f32"]


def test_a_type_changes_everywhere_at_once_nested_ones_included():
    text = (
        "func.func @f(%a: i64, %m: memref<20x60xi64>) -> i64 {\n"
        "  %0 = arith.addi %a, %a : i64\n"
        '  "test.op"() {seg = array<i64: 1, 2>} : () -> ()\n'
        "  %1 = memref.load %m[%0, %0] : memref<20x60xi64>\n"
        "  return %1 : i64\n}\n"
    ).replace("%m[%0, %0]", "%m[%i, %i]").replace("-> i64 {", "-> i64 {\n  %i = arith.constant 0 : index")
    candidates = [c for _, c in ShortenTypes().candidates(text, None)]
    both = candidates[0]
    assert_sound(both, text)
    assert "i64" not in both.replace("array<i64", "")  # attribute bodies are not value types
    assert both.count("memref<1x1xi1>") == 2 and "func.func @f(%a: i1, %m: memref<1x1xi1>) -> i1" in both
    assert any("memref<1x1xi64>" in c and "%a: i64" in c for c in candidates)  # one rule at a time
    assert any("i8" in c for c in candidates)  # the second variant


# -------------------------------------------------------------- attributes
ATTRIBUTES = """\
module attributes {dlti.dl_spec = #dlti.dl_spec<>, llvm.target_triple = "x86_64"} {
  func.func private @decl(i32)
  memref.global "private" @g : memref<4xf32>
  func.func @f(%arg0: memref<?xf32> {llvm.noalias, llvm.nonnull}) attributes {llvm.linkage = #llvm.linkage<external>} {
    %0 = "test.op"() <{a = 1 : i32, b = "s", c = {d = 2, e}}> {disc = unit} : () -> i32
    %1 = memref.alloc() {alignment = 64 : i64} : memref<4xf32>
    return
  }
}
"""


def test_whole_dictionaries_go_first():
    dropped = first(DropAttributes(), ATTRIBUTES)
    assert_sound(dropped, ATTRIBUTES)
    assert dropped == (
        "module {\n"
        "  func.func private @decl(i32)\n"  # a declaration stays private
        "  memref.global @g : memref<4xf32>\n"
        "  func.func @f(%arg0: memref<?xf32>) {\n"
        '    %0 = "test.op"() : () -> i32\n'
        "    %1 = memref.alloc() : memref<4xf32>\n"
        "    return\n  }\n}\n"
    )


def test_entries_of_a_dictionary_are_dropped_keeping_the_others():
    reduced = drive(DropAttributes(), ATTRIBUTES, lambda text: "b = " in text and "llvm.nonnull" in text)
    assert '%0 = "test.op"() <{b = "s"}> : () -> i32' in reduced
    assert "memref<?xf32> {llvm.nonnull})" in reduced
    assert "module {" in reduced and "alignment" not in reduced


def test_nested_dictionary_entries_are_dropped_too():
    reduced = drive(DropAttributes(), ATTRIBUTES, lambda text: "e}" in text or "{e}" in text)
    assert "c = {e}" in reduced


def test_braces_around_a_region_are_not_a_dictionary():
    text = (
        "func.func @f(%n: index) {\n"
        "  arts.for(%n) to(%n) step(%n) {{\n"
        "  ^bb0(%i: index):\n"
        "    foo.use %i : index\n"
        "  }} {arts.id = 3 : i64}\n"
        "  return\n}\n"
    )
    dropped = first(DropAttributes(), text)
    assert "^bb0(%i: index):" in dropped and "arts.id" not in dropped
    assert_sound(dropped, text)


# -------------------------------------------------------------- whitespace
def test_whitespace_is_tidied_without_reflowing():
    text = 'func.func @f() {   \n\n\n  %0 = "foo.op"()  {s = "a   b"}   : () -> i32  \n  return\n}\n\n\n'
    tidied = first(TidyWhitespace(), text)
    assert tidied == 'func.func @f() {\n  %0 = "foo.op"() {s = "a   b"} : () -> i32\n  return\n}\n'


# -------------------------------------------------------- real reproducers
def test_polish_of_the_real_reproducers(shared_data):
    for case in ("mlir22-canonicalize-affine-load-empty-global", "mlir19-int-range-ceildivui-sigfpe"):
        text = (shared_data / "real-crashes" / case / "reference.mlir").read_text()
        shorter = 0
        for pass_ in POLISH_PASSES:
            for _, candidate in pass_.candidates(text, None):
                assert_sound(candidate, text)
                shorter += 1
        assert shorter >= 4
    case = shared_data / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global"
    text = (case / "reference.mlir").read_text()
    renamed = first(RenameSymbols(), text)
    assert "@__constant_0xi8" not in renamed and "@main" not in renamed and len(renamed) == len(text) - 31


def test_polish_of_carts_custom_syntax(shared_data):
    path = shared_data / "mlir-carts" / "record_dep_duplicate_flag_emit_llvm__22fd8924.mlir"
    if not path.exists():
        pytest.skip(f"{path.name} is not in the shared data")
    text = path.read_text()
    everything = text
    for pass_ in POLISH_PASSES:  # every pass's all-at-once candidate, one after the other
        candidates = pass_.candidates(everything, None)
        found = next(iter(candidates), None)
        if found is not None:
            assert_sound(found[1], everything)
            everything = found[1]
    assert "//" not in everything and "dlti" not in everything
    assert "%f, %g = arts.db_alloc[<inout>, <heap>, <write>, <block>, <uniform>] route(%a : i1)" in everything
    assert "%h, %i = arts.db_acquire[<in>] (%f : memref<?xi1>, %g : memref<?xmemref<?xf64>>)" in everything
    assert "arts.rec_dep %e(%h : memref<?xi1>)\n" in everything  # {acquire_modes = ...} dropped
    assert len(everything) < len(text) // 2


# -------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mlir_texts())
def test_every_candidate_reparses_sound_and_smaller(text):
    for pass_ in POLISH_PASSES:
        for n, (cursor, candidate) in enumerate(pass_.candidates(text, None)):
            if n == 12:
                break
            json.dumps(cursor)  # a stopped run stores it
            assert_sound(candidate, text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mlir_texts())
def test_polish_reaches_a_fixpoint_that_stays_sound(text):
    current = text
    for pass_ in POLISH_PASSES:
        current = drive(pass_, current, lambda candidate: True)
    if current != text:
        assert_sound(current, text)
    for pass_ in (RenameValues(), RenameSymbols(), StripComments()):
        assert next(iter(pass_.candidates(current, None)), None) is None  # nothing left to do


# ------------------------------------------------------------ end to end
def reduce_with_script(case_dir: Path) -> tuple[str, str]:
    import interestingness

    script = case_dir / "interesting.sh"
    original = (case_dir / "reference.mlir").read_text()
    predicate = interestingness.build(["script"], {"script": script}, None)
    reducer = Reducer(original, Tool(input_name="input.mlir"), predicate, [POLISH_PASSES], Settings(jobs=2, timeout=30))

    async def go() -> None:
        await reducer.check_original()
        await reducer.reduce()

    anyio.run(go)
    return original, reducer.best


def still_interesting(case_dir: Path, text: str, tmp_path: Path) -> bool:
    candidate = tmp_path / "input.mlir"
    candidate.write_text(text)
    return subprocess.run([str(case_dir / "interesting.sh"), str(candidate)], cwd=tmp_path).returncode == 0


def non_ws(text: str) -> int:
    return sum(not c.isspace() for c in text)


@pytest.mark.parametrize(
    ("case", "tool"),
    [("mlir22-canonicalize-affine-load-empty-global", MLIR_OPT_22), ("mlir19-int-range-ceildivui-sigfpe", MLIR_OPT_19)],
)
def test_polish_alone_beats_the_hand_made_reproducer(shared_data, tmp_path, case, tool):
    if not tool.exists():
        pytest.skip(f"{tool} is not installed (apt-get install mlir-{tool.parts[3][5:]}-tools)")
    if shutil.which("bash") is None:
        pytest.skip("interesting.sh needs bash")
    case_dir = shared_data / "real-crashes" / case
    original, best = reduce_with_script(case_dir)
    assert len(best.encode()) < len(original.encode()) - 30
    assert non_ws(best) < non_ws(original) - 30
    assert still_interesting(case_dir, best, tmp_path)
