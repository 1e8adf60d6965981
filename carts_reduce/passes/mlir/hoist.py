"""Hoist a region's body into its parent block, in place of the op that held it.

``scf.if``, ``scf.execute_region``, loops, ``omp.parallel``, ``arts.edt``...:
the op goes, its body's ops (minus the terminator) take its place. What the
body used from the op is bound to something defined outside: an induction
variable to its lower bound (or a fresh ``arith.constant 0``), an
``iter_args`` value to its initial value, a block argument that mirrors an
operand to that operand, a typed block argument to a fresh constant. The
op's results become the values its terminator yielded. A name the moved ops
define that is visible there, or defined again further on in the same block,
is renamed, since MLIR rejects both. A loop wrapper (``omp.wsloop``) goes
with the loop nest it wraps. Sites that cannot be bound this way are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carts_reduce.formats.mlir import Op, Region, apply_edits, tokenize
from carts_reduce.formats.mlir.lexer import COMMENT, LOC, PUNCT, VALUE, WS
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import (
    WRAPPERS,
    Edit,
    Tree,
    edit,
    is_module,
    is_terminator,
    is_wrapped,
    parsed,
    position_in,
    split_top,
    zero_of,
)

_LOOP_LIKE = re.compile(r"for|parallel|loop|iterate|wsloop|distribute|simd")


class HoistRegions(Pass):
    """Outermost sites first; an ``if`` offers its then-branch, then its else-branch."""

    name = "mlir-hoist"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        tree = parsed(text)
        if tree is None:
            return
        sites = [op for op in tree.ops if hoistable(op)]
        first = int(cursor[0]) if cursor else 0
        for index in range(first, len(sites)):
            op = sites[index]
            body = unwrapped(op)
            for region in body.regions:
                edits = hoist_edits(tree, op, region, body)
                if edits is None:
                    continue
                candidate = edit(text, edits)
                if candidate is not None:
                    yield (index,), candidate


def hoistable(op: Op) -> bool:
    if not op.regions or op.isolated or op.symbol is not None or is_module(op) or op.parent is None:
        return False
    if is_wrapped(op):
        return False  # hoisted with its wrapper
    if any(len(region.blocks) > 1 for region in op.regions):
        return False
    # Several regions mean several bodies with distinct roles; only an `if` picks one freely.
    return len(op.regions) == 1 or op.name.endswith(".if")


def unwrapped(op: Op) -> Op:
    """The loop nest inside ``omp.wsloop { omp.loop_nest ... }``: a wrapper goes with what it wraps."""
    while op.name in WRAPPERS and len(op.regions) == 1 and op.regions[0].blocks:
        ops = op.regions[0].blocks[0].ops
        if len(ops) != 1 or not ops[0].regions:
            break
        op = ops[0]
    return op


def hoist_edits(tree: Tree, op: Op, region: Region, body: Op | None = None) -> list[Edit] | None:
    """Edits that replace ``op`` by the ops of ``region``, a region of ``body`` (``op`` itself or what it wraps)."""
    text = tree.text
    body = body or op
    line_start, line_end = op.line_span()
    if text[text.rfind("\n", 0, op.start) + 1 : op.start].strip():
        return None  # shares its line with something else
    block = region.blocks[0] if region.blocks else None
    ops = list(block.ops) if block else []
    terminator = ops[-1] if ops and is_terminator(ops[-1]) else None
    moved = ops[:-1] if terminator is not None else ops

    # Bind what the body uses from the op (and the wrappers around it): header
    # arguments and block arguments.
    chain = [op]
    while chain[-1] is not body:
        chain.append(chain[-1].regions[0].blocks[0].ops[0])
    bindings: dict[str, tuple[str | None, str | None]] = {}
    arguments = []
    for holder in chain:
        bindings.update(header_bindings(text, holder))
        arguments += holder.region_args
        if holder is not body:
            arguments += holder.regions[0].blocks[0].args
    if block is not None:
        arguments += block.args
        bindings.update(operand_bindings(text, body, block))
    loop_like = _LOOP_LIKE.search(body.name.rpartition(".")[2]) is not None
    substitute: dict[int, str] = {}
    constants: list[str] = []
    claimed: set[str] = set()
    for arg in arguments:
        if not arg.uses:
            continue
        value, type_ = bindings.get(arg.name, (None, None))
        if value is not None:
            substitute[id(arg)] = value
            continue
        type_ = arg.type or type_ or ("index" if loop_like and arg.kind == "region_arg" else None)
        zero = zero_of(type_.strip()) if type_ else None
        if zero is None:
            return None
        name = tree.fresh_name("c0", claimed)
        constants.append(f"{name} = {zero}")
        substitute[id(arg)] = name

    # A name the moved ops define at the parent's level must not be defined there again.
    taken = names_in_the_way(op)
    renamed: dict[int, str] = {}
    for moved_op in moved:
        for value in moved_op.results:
            if value.name in taken:
                renamed[id(value)] = tree.fresh_name("h" + re.sub(r"[^\w$.]", "_", value.name[1:]), claimed)

    def spelled(use) -> str:
        """How a use of a moved or bound value reads after the hoist."""
        value = use.value
        if value is None:
            return text[use.start : use.end]
        if id(value) in substitute:
            return substitute[id(value)]
        if id(value) in renamed:
            return renamed[id(value)] + text[use.start + len(use.name) : use.end]
        return text[use.start : use.end]

    # The op's results become what the terminator yields.
    outside: list[Edit] = []
    flat = [(value, i) for value in op.results for i in range(value.count)]
    if any(value.uses for value in op.results):
        yielded = terminator.operands if terminator is not None else []
        if len(yielded) != len(flat):
            return None
        by_position = {(id(value), i): spelled(use) for (value, i), use in zip(flat, yielded)}
        for value in op.results:
            for use in value.uses:
                outside.append((use.start, use.end, by_position[(id(value), use.index or 0)]))

    # The moved text, with the bindings and renames applied, re-indented to the op's level.
    indent = text[line_start : op.start]
    pieces = [f"{indent}{c}\n" for c in constants]
    if moved:
        begin = moved[0].line_span()[0]
        end = moved[-1].line_span()[1]
        inner: list[Edit] = []
        for moved_op in moved:
            for value in moved_op.results:
                if id(value) in renamed:
                    inner.append((value.start - begin, value.end - begin, renamed[id(value)]))
            for nested in moved_op.walk():
                for use in nested.operands:
                    if use.value is not None and (id(use.value) in substitute or id(use.value) in renamed):
                        inner.append((use.start - begin, use.end - begin, spelled(use)))
        moved_text = apply_edits(text[begin:end], inner)
        body_indent = text[text.rfind("\n", 0, moved[0].start) + 1 : moved[0].start]
        if begin == moved[0].start:
            moved_text = indent + moved_text
            body_indent = ""
        moved_text = _dedent(moved_text, len(body_indent) - len(indent) if not body_indent.strip() else 0)
        if not moved_text.endswith("\n"):
            moved_text += "\n"
        pieces.append(moved_text)
    return [(line_start, line_end, "".join(pieces)), *outside]


def names_in_the_way(op: Op) -> set[str]:
    """Names a definition at ``op``'s place would clash with.

    MLIR rejects a definition of a name that is visible (defined earlier in
    this block or an enclosing one) or that is defined again further on in
    this block, nested or not; names defined in regions that closed earlier
    are free again.
    """
    names: set[str] = set()
    block = op.parent
    for later in block.ops[position_in(block.ops, op) + 1 :]:
        for nested in later.walk():
            names.update(value.name for value in nested.definitions())
    current = op
    while current.parent is not None:
        block = current.parent
        region = block.parent
        siblings = region.blocks if region is not None and len(region.blocks) > 1 else [block]
        for other in siblings:
            names.update(arg.name for arg in other.args)
            ops = other.ops if other is not block else other.ops[: position_in(other.ops, current)]
            names.update(value.name for earlier in ops for value in earlier.results)
        parent = current.parent_op
        if parent is None:
            break
        names.update(value.name for value in parent.region_args)
        if parent.isolated:
            break
        current = parent
    return names


def header_bindings(text: str, op: Op) -> dict[str, tuple[str | None, str | None]]:
    """What the op's header says each region argument stands for: ``name -> (value, type)``.

    ``%i = %lb to ...`` and ``iter_args(%a = %init)`` bind to a value;
    ``(%i, %j) : index = (%a, %b)`` binds positionally, with a type;
    ``%x -> %arg`` (OpenMP clauses) binds ``%arg`` to ``%x``; a literal bound
    (``%i = 0 to 10``) binds to no value.
    """
    header = text[op.start : op.regions[0].start]
    tokens = [t for t in tokenize(header) if t.kind not in (WS, COMMENT, LOC)]
    found: dict[str, tuple[str | None, str | None]] = {}
    n = len(tokens)
    i = 0
    while i < n:
        token = tokens[i]
        if token.kind == VALUE and i + 2 < n and tokens[i + 1].text == "=":
            rhs = tokens[i + 2]
            found.setdefault(token.text, (rhs.text if rhs.kind == VALUE else None, None))
        elif token.text == "->" and 0 < i and i + 1 < n and tokens[i - 1].kind == VALUE and tokens[i + 1].kind == VALUE:
            found.setdefault(tokens[i + 1].text, (tokens[i - 1].text, None))
        elif token.kind == PUNCT and token.text == "(":
            names, j = _value_group(tokens, i)
            if names:
                type_ = None
                if j + 1 < n and tokens[j].text == ":":
                    type_ = tokens[j + 1].text
                    j += 2
                if j + 1 < n and tokens[j].text == "=" and tokens[j + 1].text == "(":
                    values, _ = _entry_group(tokens, j + 1)
                    for k, name in enumerate(names):
                        value = values[k] if k < len(values) else None
                        found.setdefault(name, (value, type_))
                else:
                    for name in names:
                        found.setdefault(name, (None, type_))
        i += 1
    return found


def operand_bindings(text: str, op: Op, block) -> dict[str, tuple[str | None, str | None]]:
    """Block arguments that mirror an operand list: ``(%a, %b) : T, U {`` over ``^bb0(%x: T, %y: U)``."""
    count = len(block.args)
    if not count or not op.regions:
        return {}
    header = text[op.start : op.regions[0].start]
    tokens = [t for t in tokenize(header) if t.kind not in (WS, COMMENT, LOC)]
    wanted = [" ".join((arg.type or "").split()) for arg in block.args]
    for i, token in enumerate(tokens):
        if token.text != "(" or token.kind != PUNCT:
            continue
        names, j = _value_group(tokens, i)
        if len(names) != count or j >= len(tokens) or tokens[j].text != ":":
            continue
        rest = header[tokens[j].end :]
        rest = re.split(r"\sattributes\s*\{|\{\s*$", rest)[0]
        types = [" ".join(t.split()) for t in split_top(rest)][:count]
        if types == wanted:
            return {arg.name: (name, None) for arg, name in zip(block.args, names)}
    return {}


def _value_group(tokens, i: int) -> tuple[list[str], int]:
    """``(%a, %b)`` at ``i``: the names and the index after ``)``; no names if it holds anything else."""
    names = []
    j = i + 1
    while j < len(tokens):
        t = tokens[j]
        if t.kind == VALUE:
            names.append(t.text)
        elif t.text == ")":
            return names, j + 1
        elif t.text != ",":
            return [], j
        j += 1
    return [], j


def _entry_group(tokens, i: int) -> tuple[list[str | None], int]:
    """``(%a, 0, %b)`` at ``i``: each entry's value name (or ``None``)."""
    entries: list[str | None] = []
    current: list = []
    depth = 0
    for j in range(i + 1, len(tokens)):
        t = tokens[j]
        if t.kind == PUNCT and t.text in "([{":
            depth += 1
        elif t.kind == PUNCT and t.text in ")]}":
            if depth == 0:
                entries.append(_single_value(current))
                return entries, j + 1
            depth -= 1
        if depth == 0 and t.text == ",":
            entries.append(_single_value(current))
            current = []
            continue
        current.append(t)
    return entries, len(tokens)


def _single_value(tokens) -> str | None:
    return tokens[0].text if len(tokens) == 1 and tokens[0].kind == VALUE else None


def _dedent(text: str, width: int) -> str:
    if width <= 0:
        return text
    lines = text.split("\n")
    out = []
    for line in lines:
        strip = 0
        while strip < width and strip < len(line) and line[strip] in " \t":
            strip += 1
        out.append(line[strip:])
    return "\n".join(out)
