"""Booleans in dense literals written as integers: ``dense<false>`` -> ``dense<0>``, ``true`` -> ``1``.

MLIR reads ``0`` and ``1`` as ``i1`` elements as well, so the attribute is
the same one; all of them go in one test, ddmin when a predicate looks at
the spelling.
"""

from __future__ import annotations

import re

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, tokens

# A boolean word inside the body; strings are matched only to be stepped over.
_IN_BODY = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w$.])(?:true|false)(?![\w$.])')


class ShortenBooleans(EditPass):
    name = "mlir-polish-booleans"

    def groups(self, module: Module) -> list[Group]:
        units: list[Unit] = []
        for tok in tokens(module.text):
            if tok.kind != "ident" or not tok.text.startswith("dense<"):
                continue
            for match in _IN_BODY.finditer(tok.text, len("dense<")):
                word = match.group()
                if word in ("true", "false"):
                    start = tok.start + match.start()
                    units.append([(start, start + len(word), "1" if word == "true" else "0")])
        return [Group(units)] if units else []
