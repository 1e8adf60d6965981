"""The polish passes, in schedule order: after the structural cuts, make the text short.

Comments go first (they are often most of a reduced file), then the
top-level ``module {}`` the parser would add back anyway and the
functions whose ops can stand at module level; names of unused
results go before the renames, which then have fewer values to name (each
is one test when names do not matter), generic ops' names with them;
attributes are dropped before numbers and types are shortened, so fewer of
them are left to try; numbers
come before types because a literal must fit a narrower type (``7 : i32``
-> ``1 : i32`` -> ``1 : i1``); ``dense<false>`` goes with the numbers,
``-> (f32)`` after the types; whitespace is tidied last.
"""

from __future__ import annotations

from carts_reduce.passes.base import Pass
from carts_reduce.passes.mlir.polish_aliases import RenameAliases
from carts_reduce.passes.mlir.polish_arrows import UnwrapResultTypes
from carts_reduce.passes.mlir.polish_attributes import DropAttributes
from carts_reduce.passes.mlir.polish_booleans import ShortenBooleans
from carts_reduce.passes.mlir.polish_comments import StripComments
from carts_reduce.passes.mlir.polish_function import UnwrapFunctions
from carts_reduce.passes.mlir.polish_labels import RenameLabels
from carts_reduce.passes.mlir.polish_module import UnwrapModule
from carts_reduce.passes.mlir.polish_numbers import ShortenNumbers
from carts_reduce.passes.mlir.polish_op_names import ShortenOpNames
from carts_reduce.passes.mlir.polish_rename import RenameValues
from carts_reduce.passes.mlir.polish_symbols import RenameSymbols
from carts_reduce.passes.mlir.polish_types import ShortenTypes
from carts_reduce.passes.mlir.polish_unused import DropUnusedNames
from carts_reduce.passes.mlir.polish_whitespace import TidyWhitespace

POLISH_PASSES: list[Pass] = [
    StripComments(),
    UnwrapModule(),
    UnwrapFunctions(),
    DropUnusedNames(),
    RenameValues(),
    RenameLabels(),
    RenameSymbols(),
    RenameAliases(),
    ShortenOpNames(),
    DropAttributes(),
    ShortenBooleans(),
    ShortenNumbers(),
    ShortenTypes(),
    UnwrapResultTypes(),
    TidyWhitespace(),
]

__all__ = ["POLISH_PASSES"]
