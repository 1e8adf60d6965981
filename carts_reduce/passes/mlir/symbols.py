"""Drop what nothing refers to: module attributes, unused aliases, unused globals and declarations.

First the module's ``attributes {...}`` (cgeist's data layout: one big line),
then everything unused at once, then ddmin over the unused units one by one
(some must stay because the failure needs them, e.g. a global it reads).
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.search.ddmin import chunk_removals
from carts_reduce.formats.mlir import AliasDef, Op, tokenize
from carts_reduce.formats.mlir.lexer import COMMENT, IDENT, WS
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import (
    Edit,
    Tree,
    edit,
    inside,
    is_module,
    paren_group_at,
    parsed,
)

_MODULE_ATTRS, _ALL_UNUSED, _EACH = 0, 1, 2


class DropUnusedSymbols(Pass):
    name = "mlir-symbols"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        stage = int(cursor[0]) if cursor else _MODULE_ATTRS
        if stage <= _MODULE_ATTRS:
            candidate = edit(text, module_attribute_edits(tree))
            if candidate is not None:
                yield (_ALL_UNUSED, 0, 0), candidate
        aliases, symbols = unused_aliases(tree), unused_symbol_ops(tree)
        if stage <= _ALL_UNUSED:
            candidate = edit(text, [_line_of(text, a) for a in aliases] + [(*op.line_span(), "") for op in symbols])
            if candidate is not None:
                yield (_EACH, 0, 0), candidate
        # One at a time only what has no reference at all, so that any subset can go.
        referenced = {ref.name for alias in tree.module.aliases for ref in alias.refs}
        units: list[AliasDef | Op] = [a for a in aliases if a.name not in referenced] + symbols
        resume = (int(cursor[1]), int(cursor[2])) if stage == _EACH and cursor[1] else None
        for position, removed in chunk_removals(len(units), resume):
            chunk = units[removed.start : removed.stop]
            edits = [_line_of(text, u) if isinstance(u, AliasDef) else (*u.line_span(), "") for u in chunk]
            candidate = edit(text, edits)
            if candidate is not None:
                yield (_EACH, *position), candidate


def _line_of(text: str, alias: AliasDef) -> Edit:
    line_start = text.rfind("\n", 0, alias.start) + 1
    nl = text.find("\n", alias.end)
    line_end = len(text) if nl < 0 else nl + 1
    if not text[line_start : alias.start].strip() and not text[alias.end : line_end].strip():
        return (line_start, line_end, "")
    return (alias.start, alias.end, "")


def module_attribute_edits(tree: Tree) -> list[Edit]:
    """``module attributes {...} {`` -> ``module {`` for every module op."""
    edits: list[Edit] = []
    text = tree.text
    for op in tree.ops:
        if not is_module(op) or not op.regions:
            continue
        tokens = tokenize(text[op.start : op.regions[0].start])
        for i, token in enumerate(tokens):
            if token.kind == IDENT and token.text == "attributes":
                j = i + 1
                while j < len(tokens) and tokens[j].kind in (WS, COMMENT):
                    j += 1
                if j < len(tokens) and tokens[j].text == "{":
                    group = paren_group_at(tokens, j)
                    if group is not None:
                        start = i
                        while start > 0 and tokens[start - 1].kind == WS:
                            start -= 1
                        edits.append((op.start + tokens[start].start, op.start + group[1], ""))
                break
    return edits


def unused_aliases(tree: Tree) -> list[AliasDef]:
    """Aliases no op needs, directly or through other aliases."""
    by_name = {a.name: a for a in tree.module.aliases}
    live: set[str] = set()
    work = [ref.name for op in tree.ops for ref in op.alias_refs if ref.name in by_name]
    while work:
        name = work.pop()
        if name in live:
            continue
        live.add(name)
        work.extend(ref.name for ref in by_name[name].refs if ref.name in by_name)
    return [a for a in tree.module.aliases if a.name not in live]


def unused_symbol_ops(tree: Tree) -> list[Op]:
    """Module-level globals, declarations and private symbols that nothing outside themselves references."""
    found = []
    in_aliases = {ref.name for alias in tree.module.aliases for ref in alias.symbol_refs}
    for block in tree.module_blocks:
        for op in block.ops:
            if op.symbol is None or is_module(op) or op.symbol.name in in_aliases:
                continue
            header = tree.text[op.start : op.regions[0].start if op.regions else op.end]
            removable = not op.regions or "global" in op.name or " private " in f" {header} "
            if not removable:
                continue
            users = tree.symbol_users.get(op.symbol.name, [])
            if all(inside(user, op) for user in users):
                found.append(op)
    return found

