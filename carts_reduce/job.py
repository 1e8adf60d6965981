"""One reduction from start to end: check the original, reduce, verify, write.

The command line builds a ``Job``; ``run_job`` owns the order of events and
the files a reduction leaves: the output (written atomically after every
improvement), ``OUTPUT.json`` (the record), ``OUTPUT.other-failures/`` (the
smallest candidate of each other failure met on the way) and, while a run
is unfinished, the state dir it can resume from.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from carts_reduce import __version__
from carts_reduce.search.driver import NotInteresting, OriginalTimedOut, Position, Reducer, Settings, digest
from carts_reduce.fileio import write_atomic
from carts_reduce.formats import measure
from carts_reduce.parser_failure import parser_failure
from carts_reduce.passes import schedule, unparsed_finish
from carts_reduce.record import ReductionRecord
from carts_reduce.run.runner import run_test
from carts_reduce.signature import Signature
from carts_reduce.slippage import OtherFailures
from carts_reduce.search.state import State, StateMismatch
from carts_reduce.run.tool import Tool

#: Per-test time limit while the original is checked, before one is derived.
ORIGINAL_TIMEOUT = 600.0
#: Once a failure proved flaky: runs per candidate, and runs of a verification.
FLAKY_REPEAT = 5
FLAKY_VERIFY = 10
#: A pass change is saved at most this often: on resume the cache answers the rest.
POSITION_SAVE_SECONDS = 2.0
#: Fall-backs after a failed verification, before the result is taken as it is.
MAX_REVERIFY = 3


@dataclass
class Job:
    input_path: Path
    output_path: Path
    text: str
    fmt: str
    tool: Tool
    predicate: Any
    predicate_specs: list[str]
    predicate_options: dict[str, Any]
    jobs: int
    timeout: float | None = None
    max_time: float | None = None
    json_log: Path | None = None
    verify: int = 3
    repeat: int = 1
    min_hits: int = 1
    keep_state: bool = False
    carts_version: str | None = None
    standin: bool = False
    predicates_file: Path | None = None
    phases: list | None = None  # the pass schedule, when not the format's own
    # Ctrl-C stops the job and keeps its best; off when a caller runs several jobs and stops them itself.
    watch_signals: bool = True


@dataclass
class JobResult:
    record: ReductionRecord
    reducer: Reducer
    interrupted: bool = False
    timed_out: bool = False
    resumed: bool = False
    verify_fallback: bool = False
    messages: list[str] = field(default_factory=list)
    sizes_before: dict[str, int] = field(default_factory=dict)


@dataclass
class Probe:
    """One run of an original: whether it shows the failure, and which."""

    interesting: bool
    signature: Signature | None
    description: str  # what happened, in a line
    seconds: float
    stage: str | None = None  # where it fails, when the stage was searched rather than given


async def probe(job: Job, run=run_test) -> Probe:
    """Run ``job``'s original once, as a reduction would check it, without reducing."""
    settings = Settings(jobs=1, timeout=job.timeout or ORIGINAL_TIMEOUT,
                        frames=int(job.predicate_options.get("frames") or 3))
    if job.predicate.min_timeout:
        settings.timeout = max(settings.timeout, job.predicate.min_timeout)
    reducer = Reducer(job.text, job.tool, job.predicate, [], settings, run=run)
    try:
        # The empty input is the same for every input: a reduction checks it, a probe need not.
        outcomes = await reducer.check_original(runs=1, empty_too=False)
    except NotInteresting as error:
        return Probe(False, reducer.target, str(error).removeprefix("the original input is not interesting: "),
                     reducer.original_outcome.duration if reducer.original_outcome else 0.0)
    finally:
        reducer.close()
    return Probe(True, reducer.target, job.predicate.describe(outcomes[0]), outcomes[0].duration)


def derive_timeout(durations: list[float]) -> float:
    """A per-step limit from the original's step times: generous, at least 1 s."""
    return max(1.0, 5.0 * max(durations) + 0.5)


async def run_job(job: Job, view, argv: list[str] | None = None, run=run_test) -> JobResult:
    """Reduce ``job``'s input; Ctrl-C (when ``job.watch_signals``) keeps the best so far, resumable."""
    settings = Settings(
        jobs=job.jobs,
        timeout=job.timeout or ORIGINAL_TIMEOUT,
        json_log=job.json_log,
        repeat=job.repeat,
        min_hits=job.min_hits,
        verify=job.verify,
        frames=int(job.predicate_options.get("frames") or 3),
    )
    if job.predicate.min_timeout:
        settings.timeout = max(settings.timeout, job.predicate.min_timeout)
    state = State.beside(job.output_path, identity=_identity(job), argv=argv)
    others = OtherFailures(job.output_path)
    reducer = Reducer(
        job.text,
        job.tool,
        job.predicate,
        [],  # the schedule comes from _prepare
        settings,
        on_progress=view.update,
        on_other_failure=others.offer,
        run=run,
    )
    result = JobResult(record=None, reducer=reducer)  # type: ignore[arg-type]
    started = datetime.datetime.now(datetime.timezone.utc)

    def improved(text: str, position) -> None:
        write_atomic(job.output_path, text)
        state.save(reducer)
        view.update(reducer)

    reducer.on_improve = improved
    reducer.on_position = lambda position: state.save(reducer, at_most_every=POSITION_SAVE_SECONDS)
    failure: Exception | None = None
    try:
        async with anyio.create_task_group() as group:
            if job.watch_signals:
                group.start_soon(stop_on_signals, group.cancel_scope, result)
            try:
                await _reduce(job, reducer, state, settings, view, result)
            except (NotInteresting, StateMismatch) as error:
                failure = error  # raised outside the task group, unwrapped
            group.cancel_scope.cancel()
    finally:
        view.stop()
        reducer.close()
        state.close()
    if failure is not None:
        if not result.resumed and not isinstance(failure, StateMismatch):
            state.remove()  # a fresh run's; a state dir of another run is never ours to remove
        raise NotInteresting(str(failure))
    write_atomic(job.output_path, reducer.best)
    record = _record(job, reducer, started, others, result.sizes_before or measure(job.text, job.fmt))
    record.save(ReductionRecord.path_for(job.output_path))
    result.record = record
    if not result.interrupted and not job.keep_state:
        state.remove()
    result.messages[:0] = reducer.notes
    return result


async def _reduce(job: Job, reducer: Reducer, state: State, settings: Settings, view, result: JobResult) -> None:
    # Importing the passes and parsing the input take about as long as a fast
    # test: done in a thread, they overlap the original's runs.
    with ThreadPoolExecutor(max_workers=1) as executor:
        preparation = executor.submit(_prepare, job)
        await _check_or_resume(job, reducer, state, settings, result)
        reducer.phases, result.sizes_before = await anyio.to_thread.run_sync(preparation.result)
    _finish_parser_failures(job, reducer, result.sizes_before)
    if result.resumed:
        view.say(f"resuming from {state.directory}: {len(reducer.cache)} verdicts, pass {_pass_name(reducer)}")
    state.attach(reducer)
    write_atomic(job.output_path, reducer.best)
    state.save(reducer)
    view.start(reducer)
    deadline = anyio.current_time() + job.max_time if job.max_time else math.inf
    with anyio.move_on_at(deadline) as limit:
        await reducer.reduce()
    result.timed_out = limit.cancelled_caught
    for attempt in range(MAX_REVERIFY + 1):
        # A failed verification falls back to a candidate that passed it.
        if await _verified(reducer, job, result) or attempt == MAX_REVERIFY:
            return
        with anyio.move_on_at(deadline) as limit:
            await reducer.reduce()  # on from the fall-back, now in k-of-n mode
        result.timed_out = result.timed_out or limit.cancelled_caught


async def _verified(reducer: Reducer, job: Job, result: JobResult) -> bool:
    """Re-test the result; on a miss, go k-of-n and fall back to a candidate that holds.

    Deterministic failures pay exactly ``--verify`` tests here. Once a flaky
    failure has been seen, verification needs more runs to tell a flaky
    candidate from a sound one.
    """
    runs = _verify_runs(reducer, job)
    if runs == 0:
        return True
    verified = await reducer.verify(reducer.best, runs)
    if verified >= _needed(reducer, runs):
        return True
    if not reducer.flaky:
        hits = await reducer.verify(reducer.original, FLAKY_REPEAT)
        need = FLAKY_REPEAT if hits == FLAKY_REPEAT else max(1, hits - 1)
        reducer.enter_flaky_mode(FLAKY_REPEAT, need, reason="a re-test of the result disagreed")
        result.messages.append(
            f"the failure is flaky: the result showed it in {verified} of {runs} re-tests, the original in "
            f"{hits} of {FLAKY_REPEAT}; candidates now need {need} interesting runs of {FLAKY_REPEAT}"
        )
        runs = _verify_runs(reducer, job)
    kept = 0
    for index in range(len(reducer.history) - 2, 0, -1):
        if await reducer.verify(reducer.history[index], runs) >= _needed(reducer, runs):
            kept = index
            break
    reducer.history = reducer.history[: kept + 1]
    reducer.best = reducer.history[-1]
    reducer.position = Position()
    result.verify_fallback = True
    result.messages.append(
        "the smallest candidate did not fail on every re-test; went back to the last one that did "
        f"({len(reducer.best.encode('utf-8', 'surrogateescape')):,} bytes) and reduced on from there"
    )
    return False


async def _check_or_resume(job: Job, reducer: Reducer, state: State, settings: Settings, result: JobResult) -> None:
    """Pick up a stopped run, or check that the original is interesting and time it."""
    result.resumed = state.load(reducer)
    if result.resumed:
        if job.timeout is not None:
            settings.timeout = max(job.timeout, job.predicate.min_timeout or 0)  # given now: it wins
        return
    try:
        outcomes = await reducer.check_original()
    except OriginalTimedOut as error:
        if job.timeout is not None:
            raise NotInteresting(
                f"the original input did not finish within --timeout {error.timeout:g} s, so every test "
                "would time out: give a longer --timeout (or --predicate hang --hang-after SECONDS to reduce a hang)"
            ) from None
        raise NotInteresting(f"{error}: to reduce a hang, give --predicate hang --hang-after SECONDS") from None
    if job.timeout is None:
        # The limit holds for each step: a follow-up's steps (a guard's builds) do not stretch it.
        steps = [result.duration for outcome in outcomes for result in outcome.steps]
        settings.timeout = max(derive_timeout(steps or [0.0]), job.predicate.min_timeout or 0)
    if settings.repeat > 1:
        reducer.flaky = True  # k-of-n asked for from the start


def _pass_name(reducer: Reducer) -> str:
    """The pass a resumed run goes on with."""
    position = reducer.position
    if position.phase < len(reducer.phases) and position.pass_index < len(reducer.phases[position.phase]):
        return reducer.phases[position.phase][position.pass_index].name
    return "(verification)"


def _prepare(job: Job) -> tuple[list, dict[str, int]]:
    """The pass schedule (importing the passes) and the input's sizes."""
    return job.phases or schedule(job.fmt), measure(job.text, job.fmt)


def _finish_parser_failures(job: Job, reducer: Reducer, sizes_before: dict[str, int]) -> None:
    """A failure of the parser itself (or an input our parser cannot read) ends with unfiltered text passes."""
    if job.fmt != "mlir":
        return
    if "ops" not in sizes_before:  # measure() counts ops only on a text it parses
        reducer.phases.append(unparsed_finish(parses=False))
        reducer.notes.append("the input does not parse as MLIR: it is reduced as plain text "
                             "(blocks, lines, tokens, characters)")
        return
    reason = parser_failure(reducer.original_outcome)
    if reason is not None:
        reducer.phases.append(unparsed_finish())
        reducer.notes.append(f"the failure is in the parser ({reason}): the reduction ends with token and "
                             "character deletion, whose candidates need not parse")


def _verify_runs(reducer: Reducer, job: Job) -> int:
    if job.verify <= 0:
        return 0
    return max(job.verify, FLAKY_VERIFY) if reducer.flaky else job.verify


def _needed(reducer: Reducer, runs: int) -> int:
    """Interesting runs a verification needs: all, or the k-of-n share."""
    settings = reducer.settings
    return math.ceil(runs * settings.min_hits / settings.repeat)


async def stop_on_signals(scope: anyio.CancelScope, result) -> None:
    """On Ctrl-C, SIGTERM or SIGHUP: mark ``result`` interrupted and cancel ``scope``."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async for _ in signals:
            result.interrupted = True
            scope.cancel()
            return


def _identity(job: Job) -> dict[str, Any]:
    """What must not change between a run and its resumption."""
    return {
        "input_sha256": digest(job.text),
        "command": job.tool.command,
        "stage": job.tool.stage,
        "frontend": job.tool.frontend,
        "predicates": job.predicate_specs,
        "predicate_options": {k: str(v) for k, v in sorted(job.predicate_options.items()) if v},
        "format": job.fmt,
    }


def _record(job: Job, reducer: Reducer, started, others: OtherFailures, sizes_before: dict[str, int]) -> ReductionRecord:
    stats = reducer.stats
    return ReductionRecord(
        tool_version=__version__,
        input=str(job.input_path),
        input_name=job.input_path.name,
        input_sha256=hashlib.sha256(job.text.encode("utf-8", "surrogateescape")).hexdigest(),
        output=str(job.output_path),
        format=job.fmt,
        stage=job.tool.stage,
        command=job.tool.command,
        carts=job.tool.carts,
        predicates=job.predicate_specs,
        predicate_options={k: (str(v) if isinstance(v, Path) else v) for k, v in job.predicate_options.items() if v},
        signature=reducer.target.to_dict() if reducer.target else None,
        standin=job.standin,
        sizes_before=sizes_before,
        sizes_after=measure(reducer.best, job.fmt),
        tests_run=stats.tests_run,
        cache_hits=stats.cache_hits,
        wall_seconds=round(stats.elapsed, 3),
        passes_helped=dict(stats.passes_helped),
        carts_version=job.carts_version,
        started=started.isoformat(timespec="seconds"),
        verified_runs=job.verify,
        flake_rate=reducer.flake_rate,
        other_failures=len(others),
        precheck_rejected=stats.precheck_rejected,
        frontend=job.tool.frontend,
        predicates_file=str(job.predicates_file) if job.predicates_file else None,
        commands=list(getattr(job.predicate, "commands", None) or ()),
        guards=job.predicate.guards() if hasattr(job.predicate, "guards") else [],
        followups_run=stats.followups_run,
        step_seconds={name: round(seconds, 3) for name, seconds in stats.step_seconds.items()},
        guard_seconds=round(sum(s for name, s in stats.step_seconds.items() if _guard_step(job.predicate, name)), 3),
    )


def _guard_step(predicate, name: str) -> bool:
    owns = getattr(predicate, "owns_step", None)
    return bool(owns and owns(name))
