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

from carts_reduce.formats.mlir import Op
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import (
    Edit,
    Tree,
    TypeTable,
    dead_producers,
    deletion_edits,
    edit,
    is_module,
    is_simple,
    is_terminator,
    parsed,
    visible,
    zero_of,
)


class ReplaceResults(Pass):
    name = "mlir-replace"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        types = TypeTable(tree)
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


def replacement_edits(tree: Tree, types: TypeTable, op: Op) -> tuple[list[Edit], list[Edit]] | None:
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


def _existing(tree: Tree, types: TypeTable, op: Op, type_: str) -> tuple[str, bool, Op | None] | None:
    """A value of ``type_`` that dominates ``op``: ``(spelling, simple, defining op)``.

    Simple values (arguments, results of operand-free ops such as constants)
    are preferred; among those the first found walking outwards wins.
    """
    fallback: tuple[str, bool, Op | None] | None = None
    for spelled, owner in visible(types, op, type_):
        if is_simple(owner):
            return spelled, True, owner
        fallback = fallback or (spelled, False, owner)
    return fallback
