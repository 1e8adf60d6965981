"""Expressions replaced by ``0`` or by one of their operands.

Outer expressions come first (pre-order), each with ``0`` first and then its
operands: a binary expression its left and right, a call one of its
arguments, a conditional either branch, a cast or parentheses what they hold.
Places where ``0`` cannot stand (what is assigned to, what is called, the
object of ``.``/``->``/``[]``/``&``) keep their expression; an expression
statement is not turned into ``0;`` (removing it is the statements pass's job).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source
from carts_reduce.passes.c.common import NOT_CODE, ReplacementPass, replace

# Operands worth trying in place of the whole, by field name (None: all named children).
OPERANDS: dict[str, tuple[str, ...] | None] = {
    "binary_expression": ("left", "right"),
    "unary_expression": ("argument",),
    "pointer_expression": (),
    "call_expression": None,  # the arguments
    "conditional_expression": ("consequence", "alternative"),
    "parenthesized_expression": None,
    "cast_expression": ("value",),
    "subscript_expression": (),
    "field_expression": (),
    "update_expression": ("argument",),
    "assignment_expression": ("right",),
    "comma_expression": ("left", "right"),
    "sizeof_expression": (),
    "alignof_expression": (),
    "compound_literal_expression": (),
    "identifier": (),
}
# (parent type, field) where an expression must stay as it is.
NOT_REPLACEABLE = {
    ("assignment_expression", "left"),
    ("update_expression", "argument"),
    ("call_expression", "function"),
    ("field_expression", "field"),
    ("init_declarator", "declarator"),
    ("if_statement", "condition"),
    ("while_statement", "condition"),
    ("do_statement", "condition"),
    ("switch_statement", "condition"),
    ("case_statement", "value"),
    ("preproc_if", "condition"),
    ("preproc_elif", "condition"),
}
# (parent type, field) where `0` does not fit but an operand may.
NO_ZERO = {
    ("field_expression", "argument"),
    ("subscript_expression", "argument"),
    ("expression_statement", None),
    ("pointer_expression", "argument"),
}
# Parents under which an identifier is a value (not a declarator, label or type).
VALUE_PARENTS = frozenset(
    {
        "binary_expression", "unary_expression", "argument_list", "parenthesized_expression",
        "conditional_expression", "cast_expression", "return_statement", "subscript_expression",
        "initializer_list", "comma_expression", "assignment_expression", "init_declarator",
        "pointer_expression", "field_expression", "expression_statement", "for_statement",
    }
)


@dataclass(frozen=True)
class Site:
    node: Node
    parent: str
    field: str | None


def sites(root: Node) -> list[Site]:
    found: list[Site] = []
    cursor = root.walk()
    parents: list[str] = []
    while True:
        node = cursor.node
        field = cursor.field_name
        parent = parents[-1] if parents else ""
        if node.type in OPERANDS and (parent, field) not in NOT_REPLACEABLE:
            if node.type != "identifier" or parent in VALUE_PARENTS:
                found.append(Site(node, parent, field))
        if node.type not in NOT_CODE and cursor.goto_first_child():
            parents.append(node.type)
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return found
            parents.pop()


class SimplifyExpressions(ReplacementPass):
    name = "c-expressions"

    def sites(self, src: Source) -> list[Site]:
        return sites(src.root)

    def variants(self, src: Source, site: object) -> Iterator[list[Edit]]:
        assert isinstance(site, Site)
        node = site.node
        if (site.parent, site.field) not in NO_ZERO:
            yield replace(node, "0")
        fields = OPERANDS[node.type]
        if fields is None:
            container = node.child_by_field_name("arguments") if node.type == "call_expression" else node
            operands = [c for c in container.named_children if c.type != "comment"] if container else []
        else:
            operands = [c for c in (node.child_by_field_name(f) for f in fields) if c is not None]
        for operand in operands:
            yield replace(node, src.slice(operand))
