"""What the C passes share: two search shapes over a tree-sitter parse.

A *deleting* pass names groups of units (the items of a file, the statements
of one block, the parameters of one function ...) and ddmin removes chunks of
units within each group in turn; the cursor ``(group, size, start)`` resumes
the schedule. Groups are listed so that an accepted removal in group ``g``
leaves groups ``0..g`` where they were (document pre-order, outer first).

A *replacing* pass names sites, each with alternative rewrites best first;
the cursor ``(site, variant)`` resumes after the last accepted rewrite, which
is tried again on the rewritten site (it may simplify further).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from carts_reduce.search.ddmin import chunk_removals
from carts_reduce.formats.c import Edit, Source, node_removal, nodes_of_type, removal_span, shortlex_smaller, source
from carts_reduce.passes.base import Cursor, Pass

# Children of a block that are not statements (comments have a pass of their own).
NOT_STATEMENTS = frozenset({"{", "}", "comment"})
LOOPS = frozenset({"for_statement", "while_statement", "do_statement"})


@dataclass
class Group:
    """Units removable together; ``edits(removed)`` spells a removal of some of them."""

    units: Sequence[object]
    #: Start ddmin by removing every unit at once (worth one test where it often works).
    all_first: bool = False

    def edits(self, src: Source, removed: range) -> list[Edit]:
        return [edit for unit in self.units[removed.start : removed.stop] for edit in unit_edits(src, unit)]


def unit_edits(src: Source, unit: object) -> list[Edit]:
    """A unit is a node, a tuple of nodes removed together, or ready-made edits."""
    if isinstance(unit, Node):
        return [node_removal(src, unit)]
    if isinstance(unit, tuple) and unit and isinstance(unit[0], Node):
        return [node_removal(src, node) for node in unit]
    return list(unit)  # type: ignore[arg-type]


class DeletionPass(Pass):
    """ddmin over the units of each group, group after group."""

    def groups(self, src: Source) -> list[Group]:
        raise NotImplementedError

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        src = source(text)
        groups = self.groups(src)
        first, resume = (0, None) if not cursor else (int(cursor[0]), (int(cursor[1]), int(cursor[2])))
        for index in range(first, len(groups)):
            group = groups[index]
            count = len(group.units)
            start = resume if index == first else None
            if start is None and group.all_first and count > 1:
                start = (count, 0)
            for position, removed in chunk_removals(count, start):
                edits = [e for e in group.edits(src, removed) if e[0] < e[1] or e[2]]
                if smaller(src, edits):
                    yield (index, *position), src.edit(edits)


class ReplacementPass(Pass):
    """Rewrites one site at a time, each site's variants best first."""

    def sites(self, src: Source) -> Sequence[object]:
        raise NotImplementedError

    def variants(self, src: Source, site: object) -> Iterator[list[Edit]]:
        raise NotImplementedError

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        src = source(text)
        sites = self.sites(src)
        # The accepted site was rewritten in place: start again at its first variant.
        first = int(cursor[0]) if cursor else 0
        for index in range(first, len(sites)):
            for variant, edits in enumerate(self.variants(src, sites[index])):
                if smaller(src, edits):
                    yield (index, variant), src.edit(edits)


def smaller(src: Source, edits: list[Edit]) -> bool:
    """Whether the edits make the text strictly smaller (shortlex), without splicing."""
    if not edits:
        return False
    removed = sum(end - start for start, end, _ in edits)
    added = sum(len(r.encode("utf-8", "surrogateescape")) for _, _, r in edits)
    if added != removed:
        return added < removed
    if len(edits) != 1:
        return src.edit(edits) < src.text
    start, end, replacement = edits[0]
    return shortlex_smaller(src.data[start:end].decode("utf-8", "surrogateescape"), replacement)


def replace(node: Node, text: str) -> list[Edit]:
    return [(node.start_byte, node.end_byte, text)]


def block_items(block: Node) -> list[object]:
    """The statements of a block; a ``#pragma`` travels with the statement it governs."""
    units: list[object] = []
    pending: list[Node] = []
    for child in block.children:
        if child.type in NOT_STATEMENTS or child.start_byte == child.end_byte:
            continue
        if is_pragma(child):
            pending.append(child)
            continue
        units.append((*pending, child) if pending else child)
        pending = []
    if pending:
        units.append(tuple(pending))
    return units


def is_pragma(node: Node) -> bool:
    if node.type != "preproc_call":
        return False
    directive = node.child_by_field_name("directive")
    return directive is not None and directive.text == b"#pragma"


def preceding_pragmas(node: Node) -> list[Node]:
    """``#pragma`` lines right before ``node`` among its siblings."""
    found: list[Node] = []
    sibling = node.prev_sibling
    while sibling is not None and (is_pragma(sibling) or sibling.type == "comment"):
        if is_pragma(sibling):
            found.append(sibling)
        sibling = sibling.prev_sibling
    return found


# Where tree-sitter sees expressions that are not code: directives, attributes, asm labels.
NOT_CODE = frozenset(
    {
        "preproc_def", "preproc_function_def", "preproc_call", "preproc_include",
        "attribute_specifier", "attribute_declaration", "ms_declspec_modifier", "gnu_asm_expression",
    }
)


def outside_code(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in NOT_CODE:
            return True
        parent = parent.parent
    return False


def of_types(src: Source, types: frozenset[str]) -> list[Node]:
    return nodes_of_type(src.root, types)


def span_removal(src: Source, start: int, end: int) -> list[Edit]:
    start, end = removal_span(src.data, start, end)
    return [(start, end, "")]
