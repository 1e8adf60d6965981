"""What the user sees: a status line on a terminal, plain lines in a log, a word on resuming."""

from __future__ import annotations

import io
from pathlib import Path

import anyio
from rich.console import Console

from carts_reduce.job import run_job
from carts_reduce.progress import ProgressView
from test_resume import make_job, needle_runner


def reduce_with(view: ProgressView, output: Path) -> None:
    text = "\n".join(["alpha", "beta", "NEEDLE", "gamma", "delta"] * 4) + "\nend\n"
    job = make_job(text, output)
    anyio.run(lambda: run_job(job, view, run=needle_runner(("NEEDLE", "end"))))


def test_off_a_terminal_progress_is_plain_lines(tmp_path):
    stream = io.StringIO()
    view = ProgressView(Console(file=stream, force_terminal=False, width=200), 100, plain_every=0)
    reduce_with(view, tmp_path / "out.txt")
    lines = stream.getvalue().splitlines()
    assert lines, "no progress line off a terminal"
    for line in lines:
        assert line.startswith("carts-reduce: ") and " B (" in line and " tests, pass " in line, line
    assert "\x1b" not in stream.getvalue(), "terminal control codes in a log"


def test_plain_lines_come_at_most_every_few_seconds(tmp_path):
    stream = io.StringIO()
    view = ProgressView(Console(file=stream, force_terminal=False, width=200), 100, plain_every=3600)
    reduce_with(view, tmp_path / "out.txt")
    assert stream.getvalue() == ""


def test_quiet_says_nothing(tmp_path):
    stream = io.StringIO()
    view = ProgressView(Console(file=stream, force_terminal=False, width=200), 100, quiet=True, plain_every=0)
    reduce_with(view, tmp_path / "out.txt")
    view.say("resuming")
    assert stream.getvalue() == ""
