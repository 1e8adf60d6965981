"""Loops, ``if``s and nested blocks replaced by their bodies.

``for (int i = 0; ...) BODY`` becomes ``{int i = 0; BODY}`` so uses of ``i``
in the body still compile; an ``if`` keeps its then-branch or its
else-branch, or loses its ``else``; a ``#pragma`` governing an unwrapped loop
goes with it. Outer constructs come first (pre-order): unwrapping one puts its
body at the same place in the order, so the pass resumes on the body.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from carts_reduce.formats.c import Edit, Source, walk
from carts_reduce.passes.c.common import LOOPS, ReplacementPass, node_removal, preceding_pragmas, replace

_SITES = LOOPS | {"if_statement", "compound_statement"}


class UnwrapControl(ReplacementPass):
    name = "c-unwrap"

    def sites(self, src: Source) -> list[Node]:
        return [
            node
            for node in walk(src.root)
            if node.type in _SITES
            and (node.type != "compound_statement" or (node.parent is not None and node.parent.type == "compound_statement"))
        ]

    def variants(self, src: Source, site: object) -> Iterator[list[Edit]]:
        assert isinstance(site, Node)
        if site.type == "compound_statement":
            braces = [c for c in site.children if c.type in ("{", "}")]
            yield [node_removal(src, brace) for brace in braces]
            return
        pragmas = [node_removal(src, pragma) for pragma in preceding_pragmas(site)]
        if site.type == "if_statement":
            consequence = site.child_by_field_name("consequence")
            alternative = site.child_by_field_name("alternative")
            if consequence is not None:
                yield replace(site, src.slice(consequence))
            branch = _else_statement(alternative)
            if branch is not None:
                yield replace(site, src.slice(branch))
            if alternative is not None and consequence is not None:
                yield [(consequence.end_byte, alternative.end_byte, "")]
            return
        body = site.child_by_field_name("body")
        if body is None:
            return
        text = src.slice(body)
        initializer = site.child_by_field_name("initializer") if site.type == "for_statement" else None
        if initializer is not None and initializer.type == "declaration":
            inner = text[1:-1] if body.type == "compound_statement" else text
            text = "{" + src.slice(initializer) + inner + "}"
        yield [*pragmas, *replace(site, text)]


def _else_statement(alternative: Node | None) -> Node | None:
    if alternative is None:
        return None
    if alternative.type == "else_clause":
        return next((c for c in alternative.named_children if c.type != "comment"), None)
    return alternative
