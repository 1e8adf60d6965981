"""Typedefs and struct, union and enum definitions."""

from __future__ import annotations

from carts_reduce.passes.c.toplevel import TopLevelPass


class RemoveTypes(TopLevelPass):
    name = "c-types"
    kinds = frozenset({"type"})
