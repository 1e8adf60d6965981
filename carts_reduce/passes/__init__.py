"""Which passes run, in which order, for each format.

A schedule is a list of phases. The driver runs the first phase to a fixpoint,
then each later phase once; whenever a later phase makes progress it goes
back to the first. Cheap, big cuts come first; generic text passes come last.
"""

from __future__ import annotations

from carts_reduce.passes.base import Pass
from carts_reduce.passes.text import TEXT_PASSES, Blocks, Characters, Lines, Tokens


def schedule(fmt: str) -> list[list[Pass]]:
    if fmt == "mlir":
        from carts_reduce.passes.mlir import MLIR_PHASES
        from carts_reduce.passes.mlir.wellformed import WellFormed

        # Token-level ddmin after the op tree is done costs hundreds of tests
        # and almost never helps: lines and blocks are the last resort here,
        # and only their candidates that still parse are tested.
        return [*MLIR_PHASES, [WellFormed(Blocks()), WellFormed(Lines())]]
    if fmt == "c":
        from carts_reduce.passes.c import C_PASSES

        return [C_PASSES, TEXT_PASSES]
    return [TEXT_PASSES]


def unparsed_finish(parses: bool = True) -> list[Pass]:
    """Text passes whose candidates need not parse, for a failure in the parser itself.

    Tokens, then characters, after everything else; from lines and blocks
    on when the input does not parse in the first place (then no MLIR pass
    has anything to work on).
    """
    return [Tokens(), Characters()] if parses else [Blocks(), Lines(), Tokens(), Characters()]


def pass_names(fmt: str) -> list[str]:
    return [p.name for phase in schedule(fmt) for p in phase]
