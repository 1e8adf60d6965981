"""Plain data that crosses the runner boundary: what to run, and what happened.

Both sides are picklable values with no behaviour beyond derived properties, so
a test can one day run on another machine and its result come back unchanged.
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """One process of a test, run in the test's temp dir."""

    name: str  # "stage", "frontend", "script", "reference", ...
    argv: tuple[str, ...]
    # Write stdout to this file (relative to the temp dir) instead of keeping it.
    stdout_path: str | None = None
    # Skip the remaining steps when this one exits non-zero or dies.
    stop_on_failure: bool = True


@dataclass(frozen=True)
class TestSpec:
    """Everything needed to run one test: files to lay down, steps, limits."""

    __test__ = False  # a name pytest would otherwise try to collect

    files: tuple[tuple[str, bytes], ...]
    steps: tuple[Step, ...]
    timeout: float  # seconds, per step
    env: tuple[tuple[str, str], ...] = ()
    # Files (relative to the temp dir) whose contents come back in the outcome.
    collect: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepResult:
    name: str
    argv: tuple[str, ...]
    returncode: int | None  # None when it was killed by us
    signal: int | None  # the signal that ended it (from a shell too: 128+N)
    timed_out: bool
    duration: float
    stdout: str
    stderr: str

    @property
    def failed(self) -> bool:
        return self.timed_out or self.signal is not None or self.returncode != 0

    @property
    def status(self) -> str:
        """Short human text: 'exit 0', 'SIGABRT', 'timeout'."""
        if self.timed_out:
            return "timeout"
        if self.signal is not None:
            return signal_name(self.signal)
        return f"exit {self.returncode}"


@dataclass(frozen=True)
class Outcome:
    """The results of a test's steps, in order; skipped steps are absent."""

    steps: tuple[StepResult, ...]
    cancelled: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    # The spec's ``collect`` files that exist after the steps: (name, contents).
    collected: tuple[tuple[str, bytes], ...] = ()

    def file(self, name: str) -> bytes | None:
        return dict(self.collected).get(name)

    def step(self, name: str) -> StepResult | None:
        for result in self.steps:
            if result.name == name:
                return result
        return None

    @property
    def main(self) -> StepResult:
        """The step a predicate judges: the stage when there is one, else the last."""
        return self.step("stage") or self.steps[-1]

    @property
    def failed_step(self) -> str | None:
        for result in self.steps:
            if result.failed:
                return result.name
        return None

    @property
    def duration(self) -> float:
        return sum(r.duration for r in self.steps)

    @property
    def timed_out(self) -> bool:
        return any(r.timed_out for r in self.steps)


def signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
