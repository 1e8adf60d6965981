"""What the polish passes share: parse once, edit spans, check every candidate.

Polish passes run after the structural cuts and only make the text shorter:
each names *units*, small independent rewrites given as span edits over the
current text (rename this value everywhere, drop this attribute entry). Units
come in groups; ddmin applies chunks of a group's units, the whole group
first (polish rewrites almost never change the failure, so one test usually
does it all), then halves, quarters... down to single units.

A cursor ``(group, size, start)`` resumes the schedule. Passes list units so
that an applied unit is no longer a unit of the new text (a renamed value has
its short name, a dropped entry is gone): the same cursor then points at the
next chunk, as in ddmin over deletions.

Every candidate re-parses, has no more dangling SSA uses or symbol references
than the text it came from, and is smaller in shortlex order.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from carts_reduce.search.ddmin import chunk_removals
from carts_reduce.formats.mlir import Module, Token, apply_edits, tokenize
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import parsed as parsed_tree

Edit = tuple[int, int, str]
Unit = list[Edit]


def parsed(text: str) -> Module | None:
    """The module of ``text``, or ``None`` when it does not parse.

    From the cache every MLIR pass shares: a pass parses each candidate to
    check it, and the accepted one comes back as the next text to work on.
    """
    tree = parsed_tree(text)
    return tree.module if tree is not None else None


@lru_cache(maxsize=4)
def tokens(text: str) -> list[Token]:
    return tokenize(text)


def smaller(candidate: str, text: str) -> bool:
    """Shortlex on (utf-8 bytes, text): the order the driver accepts."""
    a, b = len(candidate.encode("utf-8", "surrogateescape")), len(text.encode("utf-8", "surrogateescape"))
    return a < b or (a == b and candidate < text)


def dangling_symbols(module: Module) -> int:
    """Symbol references naming no symbol defined in the text (external ones included)."""
    defined = set(module.symbols)
    return sum(1 for op in module.walk() for ref in op.symbol_refs if ref.name not in defined)


@lru_cache(maxsize=8)
def _faults(text: str) -> tuple[int, int] | None:
    module = parsed(text)
    if module is None:
        return None
    return len(module.unresolved) + len(module.redefinitions), dangling_symbols(module)


def well_formed(candidate: str, original: str) -> bool:
    """Parses, and dangles (or redefines) no more SSA values and symbol references than ``original``."""
    after = _faults(candidate)
    if after is None:
        return False
    before = _faults(original) or (0, 0)
    return after[0] <= before[0] and after[1] <= before[1]


def fresh_names(pool: str, taken: Iterable[str], prefix: str = "") -> Iterator[str]:
    """Names of one character from ``pool``, then two, skipping ``taken``."""
    taken = set(taken)
    seconds = "".join(dict.fromkeys(pool + string.digits))
    twos = (first + second for first in pool if not first.isdigit() for second in seconds)
    for name in (*pool, *twos):
        if prefix + name not in taken:
            taken.add(prefix + name)
            yield prefix + name


@dataclass
class Group:
    """Units ddmin applies together; ``all_first`` tries them all in one test first."""

    units: Sequence[object]
    all_first: bool = True

    def edits(self, chosen: range) -> list[Edit]:
        """The edits that apply the chosen units (by default, each unit is its list of edits)."""
        return [edit for unit in self.units[chosen.start : chosen.stop] for edit in unit]  # type: ignore[attr-defined]


class EditPass(Pass):
    """ddmin over the units of each group, group after group."""

    def groups(self, module: Module) -> list[Group]:
        raise NotImplementedError

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        module = parsed(text)
        if module is None:
            return
        groups = self.groups(module)
        first, resume = (0, None) if not cursor else (int(cursor[0]), (int(cursor[1]), int(cursor[2])))
        for index in range(first, len(groups)):
            units = groups[index].units
            start = resume if index == first else None
            if start is None and groups[index].all_first and len(units) > 1:
                start = (len(units), 0)
            for position, chosen in chunk_removals(len(units), start):
                try:
                    candidate = apply_edits(text, groups[index].edits(chosen))
                except ValueError:  # units that overlap: a pass's bug, not the input's
                    continue
                if smaller(candidate, text) and well_formed(candidate, text):
                    yield (index, *position), candidate


def significant(toks: Sequence[Token]) -> list[int]:
    """Indices of the tokens that are neither whitespace nor comments."""
    return [i for i, tok in enumerate(toks) if tok.kind not in ("ws", "comment")]
