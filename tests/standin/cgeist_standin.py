"""A STAND-IN for `carts cgeist` (Polygeist's C front end), for tests only.

Real cgeist cannot be built here. This stand-in does what the reducer needs
from it, the way cgeist would:

- it rejects what a real C compiler rejects: ``gcc -fsyntax-only`` with the
  same ``-D``/``-I``/``-fopenmp`` flags; gcc's ``FILE:LINE:COL: error: ...``
  lines go to stderr and the exit status is 1;
- it preprocesses with ``gcc -E``, reads the result with tree-sitter-c and
  prints an MLIR module on stdout in cgeist's shape (``func.func`` per
  function, ``memref.alloca`` for locals that change, ``scf.for``/
  ``affine.for`` loops, ``scf.if``, ``memref.load``/``store``, ``func.call``,
  ``omp.parallel``/``omp.wsloop`` for ``#pragma omp parallel for`` under
  ``-fopenmp``).

What it must get right is the memory: ``malloc`` of a ``T **...*`` becomes
``memref.alloc(%n) : memref<?xmemref<?x...T>>`` with as many levels as the
pointer has, ``p[i] = malloc(...)`` a ``memref.store`` of the inner alloc into
the outer one, ``free(p)`` a ``memref.dealloc``. Everything else may be a
placeholder (``ub.poison``, ``builtin.unrealized_conversion_cast`` where C
converts between pointers and memrefs or reaches into a struct), but the
module is always well formed: every use defined, every callee declared,
upstream ``mlir-opt --allow-unregistered-dialect`` accepts it.

``carts cgeist --print-include-dir`` prints the directory holding a stand-in
``arts/Utils/Benchmarks/CartsBenchmarks.h`` (the benchmarks include it), to
pass to other compilers as ``-I``. ``CARTS_STANDIN_CC`` names the compiler
that judges and preprocesses the C (default ``gcc``).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Node, Parser

GCC = os.environ.get("CARTS_STANDIN_CC", "gcc")

# The benchmark suite's timing/checksum header, as far as the benchmarks use it.
BENCHMARKS_HEADER = """\
/* Stand-in for CARTS's benchmark header (tests only). */
#ifndef CARTS_STANDIN_BENCHMARKS_H
#define CARTS_STANDIN_BENCHMARKS_H
#include <stdio.h>
double carts_bench_get_time(void);
void carts_benchmarks_start(void);
void carts_benchmarks_stop(void);
void carts_timer_start(const char *phase, const char *name);
void carts_timer_stop(const char *phase);
void carts_bench_checksum(double value);
#define CARTS_BENCHMARKS_START() carts_benchmarks_start()
#define CARTS_BENCHMARKS_STOP() carts_benchmarks_stop()
#define CARTS_E2E_TIMER_START(name) carts_timer_start("e2e", name)
#define CARTS_E2E_TIMER_STOP() carts_timer_stop("e2e")
#define CARTS_STARTUP_TIMER_START(name) carts_timer_start("startup", name)
#define CARTS_STARTUP_TIMER_STOP() carts_timer_stop("startup")
#define CARTS_KERNEL_TIMER_START(name) carts_timer_start("kernel", name)
#define CARTS_KERNEL_TIMER_STOP(name) carts_timer_stop("kernel")
#define CARTS_KERNEL_TIMER_ACCUM(name) carts_timer_stop("kernel")
#define CARTS_KERNEL_TIMER_PRINT(name) carts_timer_stop("kernel")
#define CARTS_VERIFICATION_TIMER_START(name) carts_timer_start("verification", name)
#define CARTS_VERIFICATION_TIMER_STOP() carts_timer_stop("verification")
#define CARTS_CLEANUP_TIMER_START(name) carts_timer_start("cleanup", name)
#define CARTS_CLEANUP_TIMER_STOP() carts_timer_stop("cleanup")
#define CARTS_BENCH_CHECKSUM(value) carts_bench_checksum((double)(value))
#endif
"""
_HEADER_PATHS = ("arts/Utils/Benchmarks/CartsBenchmarks.h", "arts/utils/benchmarks/CartsBenchmarks.h")


def standin_include_dir() -> Path:
    """A directory with the stand-in benchmark header, written once per content."""
    digest = hashlib.sha256(BENCHMARKS_HEADER.encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"carts-standin-include-{digest}"
    for relative in _HEADER_PATHS:
        path = root / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(f".{path.name}.{os.getpid()}")
            scratch.write_text(BENCHMARKS_HEADER)
            os.replace(scratch, path)  # atomic: tests run in parallel
    return root


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Ty:
    """An MLIR type: a scalar (``i32``, ``f32``, ``!llvm.ptr``, ``void``) or a memref."""

    name: str = ""
    elem: Ty | None = None
    shape: tuple[int | None, ...] = ()

    @property
    def is_memref(self) -> bool:
        return self.elem is not None

    @property
    def is_float(self) -> bool:
        return self.name in ("f32", "f64")

    @property
    def is_int(self) -> bool:
        return self.name in ("i1", "i8", "i16", "i32", "i64", "index")

    @property
    def width(self) -> int:
        return {"i1": 1, "i8": 8, "i16": 16, "i32": 32, "i64": 64, "index": 64, "f32": 32, "f64": 64}.get(self.name, 64)

    def __str__(self) -> str:
        if self.elem is None:
            return self.name
        dims = "x".join("?" if d is None else str(d) for d in self.shape)
        return f"memref<{dims}x{self.elem}>"


VOID, I1, I8, I16, I32, I64, INDEX = (Ty(n) for n in ("void", "i1", "i8", "i16", "i32", "i64", "index"))
F32, F64, PTR = Ty("f32"), Ty("f64"), Ty("!llvm.ptr")


def pointer_to(ty: Ty) -> Ty:
    return Ty(elem=I8 if ty == VOID else ty, shape=(None,))


def size_of(ty: Ty) -> int:
    if ty.is_memref:
        if ty.shape and all(d is not None for d in ty.shape) and ty.shape != (None,):
            return math.prod(d for d in ty.shape if d is not None) * size_of(ty.elem)  # type: ignore[arg-type]
        return 8
    return max(1, ty.width // 8) if ty.name not in ("void", "!llvm.ptr") else 8


_PRIMITIVES = {
    "int": I32, "char": I8, "short": I16, "long": I64, "float": F32, "double": F64, "void": VOID,
    "_Bool": I1, "bool": I1, "size_t": I64, "ssize_t": I64, "ptrdiff_t": I64, "intptr_t": I64,
    "uintptr_t": I64, "int8_t": I8, "uint8_t": I8, "int16_t": I16, "uint16_t": I16, "int32_t": I32,
    "uint32_t": I32, "int64_t": I64, "uint64_t": I64,
}


# --------------------------------------------------------------------------- module


@dataclass
class Signature:
    params: list[Ty]
    result: Ty
    variadic: bool = False
    defined: bool = False


@dataclass
class Module:
    openmp: bool
    affine: bool
    typedefs: dict[str, Ty] = field(default_factory=dict)
    fields: dict[str, Ty] = field(default_factory=dict)
    enums: dict[str, int] = field(default_factory=dict)
    functions: dict[str, Signature] = field(default_factory=dict)
    globals: dict[str, Ty] = field(default_factory=dict)
    used_globals: dict[str, Ty] = field(default_factory=dict)
    strings: dict[bytes, str] = field(default_factory=dict)
    used_functions: set[str] = field(default_factory=set)
    vararg_functions: dict[str, Signature] = field(default_factory=dict)
    counter: int = 0

    # -- C types

    def base_type(self, node: Node | None) -> Ty:
        if node is None:
            return I32
        kind, text = node.type, node.text.decode()
        if kind == "primitive_type":
            return _PRIMITIVES.get(text, I32)
        if kind == "sized_type_specifier":
            words = text.split()
            if "long" in words:
                return F64 if "double" in words else I64
            if "short" in words:
                return I16
            if "char" in words:
                return I8
            return I32
        if kind == "type_identifier":
            return self.typedefs.get(text, _PRIMITIVES.get(text, I32))
        if kind == "enum_specifier":
            self.record_enum(node)
            return I32
        if kind in ("struct_specifier", "union_specifier"):
            self.record_fields(node)
            return I8  # an opaque byte: fields are reached through casts
        return I32

    def declare(self, base: Ty, declarator: Node | None, parameter: bool = False) -> tuple[str | None, Ty]:
        """The name and type a declarator gives to a base type."""
        ty, node, dims = base, declarator, []
        while node is not None:
            kind = node.type
            if kind in ("identifier", "field_identifier", "type_identifier"):
                break
            if kind in ("pointer_declarator", "abstract_pointer_declarator"):
                ty = self._arrays(ty, dims)
                dims = []
                ty = pointer_to(ty)
            elif kind in ("array_declarator", "abstract_array_declarator"):
                size = node.child_by_field_name("size")
                dims.insert(0, self.constant(size) if size is not None else None)
            elif kind in ("function_declarator", "abstract_function_declarator"):
                ty = PTR  # a function pointer, opaque here
            node = node.child_by_field_name("declarator") or next(
                (c for c in node.named_children if c.type.endswith("declarator") or c.type == "identifier"), None
            )
        if dims and parameter:
            dims[0] = None
        ty = self._arrays(ty, dims)
        return (node.text.decode() if node is not None else None), ty

    @staticmethod
    def _arrays(ty: Ty, dims: list[int | None]) -> Ty:
        if not dims:
            return ty
        if ty == VOID:
            ty = I8
        if ty.is_memref and ty.shape != (None,) and all(d is not None for d in ty.shape):
            return Ty(elem=ty.elem, shape=(*dims, *ty.shape))
        return Ty(elem=ty, shape=tuple(dims))

    def type_of_descriptor(self, node: Node) -> Ty:
        return self.declare(self.base_type(node.child_by_field_name("type")), node.child_by_field_name("declarator"))[1]

    def record_fields(self, node: Node) -> None:
        body = node.child_by_field_name("body")
        if body is None:
            return
        for member in body.named_children:
            if member.type != "field_declaration":
                continue
            base = self.base_type(member.child_by_field_name("type"))
            for index, child in enumerate(member.children):
                if member.field_name_for_child(index) == "declarator":
                    name, ty = self.declare(base, child)
                    if name:
                        self.fields.setdefault(name, ty)

    def record_enum(self, node: Node) -> None:
        body = node.child_by_field_name("body")
        if body is None:
            return
        value = 0
        for enumerator in body.named_children:
            if enumerator.type != "enumerator":
                continue
            given = enumerator.child_by_field_name("value")
            if given is not None:
                value = self.constant(given) or 0
            self.enums[enumerator.child_by_field_name("name").text.decode()] = value  # type: ignore[union-attr]
            value += 1

    def constant(self, node: Node | None) -> int | None:
        """The value of an integer constant expression made of literals and enumerators."""
        if node is None:
            return None
        kind = node.type
        if kind == "number_literal":
            return _int_literal(node.text.decode())
        if kind == "parenthesized_expression" and node.named_child_count:
            return self.constant(node.named_children[0])
        if kind == "identifier":
            return self.enums.get(node.text.decode())
        if kind == "cast_expression":
            return self.constant(node.child_by_field_name("value"))
        if kind == "sizeof_expression":
            described = node.child_by_field_name("type")
            return size_of(self.type_of_descriptor(described)) if described is not None else 8
        if kind == "unary_expression":
            value = self.constant(node.child_by_field_name("argument"))
            operator = node.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
            if value is None:
                return None
            return {"-": -value, "+": value, "~": ~value, "!": int(not value)}.get(operator)
        if kind == "binary_expression":
            left = self.constant(node.child_by_field_name("left"))
            right = self.constant(node.child_by_field_name("right"))
            operator = node.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
            if left is None or right is None:
                return None
            try:
                return {
                    "+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
                    "/": lambda: int(left / right), "%": lambda: left % right, "<<": lambda: left << right,
                    ">>": lambda: left >> right, "&": lambda: left & right, "|": lambda: left | right,
                    "^": lambda: left ^ right,
                }[operator]()
            except (KeyError, ZeroDivisionError, ValueError):
                return None
        return None

    # -- symbols

    def string(self, data: bytes) -> str:
        if data not in self.strings:
            self.strings[data] = f"str{len(self.strings)}"
        return self.strings[data]

    def signature(self, name: str, arguments: list[Ty]) -> Signature:
        if name not in self.functions:  # implicitly declared: as called first
            self.functions[name] = Signature([_promoted(t) for t in arguments], I32)
        return self.functions[name]


def _int_literal(text: str) -> int | None:
    spelled = text.rstrip("uUlL")
    try:
        if spelled.lower().startswith("0x"):
            return int(spelled, 16)
        if spelled.lower().startswith("0b"):
            return int(spelled, 2)
        if len(spelled) > 1 and spelled.startswith("0") and spelled.isdigit():
            return int(spelled, 8)
        return int(spelled)
    except ValueError:
        return None


def _promoted(ty: Ty) -> Ty:
    if ty == PTR:
        return pointer_to(I8)
    if ty in (I1, I8, I16):
        return I32
    return ty


def _llvm(ty: Ty) -> Ty:
    """The LLVM-compatible type a variadic call passes ``ty`` as (C default promotions)."""
    if ty.is_memref or ty == PTR:
        return PTR
    if ty == F32:
        return F64
    if ty in (I1, I8, I16):
        return I32
    if ty == INDEX:
        return I64
    return ty


def _short(ty: Ty) -> str:
    return "ptr" if ty == PTR else str(ty)


# --------------------------------------------------------------------------- functions


@dataclass
class Var:
    kind: str  # "ssa": the value itself; "slot": a memref<1xT> holding it; "array": a memref value
    value: str
    ty: Ty


class FunctionEmitter:
    def __init__(self, module: Module, name: str, signature: Signature, node: Node) -> None:
        self.module, self.name, self.signature, self.node = module, name, signature, node
        self.lines: list[str] = []
        self.prologue: list[str] = []
        self.depth = 2
        self.scopes: list[dict[str, Var]] = [{}]
        self.constants: dict[tuple[str, str], str] = {}
        self.globals: dict[str, str] = {}
        self.index_of: dict[str, str] = {}  # an i32 made from a loop index -> that index
        self.affine_ivs: set[str] = set()
        self.assigned: set[str] = set()
        self.retval: str | None = None

    # -- plumbing

    def fresh(self) -> str:
        # Numbered across the module, not per function: a value's name says which one it is.
        self.module.counter += 1
        return f"%{self.module.counter - 1}"

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.depth + line)

    def op(self, text: str) -> str:
        name = self.fresh()
        self.emit(f"{name} = {text}")
        return name

    def const(self, value: int | float, ty: Ty) -> str:
        if ty.is_float:
            value = float(value)
            spelled = f"{value:e}" if math.isfinite(value) else "0.000000e+00"
        elif ty == I1:
            spelled = "true" if value else "false"
        else:
            spelled = str(int(value))
        key = (spelled, str(ty))
        if key not in self.constants:
            if ty.is_float:
                name = f"%cst_{len(self.constants)}"
            elif ty == I1:
                name = f"%{spelled}"
            else:
                name = f"%c{spelled}" + ("" if ty == INDEX else f"_{ty}")
            typed = "" if ty == I1 else f" : {ty}"  # `true`/`false` carry their type
            self.prologue.append(f"{name} = arith.constant {spelled}{typed}")
            self.constants[key] = name
        return self.constants[key]

    def undef(self, ty: Ty) -> tuple[str, Ty]:
        if ty == VOID:
            ty = I32
        return self.op(f"ub.poison : {ty}"), ty

    def reinterpret(self, values: list[str], types: list[Ty], to: Ty) -> str:
        """What cgeist does with polygeist ops (subindex, memref2pointer ...), in upstream syntax."""
        return self.op(
            f"builtin.unrealized_conversion_cast {', '.join(values)} : {', '.join(map(str, types))} to {to}"
        )

    def lookup(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.module.globals:
            ty = self.module.globals[name]
            self.module.used_globals[name] = ty
            storage = ty if _is_array(ty) else Ty(elem=ty, shape=(1,))
            if name not in self.globals:
                value = f"%global_{name}"
                self.prologue.append(f"{value} = memref.get_global @{name} : {storage}")
                self.globals[name] = value
            return Var("array" if _is_array(ty) else "slot", self.globals[name], ty)
        return None

    def bind(self, name: str, var: Var) -> None:
        self.scopes[-1][name] = var

    def region(self, header: str, body, footer: str = "}") -> None:  # type: ignore[no-untyped-def]
        self.emit(header)
        self.depth += 1
        self.scopes.append({})
        try:
            body()
        finally:
            self.scopes.pop()
            self.depth -= 1
        self.emit(footer)

    # -- conversions

    def cast(self, value: str, ty: Ty, to: Ty) -> str:
        if ty == to or to == VOID:
            return value
        if to.is_memref:
            if ty.is_memref:
                if _is_array(ty) and ty.elem == to.elem and len(ty.shape) == len(to.shape):
                    return self.op(f"memref.cast {value} : {ty} to {to}")
                value, ty = self.reinterpret([value], [ty], PTR), PTR
            if ty.is_int or ty.is_float:
                value, ty = self.op("llvm.mlir.zero : !llvm.ptr"), PTR
            if ty == PTR:
                return self.reinterpret([value], [PTR], to)
            return self.undef(to)[0]
        if to == PTR:
            if ty.is_memref:
                return self.reinterpret([value], [ty], PTR)
            return self.op("llvm.mlir.zero : !llvm.ptr")
        if ty.is_memref or ty == PTR:
            if ty.is_memref:
                value = self.reinterpret([value], [ty], PTR)
            value, ty = self.op(f"llvm.ptrtoint {value} : !llvm.ptr to i64"), I64
            if ty == to:
                return value
        if not (ty.is_int or ty.is_float) or not (to.is_int or to.is_float):
            return self.undef(to)[0]
        if to == INDEX:
            if ty == INDEX:
                return value
            if value in self.index_of:
                return self.index_of[value]
            if ty.is_float:
                value, ty = self.op(f"arith.fptosi {value} : {ty} to i64"), I64
            if ty == I1:
                value, ty = self.op(f"arith.extui {value} : i1 to i32"), I32
            return self.op(f"arith.index_cast {value} : {ty} to index")
        if ty == INDEX:
            if to.is_float:
                value = self.op(f"arith.index_cast {value} : index to i64")
                return self.op(f"arith.sitofp {value} : i64 to {to}")
            return self.op(f"arith.index_cast {value} : index to {to}")
        if ty.is_int and to.is_int:
            if to.width > ty.width:
                extend = "arith.extui" if ty == I1 else "arith.extsi"
                return self.op(f"{extend} {value} : {ty} to {to}")
            if to == I1:
                return self.op(f"arith.cmpi ne, {value}, {self.const(0, ty)} : {ty}")
            return self.op(f"arith.trunci {value} : {ty} to {to}")
        if ty.is_int and to.is_float:
            if ty == I1:
                value, ty = self.op(f"arith.extui {value} : i1 to i32"), I32
            return self.op(f"arith.sitofp {value} : {ty} to {to}")
        if ty.is_float and to.is_int:
            if to == I1:
                return self.op(f"arith.cmpf une, {value}, {self.const(0.0, ty)} : {ty}")
            return self.op(f"arith.fptosi {value} : {ty} to {to}")
        if to.width > ty.width:
            return self.op(f"arith.extf {value} : {ty} to {to}")
        return self.op(f"arith.truncf {value} : {ty} to {to}")

    def condition(self, node: Node) -> str:
        value, ty = self.expr(node)
        return self.cast(value, ty, I1)

    # -- memory

    def load(self, memref: str, ty: Ty, indices: list[str]) -> tuple[str, Ty]:
        assert ty.elem is not None
        kind = "affine" if self.module.affine and indices and all(i in self.affine_ivs for i in indices) else "memref"
        return self.op(f"{kind}.load {memref}[{', '.join(indices)}] : {ty}"), ty.elem

    def store(self, value: str, value_ty: Ty, memref: str, ty: Ty, indices: list[str]) -> None:
        assert ty.elem is not None
        value = self.cast(value, value_ty, ty.elem)
        kind = "affine" if self.module.affine and indices and all(i in self.affine_ivs for i in indices) else "memref"
        self.emit(f"{kind}.store {value}, {memref}[{', '.join(indices)}] : {ty}")

    def address(self, node: Node) -> tuple[str, Ty, list[str]] | None:
        """The memref and indices an lvalue names, or None when it is not memory here."""
        node = _unparenthesized(node)
        if node.type == "identifier":
            var = self.lookup(node.text.decode())
            if var is not None and var.kind == "slot":
                return var.value, Ty(elem=var.ty, shape=(1,)), [self.const(0, INDEX)]
            return None
        if node.type == "pointer_expression" and node.child_by_field_name("operator").text == b"*":  # type: ignore[union-attr]
            value, ty = self.expr(node.child_by_field_name("argument"))  # type: ignore[arg-type]
            if ty.is_memref:
                return value, ty, [self.const(0, INDEX)] * len(ty.shape)
            return None
        if node.type == "subscript_expression":
            chain: list[Node] = []
            root = node
            while root.type == "subscript_expression":
                chain.insert(0, root.child_by_field_name("index"))  # type: ignore[arg-type]
                root = _unparenthesized(root.child_by_field_name("argument"))  # type: ignore[arg-type]
            value, ty = self.expr(root)
            indices = [self.cast(*self.expr(i), INDEX) for i in chain]
            while indices:
                if not ty.is_memref:
                    return None
                rank = len(ty.shape)
                if len(indices) < rank:  # part of a multi-dimensional array: not modelled
                    return None
                taken, indices = indices[:rank], indices[rank:]
                if not indices:
                    return value, ty, taken
                value, ty = self.load(value, ty, taken)
            return None
        return None

    # -- expressions

    def expr(self, node: Node | None, hint: Ty | None = None) -> tuple[str, Ty]:
        if node is None:
            return self.undef(I32)
        handler = getattr(self, "x_" + node.type, None)
        if handler is None:
            for child in node.named_children:  # keep the uses inside visible
                if child.type.endswith("expression") or child.type == "identifier":
                    self.expr(child)
            return self.undef(hint if hint is not None and hint != VOID else I32)
        return handler(node, hint)

    def x_parenthesized_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        inner = [c for c in node.named_children if c.type != "comment"]
        return self.expr(inner[-1] if inner else None, hint)

    def x_number_literal(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        text = node.text.decode().lower()
        if not text.startswith("0x") and any(c in text for c in ".e") or text.endswith("f") and not text.startswith("0x"):
            ty = F32 if text.endswith("f") else F64
            try:
                value = float(text.rstrip("fl"))
            except ValueError:
                value = 0.0
            return self.const(value, ty), ty
        value = _int_literal(text)
        if value is None:
            return self.undef(I32)
        ty = I64 if "l" in text or not -(2**31) <= value < 2**31 else I32
        if not -(2**63) <= value < 2**64:
            value = 0
        if value >= 2**63:
            value -= 2**64
        return self.const(value, ty), ty

    def x_char_literal(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        body = node.text.decode()[1:-1]
        value = ord(body[-1]) if body and not body.startswith("\\") else {"\\n": 10, "\\t": 9, "\\0": 0}.get(body, 0)
        return self.const(value, I8), I8

    def x_string_literal(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        data = b"".join(c.text for c in node.named_children if c.type in ("string_content", "escape_sequence"))
        return self.op(f"llvm.mlir.addressof @{self.module.string(data)} : !llvm.ptr"), PTR

    def x_concatenated_string(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        data = b"".join(
            c.text for s in node.named_children if s.type == "string_literal"
            for c in s.named_children if c.type in ("string_content", "escape_sequence")
        )
        return self.op(f"llvm.mlir.addressof @{self.module.string(data)} : !llvm.ptr"), PTR

    def x_true(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        return self.const(1, I1), I1

    def x_false(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        return self.const(0, I1), I1

    def x_null(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        return self.op("llvm.mlir.zero : !llvm.ptr"), PTR

    def x_identifier(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        name = node.text.decode()
        var = self.lookup(name)
        if var is None:
            if name in self.module.enums:
                return self.const(self.module.enums[name], I32), I32
            return self.undef(PTR if name in self.module.functions else I32)
        if var.kind == "slot":
            return self.load(var.value, Ty(elem=var.ty, shape=(1,)), [self.const(0, INDEX)])
        return var.value, var.ty

    def x_subscript_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        found = self.address(node)
        if found is None:
            return self.undef(hint or I32)
        return self.load(*found)

    def x_pointer_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        argument = node.child_by_field_name("argument")
        if node.child_by_field_name("operator").text == b"*":  # type: ignore[union-attr]
            found = self.address(node)
            if found is None:
                return self.undef(hint or I32)
            return self.load(*found)
        found = self.address(argument)  # type: ignore[arg-type]
        if found is not None:
            memref, ty, _ = found
            if ty.shape == (1,) and ty.elem is not None:
                return self.op(f"memref.cast {memref} : {ty} to {pointer_to(ty.elem)}"), pointer_to(ty.elem)
            return self.reinterpret([memref, found[2][0]], [ty, INDEX], ty), ty
        value, ty = self.expr(argument)
        if ty.is_memref and _is_array(ty):
            return value, ty
        return self.undef(pointer_to(ty))

    def x_field_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        base, base_ty = self.expr(node.child_by_field_name("argument"))
        name = node.child_by_field_name("field").text.decode()  # type: ignore[union-attr]
        ty = self.module.fields.get(name, I32)
        return self.reinterpret([base], [base_ty], ty), ty

    def x_cast_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        to = self.module.type_of_descriptor(node.child_by_field_name("type"))  # type: ignore[arg-type]
        value, ty = self.expr(node.child_by_field_name("value"), to)
        if to == VOID:
            return value, ty
        return self.cast(value, ty, to), to

    def x_sizeof_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        described = node.child_by_field_name("type")
        if described is not None:
            return self.const(size_of(self.module.type_of_descriptor(described)), I64), I64
        value = node.child_by_field_name("value")
        value = _unparenthesized(value) if value is not None else None
        size = 8
        if value is not None and value.type == "identifier":
            var = self.lookup(value.text.decode())
            size = size_of(var.ty) if var is not None else 8
        return self.const(size, I64), I64

    def x_comma_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        self.expr(node.child_by_field_name("left"))
        return self.expr(node.child_by_field_name("right"), hint)

    def x_conditional_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        condition = self.condition(node.child_by_field_name("condition"))  # type: ignore[arg-type]
        then, then_ty = self.expr(node.child_by_field_name("consequence"), hint)
        other, other_ty = self.expr(node.child_by_field_name("alternative"), hint)
        ty = _common(then_ty, other_ty)
        then, other = self.cast(then, then_ty, ty), self.cast(other, other_ty, ty)
        return self.op(f"arith.select {condition}, {then}, {other} : {ty}"), ty

    def x_unary_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        operator = node.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
        argument = node.child_by_field_name("argument")
        if operator == "!":
            value = self.condition(argument)  # type: ignore[arg-type]
            return self.op(f"arith.xori {value}, {self.const(1, I1)} : i1"), I1
        value, ty = self.expr(argument, hint)
        if operator == "-":
            if ty.is_float:
                return self.op(f"arith.negf {value} : {ty}"), ty
            if ty.is_int:
                ty2 = _promoted(ty)
                value = self.cast(value, ty, ty2)
                return self.op(f"arith.subi {self.const(0, ty2)}, {value} : {ty2}"), ty2
        if operator == "~" and ty.is_int:
            ty2 = _promoted(ty)
            value = self.cast(value, ty, ty2)
            return self.op(f"arith.xori {value}, {self.const(-1, ty2)} : {ty2}"), ty2
        return value, ty

    def x_binary_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        operator = node.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
        if operator in ("&&", "||"):
            left = self.condition(node.child_by_field_name("left"))  # type: ignore[arg-type]
            right = self.condition(node.child_by_field_name("right"))  # type: ignore[arg-type]
            return self.op(f"arith.{'andi' if operator == '&&' else 'ori'} {left}, {right} : i1"), I1
        left, left_ty = self.expr(node.child_by_field_name("left"))
        right, right_ty = self.expr(node.child_by_field_name("right"))
        return self.arith(operator, left, left_ty, right, right_ty)

    def arith(self, operator: str, left: str, left_ty: Ty, right: str, right_ty: Ty) -> tuple[str, Ty]:
        if left_ty.is_memref or right_ty.is_memref or PTR in (left_ty, right_ty):
            if operator in ("+", "-") and left_ty.is_memref and (right_ty.is_int or right_ty.is_float):
                offset = self.cast(right, right_ty, INDEX)
                if operator == "-":
                    offset = self.op(f"arith.subi {self.const(0, INDEX)}, {offset} : index")
                return self.reinterpret([left, offset], [left_ty, INDEX], left_ty), left_ty
            if operator == "+" and right_ty.is_memref and left_ty.is_int:
                return self.arith(operator, right, right_ty, left, left_ty)
            left, right = self.cast(left, left_ty, I64), self.cast(right, right_ty, I64)
            left_ty = right_ty = I64
        comparisons = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
        ty = _common(left_ty, right_ty)
        if not ty.is_float:
            ty = _promoted(ty) if ty != INDEX else I64
        if not (ty.is_int or ty.is_float):
            return self.undef(I32)
        left, right = self.cast(left, left_ty, ty), self.cast(right, right_ty, ty)
        if operator in comparisons:
            suffix = comparisons[operator]
            if ty.is_float:
                predicate = {"eq": "oeq", "ne": "une"}.get(suffix, "o" + suffix)
                return self.op(f"arith.cmpf {predicate}, {left}, {right} : {ty}"), I1
            predicate = suffix if suffix in ("eq", "ne") else "s" + suffix
            return self.op(f"arith.cmpi {predicate}, {left}, {right} : {ty}"), I1
        if ty.is_float:
            name = {"+": "addf", "-": "subf", "*": "mulf", "/": "divf", "%": "remf"}.get(operator)
        else:
            name = {
                "+": "addi", "-": "subi", "*": "muli", "/": "divsi", "%": "remsi", "<<": "shli",
                ">>": "shrsi", "&": "andi", "|": "ori", "^": "xori",
            }.get(operator)
        if name is None:
            return self.undef(ty)
        return self.op(f"arith.{name} {left}, {right} : {ty}"), ty

    def x_assignment_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        operator = node.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
        left = _unparenthesized(node.child_by_field_name("left"))  # type: ignore[arg-type]
        right = node.child_by_field_name("right")
        if left.type == "field_expression":
            base, base_ty = self.expr(left.child_by_field_name("argument"))
            name = left.child_by_field_name("field").text.decode()  # type: ignore[union-attr]
            value, ty = self.expr(right, self.module.fields.get(name))
            self.reinterpret([value, base], [ty, base_ty], I1)  # keeps the store's operands used
            return value, ty
        found = self.address(left)
        target = found[1].elem if found is not None else self._ssa_type(left)
        value, ty = self.expr(right, target)
        if operator != "=":
            current, current_ty = self.expr(left)
            value, ty = self.arith(operator[:-1], current, current_ty, value, ty)
        if found is not None:
            memref, memref_ty, indices = found
            self.store(value, ty, memref, memref_ty, indices)
            return value, ty
        if left.type == "identifier":
            var = self.lookup(left.text.decode())
            if var is not None and var.kind == "ssa":
                self.bind(left.text.decode(), Var("ssa", self.cast(value, ty, var.ty), var.ty))
        return value, ty

    def _ssa_type(self, node: Node) -> Ty | None:
        if node.type == "identifier":
            var = self.lookup(node.text.decode())
            return var.ty if var is not None else None
        return None

    def x_update_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        argument = _unparenthesized(node.child_by_field_name("argument"))  # type: ignore[arg-type]
        operator = node.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
        old, ty = self.expr(argument)
        one, one_ty = (self.const(1.0, ty), ty) if ty.is_float else (self.const(1, I32), I32)
        new, new_ty = self.arith(operator[0], old, ty, one, one_ty)
        new = self.cast(new, new_ty, ty)
        found = self.address(argument)
        if found is not None:
            self.store(new, ty, *found)
        elif argument.type == "identifier":
            var = self.lookup(argument.text.decode())
            if var is not None and var.kind == "ssa":
                self.bind(argument.text.decode(), Var("ssa", new, ty))
        prefix = node.children[0].type in ("++", "--")
        return (new if prefix else old), ty

    def x_call_expression(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        callee = node.child_by_field_name("function")
        arguments = [c for c in node.child_by_field_name("arguments").named_children if c.type != "comment"]  # type: ignore[union-attr]
        name = callee.text.decode() if callee is not None and callee.type == "identifier" else None
        if name in ("malloc", "calloc", "aligned_alloc", "realloc"):
            return self.allocation(name, arguments, hint)
        if name == "free" and arguments:
            value, ty = self.expr(arguments[0])
            if ty.is_memref:
                self.emit(f"memref.dealloc {value} : {ty}")
            return self.undef(I32) if hint not in (None, VOID) else (value, ty)
        if name is None or (self.lookup(name) is not None):
            for argument in arguments:
                self.expr(argument)
            return self.undef(hint if hint is not None and hint != VOID else I32)
        known = self.module.functions.get(name)
        values = [self.expr(a, known.params[i] if known and i < len(known.params) else None) for i, a in enumerate(arguments)]
        signature = self.module.signature(name, [t for _, t in values])
        if signature.variadic and not signature.defined:
            return self.vararg_call(name, signature, values)
        operands = []
        for index, param in enumerate(signature.params):
            if index < len(values):
                operands.append(self.cast(values[index][0], values[index][1], param))
            else:
                operands.append(self.undef(param)[0])
        self.module.used_functions.add(name)
        types = ", ".join(str(p) for p in signature.params)
        call = f"func.call @{name}({', '.join(operands)}) : ({types}) -> "
        if signature.result == VOID:
            self.emit(call + "()")
            return self.undef(I32) if hint not in (None, VOID) else ("", VOID)
        return self.op(call + str(signature.result)), signature.result

    def vararg_call(self, name: str, signature: Signature, values: list[tuple[str, Ty]]) -> tuple[str, Ty]:
        fixed = [_llvm(p) for p in signature.params]
        operands, types = [], []
        for index, (value, ty) in enumerate(values):
            to = fixed[index] if index < len(fixed) else _llvm(ty)
            operands.append(self.cast(value, ty, to))
            types.append(str(to))
        for param in fixed[len(values):]:
            operands.append(self.undef(param)[0])
            types.append(str(param))
        self.module.vararg_functions[name] = signature
        result = _llvm(signature.result) if signature.result != VOID else VOID
        function_type = f"!llvm.func<{'void' if result == VOID else _short(result)} ({', '.join([*(_short(p) for p in fixed), '...'])})>"
        call = f"llvm.call @{name}({', '.join(operands)}) vararg({function_type}) : ({', '.join(types)}) -> "
        if result == VOID:
            self.emit(call + "()")
            return "", VOID
        return self.op(call + str(result)), result

    def allocation(self, name: str, arguments: list[Node], hint: Ty | None) -> tuple[str, Ty]:
        ty = hint if hint is not None and hint.is_memref else pointer_to(I8)
        if ty.shape != (None,):
            ty = pointer_to(ty.elem)  # type: ignore[arg-type]
        values = [self.expr(a) for a in arguments]
        if name == "calloc" and values:
            count = self.cast(*values[0], INDEX)
        else:
            value, value_ty = values[-1] if values else (self.const(0, I64), I64)
            size = self.cast(value, value_ty, INDEX)
            count = self.op(f"arith.divui {size}, {self.const(size_of(ty.elem), INDEX)} : index")  # type: ignore[arg-type]
        return self.op(f"memref.alloc({count}) : {ty}"), ty

    def x_initializer_list(self, node: Node, hint: Ty | None) -> tuple[str, Ty]:
        for child in node.named_children:
            self.expr(child)
        return self.undef(hint or I32)

    # -- statements

    def stmt(self, node: Node, pragma: str | None = None) -> None:
        handler = getattr(self, "s_" + node.type, None)
        if handler is not None:
            if pragma is not None and self.module.openmp and self.openmp(node, pragma):
                return
            handler(node)
        elif node.type.endswith("expression"):
            self.expr(node)

    def statements(self, nodes: list[Node], top: bool = False) -> bool:
        """Emit a statement list; False after a return at the function's top level (the rest is dead)."""
        pragma: str | None = None
        for child in nodes:
            if child.type == "preproc_call" and child.child_by_field_name("directive").text == b"#pragma":  # type: ignore[union-attr]
                argument = child.child_by_field_name("argument")
                text = argument.text.decode().split() if argument is not None else []
                if text[:1] == ["omp"] and self.module.openmp:
                    if text[1:2] in (["barrier"], ["taskwait"]):
                        self.emit(f"omp.{text[1]}")
                    else:
                        pragma = " ".join(text[1:])
                continue
            if not child.is_named or child.type == "comment":
                continue
            if child.type == "return_statement" and top:
                self.s_return_statement(child, final=True)
                return False
            self.stmt(child, pragma)
            pragma = None
        return True

    def s_compound_statement(self, node: Node) -> None:
        self.scopes.append({})
        self.statements(node.children)
        self.scopes.pop()

    def s_expression_statement(self, node: Node) -> None:
        for child in node.named_children:
            if child.type != "comment":
                self.expr(child, VOID)

    def s_declaration(self, node: Node) -> None:
        base = self.module.base_type(node.child_by_field_name("type"))
        for index, child in enumerate(node.children):
            if node.field_name_for_child(index) != "declarator":
                continue
            declarator = child.child_by_field_name("declarator") if child.type == "init_declarator" else child
            value = child.child_by_field_name("value") if child.type == "init_declarator" else None
            name, ty = self.module.declare(base, declarator)
            if name is None or ty == PTR and declarator is not None and declarator.type == "function_declarator":
                continue
            self.local(name, ty, value)

    def local(self, name: str, ty: Ty, value: Node | None) -> None:
        if ty.is_memref and _is_array(ty):
            dims = [self.cast(*self.expr(None), INDEX) for d in ty.shape if d is None]
            array = self.op(f"memref.alloca({', '.join(dims)}) : {ty}")
            self.bind(name, Var("array", array, ty))
            if value is not None and value.type == "initializer_list":
                self.initialise(array, ty, value, [])
            return
        if ty == VOID:
            ty = I32
        if name in self.assigned:
            slot_ty = Ty(elem=ty, shape=(1,))
            slot = self.op(f"memref.alloca() : {slot_ty}")
            self.bind(name, Var("slot", slot, ty))
            if value is not None:
                self.store(*self.expr(value, ty), slot, slot_ty, [self.const(0, INDEX)])
            return
        if value is None:
            self.bind(name, Var("ssa", self.undef(ty)[0], ty))
            return
        result, result_ty = self.expr(value, ty)
        self.bind(name, Var("ssa", self.cast(result, result_ty, ty), ty))

    def initialise(self, array: str, ty: Ty, values: Node, prefix: list[int]) -> None:
        for position, item in enumerate(c for c in values.named_children if c.type != "comment"):
            at = [*prefix, position]
            if item.type == "initializer_list":
                self.initialise(array, ty, item, at)
            elif len(at) == len(ty.shape):
                self.store(*self.expr(item, ty.elem), array, ty, [self.const(i, INDEX) for i in at])

    def s_if_statement(self, node: Node) -> None:
        condition = self.condition(node.child_by_field_name("condition"))  # type: ignore[arg-type]
        alternative = node.child_by_field_name("alternative")
        branch = None
        if alternative is not None:
            branch = next((c for c in alternative.named_children if c.type != "comment"), None) if alternative.type == "else_clause" else alternative
        consequence = node.child_by_field_name("consequence")
        footer = "} else {" if branch is not None else "}"
        self.region(f"scf.if {condition} {{", lambda: consequence is not None and self.stmt(consequence), footer)
        if branch is not None:
            self.depth += 1
            self.scopes.append({})
            self.stmt(branch)
            self.scopes.pop()
            self.depth -= 1
            self.emit("}")

    def canonical_loop(self, node: Node) -> tuple[str, Node, Node, int, bool] | None:
        """``for (i = lb; i < ub; i += step)``: (i, lb, ub, step, inclusive), else None."""
        init = node.child_by_field_name("initializer")
        condition = _unparenthesized(node.child_by_field_name("condition"))
        update = node.child_by_field_name("update")
        if init is None or condition is None or update is None:
            return None
        if init.type == "declaration":
            declarators = [c for i, c in enumerate(init.children) if init.field_name_for_child(i) == "declarator"]
            if len(declarators) != 1 or declarators[0].type != "init_declarator":
                return None
            variable = declarators[0].child_by_field_name("declarator")
            lower = declarators[0].child_by_field_name("value")
        elif init.type == "assignment_expression" and init.child_by_field_name("operator").text == b"=":  # type: ignore[union-attr]
            variable, lower = init.child_by_field_name("left"), init.child_by_field_name("right")
        else:
            return None
        if variable is None or variable.type != "identifier" or lower is None:
            return None
        name = variable.text.decode()
        if condition.type != "binary_expression":
            return None
        operator = condition.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
        left = condition.child_by_field_name("left")
        if operator not in ("<", "<=", "!=") or left is None or left.text.decode() != name:
            return None
        step = None
        if update.type == "update_expression" and update.text.decode().replace(" ", "") in (f"{name}++", f"++{name}"):
            step = 1
        elif update.type == "assignment_expression" and update.child_by_field_name("left").text.decode() == name:  # type: ignore[union-attr]
            right = update.child_by_field_name("right")
            op = update.child_by_field_name("operator").text.decode()  # type: ignore[union-attr]
            if op == "+=":
                step = self.module.constant(right)
            elif op == "=" and right is not None and right.type == "binary_expression":
                if right.child_by_field_name("left").text.decode() == name and right.child_by_field_name("operator").text == b"+":  # type: ignore[union-attr]
                    step = self.module.constant(right.child_by_field_name("right"))
        if not step or step <= 0:
            return None
        return name, lower, condition.child_by_field_name("right"), step, operator == "<="  # type: ignore[return-value]

    def loop_bounds(self, loop: tuple[str, Node, Node, int, bool]) -> tuple[str, str, str, Ty]:
        name, lower, upper, step, inclusive = loop
        var = self.lookup(name)
        ty = var.ty if var is not None and (var.ty.is_int or var.ty.is_float) else I32
        lb = self.cast(*self.expr(lower), INDEX)
        ub = self.cast(*self.expr(upper), INDEX)
        if inclusive:
            ub = self.op(f"arith.addi {ub}, {self.const(1, INDEX)} : index")
        return lb, ub, self.const(step, INDEX), ty

    def loop_body(self, name: str, iv: str, ty: Ty, body: Node | None) -> None:
        value = self.cast(iv, INDEX, ty)
        self.index_of[value] = iv
        self.bind(name, Var("ssa", value, ty))
        if body is not None:
            self.stmt(body)

    def s_for_statement(self, node: Node) -> None:
        loop = self.canonical_loop(node)
        body = node.child_by_field_name("body")
        if loop is None:
            self.while_loop(node.child_by_field_name("initializer"), node.child_by_field_name("condition"), body, node.child_by_field_name("update"))
            return
        name = loop[0]
        self.scopes.append({})
        lower, upper = self.module.constant(loop[1]), self.module.constant(loop[2])
        var = self.lookup(name)
        if self.module.affine and lower is not None and upper is not None:
            ty = var.ty if var is not None and var.ty.is_int else I32
            iv = self.fresh()
            self.affine_ivs.add(iv)
            bound = upper + 1 if loop[4] else upper
            step = f" step {loop[3]}" if loop[3] != 1 else ""
            self.region(f"affine.for {iv} = {lower} to {bound}{step} {{", lambda: self.loop_body(name, iv, ty, body))
        else:
            lb, ub, step_value, ty = self.loop_bounds(loop)
            iv = self.fresh()
            self.region(f"scf.for {iv} = {lb} to {ub} step {step_value} {{", lambda: self.loop_body(name, iv, ty, body))
        self.scopes.pop()

    def while_loop(self, init: Node | None, condition: Node | None, body: Node | None, update: Node | None, body_first: bool = False) -> None:
        self.scopes.append({})
        if init is not None:
            self.stmt(init) if init.type == "declaration" else self.expr(init)

        def before() -> None:
            if body_first and body is not None:
                self.stmt(body)
            value = self.condition(condition) if condition is not None else self.const(1, I1)
            self.emit(f"scf.condition({value})")

        def after() -> None:
            if not body_first and body is not None:
                self.stmt(body)
            if update is not None:
                self.expr(update)
            self.emit("scf.yield")

        self.emit("scf.while : () -> () {")
        self.depth += 1
        self.scopes.append({})
        before()
        self.scopes.pop()
        self.depth -= 1
        self.region("} do {", after)
        self.scopes.pop()

    def s_while_statement(self, node: Node) -> None:
        self.while_loop(None, node.child_by_field_name("condition"), node.child_by_field_name("body"), None)

    def s_do_statement(self, node: Node) -> None:
        self.while_loop(None, node.child_by_field_name("condition"), node.child_by_field_name("body"), None, body_first=True)

    def s_return_statement(self, node: Node, final: bool = False) -> None:
        value_node = next((c for c in node.named_children if c.type != "comment"), None)
        result = self.signature.result
        value = self.expr(value_node, result) if value_node is not None else None
        if final:
            if result == VOID:
                self.emit("func.return")
            else:
                returned = self.cast(*value, result) if value is not None else self.undef(result)[0]
                self.emit(f"func.return {returned} : {result}")
            return
        if value is not None and self.retval is not None:
            self.store(*value, self.retval, Ty(elem=result, shape=(1,)), [self.const(0, INDEX)])

    def s_labeled_statement(self, node: Node) -> None:
        for child in node.named_children:
            if child.type not in ("statement_identifier", "comment"):
                self.stmt(child)

    def s_switch_statement(self, node: Node) -> None:
        self.expr(node.child_by_field_name("condition"))
        body = node.child_by_field_name("body")
        if body is not None:
            self.scopes.append({})
            for case in body.named_children:
                if case.type == "case_statement":
                    self.statements([c for i, c in enumerate(case.children) if case.field_name_for_child(i) != "value"])
                else:
                    self.stmt(case)
            self.scopes.pop()

    def openmp(self, node: Node, pragma: str) -> bool:
        """Emit ``node`` under an ``omp`` construct; False when the pragma is not modelled."""
        words = re.findall(r"[a-z_]+(?:\s*\([^)]*\))?", pragma)
        directive = [w for w in words if "(" not in w]
        if directive[:2] == ["parallel", "for"] or directive[:1] == ["for"]:
            loop = self.canonical_loop(node) if node.type == "for_statement" else None
            if loop is None:
                return False
            name, body = loop[0], node.child_by_field_name("body")
            self.scopes.append({})
            lb, ub, step, ty = self.loop_bounds(loop)

            def nest() -> None:
                iv = self.fresh()
                self.emit("omp.wsloop {")
                self.depth += 1
                self.region(
                    f"omp.loop_nest ({iv}) : index = ({lb}) to ({ub}) step ({step}) {{",
                    lambda: (self.loop_body(name, iv, ty, body), self.emit("omp.yield")),
                )
                self.depth -= 1
                self.emit("}")

            if directive[:1] == ["parallel"]:
                self.region("omp.parallel {", lambda: (nest(), self.emit("omp.terminator")))
            else:
                nest()
            self.scopes.pop()
            return True
        constructs = {"parallel": "omp.parallel", "task": "omp.task", "single": "omp.single", "master": "omp.master", "critical": "omp.critical"}
        if directive and directive[0] in constructs and directive[1:2] not in (["for"], ["sections"], ["loop"], ["simd"]):
            self.region(f"{constructs[directive[0]]} {{", lambda: (self.stmt(node), self.emit("omp.terminator")))
            return True
        return False

    # -- the function

    def run(self) -> list[str]:
        body = self.node.child_by_field_name("body")
        declarator = self.node.child_by_field_name("declarator")
        parameters = _parameters(declarator)
        self.assigned = _assigned_names(body) if body is not None else set()
        header_params = []
        for index, (name, ty) in enumerate(zip(parameters, self.signature.params)):
            argument = f"%arg{index}"
            header_params.append(f"{argument}: {ty}")
            if name is None:
                continue
            if name in self.assigned:
                slot_ty = Ty(elem=ty, shape=(1,))
                slot = self.op(f"memref.alloca() : {slot_ty}")
                self.emit(f"memref.store {argument}, {slot}[{self.const(0, INDEX)}] : {slot_ty}")
                self.bind(name, Var("slot", slot, ty))
            else:
                self.bind(name, Var("ssa", argument, ty))
        result = self.signature.result
        if result != VOID and body is not None and _nested_return(body):
            self.retval = self.op(f"memref.alloca() : {Ty(elem=result, shape=(1,))}")
        finished = not self.statements(body.children, top=True) if body is not None else False
        if not finished:
            if result == VOID:
                self.emit("func.return")
            elif self.retval is not None:
                value, _ = self.load(self.retval, Ty(elem=result, shape=(1,)), [self.const(0, INDEX)])
                self.emit(f"func.return {value} : {result}")
            else:
                self.emit(f"func.return {self.undef(result)[0]} : {result}")
        visibility = "private " if _is_static(self.node) else ""
        returns = "" if result == VOID else f" -> {result}"
        head = f"  func.func {visibility}@{self.name}({', '.join(header_params)}){returns} {{"
        return [head, *("    " + line for line in self.prologue), *self.lines, "  }"]


def _is_array(ty: Ty) -> bool:
    return ty.is_memref and all(d is not None for d in ty.shape[1:]) and (ty.shape[0] is not None or len(ty.shape) > 1)


def _common(a: Ty, b: Ty) -> Ty:
    if a == b:
        return a
    if a.is_float or b.is_float:
        return F64 if F64 in (a, b) else F32
    if a.is_int and b.is_int:
        return a if a.width >= b.width else b
    return a if a.is_memref else b


def _unparenthesized(node: Node) -> Node:
    while node is not None and node.type == "parenthesized_expression" and node.named_child_count:
        node = node.named_children[-1]
    return node


def _assigned_names(body: Node) -> set[str]:
    """Variables written after their declaration (or whose address is taken)."""
    names: set[str] = set()
    stack = [body]
    while stack:
        node = stack.pop()
        target = None
        if node.type == "assignment_expression":
            target = node.child_by_field_name("left")
        elif node.type == "update_expression":
            target = node.child_by_field_name("argument")
        elif node.type == "pointer_expression" and node.child_by_field_name("operator").text == b"&":  # type: ignore[union-attr]
            target = node.child_by_field_name("argument")
        if target is not None:
            target = _unparenthesized(target)
            if target.type == "identifier":
                names.add(target.text.decode())
        stack.extend(node.children)
    return names


def _nested_return(body: Node) -> bool:
    stack = [c for c in body.children if c.type != "return_statement"]
    while stack:
        node = stack.pop()
        if node.type == "return_statement":
            return True
        stack.extend(node.children)
    return False


def _is_static(node: Node) -> bool:
    return any(c.type == "storage_class_specifier" and c.text == b"static" for c in node.children)


def _function_declarator(node: Node | None) -> Node | None:
    while node is not None and node.type != "function_declarator":
        node = node.child_by_field_name("declarator")
    return node


def _parameters(declarator: Node | None) -> list[str | None]:
    function = _function_declarator(declarator)
    if function is None:
        return []
    names: list[str | None] = []
    for parameter in function.child_by_field_name("parameters").named_children:  # type: ignore[union-attr]
        if parameter.type != "parameter_declaration":
            continue
        node = parameter.child_by_field_name("declarator")
        while node is not None and node.type != "identifier":
            node = node.child_by_field_name("declarator")
        names.append(node.text.decode() if node is not None else None)
    return names


# --------------------------------------------------------------------------- translation unit


def _signature(module: Module, type_node: Node | None, declarator: Node) -> tuple[str, Signature] | None:
    function = _function_declarator(declarator)
    if function is None:
        return None
    name_node = function.child_by_field_name("declarator")
    if name_node is None or name_node.type != "identifier":
        return None
    base = module.base_type(type_node)
    # The result: the declarator around the function declarator adds pointer levels.
    result = base
    node = declarator
    while node is not None and node is not function and node.type != "function_declarator":
        if node.type == "pointer_declarator":
            result = pointer_to(result)
        node = node.child_by_field_name("declarator")
    params: list[Ty] = []
    variadic = False
    for parameter in function.child_by_field_name("parameters").named_children:  # type: ignore[union-attr]
        if parameter.type == "variadic_parameter":
            variadic = True
        elif parameter.type == "parameter_declaration":
            param_base = module.base_type(parameter.child_by_field_name("type"))
            _, ty = module.declare(param_base, parameter.child_by_field_name("declarator"), parameter=True)
            if ty == VOID and parameter.child_by_field_name("declarator") is None:
                continue  # (void)
            params.append(I32 if ty == VOID else ty)
    return name_node.text.decode(), Signature(params, result, variadic)


def translate(text: bytes, openmp: bool, affine: bool) -> str:
    root = Parser(Language(tree_sitter_c.language())).parse(text).root_node
    module = Module(openmp=openmp, affine=affine)
    definitions: list[tuple[str, Node]] = []
    for node in _top_level(root):
        kind = node.type
        if kind == "type_definition":
            base = module.base_type(node.child_by_field_name("type"))
            for index, child in enumerate(node.children):
                if node.field_name_for_child(index) == "declarator":
                    name, ty = module.declare(base, child)
                    if name:
                        module.typedefs[name] = ty
        elif kind in ("struct_specifier", "union_specifier", "enum_specifier"):
            module.base_type(node)
        elif kind == "function_definition":
            found = _signature(module, node.child_by_field_name("type"), node.child_by_field_name("declarator"))  # type: ignore[arg-type]
            if found is not None:
                name, signature = found
                signature.defined = True
                module.functions[name] = signature
                definitions.append((name, node))
        elif kind == "declaration":
            type_node = node.child_by_field_name("type")
            base = module.base_type(type_node)
            for index, child in enumerate(node.children):
                if node.field_name_for_child(index) != "declarator":
                    continue
                declarator = child.child_by_field_name("declarator") if child.type == "init_declarator" else child
                found = _signature(module, type_node, declarator) if declarator is not None else None
                if found is not None:
                    name, signature = found
                    if name not in module.functions or not module.functions[name].defined:
                        module.functions[name] = signature
                    continue
                name, ty = module.declare(base, declarator)
                if name and ty != PTR:
                    module.globals[name] = I32 if ty == VOID else ty
    for name, _ in definitions:
        module.globals.pop(name, None)
    reachable = _reachable(definitions)
    bodies: list[str] = []
    for name, node in definitions:
        if name in reachable:
            bodies.extend(FunctionEmitter(module, name, module.functions[name], node).run())
    out = ['module attributes {llvm.target_triple = "x86_64-unknown-linux-gnu", "polygeist.target-cpu" = "x86-64"} {']
    for name, ty in module.used_globals.items():
        storage = ty if _is_array(ty) else Ty(elem=ty, shape=(1,))
        out.append(f'  memref.global "private" @{name} : {storage} = uninitialized')
    for data, symbol in module.strings.items():
        out.append(f"  llvm.mlir.global internal constant @{symbol}(\"{_mlir_string(data)}\\00\") {{addr_space = 0 : i32}}")
    for name, signature in module.vararg_functions.items():
        params = ", ".join([*(str(_llvm(p)) for p in signature.params), "..."])
        result = "" if signature.result == VOID else f" -> {_llvm(signature.result)}"
        out.append(f"  llvm.func @{name}({params}){result}")
    out.extend(bodies)
    for name in sorted(module.used_functions):
        signature = module.functions[name]
        if signature.defined and name in reachable:
            continue
        returns = "" if signature.result == VOID else f" -> {signature.result}"
        out.append(f"  func.func private @{name}({', '.join(str(p) for p in signature.params)}){returns}")
    out.append("}")
    return "\n".join(out) + "\n"


def _top_level(root: Node) -> list[Node]:
    found, stack = [], list(reversed(root.children))
    while stack:
        node = stack.pop()
        if node.type in ("preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "linkage_specification", "declaration_list"):
            stack.extend(reversed(node.named_children))
        else:
            found.append(node)
    return found


def _reachable(definitions: list[tuple[str, Node]]) -> set[str]:
    """Functions cgeist would emit: the non-static ones and what they name, transitively."""
    names = {name for name, _ in definitions}
    mentions: dict[str, set[str]] = {}
    for name, node in definitions:
        body = node.child_by_field_name("body")
        seen: set[str] = set()
        stack = [body] if body is not None else []
        while stack:
            current = stack.pop()
            if current.type == "identifier":
                text = current.text.decode()
                if text in names:
                    seen.add(text)
            stack.extend(current.children)
        mentions[name] = seen
    work = [name for name, node in definitions if not _is_static(node)]
    reachable = set(work)
    while work:
        for mentioned in mentions.get(work.pop(), ()):
            if mentioned not in reachable:
                reachable.add(mentioned)
                work.append(mentioned)
    return reachable


def _mlir_string(data: bytes) -> str:
    """A C string literal's body (escapes as written) as an MLIR string body."""
    try:
        value = data.decode("unicode_escape").encode("latin-1")
    except (UnicodeDecodeError, UnicodeEncodeError):
        value = data
    return "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:02X}" for b in value)


# --------------------------------------------------------------------------- driver


@dataclass
class Options:
    inputs: list[str] = field(default_factory=list)
    compiler_flags: list[str] = field(default_factory=list)
    openmp: bool = False
    affine: bool = False
    output: str | None = None


def parse_args(argv: list[str]) -> Options:
    options = Options()
    args = iter(argv)
    for arg in args:
        if arg in ("-o",):
            options.output = next(args, None)
        elif arg in ("-D", "-I", "-U", "-include"):
            options.compiler_flags += [arg, next(args, "")]
        elif arg.startswith(("-D", "-I", "-U", "-std=")):
            options.compiler_flags.append(arg)
        elif arg == "-fopenmp":
            options.openmp = True
        elif arg == "--raise-scf-to-affine":
            options.affine = True
        elif arg.startswith("-"):
            continue  # -O0, -S, --print-debug-info ...: nothing to model
        else:
            options.inputs.append(arg)
    return options


def main(argv: list[str]) -> int:
    if argv[:1] == ["--print-include-dir"]:
        print(standin_include_dir())
        return 0
    options = parse_args(argv)
    if len(options.inputs) != 1:
        print("cgeist: error: expected exactly one input file", file=sys.stderr)
        return 1
    source = options.inputs[0]
    flags = [*options.compiler_flags, f"-I{standin_include_dir()}", *(["-fopenmp"] if options.openmp else [])]
    checked = subprocess.run([GCC, "-fsyntax-only", "-w", *flags, source], capture_output=True, text=True)
    if checked.returncode != 0:
        errors = [line for line in checked.stderr.splitlines() if ": error:" in line or ": fatal error:" in line]
        sys.stderr.write("\n".join(errors or checked.stderr.splitlines()) + "\n")
        print(f"{len(errors) or 1} error{'s' if len(errors) != 1 else ''} generated.", file=sys.stderr)
        return 1
    preprocessed = subprocess.run([GCC, "-E", "-P", *flags, source], capture_output=True)
    if preprocessed.returncode != 0:
        sys.stderr.write(preprocessed.stderr.decode(errors="replace"))
        return 1
    try:
        module = translate(preprocessed.stdout, options.openmp, options.affine)
    except (RecursionError, ValueError, UnicodeDecodeError) as error:  # C this stand-in cannot model
        print(f"{source}: error: cgeist stand-in cannot translate this input: {error!r}", file=sys.stderr)
        return 1
    if options.output and options.output != "-":
        Path(options.output).write_text(module)
    else:
        sys.stdout.write(module)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
