"""The command line: options in, a Job out, one clear line on bad input.

``carts-reduce INPUT --pass STAGE`` reduces; ``corpus``, ``report`` and
``predicates`` are subcommands. Every user error ends with one line on
stderr and exit status 2; Ctrl-C keeps the best result so far (exit 130).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import anyio
import typer
from rich.console import Console

from carts_reduce import __version__
from carts_reduce.job import Job, JobResult, run_job
from carts_reduce.options import RESULT, CorpusOption, JobMaker, TestOptions, UsageError, read_input, with_test_options
from carts_reduce.progress import ProgressView, summary_table
from carts_reduce.run.executor import ExecutorError, open_executor, unwrap_group
from carts_reduce.search.driver import NotInteresting
from carts_reduce.search.state import read_argv

SUBCOMMANDS = ("corpus", "report", "predicates", "triage")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

def fail(message: str) -> typer.Exit:
    err.print(f"carts-reduce: error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


@with_test_options
def reduce(
    input: Annotated[Path, typer.Argument(help="The MLIR, C or text file to reduce; it is never modified.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where the result goes [default: STEM.reduced.SUFFIX beside the input].", rich_help_panel=RESULT, show_default=False)] = None,
    json_log: Annotated[Optional[Path], typer.Option(help="Append one JSON object per test to this file.", rich_help_panel=RESULT, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress and no summary; only errors and the result's path.")] = False,
    keep_state: Annotated[bool, typer.Option(help="Keep the state dir (OUTPUT.state/) after a successful run.", rich_help_panel=RESULT)] = False,
    add_to_corpus: Annotated[bool, typer.Option(help="Add the result to the regression corpus.", rich_help_panel=RESULT)] = False,
    corpus_dir: CorpusOption = Path("corpus"),
    report: Annotated[Optional[Path], typer.Option(help="Write a Markdown bug report here.", rich_help_panel=RESULT, show_default=False)] = None,
    tests: TestOptions = None,
) -> None:
    """Reduce INPUT to a small file on which the same CARTS failure still shows.

    Runs `carts run CANDIDATE --STAGE` (or --command) on ever smaller candidates
    and keeps those on which the predicate holds (by default: the same failure
    as the original). The best result so far is always on disk; run the same
    command again to resume an interrupted reduction.

    Other commands: `carts-reduce triage INPUTS...`, `carts-reduce corpus add|list|check|export-lit`,
    `carts-reduce report REDUCED`, `carts-reduce predicates`.
    """
    try:
        text = read_input(input)
        job = JobMaker(tests).job(input, output, json_log, keep_state, text=text)
    except UsageError as error:
        raise fail(str(error)) from None
    view = ProgressView(err, len(job.text.encode("utf-8", "surrogateescape")), quiet=quiet)
    try:
        result = anyio.run(_run_on_executor, job, view, sys.argv[1:], tests)
    except NotInteresting as error:
        raise fail(str(error)) from None
    except ExecutorError as error:
        raise fail(f"{error}; best so far in {job.output_path} (run the same command again to resume)"
                   if job.output_path.exists() else str(error)) from None
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


async def _run_on_executor(job: Job, view, argv: list[str], tests: TestOptions) -> JobResult:
    """The job, its tests run by the executor ``--cluster`` names (the local pool by default)."""
    async with open_executor(tests.cluster, tests.jobs) as executor:
        job.jobs = executor.capacity
        try:
            return await run_job(job, view, argv, run=executor.run)
        except BaseExceptionGroup as group:
            raise unwrap_group(group) from None


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
