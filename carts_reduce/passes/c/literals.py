"""Literals made short: numbers to ``0`` or ``1``, strings to ``""``, characters to ``0``."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source
from carts_reduce.passes.c.common import NOT_CODE, ReplacementPass, replace

_LITERALS = frozenset({"number_literal", "string_literal", "concatenated_string", "char_literal"})
_SHORT = {"number_literal": ("0", "1"), "char_literal": ("0",), "string_literal": ('""',), "concatenated_string": ('""',)}


class ShortenLiterals(ReplacementPass):
    name = "c-literals"

    def sites(self, src: Source) -> list[Node]:
        found: list[Node] = []
        stack = [src.root]
        while stack:  # pre-order; the strings of a concatenation are one site
            node = stack.pop()
            if node.type in NOT_CODE:
                continue
            if node.type in _LITERALS:
                found.append(node)
                continue
            stack.extend(reversed(node.children))
        return found

    def variants(self, src: Source, site: object) -> Iterator[list[Edit]]:
        assert isinstance(site, Node)
        spelled = src.slice(site)
        for short in _SHORT[site.type]:
            if short != spelled:
                yield replace(site, short)
