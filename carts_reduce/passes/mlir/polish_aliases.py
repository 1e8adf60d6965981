"""Attribute and type aliases renamed to one letter: ``#map12`` -> ``#a``, ``!llvm_struct`` -> ``!a``.

All at once, then ddmin. Uses are found by name in every token that can
hold one (a ``memref<..., #map>`` body, another alias's value, ``loc(#loc3)``),
not only where the parser recorded them, so no use is left behind; strings
and comments are left alone. New names are words the text never writes after
that sigil, and ``#`` and ``!`` names are chosen independently.
"""

from __future__ import annotations

import re
import string

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, fresh_names, tokens

_POOL = string.ascii_lowercase + string.ascii_uppercase
_STRING = r'"(?:[^"\\\n]|\\.)*"'
# Alias-looking names in a token; strings are matched to be stepped over.
_NAME = re.compile(rf"{_STRING}|(?<![\w$.\-])[#!][A-Za-z_][\w$.\-]*+(?!<)")


def written_names(module: Module) -> list[tuple[str, int, int]]:
    """Every ``#name``/``!name`` written outside strings and comments."""
    found: list[tuple[str, int, int]] = []
    for tok in tokens(module.text):
        if tok.kind in ("hash", "bang", "ident", "loc") and ("#" in tok.text or "!" in tok.text):
            for match in _NAME.finditer(tok.text):
                if not match.group().startswith('"'):
                    found.append((match.group(), tok.start + match.start(), tok.start + match.end()))
    return found


class RenameAliases(EditPass):
    name = "mlir-polish-aliases"

    def groups(self, module: Module) -> list[Group]:
        written = written_names(module)
        taken = {name for name, _, _ in written}
        units: list[Unit] = []
        for sigil in "#!":
            names = fresh_names(_POOL, taken, prefix=sigil)
            new = next(names, None)
            for alias in module.aliases:
                if not alias.name.startswith(sigil) or new is None:
                    continue
                if len(alias.name) <= len(new):
                    continue
                units.append([(start, end, new) for name, start, end in written if name == alias.name])
                new = next(names, None)
        units.sort(key=lambda unit: min(start for start, _, _ in unit))
        return [Group(units)] if units else []
