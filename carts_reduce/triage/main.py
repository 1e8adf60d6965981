"""A triage from start to end: survey, group, reduce each bug, file it, report it.

The reductions run at the same time, one job per bug, their tests sharing
the executor's capacity; each is the same job a single-input run would be,
so its result does not depend on the others or on the executor. Everything
a triage learns is on disk as soon as it is known (``survey.jsonl``, each
bug's output and state dir), so running the same command again goes on
where a stopped one was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from carts_reduce.corpus.report import render_report, rerun_record
from carts_reduce.corpus.store import add_case
from carts_reduce.job import Job, run_job, stop_on_signals
from carts_reduce.options import JobMaker
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


async def run_triage(maker: JobMaker, survey_jobs: list[Job], out: Path, corpus: Path | None,
                     executor: Executor, fingerprint: str, view=None) -> Triage:
    """Triage the inputs of ``survey_jobs`` into ``out``; see the module's docstring."""
    view = view or Quiet()
    out.mkdir(parents=True, exist_ok=True)
    triage = Triage([], [], executor.where, executor.capacity)
    async with anyio.create_task_group() as group_scope:
        group_scope.start_soon(stop_on_signals, group_scope.cancel_scope, triage)
        view.survey_started(len(survey_jobs))
        triage.inputs = await Survey(out, fingerprint).run(survey_jobs, executor.run, view.found)
        triage.bugs = group(triage.inputs, out)
        view.bugs_found(triage)
        async with anyio.create_task_group() as reductions:
            for bug in triage.bugs:
                reductions.start_soon(_settle, bug, maker, corpus, executor, view)
        group_scope.cancel_scope.cancel()  # the signal watcher
    view.stop()
    triage.wall_seconds = time.monotonic() - triage.started
    triage.busy_seconds = executor.busy_seconds
    triage.tests = executor.tests
    return triage


async def _settle(bug: Bug, maker: JobMaker, corpus: Path | None, executor: Executor, view) -> None:
    """Reduce one bug (or take its finished reduction), file it, and write its report."""
    bug.folder.mkdir(parents=True, exist_ok=True)
    output = bug.output_path()
    bug.log = bug.folder / LOG_FILE
    record = _finished(bug, output)
    if record is None:
        job = await anyio.to_thread.run_sync(
            lambda: maker.job(Path(bug.representative.path), output, json_log=bug.log)
        )
        job.jobs = executor.capacity
        bug.status = "reducing"
        view.changed()
        try:
            result = await run_job(job, _BugView(bug, view), run=executor.run, watch_signals=False)
        except NotInteresting as error:
            bug.status = f"not reduced: {error}"
            view.changed()
            return
        record = result.record
    bug.record, bug.reduced, bug.status = record, output, "reduced"
    if corpus is not None:
        added = add_case(output, corpus)
        bug.corpus_id, bug.corpus_note = added.case.id, added.message()
    text = output.read_bytes().decode("utf-8", "surrogateescape")
    outcome = await rerun_record(record, text, record.carts, run=executor.run)
    bug.report = bug.folder / REPORT_FILE
    bug.report.write_text(render_report(record, text, outcome))
    view.changed()


def _finished(bug: Bug, output: Path) -> ReductionRecord | None:
    """The record of this bug's reduction when a run before this one finished it."""
    path = ReductionRecord.path_for(output)
    if not path.exists() or not output.exists() or State.beside(output, {}).exists:
        return None
    try:
        record = ReductionRecord.load(path)
    except (ValueError, TypeError):
        return None
    return record if record.input_sha256 == bug.representative.sha256 else None


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

