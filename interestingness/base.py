"""The predicate protocol, its options, and what every predicate shares."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from carts_reduce.run.outcome import Outcome, Step, StepResult
from carts_reduce.signature import Signature

Expand = Callable[[str], tuple[str, ...]]

#: Steps that only prepare a test. A test that stopped in one of them never
#: reached what is judged, so it is not interesting to a stage predicate.
PREPARATION_STEPS = frozenset({"precheck", "frontend"})


class PredicateError(Exception):
    """A predicate spec that cannot be built; the message is one line."""


@dataclass(frozen=True)
class Option:
    """One option a predicate reads, by its key in the options mapping."""

    key: str
    metavar: str
    help: str
    kind: str = "str"  # str, regex, regexes, int, ints, float, path
    required: bool = False
    #: Not a command-line flag of its own: given as ``--opt KEY=VALUE`` or a TOML key.
    extra: bool = False
    flags: int = 0  # re flags for regex kinds

    @property
    def flag(self) -> str:
        if self.extra:
            return f"--opt {self.key}={self.metavar}"
        return f"--{self.key.replace('_', '-')} {self.metavar}"


@dataclass(frozen=True)
class PredicateInfo:
    """What ``carts-reduce predicates`` lists about one predicate."""

    name: str
    help: str
    options: list[tuple[str, str]]
    origin: str  # "built-in", "entry point (DIST)", "module", "file"


FRAMES = Option("frames", "N", "stack frames kept in a failure signature (default 3)", kind="int")


class Predicate:
    """Judges one test: interesting or not.

    Subclasses declare their ``options``; the constructor reads and checks
    them, so a bad spec fails before any test runs. The driver calls
    ``adjust`` for the steps of a test (again after ``calibrate`` on the
    original's outcome), ``followup`` on each test's outcome for the steps
    of a second test it needs before its verdict (none, mostly), and the
    predicate itself on every candidate.
    """

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.values = read_options(self.name, self.options, options or {})

    @property
    def min_timeout(self) -> float | None:
        """The per-test timeout this predicate needs at least, if any."""
        return None

    @property
    def commands(self) -> tuple[str, ...] | None:
        """The command templates this predicate runs instead of the stage and
        the C front end (output-mismatch's two builds); None when it judges the stage."""
        return None

    def adjust(self, steps: list[Step], expand: Expand) -> list[Step]:
        """The steps of a test, with what this predicate needs added."""
        return list(steps)

    def followup(self, outcome: Outcome, candidate: str) -> tuple[Step, ...]:
        """Steps to run as a second test of ``candidate`` before the verdict,
        decided on the first test's ``outcome``; () when the verdict can be
        given now. Their results are appended to the outcome judged."""
        return ()

    def calibrate(self, original: Outcome) -> None:
        """Learn from the original input's outcome (before any candidate)."""

    def guards(self) -> list[str]:
        """What this predicate guards verdicts with, one line per check, for the summary and the report."""
        return []

    def owns_step(self, name: str) -> bool:
        """Whether the step ``name`` is one of this predicate's own checks (its time is the guard's)."""
        return False

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        raise NotImplementedError

    def describe(self, outcome: Outcome) -> str:
        """One line: what was seen in ``outcome``."""
        return describe_outcome(outcome)

    def leaves(self) -> Iterator[Predicate]:
        """The predicates that judge (itself, or those inside a composition)."""
        yield self

    def __repr__(self) -> str:
        return f"<predicate {self.name}>"


# --------------------------------------------------------------------------
# Options


def is_given(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != ()


def read_options(owner: str, declared: tuple[Option, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in declared:
        value = given.get(option.key)
        if not is_given(value):
            if option.required:
                raise PredicateError(f"predicate '{owner}' needs {option.flag}")
            values[option.key] = None
            continue
        values[option.key] = convert(owner, option, value)
    return values


def convert(owner: str, option: Option, value: Any) -> Any:
    where = f"{option.flag.split()[0] if not option.extra else option.key} of '{owner}'"
    try:
        if option.kind == "regex":
            return compile_regex(str(value), where, option.flags)
        if option.kind == "regexes":
            items = [value] if isinstance(value, str) else list(value)
            return tuple(compile_regex(str(item), where, option.flags) for item in items)
        if option.kind == "int":
            return int(value)
        if option.kind == "ints":
            if isinstance(value, str):
                items = [part for part in re.split(r"[,\s]+", value) if part]
            elif isinstance(value, int):
                items = [value]
            else:
                items = list(value)
            return tuple(int(item) for item in items)
        if option.kind == "float":
            result = float(value)
            if result < 0:
                raise ValueError("must not be negative")
            return result
        if option.kind == "path":
            return Path(value)
    except (TypeError, ValueError) as error:
        raise PredicateError(f"bad value {value!r} for {where}: {error}") from None
    return str(value)


def compile_regex(pattern: str, where: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as error:
        raise PredicateError(f"bad regex {pattern!r} for {where}: {error}") from None


# --------------------------------------------------------------------------
# What predicates look at


def judged_step(outcome: Outcome) -> StepResult | None:
    """The step a stage predicate judges: ``stage`` when the test has one,
    else its last step; None when the test stopped while preparing."""
    stage = outcome.step("stage")
    if stage is not None:
        return stage
    if not outcome.steps or outcome.steps[-1].name in PREPARATION_STEPS:
        return None
    return outcome.steps[-1]


def describe_outcome(outcome: Outcome, frames: int = 3) -> str:
    """The failure's signature, or the steps' statuses when nothing failed."""
    signature = Signature.from_outcome(outcome, frames)
    if signature:
        return signature.summary()
    if not outcome.steps:
        return "nothing ran"
    return ", ".join(f"{result.name}: {result.status}" for result in outcome.steps)


def first_line(text: str | None) -> str:
    for line in (text or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def stderr_head(result: StepResult, lines: int = 3, width: int = 200) -> str:
    """The first lines a failed step printed (stderr, else stdout) on one line, for a message."""
    text = result.stderr if result.stderr.strip() else result.stdout
    head = [line.strip()[:width] for line in text.splitlines() if line.strip()][:lines]
    return " | ".join(head) if head else "it printed nothing"
