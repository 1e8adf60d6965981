"""One value used in place of another of the same type; the op that made it goes.

``mlir-replace`` gives an op's uses the nearest value that is already there
where the op is, or a fresh zero. What it cannot see: a value defined
*after* the op but before its uses (two constants merged whichever comes
first: ``%c10`` in ``scf.for %i = %c0 to %c10`` fed by ``%c1``), and any
value but the nearest (that one may be the one the failure cannot take).
Here every use of a one-result op's value is given another value of the
same type that is visible at all of its uses (``simple`` ones first:
arguments and results of operand-free ops such as constants), a few per
op, and the op line goes with the side-effect-free ops that only fed it.

A replacement never comes from the op itself, from inside it, or from its
forward slice (that value would then use itself).
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.formats.mlir import Op, Value
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
)

#: Replacements tried per op: enough for "another constant" and "the loop's own bound".
ALTERNATIVES = 3


class ReuseValues(Pass):
    name = "mlir-reuse"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        types = TypeTable(tree)
        sites = [op for op in tree.ops if _is_site(op)]
        first = int(cursor[0]) if cursor else 0
        for index in range(first, len(sites)):
            op = sites[index]
            for spelled, owner in replacements(tree, types, op)[:ALTERNATIVES]:
                uses = [(use.start, use.end, spelled) for use in op.results[0].uses]
                removed: list[Edit] = [(*op.line_span(), ""), *uses]
                feeding = deletion_edits(dead_producers(tree, [op], [owner] if owner is not None else []))
                for variant in ([*removed, *feeding], removed) if feeding else (removed,):
                    candidate = edit(text, variant)
                    if candidate is not None:
                        yield (index,), candidate


def _is_site(op: Op) -> bool:
    """A used op with one result value (not a group), not a symbol, terminator or module."""
    if len(op.results) != 1 or op.results[0].count != 1 or not op.results[0].uses:
        return False
    if op.symbol is not None or op.parent is None:
        return False
    return not is_module(op) and not is_terminator(op)


def replacements(tree: Tree, types: TypeTable, op: Op) -> list[tuple[str, Op | None]]:
    """Values of ``op``'s result type visible at every use of it, best first: ``(spelling, defining op)``."""
    wanted = types.of_results(op)
    if not wanted:
        return []
    type_ = wanted[0]
    excluded = _forward_slice(op)
    common: dict[str, Op | None] | None = None  # in the order seen from the first use
    for use in op.results[0].uses:
        seen = dict(visible(types, use.user, type_, excluded))
        common = seen if common is None else {spelled: owner for spelled, owner in common.items() if spelled in seen}
        if not common:
            return []
    assert common is not None
    found = list(common.items())
    return [item for item in found if is_simple(item[1])] + [item for item in found if not is_simple(item[1])]


def _forward_slice(op: Op) -> set[int]:
    """Ids of ``op``, the ops nested in it and every op that uses what they define, transitively."""
    found: set[int] = set()
    work = [op]
    while work:
        current = work.pop()
        for inner in current.walk():
            if id(inner) in found:
                continue
            found.add(id(inner))
            values: list[Value] = inner.definitions()
            work.extend(use.user for value in values for use in value.uses)
    return found
