"""From a failing pipeline to the smallest input of the failing stage.

The pipeline layer sits above the job. Given the job the command line built,
it may, in this order:

1. find the culprit stage when none was given (``culprit.find_culprit``);
2. cut the pipeline at that stage: dump the module that enters it
   (``--pipeline=PREVIOUS -o``) and reduce that module with the stage run
   alone (``--start-from X --pipeline X``), where the driver can;
3. reduce a command's pass list along with its input (``passlist``).

Each of these hands the job layer an ordinary ``Job``: its stage, its
start point and its pass list are already in its command. The result is
the last input job's, with the findings in the record's ``pipeline`` entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from carts_reduce.fileio import write_atomic
from carts_reduce.formats import measure
from carts_reduce.job import Job, JobResult, run_job
from carts_reduce.pipeline.culprit import CULPRIT_TIMEOUT, Culprit, find_culprit
from carts_reduce.pipeline.passlist import PassListError, as_text, pass_phases, unknown_pass
from carts_reduce.pipeline.stages import Pipeline, Runner
from carts_reduce.record import ReductionRecord
from carts_reduce.run.outcome import Outcome
from carts_reduce.run.runner import run_test
from carts_reduce.run.tool import COMPILE_COMMAND, DEFAULT_COMMAND, STAGE_ALONE_COMMAND, fill_passes, pass_list
from carts_reduce.search.driver import NotInteresting

#: Commands that run carts's own pipeline up to ``{stage}``: the ones the cut knows how to restart.
PIPELINE_COMMANDS = frozenset({DEFAULT_COMMAND, COMPILE_COMMAND, "{carts} compile {input} --pipeline {stage}"})
#: Where a dump of the module entering a stage is written, in the test's temp dir.
ENTERING = "entering-stage.mlir"
DUMP_COMMAND = "{carts} compile {input} --pipeline={stage} -o " + ENTERING
STAGE_INPUT, SOURCE = "stage-input", "source"


class PlanError(Exception):
    """The pipeline layer cannot go on: one line for the user."""


@dataclass
class Request:
    """What the command line asks of the pipeline layer, beyond the job it built."""

    pipeline: Pipeline | None = None  # the driver's stages, when the test runs carts's pipeline
    find_stage: bool = False  # no --pass (or --pass auto): find the culprit
    start: str | None = None  # --from: stage-input or source; None: the default
    passes: list[str] | None = None  # --passes, for a command holding {passes}
    output_given: bool = False


@dataclass
class Findings:
    """What the pipeline layer learned; becomes the record's ``pipeline`` entry."""

    culprit: Culprit | None = None
    start: str | None = None  # stage-input or source, when the test runs carts's pipeline
    start_from: str | None = None
    input_sizes: dict[str, int] = field(default_factory=dict)  # of the input as given, when it was cut
    passes_before: list[str] | None = None
    passes_after: list[str] | None = None
    pass_tests: int = 0

    def to_dict(self) -> dict[str, Any] | None:
        data: dict[str, Any] = {}
        if self.culprit is not None:
            data["culprit"] = self.culprit.to_dict()
        if self.start is not None:
            data["from"] = self.start
        if self.start_from is not None:
            data["start_from"] = self.start_from
            data["input_sizes"] = self.input_sizes
        if self.passes_before is not None:
            data["passes_before"] = self.passes_before
            data["passes"] = self.passes_after
            data["pass_tests"] = self.pass_tests
        return data or None


async def reduce_pipeline(
    job: Job,
    request: Request,
    view_for: Callable[[Job], Any],
    say: Callable[[str], None],
    argv: list[str] | None = None,
    run: Runner = run_test,
) -> JobResult:
    """Run ``job`` the way ``request`` asks; returns the result of the job that reduced the input."""
    findings = Findings()
    if request.passes is not None:
        await _check_passes(job, request.passes, run)
    if request.find_stage:
        assert request.pipeline is not None
        findings.culprit = await find_culprit(
            job.text, job.tool, request.pipeline, predicate=job.predicate, run=run,
            frames=int(job.predicate_options.get("frames") or 3), name=job.input_path.name,
            timeout=job.timeout or CULPRIT_TIMEOUT,
        )
        say(findings.culprit.line())
        job = replace(job, tool=replace(job.tool, stage=findings.culprit.stage))
    cut = None
    if request.pipeline is not None and job.tool.stage:
        findings.start = request.start or STAGE_INPUT
        if findings.start == STAGE_INPUT:
            cut = await _cut(job, request, say, run)
    if cut is not None:
        findings.start_from, findings.input_sizes = cut.tool.stage, measure(job.text, job.fmt)
        try:
            result = await _reduce(cut, request, findings, view_for, argv, run)
        except NotInteresting as error:
            # Said only if the whole pipeline does fail: else its own error is the one line.
            note = (f"the module entering {cut.tool.stage} does not fail with the stage run alone ({error}); "
                    "reduced the whole pipeline instead")
            findings.start, findings.start_from, findings.input_sizes = SOURCE, None, {}
            result = await _reduce(job, request, findings, view_for, argv, run)
            result.messages.insert(0, note)
    else:
        if findings.start == STAGE_INPUT:
            findings.start = SOURCE
        result = await _reduce(job, request, findings, view_for, argv, run)
    if result.record is not None:
        result.record.pipeline = findings.to_dict()
        result.record.save(ReductionRecord.path_for(Path(result.record.output)))
    return result


# --------------------------------------------------------------------------
# The cut at the failing stage


async def _cut(job: Job, request: Request, say: Callable[[str], None], run: Runner) -> Job | None:
    """The job on the module entering the job's stage, run alone; None when the driver cannot."""
    pipeline, stage = request.pipeline, job.tool.stage
    assert pipeline is not None and stage is not None
    if job.tool.command not in PIPELINE_COMMANDS or "stage" not in _step_names(job):
        return None  # a test of the user's own: no stage of carts's to start from
    if not pipeline.can_start_from(stage):
        why = "has no --start-from (an older driver)" if not pipeline.starts else f"cannot start from {stage}"
        say(f"{job.tool.carts} {why}: reducing the whole pipeline up to {stage}")
        return None
    entering = await stage_input(job, pipeline, run)
    if isinstance(entering, str):
        say(f"{entering}: reducing the whole pipeline up to {stage}")
        return None
    stem = Path(job.tool.input_name).stem
    output = job.output_path
    if not request.output_given and output.suffix != ".mlir":
        output = output.with_suffix(".mlir")
    tool = replace(
        job.tool, input_name=f"{stem}.mlir", command=STAGE_ALONE_COMMAND, format="mlir",
        frontend=None, precheck=None, include_dirs=(),
    )
    return replace(job, text=entering.decode("utf-8", "surrogateescape"), fmt="mlir", tool=tool, output_path=output)


async def stage_input(job: Job, pipeline: Pipeline, run: Runner = run_test) -> bytes | str:
    """The module that enters the job's stage, or one line saying why it could not be had.

    For an MLIR input, the pipeline up to the stage before; for C, the front
    end first. Entering the first stage, it is the input (or the front end's
    module) itself.
    """
    stage = job.tool.stage
    before = pipeline.before(stage)
    if before is None and job.tool.frontend is None:
        return job.text.encode("utf-8", "surrogateescape")
    dump = replace(job.tool, stage=before, command=DUMP_COMMAND, precheck=None, validator=None)
    steps = dump.steps()
    collect = ENTERING
    if before is None:  # C into the first stage: the front end's module is it
        steps = [step for step in steps if step.name == "frontend"]
        collect = dump.mlir_name
    spec = replace(dump.spec(job.text, steps, job.timeout or CULPRIT_TIMEOUT), collect=(collect,))
    outcome = await run(spec)
    module = outcome.file(collect)
    if outcome.failed_step is not None or not module:
        failed = outcome.step(outcome.failed_step or "stage") or outcome.steps[-1]
        first = (failed.stderr.strip().splitlines() or [failed.status])[0][:200]
        return f"could not dump the module entering {stage} ({failed.name}: {failed.status}: {first})"
    return module


def _step_names(job: Job) -> set[str]:
    return {step.name for step in job.predicate.adjust(job.tool.steps(), job.tool.expand)}


# --------------------------------------------------------------------------
# Input and pass list, in turn


async def _reduce(job: Job, request: Request, findings: Findings, view_for, argv, run: Runner) -> JobResult:
    if request.passes is None:
        return await run_job(job, view_for(job), argv, run)
    return await _alternate(job, request.passes, findings, view_for, argv, run)


async def _alternate(job: Job, passes: list[str], findings: Findings, view_for, argv, run: Runner) -> JobResult:
    """Reduce the pass list (input fixed) and the input (pass list fixed) in turn until neither shrinks."""
    template = job.tool.command
    findings.passes_before = list(passes)
    deadline = anyio.current_time() + job.max_time if job.max_time else math.inf
    passes_output = job.output_path.with_name(job.output_path.name + ".passes")
    text, current = job.text, list(passes)
    if not job.output_path.exists():
        write_atomic(job.output_path, text)  # a result is on disk whichever job is stopped
    results: list[JobResult] = []
    last_input: JobResult | None = None
    reduce_passes, reduce_input = True, True
    while reduce_passes or reduce_input:
        if reduce_passes:
            passes_job = replace(
                job, text=as_text(current), fmt="text", output_path=passes_output, phases=pass_phases(),
                tool=replace(job.tool, fixed_input=text), max_time=_remaining(deadline),
            )
            outcome = await run_job(passes_job, view_for(passes_job), argv, run)
            results.append(outcome)
            findings.pass_tests += outcome.record.tests_run if outcome.record else 0
            reduce_passes = False
            if outcome.interrupted or outcome.record is None:
                return _combined(results, last_input or outcome, job)
            reduced = pass_list(Path(passes_output).read_text())
            if reduced != current:
                current, reduce_input = reduced, True
            _drop_record(passes_output)
        if reduce_input:
            input_job = replace(
                job, text=text, tool=replace(job.tool, command=fill_passes(template, current)),
                max_time=_remaining(deadline),
            )
            last_input = await run_job(input_job, view_for(input_job), argv, run)
            results.append(last_input)
            reduce_input = False
            if last_input.interrupted or last_input.timed_out:
                break
            reduced_text = job.output_path.read_text(encoding="utf-8", errors="surrogateescape")
            if reduced_text != text:
                text, reduce_passes = reduced_text, True
    findings.passes_after = current
    assert last_input is not None
    return _combined(results, last_input, job)


def _remaining(deadline: float) -> float | None:
    if deadline == math.inf:
        return None
    return max(0.0, deadline - anyio.current_time())


def _drop_record(output: Path) -> None:
    """A pass-list job's own record: its figures go into the input's record."""
    ReductionRecord.path_for(output).unlink(missing_ok=True)


def _combined(results: list[JobResult], last: JobResult, job: Job) -> JobResult:
    """The input job's result, with every job's tests, time and messages."""
    record = last.record
    if record is not None:
        done = [r.record for r in results if r.record is not None]
        record.tests_run = sum(r.tests_run for r in done)
        record.cache_hits = sum(r.cache_hits for r in done)
        record.wall_seconds = round(sum(r.wall_seconds for r in done), 3)
        record.sizes_before = measure(job.text, job.fmt)
    messages = [m for r in results for m in r.messages]
    return replace(
        last, messages=messages, interrupted=any(r.interrupted for r in results),
        timed_out=any(r.timed_out for r in results),
    )


async def _check_passes(job: Job, passes: list[str], run: Runner) -> None:
    """One run of the input under the whole list: a pass the tool does not know is the user's error."""
    tool = replace(job.tool, command=fill_passes(job.tool.command, passes), precheck=None, validator=None)
    steps = job.predicate.adjust(tool.steps(), tool.expand)
    outcome: Outcome = await run(tool.spec(job.text, steps, job.timeout or CULPRIT_TIMEOUT))
    for result in outcome.steps:
        found = unknown_pass(result.stderr + result.stdout, passes)
        if found:
            raise PassListError(found)
