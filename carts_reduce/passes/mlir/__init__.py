"""MLIR passes on the lossless op tree, in schedule order.

Phase 1 cuts structure, cheapest big cuts first: whole functions with their
call sites (the first candidate is half of them: on a big module every later
step parses half as much), locations (one test, often a third of the bytes),
module attributes and unused symbols, dead code, ops with their forward slices, regions
hoisted into their parent, results replaced by simpler values, bodies
reduced to declarations, unused arguments (and the results of functions
nobody calls). Every candidate is well-formed by construction. Phase 2
begins with the last cuts, tried once the structure is at a fixpoint (they
cost a test per site where the others cost one per chunk): another value in
place of one, literals in place of affine operands. Then it polishes what is
left (shorter names, literals, attributes); the driver goes back to phase 1
whenever phase 2 helps.
"""

from __future__ import annotations

from carts_reduce.passes.base import Pass
from carts_reduce.passes.mlir.arguments import DeleteArguments
from carts_reduce.passes.mlir.functions import DeclareFunctions, DeleteFunctions
from carts_reduce.passes.mlir.hoist import HoistRegions
from carts_reduce.passes.mlir.affine_literals import AffineLiterals
from carts_reduce.passes.mlir.locations import DropLocations
from carts_reduce.passes.mlir.merge_blocks import MergeBlocks
from carts_reduce.passes.mlir.ops import DeleteDeadOps, DeleteOps
from carts_reduce.passes.mlir.polish import POLISH_PASSES
from carts_reduce.passes.mlir.replace import ReplaceResults
from carts_reduce.passes.mlir.reuse import ReuseValues
from carts_reduce.passes.mlir.symbols import DropUnusedSymbols

STRUCTURAL_PASSES: list[Pass] = [
    DeleteFunctions(),
    DropLocations(),
    DropUnusedSymbols(),
    DeleteDeadOps(),
    DeleteOps(),
    HoistRegions(),
    MergeBlocks(),
    ReplaceResults(),
    DeclareFunctions(),
    DeleteArguments(),
]

LAST_CUTS: list[Pass] = [ReuseValues(), AffineLiterals()]

MLIR_PHASES: list[list[Pass]] = [STRUCTURAL_PASSES, [*LAST_CUTS, *POLISH_PASSES]]

__all__ = ["MLIR_PHASES", "STRUCTURAL_PASSES", "LAST_CUTS", "POLISH_PASSES"]
