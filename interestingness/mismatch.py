"""output-mismatch: two builds of the candidate run and print different results.

The CARTS build (``carts execute {input} -O3``) and a reference build (the
OpenMP program compiled with ``gcc -fopenmp``) run as steps ``reference``
and ``candidate``; the candidate is interesting when both exit 0 and their
outputs differ. Outputs are compared token by token, numbers by value within
a tolerance, so formatting and rounding noise is not a mismatch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from carts_reduce.run.outcome import Outcome, Step, StepResult

from interestingness.base import Option, Predicate

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"{_NUMBER}|[^\s\d.+-]+|\S")
_IS_NUMBER = re.compile(rf"{_NUMBER}|[-+]?(?:nan|inf|infinity)", re.I)


def tokens(text: str, ignore: re.Pattern[str] | None = None) -> list[str]:
    if ignore is not None:
        text = "\n".join(line for line in text.splitlines() if not ignore.search(line))
    return _TOKEN.findall(text)


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
    reference: str, candidate: str, tolerance: float = 0.0, ignore: re.Pattern[str] | None = None
) -> Difference | None:
    """Where two outputs first differ beyond ``tolerance``; None when they agree."""
    left, right = tokens(reference, ignore), tokens(candidate, ignore)
    for index, (a, b) in enumerate(zip(left, right)):
        if not same_token(a, b, tolerance):
            return Difference(index, a, b)
    if len(left) != len(right):
        return Difference(-1, str(len(left)), str(len(right)))
    return None


def _ran(step: StepResult | None) -> bool:
    return step is not None and not step.failed


class OutputMismatch(Predicate):
    name = "output-mismatch"
    help = "a reference and a candidate build of the input both run and print different results"
    options = (
        Option("reference_command", "TEMPLATE", "builds and runs the reference (gcc -fopenmp ...)", required=True),
        Option("candidate_command", "TEMPLATE", "builds and runs the candidate ({carts} execute {input} -O3)", required=True),
        Option("float_tolerance", "TOL", "numbers closer than this (relative or absolute) are equal", "float"),
        Option("mismatch_ignore", "REGEX", "output lines matching it are left out (timings)", "regex", extra=True),
    )

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.tolerance: float = self.values["float_tolerance"] or 0.0

    def adjust(self, steps: list[Step], expand) -> list[Step]:
        # The two builds are the test; of the usual steps only the cheap
        # validity checks stay in front of them.
        kept = [step for step in steps if step.name == "precheck"]
        return [
            *kept,
            Step("reference", expand(self.values["reference_command"])),
            Step("candidate", expand(self.values["candidate_command"])),
        ]

    def difference(self, outcome: Outcome) -> Difference | None:
        reference, candidate = outcome.step("reference"), outcome.step("candidate")
        if not (_ran(reference) and _ran(candidate)):
            return None
        return first_difference(reference.stdout, candidate.stdout, self.tolerance, self.values["mismatch_ignore"])

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        return self.difference(outcome) is not None

    def describe(self, outcome: Outcome) -> str:
        reference, candidate = outcome.step("reference"), outcome.step("candidate")
        statuses = ", ".join(f"{r.name}: {r.status}" for r in outcome.steps) or "nothing ran"
        if not (_ran(reference) and _ran(candidate)):
            return f"the two builds did not both run ({statuses})"
        found = self.difference(outcome)
        if found is None:
            return f"outputs agree within {self.tolerance:g} ({statuses})"
        return f"outputs differ at {found} ({statuses})"
