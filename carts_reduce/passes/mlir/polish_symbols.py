"""Symbols renamed to one letter: ``@kernel_2mm_0`` -> ``@a``, ``@"a name"`` too.

Every occurrence of the name is rewritten: the definition (``@f`` in custom
form, ``sym_name = "f"`` in generic form), calls, ``memref.get_global``,
``llvm.mlir.addressof``, ``callee = @f``, nested references ``@m::@f`` and
references inside attribute or type bodies (``#dialect<@f>``) the parser does
not see as tokens. New names appear nowhere in the text as symbols, so a
rename cannot merge two symbols, in whichever symbol table they live.
``@main`` is renamed too: a crash rarely needs it, and ddmin keeps it when one
does. Only symbols defined in the text are renamed; external ones keep the
name the outside world knows them by.
"""

from __future__ import annotations

import re
import string

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, fresh_names, tokens

_POOL = string.ascii_lowercase + string.ascii_uppercase + "_"
_STRING = r'"(?:[^"\\\n]|\\.)*"'
# A symbol reference inside a token body; strings are matched to be stepped over.
_INNER = re.compile(rf'{_STRING}|@(?:{_STRING}|[A-Za-z_][\w$.\-]*)')


def key(spelled: str) -> str:
    """``@f``, ``@"f"`` and ``sym_name = "f"`` all name the symbol ``f``."""
    name = spelled[1:] if spelled.startswith("@") else spelled
    return name[1:-1] if name.startswith('"') else name


def occurrences(module: Module) -> list[tuple[str, int, int, bool]]:
    """Every written symbol name: ``(key, start, end, is_string)``."""
    found: list[tuple[str, int, int, bool]] = []
    for tok in tokens(module.text):
        if tok.kind == "sym":
            found.append((key(tok.text), tok.start, tok.end, False))
        elif tok.kind in ("hash", "bang", "ident") and "@" in tok.text:
            for match in _INNER.finditer(tok.text):
                if match.group().startswith("@"):
                    found.append((key(match.group()), tok.start + match.start(), tok.start + match.end(), False))
    for op in module.walk():
        symbol = op.symbol
        if symbol is not None and module.text.startswith('"', symbol.start):
            found.append((key(symbol.name), symbol.start, symbol.end, True))
    return found


class RenameSymbols(EditPass):
    name = "mlir-polish-symbols"

    def groups(self, module: Module) -> list[Group]:
        written = occurrences(module)
        defined: dict[str, int] = {}
        for op in module.walk():
            if op.symbol is not None:
                defined.setdefault(key(op.symbol.name), op.symbol.start)
        names = fresh_names(_POOL, {k for k, *_ in written})
        new = next(names, None)
        units: list[Unit] = []
        for old in sorted(defined, key=defined.__getitem__):
            if new is None:
                break
            if len(old) <= len(new) and _bare(old):
                continue
            spelled = {False: f"@{new}", True: f'"{new}"'}
            units.append([(start, end, spelled[quoted]) for k, start, end, quoted in written if k == old])
            new = next(names, None)
        return [Group(units)] if units else []


def _bare(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][\w$.\-]*", name) is not None
