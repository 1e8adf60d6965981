"""Drop every ``loc(...)`` and every ``#locN = loc(...)`` alias in one candidate.

Debug locations are a third of cgeist's output and mean nothing to a pass
crash, so this one cheap test usually removes more bytes than any other.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from carts_reduce.formats.mlir import tokenize
from carts_reduce.formats.mlir.lexer import LOC
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import Edit, Tree, edit, parsed

_AFTER_ALL = float("inf")


class DropLocations(Pass):
    name = "mlir-locations"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None or cursor is not None:
            return
        candidate = edit(text, location_edits(tree))
        if candidate is not None:
            yield 1, candidate


def location_edits(tree: Tree) -> list[Edit]:
    text = tree.text
    aliases = tree.module.aliases
    locs = sorted(_locations(tree))
    edits: list[Edit] = []
    for start, end in locs:
        while start > 0 and text[start - 1] in " \t":
            start -= 1
        edits.append((start, end, ""))
    loc_aliases = [a for a in aliases if a.value.lstrip().startswith("loc(")]
    if not loc_aliases:
        return edits
    names = {a.name for a in loc_aliases}
    defining = {id(a) for a in loc_aliases}
    # An alias named outside any location (an attribute holding it) must stay.
    needed: set[str] = set()
    for owner, ref in _alias_refs(tree):
        if ref.name in names and id(owner) not in defining and not _within(locs, ref.start):
            needed.add(ref.name)
    for alias in loc_aliases:
        if alias.name in needed:
            continue
        start, end = alias.start, alias.end
        line_start = text.rfind("\n", 0, start) + 1
        nl = text.find("\n", end)
        line_end = len(text) if nl < 0 else nl + 1
        if not text[line_start:start].strip() and not text[end:line_end].strip():
            start, end = line_start, line_end
        edits.append((start, end, ""))
    return edits


def _locations(tree: Tree) -> Iterator[tuple[int, int]]:
    """Spans of every ``loc(...)`` outside alias definitions: ops record theirs, block labels are lexed."""
    text = tree.text
    for op in tree.ops:
        yield from op.locs
        for region in op.regions:
            for block in region.blocks:
                if block.label_span is not None and "loc(" in text[block.label_span[0] : block.label_span[1]]:
                    start = block.label_span[0]
                    for token in tokenize(text[start : block.label_span[1]]):
                        if token.kind == LOC:
                            yield start + token.start, start + token.end


def _alias_refs(tree: Tree):
    for alias in tree.module.aliases:
        for ref in alias.refs:
            yield alias, ref
    for op in tree.ops:
        for ref in op.alias_refs:
            yield op, ref


def _within(spans: list[tuple[int, int]], offset: int) -> bool:
    """Is ``offset`` inside one of the sorted, disjoint ``spans``?"""
    i = bisect_right(spans, (offset, _AFTER_ALL)) - 1
    return i >= 0 and spans[i][0] <= offset < spans[i][1]

