"""A Markdown bug report from a reduced case.

A report has to be actionable by someone who never saw the original input:
the failure in the title, the exact command, the reduced input, the lines of
output that identify the failure (not a dump of the whole module), how much
was cut away, and one command that reproduces it.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path, PurePath
from typing import Any

import anyio

from carts_reduce import __version__
from carts_reduce.corpus.store import frontend_for, signature_summary
from carts_reduce.corpus.wrong_output import WrongOutputReport, is_wrong_output, rerun_steps
from carts_reduce.run.outcome import Outcome, StepResult, signal_name
from carts_reduce.record import ReductionRecord
from carts_reduce.signature import Frame, Signature, is_machinery
from carts_reduce.run.tool import Tool

# Lines that name a failure, whatever else the output holds.
_KEY_LINE = re.compile(
    r"\[ERROR\]"
    r"|(^|:\s)error:"
    r"|^LLVM ERROR:"
    r"|UNREACHABLE executed"
    r"|Assertion .* failed"
    r"|^Stack dump:"
    r"|^\d+\.\t"  # crash context: "0.\tProgram arguments: ...", "1.\tRunning pass ..."
    r"|^terminate called"
    r"|^(Segmentation fault|Aborted|Floating point exception)"
)
_NOTE_LINE = re.compile(r"(^|:\s)note:")
# Both LLVM stack dump styles: " #7 0x... fn(...) (lib+0x..)" and "7  lib.so 0x... fn + 12".
_FRAME = re.compile(r"^\s*#?(\d+)\s+(?:0x[0-9a-fA-F]+\s+(?:in\s+)?(?P<a>.*)|(?P<module>\S+)\s+0x[0-9a-fA-F]+\s*(?P<b>.*))$")
_MODULE_SUFFIX = re.compile(r"\s*\(([^()\s]*?)\+0x[0-9a-fA-F]+\)$")
TOP_FRAMES = 6
MAX_NOTES = 3


def _parse_frame(line: str) -> Frame | None:
    match = _FRAME.match(line)
    if not match or "0x" not in line:
        return None
    module = match.group("module") or ""
    text = (match.group("a") or match.group("b") or "").strip()
    suffix = _MODULE_SUFFIX.search(text)
    if suffix:
        module, text = suffix.group(1), text[: suffix.start()]
    text = re.sub(r"\s*\+\s*\d+$", "", text)  # "+ 54"
    return Frame(int(match.group(1)), module.rsplit("/", 1)[-1], text.strip())


def failure_excerpt(output: str, top_frames: int = TOP_FRAMES) -> str:
    """The lines of a failure's output that matter: ``[ERROR]`` lines, diagnostics,
    the assertion, the crash context and the top frames of the stack dump.
    Runs of dropped lines are shown as one ``...``. When nothing is recognised,
    the last lines are kept."""
    lines = output.splitlines()
    keep: list[int] = []
    frame_lines: set[int] = set()
    frames_seen = 0
    notes = 0
    for index, line in enumerate(lines):
        frame = _parse_frame(line)
        if frame is not None:
            # The crash machinery (signal handler, raise, abort) says nothing about the bug.
            if frames_seen < top_frames and not is_machinery(frame):
                keep.append(index)
                frame_lines.add(index)
                frames_seen += 1
        elif _KEY_LINE.search(line):
            keep.append(index)
            notes = 0
        elif _NOTE_LINE.search(line) and notes < MAX_NOTES:
            keep.append(index)
            notes += 1
    if not keep:
        tail = lines[-15:]
        return "\n".join((["..."] if len(lines) > len(tail) else []) + tail)
    out: list[str] = []
    previous = -1
    for index in keep:
        # Frames carry their own numbers: a gap between two needs no marker.
        if index != previous + 1 and not (index in frame_lines and previous in frame_lines):
            out.append("...")
        line = lines[index]
        out.append(line if len(line) <= 400 else line[:400] + " ...")
        previous = index
    if previous != len(lines) - 1:
        out.append("...")
    return "\n".join(out)


def _failing_result(outcome: Outcome) -> StepResult:
    for result in outcome.steps:
        if result.failed:
            return result
    return outcome.main


def _pattern_excerpt(stdout: str, options: dict[str, Any], limit: int = 12) -> str:
    """Lines of the stage's printed module that match the IR pattern (as the
    ir-contains predicate reads it: a regex or ``op:NAME``, narrowed by ``ir_type``)."""
    from interestingness import PredicateError
    from interestingness.ir import IrPattern

    try:
        type_regex = re.compile(str(options["ir_type"])) if options.get("ir_type") else None
        pattern = IrPattern(str(options["ir_pattern"]), type_regex, "ir-contains")
    except (PredicateError, re.error) as error:
        return f"(cannot search the output: {error})"
    hits = list(pattern.lines(stdout))
    if not hits:
        return "(the pattern is not in the output)"
    shown = hits[:limit]
    if len(hits) > limit:
        shown.append(f"... ({len(hits) - limit} more)")
    return "\n".join(shown)


def _md(text: str) -> str:
    """Text for Markdown prose: backticks, emphasis, links and ``<...>`` (read as
    HTML tags: ``vector<int>``) escaped."""
    return re.sub(r"([\\`*_<>\[\]])", r"\\\1", text)


def _fence(text: str, language: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{language}\n{body}{fence}\n"


def _language(record: ReductionRecord) -> str:
    return {"mlir": "mlir", "c": "c"}.get(record.format, "text")


def _file_name(record: ReductionRecord) -> str:
    suffix = PurePath(record.output or "").suffix or PurePath(record.input_name or "").suffix
    return "input" + (suffix or ".txt")


def command_line(record: ReductionRecord, input_name: str, carts: str | None = None) -> str:
    """The test's commands as one shell line (a C front end redirected into the stage)."""
    tool = Tool(
        input_name=input_name,
        carts=carts if carts is not None else (record.carts or "carts"),
        stage=record.stage,
        command=record.command,
        format=record.format,
        frontend=frontend_for(record),
    )
    parts: list[str] = []
    for step in tool.steps():
        argv = step.argv
        line = argv[2] if argv[:2] == ("/bin/sh", "-c") else shlex.join(argv)
        if step.stdout_path:
            line += f" > {shlex.quote(step.stdout_path)}"
        parts.append(line)
    return " && ".join(parts)


def _lacks(record: ReductionRecord) -> bool:
    return any("ir-lacks" in spec for spec in record.predicates or [])


def report_title(record: ReductionRecord) -> str:
    where = f"--{record.stage}" if record.stage else "the test command"
    sig = record.signature
    pattern = (record.predicate_options or {}).get("ir_pattern")
    if not sig and pattern:
        verb = "lacks" if _lacks(record) else "still holds"
        return f"`{where}` exits normally but its output {verb} `{pattern}`"
    if not sig:
        return f"`{where}` fails ({_md(', '.join(record.predicates) or 'interesting')})"
    return f"`{where}`: {_md(signature_summary(sig))}"


def _size_rows(record: ReductionRecord) -> list[str]:
    before, after = record.sizes_before or {}, record.sizes_after or {}
    rows = ["| measure | original | reduced | kept |", "|---|---:|---:|---:|"]
    for key in ("bytes", "lines", "chars", "ops", "tokens"):
        if key in before and key in after:
            kept = f"{100.0 * after[key] / before[key]:.1f}%" if before[key] else "-"
            rows.append(f"| {key} | {before[key]:,} | {after[key]:,} | {kept} |")
    return rows


def _output_section(record: ReductionRecord, outcome_or_stderr: Outcome | str | None) -> tuple[str, str]:
    """(intro sentence, excerpt) for the failure output section."""
    if outcome_or_stderr is None:
        return "The output was not captured.", ""
    if isinstance(outcome_or_stderr, str):
        return "Relevant lines of the output:", failure_excerpt(outcome_or_stderr)
    outcome = outcome_or_stderr
    result = _failing_result(outcome)
    options = record.predicate_options or {}
    pattern = options.get("ir_pattern")
    if not result.failed and pattern and _lacks(record):
        return f"`{result.name}` step: {result.status}, and its output has no line matching `{pattern}`.", ""
    if not result.failed and pattern:
        return (
            f"`{result.name}` step: {result.status}, but its output still holds `{pattern}`:",
            _pattern_excerpt(result.stdout, options),
        )
    status = result.status
    if result.signal is not None:
        status = f"killed by {signal_name(result.signal)}"
    text = result.stderr if result.stderr.strip() else result.stdout
    return f"`{result.name}` step: {status}. Relevant lines of its output:", failure_excerpt(text)


def render_report(record: ReductionRecord, reduced_text: str, outcome_or_stderr: Outcome | str | None) -> str:
    """The Markdown bug report of a reduced case."""
    name = _file_name(record)
    if is_wrong_output(record):
        return WrongOutputReport(record, reduced_text, outcome_or_stderr, _fence, _md, _size_rows).render(
            name, _language(record))
    lines: list[str] = [f"# {report_title(record)}", ""]
    who = "CARTS" if "{carts}" in record.command else "The command below"
    what = f" at stage `{record.stage}`" if record.stage and "{stage}" in record.command else ""
    lines += [
        f"{who} fails{what} on the {len(reduced_text.splitlines())}-line input below, "
        f"reduced by carts-reduce from `{record.input_name}`.",
        "",
    ]
    if record.standin:
        lines += ["> Reduced against the test stand-in of `carts`, not a real CARTS build.", ""]

    lines += ["## Command", "", _fence(command_line(record, name), "sh")]

    lines += ["## Versions", ""]
    lines.append(f"- carts: {record.carts_version or 'not reported (`carts --version` unavailable)'}")
    lines.append(f"- carts-reduce: {record.tool_version or __version__}")
    if record.signature:
        lines.append(f"- failure signature: {_md(Signature.from_dict(record.signature).summary())}")
    if record.predicates:
        lines.append(f"- interestingness: {_md(', '.join(record.predicates))}")
    lines.append("")

    lines += _pipeline_section(record.pipeline or {}, record.input_name)

    lines += [f"## Reduced input (`{name}`)", "", _fence(reduced_text, _language(record))]

    intro, excerpt = _output_section(record, outcome_or_stderr)
    lines += ["## Failure output", "", intro, ""]
    if excerpt:
        lines.append(_fence(excerpt, "text"))

    lines += ["## Reduction", ""]
    lines += _size_rows(record)
    lines.append("")
    lines.append(
        f"{record.tests_run:,} tests run ({record.cache_hits:,} more answered from the cache) in {record.wall_seconds:.1f} s."
    )
    helped = sorted((record.passes_helped or {}).items(), key=lambda kv: -kv[1])
    if helped:
        lines.append("Passes that helped most: " + ", ".join(f"{k} (-{v:,} B)" for k, v in helped[:5]) + ".")
    lines.append("")

    lines += [
        "## Reproduce",
        "",
        f"Save the reduced input as `{name}`, then run:",
        "",
        _fence(command_line(record, name, carts="carts"), "sh"),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _pipeline_section(pipeline: dict[str, Any], input_name: str) -> list[str]:
    """Which stage fails, what the reduced input is, which passes the failure needs."""
    if not pipeline:
        return []
    lines = ["## Pipeline", ""]
    culprit = pipeline.get("culprit")
    if culprit:
        passes = ", ".join(f"`{p}`" for p in culprit.get("passes") or [])
        lines.append(
            f"- fails in stage `{culprit['stage']}`" + (f" (its passes: {passes})" if passes else "")
            + f"; found by bisection over the pipeline's stages in {culprit['runs']} runs"
        )
    if pipeline.get("start_from"):
        stage = pipeline["start_from"]
        lines.append(
            f"- the reduced input is the module that enters `{stage}` (dumped from `{_md(input_name)}` "
            f"with `--pipeline` at the stage before), and the command runs `{stage}` alone"
        )
    if pipeline.get("passes_before") is not None:
        before, after = pipeline["passes_before"], pipeline.get("passes") or []
        kept = " ".join(after) or "(none)"
        lines.append(f"- the failure needs {len(after)} of the {len(before)} passes given: `{kept}`")
        dropped = [p for p in before if p not in after]
        if dropped:
            lines.append(f"- passes that do not matter: `{' '.join(dropped)}`")
    return [*lines, ""]


async def rerun_record(record: ReductionRecord, text: str, carts: str | None, timeout: float = 120.0,
                       run=None) -> Outcome | None:
    """Run a reduced output once more with its recorded command (by ``run``, an
    executor's, else here), to show its failure; None when the carts it needs
    cannot be found."""
    from carts_reduce.run.runner import run_test

    carts = carts or record.carts
    if is_wrong_output(record):  # its own two commands run, not the stage
        uses_carts = any("{carts}" in command for command in record.commands or ["{carts}"])
    else:
        uses_carts = "{carts}" in record.command or frontend_for(record) is not None
    if uses_carts:
        found = shutil.which(carts or "carts")
        if found is None:
            return None
        carts = str(Path(found).resolve()) if "/" in (carts or "") else found
    tool = Tool(
        input_name=_file_name(record),
        carts=carts,
        stage=record.stage,
        command=record.command,
        format=record.format,
        frontend=frontend_for(record),
    )
    steps = rerun_steps(record, tool.expand) if is_wrong_output(record) else tool.steps()
    return await (run or run_test)(tool.spec(text, steps, timeout))


def write_report(
    reduced: Path,
    target: Path,
    failure: Outcome | str | None = None,
    run: bool = True,
    carts: str | None = None,
    timeout: float = 120.0,
) -> str:
    """Render the report of ``reduced`` (its record beside it) into ``target``.
    Without ``failure``, the case is run once more to capture its output.
    Synchronous: call it outside an event loop. Returns the Markdown."""
    reduced = Path(reduced)
    record = ReductionRecord.load(ReductionRecord.path_for(reduced))
    text = reduced.read_bytes().decode("utf-8", "surrogateescape")
    if failure is None and run:
        failure = anyio.run(rerun_record, record, text, carts, timeout)
    markdown = render_report(record, text, failure)
    Path(target).write_text(markdown)
    return markdown
