"""`#include` lines: what stays is what the failure needs declared."""

from __future__ import annotations

from carts_reduce.passes.c.toplevel import TopLevelPass


class RemoveIncludes(TopLevelPass):
    name = "c-includes"
    kinds = frozenset({"include"})
