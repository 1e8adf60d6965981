"""MLIR as a reducible format: a lossless op tree for any dialect.

See ``tree.py`` for the API of the tree, ``parser.py`` for how op boundaries
are found in the custom syntax of unknown dialects.
"""

from __future__ import annotations

from .cache import TextCache, parsed_module
from .lexer import MLIRParseError, Token, line_col, tokenize
from .parser import ISOLATED_OPS, SYMBOL_DEFINING_OPS, parse
from .tree import IMPLICIT_TERMINATORS, AliasDef, Block, Module, Op, Ref, Region, Use, Value, apply_edits

__all__ = [
    "MLIRParseError",
    "Token",
    "tokenize",
    "line_col",
    "parse",
    "parsed_module",
    "TextCache",
    "Module",
    "Op",
    "Region",
    "Block",
    "Value",
    "Use",
    "Ref",
    "AliasDef",
    "apply_edits",
    "count_ops",
    "def_use_errors",
    "ISOLATED_OPS",
    "SYMBOL_DEFINING_OPS",
    "IMPLICIT_TERMINATORS",
]


def count_ops(text: str) -> int:
    """How many ops ``mlir-opt --mlir-print-op-generic`` prints for ``text``.

    The module op counts (an implicit one wraps a text that is not a single
    ``module``), and so do terminators the custom form leaves out. The parse
    is the one the passes will ask for next (see ``cache.py``).
    """
    return parsed_module(text).op_count()


def def_use_errors(module: Module) -> list[str]:
    """One message per SSA use that names no definition in scope, and per
    definition of a name already defined in scope (MLIR rejects both), in text order."""
    text = module.text
    found: list[tuple[int, str]] = []
    for use in module.unresolved:
        line, col = line_col(text, use.start)
        index = "" if use.index is None else f"#{use.index}"
        found.append((use.start, f"{line}:{col}: use of undefined value {use.name}{index} in '{use.user.name}'"))
    for value, earlier in module.redefinitions:
        line, col = line_col(text, value.start)
        first_line, first_col = line_col(text, earlier.start)
        message = f"redefinition of value {value.name} (defined at {first_line}:{first_col})"
        found.append((value.start, f"{line}:{col}: {message}"))
    found.sort(key=lambda item: item[0])
    return [message for _, message in found]
