"""MLIR passes on the lossless op tree, in schedule order.

Phase 1 cuts structure, cheapest big cuts first: locations (one test, often
a third of the bytes), module attributes and unused symbols, whole functions
with their call sites, dead code, ops with their forward slices, regions
hoisted into their parent, results replaced by simpler values, bodies
reduced to declarations, unused arguments (and the results of functions
nobody calls). Every candidate is well-formed by construction. Phase 2
polishes what is left (shorter names, literals, attributes); the driver goes
back to phase 1 whenever it helps.
"""

from __future__ import annotations

from carts_reduce.passes.base import Pass
from carts_reduce.passes.mlir.arguments import DeleteArguments
from carts_reduce.passes.mlir.functions import DeclareFunctions, DeleteFunctions
from carts_reduce.passes.mlir.hoist import HoistRegions
from carts_reduce.passes.mlir.locations import DropLocations
from carts_reduce.passes.mlir.ops import DeleteDeadOps, DeleteOps
from carts_reduce.passes.mlir.polish import POLISH_PASSES
from carts_reduce.passes.mlir.replace import ReplaceResults
from carts_reduce.passes.mlir.symbols import DropUnusedSymbols

STRUCTURAL_PASSES: list[Pass] = [
    DropLocations(),
    DropUnusedSymbols(),
    DeleteFunctions(),
    DeleteDeadOps(),
    DeleteOps(),
    HoistRegions(),
    ReplaceResults(),
    DeclareFunctions(),
    DeleteArguments(),
]

MLIR_PHASES: list[list[Pass]] = [STRUCTURAL_PASSES, POLISH_PASSES]

__all__ = ["MLIR_PHASES", "STRUCTURAL_PASSES", "POLISH_PASSES"]
