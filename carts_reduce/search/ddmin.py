"""Delta debugging over a list of units: the chunk schedule every deleting pass shares.

Complement-first ddmin with adaptive granularity, written as a schedule of
chunk removals so that it can be driven speculatively and resumed: the cursor
``(size, start)`` names the chunk; after an accepted removal the schedule goes
on at the same cursor over the shorter list (granularity adapts by itself,
since the same chunk size now splits fewer units), and when a sweep at one
size finds nothing the size halves, down to single units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
Cursor = tuple[int, int]


def chunk_removals(count: int, cursor: Cursor | None = None) -> Iterator[tuple[Cursor, range]]:
    """Yield ``(cursor, indices to remove)`` over ``count`` units, largest chunks first."""
    if count <= 0:
        return
    if cursor is None:
        size, start = (count + 1) // 2, 0
    else:
        size, start = min(cursor[0], count), cursor[1]
    while size >= 1:
        for begin in range(start, count, size):
            yield (size, begin), range(begin, min(begin + size, count))
        if size == 1:
            return
        size, start = (size + 1) // 2, 0


def without(items: Sequence[T], removed: range) -> list[T]:
    return [*items[: removed.start], *items[removed.stop :]]


def ddmin(items: Sequence[T], is_interesting: Callable[[list[T]], bool]) -> list[T]:
    """Reduce ``items`` to a 1-minimal list on which ``is_interesting`` holds.

    The synchronous reference form of the schedule above, repeated to a
    fixpoint, so that removing any single remaining unit is uninteresting.
    """
    current = list(items)
    changed = True
    while changed:
        changed = False
        cursor: Cursor | None = None
        while True:
            for cursor, removed in chunk_removals(len(current), cursor):
                candidate = without(current, removed)
                if is_interesting(candidate):
                    current, changed = candidate, True
                    break
            else:
                break
    return current
