"""The command line: options in, a Job out, one clear line on bad input.

``carts-reduce INPUT --pass STAGE`` reduces; ``corpus``, ``report`` and
``predicates`` are subcommands. Every user error ends with one line on
stderr and exit status 2; Ctrl-C keeps the best result so far (exit 130).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import anyio
import typer
from rich.console import Console

from carts_reduce import __version__
from carts_reduce.search.driver import NotInteresting
from carts_reduce.formats import FORMATS, detect
from carts_reduce.job import Job, run_job
from carts_reduce.progress import ProgressView, summary_table
from carts_reduce.pipeline.stages import StageError, check_stage
from carts_reduce.search.state import read_argv
from carts_reduce.run.tool import C_PRECHECK, DEFAULT_COMMAND, DEFAULT_FRONTEND, Tool, carts_version

SUBCOMMANDS = ("corpus", "report", "predicates")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

PREDICATES = "Interestingness (see `carts-reduce predicates`)"
C_INPUT = "C inputs"
RUN = "Running tests"
RESULT = "Results"


class UsageError(Exception):
    """Bad input: reported as one line and exit status 2."""


def fail(message: str) -> typer.Exit:
    err.print(f"carts-reduce: error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def reduce(
    input: Annotated[Path, typer.Argument(help="The MLIR, C or text file to reduce; it is never modified.", show_default=False)],
    stage: Annotated[Optional[str], typer.Option("--pass", help="The CARTS pipeline stage that fails, e.g. canonicalize-memrefs.", show_default=False)] = None,
    carts: Annotated[Optional[str], typer.Option(help="The carts driver (else $CARTS, else `carts` on PATH).", show_default=False)] = None,
    command: Annotated[str, typer.Option(help="Command that tests a candidate; placeholders {carts} {input} {stage}.")] = DEFAULT_COMMAND,
    script: Annotated[Optional[Path], typer.Option(help="A C-Vise style interestingness script (exit 0 = interesting), used as the whole test; makes --pass optional.", rich_help_panel=PREDICATES, show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where the result goes [default: STEM.reduced.SUFFIX beside the input].", rich_help_panel=RESULT, show_default=False)] = None,
    jobs: Annotated[int, typer.Option("-j", "--jobs", help="Tests run at once [default: CPU count]; the result does not depend on it.", rich_help_panel=RUN, show_default=False)] = 0,
    timeout: Annotated[Optional[float], typer.Option(help="Seconds per test [default: 5x the original's run time, at least 1].", rich_help_panel=RUN, show_default=False)] = None,
    max_time: Annotated[Optional[float], typer.Option(help="Stop reducing after this many seconds and keep the best so far.", rich_help_panel=RUN, show_default=False)] = None,
    json_log: Annotated[Optional[Path], typer.Option(help="Append one JSON object per test to this file.", rich_help_panel=RESULT, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress and no summary; only errors and the result's path.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help=f"Input format: {', '.join(FORMATS)} [default: from the suffix].", show_default=False)] = None,
    frontend: Annotated[str, typer.Option(help="C front end producing {mlir} from {input}.", rich_help_panel=C_INPUT)] = DEFAULT_FRONTEND,
    precheck: Annotated[bool, typer.Option(help="Skip C candidates that `gcc -fsyntax-only -fopenmp` rejects, without running the test.", rich_help_panel=C_INPUT)] = True,
    include: Annotated[Optional[list[str]], typer.Option("-I", "--include", help="Include dir for the C pre-check (repeatable); carts's own is asked of `carts cgeist --print-include-dir`.", rich_help_panel=C_INPUT, show_default=False)] = None,
    validate_with: Annotated[Optional[str], typer.Option(help="Skip MLIR candidates that this upstream mlir-opt rejects (--allow-unregistered-dialect); `mlir-opt` means /usr/lib/llvm-22/bin/mlir-opt.", rich_help_panel=RUN, show_default=False)] = None,
    predicate: Annotated[Optional[list[str]], typer.Option("--predicate", help="Predicate(s) that must all hold: a name, module:function, file.py:function, or any(..)/not(..) [default: same-failure].", rich_help_panel=PREDICATES, show_default=False)] = None,
    predicates_file: Annotated[Optional[Path], typer.Option("--predicates", help="A TOML file of predicates and their options.", rich_help_panel=PREDICATES, show_default=False)] = None,
    match_assertion: Annotated[Optional[str], typer.Option(help="signature: regex the assertion must match.", rich_help_panel=PREDICATES, show_default=False)] = None,
    match_frame: Annotated[Optional[list[str]], typer.Option(help="signature: regex a top stack frame must match (repeatable).", rich_help_panel=PREDICATES, show_default=False)] = None,
    match_error: Annotated[Optional[str], typer.Option(help="signature: regex the error message must match.", rich_help_panel=PREDICATES, show_default=False)] = None,
    stderr_regex: Annotated[Optional[str], typer.Option(help="stderr-regex: regex searched in the stage's stderr.", rich_help_panel=PREDICATES, show_default=False)] = None,
    stdout_regex: Annotated[Optional[str], typer.Option(help="stdout-regex: regex searched in the stage's stdout.", rich_help_panel=PREDICATES, show_default=False)] = None,
    exit_code: Annotated[Optional[int], typer.Option(help="exit-code: the exit status expected.", rich_help_panel=PREDICATES, show_default=False)] = None,
    hang_after: Annotated[Optional[float], typer.Option(help="hang: seconds after which the stage counts as hung.", rich_help_panel=PREDICATES, show_default=False)] = None,
    ir_pattern: Annotated[Optional[str], typer.Option(help="ir-contains/ir-lacks: a regex, or op:NAME for an op.", rich_help_panel=PREDICATES, show_default=False)] = None,
    ir_type: Annotated[Optional[str], typer.Option(help="ir-contains/ir-lacks: regex on the types of an op:NAME match.", rich_help_panel=PREDICATES, show_default=False)] = None,
    debug_only: Annotated[Optional[str], typer.Option(help="debug-log: the --debug-only channel to turn on.", rich_help_panel=PREDICATES, show_default=False)] = None,
    debug_regex: Annotated[Optional[str], typer.Option(help="debug-log: regex searched in the debug output.", rich_help_panel=PREDICATES, show_default=False)] = None,
    reference_command: Annotated[Optional[str], typer.Option(help="output-mismatch: build-and-run command of the reference (e.g. gcc -fopenmp).", rich_help_panel=PREDICATES, show_default=False)] = None,
    candidate_command: Annotated[Optional[str], typer.Option(help="output-mismatch: build-and-run command under test (e.g. {carts} execute {input} -O3).", rich_help_panel=PREDICATES, show_default=False)] = None,
    float_tolerance: Annotated[Optional[float], typer.Option(help="output-mismatch: relative tolerance for numbers.", rich_help_panel=PREDICATES, show_default=False)] = None,
    frames: Annotated[int, typer.Option(help="Stack frames in a failure signature.", rich_help_panel=PREDICATES)] = 3,
    opt: Annotated[Optional[list[str]], typer.Option(help="KEY=VALUE option for a plugin predicate (repeatable).", rich_help_panel=PREDICATES, show_default=False)] = None,
    verify: Annotated[int, typer.Option(help="Re-test the result this many times before it is final.", rich_help_panel=RESULT)] = 3,
    repeat: Annotated[int, typer.Option(help="Runs per candidate (for flaky failures).", rich_help_panel=RUN)] = 1,
    min_hits: Annotated[Optional[int], typer.Option(help="Interesting runs needed out of --repeat [default: all].", rich_help_panel=RUN, show_default=False)] = None,
    keep_state: Annotated[bool, typer.Option(help="Keep the state dir (OUTPUT.state/) after a successful run.", rich_help_panel=RESULT)] = False,
    add_to_corpus: Annotated[bool, typer.Option(help="Add the result to the regression corpus.", rich_help_panel=RESULT)] = False,
    corpus_dir: Annotated[Path, typer.Option("--corpus", help="The regression corpus.", rich_help_panel=RESULT)] = Path("corpus"),
    report: Annotated[Optional[Path], typer.Option(help="Write a Markdown bug report here.", rich_help_panel=RESULT, show_default=False)] = None,
) -> None:
    """Reduce INPUT to a small file on which the same CARTS failure still shows.

    Runs `carts run CANDIDATE --STAGE` (or --command) on ever smaller candidates
    and keeps those on which the predicate holds (by default: the same failure
    as the original). The best result so far is always on disk; run the same
    command again to resume an interrupted reduction.

    Other commands: `carts-reduce corpus add|list|check|export-lit`,
    `carts-reduce report REDUCED`, `carts-reduce predicates`.
    """
    options = dict(
        match_assertion=match_assertion, match_frame=match_frame or [], match_error=match_error,
        stderr_regex=stderr_regex, stdout_regex=stdout_regex, exit_code=exit_code,
        hang_after=hang_after, ir_pattern=ir_pattern, ir_type=ir_type, debug_only=debug_only,
        debug_regex=debug_regex, reference_command=reference_command,
        candidate_command=candidate_command, float_tolerance=float_tolerance, script=script,
        frames=frames, extra=_parse_opts(opt or []),
    )
    try:
        job = _build_job(
            input, stage, carts, command, script, output, jobs, timeout, max_time, json_log, fmt,
            frontend, precheck, include or [], validate_with, predicate or [], predicates_file, options,
            verify, repeat, min_hits, keep_state,
        )
    except UsageError as error:
        raise fail(str(error)) from None
    view = ProgressView(err, len(job.text.encode("utf-8", "surrogateescape")), quiet=quiet)
    try:
        result = anyio.run(run_job, job, view, sys.argv[1:])
    except NotInteresting as error:
        raise fail(str(error)) from None
    record = result.record
    for message in result.messages:
        err.print(f"carts-reduce: {message}", markup=False)
    if result.interrupted:
        err.print(f"carts-reduce: interrupted; best so far in {job.output_path} "
                  "(run the same command again to resume)", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    if not quiet:
        err.print(summary_table(record))
        if result.timed_out:
            err.print("carts-reduce: stopped at --max-time; the result may reduce further", markup=False)
    if add_to_corpus:
        from carts_reduce.corpus.store import add_case

        err.print("carts-reduce: " + add_case(job.output_path, corpus_dir).message(), markup=False)
    if report:
        from carts_reduce.corpus.report import write_report

        write_report(job.output_path, report)
        err.print(f"carts-reduce: bug report written to {report}", markup=False)
    out.print(str(job.output_path), markup=False, soft_wrap=True)


def _parse_opts(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        if "=" not in pair:
            raise fail(f"--opt {pair!r} is not KEY=VALUE")
        key, value = pair.split("=", 1)
        parsed[key.strip()] = value
    return parsed


def _read_input(path: Path) -> str:
    if not path.exists():
        raise UsageError(f"{path}: no such file; give the path of the MLIR or C file to reduce")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give the path of the MLIR or C file to reduce")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read it ({error.strerror}); check its permissions") from None
    if b"\0" in data:
        raise UsageError(f"{path} is a binary file; carts-reduce reduces MLIR, C or other text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text; carts-reduce reduces MLIR, C or other text") from None
    if not text.strip():
        raise UsageError(f"{path} is empty; there is nothing to reduce")
    return text


def _find_carts(given: str | None) -> str | None:
    name = given or os.environ.get("CARTS") or "carts"
    found = shutil.which(name)
    if found:
        return str(Path(found).resolve()) if os.sep in name else found
    return None


def _build_job(
    input_path, stage, carts, command, script, output, jobs, timeout, max_time, json_log, fmt,
    frontend, precheck, include_dirs, validate_with, predicate_specs, predicates_file, options,
    verify, repeat, min_hits, keep_state,
) -> Job:
    import interestingness

    text = _read_input(input_path)
    try:
        fmt = detect(input_path, fmt)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if script is not None:
        if not script.exists():
            raise UsageError(f"{script}: no such script; give the path of an interestingness script")
        if not os.access(script, os.X_OK):
            raise UsageError(f"{script} is not executable; chmod +x it")
        options["script"] = script.resolve()
        predicate_specs = predicate_specs or ["script"]
    elif stage is None and "{stage}" in command:
        raise UsageError("no stage given: add --pass STAGE (e.g. --pass canonicalize-memrefs), or --script")
    uses_carts = script is None and ("{carts}" in command or (fmt == "c" and "{carts}" in frontend))
    carts_path = _find_carts(carts)
    if uses_carts and carts_path is None:
        where = carts or os.environ.get("CARTS") or "carts"
        raise UsageError(f"carts not found ({where}): give --carts PATH, set $CARTS, or put carts on PATH")
    if uses_carts and stage is not None and "{stage}" in command:
        try:
            check_stage(carts_path, stage)
        except StageError as error:
            raise UsageError(str(error)) from None
    validator = None
    if validate_with:
        validator = "/usr/lib/llvm-22/bin/mlir-opt" if validate_with == "mlir-opt" else validate_with
        if not shutil.which(validator):
            raise UsageError(f"--validate-with {validate_with}: {validator} not found (apt-get install mlir-22-tools)")
    if repeat < 1:
        raise UsageError("--repeat must be at least 1")
    hits = repeat if min_hits is None else min_hits
    if not 1 <= hits <= repeat:
        raise UsageError("--min-hits must be between 1 and --repeat")
    try:
        built = interestingness.build(predicate_specs, options, predicates_file)
    except interestingness.PredicateError as error:
        raise UsageError(str(error)) from None
    tool = Tool(
        input_name=input_path.name,
        carts=carts_path,
        stage=stage,
        command=command,
        format=fmt,
        frontend=frontend if fmt == "c" and script is None else None,
        precheck=C_PRECHECK if fmt == "c" and precheck else None,
        validator=validator,
        include_dirs=tuple(include_dirs) + (_carts_include_dirs(carts_path) if fmt == "c" and precheck and uses_carts else ()),
    )
    output = output or input_path.with_name(f"{input_path.stem}.reduced{input_path.suffix}")
    if output.resolve() == input_path.resolve():
        raise UsageError("--output is the input file; carts-reduce never modifies its input")
    return Job(
        input_path=input_path,
        output_path=output,
        text=text,
        fmt=fmt,
        tool=tool,
        predicate=built,
        predicate_specs=predicate_specs or ["same-failure"],
        predicate_options=options,
        jobs=jobs or os.cpu_count() or 1,
        timeout=timeout,
        max_time=max_time,
        json_log=json_log,
        verify=verify,
        repeat=repeat,
        min_hits=hits,
        keep_state=keep_state,
        standin=bool(carts_path) and "standin" in carts_path,
        predicates_file=predicates_file,
        carts_version=anyio.run(carts_version, carts_path) if uses_carts else None,
    )


def _carts_include_dirs(carts: str) -> tuple[str, ...]:
    """Where carts's front end finds its own headers, when it can say."""
    from carts_reduce.run.outcome import Step, TestSpec
    from carts_reduce.run.runner import run_test

    spec = TestSpec(files=(), steps=(Step("include", (carts, "cgeist", "--print-include-dir")),), timeout=30)
    result = anyio.run(run_test, spec).main
    found = result.stdout.strip()
    return (found,) if not result.failed and found and os.path.isdir(found) else ()


def predicates_command() -> None:
    """List every interestingness predicate found: built-in, plugin, or file."""
    import interestingness
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    table.add_column("predicate")
    table.add_column("from")
    table.add_column("what it checks")
    table.add_column("options")
    for info in interestingness.available():
        options = "\n".join(f"{flag}: {text}" for flag, text in info.options)
        table.add_row(info.name, info.origin, info.help, options)
    out.print(table)


def resume_command(output: Path) -> list[str]:
    try:
        return read_argv(output)
    except FileNotFoundError as error:
        raise fail(str(error)) from None


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--version"]:
        print(f"carts-reduce {__version__}")
        return
    if args[:1] == ["--resume"] and len(args) == 2:
        sys.argv[1:] = resume_command(Path(args[1]))
        args = sys.argv[1:]
    if args[:1] and args[0] in SUBCOMMANDS:
        from carts_reduce.corpus.cli import corpus_app, report_command

        app = typer.Typer(add_completion=False, no_args_is_help=True)
        app.add_typer(corpus_app, name="corpus")
        app.command("report")(report_command)
        app.command("predicates")(predicates_command)
        app(prog_name="carts-reduce")
        return
    app = typer.Typer(add_completion=False)
    app.command()(reduce)
    app(prog_name="carts-reduce")
