"""Names of generic-form ops shortened: ``"polygeist.subindex"(...)`` -> ``"a"(...)``.

An op written in generic form is read by its quoted name alone; when the
failure does not hang on that name (an unregistered op that only feeds or
holds the crashing one), a one-letter name does as well. Each distinct name
gets its own new one, so ops that shared a name still do and others do not;
all at once first, then ddmin keeps the names the failure needs. Custom-form
ops keep theirs: their syntax belongs to the name.
"""

from __future__ import annotations

import string

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, fresh_names

_POOL = string.ascii_lowercase


class ShortenOpNames(EditPass):
    name = "mlir-polish-op-names"

    def groups(self, module: Module) -> list[Group]:
        text = module.text
        generic = [op for op in module.walk() if op.generic]
        spellings: dict[str, list[tuple[int, int]]] = {}
        for op in generic:
            name_at = text.index('"', op.results[-1].end if op.results else op.start)
            spellings.setdefault(op.name, []).append((name_at, name_at + len(op.name) + 2))
        names = fresh_names(_POOL, {op.name for op in module.walk()})
        units: list[Unit] = []
        for old, spans in spellings.items():
            new = next(names, None)
            if new is None or len(new) >= len(old):
                continue
            units.append([(start, end, f'"{new}"') for start, end in spans])
        units.sort(key=lambda unit: unit[0][0])
        return [Group(units)] if units else []
