"""Qualifiers and specifiers that rarely matter: ``const``, ``static``, ``inline``, ``unsigned`` ...

``unsigned``/``signed`` go from ``unsigned long``; a lone ``unsigned`` becomes
``int``. GNU ``__attribute__((...))`` goes too. All of them are tried at once
first.
"""

from __future__ import annotations

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, removal_span, walk
from carts_reduce.passes.c.common import DeletionPass, Group

_DROPPED = frozenset({"storage_class_specifier", "type_qualifier", "attribute_specifier", "ms_declspec_modifier"})
_SIGNEDNESS = frozenset({"unsigned", "signed"})


class DropQualifiers(DeletionPass):
    name = "c-qualifiers"

    def groups(self, src: Source) -> list[Group]:
        units: list[list[Edit]] = []
        for node in walk(src.root):
            if node.type in _DROPPED and node.end_byte > node.start_byte:
                units.append([_token_removal(src, node)])
            elif node.type == "sized_type_specifier":
                words = node.children
                for word in words:
                    if word.type in _SIGNEDNESS:
                        alone = len(words) == 1
                        units.append([(word.start_byte, word.end_byte, "int")] if alone else [_token_removal(src, word)])
        return [Group(units, all_first=True)] if units else []


def _token_removal(src: Source, node: Node) -> Edit:
    start, end = removal_span(src.data, node.start_byte, node.end_byte)
    return start, end, ""
