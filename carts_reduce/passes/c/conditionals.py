"""``#if``/``#ifdef`` conditionals: drop one whole, or keep one branch without the directives.

A conditional is dropped whole only when nothing outside it uses what it
declares (``#ifndef N`` / ``#define N 4`` / ``#endif`` usually stays).
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, removal_span
from carts_reduce.passes.c.common import ReplacementPass, of_types, span_removal
from carts_reduce.passes.c.toplevel import file_uses, needed

_CONDITIONALS = frozenset({"preproc_if", "preproc_ifdef"})


class UnwrapConditionals(ReplacementPass):
    name = "c-conditionals"

    def sites(self, src: Source) -> list[tuple[Node, bool]]:
        """Each conditional, and whether dropping it whole could compile."""
        found = of_types(src, _CONDITIONALS)
        uses = file_uses(src.root) if found else None
        return [(node, uses is not None and not needed(node, uses)) for node in found]

    def variants(self, src: Source, site: object) -> Iterator[list[Edit]]:
        assert isinstance(site, tuple)
        node, droppable = site
        if droppable:
            yield span_removal(src, node.start_byte, node.end_byte)
        endif = next((c for c in reversed(node.children) if c.type == "#endif"), None)
        if endif is None:
            return  # unterminated: error recovery, leave it to the text passes
        footer = _line_removal(src, endif.start_byte, node.end_byte)
        alternative = node.child_by_field_name("alternative")
        then_end = alternative.start_byte if alternative is not None else endif.start_byte
        header = node.child_by_field_name("condition") or node.child_by_field_name("name")
        if header is None:
            return
        # Then-branch: drop the directive line, and everything from the `#else` (or `#endif`) on.
        yield [(node.start_byte, _after_line(src, header.end_byte), ""), _line_removal(src, then_end, node.end_byte)]
        if alternative is not None and alternative.type == "preproc_else":
            yield [(node.start_byte, _after_line(src, alternative.children[0].end_byte), ""), footer]


def _after_line(src: Source, position: int) -> int:
    end = src.data.find(b"\n", position)
    return len(src.data) if end < 0 else end + 1


def _line_removal(src: Source, start: int, end: int) -> Edit:
    start, end = removal_span(src.data, start, end)
    return start, end, ""
