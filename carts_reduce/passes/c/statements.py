"""Statements and nested blocks, ddmin within each block.

Blocks come in document pre-order, so a function body is tried before the
blocks inside it and a removal never renumbers the blocks already visited.
Each block first loses all its statements at once (an emptied loop or
function body is common in a reduced case). A declaration whose variable
the kept statements still use loses only its initialiser, so the candidate
still compiles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, walk
from carts_reduce.passes.c.common import DeletionPass, Group, block_items, of_types, unit_edits

_BLOCK = frozenset({"compound_statement"})
_WORD = re.compile(r"[A-Za-z_]\w*")


@dataclass
class _Block(Group):
    _used: dict[int, set[str]] = field(default_factory=dict)

    def edits(self, src: Source, removed: range) -> list[Edit]:
        edits: list[Edit] = []
        later_uses: set[str] = set()
        for index in range(len(self.units) - 1, -1, -1):
            unit = self.units[index]
            if index not in removed:
                later_uses |= self._uses(index)
                continue
            declaration = _declaration(unit)
            if declaration is not None and _declared(declaration) & later_uses:
                bare = _without_initialisers(src, declaration)
                if bare is not None:
                    edits.append((declaration.start_byte, declaration.end_byte, bare))
                continue
            edits.extend(unit_edits(src, unit))
        return edits

    def _uses(self, index: int) -> set[str]:
        if index not in self._used:
            nodes = self.units[index] if isinstance(self.units[index], tuple) else (self.units[index],)
            words: set[str] = set()
            for node in nodes:
                assert isinstance(node, Node)
                for inner in walk(node):
                    if inner.type == "identifier":
                        words.add(inner.text.decode())
                    elif inner.type == "preproc_arg":
                        words.update(_WORD.findall(inner.text.decode()))
            self._used[index] = words
        return self._used[index]


def _declaration(unit: object) -> Node | None:
    return unit if isinstance(unit, Node) and unit.type == "declaration" else None


def _declared(declaration: Node) -> set[str]:
    names: set[str] = set()
    for index, child in enumerate(declaration.children):
        if declaration.field_name_for_child(index) == "declarator":
            node: Node | None = child
            while node is not None and node.type != "identifier":
                node = node.child_by_field_name("declarator")
            if node is not None:
                names.add(node.text.decode())
    return names


def _without_initialisers(src: Source, declaration: Node) -> str | None:
    """``float a = f(), *b = g();`` as ``float a, *b;``; None when nothing is initialised."""
    pieces: list[str] = []
    position = declaration.start_byte
    changed = False
    for index, child in enumerate(declaration.children):
        if declaration.field_name_for_child(index) == "declarator" and child.type == "init_declarator":
            inner = child.child_by_field_name("declarator")
            if inner is None:
                return None
            pieces.append(src.data[position : child.start_byte].decode("utf-8", "surrogateescape"))
            pieces.append(src.slice(inner))
            position = child.end_byte
            changed = True
    if not changed:
        return None
    pieces.append(src.data[position : declaration.end_byte].decode("utf-8", "surrogateescape"))
    return "".join(pieces)


class RemoveStatements(DeletionPass):
    name = "c-statements"

    def groups(self, src: Source) -> list[Group]:
        groups: list[Group] = []
        for block in of_types(src, _BLOCK):
            units = block_items(block)
            if units:
                groups.append(_Block(units, all_first=True))
        return groups
