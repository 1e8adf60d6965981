"""Functions: delete them (with their call sites), or keep only their declaration.

Deleting a function deletes every op that references it and the forward
slice of those (a call's result users), so no candidate calls a function that
is gone. When a call cannot go (its result reaches a ``return``), the
function can still lose its body: ``func.func private @f(i32) -> i32``.
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.search.ddmin import chunk_removals
from carts_reduce.formats.mlir import Op, tokenize
from carts_reduce.formats.mlir.lexer import COMMENT, IDENT, LOC, STRING, SYM, WS
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import (
    Tree,
    deletion_closure,
    deletion_edits,
    edit,
    inside,
    is_module,
    outermost,
    paren_group_at,
    parsed,
    split_top,
)

_FUNCTIONS = frozenset({"func.func", "func", "llvm.func", "gpu.func", "spirv.func"})


def functions(tree: Tree) -> list[Op]:
    """Module-level ops that define a symbol and hold a body (function definitions)."""
    found = []
    for block in tree.module_blocks:
        for op in block.ops:
            if op.symbol is not None and op.regions and any(r.blocks for r in op.regions) and not is_module(op):
                if op.isolated and "global" not in op.name:
                    found.append(op)
    return found


class DeleteFunctions(Pass):
    """ddmin over the function definitions; each takes its call sites and their slices along.

    Each candidate is remembered as the text it was cut from and the ops cut
    (the last few of them): a round on one of its own candidates, once
    accepted, goes on with the tree it already has instead of parsing the
    new text. On a big module the first candidates take half of it, a
    quarter..., and every parse saved is one of megabytes.
    """

    name = "mlir-functions"
    #: Candidates remembered (their texts stay alive meanwhile): enough for those in flight and
    #: made ready with --jobs 2 when one is accepted; past that a round parses as before.
    REMEMBERED = 4

    def __init__(self) -> None:
        self._cut_from: dict[str, tuple[Tree, tuple[Op, ...]]] = {}

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        known = self._cut_from.get(text)
        if known is None:
            self._cut_from.clear()  # another lineage of texts: let the old tree go
            tree = parsed(text)
            if tree is None:
                return
            cut: tuple[Op, ...] = ()
        else:
            tree, cut = known
        deleted = {id(op) for op in cut}  # what they hold is covered through them
        units = [op for op in functions(tree) if id(op) not in deleted]
        seen: set[tuple[int, ...]] = set()
        for position, removed in chunk_removals(len(units), cursor and tuple(cursor)):
            closure = deletion_closure(tree, units[removed.start : removed.stop], deleted)
            if not closure:
                continue
            key = tuple(op.start for op in closure)
            if key in seen:
                continue
            seen.add(key)
            taken = outermost([*cut, *closure])  # a function cut now may hold a call cut before
            candidate = edit(tree.text, deletion_edits(taken))
            if candidate is not None:
                self._remember(candidate, tree, tuple(taken))
                yield position, candidate

    def _remember(self, candidate: str, tree: Tree, cut: tuple[Op, ...]) -> None:
        self._cut_from[candidate] = (tree, cut)
        while len(self._cut_from) > self.REMEMBERED:
            del self._cut_from[next(iter(self._cut_from))]


class DeclareFunctions(Pass):
    """Replace the body of a called function by nothing: a private declaration, biggest body first."""

    name = "mlir-declare"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        called = [op for op in functions(tree) if op.name in _FUNCTIONS and _called_from_outside(tree, op)]
        called.sort(key=lambda op: (-(op.end - op.start), op.start))
        # Sites are ordered by size: the cursor counts the sites already refused.
        first = int(cursor[0]) if cursor else 0
        for index in range(first, len(called)):
            declaration = declaration_of(tree, called[index])
            if declaration is None:
                continue
            start, end = called[index].start, called[index].end
            candidate = edit(text, [(start, end, declaration)])
            if candidate is not None:
                yield (index,), candidate


def _called_from_outside(tree: Tree, op: Op) -> bool:
    return any(not inside(user, op) for user in tree.symbol_users.get(op.symbol.name, []))


def declaration_of(tree: Tree, op: Op) -> str | None:
    """``func.func private @f(T0, T1) -> R attributes {...}`` for a function definition."""
    text = tree.text
    header = text[op.start : op.regions[0].start]
    trailer = text[op.regions[-1].end : op.end]
    tokens = tokenize(header)
    sym = next((i for i, t in enumerate(tokens) if t.kind == SYM), None)
    if sym is None:
        return None
    i = sym + 1
    while i < len(tokens) and tokens[i].kind in (WS, COMMENT):
        i += 1
    if i >= len(tokens) or tokens[i].text != "(":
        return None
    group = paren_group_at(tokens, i)
    if group is None:
        return None
    arguments = []
    for entry in split_top(header[group[0] + 1 : group[1] - 1]):
        if not entry:
            continue
        entry_tokens = [t for t in tokenize(entry) if t.kind != LOC]
        significant = [t for t in entry_tokens if t.kind not in (WS, COMMENT)]
        if len(significant) >= 2 and significant[0].kind == "value" and significant[1].text == ":":
            cut = entry_tokens.index(significant[1]) + 1
            entry_tokens = entry_tokens[cut:]
        arguments.append("".join(t.text for t in entry_tokens).strip())
    # Keywords between the op name and the symbol (visibility, linkage) give way to `private`.
    prefix_tokens = tokens[:sym]
    name_end = next(t.end for t in prefix_tokens if t.kind in (IDENT, STRING))
    if op.name in ("func.func", "func"):
        keywords = " private "
    else:
        kept = [t.text for t in prefix_tokens if t.kind == IDENT and t.start >= name_end and t.text not in _LINKAGES]
        keywords = " " + "".join(k + " " for k in kept)
    rest = header[group[1] :].rstrip()
    rest = "".join(t.text for t in tokenize(rest) if t.kind != LOC).rstrip()
    name = header[: name_end]
    return f"{name}{keywords}{tokens[sym].text}({', '.join(arguments)}){rest}{trailer.rstrip()}"


_LINKAGES = frozenset(
    {
        "private",
        "internal",
        "available_externally",
        "linkonce",
        "linkonce_odr",
        "weak",
        "weak_odr",
        "common",
        "appending",
        "extern_weak",
        "external",
        "dso_local",
    }
)
