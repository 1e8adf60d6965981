"""The command line: options in, a Job out, one clear line on bad input.

``carts-reduce INPUT --pass STAGE`` reduces; ``corpus``, ``report`` and
``predicates`` are subcommands. Every user error ends with one line on
stderr and exit status 2; Ctrl-C keeps the best result so far (exit 130).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Optional

import anyio
import typer
from rich.console import Console

from carts_reduce import __version__
from carts_reduce.job import Job, JobResult
from carts_reduce.pipeline.culprit import CulpritError
from carts_reduce.pipeline.passlist import PassListError
from carts_reduce.pipeline.plan import Request, reduce_pipeline
from carts_reduce.options import RESULT, CorpusOption, JobMaker, TestOptions, read_input, with_test_options
from carts_reduce.progress import ProgressView, summary_table
from carts_reduce.run.executor import ExecutorError, open_executor, unwrap_group
from carts_reduce.search.driver import NotInteresting
from carts_reduce.search.state import read_argv
from carts_reduce.usage import FLAG, PlainGroup, PlainUsage, UsageError, default_note, fail, run_app

SUBCOMMANDS = ("corpus", "report", "predicates", "triage")
EXIT_INTERRUPTED = 130

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _show_version(value: bool) -> None:
    if value:
        print(f"carts-reduce {__version__}")
        raise typer.Exit()


@with_test_options
def reduce(
    ctx: typer.Context,
    input: Annotated[Optional[Path], typer.Argument(metavar="INPUT", help="The MLIR, C or text file to reduce; it is never modified.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", metavar="FILE", help="Where the result goes " + default_note("STEM.reduced.SUFFIX beside the input") + ".", rich_help_panel=RESULT, show_default=False)] = None,
    json_log: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Append one JSON object per test to this file.", rich_help_panel=RESULT, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", metavar=FLAG, help="No progress and no summary; only errors and the result's path.", show_default=False)] = False,
    resume: Annotated[Optional[Path], typer.Option(metavar="OUTPUT", help="Resume the unfinished reduction that writes OUTPUT, with the options it was started with; options given here override them (e.g. -j, --timeout, --max-time).", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", metavar=FLAG, help="Print the version and exit.", callback=_show_version, is_eager=True, show_default=False)] = False,
    keep_state: Annotated[bool, typer.Option("--keep-state", metavar=FLAG, help="Keep the state dir (OUTPUT.state/) after a successful run.", rich_help_panel=RESULT, show_default=False)] = False,
    add_to_corpus: Annotated[bool, typer.Option("--add-to-corpus", metavar=FLAG, help="Add the result to the regression corpus.", rich_help_panel=RESULT, show_default=False)] = False,
    corpus_dir: CorpusOption = Path("corpus"),
    report: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write a Markdown bug report here.", rich_help_panel=RESULT, show_default=False)] = None,
    tests: TestOptions = None,
) -> None:
    """Reduce INPUT to a small file on which the same CARTS failure still shows.

    Runs `carts run CANDIDATE --STAGE` (or --command) on ever smaller candidates
    and keeps those on which the predicate holds (by default: the same failure
    as the original). The best result so far is always on disk; run the same
    command again, or `carts-reduce --resume OUTPUT`, to resume an interrupted
    reduction.

    Other commands: `carts-reduce triage INPUTS...`, `carts-reduce corpus add|list|check|export-lit`,
    `carts-reduce report REDUCED`, `carts-reduce predicates`.
    """
    argv = sys.argv[1:]
    params = dict(ctx.params)
    if resume is not None:
        argv, params = _resumed(ctx, resume)
    _reduce(SimpleNamespace(**params), TestOptions.from_params(params), argv, moved=resume is not None)


def _reduce(o: SimpleNamespace, tests: TestOptions, argv: list[str], moved: bool = False) -> None:
    """One reduction from the parsed options (``argv`` is kept to resume it; ``moved``: a
    resumed run that went on in its first run's folder)."""
    try:
        tests.check()
        if o.input is None:
            raise UsageError("no input: give the file to reduce (carts-reduce INPUT --pass STAGE), or --resume OUTPUT")
        text = read_input(o.input)
        maker = JobMaker(tests, search_stage=True)
        job = maker.job(o.input, o.output, o.json_log, o.keep_state, text=text)
        request = maker.request(job, output_given=o.output is not None)
    except UsageError as error:
        raise fail(str(error)) from None

    # What the pipeline layer finds (the failing stage, ...) is shown once a
    # reduction starts: an input that turns out bad gets its one line alone.
    pending: list[str] = []

    def say_pending() -> None:
        for message in pending if not o.quiet else ():
            err.print(f"carts-reduce: {message}", markup=False, soft_wrap=True)
        pending.clear()

    class View(ProgressView):
        def start(self, reducer) -> None:
            say_pending()
            super().start(reducer)

    def view_for(reduced: Job) -> ProgressView:
        return View(err, len(reduced.text.encode("utf-8", "surrogateescape")), quiet=o.quiet)

    shown = job.output_path.resolve() if moved else job.output_path
    try:
        result = anyio.run(_run_on_executor, job, request, view_for, pending.append, argv, tests)
    except (NotInteresting, CulpritError, PassListError) as error:
        raise fail(str(error)) from None
    except ExecutorError as error:
        raise fail(f"{error}; best so far in {shown} (run the same command again to resume)"
                   if job.output_path.exists() else str(error)) from None
    say_pending()
    record = result.record
    if record is not None and Path(record.output) != job.output_path:  # cut at a stage: an .mlir result
        job.output_path = Path(record.output)
        shown = job.output_path.resolve() if moved else job.output_path
    for message in result.messages:
        err.print(f"carts-reduce: {message}", markup=False, soft_wrap=True)
    if result.interrupted:
        err.print(f"carts-reduce: interrupted; best so far in {shown} (run the same command again, "
                  f"or carts-reduce --resume {shown}, to resume)", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if not o.quiet:
        err.print(summary_table(record))
        for line in record.guards:
            err.print(f"carts-reduce: guard: {line}", markup=False, soft_wrap=True)
        if result.timed_out:
            err.print("carts-reduce: stopped at --max-time; the result may reduce further", markup=False, soft_wrap=True)
    if o.add_to_corpus:
        from carts_reduce.corpus.store import add_case

        err.print("carts-reduce: " + add_case(job.output_path, o.corpus_dir).message(), markup=False, soft_wrap=True)
    if o.report:
        from carts_reduce.corpus.report import write_report

        write_report(job.output_path, o.report)
        err.print(f"carts-reduce: bug report written to {o.report}", markup=False, soft_wrap=True)
    out.print(str(shown), markup=False, soft_wrap=True)


def _resumed(ctx: typer.Context, output: Path) -> tuple[list[str], dict]:
    """The options of the unfinished run that writes ``output``, overridden by those given now.

    The run goes on in the folder it was started from, so that the paths of
    its command line mean what they meant; paths given now are made absolute
    first.
    """
    try:
        argv, cwd = read_argv(output)
    except ValueError as error:
        raise fail(str(error)) from None
    first = ctx.command.make_context(ctx.info_name, list(argv))
    params = dict(first.params)
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        if name != "resume" and source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            params[name] = _absolute(value)
    if cwd and Path(cwd).is_dir() and Path(cwd).resolve() != Path.cwd().resolve():
        os.chdir(cwd)
    return argv, params


def _absolute(value):
    """A path given now, absolute (a resumed run goes on in its first run's folder)."""
    if isinstance(value, Path):
        return value.absolute()
    if isinstance(value, str) and os.sep in value and not os.path.isabs(value) and os.path.exists(value):
        return os.path.abspath(value)  # --carts tests/standin/carts
    if isinstance(value, (list, tuple)):
        return type(value)(_absolute(v) for v in value)
    return value


async def _run_on_executor(job: Job, request: Request, view_for, say, argv: list[str], tests: TestOptions) -> JobResult:
    """The job, through the pipeline layer, its tests run by the executor ``--cluster`` names (the local pool by default)."""
    async with open_executor(tests.cluster, tests.jobs) as executor:
        job.jobs = executor.capacity
        try:
            return await reduce_pipeline(job, request, view_for, say, argv, run=executor.run)
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


def main() -> None:
    from carts_reduce.run.reaper import adopt_orphans

    adopt_orphans()  # the tests this process runs leave nothing behind, even what leaves their group
    args = sys.argv[1:]
    if args[:1] and args[0] in SUBCOMMANDS:
        from carts_reduce.corpus.cli import corpus_app, report_command

        app = typer.Typer(cls=PlainGroup, add_completion=False, no_args_is_help=True)
        app.add_typer(corpus_app, name="corpus")
        app.command("report", cls=PlainUsage)(report_command)
        app.command("predicates", cls=PlainUsage)(predicates_command)
        if args[0] == "triage":
            from carts_reduce.triage.command import triage_command

            app.command("triage", cls=PlainUsage)(triage_command)
        run_app(app)
        return
    app = typer.Typer(add_completion=False)
    app.command(cls=PlainUsage)(reduce)
    run_app(app)
