"""The bug report of a wrong-code reduction (``--predicate output-mismatch``).

A wrong-output report is filed by someone who cannot run the reducer's
test: it has to show, on its own, that the two builds of one small program
print different results. So it holds the two commands, both outputs with
the lines that differ marked on each side, the reduced program, the guards
every verdict passed (the UB checks that make the difference a compiler's,
not the program's), and the versions of the tools. Nothing in it names a
place on the machine that made it: commands say ``carts`` and ``input.c``,
and any absolute path in an output or a guard line is cut to its file name.
"""

from __future__ import annotations

import re
import shlex
from carts_reduce import __version__
from carts_reduce.record import ReductionRecord
from carts_reduce.run.outcome import Outcome, Step, StepResult

TITLE = "Wrong output"
#: The marks put in front of each output line.
DIFFERS, SAME, LEFT_OUT = "! ", "  ", "~ "
MAX_OUTPUT_LINES = 80  # longer outputs keep their marked lines and a little context
CONTEXT = 2
VERSION_STEP = "version "
# A C compiler at the start of a shell command: cc, gcc, gcc-14, clang, clang-19, a path to one.
_COMPILER = re.compile(r"^(?:\S*/)?((?:\w+-)*(?:gcc|cc|clang)(?:-[\d.]+)?)$")
# A guard line names its compiler: "warnings as errors (clang-19: ...", "a clean run (clang-19 -fsanitize)".
_GUARD_COMPILER = re.compile(r"\(((?:\w+-)*(?:gcc|cc|clang)(?:-[\d.]+)?)(?::| -fsanitize)")
# An absolute path (two components or more): only its file name says something to the reader.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/(?:[^\s/:()'\"`,;]+/)+([^\s/:()'\"`,;]*)")


def is_wrong_output(record: ReductionRecord) -> bool:
    """Whether ``record`` is of a wrong-code reduction."""
    return any(re.search(r"\boutput-mismatch\b", spec) for spec in record.predicates or [])


def mismatch_predicate(record: ReductionRecord):
    """The recorded output-mismatch predicate (commands, tolerance, lines left out)."""
    from interestingness.compose import flatten_options
    from interestingness.mismatch import OutputMismatch

    flat, _ = flatten_options(record.predicate_options)
    known = {option.key for option in OutputMismatch.options}
    return OutputMismatch({key: value for key, value in flat.items() if key in known})


def portable(text: str) -> str:
    """``text`` with every absolute path cut to its file name."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


def shown_command(template: str, input_name: str, carts: str = "carts") -> str:
    """A command template as the reader runs it: the file as ``input_name``, the driver as ``carts``."""
    line = template.replace("{includes}", "").replace("{input}", shlex.quote(input_name))
    return portable(line.replace("{carts}", carts))


def build_name(template: str) -> str:
    """What a command builds with, for prose: ``carts execute``, ``gcc -fopenmp -O0 -DARTS``."""
    line = template.replace("{carts}", "carts").replace("{includes}", "")
    head = re.split(r"\s*(?:&&|;|\|)\s*", line, maxsplit=1)[0]
    return portable(head.split("{input}", 1)[0].strip()) or "the command"


def compilers(record: ReductionRecord) -> list[str]:
    """The C compilers the two commands and the guards ran, by name, in order of appearance."""
    found: list[str] = []
    for template in record.commands or []:
        for segment in re.split(r"&&|;|\|\|?", template):
            words = segment.split()
            match = _COMPILER.match(words[0]) if words else None
            if match:
                found.append(words[0])
    for line in record.guards or []:
        found += _GUARD_COMPILER.findall(line)
    return list(dict.fromkeys(found))


def version_steps(record: ReductionRecord) -> list[Step]:
    """Steps that print each compiler's version; none stops the test."""
    return [Step(VERSION_STEP + name, (name, "--version"), stop_on_failure=False) for name in compilers(record)]


def rerun_steps(record: ReductionRecord, expand) -> list[Step]:
    """What a wrong-output report runs once more: the compilers' versions, then the two builds."""
    return [*version_steps(record), *mismatch_predicate(record).adjust([], expand)]


def marked_output(text: str, marked: set[int], compared: set[int]) -> str:
    """``text`` with each line marked: differing, the same, or left out of the comparison.
    A long output keeps its differing lines with some context around each."""
    lines = text.splitlines()
    marks = [DIFFERS if n in marked else SAME if n in compared else LEFT_OUT for n in range(1, len(lines) + 1)]
    shown = range(len(lines))
    if len(lines) > MAX_OUTPUT_LINES:
        keep = {i + d for i in range(len(lines)) if marks[i] == DIFFERS for d in range(-CONTEXT, CONTEXT + 1)}
        shown = sorted(i for i in keep if 0 <= i < len(lines))[:MAX_OUTPUT_LINES] or range(MAX_OUTPUT_LINES)
    out: list[str] = []
    previous = -1
    for index in shown:
        if index != previous + 1:
            out.append(f"   ... ({index - previous - 1} lines)")
        out.append(marks[index] + portable(lines[index]))
        previous = index
    if previous < len(lines) - 1:
        out.append(f"   ... ({len(lines) - 1 - previous} lines)")
    return "\n".join(out) if out else "(no output)"


def _code_span(line: str, limit: int = 120) -> str:
    """One output line as a Markdown code span, cut to ``limit`` characters."""
    return "`" + portable(line.strip())[:limit].replace("`", "'") + "`"


def _first_line(result: StepResult) -> str:
    text = (result.stdout or result.stderr).strip()
    return portable(text.splitlines()[0]) if text else ""


class WrongOutputReport:
    """Renders the report; ``fence`` and ``md`` are the Markdown helpers of the bug report."""

    def __init__(self, record: ReductionRecord, text: str, outcome: Outcome | str | None, fence, md, size_rows):
        self.record, self.text = record, text
        self.outcome = outcome if isinstance(outcome, Outcome) else None
        self.saved = outcome if isinstance(outcome, str) else None
        self.fence, self.md, self.size_rows = fence, md, size_rows
        self.predicate = mismatch_predicate(record)
        # The commands as the reduction expanded its defaults; an older record has only the options.
        self.reference, self.candidate = (record.commands or self.predicate.commands)[:2]

    def title(self) -> str:
        candidate, reference = build_name(self.candidate), build_name(self.reference)
        found = self._differing_pair()
        if found:
            return f"{TITLE}: `{candidate}` prints {found[1]}, `{reference}` prints {found[0]}"
        return f"{TITLE}: `{candidate}` prints other results than `{reference}`"

    def _differing_pair(self) -> tuple[str, str] | None:
        """The first differing line of each output (as code spans)."""
        if self.outcome is None or self.predicate.difference(self.outcome) is None:
            return None
        left, right = self.predicate.differing_lines(self.outcome)
        if not (left and right):
            return None
        ref = self.outcome.step("reference").stdout.splitlines()[min(left) - 1]
        cand = self.outcome.step("candidate").stdout.splitlines()[min(right) - 1]
        return _code_span(ref), _code_span(cand)

    def render(self, name: str, language: str) -> str:
        record = self.record
        lines = [f"# {self.title()}", ""]
        lines += [
            f"The {len(self.text.splitlines())}-line program below prints different results when built by "
            f"`{build_name(self.candidate)}` (the candidate) than when built by `{build_name(self.reference)}` "
            f"(the reference). carts-reduce reduced it from `{self.md(portable(record.input_name))}`.",
            "",
        ]
        if record.standin:
            lines += ["> Reduced against the test stand-in of `carts`, not a real CARTS build.", ""]
        lines += ["## Commands", "", "Save the program as " f"`{name}`, then run each build:", ""]
        lines.append(self.fence(
            f"# reference\n{shown_command(self.reference, name)}\n# candidate\n{shown_command(self.candidate, name)}",
            "sh"))
        lines += [self._comparison(), ""]
        lines += ["## Outputs", ""] + self._outputs()
        lines += [f"## Reduced program (`{name}`)", "", self.fence(self.text, language)]
        lines += ["## Guards", ""] + self._guards()
        lines += ["## Versions", ""] + self._versions()
        lines += ["## Reduction", ""] + self._reduction()
        return "\n".join(lines).rstrip() + "\n"

    def _comparison(self) -> str:
        noise = self.predicate.values["mismatch_noise"]  # None: the usual timing lines; "none": nothing
        dropped = ["timing lines"] if noise is None else [] if noise == "none" else [
            f"lines matching `{self.md(noise)}`"]
        ignore = self.predicate.values["mismatch_ignore"]
        if ignore is not None:
            dropped.append(f"lines matching `{self.md(ignore.pattern)}`")
        tolerance = self.predicate.tolerance
        return ("The outputs are compared token by token, numbers by value"
                + (f" within {tolerance:g} (relative or absolute)" if tolerance else "")
                + (f"; left out of the comparison: {', '.join(dropped)}." if dropped else "."))

    def _outputs(self) -> list[str]:
        if self.outcome is None:
            note = "The outputs were not captured (the builds were not run again)."
            if self.saved:
                return [note + " Saved output:", "", self.fence(portable(self.saved), "text")]
            return [note, ""]
        out = [f"Marks: `{DIFFERS.strip()}` a line that differs from the other output, `{LEFT_OUT.strip()}` a line "
               "left out of the comparison.", ""]
        left, right = self.predicate.differing_lines(self.outcome)
        for label, name, marked in (("reference", self.reference, left), ("candidate", self.candidate, right)):
            result = self.outcome.step(label)
            out.append(f"### {label}: `{build_name(name)}`" + (f" ({result.status})" if result else ""))
            out.append("")
            if result is None:
                out += ["(did not run: an earlier step failed)", ""]
                continue
            compared = {n for n, _ in _kept(result.stdout, self.predicate)}
            out.append(self.fence(marked_output(result.stdout, marked, compared), "text"))
            if result.failed and result.stderr.strip():
                out += ["Its errors:", "", self.fence(portable(result.stderr.strip()), "text")]
        if self.predicate.difference(self.outcome) is None:
            out += ["> Run again for this report, the two outputs agree (or a build failed): "
                    + self.md(portable(self.predicate.describe(self.outcome))), ""]
        return out

    def _guards(self) -> list[str]:
        guards = self.record.guards or []
        if not guards:
            return ["None: the program was reduced without the UB guard (`--no-ub-guard`), so its difference may "
                    "come from undefined behaviour rather than the compiler.", ""]
        return ["Every candidate taken on the way passed these checks (each build's macros where they differ):", "",
                *[f"- {self.md(portable(line))}" for line in guards], ""]

    def _versions(self) -> list[str]:
        record = self.record
        lines = [f"- carts: {self.md(portable(record.carts_version or 'not reported'))}",
                 f"- carts-reduce: {record.tool_version or __version__}"]
        for name in compilers(record):
            result = self.outcome.step(VERSION_STEP + name) if self.outcome else None
            found = _first_line(result) if result is not None and not result.failed else ""
            lines.append(f"- {self.md(name)}: {self.md(found) if found else 'not reported'}")
        return [*lines, ""]

    def _reduction(self) -> list[str]:
        record = self.record
        lines = [*self.size_rows(record), ""]
        share = f"; {100 * record.guard_share:.0f}% of the tests' time went to the guards' checks" \
            if record.guard_share is not None else ""
        lines.append(f"{record.tests_run:,} tests run ({record.cache_hits:,} more answered from the cache, "
                     f"{record.followups_run:,} sanitizer follow-ups) in {record.wall_seconds:.1f} s{share}.")
        return [*lines, ""]


def _kept(text: str, predicate) -> list[tuple[int, str]]:
    from interestingness.mismatch import kept_lines

    return kept_lines(text, predicate.drop)
