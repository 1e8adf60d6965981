"""Which stages a carts driver has, in which order, and the passes of each.

The newest driver describes its pipeline (``carts pipeline --json``): stop
points (``pipeline``), start points (``start_from``), their order
(``pipeline_sequence``) and the MLIR passes of every step
(``pipeline_steps``). Where it answers, that is the truth; an older driver
does not know the command, and then the stage list of ``carts run`` is the
reference and there is no ``--start-from``. A driver that answers with a
manifest that cannot be read is an error: guessing would test the wrong
stages.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from carts_reduce.run.outcome import Outcome, Step, TestSpec
from carts_reduce.run.runner import run_test

#: The stop points of ``carts run`` (CARTS.md), for drivers that cannot list their own.
RUN_STAGES = (
    "canonicalize-memrefs", "collect-metadata", "initial-cleanup", "openmp-to-arts",
    "edt-transforms", "create-dbs", "db-opt", "edt-opt", "concurrency", "concurrency-opt",
    "epochs", "pre-lowering", "arts-to-llvm", "complete",
)
#: The stop point that runs the whole pipeline.
COMPLETE = "complete"
MANIFEST_TIMEOUT = 60.0

Runner = Callable[[TestSpec], Awaitable[Outcome]]


class StageError(Exception):
    """A stage name or a driver's pipeline that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Pipeline:
    """A driver's stages: where a run may stop and start, and the passes of each step."""

    stops: tuple[str, ...]  # valid stages to stop after, in pipeline order ("complete" last)
    starts: tuple[str, ...] = ()  # valid --start-from stages; empty: the driver has no --start-from
    passes: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    source: str = "carts run"  # "carts pipeline --json" when the driver described itself

    @property
    def described(self) -> bool:
        return self.source != "carts run"

    def check(self, stage: str) -> None:
        if stage not in self.stops:
            raise StageError(f"unknown stage {stage!r}: carts knows {', '.join(self.stops)}")

    def passes_of(self, stage: str) -> tuple[str, ...]:
        return self.passes.get(stage, ())

    def before(self, stage: str) -> str | None:
        """The stop point right before ``stage``; None for the first."""
        index = self.stops.index(stage)
        return self.stops[index - 1] if index > 0 else None

    def can_start_from(self, stage: str) -> bool:
        return stage in self.starts

    def to_dict(self) -> dict:
        return {"source": self.source, "stops": list(self.stops), "starts": list(self.starts)}


RUN_PIPELINE = Pipeline(stops=RUN_STAGES)

_cache: dict[tuple[str, str | None], Pipeline] = {}


async def read_pipeline(carts: str, version: str | None, run: Runner = run_test) -> Pipeline:
    """The pipeline of the driver at ``carts`` (asked once per path and version)."""
    key = (os.path.realpath(carts), version)
    if key not in _cache:
        spec = TestSpec(files=(), steps=(Step("pipeline", (carts, "pipeline", "--json")),), timeout=MANIFEST_TIMEOUT)
        result = (await run(spec)).main
        if result.failed:
            pipeline = RUN_PIPELINE  # an older driver: no such command
        else:
            try:
                pipeline = parse_manifest(result.stdout)
            except ValueError as error:
                raise StageError(
                    f"`{carts} pipeline --json` printed a manifest carts-reduce cannot read ({error}); "
                    "fix or rebuild the driver"
                ) from None
        _cache[key] = pipeline
    return _cache[key]


def parse_manifest(text: str) -> Pipeline:
    """A pipeline from ``carts pipeline --json``; ValueError says what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")

    def names(key: str, required: bool) -> tuple[str, ...]:
        value = data.get(key, [] if not required else None)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"'{key}' is not a list of stage names")
        if required and not value:
            raise ValueError(f"'{key}' is empty")
        return tuple(dict.fromkeys(value))

    stops = names("pipeline", required=True)
    sequence = names("pipeline_sequence", required=False)
    starts = names("start_from", required=False)
    passes: dict[str, tuple[str, ...]] = {}
    steps = data.get("pipeline_steps", [])
    if not isinstance(steps, list):
        raise ValueError("'pipeline_steps' is not a list")
    for step in steps:
        if not isinstance(step, dict) or not isinstance(step.get("name"), str):
            raise ValueError("a 'pipeline_steps' entry has no name")
        listed = step.get("passes", [])
        if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
            raise ValueError(f"the passes of step '{step['name']}' are not a list of names")
        passes[step["name"]] = tuple(listed)
    # The sequence orders the stops; "complete" (the whole pipeline) comes last.
    ordered = [stage for stage in sequence if stage in stops]
    ordered += [stage for stage in stops if stage not in ordered and stage != COMPLETE]
    if COMPLETE in stops:
        ordered.append(COMPLETE)
    return Pipeline(stops=tuple(ordered), starts=starts, passes=passes, source="carts pipeline --json")

