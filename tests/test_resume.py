"""Checkpoint and resume: a killed reduction goes on where it stopped, to the same result."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from carts_reduce.job import Job, run_job
from carts_reduce.run.outcome import Outcome, StepResult, TestSpec
from carts_reduce.run.tool import Tool
from test_driver import ExitZero


class Killed(Exception):
    """What the machine going down looks like to the reducer."""


class QuietView:
    def start(self, reducer): pass
    def update(self, reducer): pass
    def stop(self): pass


def needle_runner(needles: tuple[str, ...], kill_after: int | None = None, seen: list | None = None):
    """An in-process test: exit 0 when the candidate holds every needle."""
    calls = 0

    async def run(spec: TestSpec) -> Outcome:
        nonlocal calls
        calls += 1
        if kill_after is not None and calls > kill_after:
            raise Killed
        text = spec.files[0][1].decode()
        if seen is not None:
            seen.append(hashlib.sha256(text.encode()).hexdigest())
        code = 0 if all(n in text for n in needles) else 1
        return Outcome((StepResult("stage", ("test",), code, None, False, 0.0, "", ""),))

    return run


def make_job(text: str, output: Path) -> Job:
    return Job(
        input_path=output.with_name("input.txt"), output_path=output, text=text, fmt="text",
        tool=Tool(input_name="input.txt", command="test"), predicate=ExitZero(),
        predicate_specs=["exit-zero"], predicate_options={}, jobs=1, timeout=5, verify=0,
    )


words = st.lists(st.sampled_from(["alpha", "beta {", "}", "gamma delta", "NEEDLE", "x", "y z"]), min_size=3, max_size=25)


@settings(max_examples=40, deadline=None)
@given(words, st.integers(min_value=2, max_value=200))
def test_stopping_anywhere_and_resuming_gives_the_uninterrupted_result(tmp_path_factory, lines, kill_after):
    text = "\n".join(lines) + "\nNEEDLE end\n"
    needles = ("NEEDLE", "end")
    whole_dir, split_dir = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("split")
    anyio.run(lambda: run_job(make_job(text, whole_dir / "out.txt"), QuietView(), run=needle_runner(needles)))
    expected = (whole_dir / "out.txt").read_text()

    before: list[str] = []
    job = make_job(text, split_dir / "out.txt")
    try:
        anyio.run(lambda: run_job(job, QuietView(), run=needle_runner(needles, kill_after, before)))
        finished_early = True
    except BaseException as error:  # the task group wraps it
        assert "Killed" in repr(error)
        finished_early = False
    after: list[str] = []
    anyio.run(lambda: run_job(make_job(text, split_dir / "out.txt"), QuietView(), run=needle_runner(needles, None, after)))
    assert (split_dir / "out.txt").read_text() == expected
    if not finished_early:
        assert not set(before) & set(after), "a test already judged before the stop was run again"
    assert not (split_dir / "out.txt.state").exists()


def test_sigkill_then_the_same_command_resumes_to_the_jobs_1_result(tmp_path):
    lines = [f"line {i} {'{' if i % 7 == 0 else ''} filler {'}' if i % 7 == 3 else ''}" for i in range(120)]
    lines[37] += " NEEDLE"
    lines[90] += " HAYSTACK"
    source = "\n".join(lines) + "\n"
    script = tmp_path / "interesting.sh"
    script.write_text("#!/bin/sh\ngrep -q NEEDLE \"$1\" && grep -q HAYSTACK \"$1\"\n")
    script.chmod(0o755)

    def command(folder: Path, jobs: str, log: str) -> list[str]:
        return [sys.executable, "-m", "carts_reduce", "input.txt", "--script", str(script), "-j", jobs,
                "--json-log", log, "-q"]

    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "input.txt").write_text(source)
    subprocess.run(command(whole, "1", "log.jsonl"), cwd=whole, check=True, capture_output=True, timeout=300)

    split = tmp_path / "split"
    split.mkdir()
    (split / "input.txt").write_text(source)
    first = subprocess.Popen(command(split, "2", "first.jsonl"), cwd=split, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = split / "first.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count('"event": "test"') >= 15:
            break
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert (split / "input.reduced.txt.state").is_dir(), "no state left to resume from"

    subprocess.run(command(split, "2", "second.jsonl"), cwd=split, check=True, capture_output=True, timeout=300)
    assert (split / "input.reduced.txt").read_bytes() == (whole / "input.reduced.txt").read_bytes()
    assert (split / "input.txt").read_text() == source

    def tested(path: Path) -> list[str]:
        entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [e["hash"] for e in entries if e.get("event") == "test" and e.get("pass") != "verify"]

    before, after = tested(split / "first.jsonl"), tested(split / "second.jsonl")
    assert len(before) >= 15
    assert not set(before) & set(after), "tests cached before the kill were run again"
    assert not (split / "input.reduced.txt.state").exists()
