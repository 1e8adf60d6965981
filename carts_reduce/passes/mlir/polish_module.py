"""The top-level ``module { ... }`` unwrapped: MLIR puts the same module back implicitly.

``module {`` ... ``}`` and ``"builtin.module"() ({`` ... ``}) : () -> ()``
around everything are pure syntax when the module has no name and no
attributes (the parser wraps top-level ops in an unnamed module itself), so
the body is written at top level instead, one indentation level less.
One candidate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.polish_common import parsed, smaller, well_formed

_HEAD = re.compile(r'(?:module|"builtin\.module"\(\)\s*\()\s*', re.S)
_TAIL = re.compile(r"(?:\)\s*:\s*\(\)\s*->\s*\(\))?", re.S)


def dedent(body: str) -> str:
    """``body``'s lines without the indentation they all share; blank lines at its ends dropped."""
    lines = body.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines)


class UnwrapModule(Pass):
    name = "mlir-polish-module"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        module = parsed(text)
        if module is None or len(module.ops) != 1:
            return
        op = module.ops[0]
        if op.name not in ("module", "builtin.module") or len(op.regions) != 1 or op.symbol is not None:
            return
        region = op.regions[0]
        if len(region.blocks) > 1 or any(block.label for block in region.blocks):
            return
        if not _HEAD.fullmatch(text, op.start, region.start) or not _TAIL.fullmatch(text, region.end, op.end):
            return
        candidate = text[: op.start] + dedent(text[region.start + 1 : region.end - 1]) + text[op.end :]
        if smaller(candidate, text) and well_formed(candidate, text):
            yield 0, candidate
