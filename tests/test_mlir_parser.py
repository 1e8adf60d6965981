"""The MLIR op tree: op boundaries in custom and generic form, scopes, symbols, edits."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carts_reduce.formats.mlir import (
    AliasDef,
    MLIRParseError,
    Op,
    apply_edits,
    count_ops,
    def_use_errors,
    parse,
)
from mlir_strategies import GeneratedModule, mlir_modules


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def ops_by_name(text: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for op in parse(text).walk():
        found.setdefault(op.name, []).append(op)
    return found


# ------------------------------------------------------------ op boundaries
CARTS_SAMPLE = src(
    """
    #map = affine_map<(d0) -> (d0)>
    module attributes {llvm.target_triple = "aarch64"} {
      func.func @main(%arg0: memref<?xf64>) -> i32 attributes {llvm.linkage = #llvm.linkage<external>} {
        %c0 = arith.constant 0 : index
        %c-1_i32 = arith.constant -1 : i32
        %16 = polygeist.subindex %arg0[%c0] () : memref<?xf64> -> memref<?xf64>
        %guid, %ptr = arts.db_alloc[<inout>, <heap>, <write>] route(%c-1_i32 : i32) sizes[%c0] elementType(f64) : (memref<?xi64>, memref<?xmemref<?xf64>>)
        %epoch = arts.epoch {
          arts.edt <task> <intranode> route(%c-1_i32) {
            memref.store %c0, %16[%c0] : memref<?xf64>
          }
        } : i64
        return %c-1_i32 : i32
      }
    }
    """
)


def test_custom_ops_of_unknown_dialects() -> None:
    module = parse(CARTS_SAMPLE)
    assert module.print() == CARTS_SAMPLE
    names = [op.name for op in module.walk()]
    assert names == [
        "module",
        "func.func",
        "arith.constant",
        "arith.constant",
        "polygeist.subindex",
        "arts.db_alloc",
        "arts.epoch",
        "arts.edt",
        "memref.store",
        "return",
    ]
    epoch = next(op for op in module.walk() if op.name == "arts.epoch")
    assert epoch.text.startswith("%epoch = arts.epoch {") and epoch.text.endswith("} : i64")
    assert epoch.result_types == "i64"
    alloc = next(op for op in module.walk() if op.name == "arts.db_alloc")
    assert [v.name for v in alloc.results] == ["%guid", "%ptr"]
    assert [u.name for u in alloc.operands] == ["%c-1_i32", "%c0"]
    subindex = next(op for op in module.walk() if op.name == "polygeist.subindex")
    assert subindex.result_types == "memref<?xf64>"
    assert def_use_errors(module) == []


def test_attribute_dicts_are_not_regions() -> None:
    text = src(
        """
        func.func @f() attributes {llvm.linkage = #llvm.linkage<external>} {
          scf.for %i = %a to %b step %c {
            memref.store %x, %m[%i] : memref<?xf64>
          } {arts.id = 53 : i64, arts.loop = #arts.loop_metadata<tripCount = 256 : i64>}
          llvm.func @g(%p: !llvm.ptr {llvm.noalias, llvm.nocapture}) -> (i32 {llvm.zeroext})
          return
        }
        """
    )
    found = ops_by_name(text)
    assert len(found["func.func"][0].regions) == 1
    loop = found["scf.for"][0]
    assert len(loop.regions) == 1 and loop.text.endswith("tripCount = 256 : i64>}")
    assert not found["llvm.func"][0].regions


def test_multiline_attribute_dict_and_properties() -> None:
    text = src(
        """
        module attributes {
          foo.a = 1 : i32,
          foo.b = "x"
        } {
          %0 = "test.with_bounds"() <{
            smax = 0 : i32,
            umin = -1 : i32
          }> : () -> i32
          linalg.generic
              {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                affine_map<(d0, d1) -> (d0)>],
               iterator_types = ["parallel", "reduction"]}
              ins(%0 : memref<8x4xf32>)
              outs(%0 : memref<8xf32>) {
            ^bb0(%in: f32, %out: f32):
              linalg.yield %in : f32
          }
        }
        """
    )
    module = parse(text)
    assert [op.name for op in module.walk()] == ["module", "test.with_bounds", "linalg.generic", "linalg.yield"]
    assert len(module.ops[0].regions) == 1
    generic = module.ops[0].regions[0].blocks[0].ops[1]
    assert [a.name for a in generic.regions[0].blocks[0].args] == ["%in", "%out"]
    assert def_use_errors(module) == []


def test_ops_continued_over_lines() -> None:
    text = src(
        """
        func.func @f(%d: tensor<8xi32>) {
          %token = arts_sde.mu_token <write> %d
            : tensor<8xi32> -> !arts_sde.token<tensor<8xi32>>
          %r = arts_sde.cu_codelet (%token
                : !arts_sde.token<tensor<8xi32>>) -> (tensor<8xi32>) {
          ^bb0(%arg: tensor<8xi32>):
            arts_sde.yield %arg : tensor<8xi32>
          }
          cf.switch %c : i32, [
            default: ^bb2,
            99: ^bb1
          ]
          return
        }
        """
    )
    found = ops_by_name(text)
    token = found["arts_sde.mu_token"][0]
    assert token.text.endswith("!arts_sde.token<tensor<8xi32>>")
    codelet = found["arts_sde.cu_codelet"][0]
    assert [u.name for u in codelet.operands] == ["%token"]
    assert [s.name for s in found["cf.switch"][0].successors] == ["^bb2", "^bb1"]


def test_region_followed_by_more_of_the_op() -> None:
    text = src(
        """
        %a, %b, %c, %c0, %c1, %c4 = foo.init : i32, i32, i1, index, index, index
        %r = scf.if %c -> (i32) {
          scf.yield %a : i32
        } else {
          scf.yield %b : i32
        } loc(#loc3)
        %w:2 = scf.while (%x = %a, %y = %b) : (i32, i32) -> (i32, i32) {
          scf.condition(%c) %x, %y : i32, i32
        } do {
        ^bb0(%x2: i32, %y2: i32):
          scf.yield %x2, %y2 : i32, i32
        }
        %e = arts.for(%c0) to(%c4) step(%c1) {{
        ^bb0(%i: index):
          foo.use %i : index
        }} {depPattern = #arts.dep_pattern<matmul>}
        #loc3 = loc("a.c":1:2)
        """
    )
    module = parse(text)
    _, if_op, while_op, for_op = module.ops
    assert def_use_errors(module) == []
    assert len(if_op.regions) == 2 and if_op.locs and if_op.text.endswith("loc(#loc3)")
    assert [r.name for r in if_op.alias_refs] == ["#loc3"]
    assert len(while_op.regions) == 2
    assert [v.name for v in while_op.region_args] == ["%x", "%y"]
    assert while_op.results[0].count == 2
    assert for_op.text.endswith("#arts.dep_pattern<matmul>}") and len(for_op.regions) == 1
    assert module.aliases[0].name == "#loc3"


def test_generic_form() -> None:
    text = src(
        """
        "builtin.module"() ({
          "func.func"() <{function_type = (i32) -> (), sym_name = "f"}> ({
          ^bb0(%arg0: i32):
            %0:2 = "foo.pair"(%arg0) : (i32) -> (i32, i32)
            "scf.if"(%0#1) ({
              "func.call"(%0#0) <{callee = @f}> : (i32) -> ()
              "scf.yield"() : () -> ()
            }, {
            }) : (i32) -> ()
            "func.return"() : () -> ()
          }) {llvm.linkage = #llvm.linkage<external>} : () -> ()
        }) : () -> ()
        """
    )
    module = parse(text)
    assert module.print() == text
    func = module.ops[0].regions[0].blocks[0].ops[0]
    assert func.generic and func.name == "func.func" and func.symbol.name == "@f" and func.isolated
    scf_if = next(op for op in module.walk() if op.name == "scf.if")
    assert len(scf_if.regions) == 2 and scf_if.regions[1].blocks == []
    assert [(u.name, u.index) for u in scf_if.operands] == [("%0", 1)]
    call = next(op for op in module.walk() if op.name == "func.call")
    assert [r.name for r in call.symbol_refs] == ["@f"]
    assert count_ops(text) == 7
    assert def_use_errors(module) == []


def test_top_level_without_module_and_split_markers() -> None:
    text = src(
        """
        // RUN: carts run %s --create-dbs | FileCheck %s
        {-# dialect_resources: { builtin: { blob: "0x0400" } } #-}
        func.func @a() {
          return
        }

        // -----

        module {}
        module @named attributes {foo.x} {
          func.func private @decl(%arg0: i32) -> ()
        }
        """
    )
    module = parse(text)
    assert [op.name for op in module.ops] == ["func.func", "module", "module"]
    assert len(module.metadata) == 1
    assert module.ops[2].symbol.name == "@named"
    assert len(module.ops[1].regions) == 1
    assert def_use_errors(module) == []


# ------------------------------------------------------------------ scopes
def test_region_arguments_defined_by_headers() -> None:
    text = src(
        """
        func.func @f(%arg0: i32, %lb: index, %ub: index) {
          affine.for %arg3 loc("a.c":2:3) = 0 to 64 {
            %s = scf.for %i = %lb to %ub step %lb iter_args(%acc = %arg0) -> (i32) {
              scf.yield %acc : i32
            }
          }
          omp.wsloop {
            omp.loop_nest (%iv) : index = (%lb) to (%ub) step (%lb) {
              foo.use %iv : index
              omp.yield
            }
          }
          scf.parallel (%p, %q) = (%lb, %lb) to (%ub, %ub) step (%lb, %lb) {
            foo.use %p, %q : index
            scf.reduce
          }
          omp.wsloop reduction(@add %arg0 -> %prv : i32) {
            foo.use %prv : i32
          }
          return
        }
        """
    )
    module = parse(text)
    assert def_use_errors(module) == []
    found = {op.name: op for op in module.walk()}
    assert [v.name for v in found["func.func"].region_args] == ["%arg0", "%lb", "%ub"]
    assert [v.name for v in found["affine.for"].region_args] == ["%arg3"]
    assert [v.name for v in found["scf.for"].region_args] == ["%i", "%acc"]
    assert [u.name for u in found["scf.for"].operands] == ["%lb", "%ub", "%lb", "%arg0"]
    assert [v.name for v in found["omp.loop_nest"].region_args] == ["%iv"]
    assert [v.name for v in found["scf.parallel"].region_args] == ["%p", "%q"]
    reduction = [op for op in module.walk() if op.name == "omp.wsloop"][1]
    assert [v.name for v in reduction.region_args] == ["%prv"]
    assert [u.name for u in reduction.operands] == ["%arg0"]
    assert [r.name for r in reduction.symbol_refs] == ["@add"]


def test_typed_header_names_are_operands_when_the_entry_block_is_labelled() -> None:
    text = src(
        """
        func.func @f(%c: i32) {
          %ptr_1 = foo.alloc : memref<?xf64>
          arts.edt <task> <intranode> route(%c) (%ptr_1) : memref<?xf64> attributes {arts.id = 7 : i64} {
          ^bb0(%arg2: memref<?xf64>):
            foo.use %arg2 : memref<?xf64>
          }
          return
        }
        """
    )
    module = parse(text)
    edt = next(op for op in module.walk() if op.name == "arts.edt")
    assert [u.name for u in edt.operands] == ["%c", "%ptr_1"] and not edt.region_args
    alloc = next(op for op in module.walk() if op.name == "foo.alloc")
    broken = parse(apply_edits(text, [(*alloc.line_span(), "")]))
    assert [e.split(": ", 1)[1] for e in def_use_errors(broken)] == ["use of undefined value %ptr_1 in 'arts.edt'"]


def test_deleted_loop_bound_is_an_undefined_use() -> None:
    text = "func.func @f() {\n  scf.for %i = %lb to %ub step %s {\n  }\n  return\n}\n"
    errors = def_use_errors(parse(text))
    assert [e.rsplit(" ", 3)[1] for e in errors] == ["%lb", "%ub", "%s"]


def test_undefined_and_out_of_order_uses_are_reported() -> None:
    text = src(
        """
        func.func @f(%a: i32) {
          %x = foo.op %y : i32
          %y = foo.op %a : i32
          foo.use %nowhere : i32
          return
        }
        """
    )
    errors = def_use_errors(parse(text))
    assert len(errors) == 2
    assert errors[0].startswith("2:15:") and "%y" in errors[0]
    assert "%nowhere" in errors[1]


def test_isolated_ops_hide_outer_values() -> None:
    text = src(
        """
        %outer = foo.op : i32
        foo.region {
          foo.use %outer : i32
        }
        func.func @f() {
          foo.use %outer : i32
          return
        }
        """
    )
    errors = def_use_errors(parse(text))
    assert len(errors) == 1 and errors[0].startswith("6:11:")


def test_values_of_nested_regions_do_not_leak() -> None:
    text = src(
        """
        func.func @f(%c: i1) {
          scf.if %c {
            %inner = foo.op : i32
          }
          foo.use %inner : i32
          return
        }
        """
    )
    assert len(def_use_errors(parse(text))) == 1


def test_cfg_regions_accept_values_of_other_blocks() -> None:
    text = src(
        """
        func.func @f(%c: i1) {
          cf.cond_br %c, ^bb1, ^bb2
        ^bb1:
          foo.use %late : i32
          cf.br ^bb2
        ^bb2:
          %late = foo.op : i32
          return
        }
        """
    )
    module = parse(text)
    assert def_use_errors(module) == []
    func = module.ops[0]
    assert [b.label for b in func.regions[0].blocks] == [None, "^bb1", "^bb2"]


def test_uses_link_to_definitions() -> None:
    module = parse(CARTS_SAMPLE)
    func = module.ops[0].regions[0].blocks[0].ops[0]
    c0 = func.regions[0].blocks[0].ops[0].results[0]
    assert c0.name == "%c0"
    users = [u.user.name for u in c0.uses]
    assert users == ["polygeist.subindex", "arts.db_alloc", "memref.store", "memref.store"]
    assert all(u.value is c0 for u in c0.uses)
    store = next(op for op in module.walk() if op.name == "memref.store")
    assert store.parent_op.name == "arts.edt"
    assert store.parent_region is store.parent_op.regions[0]
    assert [d.name for d in func.definitions()] == ["%arg0"]


# ------------------------------------------------------------------- types
def arg_types(op) -> dict[str, str | None]:
    return {v.name: v.type for v in op.definitions() if v.kind != "result"}


def test_types_of_header_and_block_arguments() -> None:
    text = src(
        """
        func.func @f(%arg0: i32 {llvm.noalias} loc("a.c":1:2),
                     %arg1: memref<?xf64>, %fn: (i32) -> i64, %s: !llvm.struct<(i32, ptr)>,
                     %x: f32, %y: i64, %z: i64, %lb: index, %ub: index, %lo: i32, %hi: i32, %st: i32, %cond: i1) {
          %r:2 = scf.for %i = %lb to %ub step %lb iter_args(%a = %x, %b = %arg1) -> (f32, memref<?xf64>) {
            scf.yield %a, %b : f32, memref<?xf64>
          }
          %q = scf.for %k = %lo to %hi step %st iter_args(%acc = %z) -> i64 : i32 {
            scf.yield %acc : i64
          }
          affine.for %j loc("a.c":3:4) = 0 to 10 {
          }
          omp.loop_nest (%u, %v) : i64 = (%lo, %lo) to (%hi, %hi) step (%st, %st) {
            omp.yield
          }
          omp.wsloop for (%w) : index = (%lo) to (%hi) step (%st) {
            omp.yield
          }
          scf.parallel (%p) = (%lb) to (%ub) step (%lb) {
            scf.reduce
          }
          %t:2 = scf.while (%c = %x, %d = %y) : (f32, i64) -> (f32, i64) {
            scf.condition(%cond) %c, %d : f32, i64
          } do {
          ^bb0(%c2: f32, %d2: i64):
            scf.yield %c2, %d2 : f32, i64
          }
          foo.loop (%n) = (%lo) to (%hi) {
          }
          cf.br ^bb1(%x : f32)
        ^bb1(%e: f32 loc("a.c":5:6), %g: vector<4xi64>):
          return
        }
        """
    )
    module = parse(text)
    assert def_use_errors(module) == []
    found = ops_by_name(text)
    assert arg_types(found["func.func"][0]) == {
        "%arg0": "i32",
        "%arg1": "memref<?xf64>",
        "%fn": "(i32) -> i64",
        "%s": "!llvm.struct<(i32, ptr)>",
        "%x": "f32",
        "%y": "i64",
        "%z": "i64",
        "%lb": "index",
        "%ub": "index",
        "%lo": "i32",
        "%hi": "i32",
        "%st": "i32",
        "%cond": "i1",
        "%e": "f32",
        "%g": "vector<4xi64>",
    }
    assert arg_types(found["scf.for"][0]) == {"%i": "index", "%a": "f32", "%b": "memref<?xf64>"}
    assert arg_types(found["scf.for"][1]) == {"%k": "i32", "%acc": "i64"}
    assert arg_types(found["affine.for"][0]) == {"%j": "index"}
    assert arg_types(found["omp.loop_nest"][0]) == {"%u": "i64", "%v": "i64"}
    assert arg_types(found["omp.wsloop"][0]) == {"%w": "index"}
    assert arg_types(found["scf.parallel"][0]) == {"%p": "index"}
    assert arg_types(found["scf.while"][0]) == {"%c": "f32", "%d": "i64", "%c2": "f32", "%d2": "i64"}
    assert arg_types(found["foo.loop"][0]) == {"%n": None}  # an unknown op's syntax does not say


def test_types_of_clause_arguments_in_both_printer_styles() -> None:
    text = src(
        """
        func.func @f(%x: !llvm.ptr, %y: memref<?xi32>) {
          omp.parallel private(@p %x -> %p1 : !llvm.ptr, @q %y -> %p2 : memref<?xi32>) {
            omp.terminator
          }
          omp.parallel reduction(@add %x -> %r1, byref @mul %y -> %r2 : !llvm.ptr, memref<?xi32>) {
            omp.terminator
          }
          return
        }
        """
    )
    first, second = ops_by_name(text)["omp.parallel"]
    assert arg_types(first) == {"%p1": "!llvm.ptr", "%p2": "memref<?xi32>"}
    assert arg_types(second) == {"%r1": "!llvm.ptr", "%r2": "memref<?xi32>"}
    assert [u.name for u in second.operands] == ["%x", "%y"]


def test_declaration_arguments_are_typed() -> None:
    module = parse("func.func private @decl(%arg0: i32, %arg1: memref<?xmemref<?xi8>>) -> i32\n")
    typed = [(v.name, v.type) for v in module.ops[0].region_args]
    assert typed == [("%arg0", "i32"), ("%arg1", "memref<?xmemref<?xi8>>")]


# ----------------------------------------------------------- redefinitions
# (text, where each redefinition is reported). Every text is otherwise valid
# upstream MLIR, so mlir-opt must agree (checked below).
REDEFINITIONS = {
    "same block": (
        src(
            """
            func.func @f() {
              %x = arith.constant 1 : i32
              %x = arith.constant 1 : i32
              return
            }
            """
        ),
        ["3:3"],
    ),
    "one op's results": (
        src(
            """
            func.func @f() {
              %x, %x = "foo.a"() : () -> (i32, i32)
              return
            }
            """
        ),
        ["2:7"],
    ),
    "result group": (
        src(
            """
            func.func @f() {
              %x:2 = "foo.a"() : () -> (i32, i32)
              %x = "foo.a"() : () -> i32
              return
            }
            """
        ),
        ["3:3"],
    ),
    "function argument": (
        src(
            """
            func.func @f(%a: i32) {
              %a = arith.constant 1 : i32
              return
            }
            """
        ),
        ["2:3"],
    ),
    "in a nested region": (
        src(
            """
            func.func @f(%c: i1) {
              %x = arith.constant 1 : i32
              scf.if %c {
                %x = arith.constant 1 : i32
              }
              return
            }
            """
        ),
        ["4:5"],
    ),
    "loop variable": (
        src(
            """
            func.func @f(%a: index) {
              scf.for %a = %a to %a step %a {
              }
              return
            }
            """
        ),
        ["2:11"],
    ),
    "iter_args": (
        src(
            """
            func.func @f(%a: index, %i: i32) {
              %r = scf.for %k = %a to %a step %a iter_args(%i = %i) -> (i32) {
                scf.yield %i : i32
              }
              return
            }
            """
        ),
        ["2:48"],
    ),
    "another block": (
        src(
            """
            func.func @f() {
              %x = arith.constant 1 : i32
              cf.br ^bb1
            ^bb1:
              %x = arith.constant 1 : i32
              return
            }
            """
        ),
        ["5:3"],
    ),
    "block argument": (
        src(
            """
            func.func @f() {
              %x = arith.constant 1 : i32
              cf.br ^bb1(%x : i32)
            ^bb1(%x: i32):
              return
            }
            """
        ),
        ["4:6"],
    ),
    "a later block first": (
        src(
            """
            func.func @f() {
              cf.br ^bb2
            ^bb1:
              %x = arith.constant 1 : i32
              return
            ^bb2:
              %x = arith.constant 1 : i32
              cf.br ^bb1
            }
            """
        ),
        ["7:3"],
    ),
    "entry block of an unregistered op": (
        src(
            """
            func.func @f() {
              %x = arith.constant 1 : i32
              "foo.wrap"() ({
              ^bb0(%x: i32):
                "foo.end"() : () -> ()
              }) : () -> ()
              return
            }
            """
        ),
        ["4:8"],
    ),
    # An isolated op hides outer values from uses, but not from the parser's name scope.
    "function nested in a function": (
        src(
            """
            func.func @f() {
              %x = arith.constant 1 : i32
              "foo.wrap"() ({
                func.func @g() {
                  %x = arith.constant 1 : i32
                  return
                }
                "foo.end"() : () -> ()
              }) : () -> ()
              return
            }
            """
        ),
        ["5:7"],
    ),
    "function argument of a nested function": (
        src(
            """
            %x = "foo.a"() : () -> i32
            func.func @f(%x: i32) {
              return
            }
            """
        ),
        ["2:14"],
    ),
    "nested module": (
        src(
            """
            module {
              %x = "foo.a"() : () -> i32
              module {
                %x = "foo.a"() : () -> i32
              }
            }
            """
        ),
        ["4:5"],
    ),
    # Valid: a region's names are forgotten when it ends.
    "after a nested region": (
        src(
            """
            func.func @f(%c: i1) {
              scf.if %c {
                %x = arith.constant 1 : i32
              }
              %x = arith.constant 1 : i32
              return
            }
            """
        ),
        [],
    ),
    "result named like inner values": (
        src(
            """
            func.func @f(%c: i1) {
              %x = scf.if %c -> (i32) {
                %x = arith.constant 1 : i32
                scf.yield %x : i32
              } else {
                %x = arith.constant 1 : i32
                scf.yield %x : i32
              }
              return
            }
            """
        ),
        [],
    ),
    "sibling functions": (
        src(
            """
            func.func @f(%a: i32) {
              %x = arith.constant 1 : i32
              return
            }
            func.func @g(%a: i32) {
              %x = arith.constant 1 : i32
              return
            }
            """
        ),
        [],
    ),
    "sibling modules": (
        src(
            """
            module {
              %x = "foo.a"() : () -> i32
            }
            module {
              %x = "foo.a"() : () -> i32
            }
            """
        ),
        [],
    ),
    "block argument after a nested region": (
        src(
            """
            func.func @f(%c: i1, %y: i32) {
              scf.if %c {
                %x = arith.constant 1 : i32
              }
              cf.br ^bb1(%y : i32)
            ^bb1(%x: i32):
              return
            }
            """
        ),
        [],
    ),
    "scf.while regions": (
        src(
            """
            func.func @f(%i: i32) {
              %r = scf.while (%a = %i) : (i32) -> i32 {
                %c = arith.constant true
                scf.condition(%c) %a : i32
              } do {
              ^bb0(%a: i32):
                %c = arith.constant true
                scf.yield %a : i32
              }
              return
            }
            """
        ),
        [],
    ),
}

@pytest.mark.parametrize("case", list(REDEFINITIONS))
def test_redefinitions_are_reported(case: str) -> None:
    text, expected = REDEFINITIONS[case]
    module = parse(text)
    assert module.print() == text
    errors = def_use_errors(module)
    assert all("redefinition of value" in e for e in errors)
    assert [e.split(":", 2)[0] + ":" + e.split(":", 2)[1] for e in errors] == expected
    assert len(module.redefinitions) == len(expected)
    for value, earlier in module.redefinitions:
        assert value.name == earlier.name and earlier.start < value.start


@pytest.mark.parametrize("case", list(REDEFINITIONS))
def test_redefinitions_agree_with_mlir_opt(case: str, mlir_opt: Path) -> None:
    text, expected = REDEFINITIONS[case]
    command = [str(mlir_opt), "--allow-unregistered-dialect", "-"]
    result = subprocess.run(command, input=text, capture_output=True, text=True, timeout=60, check=False)
    if expected:
        assert result.returncode != 0
        assert f"<stdin>:{expected[0]}: error:" in result.stderr
        assert "redefinition" in result.stderr or "already in use" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------- symbols
def test_symbol_definitions_and_references() -> None:
    text = src(
        """
        module {
          llvm.mlir.global internal constant @str0("hi\\00") {addr_space = 0 : i32}
          memref.global "private" constant @table : memref<4xi32> = dense<[1, 2, 3, 4]>
          llvm.func @malloc(i64) -> !llvm.ptr
          func.func private @"quoted name"(i32)
          arts_sde.mu_reduction_decl @sum_i32 : i32 kind(<add>) identity(0 : i32)
          func.func @main() {
            %p = llvm.mlir.addressof @str0 : !llvm.ptr
            %t = memref.get_global @table : memref<4xi32>
            func.call @"quoted name"(%c) : (i32) -> ()
            return
          }
        }
        """
    )
    module = parse(text)
    assert set(module.symbols) == {"@str0", "@table", "@malloc", '@"quoted name"', "@sum_i32", "@main"}
    assert [op.name for op, _ in module.symbol_uses("@str0")] == ["llvm.mlir.addressof"]
    assert [op.name for op, _ in module.symbol_uses("@table")] == ["memref.get_global"]
    assert [op.name for op, _ in module.symbol_uses('@"quoted name"')] == ["func.call"]


def test_alias_references() -> None:
    text = src(
        """
        #map = affine_map<(d0) -> (d0 + 1)>
        !t = !llvm.struct<(i32, ptr)>
        func.func @f(%m: memref<?xf32, #map>) -> !t {
          %0 = affine.apply #map(%c) loc(#loc2)
          return %x : !t
        }
        #loc1 = loc("a.c":1:1)
        #loc2 = loc(callsite(#loc1 at #loc1))
        """
    )
    module = parse(text)
    assert [a.name for a in module.aliases] == ["#map", "!t", "#loc1", "#loc2"]
    assert [type(owner).__name__ for owner, _ in module.alias_uses("#map")] == ["Op", "Op"]
    assert len(module.alias_uses("#loc1")) == 2
    assert len(module.alias_uses("!t")) == 2
    assert text[slice(*module.alias_uses("#loc2")[0][1][1:])] == "#loc2"


def test_symbol_references_inside_attributes() -> None:
    text = src(
        """
        #alias = #foo.attr<@in_alias>
        #dict = {callee = @in_dict_alias, list = [@in_list_alias]}
        module @outer {
          func.func private @f() attributes {a = #foo.attr<@in_attr>, b = {callee = @in_dict}, c = [@x, @y]}
          func.call @outer::@inner() : () -> ()
          foo.op {r = #foo<[@in_body, "@in_string", @"quoted name"]>} : memref<?xf32, #foo.layout<@in_type>>
          "foo.gen"() <{callee = @in_properties}> : () -> ()
          foo.region @nested::@name {
          }
        }
        """
    )
    module = parse(text)
    assert module.print() == text
    refs = {op.name: [r.name for r in op.symbol_refs] for op in module.walk()}
    assert refs["func.func"] == ["@in_attr", "@in_dict", "@x", "@y"]
    assert refs["func.call"] == ["@outer", "@inner"]
    assert refs["foo.op"] == ["@in_body", '@"quoted name"', "@in_type"]
    assert refs["foo.gen"] == ["@in_properties"]
    assert refs["foo.region"] == ["@nested", "@name"]  # a nested reference defines nothing
    assert set(module.symbols) == {"@outer", "@f"}
    for op in module.walk():
        assert all(text[r.start : r.end] == r.name for r in op.symbol_refs)
    alias, table = module.aliases
    assert [r.name for r in alias.symbol_refs] == ["@in_alias"]
    assert [r.name for r in table.symbol_refs] == ["@in_dict_alias", "@in_list_alias"]
    assert [type(owner) for owner, _ in module.symbol_uses("@in_alias")] == [AliasDef]
    assert [type(owner) for owner, _ in module.symbol_uses("@in_type")] == [Op]
    assert {"@in_alias", "@in_list_alias", "@in_attr", "@inner", "@in_type"} <= module.referenced_symbols()
    assert "@in_string" not in module.referenced_symbols()


def test_a_function_named_only_in_an_attribute_is_used() -> None:
    text = src(
        """
        module {
          func.func private @callback(i32)
          func.func private @unused(i32)
          func.func private @aliased(i32)
          foo.register {handler = #foo.handler<@callback>}
        }
        #cb = #foo.handler<@aliased>
        """
    )
    module = parse(text)
    assert [op.name for op, _ in module.symbol_uses("@callback")] == ["foo.register"]
    assert module.symbol_uses("@unused") == []
    assert [owner.name for owner, _ in module.symbol_uses("@aliased")] == ["#cb"]
    assert module.referenced_symbols() == {"@callback", "@aliased"}


# ----------------------------------------------------------------- counting
def test_count_ops_adds_implicit_terminators_and_module() -> None:
    text = src(
        """
        func.func @f(%c: i1, %n: index) {
          affine.for %i = 0 to 10 {
          }
          scf.if %c {
            foo.op
          } else {
            foo.op
          }
          %r = scf.for %j = %n to %n step %n iter_args(%a = %n) -> (index) {
            scf.yield %a : index
          }
          return
        }
        """
    )
    # implicit module + func + for + yield + if + 2 ops + 2 yields + for + yield + return
    assert count_ops(text) == 12
    assert count_ops("module {\n}\n") == 1
    assert count_ops("// nothing\n") == 1


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        ("func.func @f() {\n  return\n", 1, 16, "not closed"),
        ("module {\n}\n}\n", 3, 1, "unmatched"),
        ("%a %b = foo.op\n", 1, 4, "expected '='"),
        ("module {\n  %a = : i32\n}\n", 2, 8, "operation name"),
        ("module {\n  foo.op (%a\n}\n", 3, 1, "expected ')'"),
        ("module {\n  foo.op {\n  ^bb1(%a): foo.op\n  }\n}\n", 3, 10, "':'"),
    ],
)
def test_parse_errors_point_at_the_problem(text: str, line: int, col: int, words: str) -> None:
    with pytest.raises(MLIRParseError) as info:
        parse(text)
    assert (info.value.line, info.value.col) == (line, col), str(info.value)
    assert words in info.value.message


# -------------------------------------------------------------------- edits
def test_delete_an_op_by_its_line_span_and_reparse() -> None:
    module = parse(CARTS_SAMPLE)
    subindex = next(op for op in module.walk() if op.name == "polygeist.subindex")
    start, end = subindex.line_span()
    assert CARTS_SAMPLE[start:end].endswith("-> memref<?xf64>\n")
    candidate = apply_edits(CARTS_SAMPLE, [(start, end, "")])
    reparsed = parse(candidate)
    assert "polygeist.subindex" not in [op.name for op in reparsed.walk()]
    assert [e.split(": ", 1)[1] for e in def_use_errors(reparsed)] == ["use of undefined value %16 in 'memref.store'"]


def test_apply_edits_orders_and_rejects_overlaps() -> None:
    assert apply_edits("abcdef", [(4, 5, "E"), (0, 1, "")]) == "bcdEf"
    assert apply_edits("abc", [(1, 1, "X")]) == "aXbc"
    with pytest.raises(ValueError):
        apply_edits("abcdef", [(0, 3, ""), (2, 4, "")])


def test_line_span_keeps_shared_lines() -> None:
    text = "func.func @f() {\n  return }\n"
    module = parse(text)
    ret = module.ops[0].regions[0].blocks[0].ops[0]
    assert ret.line_span() == (ret.start, ret.end)


# ---------------------------------------------------------------- properties
@settings(max_examples=200, deadline=None)
@given(mlir_modules())
def test_generated_modules_parse_soundly(generated: GeneratedModule) -> None:
    module = parse(generated.text)
    assert module.print() == generated.text, "print() must give the text back"
    assert def_use_errors(module) == [], "every generated use names a value in scope"
    assert [op.name for op in module.walk()] == generated.op_names, "ops in pre-order"
    assert count_ops(generated.text) == generated.op_count
    assert sum(len(op.operands) for op in module.walk()) == generated.uses
    assert generated.symbols <= set(module.symbols)
    assert sum(len(op.symbol_refs) for op in module.walk()) == generated.calls
    arguments = {v.name: v.type for op in module.walk() for v in op.definitions() if v.kind != "result"}
    assert arguments == generated.arg_types


@settings(max_examples=200, deadline=None)
@given(mlir_modules(), st.data())
def test_deleting_a_used_definition_is_caught(generated: GeneratedModule, data: st.DataObject) -> None:
    module = parse(generated.text)
    used = [op for op in module.walk() if any(v.uses for v in op.results) and not op.regions]
    if not used:
        return
    victim = data.draw(st.sampled_from(used))
    start, end = victim.line_span()
    candidate = apply_edits(generated.text, [(start, end, "")])
    errors = def_use_errors(parse(candidate))
    lost = {v.name for v in victim.results if v.uses}
    assert errors and all(any(f" {name}" in e for e in errors) for name in lost)


@settings(max_examples=200, deadline=None)
@given(mlir_modules(), st.data())
def test_reusing_a_name_in_scope_is_caught(generated: GeneratedModule, data: st.DataObject) -> None:
    module = parse(generated.text)
    pairs = [
        (block.ops[a].results[0], block.ops[b].results[0])
        for op in module.walk()
        for region in op.regions
        for block in region.blocks
        for a in range(len(block.ops))
        for b in range(a + 1, len(block.ops))
        if block.ops[a].results and block.ops[b].results
    ]
    if not pairs:
        return
    first, second = data.draw(st.sampled_from(pairs))
    candidate = apply_edits(generated.text, [(second.start, second.end, first.name)])
    errors = def_use_errors(parse(candidate))
    assert any(f"redefinition of value {first.name} " in e for e in errors)


def test_large_file_parse_is_linear() -> None:
    """A 50,000-line module parses, prints back and stays SSA-sound (timed by the benchmarks)."""
    function = src(
        """
          func.func @kernel_N(%arg0: memref<?xf64>, %arg1: index) -> f64 attributes {llvm.linkage = #llvm.linkage<external>} {
            %c0 = arith.constant 0 : index
            %c1 = arith.constant 1 : index
            %cst = arith.constant 0.000000e+00 : f64
            %r = scf.for %i = %c0 to %arg1 step %c1 iter_args(%acc = %cst) -> (f64) {
              %v = memref.load %arg0[%i] : memref<?xf64> loc(#loc1)
              %s = arith.addf %acc, %v : f64
              %e = arts.epoch {
                arts.edt <task> <intranode> route(%c0) {
                  memref.store %s, %arg0[%i] : memref<?xf64>
                }
              } : i64
              scf.yield %s : f64
            }
            func.call @kernel_N(%arg0, %arg1) : (memref<?xf64>, index) -> f64
            return %r : f64
          }
        """
    )
    copies = 50_000 // function.count("\n") + 1
    body = "".join(function.replace("_N", f"_{n}") for n in range(copies))
    text = "module {\n" + body + '}\n#loc1 = loc("k.c":1:1)\n'
    assert text.count("\n") >= 50_000
    module = parse(text)
    assert module.print() == text
    assert def_use_errors(module) == []
    assert count_ops(text) == 1 + copies * 13
    assert len(module.symbols) == copies
    assert all(len(module.ops[0].regions[0].blocks[0].ops[n].region_args) == 2 for n in (0, copies - 1))
