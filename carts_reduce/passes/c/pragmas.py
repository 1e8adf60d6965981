"""``#pragma`` lines, then single clauses of the ones that stay.

Group 0 is every pragma line of the file; then one group per remaining
``#pragma omp`` line, over its clauses (``private(i)``, ``nowait``,
``schedule(static)`` ...). Directive words (``parallel for``) stay.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from carts_reduce.formats.c import Source, walk
from carts_reduce.passes.c.common import DeletionPass, Group, is_pragma

DIRECTIVES = frozenset(
    """omp parallel for do simd task taskloop taskwait taskgroup taskyield target teams distribute
    single master masked critical barrier atomic sections section ordered flush declare end data
    enter exit update loop threadprivate scope requires tile unroll""".split()
)
# A word, optionally with a parenthesised argument (two levels of nesting suffice in practice).
_CLAUSE = re.compile(rb"[A-Za-z_]\w*(?:\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))?")


def clauses(pragma: Node) -> list[tuple[int, int]]:
    """Byte spans of the clauses of an ``omp`` pragma, each with the space before it."""
    argument = pragma.child_by_field_name("argument")
    if argument is None or not argument.text.startswith(b"omp"):
        return []
    text, base = argument.text, argument.start_byte
    spans: list[tuple[int, int]] = []
    previous_end = 0
    for match in _CLAUSE.finditer(text):
        word = re.match(rb"\w+", match.group()).group()  # type: ignore[union-attr]
        plain = match.group() == word
        if not (plain and word.decode() in DIRECTIVES) and not (
            word in (b"critical", b"flush", b"declare") and not plain
        ):
            spans.append((base + previous_end, base + match.end()))
        previous_end = match.end()
    return spans


class RemovePragmas(DeletionPass):
    name = "c-pragmas"

    def groups(self, src: Source) -> list[Group]:
        pragmas = [node for node in walk(src.root) if is_pragma(node)]
        if not pragmas:
            return []
        groups = [Group(pragmas)]
        for pragma in pragmas:
            spans = clauses(pragma)
            if spans:
                groups.append(Group([[(start, end, "")] for start, end in spans]))
        return groups

