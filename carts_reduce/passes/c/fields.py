"""Struct and union fields, ddmin within each member list.

A field whose name is used anywhere (``s.name``, ``p->name``, ``.name =``) is
not offered: removing it could not compile until those uses are gone.
"""

from __future__ import annotations

from tree_sitter import Node

from carts_reduce.formats.c import Source, walk
from carts_reduce.passes.c.common import DeletionPass, Group, of_types

_MEMBERS = frozenset({"field_declaration_list"})


class RemoveFields(DeletionPass):
    name = "c-fields"

    def groups(self, src: Source) -> list[Group]:
        lists = of_types(src, _MEMBERS)
        if not lists:
            return []
        used: set[str] = set()
        for node in walk(src.root):  # uses: `s.name`, `p->name`, `{.name = ...}`
            if node.type == "field_identifier" and node.parent is not None:
                if node.parent.type in ("field_expression", "field_designator"):
                    used.add(node.text.decode())
        groups = []
        for members in lists:
            fields = [
                c for c in members.named_children
                if c.type != "comment" and c.end_byte > c.start_byte and not (_names(c) & used)
            ]
            if fields:
                groups.append(Group(fields))
        return groups


def _names(field: Node) -> set[str]:
    return {n.text.decode() for n in walk(field) if n.type == "field_identifier"}
