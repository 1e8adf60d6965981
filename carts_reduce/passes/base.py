"""The protocol of a reduction pass.

A pass proposes smaller candidates from the current text; it never runs a
process and never judges one. The driver tests the candidates in the order
given and keeps the first interesting one; then it asks the pass again, with
the new text and the cursor of the accepted candidate, so the pass goes on
where it was instead of starting over. A cursor is plain JSON-able data (a
tuple of ints, or None for "from the start"), so a stopped run can resume.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

Cursor = Any  # JSON-able: None, int, or a (nested) tuple of ints and strings


class Pass(ABC):
    #: Short unique name, shown in progress and summaries (e.g. "lines", "mlir-ops").
    name: ClassVar[str]

    @abstractmethod
    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        """Yield ``(cursor, candidate text)`` pairs, best first.

        Candidates that are not smaller than ``text`` are skipped by the driver
        without a test, so a pass may yield them freely.
        """

    def __repr__(self) -> str:
        return f"<pass {self.name}>"
