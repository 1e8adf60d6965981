"""Command line of the corpus (``carts-reduce corpus ...``) and of ``carts-reduce report``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated, Optional

import anyio
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from carts_reduce.corpus.store import (
    CASE_FILE,
    DEFAULT_TIMEOUT,
    Case,
    CheckResult,
    Corpus,
    Verdict,
    check_corpus,
    exit_status,
    record_verdicts,
    signature_summary,
)
from carts_reduce.corpus.lit_export import export_lit
from carts_reduce.run.outcome import Outcome
from carts_reduce.record import ReductionRecord
from carts_reduce.corpus.report import render_report, rerun_record
from carts_reduce.run.tool import carts_version
from carts_reduce.usage import AT_LEAST_ONE, FLAG, SECONDS, PlainGroup, PlainUsage, UsageError, check_all, default_note, fail

corpus_app = typer.Typer(cls=PlainGroup, help="The regression corpus of reduced cases.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

CorpusDir = Annotated[
    Path, typer.Option("--corpus", metavar="DIR", envvar="CARTS_REDUCE_CORPUS", help="Corpus folder.", file_okay=False)
]
CartsOption = Annotated[
    Optional[str],
    typer.Option("--carts", metavar="PATH", envvar="CARTS", show_default=False,
                 help="The carts driver to run " + default_note("`carts` on PATH") + "."),
]
_VERDICT_STYLE = {
    Verdict.FAILING: "yellow",
    Verdict.FIXED: "green",
    Verdict.CHANGED: "bold red",
    Verdict.REGRESSED: "bold red",
    Verdict.BROKEN: "bold red",
}


def _fail(message: str) -> typer.Exit:
    """Bad input: one line on stderr and exit status 2, as for a reduction."""
    return fail(message)


def _existing_corpus(corpus_dir: Path) -> Corpus:
    """The corpus in ``corpus_dir``; a folder that is not there is bad input, not an empty corpus."""
    if not corpus_dir.is_dir():
        where = "is not a folder" if corpus_dir.exists() else "does not exist"
        raise _fail(f"corpus folder {corpus_dir} {where}: give --corpus DIR (or set CARTS_REDUCE_CORPUS)")
    return Corpus(corpus_dir)


def resolve_carts(carts: str | None, needed: bool) -> str | None:
    """An absolute path for ``carts`` (tests run in their own temp dir), or an error when
    a template needs it and it cannot be found."""
    if carts and os.sep in carts:
        path = Path(carts).expanduser().resolve()
        if not path.is_file():
            raise _fail(f"carts driver {carts} does not exist")
        return str(path)
    found = shutil.which(carts or "carts")
    if found:
        return found
    if needed:
        raise _fail(f"cannot find the carts driver `{carts or 'carts'}`: give --carts PATH (or set CARTS)")
    return carts


@corpus_app.command("add", cls=PlainUsage)
def add_command(
    results: Annotated[list[Path], typer.Argument(metavar="RESULT...", help="Reduced output file(s); each needs RESULT.json beside it.", exists=True, dir_okay=False)],
    corpus_dir: CorpusDir = Path("corpus"),
) -> None:
    """File reduced cases; of two with the same signature the smaller input is kept."""
    corpus = Corpus(corpus_dir)
    for result in results:
        try:
            added = corpus.add(result)
        except FileNotFoundError as error:
            raise _fail(str(error))
        console.print(added.message(), highlight=False, markup=False, soft_wrap=True)


@corpus_app.command("list", cls=PlainUsage)
def list_command(corpus_dir: CorpusDir = Path("corpus")) -> None:
    """Show the cases of the corpus."""
    cases = _existing_corpus(corpus_dir).cases()
    table = Table(title=f"{corpus_dir} ({len(cases)} case{'s' if len(cases) != 1 else ''})", show_lines=True)
    # Two columns wrap, the failure getting the most room: at 80 columns a
    # case id and its signature both stay readable.
    table.add_column("case / stage", ratio=2, min_width=16, overflow="fold")
    table.add_column("failure", ratio=3, min_width=24, overflow="fold")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for case in cases:
        failure = signature_summary(case.signature) if case.signature else ", ".join(case.predicates) or "-"
        status = [case.status] + (["stand-in"] if case.meta.get("standin") else [])
        table.add_row(
            Text("\n".join([case.id] + ([case.stage] if case.stage else []))),
            Text(failure),
            Text(f"{case.size:,} B"),
            Text("\n".join(status + [str(case.meta.get("date", ""))[:10]])),
        )
    console.print(table)


@corpus_app.command("check", cls=PlainUsage)
def check_command(
    carts: CartsOption = None,
    corpus_dir: CorpusDir = Path("corpus"),
    timeout: Annotated[float, typer.Option(metavar="SECONDS", help="Seconds per case.")] = DEFAULT_TIMEOUT,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", help="Cases run at once.")] = 1,
    update: Annotated[bool, typer.Option("--update", metavar=FLAG, help="Write status changes (fixed / failing again) to case.toml.")] = False,
) -> None:
    """Rerun every case: still failing, fixed, changed or failing again.

    Exits 1 when a case changed or a fixed case fails again, 2 when the corpus
    folder is missing."""
    try:
        check_all([("--timeout", timeout, SECONDS), ("--jobs", jobs, AT_LEAST_ONE)])
    except UsageError as error:
        raise _fail(str(error)) from None
    corpus = _existing_corpus(corpus_dir)
    cases = corpus.cases()
    if not cases:
        console.print(f"{corpus_dir} holds no cases (no */{CASE_FILE}): nothing to check", highlight=False, markup=False, soft_wrap=True)
        return
    needs_carts = any("{carts}" in case.command or "{carts}" in (case.frontend or "") for case in cases)
    carts = resolve_carts(carts, needs_carts)
    version = anyio.run(carts_version, carts) if needs_carts else None
    console.print(f"checking {len(cases)} case(s) with {carts or 'the recorded commands'}" + (f" ({version})" if version else ""), highlight=False, markup=False, soft_wrap=True)

    def show(result: CheckResult) -> None:
        style = _VERDICT_STYLE[result.verdict]
        console.print(f"  {escape(result.case.id)}: [{style}]{result.verdict.value}[/{style}]  {escape(result.detail)}", highlight=False, soft_wrap=True)

    results = anyio.run(lambda: check_corpus(corpus, carts, timeout, jobs, on_result=show))
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    console.print(", ".join(f"{n} {v.value}" for v, n in counts.items() if n), highlight=False)
    if update:
        for case in record_verdicts(results, version):
            console.print(f"  {case.id}: status is now {case.status}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(exit_status(results))


@corpus_app.command("export-lit", cls=PlainUsage)
def export_lit_command(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", help="Folder for the lit tests (created).", file_okay=False)],
    corpus_dir: CorpusDir = Path("corpus"),
) -> None:
    """Write one lit test per case, with lit.cfg.py (run: CARTS=/path/to/carts lit DIR)."""
    result = export_lit(_existing_corpus(corpus_dir), out_dir)
    for path in result.written:
        console.print(f"wrote {path}", highlight=False, markup=False, soft_wrap=True)
    for case_id, reason in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(case_id)}: {escape(reason)}", highlight=False, soft_wrap=True)
    console.print(f"{len(result.written)} test(s) in {out_dir}; run: CARTS=/path/to/carts lit -v {out_dir}", highlight=False, markup=False, soft_wrap=True)


def report_command(
    reduced: Annotated[
        Path, typer.Argument(metavar="REDUCED", help="A reduced output (with REDUCED.json beside it) or a corpus case's input.", exists=True, dir_okay=False)
    ],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Write the report here instead of stdout.")] = None,
    carts: Annotated[
        Optional[str],
        typer.Option("--carts", metavar="PATH", envvar="CARTS", show_default=False,
                     help="The carts driver to run " + default_note("the one the case was reduced with, else `carts` on PATH") + "."),
    ] = None,
    stderr_file: Annotated[
        Optional[Path], typer.Option("--stderr", metavar="FILE", help="Use this saved failure output instead of running the case.", exists=True, dir_okay=False)
    ] = None,
    run: Annotated[bool, typer.Option(metavar=FLAG, help="Run the case once to capture its failure output.")] = True,
    timeout: Annotated[float, typer.Option(metavar="SECONDS", help="Seconds for that run.")] = DEFAULT_TIMEOUT,
) -> None:
    """Write a Markdown bug report for a reduced case."""
    try:
        check_all([("--timeout", timeout, SECONDS)])
    except UsageError as error:
        raise _fail(str(error)) from None
    record_path = ReductionRecord.path_for(reduced)
    if record_path.is_file():
        record = ReductionRecord.load(record_path)
    elif (reduced.parent / CASE_FILE).is_file():
        record = Case.load(reduced.parent).to_record()  # a corpus case's input
    else:
        raise _fail(f"no reduction record beside {reduced} (expected {record_path}) and no {CASE_FILE}")
    text = reduced.read_bytes().decode("utf-8", "surrogateescape")
    failure: Outcome | str | None = None
    if stderr_file is not None:
        failure = stderr_file.read_text(errors="replace")
    elif run:
        failure = anyio.run(rerun_record, record, text, carts, timeout)
        if failure is None:
            err_console.print(
                f"carts-reduce: cannot find the carts driver `{carts or record.carts or 'carts'}` (give --carts PATH); "
                "the report will not show the failure output", highlight=False, markup=False, soft_wrap=True,
            )
    markdown = render_report(record, text, failure)
    if output is None:
        typer.echo(markdown, nl=False)
    else:
        output.write_text(markdown)
        err_console.print(f"wrote {output}", highlight=False, markup=False, soft_wrap=True)
