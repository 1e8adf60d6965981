"""Block labels renamed to one letter: ``^bb12`` -> ``^a``, where it saves bytes.

A label is seen only by the branches of its own region, so labels are
chosen per region; they also avoid the labels of enclosing regions, which
costs nothing and keeps a reader from confusing them.
"""

from __future__ import annotations

import string

from carts_reduce.formats.mlir import Module, Region
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, fresh_names

_POOL = string.ascii_lowercase + string.ascii_uppercase + string.digits


class RenameLabels(EditPass):
    name = "mlir-polish-labels"

    def groups(self, module: Module) -> list[Group]:
        units: list[tuple[int, Unit]] = []

        def visit(region: Region, enclosing: set[str]) -> None:
            labels = {block.label for block in region.blocks if block.label}
            taken = enclosing | labels
            names = fresh_names(_POOL, taken, prefix="^")
            new = next(names, None)
            branches = [ref for block in region.blocks for op in block.ops for ref in op.successors]
            for block in region.blocks:
                old = block.label
                if not old or block.label_span is None or new is None or len(old) <= len(new):
                    continue
                start = block.label_span[0]
                edits = [(start, start + len(old), new)]
                edits += [(ref.start, ref.start + len(old), new) for ref in branches if ref.name == old]
                units.append((start, edits))
                taken.add(new)
                new = next(names, None)
            for block in region.blocks:
                for op in block.ops:
                    for inner in op.regions:
                        visit(inner, taken)

        for op in module.ops:
            for region in op.regions:
                visit(region, set())
        units.sort(key=lambda unit: unit[0])
        return [Group([unit for _, unit in units])] if units else []
