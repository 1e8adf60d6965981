"""``carts-reduce triage INPUTS...``: the command line of a triage."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import anyio
import typer

from carts_reduce.cli import EXIT_INTERRUPTED, err, out
from carts_reduce.options import RESULT, JobMaker, TestOptions, with_test_options
from carts_reduce.usage import FLAG, UsageError, fail
from carts_reduce.run.executor import ExecutorError, open_executor, unwrap_group
from carts_reduce.triage.inputs import collect
from carts_reduce.triage.main import run_triage
from carts_reduce.triage.summary import MARKDOWN_FILE, write_all

#: Options that change how fast a triage runs, not what it finds.
_NOT_IN_FINGERPRINT = ("jobs", "cluster", "max_time", "verify")


@with_test_options
def triage_command(
    inputs: Annotated[list[str], typer.Argument(metavar="INPUTS", help="The inputs: files, folders (searched for .mlir and .c files), or @LIST (a file with one path per line).", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="DIR", help="The triage's folder: triage.md, triage.html, triage.json and a folder per bug.", rich_help_panel=RESULT)] = Path("triage"),
    corpus: Annotated[Optional[Path], typer.Option("--corpus", metavar="DIR", help="File each bug's reduced input in this regression corpus.", rich_help_panel=RESULT, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", metavar=FLAG, help="No live table and no summary; only errors and the path of triage.md.", show_default=False)] = False,
    tests: TestOptions = None,
) -> None:
    """Triage many failing inputs: run each once, group them by failure, reduce one per bug.

    Every input runs once with the test options (the same as for a single
    input); failing inputs are grouped by stage and failure signature, the
    smallest input of each group is reduced (its duplicates are listed), filed
    in the corpus (--corpus) and given a bug report. OUTPUT/triage.md and
    OUTPUT/triage.html summarise it all. Run the same command again to go on
    with a stopped triage.
    """
    try:
        paths = collect(inputs)
        maker = JobMaker(tests, search_stage=True)
        survey_jobs = [maker.job(path, output / ".survey" / path.name) for path in paths]
        request = maker.request(survey_jobs[0])
    except UsageError as error:
        raise fail(str(error)) from None
    output.mkdir(parents=True, exist_ok=True)
    view = None
    if not quiet and err.is_terminal:
        from carts_reduce.triage.view import LiveTable

        view = LiveTable(err)
    try:
        triage = anyio.run(_triage_on_executor, maker, survey_jobs, request, output, corpus, tests, view)
    except ExecutorError as error:
        raise fail(f"{error}; run the same command again to go on") from None
    if triage.interrupted:
        err.print("carts-reduce: triage interrupted; run the same command again to go on", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    write_all(triage, output)
    if not quiet:
        _print_summary(triage, output)
    out.print(str(output / MARKDOWN_FILE), markup=False, soft_wrap=True)


async def _triage_on_executor(maker, survey_jobs, request, output, corpus, tests, view):
    async with open_executor(tests.cluster, tests.jobs) as executor:
        try:
            return await run_triage(maker, survey_jobs, request, output, corpus, executor, _fingerprint(tests), view)
        except BaseExceptionGroup as group:
            raise unwrap_group(group) from None


def _fingerprint(tests: TestOptions) -> str:
    """The test options that decide what a survey finds: a finding is reused only under the same."""
    options = {k: v for k, v in asdict(tests).items() if k not in _NOT_IN_FINGERPRINT}
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _print_summary(triage, output: Path) -> None:
    from rich.table import Table

    from carts_reduce.triage.summary import rows

    table = Table(title="carts-reduce triage", show_header=True, header_style="bold")
    for column in ("bug", "stage", "signature", "inputs", "original -> reduced", "tests", "time", "corpus"):
        table.add_column(column)
    for row in rows(triage, output):
        table.add_row(
            f"bug-{row.number}", row.stage, row.signature, str(row.inputs),
            f"{row.original} -> {row.reduced}" if row.reduced_file else row.status,
            f"{row.tests:,}" if row.tests is not None else "-",
            f"{row.seconds:.1f} s" if row.seconds is not None else "-",
            row.corpus_id or "-",
        )
    err.print(table)
    for finding in triage.passing:
        err.print(f"carts-reduce: {finding.path} did not fail ({finding.description})", markup=False, soft_wrap=True)
    share = 1 - triage.busy_seconds / triage.wall_seconds if triage.wall_seconds else 0.0
    err.print(f"carts-reduce: {triage.tests:,} tests on {triage.executor} in {triage.wall_seconds:.1f} s "
              f"({100 * share:.0f}% of it with no test running)", markup=False)
