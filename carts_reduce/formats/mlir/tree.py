"""A lossless op tree over MLIR text, for any dialect.

Sequences of a node (``op.results``, ``value.uses``...) are lists, or the
shared empty tuple when empty: a tree has few objects, so parsing and freeing
one stays cheap. Links up the tree (``parent``, ``owner``, ``user``, a use's
``value``) are weak references: a tree holds no reference cycle, so it is
freed the moment its ``Module`` is dropped, and a node is valid while its
module is referenced. The tree never owns text: every node records ``start``/``end`` offsets into
the source string it was parsed from (Python ``str`` indices, i.e. code
points; equal to byte offsets for ASCII input). Reduction passes build
candidates as *edits of the original text* and re-parse them, so the tree is
read-only.

API
---
``parse(text) -> Module``  (raises ``MLIRParseError(message, line, col)``)

``Module``
    ``text`` (the source), ``body`` (a ``Block`` holding the top-level ops),
    ``ops`` (top-level ops), ``aliases`` (``AliasDef``: ``#map = ...``,
    ``!t = ...``, ``#loc3 = loc(...)``), ``metadata`` (spans of
    ``{-# ... #-}``), ``walk()`` (every op, pre-order), ``print()`` /
    ``str(module)`` (the text rebuilt from the tree, byte for byte),
    ``symbols`` (name -> defining ``Op``), ``symbol_uses(name)``
    (``(Op | AliasDef, Ref)`` pairs, text order), ``referenced_symbols()``
    (every symbol name referenced by an op or an alias definition),
    ``alias_uses(name)`` (``(Op | AliasDef, Ref)``), ``unresolved``
    (``Use``s that name no value in scope), ``redefinitions``
    (``(Value, earlier Value)`` pairs: a name defined again while MLIR's
    parser still has it in scope), ``op_count()``.

``Op``
    ``name`` (``"arith.addi"``), ``start``/``end`` (the op's exact span,
    regions included, trailing ``loc(...)`` included), ``text``,
    ``line_span()`` (the span grown to whole lines when the op owns them:
    the natural unit to delete), ``generic`` (written as ``"name"(...)``),
    ``results`` (``Value``s; ``%x:2`` is one ``Value`` with ``count=2``),
    ``operands`` (``Use``s in the op's own text, regions excluded),
    ``region_args`` (``Value``s the header defines for its regions:
    ``scf.for %i = ...``, ``iter_args(%acc = ...)``, ``func.func @f(%a: i32)``),
    ``regions``, ``successors`` (``Ref`` of ``^bb`` names), ``symbol``
    (``Ref`` of the symbol it defines, or ``None``), ``symbol_refs`` (every
    other ``@name`` in its own text, inside attribute and type bodies
    too: ``#d.attr<@f>``, ``[@a, @b]``; ``@m::@f`` gives ``@m`` and ``@f``),
    ``alias_refs`` (``#map``/``!t``/``#loc3`` names used by the op's own
    text), ``locs`` (spans of its ``loc(...)``), ``result_types`` (text after
    the last top-level ``:`` or ``->``, a printer convention, ``None`` for ops
    without results), ``parent`` (``Block``), ``parent_region``,
    ``parent_op``, ``definitions()`` (results, region args and the block
    arguments of its regions), ``walk()`` (itself and nested ops,
    pre-order), ``isolated`` (values from outside are not visible inside).

``Region``: ``blocks``, ``start``/``end`` (the braces included), ``parent``
(``Op``), ``ops()`` (ops of all its blocks).
``Block``: ``label`` (``"^bb1"`` or ``None`` for an unlabelled entry block),
``label_span``, ``args`` (``Value``s, with ``type``), ``ops``, ``start``/
``end``, ``parent`` (``Region``; ``None`` for the module body).
``Value``: ``name`` (``"%x"``), ``start``/``end`` (of its name), ``kind``
(``"result"``, ``"block_arg"``, ``"region_arg"``), ``owner`` (``Op`` or
``Block``), ``count``, ``type`` (text of the type of a block or region
argument where the syntax states it: ``%a: i32``, ``iter_args(...) -> (f32)``,
``(%i) : index = ...``, ``scf.while (...) : (i32) -> ...``, ``index`` for
the loop variables of ``scf.for``/``affine.for``/``scf.parallel``...;
``None`` for results and where the syntax does not say), ``uses``.
``Use``: ``name`` (``"%x"``), ``index`` (``1`` for ``%x#1``), ``start``/
``end`` (the whole ``%x#1``), ``user`` (``Op``), ``value`` (the ``Value``, or
``None`` when no definition is in scope).
``Ref``: ``(name, start, end)``.
``AliasDef``: ``name``, ``start``/``end``, ``value`` (its text), ``refs``
(aliases its value names), ``symbol_refs`` (symbols its value names).

``apply_edits(text, [(start, end, replacement), ...]) -> str``,
``count_ops(text)`` (the ops ``mlir-opt --mlir-print-op-generic`` would print,
the module included) and ``def_use_errors(module)`` (undefined uses and
redefinitions, one message each).

Example (delete every op whose results are unused, one candidate each)::

    module = parse(text)
    for op in module.walk():                       # pre-order, text order
        if not op.results or any(v.uses for v in op.results):
            continue                               # v.uses: Use(user=Op, start, end)
        feeding = [u.value.owner for u in op.operands if u.value is not None]
        start, end = op.line_span()                # whole lines, regions included
        candidate = apply_edits(text, [(start, end, "")])
        reduced = parse(candidate)                 # re-parse the new text
        assert reduced.print() == candidate
        if not def_use_errors(reduced):            # still SSA-sound
            yield candidate
"""

from __future__ import annotations

import weakref
from operator import itemgetter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

__all__ = [
    "Ref",
    "Value",
    "Use",
    "Op",
    "Block",
    "Region",
    "AliasDef",
    "Module",
    "apply_edits",
    "IMPLICIT_TERMINATORS",
]

#: Ops whose custom form leaves out their regions' terminator (printed only
#: when it carries operands); counting ops like ``mlir-opt`` does adds them back.
IMPLICIT_TERMINATORS: dict[str, str] = {
    "affine.for": "affine.yield",
    "affine.if": "affine.yield",
    "affine.parallel": "affine.yield",
    "scf.for": "scf.yield",
    "scf.if": "scf.yield",
    "memref.alloca_scope": "memref.alloca_scope.return",
    "scf.forall": "scf.forall.in_parallel",
}


class Ref(NamedTuple):
    """A name (``@f``, ``^bb1``, ``#map``) and where it is written."""

    name: str
    start: int
    end: int


def _nothing() -> None:
    return None


def link(node: object) -> Callable[[], Any]:
    """A reference up the tree: weak, so that a tree has no reference cycles.

    A parent, an owner, a user or a use's value is reached through it; the
    tree is freed as soon as its ``Module`` is no longer referenced (nodes
    are valid while their module is alive), without the cycle collector
    ever having to walk it.
    """
    return _nothing if node is None else weakref.ref(node)


@dataclass(eq=False, slots=True, weakref_slot=True)
class Value:
    """An SSA value definition: an op result (group), a block or region argument."""

    name: str
    start: int
    end: int
    kind: str
    _owner: Callable[[], Union["Op", "Block"]] = field(repr=False)
    count: int = 1
    type: str | None = None
    uses: Sequence["Use"] = ()

    @property
    def owner(self) -> Union["Op", "Block"]:
        return self._owner()

    def __repr__(self) -> str:
        return f"<Value {self.name} {self.kind} @{self.start}>"


@dataclass(eq=False, slots=True)
class Use:
    """An SSA use: ``%x`` or ``%x#1`` in the text of ``user``."""

    name: str
    index: int | None
    start: int
    end: int
    _user: Callable[[], "Op"] = field(repr=False)
    _value: Callable[[], Value | None] = field(default=_nothing, repr=False)

    @property
    def user(self) -> "Op":
        return self._user()

    @property
    def value(self) -> Value | None:
        return self._value()

    def __repr__(self) -> str:
        return f"<Use {self.name}{'' if self.index is None else f'#{self.index}'} @{self.start}>"


@dataclass(eq=False, slots=True, weakref_slot=True)
class Region:
    start: int
    end: int
    _parent: Callable[[], "Op"] = field(repr=False)
    blocks: list["Block"] = field(default_factory=list)

    @property
    def parent(self) -> "Op":
        return self._parent()

    def ops(self) -> Iterator["Op"]:
        for block in self.blocks:
            yield from block.ops

    def __repr__(self) -> str:
        return f"<Region {self.start}:{self.end} blocks={len(self.blocks)}>"


@dataclass(eq=False, slots=True, weakref_slot=True)
class Block:
    start: int
    end: int
    _parent: Callable[[], Region | None] = field(repr=False)
    label: str | None = None
    label_span: tuple[int, int] | None = None
    args: Sequence[Value] = ()
    ops: list["Op"] = field(default_factory=list)

    @property
    def parent(self) -> Region | None:
        return self._parent()

    def __repr__(self) -> str:
        return f"<Block {self.label or '(entry)'} ops={len(self.ops)}>"


@dataclass(eq=False, slots=True, weakref_slot=True)
class Op:
    name: str
    start: int
    end: int
    _parent: Callable[[], Block | None] = field(repr=False)
    source: str = field(repr=False)
    generic: bool = False
    results: Sequence[Value] = ()
    operands: Sequence[Use] = ()
    region_args: Sequence[Value] = ()
    regions: Sequence[Region] = ()
    successors: Sequence[Ref] = ()
    symbol: Ref | None = None
    symbol_refs: Sequence[Ref] = ()
    alias_refs: Sequence[Ref] = ()
    locs: Sequence[tuple[int, int]] = ()
    result_types: str | None = None
    isolated: bool = False
    # Header SSA tokens as [start, end, role, before_first_region], sorted into
    # uses and region-argument definitions once scopes are known (parser.py).
    _header_values: Sequence[list] = field(default=(), repr=False)

    @property
    def parent(self) -> Block | None:
        return self._parent()

    @property
    def text(self) -> str:
        return self.source[self.start : self.end]

    @property
    def parent_region(self) -> Region | None:
        return self.parent.parent if self.parent is not None else None

    @property
    def parent_op(self) -> Op | None:
        region = self.parent_region
        return region.parent if region is not None else None

    def line_span(self) -> tuple[int, int]:
        """The op's span grown to whole lines when nothing else shares them.

        Leading indentation and the line end (with a trailing ``//`` comment)
        are taken along; otherwise the exact span is returned.
        """
        src = self.source
        line_start = src.rfind("\n", 0, self.start) + 1
        if src[line_start : self.start].strip():
            return self.start, self.end
        nl = src.find("\n", self.end)
        line_end = len(src) if nl < 0 else nl + 1
        rest = src[self.end : line_end].strip()
        if rest and not rest.startswith("//"):
            return self.start, self.end
        return line_start, line_end

    def definitions(self) -> list[Value]:
        """Results, header-defined region arguments and block arguments of its regions."""
        defs = list(self.results) + list(self.region_args)
        for region in self.regions:
            for block in region.blocks:
                defs.extend(block.args)
        return defs

    def walk(self) -> Iterator[Op]:
        """This op and every op nested in it, pre-order."""
        stack: list[Op] = [self]
        while stack:
            op = stack.pop()
            yield op
            nested = [inner for region in op.regions for block in region.blocks for inner in block.ops]
            stack.extend(reversed(nested))

    def __repr__(self) -> str:
        return f"<Op {self.name} {self.start}:{self.end}>"


@dataclass(eq=False, slots=True)
class AliasDef:
    """A top-level ``#name = attr`` or ``!name = type``.

    ``refs`` are the aliases its value names, ``symbol_refs`` the symbols.
    """

    name: str
    start: int
    end: int
    value: str
    refs: Sequence[Ref] = ()
    symbol_refs: Sequence[Ref] = ()


@dataclass(eq=False)
class Module:
    text: str
    body: Block
    aliases: list[AliasDef] = field(default_factory=list)
    metadata: list[tuple[int, int]] = field(default_factory=list)
    unresolved: list[Use] = field(default_factory=list)
    redefinitions: list[tuple[Value, Value]] = field(default_factory=list)

    @property
    def ops(self) -> list[Op]:
        return self.body.ops

    def walk(self) -> Iterator[Op]:
        """Every op, pre-order (parents before their nested ops, text order)."""
        for op in self.body.ops:
            yield from op.walk()

    @property
    def symbols(self) -> dict[str, Op]:
        table: dict[str, Op] = {}
        for op in self.walk():
            if op.symbol is not None:
                table.setdefault(op.symbol.name, op)
        return table

    def symbol_uses(self, name: str) -> list[tuple[Op | AliasDef, Ref]]:
        """Every reference to the symbol ``name``, in text order: ops, and alias
        definitions whose value holds one (``#a = #d.attr<@f>``)."""
        found: list[tuple[Op | AliasDef, Ref]] = [
            (alias, ref) for alias in self.aliases for ref in alias.symbol_refs if ref.name == name
        ]
        found += [(op, ref) for op in self.walk() for ref in op.symbol_refs if ref.name == name]
        found.sort(key=lambda pair: pair[1].start)
        return found

    def referenced_symbols(self) -> set[str]:
        """Names of every symbol referenced anywhere: ops and alias definitions."""
        names = {ref.name for alias in self.aliases for ref in alias.symbol_refs}
        names.update(ref.name for op in self.walk() for ref in op.symbol_refs)
        return names

    def alias_uses(self, name: str) -> list[tuple[Op | AliasDef, Ref]]:
        found: list[tuple[Op | AliasDef, Ref]] = []
        for alias in self.aliases:
            found.extend((alias, ref) for ref in alias.refs if ref.name == name)
        for op in self.walk():
            found.extend((op, ref) for ref in op.alias_refs if ref.name == name)
        return found

    def op_count(self) -> int:
        """How many ops ``mlir-opt --mlir-print-op-generic`` prints for this text.

        The top-level module counts (an implicit one when the text is not a
        single ``module``), and so do the terminators the custom form leaves out.
        """
        count = 0
        for op in self.walk():
            count += 1
            terminator = None if op.generic else IMPLICIT_TERMINATORS.get(op.name)
            if terminator is None:
                continue
            for region in op.regions:
                last = region.blocks[-1].ops[-1] if region.blocks and region.blocks[-1].ops else None
                if last is None or last.name != terminator:
                    count += 1
        tops = self.body.ops
        if not (len(tops) == 1 and tops[0].name in ("module", "builtin.module")):
            count += 1  # the module mlir-opt wraps around anything else
        return count

    def print(self) -> str:
        """Rebuild the text from the tree: every node emits the text between its children.

        Raises ``ValueError`` if spans are not properly nested, so a
        successful print is a structural check of the tree, not a copy.
        """
        src = self.text
        out: list[str] = []
        pos = 0

        def emit_until(offset: int) -> None:
            nonlocal pos
            if offset < pos:
                raise ValueError(f"overlapping spans at offset {offset}")
            out.append(src[pos:offset])
            pos = offset

        def emit_op(op: Op) -> None:
            emit_until(op.start)
            for region in op.regions:
                emit_until(region.start)
                for block in region.blocks:
                    emit_block(block)
                emit_until(region.end)
            emit_until(op.end)

        def emit_block(block: Block) -> None:
            emit_until(block.start)
            for op in block.ops:
                emit_op(op)
            emit_until(block.end)

        children: list[tuple[int, object]] = [(a.start, a) for a in self.aliases]
        children += [(op.start, op) for op in self.body.ops]
        children.sort(key=lambda item: item[0])
        for _, child in children:
            if isinstance(child, Op):
                emit_op(child)
            else:
                emit_until(child.start)  # type: ignore[attr-defined]
                emit_until(child.end)  # type: ignore[attr-defined]
        emit_until(len(src))
        return "".join(out)

    def __str__(self) -> str:
        return self.print()


_SPAN = itemgetter(0, 1)


def apply_edits(text: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """Replace each ``text[start:end]`` by its replacement, all offsets in ``text``.

    Edits may come in any order; overlapping edits raise ``ValueError``
    (two edits at the same point are allowed when at most one is non-empty).
    """
    ordered = sorted(edits, key=_SPAN)
    out: list[str] = []
    pos = 0
    for start, end, replacement in ordered:
        if start < pos or end < start or end > len(text):
            raise ValueError(f"bad or overlapping edit ({start}, {end})")
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    out.append(text[pos:])
    return "".join(out)
