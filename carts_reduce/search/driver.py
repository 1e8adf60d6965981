"""The async reduction driver.

Passes propose candidates in order; up to ``jobs`` of them are tested at
once; the first interesting candidate *in pass order* wins and the tests
still running are cancelled, so the result is the same for any ``jobs``.
Verdicts are cached by content hash; the best candidate so far is written
atomically after every improvement, with the driver's position in the pass
schedule, so that a stopped run can resume where it was.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from carts_reduce.run.outcome import Outcome, Step, TestSpec
from carts_reduce.passes.base import Pass
from carts_reduce.run.runner import run_test
from carts_reduce.signature import Signature
from carts_reduce.run.tool import Tool


#: Tests at least this long (in seconds, as the original's) leave time to
#: begin a pass's next round from a candidate while it is tested; below, it
#: would cost more on the rejected candidates than it saves on the accepted.
SPECULATE_ABOVE = 0.02
#: Follow-up tests one test may grow into (each asked for by the predicate).
MAX_FOLLOWUPS = 4


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def sort_key(text: str) -> tuple[int, str]:
    """Shortlex: fewer bytes first, then lexicographic, so "smaller" is total."""
    return len(text.encode("utf-8", "surrogateescape")), text


class _Proposals:
    """A pass's candidates for one text, minus those not smaller or already proposed; one can be made ready ahead.

    ``on_start(seconds, size)`` hears how long the pass took to come up with
    its first candidate for a text of ``size`` bytes (parsing included).
    """

    def __init__(self, generator: Iterator[tuple[Any, str]], text: str, stats: Stats,
                 on_start: Callable[[float, int], None] = lambda seconds, size: None):
        self._generator = generator
        self._limit = sort_key(text)
        self._seen: set[str] = set()
        self._stats = stats
        self._ready: list[tuple[tuple[Any, str], str]] = []
        self.exhausted = False
        self._on_start: Callable[[float, int], None] | None = on_start

    def make_ready(self) -> None:
        """Compute the next proposal now (while tests run), unless one is ready."""
        if not self._ready and not self.exhausted:
            item = self._pull()
            if item is None:
                self.exhausted = True
            else:
                self._ready.append(item)

    def take(self) -> tuple[tuple[Any, str], str] | None:
        """The next proposal and its digest; None (and ``exhausted``) at the end."""
        if self._ready:
            return self._ready.pop()
        item = self._pull()
        self.exhausted = item is None
        return item

    def _pull(self) -> tuple[tuple[Any, str], str] | None:
        if self._on_start is not None:
            started = time.perf_counter()
            item = self._next()
            self._on_start(time.perf_counter() - started, self._limit[0])
            self._on_start = None
            return item
        return self._next()

    def _next(self) -> tuple[tuple[Any, str], str] | None:
        for proposal in self._generator:
            candidate = proposal[1]
            if sort_key(candidate) >= self._limit:
                self._stats.skipped_not_smaller += 1
                continue
            key = digest(candidate)
            if key not in self._seen:
                self._seen.add(key)
                return proposal, key
        return None


@dataclass
class _Ahead:
    """The round a pass would start from ``text`` at ``cursor``, already begun."""

    current: Pass
    text: str
    cursor: Any
    source: _Proposals

    def matches(self, current: Pass, text: str, cursor: Any) -> bool:
        return current is self.current and cursor == self.cursor and text == self.text


class NotInteresting(Exception):
    """The original input does not show the failure (or not reliably)."""


class OriginalTimedOut(NotInteresting):
    """The original did not finish within the per-test timeout."""

    def __init__(self, timeout: float):
        super().__init__(f"the original input did not finish within {timeout:g} s")
        self.timeout = timeout


@dataclass
class Position:
    """Where the driver is in the schedule: enough to resume."""

    phase: int = 0
    pass_index: int = 0
    cursor: Any = None
    changed: bool = False


@dataclass
class Stats:
    tests_run: int = 0
    cache_hits: int = 0
    followups_run: int = 0  # second tests a predicate asked for (a guard's costly checks)
    followup_hits: int = 0  # follow-ups answered from their cache
    step_seconds: dict[str, float] = field(default_factory=dict)  # time per step name, follow-ups included
    skipped_not_smaller: int = 0
    precheck_rejected: int = 0
    runs_interesting: int = 0
    passes_helped: dict[str, int] = field(default_factory=dict)
    current_pass: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Settings:
    jobs: int = 1
    timeout: float = 10.0
    json_log: Path | None = None
    repeat: int = 1  # runs per candidate
    min_hits: int = 1  # interesting runs needed out of ``repeat``
    verify: int = 3
    frames: int = 3  # stack frames in a failure signature

    def check(self) -> None:
        """Refuse settings under which the search could not make progress."""
        if self.jobs < 1 or self.repeat < 1 or not 1 <= self.min_hits <= self.repeat:
            raise ValueError(f"jobs and repeat must be at least 1, min_hits from 1 to repeat: {self}")
        if not self.timeout > 0:
            raise ValueError(f"the per-test timeout must be more than 0 s: {self}")


class Reducer:
    def __init__(
        self,
        original: str,
        tool: Tool,
        predicate,
        phases: list[list[Pass]],
        settings: Settings,
        on_improve: Callable[[str, Position], None] | None = None,
        on_progress: Callable[[Reducer], None] | None = None,
        on_other_failure: Callable[[Signature, str], None] | None = None,
        run: Callable[[TestSpec], Awaitable[Outcome]] = run_test,
    ):
        self.original = original
        self.best = original
        self.run = run
        self.tool = tool
        self.predicate = predicate
        self.phases = phases
        self.settings = settings
        self.on_improve = on_improve or (lambda text, position: None)
        self.on_progress = on_progress or (lambda reducer: None)
        self.on_other_failure = on_other_failure
        self.cache: dict[str, bool] = {}
        self.stats = Stats()
        self.position = Position()
        self.history: list[str] = [original]
        self.target: Signature | None = None
        self.original_outcome: Outcome | None = None
        self.speculate = False  # see SPECULATE_ABOVE
        self._start_rate: float | None = None  # seconds per byte for a pass to begin a round
        self._ahead: _Ahead | None = None  # a pass's next round, begun while its candidate was tested
        self.on_verdict: Callable[[str, bool], None] = lambda key, verdict: None
        self.on_position: Callable[[Position], None] = lambda position: None
        # Runs of the same text that disagreed, and runs repeated: the flake rate.
        self.disagreements = 0
        self.repeated_runs = 0
        self.notes: list[str] = []  # things the user should hear about at the end
        self.runs_of: dict[str, tuple[int, int]] = {}  # hash -> (interesting runs, runs)
        self.flaky = False
        settings.check()
        self.precheck_off = False  # the pre-check rejected the original
        self._steps = self._adjusted_steps()
        self._followups: dict[tuple[str, tuple[Step, ...]], Outcome | anyio.Event] = {}
        self._log = open(settings.json_log, "a") if settings.json_log else None

    def close(self) -> None:
        if self._log:
            self._log.close()
            self._log = None

    # -- testing ---------------------------------------------------------

    def _adjusted_steps(self) -> list[Step]:
        steps = self.predicate.adjust(self.tool.steps(), self.tool.expand)
        return [step for step in steps if step.name != "precheck"] if self.precheck_off else steps

    async def _test(self, text: str) -> Outcome:
        """One test of ``text``: its steps, then the follow-up steps the
        predicate asks for on what they showed, as a second test.

        Both are plain ``TestSpec`` s for the runner. A follow-up is how a
        guard runs its costly checks only where the cheap verdict holds; its
        outcome is kept by text and steps, so a re-test of the same text
        (verification, k-of-n) runs only the first part again.
        """
        outcome = await self.run(self.tool.spec(text, self._steps, self.settings.timeout))
        self.stats.tests_run += 1
        self._time_steps(outcome)
        precheck = outcome.step("precheck")
        followup = getattr(self.predicate, "followup", None)  # a plain predicate object may have none
        for _ in range(MAX_FOLLOWUPS if followup is not None else 0):
            steps = () if precheck is not None and precheck.failed else tuple(followup(outcome, text))
            if not steps:
                break
            more = await self._followup(text, steps)
            outcome = Outcome(outcome.steps + more.steps, outcome.cancelled or more.cancelled,
                              collected=outcome.collected + more.collected)
        return outcome

    async def _followup(self, text: str, steps: tuple[Step, ...]) -> Outcome:
        """The follow-up test of ``text``: run once, however many tests ask for it at the same time."""
        key = (digest(text), steps)
        entry = self._followups.get(key)
        while isinstance(entry, anyio.Event):  # under way for another test of the same text
            await entry.wait()
            entry = self._followups.get(key)
        if entry is not None:
            self.stats.followup_hits += 1
            return entry
        running = anyio.Event()
        self._followups[key] = running
        try:
            more = await self.run(self.tool.spec(text, list(steps), self.settings.timeout))
        except BaseException:  # cancelled or failed: whoever waits runs it
            del self._followups[key]
            running.set()
            raise
        self._followups[key] = more
        running.set()
        self.stats.followups_run += 1
        self._time_steps(more)
        return more

    def _time_steps(self, outcome: Outcome) -> None:
        seconds = self.stats.step_seconds
        for result in outcome.steps:
            seconds[result.name] = seconds.get(result.name, 0.0) + result.duration

    async def run_once(self, text: str, label: str = "", run=(1, 1)) -> tuple[bool, Outcome]:
        """Run one test of ``text`` and judge it; the only path to the runner."""
        outcome = await self._test(text)
        precheck = outcome.step("precheck")
        if precheck is not None and precheck.failed:
            self.stats.precheck_rejected += 1
        interesting = self._judged(outcome, text)
        self._record(text, label, outcome, interesting, run)
        if not interesting and self.on_other_failure and outcome.failed_step == "stage":
            other = Signature.from_outcome(outcome, self.settings.frames)
            if other != self.target and other:
                self.on_other_failure(other, text)
        self.on_progress(self)
        return interesting, outcome

    async def judge(self, text: str, label: str = "") -> bool:
        """Interesting when at least ``min_hits`` of ``repeat`` runs are."""
        key = digest(text)
        if key in self.cache:
            self.stats.cache_hits += 1
            return self.cache[key]
        need, runs = self.settings.min_hits, self.settings.repeat
        hits = done = 0
        while done < runs and need - hits <= runs - done and hits < need:
            interesting, _ = await self.run_once(text, label, run=(done + 1, runs))
            hits += interesting
            done += 1
        verdict = hits >= need
        if done > 1:
            self.repeated_runs += done
            self.disagreements += min(hits, done - hits)
        self.runs_of[key] = (hits, done)
        self.cache[key] = verdict
        self.on_verdict(key, verdict)
        return verdict

    def _record(self, text: str, label: str, outcome: Outcome, interesting: bool | None, run) -> None:
        main = outcome.main
        self.log_event(
            event="test",
            test=self.stats.tests_run,
            time=round(self.stats.elapsed, 3),
            run=run,
            **{"pass": label},
            hash=digest(text)[:16],
            bytes=len(text.encode("utf-8", "surrogateescape")),
            interesting=interesting,
            step=main.name,
            status=main.status,
            duration=round(outcome.duration, 3),
        )

    def log_event(self, **entry) -> None:
        """One JSON object per line: every test, every acceptance, every mode change."""
        if self._log:
            self._log.write(json.dumps(entry) + "\n")
            self._log.flush()

    def enter_flaky_mode(self, repeat: int, min_hits: int, reason: str) -> None:
        """From now on a candidate needs ``min_hits`` of ``repeat`` runs.

        Verdicts of "interesting" given on a single run can no longer be
        trusted, so they leave the cache; "not interesting" ones stay (they
        only cost us a candidate).
        """
        self.settings.repeat, self.settings.min_hits = repeat, min_hits
        self.flaky = True
        for key in [k for k, v in self.cache.items() if v]:
            del self.cache[key]
        self.log_event(event="flaky-mode", repeat=repeat, min_hits=min_hits, reason=reason)

    # -- the original ------------------------------------------------------

    async def check_original(self, runs: int = 2, empty_too: bool = True) -> list[Outcome]:
        """Run the original ``runs`` times; it must be interesting every time.

        The empty input is tested alongside, once (unless not ``empty_too``):
        when it fails the same way, the failure does not depend on the input
        and there is nothing to reduce.
        """
        outcomes: list[Outcome] = [None] * runs  # type: ignore[list-item]
        empty: list[Outcome] = []

        async def one(index: int) -> None:
            outcomes[index] = await self._test(self.original)
            self._record(self.original, "original", outcomes[index], None, (index + 1, runs))

        async def empty_input() -> None:
            empty.append(await self._test(""))

        async with anyio.create_task_group() as group:
            for index in range(runs):
                group.start_soon(one, index)
            if empty_too:
                group.start_soon(empty_input)
        precheck = outcomes[0].step("precheck")
        if precheck is not None and precheck.failed:
            # A pre-check that rejects the original would reject everything.
            first_line = (precheck.stderr.strip().splitlines() or [precheck.status])[0]
            self.notes.append(f"the pre-check rejects the original ({first_line}); pre-check turned off")
            self.precheck_off = True
            self._steps = self._adjusted_steps()
            return await self.check_original(runs, empty_too)
        if self.predicate.min_timeout is None and any(o.timed_out for o in outcomes):
            raise OriginalTimedOut(self.settings.timeout)
        self.calibrate(outcomes[0])
        seen = [self.predicate.describe(o) for o in outcomes]
        verdicts = [bool(self.predicate(o, self.original)) for o in outcomes]
        if not any(verdicts):
            raise NotInteresting(f"the original input is not interesting: {seen[0]}")
        if not all(verdicts):
            detail = "; ".join(f"run {i + 1}: {s}" for i, s in enumerate(seen))
            raise NotInteresting(f"the original input is flaky ({detail})")
        if not empty_too:
            self.cache[digest(self.original)] = True
            return outcomes
        empty_fails = self._judged(empty[0], "")
        self._record("", "empty", empty[0], empty_fails, (1, 1))
        self.cache[digest("")] = empty_fails
        if empty_fails:
            raise NotInteresting(
                f"the empty input fails the same way as the original ({seen[0]}): the failure does not "
                "depend on the input; check the command or the predicate"
            )
        self.cache[digest(self.original)] = True
        return outcomes

    def _judged(self, outcome: Outcome, text: str) -> bool:
        """The predicate's verdict, where a candidate the pre-check rejects is never interesting."""
        precheck = outcome.step("precheck")
        if precheck is not None and precheck.failed:
            return False
        return bool(self.predicate(outcome, text))

    def calibrate(self, original: Outcome) -> None:
        """Pin the failure being reduced to what the original showed."""
        self.original_outcome = original
        self.speculate = original.duration >= SPECULATE_ABOVE
        self.predicate.calibrate(original)
        self.target = Signature.from_outcome(original, self.settings.frames)
        # What a test runs may depend on what the original showed (a guard
        # keeps to the checks the original passes).
        self._steps = self._adjusted_steps()

    @property
    def flake_rate(self) -> float | None:
        """Share of repeated runs that disagreed; None while none ever did."""
        if not self.repeated_runs or not (self.flaky or self.disagreements):
            return None
        return self.disagreements / self.repeated_runs

    # -- the search --------------------------------------------------------

    async def reduce(self) -> str:
        """Run the schedule to a fixpoint from ``self.position``; returns the best text."""
        position = self.position
        while position.phase < len(self.phases):
            passes = self.phases[position.phase]
            while position.pass_index < len(passes):
                current = passes[position.pass_index]
                self.stats.current_pass = current.name
                self.on_progress(self)
                found = await self._first_interesting(current, self.best, position.cursor)
                if found is None:
                    position.pass_index += 1
                    position.cursor = None
                    self.on_position(position)
                    continue
                cursor, text = found
                hits, runs = self.runs_of.get(digest(text), (1, 1))
                self.log_event(event="accept", **{"pass": current.name}, hash=digest(text)[:16],
                               bytes=len(text.encode("utf-8", "surrogateescape")), hits=hits, runs=runs)
                removed = len(self.best.encode()) - len(text.encode())
                helped = self.stats.passes_helped
                helped[current.name] = helped.get(current.name, 0) + removed
                position.cursor = cursor
                position.changed = True
                self.best = text
                self.history.append(text)
                self.on_improve(text, position)
            position.phase = 0 if position.changed else position.phase + 1
            position.pass_index, position.cursor, position.changed = 0, None, False
            self.on_position(position)
        return self.best

    async def _first_interesting(self, current: Pass, text: str, cursor) -> tuple[Any, str] | None:
        """Test candidates of one pass, ``jobs`` at a time; the first hit in order wins.

        While every slot is busy, the next candidate is made ready, and for
        the first candidate under test, the pass's first candidate after it
        (in case it is accepted): the pass's CPU work then overlaps the tests
        instead of adding to their time.
        """
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.matches(current, text, cursor):
            source = ahead.source
        else:
            source = _Proposals(current.candidates(text, cursor), text, self.stats, self._learn_start)
        proposals: list[tuple[Any, str]] = []
        verdicts: dict[int, bool] = {}
        speculation: dict[int, _Ahead] = {}  # index under test -> the pass's next round from it
        in_flight = 0
        send, receive = anyio.create_memory_object_stream[int](math.inf)

        async def test(index: int, candidate: str) -> None:
            verdicts[index] = await self.judge(candidate, current.name)
            await send.send(index)

        async with anyio.create_task_group() as group:
            checked = 0
            while True:
                while checked in verdicts:  # verdicts holds only indices >= checked
                    if verdicts.pop(checked):
                        group.cancel_scope.cancel()
                        self._ahead = speculation.get(checked)
                        return proposals[checked]
                    speculation.pop(checked, None)
                    proposals[checked] = None  # type: ignore[call-overload]  # refused: its text can go
                    checked += 1
                if source.exhausted and checked >= len(proposals):
                    return None
                hit_pending = any(verdicts.values())
                if not hit_pending and in_flight < self.settings.jobs and not source.exhausted:
                    item = source.take()
                    if item is None:
                        continue
                    proposal, key = item
                    index = len(proposals)
                    proposals.append(proposal)
                    if key in self.cache:
                        self.stats.cache_hits += 1
                        verdicts[index] = self.cache[key]
                        continue
                    in_flight += 1
                    group.start_soon(test, index, proposal[1])
                    continue
                if in_flight == 0:
                    # Nothing runs and nothing can start: going round again
                    # would spin. (Settings forbid it; this guards the rule.)
                    raise RuntimeError(f"no test can start (jobs={self.settings.jobs})")
                if not hit_pending:
                    await anyio.sleep(0)  # let the tests just started get going first
                    source.make_ready()
                    ahead = checked not in verdicts and checked not in speculation
                    if ahead and self._ahead_pays(proposals[checked][1]):
                        next_cursor, candidate = proposals[checked]
                        source_after = _Proposals(current.candidates(candidate, next_cursor), candidate, self.stats,
                                                  self._learn_start)
                        source_after.make_ready()
                        speculation[checked] = _Ahead(current, candidate, next_cursor, source_after)
                await receive.receive()
                in_flight -= 1

    def _learn_start(self, seconds: float, size: int) -> None:
        rate = seconds / max(size, 1)
        self._start_rate = rate if self._start_rate is None else (self._start_rate + rate) / 2

    def _ahead_pays(self, candidate: str) -> bool:
        """Begin a round from a candidate under test only when that costs less than a test.

        A round begun on a candidate that is then refused is work thrown
        away, and on a big module (a parse of megabytes against a test of
        milliseconds) it holds a second tree in memory for nothing.
        """
        if not self.speculate:
            return False
        if self._start_rate is None or self.original_outcome is None:
            return True
        return self._start_rate * len(candidate) <= self.original_outcome.duration

    # -- verification ------------------------------------------------------

    async def verify(self, text: str, runs: int) -> int:
        """Re-test ``text`` ``runs`` times (``jobs`` at a time); returns the interesting runs."""
        if runs <= 0:
            return 0
        verdicts: list[bool] = []
        limiter = anyio.CapacityLimiter(self.settings.jobs)

        async def one(index: int) -> None:
            async with limiter:
                interesting, _ = await self.run_once(text, "verify", run=(index + 1, runs))
                verdicts.append(interesting)

        async with anyio.create_task_group() as group:
            for index in range(runs):
                group.start_soon(one, index)
        hits = sum(verdicts)
        self.repeated_runs += runs
        self.disagreements += runs - hits  # each was expected to be interesting
        self.log_event(event="verify", hash=digest(text)[:16], hits=hits, runs=runs)
        return hits
