"""SSA operands of affine maps replaced by integer literals: ``%m[%i + 1]`` -> ``%m[0 + 1]``.

In the custom form of the affine dialect the subscripts of ``affine.load``,
``affine.store``, ``affine.vector_load``/``vector_store`` and
``affine.prefetch``, and the bounds of ``affine.for``, are affine maps
whose operands are written inline; an operand may as well be a constant
(``symbol(%n)`` goes whole). A subscript operand or a lower bound becomes
``0``, an upper bound ``1`` (one iteration is left). The value then often
has no other use and the dead-code pass takes its op. Bounds written as
``max #map(...)`` or ``#map(...)`` are left alone.
"""

from __future__ import annotations

from carts_reduce.formats.mlir import Module, Token
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, significant, tokens

_ACCESSES = frozenset(
    {"affine.load", "affine.store", "affine.vector_load", "affine.vector_store", "affine.prefetch"}
)


class AffineLiterals(EditPass):
    name = "mlir-affine-literals"

    def groups(self, module: Module) -> list[Group]:
        toks = tokens(module.text)
        sig = significant(toks)
        starts = {toks[i].start: n for n, i in enumerate(sig)}
        units: list[Unit] = []
        for op in module.walk():
            if op.generic or (op.name not in _ACCESSES and op.name != "affine.for"):
                continue
            first = starts.get(op.start)
            if first is None:
                continue
            header_end = op.regions[0].start if op.regions else op.end
            header = [toks[i] for i in sig[first:] if toks[i].start < header_end]
            found = _bounds(header) if op.name == "affine.for" else _subscripts(header)
            units.extend([(start, end, literal)] for start, end, literal in found)
        return [Group(units)] if units else []


def _subscripts(header: list[Token]) -> list[tuple[int, int, str]]:
    """Operands inside the first ``[...]`` that follows a value (the memref's subscripts)."""
    open_at = next((n for n in range(1, len(header)) if header[n].text == "[" and header[n - 1].kind == "value"), None)
    if open_at is None:
        return []
    found: list[tuple[int, int, str]] = []
    depth = 0
    n = open_at
    while n < len(header):
        tok = header[n]
        if tok.kind == "punct" and tok.text in "([":
            depth += 1
        elif tok.kind == "punct" and tok.text in ")]":
            depth -= 1
            if depth == 0:
                break
        elif tok.kind == "value":
            wrapped = n >= 2 and header[n - 1].text == "(" and header[n - 2].text == "symbol"
            if wrapped and n + 1 < len(header) and header[n + 1].text == ")":
                found.append((header[n - 2].start, header[n + 1].end, "0"))
            elif not wrapped:
                found.append((tok.start, tok.end, "0"))
        n += 1
    return found


def _bounds(header: list[Token]) -> list[tuple[int, int, str]]:
    """``affine.for %i = %lb to %ub``: a bound that is one bare value."""
    texts = [tok.text for tok in header]
    found: list[tuple[int, int, str]] = []
    if "=" in texts and "to" in texts:
        lower, upper = texts.index("=") + 1, texts.index("to") + 1
        if upper == lower + 2 and header[lower].kind == "value":
            found.append((header[lower].start, header[lower].end, "0"))
        after = texts[upper + 1] if upper + 1 < len(texts) else "{"
        if upper < len(header) and header[upper].kind == "value" and after in ("step", "iter_args", "{"):
            found.append((header[upper].start, header[upper].end, "1"))
    return found
