"""Predicates on what the stage prints: regexes over stderr/stdout, debug logs."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

from carts_reduce.run.outcome import Outcome, Step

from interestingness.base import Option, Predicate, PredicateError, describe_outcome, judged_step


class _StreamRegex(Predicate):
    stream = "stderr"

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.pattern: re.Pattern[str] = self.values[f"{self.stream}_regex"]

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        step = judged_step(outcome)
        return step is not None and self.pattern.search(getattr(step, self.stream)) is not None

    def describe(self, outcome: Outcome) -> str:
        step = judged_step(outcome)
        if step is None:
            return f"the stage did not run ({describe_outcome(outcome)})"
        found = self.pattern.search(getattr(step, self.stream))
        verdict = f"matches {found.group(0)[:80]!r}" if found else f"no match for {self.pattern.pattern!r}"
        return f"{step.name} {step.status}, {self.stream} {verdict}"


class StderrRegex(_StreamRegex):
    name = "stderr-regex"
    help = "the stage's stderr matches a regex (multiline: ^ and $ match at lines)"
    options = (Option("stderr_regex", "REGEX", "searched in the stage's stderr", "regex", True, flags=re.M),)
    stream = "stderr"


class StdoutRegex(_StreamRegex):
    name = "stdout-regex"
    help = "the stage's stdout matches a regex (multiline: ^ and $ match at lines)"
    options = (Option("stdout_regex", "REGEX", "searched in the stage's stdout", "regex", True, flags=re.M),)
    stream = "stdout"


# Shell syntax after which an appended argument would reach another command.
_SHELL_SEQUENCE = re.compile(r"\||;|&&|&\s*$")


def add_argument(step: Step, argument: str) -> Step:
    """``step`` with one more argument at the end of its command line."""
    if step.argv[:2] == ("/bin/sh", "-c") and len(step.argv) >= 3:
        line = step.argv[2]
        if _SHELL_SEQUENCE.search(line):
            raise PredicateError(
                f"cannot add {argument} to the shell command {line!r}: put it into the command template"
            )
        return replace(step, argv=(*step.argv[:2], f"{line} {shlex.quote(argument)}", *step.argv[3:]))
    return replace(step, argv=(*step.argv, argument))


def has_argument(step: Step, argument: str) -> bool:
    if step.argv[:2] == ("/bin/sh", "-c") and len(step.argv) >= 3:
        try:
            return argument in shlex.split(step.argv[2])
        except ValueError:  # quoting shlex cannot follow: look at the text
            return argument in step.argv[2]
    return argument in step.argv


class DebugLog(Predicate):
    name = "debug-log"
    help = "runs the stage with --debug-only=NAME and searches its debug output (stderr) with a regex"
    options = (
        Option("debug_only", "NAME", "the LLVM_DEBUG channel(s) to turn on", required=True),
        Option("debug_regex", "REGEX", "searched in the debug output", "regex", True, flags=re.M),
        Option(
            "debug_flag",
            "TEMPLATE",
            "how the channel is passed (default --debug-only={name}; newer carts: --arts-debug={name})",
            extra=True,
        ),
    )

    def __init__(self, options=None) -> None:
        super().__init__(options)
        template = self.values["debug_flag"] or "--debug-only={name}"
        if "{name}" not in template:
            raise PredicateError(f"debug_flag of 'debug-log' must contain {{name}}: {template!r}")
        self.flag = template.replace("{name}", self.values["debug_only"])
        self.pattern: re.Pattern[str] = self.values["debug_regex"]

    def adjust(self, steps: list[Step], expand) -> list[Step]:
        steps = list(steps)
        names = [step.name for step in steps]
        index = names.index("stage") if "stage" in names else len(steps) - 1
        if index < 0:
            raise PredicateError("debug-log needs a stage step to add its flag to")
        if not has_argument(steps[index], self.flag):
            steps[index] = add_argument(steps[index], self.flag)
        return steps

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        step = judged_step(outcome)
        return step is not None and self.pattern.search(step.stderr) is not None

    def describe(self, outcome: Outcome) -> str:
        step = judged_step(outcome)
        if step is None:
            return f"the stage did not run ({describe_outcome(outcome)})"
        found = self.pattern.search(step.stderr)
        verdict = "matches" if found else f"has no match for {self.pattern.pattern!r}"
        return f"{step.name} {step.status}, the {self.flag} log {verdict}"
