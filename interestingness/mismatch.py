"""output-mismatch: two builds of the candidate run and print different results.

The reference build and the build under test run as steps ``reference`` and
``candidate``; the candidate is interesting when both exit 0 and their
outputs differ. By default the reference is the OpenMP program built with
``cc -fopenmp`` and run, and the candidate ``carts execute``, which builds
the ARTS version and runs it; both are command templates. No stage runs.

Outputs are compared token by token, numbers by value within a tolerance,
after dropping noise: lines matching ``mismatch_ignore`` and timing lines
(``kernel.gemm: 0.0012s``, ``time: 0.31``, ``Elapsed time = 2 ms``: what
benchmarks print about their speed), so formatting, rounding and timing are
not a mismatch.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from carts_reduce.run.outcome import Outcome, Step, StepResult

from interestingness.base import Option, Predicate, compile_regex, stderr_head

#: The OpenMP build of the program, built and run: what it prints without ARTS.
DEFAULT_REFERENCE = "cc -fopenmp -O0 {includes}{input} -o reference -lm && ./reference"
#: The ARTS build through the CARTS driver, which builds the program and runs it.
DEFAULT_CANDIDATE = "{carts} execute {input}"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"{_NUMBER}|[^\s\d.+-]+|\S")
_IS_NUMBER = re.compile(rf"{_NUMBER}|[-+]?(?:nan|inf|infinity)", re.I)
#: Lines that report a time: a label and a duration (``e2e.gemm: 0.12s``,
#: ``parallel.x[worker=1]: 0.5s``), or a label ending in a word for time and
#: a number (``time: 0.31``, ``Kernel time (s): 0.2``, ``Elapsed time = 2 ms``).
TIMING_NOISE = re.compile(
    rf"^\s*[\w.\-\[\]=]+\s*:\s*{_NUMBER}\s*(?:s|secs?|seconds|ms|us|µs|ns)\s*$"
    r"|^[^:=\n]*\b(?:time|elapsed|timing|duration|runtime)\s*(?:\([^)]*\)|\[[^\]]*\])?\s*[:=]\s*[-+]?\.?\d",
    re.I,
)


def kept_lines(text: str, drop: Sequence[re.Pattern[str]] = ()) -> list[tuple[int, str]]:
    """The lines of ``text`` that are compared, with their line numbers (from 1)."""
    return [
        (number, line)
        for number, line in enumerate(text.splitlines(), 1)
        if not any(pattern.search(line) for pattern in drop)
    ]


def tokens(text: str, drop: Sequence[re.Pattern[str]] = ()) -> list[str]:
    return _TOKEN.findall("\n".join(line for _, line in kept_lines(text, drop)))


def same_token(a: str, b: str, tolerance: float) -> bool:
    if a == b:
        return True
    if not (_IS_NUMBER.fullmatch(a) and _IS_NUMBER.fullmatch(b)):
        return False
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance)


@dataclass(frozen=True)
class Difference:
    index: int  # token index, -1 when only the lengths differ
    reference: str
    candidate: str

    def __str__(self) -> str:
        if self.index < 0:
            return f"{self.reference} vs {self.candidate} tokens"
        return f"token {self.index}: {self.reference!r} vs {self.candidate!r}"


def first_difference(
    reference: str, candidate: str, tolerance: float = 0.0, drop: Sequence[re.Pattern[str]] = ()
) -> Difference | None:
    """Where two outputs first differ beyond ``tolerance``; None when they agree."""
    left, right = tokens(reference, drop), tokens(candidate, drop)
    for index, (a, b) in enumerate(zip(left, right)):
        if not same_token(a, b, tolerance):
            return Difference(index, a, b)
    if len(left) != len(right):
        return Difference(-1, str(len(left)), str(len(right)))
    return None


def differing_lines(
    reference: str, candidate: str, tolerance: float = 0.0, drop: Sequence[re.Pattern[str]] = ()
) -> tuple[set[int], set[int]]:
    """The numbers of the compared lines that differ, in each output.

    Lines are aligned by their shape (numbers as placeholders), so one line
    more on one side marks that line, not everything after it; aligned lines
    differ when a token does, numbers beyond ``tolerance``."""
    left, right = kept_lines(reference, drop), kept_lines(candidate, drop)

    def shape(line: str) -> str:
        return " ".join("#" if _IS_NUMBER.fullmatch(token) else token for token in _TOKEN.findall(line))

    marked: tuple[set[int], set[int]] = (set(), set())
    matcher = difflib.SequenceMatcher(None, [shape(line) for _, line in left], [shape(line) for _, line in right],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = zip(left[i1:i2], right[j1:j2]) if tag == "equal" else ()
        for (a_number, a), (b_number, b) in pairs:
            if first_difference(a, b, tolerance) is not None:
                marked[0].add(a_number)
                marked[1].add(b_number)
        if tag != "equal":
            marked[0].update(number for number, _ in left[i1:i2])
            marked[1].update(number for number, _ in right[j1:j2])
    return marked


def _ran(step: StepResult | None) -> bool:
    return step is not None and not step.failed


class OutputMismatch(Predicate):
    name = "output-mismatch"
    help = "a reference and a candidate build of the input both run and print different results (no stage runs)"
    options = (
        Option("reference_command", "TEMPLATE", f"builds and runs the reference [default: {DEFAULT_REFERENCE}]"),
        Option("candidate_command", "TEMPLATE", f"builds and runs the build under test [default: {DEFAULT_CANDIDATE}]"),
        Option("float_tolerance", "TOL", "numbers closer than this (relative or absolute) are equal", "float"),
        Option("mismatch_ignore", "REGEX", "output lines matching it are left out", "regex", extra=True),
        Option("mismatch_noise", "REGEX", "noise lines left out [default: timing lines; 'none' keeps them]",
               extra=True),
    )

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.tolerance: float = self.values["float_tolerance"] or 0.0
        self.reference_command: str = self.values["reference_command"] or DEFAULT_REFERENCE
        self.candidate_command: str = self.values["candidate_command"] or DEFAULT_CANDIDATE
        noise = self.values["mismatch_noise"]
        drop = [] if noise == "none" else [TIMING_NOISE if noise is None else compile_regex(noise, "mismatch_noise")]
        if self.values["mismatch_ignore"] is not None:
            drop.append(self.values["mismatch_ignore"])
        self.drop: tuple[re.Pattern[str], ...] = tuple(drop)

    @property
    def commands(self) -> tuple[str, ...]:
        return (self.reference_command, self.candidate_command)

    def adjust(self, steps: list[Step], expand) -> list[Step]:
        # The two builds are the test; of the usual steps only the cheap
        # validity checks stay in front of them.
        kept = [step for step in steps if step.name == "precheck"]
        return [
            *kept,
            Step("reference", expand(self.reference_command)),
            Step("candidate", expand(self.candidate_command)),
        ]

    def difference(self, outcome: Outcome) -> Difference | None:
        reference, candidate = outcome.step("reference"), outcome.step("candidate")
        if not (_ran(reference) and _ran(candidate)):
            return None
        return first_difference(reference.stdout, candidate.stdout, self.tolerance, self.drop)

    def differing_lines(self, outcome: Outcome) -> tuple[set[int], set[int]]:
        reference, candidate = outcome.step("reference"), outcome.step("candidate")
        if not (_ran(reference) and _ran(candidate)):
            return set(), set()
        return differing_lines(reference.stdout, candidate.stdout, self.tolerance, self.drop)

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        return self.difference(outcome) is not None

    def describe(self, outcome: Outcome) -> str:
        reference, candidate = outcome.step("reference"), outcome.step("candidate")
        statuses = ", ".join(f"{r.name}: {r.status}" for r in outcome.steps) or "nothing ran"
        if not (_ran(reference) and _ran(candidate)):
            failed = next((r for r in (reference, candidate) if r is not None and r.failed), None)
            failed = failed or next((r for r in outcome.steps if r.failed), None)  # what stopped the test
            if failed is None:
                return f"the two builds did not both run ({statuses})"
            return f"the {failed.name} step failed ({statuses}): {stderr_head(failed)}"
        found = self.difference(outcome)
        if found is None:
            return f"outputs agree within {self.tolerance:g} ({statuses})"
        return f"outputs differ at {found} ({statuses})"
