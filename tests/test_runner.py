"""The runner: one temp dir and one process group per test, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import anyio
import pytest

from carts_reduce.run.outcome import Step, TestSpec
from carts_reduce.run.runner import OUTPUT_CAP, run_test

SH = ("/bin/sh", "-c")


def run(steps, timeout=10.0, files=()):
    return anyio.run(run_test, TestSpec(files=tuple(files), steps=tuple(steps), timeout=timeout))


def sleeper() -> str:
    """A ``sleep`` whose command line no other process has, even in another suite run at once."""
    return f"sleep 1000.{uuid.uuid4().int % 10**12:012d}"


def alive(marker: str) -> bool:
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("carts-reduce-")]
    assert leftovers == [], "a test dir was left behind"


def test_exit_status_output_and_files():
    outcome = run([Step("stage", SH + ("cat input.txt; echo oops >&2; exit 3",))], files=[("input.txt", b"hello\n")])
    main = outcome.main
    assert (main.returncode, main.signal, main.timed_out) == (3, None, False)
    assert main.stdout == "hello\n" and main.stderr == "oops\n"
    assert outcome.failed_step == "stage"


def test_death_by_signal_directly_and_through_a_shell():
    direct = run([Step("stage", (sys.executable, "-c", "import os; os.abort()"))]).main
    assert direct.signal == signal.SIGABRT and direct.returncode is None
    shelled = run([Step("stage", SH + ("kill -SEGV $$",))]).main
    assert shelled.signal == signal.SIGSEGV
    assert shelled.status == "SIGSEGV"


def test_steps_stop_at_the_first_failure_unless_told_otherwise():
    outcome = run([
        Step("precheck", SH + ("exit 1",)),
        Step("stage", SH + ("echo never",)),
    ])
    assert [r.name for r in outcome.steps] == ["precheck"]
    outcome = run([
        Step("reference", SH + ("exit 1",), stop_on_failure=False),
        Step("candidate", SH + ("echo ran",)),
    ])
    assert outcome.step("candidate").stdout == "ran\n"


def test_stdout_to_a_file_feeds_the_next_step():
    outcome = run([
        Step("frontend", SH + ("echo module",), stdout_path="out.mlir"),
        Step("stage", ("cat", "out.mlir")),
    ])
    assert outcome.main.stdout == "module\n"


def test_timeout_kills_the_whole_group_children_included():
    marker = sleeper()
    outcome = run([Step("stage", SH + (f"{marker} & {marker}",))], timeout=0.5)
    assert outcome.main.timed_out and outcome.timed_out
    assert not alive(marker)  # killed, not waited for: it would sleep for 1000 s


def test_a_forked_sleeping_child_does_not_outlive_its_test():
    marker = sleeper()
    outcome = run([Step("stage", SH + (f"({marker} &); echo started",))], timeout=5)
    assert outcome.main.returncode == 0 and outcome.main.stdout == "started\n"
    assert not alive(marker)


def test_a_child_that_ignores_sigterm_is_killed():
    marker = sleeper()
    run([Step("stage", SH + (f"trap '' TERM; {marker}",))], timeout=0.3)
    assert not alive(marker)


def test_cancellation_kills_the_test():
    marker = sleeper()

    async def cancelled():
        with anyio.move_on_after(0.3):
            await run_test(TestSpec(files=(), steps=(Step("stage", SH + (marker,)),), timeout=600))

    anyio.run(cancelled)
    assert not alive(marker)  # killed on cancellation, not left to sleep out its 1000 s


def test_output_is_capped():
    size = OUTPUT_CAP + 1024 * 1024
    outcome = run([Step("stage", (sys.executable, "-c", f"import sys; sys.stdout.write('x' * {size})"))])
    assert len(outcome.main.stdout) < OUTPUT_CAP + 1000
    assert "bytes of output cut" in outcome.main.stdout


def test_a_missing_program_is_an_outcome_not_an_exception():
    outcome = run([Step("stage", ("/nonexistent/carts", "run"))])
    assert outcome.main.returncode == 127
    assert "cannot start" in outcome.main.stderr


def test_environment_reaches_the_step(monkeypatch):
    spec = TestSpec(files=(), steps=(Step("stage", SH + ("echo $CR_TEST_VALUE",)),), timeout=5,
                    env=(("CR_TEST_VALUE", "seen"),))
    assert anyio.run(run_test, spec).main.stdout == "seen\n"
    assert "CR_TEST_VALUE" not in os.environ


def test_a_step_s_temporary_files_go_with_its_test(tmp_path):
    # A compiler killed mid-build (a timeout, a cancelled test) leaves its temporaries
    # in $TMPDIR: that is inside the test's own dir, removed with it.
    step = Step("stage", SH + ('echo "$TMPDIR"; touch "$TMPDIR/left.o"; sleep 30',))
    outcome = anyio.run(run_test, TestSpec(files=(), steps=(step,), timeout=0.5))
    assert outcome.main.timed_out
    scratch = Path(outcome.main.stdout.strip())
    assert scratch.name == ".tmp" and scratch.parent.name.startswith("carts-reduce-")
    assert not scratch.parent.exists()
