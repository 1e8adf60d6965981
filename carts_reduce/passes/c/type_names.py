"""Built-in types spelled shorter: ``float``, ``double``, ``long long``, ``char`` -> ``int``.

A type written where something is declared (a variable, a parameter, a
field, a cast, ``sizeof``) becomes ``int`` when that is shorter; a
function's return type may also become ``void``. The program means
something else afterwards, but a front-end or pass crash rarely hangs on
the element type, and the predicate says when it does. Names being
defined (``typedef unsigned long size_t``) are left alone, and so are
typedef names (``real x``): those belong to the declarations passes.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, walk
from carts_reduce.passes.c.common import ReplacementPass, outside_code, replace

_BUILT_IN = frozenset({"primitive_type", "sized_type_specifier"})


class ShortenTypeNames(ReplacementPass):
    name = "c-type-names"

    def sites(self, src: Source) -> list[Node]:
        found = []
        for node in walk(src.root):
            if node.type not in _BUILT_IN or node.parent is None or outside_code(node):
                continue
            if node.parent.child_by_field_name("type") == node:
                found.append(node)
        return found

    def variants(self, src: Source, site: object) -> Iterator[list[Edit]]:
        assert isinstance(site, Node)
        spelled = src.slice(site)
        shorter = ["int"]
        if site.parent is not None and site.parent.type == "function_definition":
            shorter.append("void")
        for name in shorter:
            if len(name) < len(spelled.encode()):
                yield replace(site, name)
