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

corpus_app = typer.Typer(help="The regression corpus of reduced cases.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

CorpusDir = Annotated[
    Path, typer.Option("--corpus", envvar="CARTS_REDUCE_CORPUS", help="Corpus folder.", file_okay=False)
]
CartsOption = Annotated[
    Optional[str], typer.Option("--carts", envvar="CARTS", help="The carts driver to run (default: `carts` on PATH).")
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
    err_console.print(f"carts-reduce: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(2)


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


@corpus_app.command("add")
def add_command(
    results: Annotated[list[Path], typer.Argument(help="Reduced output file(s); each needs RESULT.json beside it.", exists=True, dir_okay=False)],
    corpus_dir: CorpusDir = Path("corpus"),
) -> None:
    """File reduced cases; of two with the same signature the smaller input is kept."""
    corpus = Corpus(corpus_dir)
    for result in results:
        try:
            added = corpus.add(result)
        except FileNotFoundError as error:
            raise _fail(str(error))
        console.print(added.message(), highlight=False, markup=False)


@corpus_app.command("list")
def list_command(corpus_dir: CorpusDir = Path("corpus")) -> None:
    """Show the cases of the corpus."""
    cases = Corpus(corpus_dir).cases()
    table = Table(title=f"{corpus_dir} ({len(cases)} case{'s' if len(cases) != 1 else ''})")
    table.add_column("case", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("signature", ratio=1, overflow="fold")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("date", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for case in cases:
        status = case.status + (" (stand-in)" if case.meta.get("standin") else "")
        cells = (
            case.id,
            case.stage or "-",
            signature_summary(case.signature) if case.signature else ", ".join(case.predicates) or "-",
            f"{case.size:,} B",
            str(case.meta.get("date", ""))[:10],
            status,
        )
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)


@corpus_app.command("check")
def check_command(
    carts: CartsOption = None,
    corpus_dir: CorpusDir = Path("corpus"),
    timeout: Annotated[float, typer.Option(help="Seconds per case.")] = DEFAULT_TIMEOUT,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Cases run at once.")] = 1,
    update: Annotated[bool, typer.Option(help="Write status changes (fixed / failing again) to case.toml.")] = False,
) -> None:
    """Rerun every case: still failing, fixed, or changed. Exits 1 when a case changed
    or a fixed case fails again."""
    corpus = Corpus(corpus_dir)
    cases = corpus.cases()
    if not cases:
        console.print(f"no cases in {corpus_dir}", highlight=False, markup=False)
        return
    needs_carts = any("{carts}" in case.command or "{carts}" in (case.frontend or "") for case in cases)
    carts = resolve_carts(carts, needs_carts)
    version = anyio.run(carts_version, carts) if needs_carts else None
    console.print(f"checking {len(cases)} case(s) with {carts or 'the recorded commands'}" + (f" ({version})" if version else ""), highlight=False, markup=False)

    def show(result: CheckResult) -> None:
        style = _VERDICT_STYLE[result.verdict]
        console.print(f"  {escape(result.case.id)}: [{style}]{result.verdict.value}[/{style}]  {escape(result.detail)}", highlight=False)

    results = anyio.run(lambda: check_corpus(corpus, carts, timeout, jobs, on_result=show))
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    console.print(", ".join(f"{n} {v.value}" for v, n in counts.items() if n), highlight=False)
    if update:
        for case in record_verdicts(results, version):
            console.print(f"  {case.id}: status is now {case.status}", highlight=False, markup=False)
    raise typer.Exit(exit_status(results))


@corpus_app.command("export-lit")
def export_lit_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder for the lit tests (created).", file_okay=False)],
    corpus_dir: CorpusDir = Path("corpus"),
) -> None:
    """Write one lit test per case, with lit.cfg.py (run: CARTS=/path/to/carts lit DIR)."""
    result = export_lit(Corpus(corpus_dir), out_dir)
    for path in result.written:
        console.print(f"wrote {path}", highlight=False, markup=False)
    for case_id, reason in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(case_id)}: {escape(reason)}", highlight=False)
    console.print(f"{len(result.written)} test(s) in {out_dir}; run: CARTS=/path/to/carts lit -v {out_dir}", highlight=False, markup=False)


def report_command(
    reduced: Annotated[
        Path, typer.Argument(help="A reduced output (with REDUCED.json beside it) or a corpus case's input.", exists=True, dir_okay=False)
    ],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report here instead of stdout.")] = None,
    carts: CartsOption = None,
    stderr_file: Annotated[
        Optional[Path], typer.Option("--stderr", help="Use this saved failure output instead of running the case.", exists=True, dir_okay=False)
    ] = None,
    run: Annotated[bool, typer.Option(help="Run the case once to capture its failure output.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds for that run.")] = DEFAULT_TIMEOUT,
) -> None:
    """Write a Markdown bug report for a reduced case."""
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
                "the report will not show the failure output", highlight=False, markup=False,
            )
    markdown = render_report(record, text, failure)
    if output is None:
        typer.echo(markdown, nl=False)
    else:
        output.write_text(markdown)
        err_console.print(f"wrote {output}", highlight=False, markup=False)
