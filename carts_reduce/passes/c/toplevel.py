"""The items of a C file, for the passes that delete them by kind.

Items inside ``#if``/``#ifdef`` branches count as items of the file (a header
guard wraps a whole header); the conditional itself is left to the
conditionals pass. A ``struct S {...};`` at file scope is one item with its
``;``.

An item whose name the rest of the file still uses (outside the item, other
than by declaring the same name again) is not offered: removing it could not
compile. Once its users are gone, a later round removes it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, walk
from carts_reduce.passes.c.common import DeletionPass, Group, is_pragma, span_removal

_CONTAINERS = frozenset({"translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"})
_NOT_ITEMS = frozenset({"comment", "preproc_directive"})
_SPECIFIERS = frozenset({"struct_specifier", "union_specifier", "enum_specifier"})

KINDS = {
    "function_definition": "function",
    "declaration": "declaration",
    "type_definition": "type",
    "struct_specifier": "type",
    "union_specifier": "type",
    "enum_specifier": "type",
    "preproc_def": "macro",
    "preproc_function_def": "macro",
    "preproc_include": "include",
}


@dataclass(frozen=True)
class Item:
    kind: str
    node: Node
    end: int  # past a trailing `;` that belongs to it


def items(root: Node) -> list[Item]:
    found: list[Item] = []
    _collect(root, found)
    return found


def _collect(container: Node, found: list[Item]) -> None:
    children = container.children
    for index, child in enumerate(children):
        field = container.field_name_for_child(index)
        if field in ("condition", "name") or not child.is_named or child.type in _NOT_ITEMS:
            continue
        if child.type in _CONTAINERS:
            _collect(child, found)
            continue
        end = child.end_byte
        following = children[index + 1] if index + 1 < len(children) else None
        if child.type in _SPECIFIERS and following is not None and following.type == ";":
            end = following.end_byte
        found.append(Item(_kind(child), child, end))


def _kind(node: Node) -> str:
    if node.type == "preproc_call":
        return "pragma" if is_pragma(node) else "macro"
    return KINDS.get(node.type, "other")


_WORD = re.compile(r"[A-Za-z_]\w*")
# tree-sitter-c spells well-known typedef names (size_t, int32_t ...) as primitive types.
_NAMED = frozenset({"identifier", "type_identifier", "primitive_type"})
_DECLARATOR_FIELDS = ("declarator", "name")


def declared_names(node: Node) -> list[Node]:
    """The name nodes an item declares: function, variables, typedef, tag, macro, enumerators."""
    kind = node.type
    if kind in ("preproc_def", "preproc_function_def"):
        name = node.child_by_field_name("name")
        return [name] if name is not None else []
    names: list[Node] = []
    if kind in ("function_definition", "declaration", "type_definition"):
        for index, child in enumerate(node.children):
            if node.field_name_for_child(index) == "declarator":
                name = _declarator_name(child)
                if name is not None:
                    names.append(name)
        specifier = node.child_by_field_name("type")
        if specifier is not None and specifier.type in _SPECIFIERS:
            names.extend(declared_names(specifier))
    elif kind in _SPECIFIERS and node.child_by_field_name("body") is not None:
        tag = node.child_by_field_name("name")
        if tag is not None:
            names.append(tag)
        if kind == "enum_specifier":
            body = node.child_by_field_name("body")
            for enumerator in body.named_children if body is not None else []:
                name = enumerator.child_by_field_name("name")
                if name is not None:
                    names.append(name)
    return names


def _declarator_name(node: Node | None) -> Node | None:
    while node is not None and node.type not in _NAMED:
        inner = next((node.child_by_field_name(f) for f in _DECLARATOR_FIELDS if node.child_by_field_name(f)), None)
        if inner is None:
            inner = next((c for c in node.named_children if c.type.endswith("declarator") or c.type in _NAMED), None)
        node = inner
    return node


class Uses:
    """Where each name is used (not declared) in a file, by byte offset."""

    def __init__(self, root: Node, declarations: set[int]) -> None:
        self.offsets: dict[str, list[int]] = {}
        for node in walk(root):
            if node.type in _NAMED and node.id not in declarations:
                self.offsets.setdefault(node.text.decode(), []).append(node.start_byte)
            elif node.type == "preproc_arg":
                for match in _WORD.finditer(node.text.decode("utf-8", "surrogateescape")):
                    self.offsets.setdefault(match.group(), []).append(node.start_byte + match.start())
        for offsets in self.offsets.values():
            offsets.sort()

    def used_outside(self, name: str, start: int, end: int) -> bool:
        offsets = self.offsets.get(name, ())
        inside = bisect_left(offsets, end) - bisect_left(offsets, start)
        return len(offsets) > inside


def file_uses(root: Node) -> Uses:
    return Uses(root, {n.id for item in items(root) for n in declared_names(item.node)})


def needed(node: Node, uses: Uses) -> bool:
    """Whether the items inside ``node`` declare a name used outside it."""
    inner: list[Item] = []
    if node.type in _CONTAINERS:
        _collect(node, inner)
    else:
        inner.append(Item(_kind(node), node, node.end_byte))
    return any(
        uses.used_outside(name.text.decode(), node.start_byte, node.end_byte)
        for item in inner
        for name in declared_names(item.node)
    )


class TopLevelPass(DeletionPass):
    """ddmin over the file's items of some kinds that nothing else uses."""

    kinds: frozenset[str]

    def groups(self, src: Source) -> list[Group]:
        chosen = [item for item in items(src.root) if item.kind in self.kinds and item.end > item.node.start_byte]
        if not chosen:
            return []
        names = {item.node.id: declared_names(item.node) for item in chosen}
        uses = file_uses(src.root)
        units: list[list[Edit]] = [
            span_removal(src, item.node.start_byte, item.end)
            for item in chosen
            if not any(uses.used_outside(n.text.decode(), item.node.start_byte, item.end) for n in names[item.node.id])
        ]
        return [Group(units)] if units else []
