"""Comments, lit ``// RUN:`` and ``// CHECK:`` lines included: all at once, then ddmin.

A comment alone on its line takes the whole line with it; a comment after
code takes the blanks before it.
"""

from __future__ import annotations

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, tokens


class StripComments(EditPass):
    name = "mlir-polish-comments"

    def groups(self, module: Module) -> list[Group]:
        text = module.text
        units: list[Unit] = []
        for tok in tokens(text):
            if tok.kind != "comment":
                continue
            line_start = text.rfind("\n", 0, tok.start) + 1
            if text[line_start : tok.start].strip(" \t"):
                start = tok.start
                while start > line_start and text[start - 1] in " \t":
                    start -= 1
                units.append([(start, tok.end, "")])
            else:
                end = tok.end + 1 if text.startswith("\n", tok.end) else tok.end
                units.append([(line_start, end, "")])
        return [Group(units)] if units else []
