"""Names declared in the file renamed to one letter that appears nowhere else.

Functions defined here, variables, parameters, typedefs and macros. Every
occurrence is renamed (identifiers, type names, and the same word inside
``#define`` bodies and ``#pragma`` lines), so scoping cannot change: the new
name is a word the text never uses. Library functions (declared, never
defined here) keep their names. Names saving the most bytes go first.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, walk
from carts_reduce.passes.c.common import ReplacementPass
from carts_reduce.passes.c.params import function_declarator

_WORD = re.compile(r"[A-Za-z_]\w*")
_FRESH = string.ascii_lowercase + string.ascii_uppercase
_NAMES = frozenset({"identifier", "type_identifier"})
_DECLARATORS = frozenset(
    {"init_declarator", "pointer_declarator", "array_declarator", "parenthesized_declarator", "attributed_declarator"}
)
_KEEP = frozenset({"main"})


@dataclass(frozen=True)
class Name:
    spelled: str
    nodes: tuple[Node, ...]
    in_macros: tuple[Node, ...]


def declared_names(root: Node) -> set[str]:
    names: set[str] = set()
    for node in walk(root):
        kind = node.type
        if kind == "function_definition":
            declarator = function_declarator(node.child_by_field_name("declarator"))  # type: ignore[arg-type]
            inner = declarator.child_by_field_name("declarator") if declarator is not None else None
            if inner is not None and inner.type == "identifier":
                names.add(inner.text.decode())
        elif kind in ("declaration", "parameter_declaration", "type_definition"):
            if any(c.type == "storage_class_specifier" and c.text == b"extern" for c in node.children):
                continue
            for index, child in enumerate(node.children):
                if node.field_name_for_child(index) == "declarator":
                    name = _declarator_name(child)
                    if name:
                        names.add(name)
        elif kind in ("preproc_def", "preproc_function_def"):
            name = node.child_by_field_name("name")
            if name is not None:
                names.add(name.text.decode())
    return names


def _declarator_name(node: Node) -> str | None:
    while node.type in _DECLARATORS:
        inner = node.child_by_field_name("declarator")
        if inner is None:
            return None
        node = inner
    return node.text.decode() if node.type in _NAMES else None


class RenameIdentifiers(ReplacementPass):
    name = "c-rename"

    def sites(self, src: Source) -> list[Name]:
        declared = {n for n in declared_names(src.root) if len(n) > 1 and n not in _KEEP}
        if not declared:
            return []
        occurrences: dict[str, list[Node]] = {}
        macros: dict[str, list[Node]] = {}
        for node in walk(src.root):
            if node.type in _NAMES:
                spelled = node.text.decode()
                if spelled in declared:
                    occurrences.setdefault(spelled, []).append(node)
            elif node.type == "preproc_arg":
                for word in set(_WORD.findall(node.text.decode())):
                    if word in declared:
                        macros.setdefault(word, []).append(node)
        names = [Name(n, tuple(occurrences.get(n, ())), tuple(macros.get(n, ()))) for n in declared]
        names.sort(key=lambda n: (-(len(n.nodes) + len(n.in_macros)) * (len(n.spelled) - 1), n.spelled))
        return names

    def variants(self, src: Source, site: object) -> Iterator[list[Edit]]:
        assert isinstance(site, Name)
        fresh = _fresh_name(src.text)
        if fresh is None or len(fresh) >= len(site.spelled):
            return
        edits: list[Edit] = [(n.start_byte, n.end_byte, fresh) for n in site.nodes]
        pattern = re.compile(rf"\b{re.escape(site.spelled)}\b")
        for arg in site.in_macros:
            body = arg.text.decode()
            edits.append((arg.start_byte, arg.end_byte, pattern.sub(fresh, body)))
        if edits:
            yield edits


@lru_cache(maxsize=4)
def _fresh_name(text: str) -> str | None:
    used = set(_WORD.findall(text))
    for letter in _FRESH:
        if letter not in used:
            return letter
    for first in _FRESH:
        for second in _FRESH + string.digits:
            if first + second not in used:
                return first + second
    return None
