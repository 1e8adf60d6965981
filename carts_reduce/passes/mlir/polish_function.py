"""A function's body written at module level instead of the function.

The module's body is a graph region that takes any op, so once a function
is down to a few ops, ``func.func @f() { ...; return }`` often still fails
the same way as just its ops: the function header, the terminator and the
braces go. Only functions that nothing references and whose arguments are
unused qualify, and only when no name the body defines is already defined
at module level. One candidate per function, last function first (the
crashing one is usually the last left).
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.formats.mlir import Module, Op
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import is_module, is_terminator
from carts_reduce.passes.mlir.polish_common import parsed, smaller, well_formed
from carts_reduce.passes.mlir.polish_module import dedent


class UnwrapFunctions(Pass):
    name = "mlir-polish-function"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        module = parsed(text)
        if module is None:
            return
        sites = [op for op in module_level_ops(module) if unwrappable(module, op)]
        for op in reversed(sites):
            candidate = text[: op.start] + _body(op) + text[op.end :]
            if smaller(candidate, text) and well_formed(candidate, text):
                yield None, candidate


def module_level_ops(module: Module) -> list[Op]:
    """Ops directly in the module: top-level ones, or those of a single ``module { }``."""
    ops = module.ops
    if len(ops) == 1 and is_module(ops[0]) and len(ops[0].regions) == 1 and ops[0].regions[0].blocks:
        return ops[0].regions[0].blocks[0].ops
    return ops


def unwrappable(module: Module, op: Op) -> bool:
    if op.symbol is None or len(op.regions) != 1 or is_module(op):
        return False
    blocks = op.regions[0].blocks
    if len(blocks) != 1 or blocks[0].label is not None or not blocks[0].ops:
        return False
    if any(arg.uses for arg in (*op.region_args, *blocks[0].args)):
        return False
    if module.symbol_uses(op.symbol.name):
        return False
    taken = {value.name for other in (op.parent.ops if op.parent else ()) for value in other.results}
    defined = {value.name for inner in blocks[0].ops for value in inner.results}
    return not taken & defined


def _body(op: Op) -> str:
    """The function's ops without its terminator, indented as the function was."""
    region = op.regions[0]
    ops = region.blocks[0].ops
    end = ops[-1].line_span()[0] if is_terminator(ops[-1]) else region.end - 1
    body = dedent(op.source[region.start + 1 : end])
    line_start = op.source.rfind("\n", 0, op.start) + 1
    indent = op.source[line_start : op.start]
    indent = indent if not indent.strip() else ""
    return ("\n" + indent).join(body.split("\n"))
