"""Whitespace tidied without reflowing: trailing blanks, blank lines, runs of spaces.

Indentation stays as written, so the output still reads like MLIR (size is
compared in non-whitespace characters anyway). Whitespace inside strings,
type bodies and locations is never touched: only the gaps between tokens.
One candidate in the common case; ddmin over lines when a predicate turns
out to care (a message with a line or column number).
"""

from __future__ import annotations

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, tokens


def tidy(gap: str, at_start: bool, at_end: bool) -> str:
    """What a whitespace gap between two tokens becomes.

    A gap holding newlines keeps one newline and the indentation of the
    line it leads to; a gap inside a line becomes one space.
    """
    if at_end:
        return "\n" if "\n" in gap else ""
    if "\n" not in gap:
        return gap if at_start or len(gap) < 2 else " "
    indent = gap[gap.rindex("\n") + 1 :]
    return indent if at_start else "\n" + indent


class TidyWhitespace(EditPass):
    name = "mlir-polish-whitespace"

    def groups(self, module: Module) -> list[Group]:
        text = module.text
        toks = tokens(text)
        units: dict[int, Unit] = {}  # by line
        for n, tok in enumerate(toks):
            if tok.kind != "ws":
                continue
            # Gaps never follow a newline (one gap holds all the blanks between two tokens):
            # indentation is always the tail of a gap that holds a newline.
            at_end = n + 1 >= len(toks) or toks[n + 1].kind == "eof"
            new = tidy(tok.text, tok.start == 0, at_end)
            if new != tok.text and len(new) < len(tok.text):
                line = text.count("\n", 0, tok.start)
                units.setdefault(line, []).append((tok.start, tok.end, new))
        return [Group([units[line] for line in sorted(units)])] if units else []
