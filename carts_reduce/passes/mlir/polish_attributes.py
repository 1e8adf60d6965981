"""Attributes dropped: whole dictionaries first, then their entries.

A dictionary is any ``{...}`` in an op's own text that does not open a
region: ``attributes {...}`` clauses of custom ops, the discardable
``{...}`` after a generic op's operands, the properties ``<{...}>`` of
generic ops, argument dictionaries ``%arg0: memref<?xf32> {llvm.noalias}``,
and dictionaries nested in them. Optional visibility keywords
(``"private"``, ``public``...) before a symbol go with the whole
dictionaries: they spell an attribute too.

Group 0 removes whole top-level dictionaries (all at once, then ddmin); then
each dictionary in text order gets ddmin over its entries, the layout of
the entries that stay kept as written. Whether an op still verifies without
an entry is for the predicate to say.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from carts_reduce.formats.mlir import Module, Token
from carts_reduce.passes.mlir.polish_common import Edit, EditPass, Group, tokens

_VISIBILITY = frozenset({'"private"', '"public"', '"nested"', "private", "public", "nested"})
_FUNCTIONS = frozenset({"func.func", "func"})
_OPEN = {"(": ")", "[": "]", "{": "}"}


@dataclass
class Dictionary:
    open: Token
    close: Token
    nested: bool
    entries: list[tuple[int, int]]  # spans of the entries, in order
    removal: Edit  # the whole dictionary gone, with what introduces it


@dataclass
class Entries(Group):
    """ddmin over one dictionary's entries; removing them all removes the dictionary."""

    text: str = ""
    dictionary: Dictionary | None = None

    def edits(self, chosen: range) -> list[Edit]:
        d = self.dictionary
        assert d is not None
        spans = d.entries
        kept = [i for i in range(len(spans)) if i not in chosen]
        if not kept:
            return [(d.open.end, d.close.start, "")] if d.nested else [d.removal]
        text = self.text
        pieces = [text[d.open.end : spans[0][0]]]
        for position, index in enumerate(kept):
            start, end = spans[index]
            pieces.append(text[start:end])
            if position < len(kept) - 1:
                pieces.append(text[end : spans[index + 1][0]])  # the separator that followed it
        pieces.append(text[spans[-1][1] : d.close.start])
        return [(d.open.end, d.close.start, "".join(pieces))]


def dictionaries(module: Module) -> list[Dictionary]:
    """Every attribute dictionary of the text, outer ones before those nested in them."""
    text = module.text
    sig = [tok for tok in tokens(text) if tok.kind not in ("ws", "comment")]
    region_starts = {region.start for op in module.walk() for region in op.regions}
    found: list[Dictionary] = []
    # Open braces: [index, nested, holds a region] for a dictionary, None for a region.
    # Braces around a region (``arts.for ... {{ ^bb0: ... }}``) are custom syntax, not a dictionary.
    stack: list[list | None] = []
    for i, tok in enumerate(sig):
        if tok.kind != "punct":
            continue
        if tok.text == "{":
            if tok.start in region_starts:
                for entry in reversed(stack):
                    if entry is None:
                        break
                    entry[2] = True
                stack.append(None)
            else:
                stack.append([i, bool(stack) and stack[-1] is not None, False])
        elif tok.text == "}" and stack:
            top = stack.pop()
            if top is not None and not top[2]:
                found.append(_dictionary(text, sig, top[0], i, top[1]))
    found.sort(key=lambda d: d.open.start)
    return found


def _dictionary(text: str, sig: list[Token], open_i: int, close_i: int, nested: bool) -> Dictionary:
    entries: list[tuple[int, int]] = []
    depth = 0
    first = None
    last = None
    for j in range(open_i + 1, close_i):
        tok = sig[j]
        if tok.kind == "punct" and depth == 0 and tok.text == ",":
            if first is not None and last is not None:
                entries.append((first.start, last.end))
            first = last = None
            continue
        if tok.kind == "punct":
            if tok.text in _OPEN:
                depth += 1
            elif tok.text in (")", "]", "}"):
                depth -= 1
        first = first or tok
        last = tok
    if first is not None and last is not None:
        entries.append((first.start, last.end))
    start, end = sig[open_i].start, sig[close_i].end
    before = sig[open_i - 1] if open_i > 0 else None
    after = sig[close_i + 1] if close_i + 1 < len(sig) else None
    if before is not None and before.text == "<" and before.end == start and after is not None and after.text == ">":
        start, end = before.start, after.end  # generic properties <{...}>
    elif before is not None and before.kind == "ident" and before.text == "attributes":
        start = before.start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return Dictionary(sig[open_i], sig[close_i], nested, entries, (start, end, ""))


def visibility(module: Module) -> list[Edit]:
    """Optional visibility words between an op's start and the symbol it defines."""
    text = module.text
    toks = tokens(text)
    starts = [tok.start for tok in toks]
    edits: list[Edit] = []
    for op in module.walk():
        if op.symbol is None or op.generic or not text.startswith("@", op.symbol.start):
            continue
        if not op.regions and op.name in _FUNCTIONS:
            continue  # a declaration must stay private
        j = bisect_left(starts, op.start)
        while j < len(toks) and toks[j].start < op.symbol.start:
            tok = toks[j]
            if tok.text in _VISIBILITY and tok.kind in ("string", "ident"):
                start = tok.start
                while start > 0 and text[start - 1] in " \t":
                    start -= 1
                edits.append((start, tok.end, ""))
            j += 1
    return edits


class DropAttributes(EditPass):
    name = "mlir-polish-attributes"

    def groups(self, module: Module) -> list[Group]:
        found = dictionaries(module)
        whole: list[tuple[int, list[Edit]]] = [(d.open.start, [d.removal]) for d in found if not d.nested]
        whole += [(edit[0], [edit]) for edit in visibility(module)]
        whole.sort(key=lambda unit: unit[0])
        groups: list[Group] = [Group([unit for _, unit in whole])] if whole else []
        for d in found:
            if d.entries:
                groups.append(Entries(list(range(len(d.entries))), all_first=False, text=module.text, dictionary=d))
        return groups
