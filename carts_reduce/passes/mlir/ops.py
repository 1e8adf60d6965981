"""Deleting ops: dead code first, then ddmin over the ops of every block.

Each deletion takes its forward slice along (see ``common.deletion_closure``),
so a candidate never uses a value it no longer defines: where a text reducer
cuts ``%5 = ...`` and leaves ten broken uses behind, these passes cut the
whole dependent chain in one test.
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.search.ddmin import chunk_removals
from carts_reduce.formats.mlir import Op
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import (
    Tree,
    deletion_closure,
    deletion_edits,
    edit,
    is_module,
    is_pure,
    is_terminator,
    is_wrapped,
    parsed,
    unused,
)


class DeleteDeadOps(Pass):
    """Ops whose results nobody uses: all side-effect-free ones at once, then ddmin over all of them."""

    name = "mlir-dead"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        if cursor is None:
            candidate = edit(text, deletion_edits(_dead_pure_slice(tree)))
            if candidate is not None:
                yield (0, 0), candidate
        dead = [
            op for op in tree.ops if unused(op) and not is_terminator(op) and not is_wrapped(op) and op.symbol is None
        ]
        ids = {id(op) for op in dead}
        dead = [op for op in dead if not any(id(o) in ids for o in _ancestors(op))]
        resume = tuple(cursor) if cursor and cursor[0] else None
        for position, removed in chunk_removals(len(dead), resume):
            candidate = edit(text, deletion_edits(dead[removed.start : removed.stop]))
            if candidate is not None:
                yield position, candidate


def _ancestors(op: Op) -> Iterator[Op]:
    parent = op.parent_op
    while parent is not None:
        yield parent
        parent = parent.parent_op


def _dead_pure_slice(tree: Tree) -> list[Op]:
    """Pure ops with unused results, and the pure ops only they use, transitively."""
    dead: set[int] = set()
    found = []
    work = [op for op in tree.ops if is_pure(op) and unused(op)]
    while work:
        op = work.pop()
        if id(op) in dead or not is_pure(op) or is_terminator(op):
            continue
        if any(id(use.user) not in dead for value in op.results for use in value.uses):
            continue
        dead.add(id(op))
        found.append(op)
        work.extend(use.value.owner for use in op.operands if use.value is not None and use.value.kind == "result")
    return found


class DeleteOps(Pass):
    """ddmin over the ops of each block, outer blocks first; every deletion takes its forward slice.

    Units are listed last op first: a later op's slice is smaller, and once
    it is refused, an earlier op whose slice includes it need not be tried
    (a candidate is only proposed when every one before it was refused, so
    any deletion that contains a refused one is skipped).

    Cursor: ``(block, size, start)``; blocks are numbered in pre-order, so a
    deletion in block ``b`` leaves the numbers of the blocks before it alone.
    """

    name = "mlir-ops"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        first, resume = (0, None) if not cursor else (int(cursor[0]), (int(cursor[1]), int(cursor[2])))
        refused: list[frozenset[int]] = []
        for index in range(first, len(tree.blocks)):
            block = tree.blocks[index]
            units = [op for op in reversed(block.ops) if not is_terminator(op) and not is_module(op)]
            if block.parent is None or is_module(block.parent.parent):
                units = [op for op in units if op.symbol is None]  # functions and globals: other passes
            start = resume if index == first else None
            for position, removed in chunk_removals(len(units), start):
                closure = deletion_closure(tree, units[removed.start : removed.stop])
                if closure is None:
                    continue
                deleted = frozenset(inner.start for op in closure for inner in op.walk())
                if any(earlier <= deleted for earlier in refused):
                    continue
                candidate = edit(text, deletion_edits(closure))
                if candidate is not None:
                    refused.append(deleted)
                    yield (index, *position), candidate
