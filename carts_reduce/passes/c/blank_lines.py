"""Blank lines and trailing blanks, all in one candidate: C never depends on them.

Deleting statements leaves the blank lines that separated them; a reduced case
should be short in lines too, and this costs a single test instead of a
line-by-line search.
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.passes.base import Cursor, Pass


class RemoveBlankLines(Pass):
    name = "c-blank-lines"

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        kept: list[str] = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip()
            continued = bool(kept) and kept[-1].rstrip("\r\n").endswith("\\")
            if continued or body.endswith("\\"):
                kept.append(line)  # inside a macro continued over lines: leave as written
            elif body:
                kept.append(body + ("\n" if line.endswith("\n") else ""))
        candidate = "".join(kept)
        if candidate != text:
            yield 0, candidate
