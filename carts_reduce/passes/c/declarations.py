"""File-scope declarations: global variables and prototypes."""

from __future__ import annotations

from carts_reduce.passes.c.toplevel import TopLevelPass


class RemoveDeclarations(TopLevelPass):
    name = "c-declarations"
    kinds = frozenset({"declaration", "other"})
