"""`#define` and other preprocessor lines but pragmas."""

from __future__ import annotations

from carts_reduce.passes.c.toplevel import TopLevelPass


class RemoveMacros(TopLevelPass):
    name = "c-macros"
    kinds = frozenset({"macro"})
