"""Predicates on the module the stage prints: what it still holds, or lacks.

This is the silent wrong result: the stage exits 0 but its output keeps
what it should have removed (the original nested memrefs and their
deallocations after canonicalize-memrefs). Only a stage that exited 0 and
printed something is judged: a failing stage prints no module, and an empty
output would make ``ir-lacks`` hold for every candidate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from carts_reduce.run.outcome import Outcome, StepResult

from interestingness.base import Option, Predicate, PredicateError, compile_regex, describe_outcome, judged_step

_OP_NAME = re.compile(r"[\w$]+(?:\.[\w$-]+)+|[\w$]+")
# Results before an op name: "%0 = ", "%a, %b = ", "%0:2 = ".
_RESULTS = r"(?:%[^=\n]*?=\s*)?"


class IrPattern:
    """``op:NAME`` (an op line of that op, custom or generic form) or a regex,
    optionally narrowed by a regex over the matching line's types."""

    def __init__(self, pattern: str, type_pattern: re.Pattern[str] | None, owner: str) -> None:
        self.text = pattern
        self.type_pattern = type_pattern
        if pattern.startswith("op:"):
            name = pattern[3:].strip()
            if not _OP_NAME.fullmatch(name):
                raise PredicateError(f"bad op name {name!r} in --ir-pattern of '{owner}' (e.g. op:memref.dealloc)")
            self.regex = re.compile(rf'^[ \t]*{_RESULTS}"?{re.escape(name)}"?(?![\w$.-])', re.M)
        else:
            self.regex = compile_regex(pattern, f"--ir-pattern of '{owner}'", re.M)

    def lines(self, module: str) -> Iterator[str]:
        """The lines that match (each once), the type pattern applied."""
        last_end = -1
        for match in self.regex.finditer(module):
            begin = module.rfind("\n", 0, match.start()) + 1
            if begin <= last_end:
                continue
            end = module.find("\n", match.end())
            end = len(module) if end == -1 else end
            last_end = end
            line = module[begin:end]
            if self.type_pattern is None or self.type_pattern.search(_types(line)):
                yield line

    def __str__(self) -> str:
        if self.type_pattern is None:
            return self.text
        return f"{self.text} with type {self.type_pattern.pattern}"


def _types(line: str) -> str:
    """The type part of an op line: what follows its first `` : `` (the
    whole line when there is none)."""
    at = line.find(" : ")
    return line[at + 3 :] if at != -1 else line


def printed_module(step: StepResult | None) -> str | None:
    if step is None or step.failed or not step.stdout.strip():
        return None
    return step.stdout


class _IrPredicate(Predicate):
    options = (
        Option("ir_pattern", "PATTERN", "a regex, or op:NAME for a line of that op (op:memref.dealloc)", required=True),
        Option("ir_type", "REGEX", "only lines whose types match it (memref<\\?xmemref<\\?x)", "regex"),
    )
    wants_match = True

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.pattern = IrPattern(self.values["ir_pattern"], self.values["ir_type"], self.name)

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        module = printed_module(judged_step(outcome))
        if module is None:
            return False
        found = next(self.pattern.lines(module), None) is not None
        return found == self.wants_match

    def describe(self, outcome: Outcome) -> str:
        step = judged_step(outcome)
        module = printed_module(step)
        if module is None:
            if step is not None and not step.failed:
                return f"{step.name} exit 0 but printed no module on stdout"
            return f"the stage did not finish with a module ({describe_outcome(outcome)})"
        count = sum(1 for _ in self.pattern.lines(module))
        return f"{step.name} exit 0; {count} line(s) of its output match {self.pattern}"


class IrContains(_IrPredicate):
    name = "ir-contains"
    help = "the stage exits 0 and the module it prints still holds a pattern (op:NAME or a regex)"
    wants_match = True


class IrLacks(_IrPredicate):
    name = "ir-lacks"
    help = "the stage exits 0 and the module it prints does not hold a pattern (op:NAME or a regex)"
    wants_match = False
