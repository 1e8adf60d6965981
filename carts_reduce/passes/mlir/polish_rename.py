"""SSA values renamed to the shortest free names: ``%arg12`` -> ``%a``.

Renaming never changes what the IR means, so all values go in one test;
ddmin falls back to smaller batches, down to one value at a time, when a
predicate looks at names (a ``--debug-only`` log, an IR pattern).

Names are chosen per isolated scope (a function's body with everything
nested in it, not crossing into ops isolated from above): within one scope
an old name maps to one new name (values of one name in sibling regions
keep sharing it), new names are distinct and differ from every name the
scope already uses: the renaming is injective whichever subset is applied,
so no value can capture another. An inner scope also avoids its enclosing
scopes' names. Sibling functions reuse the same letters. Result groups keep
their ``:2``, uses their ``#1``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from carts_reduce.formats.mlir import Module, Op, Value
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, fresh_names

_POOL = string.ascii_lowercase + string.ascii_uppercase + string.digits


@dataclass
class Scope:
    values: list[Value] = field(default_factory=list)
    inner: list["Scope"] = field(default_factory=list)


def scopes(module: Module) -> Scope:
    """The tree of isolated scopes, each with the values defined directly in it."""
    top = Scope()

    def visit(ops: list[Op], scope: Scope) -> None:
        for op in ops:
            scope.values.extend(op.results)
            inside = scope
            if op.isolated:
                inside = Scope()
                scope.inner.append(inside)
            inside.values.extend(op.region_args)
            for region in op.regions:
                for block in region.blocks:
                    inside.values.extend(block.args)
                    visit(block.ops, inside)

    visit(module.ops, top)
    return top


def rename_edits(value: Value, new: str) -> Unit:
    """The definition and every use; ``value.name`` spans neither ``:2`` nor ``#1``."""
    sites = [value.start] + [use.start for use in value.uses]
    return [(start, start + len(value.name), new) for start in sites]


class RenameValues(EditPass):
    name = "mlir-polish-values"

    def groups(self, module: Module) -> list[Group]:
        units: list[tuple[int, Unit]] = []
        outside = {use.name for use in module.unresolved}

        def assign(scope: Scope, enclosing: set[str]) -> None:
            by_name: dict[str, list[Value]] = {}
            for value in sorted(scope.values, key=lambda v: v.start):
                by_name.setdefault(value.name, []).append(value)
            taken = enclosing | set(by_name)
            names = fresh_names(_POOL, taken, prefix="%")
            new = next(names, None)
            for old, values in by_name.items():
                if new is None:
                    break
                if len(old) <= len(new):
                    continue
                units.append((values[0].start, [e for v in values for e in rename_edits(v, new)]))
                taken.add(new)
                new = next(names, None)
            for inner in scope.inner:
                assign(inner, taken)

        assign(scopes(module), outside)
        units.sort(key=lambda unit: unit[0])
        return [Group([unit for _, unit in units])] if units else []
