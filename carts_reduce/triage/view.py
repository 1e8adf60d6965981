"""The live table while a triage runs: inputs surveyed, then one row per bug as it is reduced."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from carts_reduce.corpus.store import signature_summary
from carts_reduce.triage.survey import Finding


class LiveTable:
    def __init__(self, console: Console):
        self.console = console
        self.total = 0
        self.findings: list[Finding] = []
        self.triage = None
        self._live = Live(console=console, get_renderable=self._render, refresh_per_second=4, transient=True)

    def survey_started(self, total: int) -> None:
        self.total = total
        self._live.start()

    def found(self, finding: Finding) -> None:
        self.findings.append(finding)

    def bugs_found(self, triage) -> None:
        self.triage = triage

    def changed(self) -> None:
        pass  # the table is drawn from the bugs' own state at each refresh

    def stop(self) -> None:
        self._live.stop()

    def _render(self):
        failing = sum(1 for finding in self.findings if finding.failing)
        head = Text.assemble(
            ("triage ", "bold"),
            f"{len(self.findings)}/{self.total} inputs run: ",
            (f"{failing} failing", "red"), ", ",
            (f"{len(self.findings) - failing} not failing", "green"),
        )
        if self.triage is None:
            return head
        table = Table(show_header=True, header_style="bold", expand=False)
        for column in ("bug", "stage", "signature", "inputs", "bytes", "tests", "time", "status"):
            table.add_column(column, justify="right" if column in ("inputs", "bytes", "tests", "time") else "left")
        for bug in self.triage.bugs:
            reducer = bug.live
            if bug.record is not None:
                size, tests, seconds = bug.record.sizes_after.get("bytes", 0), bug.record.tests_run, bug.record.wall_seconds
            elif reducer is not None:
                size = len(reducer.best.encode("utf-8", "surrogateescape"))
                tests, seconds = reducer.stats.tests_run, reducer.stats.elapsed
            else:
                size, tests, seconds = bug.representative.bytes, 0, 0.0
            table.add_row(
                bug.name, bug.stage or "-", signature_summary(bug.signature)[:60], str(len(bug.inputs)),
                f"{bug.representative.bytes:,} -> {size:,}", f"{tests:,}", f"{seconds:.0f}s", bug.status[:40],
            )
        return Group(head, table)
