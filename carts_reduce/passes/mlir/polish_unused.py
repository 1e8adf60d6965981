"""Names of results nobody uses dropped: ``%2 = "arith.ceildivui"(...)`` -> ``"arith.ceildivui"(...)``.

An op whose results are all unused still has them without names (MLIR does
not require a result to be named), so the IR means the same and one test
usually does them all. This is what is left of the op that crashes once
everything after it is gone: it has side effects, or it is the point of the
reproducer, so the structural passes keep it.
"""

from __future__ import annotations

import re

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit

_RESULTS = re.compile(r"(?:%[\w$.\-]+(?::\d+)?\s*,\s*)*%[\w$.\-]+(?::\d+)?\s*=\s*")


class DropUnusedNames(EditPass):
    name = "mlir-polish-unused"

    def groups(self, module: Module) -> list[Group]:
        units: list[Unit] = []
        for op in module.walk():
            if not op.results or any(value.uses for value in op.results):
                continue
            match = _RESULTS.match(module.text, op.start)
            if match is not None:
                units.append([(op.start, match.end(), "")])
        return [Group(units)] if units else []
