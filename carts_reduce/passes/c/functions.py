"""Function definitions, the biggest cuts in a C file."""

from __future__ import annotations

from carts_reduce.passes.c.toplevel import TopLevelPass


class RemoveFunctions(TopLevelPass):
    name = "c-functions"
    kinds = frozenset({"function"})
