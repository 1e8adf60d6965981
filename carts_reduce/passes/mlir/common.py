"""What the MLIR passes share: the parse of the current text, slices, types, edits.

Every pass parses the text once per ``candidates()`` call (the last few parses
are memoised, since the driver asks several passes about the same text) and
spells each candidate as edits of that text, so producing one costs O(text).

The key to well-formed candidates is :func:`deletion_closure`: deleting an op
takes along every op that uses a value it defines (the forward slice) and
every op that references a symbol it defines; a terminator in that slice is
never deleted alone, its whole enclosing op goes instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter

from carts_reduce.formats.mlir import (
    MLIRParseError,
    Module,
    Op,
    TextCache,
    apply_edits,
    parsed_module,
    tokenize,
)
from carts_reduce.formats.mlir.lexer import COMMENT, PUNCT, WS, Token
from carts_reduce.formats.mlir.tree import Block, Value

Edit = tuple[int, int, str]

#: Op names (the part after the dialect, or the whole undotted name) that end a block.
_TERMINATOR = re.compile(
    r"(?:^|[._])(?:yield|return|ret|terminator|condition|br|cond_br|switch|unreachable|reduce|in_parallel)$"
)
_MODULES = frozenset({"module", "builtin.module"})
#: Ops whose region holds exactly one op (another wrapper or the loop nest): that op cannot go alone.
WRAPPERS = frozenset({"omp.wsloop", "omp.simd", "omp.distribute", "omp.taskloop", "omp.loop"})
#: Ops without side effects worth keeping once their results are unused.
_PURE_PREFIXES = ("arith.", "math.", "index.", "complex.", "affine.apply", "affine.min", "affine.max")
_PURE_NAMES = frozenset(
    {
        "constant",
        "func.constant",
        "memref.dim",
        "memref.rank",
        "memref.cast",
        "memref.subview",
        "memref.view",
        "memref.reinterpret_cast",
        "memref.extract_strided_metadata",
        "memref.load",
        "memref.alloca",
        "memref.get_global",
        "affine.load",
        "llvm.mlir.constant",
        "llvm.mlir.addressof",
        "llvm.mlir.zero",
        "llvm.mlir.undef",
        "llvm.mlir.poison",
        "llvm.getelementptr",
        "llvm.bitcast",
        "llvm.load",
        "llvm.alloca",
        "polygeist.typeSize",
        "polygeist.undef",
        "polygeist.subindex",
        "polygeist.pointer2memref",
        "polygeist.memref2pointer",
        "unrealized_conversion_cast",
        "builtin.unrealized_conversion_cast",
    }
)


# --------------------------------------------------------------------- parse
@dataclass(eq=False)
class Tree:
    """A parsed text and the indexes the passes ask about it."""

    module: Module

    @property
    def text(self) -> str:
        return self.module.text

    @cached_property
    def ops(self) -> list[Op]:
        """Every op, pre-order."""
        return list(self.module.walk())

    @cached_property
    def blocks(self) -> list[Block]:
        """Every block, pre-order: the module body first, then nested ones in text order."""
        found = [self.module.body]
        for op in self.ops:
            for region in op.regions:
                found.extend(region.blocks)
        found[1:] = sorted(found[1:], key=lambda block: block.start)
        return found

    @cached_property
    def module_blocks(self) -> list[Block]:
        """The blocks that hold module-level ops: the top level's, then those of every ``module`` op."""
        found = [self.module.body]
        for op in self.ops:
            if is_module(op):
                for region in op.regions:
                    found.extend(region.blocks)
        return found

    @cached_property
    def symbol_users(self) -> dict[str, list[Op]]:
        users: dict[str, list[Op]] = {}
        for op in self.ops:
            for ref in op.symbol_refs:
                users.setdefault(ref.name, []).append(op)
        return users

    @cached_property
    def value_names(self) -> set[str]:
        """Every SSA name defined anywhere (to make fresh ones)."""
        names = {value.name for op in self.ops for value in op.definitions()}
        names.update(value.name for value in self.module.body.args)
        return names

    def fresh_name(self, stem: str, claimed: set[str]) -> str:
        """An SSA name like ``%<stem>`` that neither the text nor ``claimed`` has; claims it."""
        name, n = f"%{stem}", 0
        while name in self.value_names or name in claimed:
            name = f"%{stem}_{n}"
            n += 1
        claimed.add(name)
        return name


def _tree_or_none(text: str) -> Tree | None:
    try:
        return Tree(parsed_module(text))
    except (MLIRParseError, ValueError, RecursionError):
        return None


_TREES: TextCache[Tree | None] = TextCache(_tree_or_none)


def parsed(text: str) -> Tree | None:
    """The parse of ``text`` (remembered), or ``None`` when it does not parse: then no pass proposes anything.

    One cache for every MLIR pass, over the parses every part of carts-reduce
    shares: a candidate parsed while it was checked or tested is, once
    accepted, the text the next pass starts from; the input's op count
    parsed it first.
    """
    return _TREES.get(text)


# ---------------------------------------------------------------- structure
def is_terminator(op: Op) -> bool:
    """The op that ends a block of a region: never deleted without its enclosing op."""
    block = op.parent
    if block is None or block.parent is None or not block.ops or block.ops[-1] is not op:
        return False
    if block.parent.parent.name in _MODULES:
        return False
    return bool(op.successors) or _TERMINATOR.search(op.name) is not None


def is_wrapped(op: Op) -> bool:
    """The single op a loop wrapper (``omp.wsloop``...) must hold."""
    parent = op.parent_op
    return parent is not None and parent.name in WRAPPERS


def is_module(op: Op) -> bool:
    return op.name in _MODULES


def is_pure(op: Op) -> bool:
    """Looks free of side effects: deleting it when its results are unused changes nothing else."""
    if op.regions or op.symbol is not None:
        return False
    name = op.name
    return name in _PURE_NAMES or name.startswith(_PURE_PREFIXES) or name.endswith(("_cast", ".cast"))




def unused(op: Op) -> bool:
    return bool(op.results) and all(not value.uses for value in op.results)


def position_in(ops: list[Op], op: Op) -> int:
    """Index of ``op`` in ``ops`` (by identity); ``len(ops)`` when absent."""
    return next((i for i, other in enumerate(ops) if other is op), len(ops))


def inside(op: Op, ancestor: Op) -> bool:
    """Is ``op`` nested (at any depth) in ``ancestor``, or ``ancestor`` itself?"""
    while op is not None:
        if op is ancestor:
            return True
        op = op.parent_op
    return False


def deletion_closure(tree: Tree, roots: Iterable[Op], deleted: Iterable[int] = ()) -> list[Op] | None:
    """The outermost ops to delete so that deleting ``roots`` leaves a well-formed module.

    Users of deleted values and symbols go too, transitively; a terminator,
    or the op a loop wrapper holds, takes its enclosing op along. ``None``
    when that would reach the terminator of an isolated op's body (a
    function's return) or a module. ``deleted`` holds the ids of ops (all
    of them, nested ones included) already cut from the text: they are not
    taken again.
    """
    gone: set[int] = set(deleted)
    taken: list[Op] = []
    work = list(roots)
    while work:
        op = work.pop()
        if _covered(op, gone):
            continue
        if is_module(op):
            return None
        if is_terminator(op) or is_wrapped(op):
            parent = op.parent_op
            if parent is None or parent.isolated:
                return None
            work.append(parent)
            continue
        taken.append(op)
        inner_ops = list(op.walk())
        gone.update(map(id, inner_ops))
        # Values defined inside an op isolated from above are used inside it only: of
        # those, only its results reach out (a function's body is not walked value by value).
        for value in op.results if op.isolated else (v for inner in inner_ops for v in inner.definitions()):
            work.extend(use.user for use in value.uses)
        for inner in inner_ops:
            if inner.symbol is not None:
                work.extend(tree.symbol_users.get(inner.symbol.name, ()))
    # The ops taken whole whose enclosing op stays, in text order (a later one may hold an earlier one).
    outer = [op for op in taken if not _covered(op.parent_op, gone)]
    outer.sort(key=_START)
    return outer


_START = attrgetter("start")


def outermost(ops: Iterable[Op]) -> list[Op]:
    """The ops none of the others holds, in text order."""
    ops = list(ops)
    ids = {id(op) for op in ops}
    kept = [op for op in ops if not _covered(op.parent_op, ids)]
    kept.sort(key=_START)
    return kept


def _covered(op: Op | None, gone: set[int]) -> bool:
    while op is not None:
        if id(op) in gone:
            return True
        op = op.parent_op
    return False


def dead_producers(tree: Tree, removed: Iterable[Op], keep: Iterable[Op] = ()) -> list[Op]:
    """Pure ops whose results are only used by ``removed`` ops (transitively): the backward slice left dead."""
    gone = {id(inner) for op in removed for inner in op.walk()}
    kept = {id(op) for op in keep}
    found: list[Op] = []
    work = [use.value.owner for op in removed for inner in op.walk() for use in inner.operands if use.value is not None]
    while work:
        op = work.pop()
        if not isinstance(op, Op) or id(op) in gone or id(op) in kept or not is_pure(op):
            continue
        if any(id(use.user) not in gone and not _covered(use.user, gone) for value in op.results for use in value.uses):
            continue
        gone.add(id(op))
        found.append(op)
        work.extend(use.value.owner for use in op.operands if use.value is not None)
    return found


def deletion_edits(ops: Iterable[Op]) -> list[Edit]:
    return [(*op.line_span(), "") for op in ops]


# ------------------------------------------------------------------- edits
def shortlex_smaller(candidate: str, text: str) -> bool:
    a, b = candidate.encode("utf-8", "surrogateescape"), text.encode("utf-8", "surrogateescape")
    return (len(a), candidate) < (len(b), text)


def edit(text: str, edits: list[Edit]) -> str | None:
    """The text with ``edits`` applied, or ``None`` when they overlap or do not shrink it."""
    if not edits:
        return None
    try:
        candidate = apply_edits(text, edits)
    except ValueError:
        return None
    return candidate if shortlex_smaller(candidate, text) else None










# ------------------------------------------------------------------- types


def split_top(text: str, separator: str = ",") -> list[str]:
    """Split at top-level ``separator`` (outside brackets and strings)."""
    parts: list[str] = []
    depth = 0
    current = 0
    i = 0
    in_string = False
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "([{<":
            depth += 1
        elif c in ")]}>":
            if not (c == ">" and i > 0 and text[i - 1] == "-"):
                depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[current:i])
            i += len(separator)
            current = i
            continue
        i += 1
    parts.append(text[current:])
    return [p.strip() for p in parts]


def normal_type(text: str) -> str:
    return " ".join(text.split())


def _strip_parens(text: str) -> str:
    text = text.strip()
    if text.startswith("(") and text.endswith(")") and len(split_top(text[1:-1], ")")) == 1:
        return text[1:-1]
    return text


def memref_element(text: str) -> str | None:
    """``memref<?x4xf32, #map>`` -> ``f32``; ``None`` for anything else."""
    text = text.strip()
    for prefix in ("memref<", "tensor<", "vector<"):
        if text.startswith(prefix) and text.endswith(">"):
            body = split_top(text[len(prefix) : -1])[0]
            return re.sub(r"^(?:(?:\?|\d+)x)+", "", body).strip() or None
    return None


_CAST_WORD = re.compile(r"\sto\s")
_COMPARE = re.compile(r"(?:^|[._])(?:cmpi|cmpf|icmp|fcmp|cmp)$")
_ELEMENT_OF_OPERAND = frozenset(
    {
        "memref.load",
        "affine.load",
        "tensor.extract",
        "memref.atomic_rmw",
        "memref.generic_atomic_rmw",
        "vector.extractelement",
    }
)
_INDEX_RESULT = frozenset(
    {"memref.dim", "tensor.dim", "affine.apply", "affine.min", "affine.max", "memref.rank", "index.constant"}
)
_OPAQUE_AFTER_COLON = frozenset({"llvm.extractvalue", "vector.extract", "llvm.getelementptr"})


def result_types(op: Op) -> list[str] | None:
    """The type of each result of ``op`` (result groups flattened), or ``None`` when unsure.

    Follows the printer's conventions: the generic form's function type,
    ``x to T`` of casts, ``... -> T``, else the type after the last ``:``;
    ops known to print an operand's type there (loads, compares, ``dim``) are
    special-cased, and any count mismatch means "unknown".
    """
    count = sum(value.count for value in op.results)
    if not count:
        return []
    name = op.name
    if _COMPARE.search(name):
        return ["i1"] * count
    if name in _INDEX_RESULT:
        return ["index"] * count
    raw = op.result_types
    if raw is None or name in _OPAQUE_AFTER_COLON:
        return None
    if name in _ELEMENT_OF_OPERAND:
        element = memref_element(split_top(raw)[0]) if not op.generic else None
        return [element] * count if element and count == 1 else None
    if not op.generic:
        to = list(_CAST_WORD.finditer(raw))
        if to and "(" not in raw[to[-1].end() :]:
            raw = raw[to[-1].end() :]
    types = [normal_type(t) for t in split_top(_strip_parens(raw)) if t]
    if len(types) != count:
        return None
    if any(not _looks_like_type(t) for t in types):
        return None
    return types


_TYPE = re.compile(r"^(?:[a-z][\w.]*(?:<.*>)?|![\w.$-]+(?:<.*>)?|\(.*\)\s*->.*)$", re.S)


def _looks_like_type(text: str) -> bool:
    return bool(_TYPE.match(text)) and " " not in text.split("<", 1)[0]


_INT = re.compile(r"^i\d+$")
_FLOAT = frozenset({"f16", "bf16", "f32", "f64", "f80", "f128", "tf32"})


def zero_of(type_: str) -> str | None:
    """The text of an op (after ``%x = ``) that makes a plain value of ``type_``, or ``None``."""
    if type_ == "i1":
        return "arith.constant false"
    if type_ == "index" or _INT.match(type_):
        return f"arith.constant 0 : {type_}"
    if type_ in _FLOAT:
        return f"arith.constant 0.000000e+00 : {type_}"
    if type_ == "!llvm.ptr":
        return "llvm.mlir.zero : !llvm.ptr"
    return None


def argument_types(tree: Tree, op: Op) -> dict[str, str]:
    """Types of the named arguments in a function-like header (``@f(%a: i32, ...)``)."""
    types: dict[str, str] = {}
    if not op.region_args or not op.regions:
        return types
    header = tree.text[op.start : op.regions[0].start]
    group = first_paren_group(header, after_symbol=True)
    if group is None:
        return types
    for entry in split_top(header[group[0] + 1 : group[1] - 1]):
        m = re.match(r"^(%[\w$.\-]+)\s*:\s*(.*)$", entry, re.S)
        if not m:
            continue
        type_ = _strip_trailing_attrs(m.group(2))
        if type_:
            types[m.group(1)] = type_
    return types


class TypeTable:
    """Result and argument types of a tree, read on demand and remembered."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.results: dict[int, list[str] | None] = {}
        self.arguments: dict[int, dict[str, str]] = {}

    def of_results(self, op: Op) -> list[str] | None:
        key = id(op)
        if key not in self.results:
            self.results[key] = result_types(op)
        return self.results[key]

    def of_arguments(self, op: Op) -> dict[str, str]:
        key = id(op)
        if key not in self.arguments:
            self.arguments[key] = argument_types(self.tree, op) if op.isolated else {}
        return self.arguments[key]

    def of_region_argument(self, value: Value) -> str | None:
        """The type of a header-defined region argument (``scf.for %i``, ``@f(%a: i32)``)."""
        if value.type:
            return normal_type(value.type)
        owner = value.owner
        return self.of_arguments(owner).get(value.name) if isinstance(owner, Op) else None

    def spelled_results(self, op: Op) -> list[tuple[str, str]]:
        """``(spelling, type)`` of each result: ``%x``, or ``%x#1`` in a result group."""
        found = self.of_results(op)
        if not found:
            return []
        flat = [(value, i) for value in op.results for i in range(value.count)]
        return [(value.name if value.count == 1 else f"{value.name}#{i}", t) for (value, i), t in zip(flat, found)]


def is_simple(owner: Op | None) -> bool:
    """A value's definition that costs nothing to read: an argument (``None``), or an op without operands or regions."""
    return owner is None or (not owner.operands and not owner.regions)


def visible(types: TypeTable, at: Op, type_: str, excluded: set[int] = frozenset()) -> Iterator[tuple[str, Op | None]]:
    """``(spelling, defining op)`` of the values of ``type_`` that ``at`` can use, nearest first.

    Earlier results in its block and in the enclosing blocks, the arguments
    of those blocks and the header arguments of the enclosing ops (``None``
    as their op), up to the first op isolated from above; ops whose ids are
    in ``excluded`` are passed over. Other blocks of a CFG region are not
    searched (dominance is not worked out).
    """
    current = at
    while True:
        block = current.parent
        if block is None:
            return
        for earlier in reversed(block.ops[: position_in(block.ops, current)]):
            if id(earlier) in excluded:
                continue
            for spelled, found in types.spelled_results(earlier):
                if found == type_:
                    yield spelled, earlier
        for arg in block.args:
            if arg.type is not None and normal_type(arg.type) == type_:
                yield arg.name, None
        parent = current.parent_op
        if parent is None:
            return
        if parent.regions and current.parent_region is parent.regions[0]:
            for arg in parent.region_args:
                if types.of_region_argument(arg) == type_:
                    yield arg.name, None
        if parent.isolated:
            return
        current = parent


def _strip_trailing_attrs(text: str) -> str:
    """``i32 {llvm.noundef} loc(...)`` -> ``i32``."""
    parts = split_top(text, " ")
    kept = []
    for part in parts:
        if not part:
            continue
        if part.startswith("{") or part.startswith("loc("):
            break
        kept.append(part)
    return normal_type(" ".join(kept))


def first_paren_group(text: str, after_symbol: bool = False) -> tuple[int, int] | None:
    """``(start, end)`` of the first top-level ``(...)`` (after the first ``@symbol`` when asked)."""
    tokens = tokenize(text)
    i = 0
    if after_symbol:
        while i < len(tokens) and tokens[i].kind != "sym":
            i += 1
        i += 1
    while i < len(tokens) and tokens[i].kind in (WS, COMMENT):
        i += 1
    if i >= len(tokens) or tokens[i].text != "(":
        return None
    return paren_group_at(tokens, i)


def paren_group_at(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """Offsets of the balanced group opening at ``tokens[i]``."""
    depth = 0
    for j in range(i, len(tokens)):
        t = tokens[j]
        if t.kind == PUNCT and t.text in "([{":
            depth += 1
        elif t.kind == PUNCT and t.text in ")]}":
            depth -= 1
            if depth == 0:
                return tokens[i].start, t.end
    return None
