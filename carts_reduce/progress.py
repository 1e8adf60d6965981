"""What the user sees: a live status line while reducing, a summary at the end."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from carts_reduce.formats import unit_name

#: Redraw at most this often; tests can finish far faster.
REFRESH_SECONDS = 0.1
#: Off a terminal (a log file, a CI job), a plain line at most this often.
PLAIN_SECONDS = 5.0


class ProgressView:
    """A live status line on a terminal; elsewhere a plain line every few seconds."""

    def __init__(self, console: Console, original_bytes: int, quiet: bool = False, plain_every: float = PLAIN_SECONDS):
        self.console = console
        self.original_bytes = max(original_bytes, 1)
        self.quiet = quiet
        self.plain_every = plain_every
        self._live: Live | None = None
        self._plain = False
        self._drawn = 0.0

    def say(self, message: str) -> None:
        """One line about what the reduction does (resuming, ...), terminal or not."""
        if not self.quiet:
            self.console.print(f"carts-reduce: {message}", markup=False, highlight=False, soft_wrap=True)

    def start(self, reducer) -> None:
        if self.quiet or self._live or self._plain:
            return
        if not self.console.is_terminal:
            self._plain = True
            self._drawn = time.monotonic()  # the first line after PLAIN_SECONDS
            return
        self._live = Live(self._line(reducer), console=self.console, transient=True, refresh_per_second=10)
        self._live.start()

    def update(self, reducer) -> None:
        if self._plain:
            if time.monotonic() - self._drawn >= self.plain_every:
                self._drawn = time.monotonic()
                self.console.print(self._plain_line(reducer), markup=False, highlight=False, soft_wrap=True)
            return
        if not self._live or time.monotonic() - self._drawn < REFRESH_SECONDS:
            return
        self._drawn = time.monotonic()
        self._live.update(self._line(reducer))

    def stop(self) -> None:
        self._plain = False
        if self._live:
            self._live.stop()
            self._live = None

    def _numbers(self, reducer) -> tuple[int, float, str]:
        size = len(reducer.best.encode("utf-8", "surrogateescape"))
        return size, 100 * size / self.original_bytes, reducer.stats.current_pass or "-"

    def _plain_line(self, reducer) -> str:
        size, share, current = self._numbers(reducer)
        stats = reducer.stats
        return (f"carts-reduce: {size:,} B ({share:.1f}%), {stats.tests_run} tests, "
                f"pass {current}, {stats.elapsed:.0f} s")

    def _line(self, reducer) -> Text:
        size, share, current = self._numbers(reducer)
        stats = reducer.stats
        rate = stats.tests_run / stats.elapsed if stats.elapsed > 0 else 0.0
        return Text.assemble(
            ("reducing ", "bold"),
            (f"{size:,} B", "cyan"),
            f" ({share:.1f}%)  ",
            (f"{stats.tests_run} tests", "green"),
            f" ({rate:.1f}/s)  pass ",
            (current, "magenta"),
            f"  {stats.elapsed:.0f}s",
        )


def summary_table(record) -> Table:
    """Sizes before and after, and what it cost."""
    table = Table(title="carts-reduce summary", show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("kept", justify="right")
    keys = ["bytes", "lines", "chars"]
    unit = unit_name(record.format)
    if unit and unit in record.sizes_before and unit in record.sizes_after:
        keys.append(unit)
    for key in keys:
        before, after = record.sizes_before.get(key, 0), record.sizes_after.get(key, 0)
        share = f"{100 * after / before:.1f}%" if before else "-"
        label = "non-ws chars" if key == "chars" else key
        table.add_row(label, f"{before:,}", f"{after:,}", share)
    table.add_section()
    table.add_row("tests run", "", f"{record.tests_run:,}", "")
    table.add_row("cache hits", "", f"{record.cache_hits:,}", "")
    if record.precheck_rejected:
        table.add_row("skipped by pre-check", "", f"{record.precheck_rejected:,}", "")
    if record.followups_run:
        table.add_row("follow-up tests", "", f"{record.followups_run:,}", "")
    table.add_row("wall time", "", f"{record.wall_seconds:.1f} s", "")
    if record.guard_share is not None:
        # Its share of the time tests ran (the guard's checks below the table).
        table.add_row("guard time", "", f"{record.guard_seconds:.1f} s", f"{100 * record.guard_share:.0f}%")
    if record.other_failures:
        table.add_row("other failures kept", "", str(record.other_failures), "")
    if record.flake_rate is not None:
        table.add_row("flake rate", "", f"{100 * record.flake_rate:.1f}%", "")
    pipeline_rows(table, record.pipeline or {})
    helped = sorted(record.passes_helped.items(), key=lambda item: -item[1])
    if helped:
        table.add_section()
        for name, removed in helped:
            table.add_row(f"pass {name}", "", f"-{removed:,} B", "")
    return table


def pipeline_rows(table: Table, pipeline: dict) -> None:
    """What the pipeline layer found: the culprit stage, what was reduced, the pass list."""
    if not pipeline:
        return
    table.add_section()
    culprit = pipeline.get("culprit")
    if culprit:
        table.add_row("fails in stage", "", culprit["stage"], f"{culprit['runs']} runs")
    if pipeline.get("start_from"):
        table.add_row("reduced", "", f"module entering {pipeline['start_from']}", "")
    elif pipeline.get("from"):
        table.add_row("reduced", "", "input, whole pipeline", "")
    if pipeline.get("passes_before") is not None:
        before, after = pipeline["passes_before"], pipeline.get("passes") or []
        share = f"{100 * len(after) / len(before):.1f}%" if before else "-"
        table.add_row("pass list", f"{len(before)}", f"{len(after)}", share)
        table.add_row("passes kept", "", " ".join(after) or "(none)", "")
