"""Keeps a generic text pass to candidates that still parse as MLIR.

Line and block deletion know nothing of MLIR, so most of what they propose
after the op-tree passes are done would not parse; filtering with the
lossless parser costs microseconds, where a test costs a process.
"""

from __future__ import annotations

from collections.abc import Iterator

from carts_reduce.formats.mlir import def_use_errors
from carts_reduce.passes.base import Cursor, Pass
from carts_reduce.passes.mlir.common import parsed


class WellFormed(Pass):
    def __init__(self, inner: Pass):
        self.inner = inner
        self.name = inner.name

    def candidates(self, text: str, cursor: Cursor) -> Iterator[tuple[Cursor, str]]:
        for position, candidate in self.inner.candidates(text, cursor):
            tree = parsed(candidate)
            if tree is None or def_use_errors(tree.module):
                continue
            yield position, candidate
