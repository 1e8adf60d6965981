"""Which stage names carts accepts: asked of carts itself where it can say.

The newest driver describes its pipeline (`carts pipeline --json`); older
ones do not, and then the stage list of `carts run` is the reference.
"""

from __future__ import annotations

import json

import anyio

from carts_reduce.run.outcome import Step, TestSpec
from carts_reduce.run.runner import run_test

RUN_STAGES = (
    "canonicalize-memrefs", "collect-metadata", "initial-cleanup", "openmp-to-arts",
    "edt-transforms", "create-dbs", "db-opt", "edt-opt", "concurrency", "concurrency-opt",
    "epochs", "pre-lowering", "arts-to-llvm", "complete",
)


class StageError(Exception):
    pass


def known_stages(carts: str) -> tuple[str, ...]:
    spec = TestSpec(files=(), steps=(Step("pipeline", (carts, "pipeline", "--json")),), timeout=30)
    outcome = anyio.run(run_test, spec)
    result = outcome.main
    if not result.failed:
        try:
            manifest = json.loads(result.stdout)
            stages = tuple(manifest.get("pipeline", ())) + tuple(manifest.get("start_from", ()))
            if stages:
                return stages
        except (ValueError, AttributeError):
            pass
    return RUN_STAGES


def check_stage(carts: str, stage: str) -> None:
    stages = known_stages(carts)
    if stage not in stages:
        raise StageError(f"unknown stage {stage!r}: carts knows {', '.join(stages)}")
