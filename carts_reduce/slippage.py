"""Other failures met on the way: kept, not lost.

A candidate that fails with another signature than the one being reduced is
not interesting, but it may be a bug of its own. The smallest candidate of
each distinct other failure is kept in ``OUTPUT.other-failures/``, with its
signature beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

from carts_reduce.fileio import write_atomic
from carts_reduce.signature import Signature


class OtherFailures:
    def __init__(self, output: Path):
        self.directory = output.with_name(output.name + ".other-failures")
        self.suffix = output.suffix
        self._smallest: dict[Signature, tuple[int, int]] = {}  # signature -> (bytes, number)

    def __len__(self) -> int:
        return len(self._smallest)

    def offer(self, signature: Signature, text: str) -> None:
        size = len(text.encode("utf-8", "surrogateescape"))
        known = self._smallest.get(signature)
        if known and known[0] <= size:
            return
        number = known[1] if known else len(self._smallest) + 1
        self._smallest[signature] = (size, number)
        self.directory.mkdir(exist_ok=True)
        write_atomic(self.directory / f"{number:03d}{self.suffix}", text)
        meta = {"signature": signature.to_dict(), "summary": signature.summary(), "bytes": size}
        write_atomic(self.directory / f"{number:03d}.json", json.dumps(meta, indent=2) + "\n")
