"""Replace an op's results by something simpler, then drop the op and what only it used.

For each op with results (pre-order, so ops holding regions come before
their contents), one replacement:

* its uses read a value of the same type already in scope (an argument, or
  an earlier constant), and the op line goes; or
* for a scalar or ``!llvm.ptr`` result, the op becomes a constant of that
  type in place (``%x = arith.constant 0 : index``), keeping its name;

and in both, the side-effect-free ops that only fed it go too (when that is
refused, the same replacement is tried without deleting them). The result
is well-formed by construction as long as the types are right, so sites
whose result types cannot be read are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.formats.mlir import Op, Value
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import (
    Edit,
    Tree,
    argument_types,
    dead_producers,
    deletion_edits,
    edit,
    is_module,
    is_terminator,
    parsed,
    result_types,
    zero_of,
)


class ReplaceResults(Pass):
    name = "mlir-replace"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        types = _TypeTable(tree)
        sites = [op for op in tree.ops if _is_site(op)]
        first = int(cursor[0]) if cursor else 0
        for index in range(first, len(sites)):
            found = replacement_edits(tree, types, sites[index])
            if found is None:
                continue
            replaced, feeding = found
            # The op's now-dead feeders go in the same test; if that is refused, without them.
            for variant in ([*replaced, *feeding], replaced) if feeding else (replaced,):
                candidate = edit(text, variant)
                if candidate is not None:
                    yield (index,), candidate


def _is_site(op: Op) -> bool:
    if not op.results or op.symbol is not None or op.parent is None:
        return False
    return not is_module(op) and not is_terminator(op)


class _TypeTable:
    """Result and argument types, read on demand and remembered."""

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


def replacement_edits(tree: Tree, types: _TypeTable, op: Op) -> tuple[list[Edit], list[Edit]] | None:
    """The edits that replace ``op``'s results, and those that delete what only fed it."""
    wanted = types.of_results(op)
    if not wanted:
        return None
    text = tree.text
    flat = [(value, i) for value in op.results for i in range(value.count)]
    chosen = [_existing(tree, types, op, type_) for type_ in wanted]
    constant_like = op.name.endswith("constant") or op.name in ("llvm.mlir.zero", "llvm.mlir.addressof")
    zero = zero_of(wanted[0]) if len(flat) == 1 and not constant_like else None
    if all(c is not None for c in chosen) and (zero is None or all(c[1] for c in chosen)):  # type: ignore[index]
        by_position = {(id(value), i): c[0] for (value, i), c in zip(flat, chosen)}  # type: ignore[index]
        edits: list[Edit] = [(*op.line_span(), "")]
        for value in op.results:
            for use in value.uses:
                edits.append((use.start, use.end, by_position[(id(value), use.index or 0)]))
        keep = [c[2] for c in chosen if c[2] is not None]  # type: ignore[index]
        return edits, deletion_edits(dead_producers(tree, [op], keep))
    if zero is not None:
        head = text[op.start : op.results[0].end]
        return [(op.start, op.end, f"{head} = {zero}")], deletion_edits(dead_producers(tree, [op]))
    return None


def _existing(tree: Tree, types: _TypeTable, op: Op, type_: str) -> tuple[str, bool, Op | None] | None:
    """A value of ``type_`` that dominates ``op``: ``(spelling, simple, defining op)``.

    Simple values (arguments, results of operand-free ops such as constants)
    are preferred; among those the first found walking outwards wins.
    """
    fallback: tuple[str, bool, Op | None] | None = None
    current: Op = op
    while True:
        block = current.parent
        if block is None:
            return fallback
        for earlier in reversed(block.ops[: _position(block.ops, current)]):
            result = _matching_result(types, earlier, type_)
            if result is not None:
                simple = not earlier.operands and not earlier.regions
                if simple:
                    return result, True, earlier
                fallback = fallback or (result, False, earlier)
        for arg in block.args:
            if arg.type is not None and " ".join(arg.type.split()) == type_:
                return arg.name, True, None
        parent = current.parent_op
        if parent is None:
            return fallback
        if parent.isolated:
            arguments = types.of_arguments(parent)
            for arg in parent.region_args:
                if arguments.get(arg.name) == type_:
                    return arg.name, True, None
            return fallback
        current = parent


def _position(ops: list[Op], op: Op) -> int:
    for i, candidate in enumerate(ops):
        if candidate is op:
            return i
    return len(ops)


def _matching_result(types: _TypeTable, op: Op, type_: str) -> str | None:
    found = types.of_results(op)
    if not found:
        return None
    flat: list[tuple[Value, int]] = [(value, i) for value in op.results for i in range(value.count)]
    for (value, i), t in zip(flat, found):
        if t == type_:
            return value.name if value.count == 1 else f"{value.name}#{i}"
    return None
