"""Conversions of a printf-style format, each with the argument it prints.

A conversion and its argument only go together: without the argument the
call reads what is not there, without the conversion the argument is never
printed, and either way compilers warn (``-Wformat``), so a reduction that
keeps programs free of undefined behaviour could never take one alone. One
group per call of ``printf``, ``fprintf``, ``sprintf`` or ``snprintf`` whose
format is one string literal; ddmin over its conversions. A removal takes the
conversion with the text before it (back to the previous conversion: its
label) out of the format, and the argument out of the call.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, list_removal, walk
from carts_reduce.passes.c.common import DeletionPass, Group

#: Where the format is among a function's arguments.
FORMAT_INDEX = {"printf": 0, "fprintf": 1, "sprintf": 1, "snprintf": 2}
_CONVERSION = re.compile(
    rb"%[-+ #0']*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?(?:hh|h|ll|l|L|z|j|t)?(?P<kind>[diouxXeEfFgGaAcspn%])"
)


class _Conversions(Group):
    def __init__(self, segments: list[tuple[int, int]], arguments: list[tuple[int, int]], first: int):
        super().__init__(units=segments)
        self.arguments = arguments  # spans of the call's arguments
        self.first = first  # index of the argument of the first conversion

    def edits(self, src: Source, removed: range) -> list[Edit]:
        edits: list[Edit] = [(start, end, "") for start, end in self.units[removed.start : removed.stop]]
        edits += list_removal(self.arguments, [self.first + index for index in removed])
        return edits


class RemoveFormatArguments(DeletionPass):
    name = "c-format-args"

    def groups(self, src: Source) -> list[Group]:
        groups: list[Group] = []
        for node in walk(src.root):
            if node.type != "call_expression":
                continue
            callee, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
            if callee is None or arguments is None or callee.text.decode() not in FORMAT_INDEX:
                continue
            values = [c for c in arguments.named_children if c.type != "comment"]
            index = FORMAT_INDEX[callee.text.decode()]
            if index >= len(values) or values[index].type != "string_literal":
                continue
            segments = _segments(values[index])
            if segments and index + 1 + len(segments) == len(values):
                spans = [(value.start_byte, value.end_byte) for value in values]
                groups.append(_Conversions(segments, spans, index + 1))
        return groups


def _segments(literal: Node) -> list[tuple[int, int]] | None:
    """Per conversion that takes an argument, the byte span of it and its label; None when
    the format cannot be read (a ``*`` width, an escaped or broken literal)."""
    data = literal.text
    if not (data.startswith(b'"') and data.endswith(b'"')) or b"\\" in data.replace(b"\\n", b""):
        return None
    segments: list[tuple[int, int]] = []
    previous = 1  # after the opening quote
    for found in _CONVERSION.finditer(data, 1, len(data) - 1):
        if found.group("kind") == b"%":
            continue
        if b"*" in (found.group("width") or b"") + (found.group("precision") or b""):
            return None
        segments.append((literal.start_byte + previous, literal.start_byte + found.end()))
        previous = found.end()
    return segments
