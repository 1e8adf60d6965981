"""A block reached only by one unconditional branch merged into the block that branches.

``cf.br ^bb3(%x : i32)`` ending a block, and nothing else naming ``^bb3``:
the branch and the label ``^bb3(%a: i32):`` go, uses of ``%a`` read ``%x``
instead, and the ops of ``^bb3`` follow on where the branch was (moved
there when ``^bb3`` is not the next block in the text). What is left means
the same; it takes one op and one label off every such seam of a CFG.
"""

from __future__ import annotations

import re

from carts_reduce.formats.mlir import Block, Module, Region, apply_edits
from carts_reduce.passes.mlir.polish_common import Edit, EditPass, Group, Unit

_BRANCH = re.compile(r"(?:^|\.)br$")


class MergeBlocks(EditPass):
    name = "mlir-merge-blocks"

    def groups(self, module: Module) -> list[Group]:
        units: list[Unit] = []
        for op in module.walk():
            for region in op.regions:
                units.extend(unit for unit in (merge(module.text, region, b) for b in region.blocks[1:]) if unit)
        return [Group(units)] if units else []


def merge(text: str, region: Region, block: Block) -> Unit | None:
    """The edits that merge ``block`` into its only predecessor, or ``None``."""
    if block.label is None or block.label_span is None:
        return None
    sources = [(b, op) for b in region.blocks for op in b.ops for ref in op.successors if ref.name == block.label]
    if len(sources) != 1:
        return None
    predecessor, branch = sources[0]
    if predecessor is block or not predecessor.ops or predecessor.ops[-1] is not branch:
        return None
    if not _BRANCH.search(branch.name) or len(branch.successors) != 1 or len(branch.operands) != len(block.args):
        return None
    edits: list[Edit] = []
    for arg, operand in zip(block.args, branch.operands):
        spelled = text[operand.start : operand.end]
        edits.extend((use.start, use.end, spelled) for use in arg.uses)
    label_start, label_end = _whole_lines(text, *block.label_span)
    branch_start, branch_end = branch.line_span()
    after = region.blocks.index(predecessor) + 1
    next_block = region.blocks[after] if after < len(region.blocks) else None
    if next_block is block and not text[branch_end:label_start].strip():
        edits += [(branch_start, branch_end, ""), (label_start, label_end, "")]
        return edits
    if not block.ops:
        return None
    # Elsewhere in the region: its ops take the branch's place, and the block goes.
    body_start, body_end = label_end, _whole_lines(text, block.ops[-1].start, block.ops[-1].end)[1]
    inner = [(s - body_start, e - body_start, r) for s, e, r in edits if body_start <= s and e <= body_end]
    outer = [edit for edit in edits if not (body_start <= edit[0] and edit[1] <= body_end)]
    moved = apply_edits(text[body_start:body_end], inner)
    return [*outer, (branch_start, branch_end, moved), (label_start, body_end, "")]


def _whole_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """The span grown to whole lines when nothing else is on them."""
    line_start = text.rfind("\n", 0, start) + 1
    nl = text.find("\n", end)
    line_end = len(text) if nl < 0 else nl + 1
    if text[line_start:start].strip() or text[end:line_end].strip():
        return start, end
    return line_start, line_end
