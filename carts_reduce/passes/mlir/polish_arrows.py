"""One result type without its parentheses: ``-> (f32)`` -> ``-> f32``.

Function types, function signatures and the ``-> (T)`` of ``scf.if``,
``scf.for`` and their kin all read a single type just as well without the
parentheses. Only a lone type is unwrapped: never a list, a type with
attributes (``-> (f32 {llvm.noundef})``) or a function type, whose
parentheses are needed.
"""

from __future__ import annotations

from carts_reduce.formats.mlir import Module
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, significant, tokens


class UnwrapResultTypes(EditPass):
    name = "mlir-polish-arrows"

    def groups(self, module: Module) -> list[Group]:
        toks = tokens(module.text)
        sig = [toks[i] for i in significant(toks)]
        units: list[Unit] = []
        for n in range(len(sig) - 3):
            arrow, open_, inner, close = sig[n : n + 4]
            if arrow.text != "->" or open_.text != "(" or close.text != ")":
                continue
            if inner.kind not in ("ident", "bang") or (n + 4 < len(sig) and sig[n + 4].text == "->"):
                continue
            units.append([(open_.start, close.end, inner.text)])
        return [Group(units)] if units else []
