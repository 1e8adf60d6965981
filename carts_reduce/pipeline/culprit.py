"""Which stage a failure first shows in: bisection over the pipeline's stop points.

A pipeline stopped after stage ``i`` runs stages ``0..i``, and it stops at
the first stage that fails. So a failure that shows when stopping after
stage ``i`` shows after every later stage too, and the first stage where it
shows is found by bisection: one run of the whole pipeline (which must
fail), then ``ceil(log2(stages))`` runs at most, not one per stage.

``find_culprit`` is the whole API. It runs its tests through any ``run``
callable that takes a ``TestSpec`` and returns an ``Outcome`` (the local
runner, or an executor that sends tests elsewhere), so a triage of many
inputs can use it as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from carts_reduce.pipeline.stages import Pipeline, Runner
from carts_reduce.run.outcome import Outcome
from carts_reduce.run.runner import run_test
from carts_reduce.run.tool import Tool
from carts_reduce.signature import DEFAULT_FRAMES, Signature

#: Per-run time limit: a pipeline run is no candidate test, it may be slow.
CULPRIT_TIMEOUT = 600.0


class CulpritError(Exception):
    """No stage to blame: the pipeline succeeds, or fails before any stage runs. One line."""


@dataclass(frozen=True)
class Culprit:
    """The first stage whose stop point shows the failure."""

    stage: str
    passes: tuple[str, ...]  # the MLIR passes of that step, where the driver lists them
    signature: Signature  # the failure as that stop point shows it
    runs: int  # pipeline runs the search took, the whole pipeline's included
    outcome: Outcome = field(compare=False, repr=False)  # the run at that stop point

    def line(self) -> str:
        """``fails in stage X (passes: a, b, c)``."""
        passes = f" (passes: {', '.join(self.passes)})" if self.passes else ""
        return f"fails in stage {self.stage}{passes}"

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "passes": list(self.passes), "runs": self.runs,
                "signature": self.signature.to_dict()}


def max_runs(stages: int) -> int:
    """What a search over ``stages`` stop points costs at most: the whole pipeline, then bisection."""
    return 1 + math.ceil(math.log2(stages)) if stages > 1 else 1


async def find_culprit(
    text: str,
    tool: Tool,
    pipeline: Pipeline,
    *,
    predicate: Any = None,
    run: Runner = run_test,
    timeout: float = CULPRIT_TIMEOUT,
    frames: int = DEFAULT_FRAMES,
    name: str = "the input",
) -> Culprit:
    """The first stage of ``pipeline`` at which ``text`` fails as the whole pipeline does.

    ``tool`` tests ``text`` with a command template holding ``{stage}`` (and,
    for C, a front end). "Fails as the whole pipeline does" is ``predicate``
    (an interestingness predicate: ``adjust``, ``calibrate``, called on an
    outcome), calibrated on the whole pipeline's run; without one, the same
    failure signature. Raises ``CulpritError`` when the whole pipeline does
    not fail that way, or fails before any stage (in the C front end).
    """
    stops = pipeline.stops
    runs = 0

    async def stop_after(stage: str) -> Outcome:
        nonlocal runs
        runs += 1
        # Judged by the stage, not by a lint: no pre-check, no validator.
        staged = replace(tool, stage=stage, precheck=None, validator=None)
        steps = staged.steps()
        if predicate is not None:
            steps = predicate.adjust(steps, staged.expand)
        return await run(staged.spec(text, steps, timeout))

    whole = await stop_after(stops[-1])
    if whole.timed_out:
        raise CulpritError(
            f"the whole pipeline did not finish on {name} within {timeout:g} s; give a longer --timeout"
        )
    target = Signature.from_outcome(whole, frames)
    if target and target.step != "stage":
        raise CulpritError(
            f"{name} fails before any stage runs ({target.summary()}); "
            "the pipeline has no stage to blame: fix the input or the front end"
        )
    if predicate is not None:
        predicate.calibrate(whole)

    def shows(outcome: Outcome) -> bool:
        if predicate is not None:
            return bool(predicate(outcome, text))
        return bool(target) and Signature.from_outcome(outcome, frames) == target

    if not shows(whole):
        seen = predicate.describe(whole) if predicate is not None else "every step exits 0"
        raise CulpritError(
            f"the whole pipeline (stage {stops[-1]}) does not fail on {name} ({seen}): "
            "there is no failing stage to find"
        )
    # Invariant: stops[high] shows the failure; no stop before ``low`` does.
    low, high, at_high = 0, len(stops) - 1, whole
    while low < high:
        middle = (low + high) // 2
        outcome = await stop_after(stops[middle])
        if shows(outcome):
            high, at_high = middle, outcome
        else:
            low = middle + 1
    stage = stops[high]
    return Culprit(
        stage=stage,
        passes=pipeline.passes_of(stage),
        signature=Signature.from_outcome(at_high, frames),
        runs=runs,
        outcome=at_high,
    )

