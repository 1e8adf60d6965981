"""A triage from start to end: survey, group, reduce each bug, file it, report it.

Each input is run once: through the pipeline layer's culprit search when no
stage was given (its failing stage and signature), else once at the stage.
The reductions run at the same time, one per bug, each handed to the
pipeline layer exactly as a single-input run would be (its stage known), their
tests sharing the executor's capacity; so a result does not depend on the
others or on the executor. Everything
a triage learns is on disk as soon as it is known (``survey.jsonl``, each
bug's output and state dir), so running the same command again goes on
where a stopped one was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio

from carts_reduce.corpus.report import render_report, rerun_record
from carts_reduce.corpus.store import add_case
from carts_reduce.job import Job, Probe, probe, stop_on_signals
from carts_reduce.options import JobMaker
from carts_reduce.pipeline.culprit import CULPRIT_TIMEOUT, CulpritError, find_culprit
from carts_reduce.pipeline.passlist import PassListError
from carts_reduce.pipeline.plan import Request, reduce_pipeline
from carts_reduce.record import ReductionRecord
from carts_reduce.run.executor import Executor
from carts_reduce.search.driver import NotInteresting
from carts_reduce.search.state import State
from carts_reduce.triage.bugs import Bug, group
from carts_reduce.triage.survey import Finding, Survey

REPORT_FILE = "report.md"
LOG_FILE = "tests.jsonl"


@dataclass
class Triage:
    """What a triage found: its bugs, the inputs that did not fail, and what it cost."""

    inputs: list[Finding]
    bugs: list[Bug]
    executor: str
    capacity: int
    wall_seconds: float = 0.0
    busy_seconds: float = 0.0
    tests: int = 0
    interrupted: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def passing(self) -> list[Finding]:
        return [finding for finding in self.inputs if not finding.failing]


class Quiet:
    """A view that shows nothing (``--quiet``, or no terminal)."""

    def survey_started(self, total: int) -> None: ...
    def found(self, finding: Finding) -> None: ...
    def bugs_found(self, triage: Triage) -> None: ...
    def changed(self) -> None: ...
    def stop(self) -> None: ...


async def run_triage(maker: JobMaker, survey_jobs: list[Job], request: Request, out: Path, corpus: Path | None,
                     executor: Executor, fingerprint: str, view=None) -> Triage:
    """Triage the inputs of ``survey_jobs`` into ``out``; see the module's docstring."""
    view = view or Quiet()
    out.mkdir(parents=True, exist_ok=True)
    triage = Triage([], [], executor.where, executor.capacity)
    async with anyio.create_task_group() as group_scope:
        group_scope.start_soon(stop_on_signals, group_scope.cancel_scope, triage)
        view.survey_started(len(survey_jobs))
        examine = lambda job: _examine(job, request, executor)  # noqa: E731
        triage.inputs = await Survey(out, fingerprint).run(survey_jobs, examine, view.found)
        triage.bugs = group(triage.inputs, out)
        view.bugs_found(triage)
        async with anyio.create_task_group() as reductions:
            for bug in triage.bugs:
                reductions.start_soon(_settle, bug, maker, request, corpus, executor, view)
        group_scope.cancel_scope.cancel()  # the signal watcher
    for bug in triage.bugs:
        if bug.status in ("waiting", "reducing") and not triage.interrupted:
            bug.status = "not reduced: its reduction stopped; run the same command again to go on"
    view.stop()
    triage.wall_seconds = time.monotonic() - triage.started
    triage.busy_seconds = executor.busy_seconds
    triage.tests = executor.tests
    return triage


async def _examine(job: Job, request: Request, executor: Executor) -> Probe:
    """One input run once: its culprit stage where none was given, else the given stage's verdict."""
    if not request.find_stage:
        return await probe(job, executor.run)
    started = time.monotonic()
    try:
        culprit = await find_culprit(
            job.text, job.tool, request.pipeline, predicate=job.predicate, run=executor.run,
            frames=int(job.predicate_options.get("frames") or 3), name=str(job.input_path),
            timeout=job.timeout or CULPRIT_TIMEOUT,
        )
    except CulpritError as error:
        return Probe(False, None, str(error), time.monotonic() - started)
    return Probe(True, culprit.signature, f"{culprit.line()}: {culprit.signature.summary()}",
                 time.monotonic() - started, stage=culprit.stage)


async def _settle(bug: Bug, maker: JobMaker, request: Request, corpus: Path | None, executor: Executor, view) -> None:
    """Reduce one bug (or take its finished reduction), file it, and write its report."""
    bug.folder.mkdir(parents=True, exist_ok=True)
    output = bug.output_path()
    bug.log = bug.folder / LOG_FILE
    record, reduced = _finished(bug, output)
    if record is None:
        job = await anyio.to_thread.run_sync(
            lambda: maker.job(Path(bug.representative.path), output, json_log=bug.log)
        )
        # The stage is known from the survey: the pipeline layer need not search it again.
        job = replace(job, jobs=executor.capacity, watch_signals=False, tool=replace(job.tool, stage=bug.stage))
        bug.status = "reducing"
        view.changed()
        try:
            result = await reduce_pipeline(job, replace(request, find_stage=False), lambda _: _BugView(bug, view),
                                           bug.notes.append, run=executor.run)
        except (NotInteresting, PassListError) as error:
            bug.status = f"not reduced: {error}"
            view.changed()
            return
        record, reduced = result.record, Path(result.record.output)
    bug.record, bug.reduced, bug.status = record, reduced, "reduced"
    output = reduced
    if corpus is not None:
        added = add_case(output, corpus)
        bug.corpus_id, bug.corpus_note = added.case.id, added.message()
    text = output.read_bytes().decode("utf-8", "surrogateescape")
    outcome = await rerun_record(record, text, record.carts, run=executor.run)
    bug.report = bug.folder / REPORT_FILE
    bug.report.write_text(render_report(record, text, outcome))
    view.changed()


def _finished(bug: Bug, output: Path) -> tuple[ReductionRecord | None, Path]:
    """The record and result of this bug's reduction when a run before this one finished it.

    Cut at its stage, a reduction's result is the module entering that stage (``.mlir``).
    """
    for result in dict.fromkeys([output, output.with_suffix(".mlir")]):
        path = ReductionRecord.path_for(result)
        if not path.exists() or not result.exists() or State.beside(result, {}).exists:
            continue
        try:
            record = ReductionRecord.load(path)
        except (ValueError, TypeError):
            continue
        if record.input_sha256 == bug.representative.sha256 or (record.pipeline or {}).get("start_from"):
            return record, result
    return None, output


class _BugView:
    """The job's progress hooks, pointed at the triage's live table."""

    def __init__(self, bug: Bug, view):
        self.bug, self.view = bug, view

    def start(self, reducer) -> None:
        self.bug.live = reducer
        self.view.changed()

    def update(self, reducer) -> None:
        self.bug.live = reducer

    def say(self, message: str) -> None:
        """A line the job would print (resuming, ...): the live table shows the bug's status instead."""

    def stop(self) -> None:
        self.view.changed()

