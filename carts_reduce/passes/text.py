"""Generic passes for any text: ddmin over lines, balanced blocks, tokens, characters.

They know nothing of the format, so they are the baseline that format-aware
passes must beat, and the last resort after those stop making progress.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carts_reduce.search.ddmin import chunk_removals
from carts_reduce.passes.base import Cursor, Pass

_TOKEN = re.compile(r"\s+|[A-Za-z_$%@#^!][\w$.]*|\d[\w.]*|\"(?:[^\"\\\n]|\\.)*\"|.", re.S)


class _UnitDeletion(Pass):
    """ddmin over a list of text units that together spell the whole text."""

    def units(self, text: str) -> list[str]:
        raise NotImplementedError

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        units = self.units(text)
        for position, removed in chunk_removals(len(units), cursor and tuple(cursor)):
            yield position, "".join(units[: removed.start] + units[removed.stop :])


class Lines(_UnitDeletion):
    name = "lines"

    def units(self, text: str) -> list[str]:
        return text.splitlines(keepends=True)


class Tokens(_UnitDeletion):
    """Removes tokens; whitespace rides with the token before it."""

    name = "tokens"

    def units(self, text: str) -> list[str]:
        units: list[str] = []
        for match in _TOKEN.finditer(text):
            piece = match.group()
            if piece.isspace() and units:
                units[-1] += piece
            else:
                units.append(piece)
        return units


class Characters(_UnitDeletion):
    """Removes single characters: the last resort where even a token is too coarse."""

    name = "characters"

    def units(self, text: str) -> list[str]:
        return list(text)


def brace_blocks(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, depth)`` of each balanced ``{...}``, widened to whole lines.

    Braces inside double-quoted strings are ignored; unbalanced text yields the
    blocks that do match.
    """
    blocks: list[tuple[int, int, int]] = []
    stack: list[int] = []
    for match in re.finditer(r'"(?:[^"\\\n]|\\.)*"|[{}]', text):
        token = match.group()
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            open_at = stack.pop()
            start = text.rfind("\n", 0, open_at) + 1
            end = text.find("\n", match.end())
            blocks.append((start, len(text) if end < 0 else end + 1, len(stack)))
    return blocks


class Blocks(Pass):
    """ddmin over balanced ``{...}`` blocks, outermost first, then their bodies."""

    name = "blocks"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        blocks = brace_blocks(text)
        depths = sorted({depth for _, _, depth in blocks})
        depth0, inner = (cursor[0], tuple(cursor[1])) if cursor else (None, None)
        for depth in depths:
            if depth0 is not None and depth < depth0:
                continue
            level = sorted((s, e) for s, e, d in blocks if d == depth)
            # Blocks at one depth may still overlap once widened to lines.
            spans: list[tuple[int, int]] = []
            for start, end in level:
                if not spans or start >= spans[-1][1]:
                    spans.append((start, end))
            resume = inner if depth == depth0 else None
            for position, removed in chunk_removals(len(spans), resume):
                chunk = spans[removed.start : removed.stop]
                pieces, last = [], 0
                for start, end in chunk:
                    pieces.append(text[last:start])
                    last = end
                pieces.append(text[last:])
                yield (depth, position), "".join(pieces)


TEXT_PASSES: list[Pass] = [Blocks(), Lines(), Tokens()]
