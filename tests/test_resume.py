"""Checkpoint and resume: a killed reduction goes on where it stopped, to the same result."""

from __future__ import annotations

import hashlib
import json
import os
import re
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
    def say(self, message): pass


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


# The original's two runs and the empty input's run come before any state is
# written: a stop among them starts over, so the stops tested come after.
@settings(max_examples=40, deadline=None)
@given(words, st.integers(min_value=3, max_value=200))
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


NEEDLE_SCRIPT = "#!/bin/sh\ngrep -q NEEDLE \"$1\" && grep -q HAYSTACK \"$1\"\n"


def needle_source() -> str:
    lines = [f"line {i} {'{' if i % 7 == 0 else ''} filler {'}' if i % 7 == 3 else ''}" for i in range(120)]
    lines[37] += " NEEDLE"
    lines[90] += " HAYSTACK"
    return "\n".join(lines) + "\n"


def needle_script(path: Path) -> Path:
    """An executable C-Vise style script: the candidate still holds the needle and the haystack."""
    path.write_text(NEEDLE_SCRIPT)
    path.chmod(0o755)
    return path


def stopped_first_run(folder: Path, script: Path) -> Path:
    """A reduction of input.txt in ``folder`` stopped with Ctrl-C part way; its state dir."""
    first = [sys.executable, "-m", "carts_reduce", "input.txt", "--script", str(script), "-j", "2",
             "--json-log", "first.jsonl", "--timeout", "60"]
    start_and_stop(first, folder, folder / "first.jsonl", signal.SIGINT)
    return folder / "input.reduced.txt.state"


def start_and_stop(command: list[str], folder: Path, log: Path, sig: int) -> None:
    """Start a reduction, let it run 15 tests, then stop it with ``sig``."""
    first = subprocess.Popen(command, cwd=folder, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            if log.exists() and log.read_text().count('"event": "test"') >= 15:
                break
            time.sleep(0.02)
        os.killpg(first.pid, sig)
    finally:
        first.wait(timeout=120)


def saved_verdicts(state: Path) -> set[str]:
    """The verdicts a stopped run saved (hash prefixes, as the JSON log writes them)."""
    return {json.loads(line)[0][:16] for line in (state / "cache.jsonl").read_text().splitlines() if line.endswith("]")}


def hashes_tested(path: Path) -> list[str]:
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e["hash"] for e in entries if e.get("event") == "test" and e.get("pass") not in ("verify", "original", "empty")]


def test_sigkill_then_the_same_command_resumes_to_the_jobs_1_result(tmp_path):
    source = needle_source()
    script = needle_script(tmp_path / "interesting.sh")

    def command(jobs: str, log: str) -> list[str]:
        # --timeout far above a test's run: a loaded machine must not change the result.
        return [sys.executable, "-m", "carts_reduce", "input.txt", "--script", str(script), "-j", jobs,
                "--json-log", log, "-q", "--timeout", "60"]

    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "input.txt").write_text(source)
    subprocess.run(command("1", "log.jsonl"), cwd=whole, check=True, capture_output=True, timeout=300)

    split = tmp_path / "split"
    split.mkdir()
    (split / "input.txt").write_text(source)
    start_and_stop(command("2", "first.jsonl"), split, split / "first.jsonl", signal.SIGKILL)
    state = split / "input.reduced.txt.state"
    assert state.is_dir(), "no state left to resume from"
    saved = saved_verdicts(state)

    subprocess.run(command("2", "second.jsonl"), cwd=split, check=True, capture_output=True, timeout=300)
    assert (split / "input.reduced.txt").read_bytes() == (whole / "input.reduced.txt").read_bytes()
    assert (split / "input.txt").read_text() == source
    assert len(saved) >= 10
    assert not saved & set(hashes_tested(split / "second.jsonl")), "tests whose verdicts were saved were run again"
    assert not state.exists()


def test_resume_option_goes_on_from_anywhere_and_says_so(tmp_path):
    source = needle_source()
    script = needle_script(tmp_path / "interesting.sh")
    run = tmp_path / "run"
    run.mkdir()
    (run / "input.txt").write_text(source)
    state = stopped_first_run(run, script)
    assert state.is_dir(), "no state left to resume from"
    saved = saved_verdicts(state)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = subprocess.run(
        [sys.executable, "-m", "carts_reduce", "--resume", "../run/input.reduced.txt", "-j", "1",
         "--json-log", "second.jsonl"],
        cwd=elsewhere, capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    announced = re.search(r"resuming from input.reduced.txt.state: (\d+) verdicts, pass \S+", resumed.stderr)
    assert announced and int(announced.group(1)) >= len(saved), resumed.stderr
    assert Path(resumed.stdout.strip()) == (run / "input.reduced.txt").resolve()
    assert (run / "input.txt").read_text() == source
    assert not saved & set(hashes_tested(elsewhere / "second.jsonl"))
    result = (run / "input.reduced.txt").read_text()
    assert "NEEDLE" in result and "HAYSTACK" in result and len(result) < len(source) // 10

    again = subprocess.run([sys.executable, "-m", "carts_reduce", "--resume", "../run/input.reduced.txt"],
                           cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "finished reduction" in again.stderr
    nothing = subprocess.run([sys.executable, "-m", "carts_reduce", "--resume", "nothing.txt", "-j", "2"],
                             cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert nothing.returncode == 2 and nothing.stderr.count("\n") == 1 and "no unfinished reduction" in nothing.stderr


def test_a_resume_with_options_of_another_reduction_keeps_the_state(tmp_path):
    source = needle_source()
    script = needle_script(tmp_path / "interesting.sh")
    (tmp_path / "input.txt").write_text(source)
    state = stopped_first_run(tmp_path, script)
    saved = sorted(p.name for p in state.rglob("*"))
    for args in (["--predicate", "crash"], ["--timeout", "-3"]):
        refused = subprocess.run([sys.executable, "-m", "carts_reduce", "--resume", "input.reduced.txt", *args],
                                 cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert sorted(p.name for p in state.rglob("*")) == saved, "a refused resume touched the state"
