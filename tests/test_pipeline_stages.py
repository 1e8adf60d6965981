"""Stages from the driver and the culprit search: bisection over a pipeline's stop points."""

from __future__ import annotations

import json
import math
import signal
import subprocess
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carts_reduce.pipeline import stages as stages_module
from carts_reduce.pipeline.culprit import CulpritError, find_culprit, max_runs
from carts_reduce.pipeline.stages import RUN_PIPELINE, Pipeline, StageError, parse_manifest, read_pipeline
from carts_reduce.run.outcome import Outcome, StepResult, TestSpec
from carts_reduce.run.runner import run_test
from carts_reduce.run.tool import DEFAULT_COMMAND, DEFAULT_FRONTEND, Tool
from conftest import STANDIN_CARTS, require

STANDIN_MANIFEST = json.loads(subprocess.run([str(STANDIN_CARTS), "pipeline", "--json"], capture_output=True,
                                             text=True, check=True).stdout)
CRASH = "PLEASE submit a bug report\nStack dump:\n #0 0x0000000000001 Pass{n}::run() (/bin/x+0x1)\n"


def fake_carts(tmp_path: Path, driver: str = "new", bug: str = "crash", log: Path | None = None) -> Path:
    """The stand-in as a driver of another generation or build."""
    path = tmp_path / f"carts-{driver}-{bug}"
    extra = f'CARTS_STANDIN_LOG="{log}" ' if log else ""
    path.write_text(f'#!/bin/sh\nCARTS_STANDIN_DRIVER={driver} CARTS_STANDIN_BUG={bug} {extra}exec "{STANDIN_CARTS}" "$@"\n')
    path.chmod(0o755)
    return path


# --------------------------------------------------------------------------
# Stages from the driver


def test_the_manifest_gives_order_start_points_and_passes():
    pipeline = parse_manifest(json.dumps(STANDIN_MANIFEST))
    assert pipeline.described and pipeline.stops[-1] == "complete"
    assert pipeline.stops[:-1] == tuple(STANDIN_MANIFEST["pipeline_sequence"])
    assert pipeline.can_start_from("concurrency") and not pipeline.can_start_from("complete")
    assert pipeline.before("concurrency") == "edt-opt" and pipeline.before("canonicalize-memrefs") is None
    assert "Concurrency" in pipeline.passes_of("concurrency")
    with pytest.raises(StageError, match="unknown stage 'concurency': carts knows canonicalize-memrefs, "):
        pipeline.check("concurency")


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"pipeline": ["a", ', "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"pipeline_sequence": ["a"]}', "'pipeline' is not a list"),
        ('{"pipeline": []}', "'pipeline' is empty"),
        ('{"pipeline": ["a"], "start_from": "a"}', "'start_from' is not a list"),
        ('{"pipeline": ["a"], "pipeline_steps": [{"passes": []}]}', "has no name"),
        ('{"pipeline": ["a"], "pipeline_steps": [{"name": "a", "passes": [1]}]}', "passes of step 'a'"),
    ],
)
def test_a_manifest_that_cannot_be_read_says_why(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_manifest(text)


def test_the_pipeline_is_asked_once_per_driver_and_version(tmp_path):
    asked = []

    async def counting(spec: TestSpec) -> Outcome:
        asked.append(spec.steps[0].argv)
        return await run_test(spec)

    stages_module._cache.clear()
    new, old, broken = fake_carts(tmp_path), fake_carts(tmp_path, "old"), fake_carts(tmp_path, "malformed-manifest")
    first = anyio.run(read_pipeline, str(new), "v2", counting)
    again = anyio.run(read_pipeline, str(new), "v2", counting)
    assert first is again and len(asked) == 1
    assert anyio.run(read_pipeline, str(new), "v3", counting) == first and len(asked) == 2
    assert anyio.run(read_pipeline, str(old), "v1", counting) is RUN_PIPELINE
    with pytest.raises(StageError, match=r"pipeline --json` printed a manifest carts-reduce cannot read \(not JSON"):
        anyio.run(read_pipeline, str(broken), "v2b", counting)


# --------------------------------------------------------------------------
# Culprit search


def pipeline_failing_from(first_failing: int, stages: int) -> tuple[Pipeline, object]:
    """A pipeline of ``stages`` stop points and a runner on which every stop from ``first_failing`` fails."""
    names = tuple(f"s{i}" for i in range(stages - 1)) + ("complete",)
    pipeline = Pipeline(stops=names, passes={name: (f"P{name}",) for name in names})

    async def run(spec: TestSpec) -> Outcome:
        stage = spec.steps[-1].argv[-1].removeprefix("--")
        failing = names.index(stage) >= first_failing
        result = StepResult("stage", spec.steps[-1].argv, None if failing else 0, signal.SIGSEGV if failing else None,
                            False, 0.0, "", CRASH.format(n=first_failing) if failing else "")
        return Outcome((result,))

    return pipeline, run


@given(st.integers(min_value=1, max_value=64).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_bisection_finds_the_first_failing_stage_within_its_budget(case):
    stages, first = case
    pipeline, run = pipeline_failing_from(first, stages)
    tool = Tool(input_name="x.mlir", carts="carts", command="{carts} run {input} --{stage}")
    culprit = anyio.run(lambda: find_culprit("text", tool, pipeline, run=run))
    assert culprit.stage == pipeline.stops[first]
    assert culprit.passes == (f"P{pipeline.stops[first]}",)
    assert culprit.runs <= max_runs(stages) <= math.ceil(math.log2(max(stages, 2))) + 2
    assert culprit.signature.status == "SIGSEGV"


def test_a_pipeline_that_succeeds_has_no_culprit():
    pipeline, run = pipeline_failing_from(99, 5)
    tool = Tool(input_name="x.mlir", carts="carts", command="{carts} run {input} --{stage}")
    with pytest.raises(CulpritError, match=r"the whole pipeline \(stage complete\) does not fail on x.mlir"):
        anyio.run(lambda: find_culprit("text", tool, pipeline, run=run, name="x.mlir"))


def test_a_pipeline_that_does_not_finish_has_no_culprit():
    pipeline, _ = pipeline_failing_from(0, 5)

    async def hangs(spec: TestSpec) -> Outcome:
        return Outcome((StepResult("stage", spec.steps[-1].argv, None, None, True, spec.timeout, "", ""),))

    tool = Tool(input_name="x.mlir", carts="carts", command="{carts} run {input} --{stage}")
    with pytest.raises(CulpritError, match=r"did not finish on x.mlir within 2 s; give a longer --timeout"):
        anyio.run(lambda: find_culprit("text", tool, pipeline, run=hangs, name="x.mlir", timeout=2))


def test_culprit_through_the_standin_c_front_end_and_a_later_stage(tmp_path):
    require("gcc")
    from test_standin_pipeline import TIME_LOOP_C

    tool = Tool(input_name="sweep.c", carts=str(STANDIN_CARTS), command=DEFAULT_COMMAND, format="c",
                frontend=DEFAULT_FRONTEND)
    pipeline = parse_manifest(json.dumps(STANDIN_MANIFEST))
    culprit = anyio.run(lambda: find_culprit(TIME_LOOP_C, tool, pipeline))
    assert culprit.stage == "concurrency" and "Concurrency" in culprit.passes
    assert culprit.runs <= math.ceil(math.log2(len(pipeline.stops))) + 2
    assert culprit.line() == "fails in stage concurrency (passes: PolygeistCanonicalize, Concurrency, ForOpt, PolygeistCanonicalize)"
    broken = TIME_LOOP_C.replace("double a[N]", "double a[N")
    with pytest.raises(CulpritError, match="fails before any stage runs"):
        anyio.run(lambda: find_culprit(broken, tool, pipeline))
