"""Function parameters, each with the matching argument at every call and prototype.

One group per defined function; ddmin over its parameters. A removal edits the
definition's parameter list, every prototype of the same name, and every call
``name(...)``, keeping the comma-separated lists well formed. A parameter the
body still uses is declared as a local instead, so the body compiles.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, list_removal, walk
from carts_reduce.passes.c.common import DeletionPass, Group

_DECLARATOR_WRAPPERS = frozenset({"pointer_declarator", "parenthesized_declarator", "attributed_declarator"})


def function_declarator(node: Node) -> Node | None:
    """The ``name(params)`` part of a definition's or prototype's declarator."""
    current: Node | None = node
    while current is not None and current.type in _DECLARATOR_WRAPPERS:
        current = current.child_by_field_name("declarator") or next(
            (c for c in current.named_children if c.type != "comment"), None
        )
    return current if current is not None and current.type == "function_declarator" else None


def declared_name(declarator: Node) -> str | None:
    inner = declarator.child_by_field_name("declarator")
    return inner.text.decode() if inner is not None and inner.type == "identifier" else None


def list_elements(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


@dataclass
class _Parameters(Group):
    lists: list[list[Node]] = None  # type: ignore[assignment]
    body: Node | None = None

    def edits(self, src: Source, removed: range) -> list[Edit]:
        edits: list[Edit] = []
        if self.body is not None and self.body.child_count:
            # A parameter the body still reads becomes an (uninitialised) local.
            opening = self.body.children[0].end_byte
            for index in removed:
                parameter = self.units[index]
                name = _parameter_name(parameter)  # type: ignore[arg-type]
                if name is not None and name in _identifiers(self.body):
                    edits.append((opening, opening, f" {src.slice(parameter)};"))  # type: ignore[arg-type]
        for elements in self.lists:
            indices = [i for i in removed if i < len(elements)]
            if indices:
                spans = [(e.start_byte, e.end_byte) for e in elements]
                edits.extend(list_removal(spans, indices))
        return edits


def _parameter_name(parameter: Node) -> str | None:
    node = parameter.child_by_field_name("declarator")
    while node is not None and node.type != "identifier":
        node = node.child_by_field_name("declarator")
    return node.text.decode() if node is not None else None


def _identifiers(body: Node) -> set[str]:
    return {n.text.decode() for n in walk(body) if n.type == "identifier"}


class RemoveParameters(DeletionPass):
    name = "c-params"

    def groups(self, src: Source) -> list[Group]:
        definitions: list[tuple[str, Node, Node | None]] = []
        prototypes: dict[str, list[Node]] = {}
        calls: dict[str, list[Node]] = {}
        for node in walk(src.root):
            if node.type == "function_declarator":
                name = declared_name(node)
                parameters = node.child_by_field_name("parameters")
                if name is None or parameters is None:
                    continue
                parent = node.parent
                while parent is not None and parent.type in _DECLARATOR_WRAPPERS:
                    parent = parent.parent
                if parent is not None and parent.type == "function_definition":
                    definitions.append((name, parameters, parent.child_by_field_name("body")))
                else:
                    prototypes.setdefault(name, []).append(parameters)
            elif node.type == "call_expression":
                callee = node.child_by_field_name("function")
                arguments = node.child_by_field_name("arguments")
                if callee is not None and callee.type == "identifier" and arguments is not None:
                    calls.setdefault(callee.text.decode(), []).append(arguments)
        groups: list[Group] = []
        for name, parameters, body in definitions:
            params = [p for p in list_elements(parameters) if p.type == "parameter_declaration"]
            if not params or (len(params) == 1 and params[0].child_by_field_name("declarator") is None):
                continue  # `()` or `(void)`
            lists = [list_elements(parameters)]
            lists += [list_elements(p) for p in prototypes.get(name, [])]
            lists += [list_elements(a) for a in calls.get(name, [])]
            groups.append(_Parameters(params, lists=lists, body=body))
        return groups
