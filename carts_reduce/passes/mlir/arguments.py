"""Delete unused function and block arguments, with the operands that fed them.

A function argument goes from the signature and, at every call site, from
the operand list and the call's function type; a block argument goes from
the block label and from every branch to that block. Functions referenced by
anything other than a plain call (an address taken, a custom op naming it)
keep their signature. A function nobody calls also loses its results (the
``-> T`` and the operands of its returns), which frees what computed them.
ddmin runs over all these units at once, all of them first.
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.search.ddmin import chunk_removals
from carts_reduce.formats.mlir import Block, Op, tokenize
from carts_reduce.formats.mlir.lexer import COMMENT, SYM, WS
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import (
    Edit,
    Tree,
    edit,
    paren_group_at,
    parsed,
    split_top,
)

_CALLS = frozenset({"func.call", "call", "llvm.call"})
_RETURNS = frozenset({"return", "func.return", "llvm.return"})
#: The unit index that stands for "the function's results".
RESULTS = -1


class DeleteArguments(Pass):
    name = "mlir-arguments"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        units = removable_arguments(tree)
        # All of them at once first: unused arguments almost never matter.
        start = tuple(cursor) if cursor else ((len(units), 0) if len(units) > 1 else None)
        for position, removed in chunk_removals(len(units), start):
            chosen: dict[int, tuple[object, set[int]]] = {}
            for owner, index in units[removed.start : removed.stop]:
                chosen.setdefault(id(owner), (owner, set()))[1].add(index)
            edits: list[Edit] | None = []
            for owner, indices in chosen.values():
                if isinstance(owner, Op):
                    more = function_edits(tree, owner, indices)
                else:
                    more = block_edits(tree, owner, indices)
                if more is None:
                    edits = None
                    break
                edits.extend(more)
            if edits:
                candidate = edit(text, edits)
                if candidate is not None:
                    yield position, candidate


def removable_arguments(tree: Tree) -> list[tuple[Op | Block, int]]:
    """``(function or block, argument index)`` for every unused argument that can go."""
    units: list[tuple[Op | Block, int]] = []
    for op in tree.ops:
        if op.isolated and op.symbol is not None and op.regions and op.region_args:
            if all(user.name in _CALLS and not user.generic for user in tree.symbol_users.get(op.symbol.name, [])):
                units.extend((op, i) for i, arg in enumerate(op.region_args) if not arg.uses)
        if op.isolated and op.symbol is not None and op.regions and not tree.symbol_users.get(op.symbol.name):
            if _result_arrow(tree, op) is not None:
                units.append((op, RESULTS))
        for region in op.regions:
            for block in region.blocks[1:]:
                units.extend((block, i) for i, arg in enumerate(block.args) if not arg.uses)
    return units


def _group_after(text: str, start: int, end: int, token_kind: str, token_text: str) -> tuple[int, int] | None:
    """Offsets of the ``(...)`` right after the token ``token_text`` in ``text[start:end]``."""
    tokens = tokenize(text[start:end])
    for i, token in enumerate(tokens):
        if token.kind == token_kind and token.text == token_text:
            return _parens_after_token(tokens, i, start)
    return None


def _rewrite_list(text: str, group: tuple[int, int], remove: set[int], count: int) -> Edit | None:
    entries = split_top(text[group[0] + 1 : group[1] - 1])
    if entries == [""]:
        entries = []
    if len(entries) != count:
        return None
    kept = [e for i, e in enumerate(entries) if i not in remove]
    return (group[0] + 1, group[1] - 1, ", ".join(kept))


def function_edits(tree: Tree, op: Op, remove: set[int]) -> list[Edit] | None:
    text = tree.text
    edits: list[Edit | None] = []
    if RESULTS in remove:
        remove = remove - {RESULTS}
        edits.append(_result_arrow(tree, op))
        for region in op.regions:
            for block in region.blocks:
                for ret in block.ops:
                    if ret.name in _RETURNS and ret.operands:
                        if ret.generic:
                            return None
                        name_end = text.index(ret.name, ret.start) + len(ret.name)
                        edits.append((name_end, ret.end, ""))
        if not remove:
            return None if any(e is None for e in edits) else edits  # type: ignore[return-value]
    count = len(op.region_args)
    header = _group_after(text, op.start, op.regions[0].start, SYM, op.symbol.name)
    if header is None:
        return None
    entries = split_top(text[header[0] + 1 : header[1] - 1])
    # Every entry must be a named argument, in the order the parser found them.
    if [e.split(":", 1)[0].strip() for e in entries] != [a.name for a in op.region_args]:
        return None
    edits.append(_rewrite_list(text, header, remove, count))
    for call in tree.symbol_users.get(op.symbol.name, []):
        operands = _group_after(text, call.start, call.end, SYM, op.symbol.name)
        if operands is None:
            return None
        edits.append(_rewrite_list(text, operands, remove, count))
        signature = _function_type_inputs(text, operands[1], call.end)
        if signature is None:
            return None
        edits.append(_rewrite_list(text, signature, remove, count))
    return None if any(e is None for e in edits) else edits  # type: ignore[return-value]


def _result_arrow(tree: Tree, op: Op) -> Edit | None:
    """The edit that drops ``-> T`` (or ``-> (T, U)``, with result attributes) from a function header."""
    text = tree.text
    header = _group_after(text, op.start, op.regions[0].start, SYM, op.symbol.name)
    if header is None:
        return None
    tokens = tokenize(text[header[1] : op.regions[0].start])
    significant = [(i, t) for i, t in enumerate(tokens) if t.kind not in (WS, COMMENT)]
    if not significant or significant[0][1].text != "->" or len(significant) < 2:
        return None
    i, first = significant[1]
    end = paren_group_at(tokens, i)[1] if first.text == "(" else first.end  # type: ignore[index]
    if first.text != "(" and len(significant) > 2 and significant[2][1].text == "{":
        end = paren_group_at(tokens, significant[2][0])[1]  # type: ignore[index]
    return (header[1], header[1] + end, "")  # from right after the argument list


def _function_type_inputs(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The ``(...)`` of inputs in ``: (T0, T1) -> R`` after ``start``."""
    tokens = tokenize(text[start:end])
    depth = 0
    for i, token in enumerate(tokens):
        if token.text in ("(", "[", "{", "<"):
            depth += 1
        elif token.text in (")", "]", "}", ">"):
            depth -= 1
        elif token.text == ":" and depth == 0:
            return _parens_after_token(tokens, i, start)
    return None


def _parens_after_token(tokens, i: int, start: int) -> tuple[int, int] | None:
    """Offsets of the ``(...)`` that follows token ``i`` (blanks skipped), or None."""
    j = i + 1
    while j < len(tokens) and tokens[j].kind in (WS, COMMENT):
        j += 1
    if j < len(tokens) and tokens[j].text == "(":
        group = paren_group_at(tokens, j)
        return None if group is None else (start + group[0], start + group[1])
    return None


def block_edits(tree: Tree, block: Block, remove: set[int]) -> list[Edit] | None:
    text = tree.text
    count = len(block.args)
    assert block.label_span is not None
    label = _group_after(text, block.label_span[0], block.label_span[1], "caret", block.label)
    if label is None:
        return None
    edits = [_drop_or_rewrite(text, label, remove, count, typed_together=False)]
    region = block.parent
    for other in region.blocks:
        for op in other.ops:
            for ref in op.successors:
                if ref.name != block.label:
                    continue
                group = _group_after(text, ref.start, op.end, "caret", ref.name)
                if group is None:
                    return None
                edits.append(_drop_or_rewrite(text, group, remove, count, typed_together=True))
    return None if any(e is None for e in edits) else edits  # type: ignore[return-value]


def _drop_or_rewrite(
    text: str, group: tuple[int, int], remove: set[int], count: int, typed_together: bool
) -> Edit | None:
    """Rewrite ``(%a: T, %b: U)`` or ``(%a, %b : T, U)`` without entries ``remove``; drop the parens when empty."""
    inner = text[group[0] + 1 : group[1] - 1]
    if typed_together:
        halves = split_top(inner, ":")
        if len(halves) != 2:
            return None
        values, types = split_top(halves[0]), split_top(halves[1])
        if len(values) != count or len(types) != count:
            return None
        values = [v for i, v in enumerate(values) if i not in remove]
        types = [t for i, t in enumerate(types) if i not in remove]
        rewritten = f"({', '.join(values)} : {', '.join(types)})" if values else ""
    else:
        entries = split_top(inner)
        if len(entries) != count:
            return None
        kept = [e for i, e in enumerate(entries) if i not in remove]
        rewritten = f"({', '.join(kept)})" if kept else ""
    return (group[0], group[1], rewritten)
