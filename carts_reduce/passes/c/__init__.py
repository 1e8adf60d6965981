"""C passes on the tree-sitter-c parse tree, in schedule order.

Big structural cuts first (whole functions, declarations, types, macros,
includes, conditionals), then statements and pragmas inside functions, then
rewrites that simplify what is left, then polish that only shortens text.
"""

from __future__ import annotations

from carts_reduce.passes.base import Pass
from carts_reduce.passes.c.blank_lines import RemoveBlankLines
from carts_reduce.passes.c.comments import RemoveComments
from carts_reduce.passes.c.conditionals import UnwrapConditionals
from carts_reduce.passes.c.declarations import RemoveDeclarations
from carts_reduce.passes.c.expressions import SimplifyExpressions
from carts_reduce.passes.c.fields import RemoveFields
from carts_reduce.passes.c.format_args import RemoveFormatArguments
from carts_reduce.passes.c.functions import RemoveFunctions
from carts_reduce.passes.c.includes import RemoveIncludes
from carts_reduce.passes.c.literals import ShortenLiterals
from carts_reduce.passes.c.macros import RemoveMacros
from carts_reduce.passes.c.params import RemoveParameters
from carts_reduce.passes.c.pragmas import RemovePragmas
from carts_reduce.passes.c.qualifiers import DropQualifiers
from carts_reduce.passes.c.rename import RenameIdentifiers
from carts_reduce.passes.c.statements import RemoveStatements
from carts_reduce.passes.c.type_names import ShortenTypeNames
from carts_reduce.passes.c.typedefs import RemoveTypes
from carts_reduce.passes.c.unwrap import UnwrapControl

C_PASSES: list[Pass] = [
    RemoveComments(),
    RemoveBlankLines(),
    RemoveFunctions(),
    RemoveDeclarations(),
    RemoveTypes(),
    RemoveMacros(),
    RemoveIncludes(),
    UnwrapConditionals(),
    RemoveStatements(),
    RemovePragmas(),
    UnwrapControl(),
    RemoveParameters(),
    RemoveFormatArguments(),
    SimplifyExpressions(),
    RemoveFields(),
    ShortenLiterals(),
    DropQualifiers(),
    ShortenTypeNames(),
    RenameIdentifiers(),
]

__all__ = ["C_PASSES"]
