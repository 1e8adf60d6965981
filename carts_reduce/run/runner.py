"""Runs one test: the only place in carts-reduce that starts processes.

Each test gets a fresh temp dir (its cwd) and each step its own session, so
that a timeout or a cancellation can kill the whole process group, children
included; in a process that adopts orphans (``reaper``), what left the group
is ended with the test too. Output goes to files rather than pipes: a grandchild that inherits
stdout cannot keep us waiting, and a runaway writer costs disk, not memory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import anyio

from carts_reduce.run import reaper
from carts_reduce.run.outcome import Outcome, Step, StepResult, TestSpec

#: Per stream, at most this much output is kept (head and tail).
OUTPUT_CAP = 8 * 1024 * 1024
#: After SIGTERM, how long a process group gets before SIGKILL.
TERM_GRACE = 0.5
SHELL = ("/bin/sh", "-c")


async def run_test(spec: TestSpec) -> Outcome:
    """Run the steps of ``spec`` in order in a new temp dir, then remove it."""
    workdir = Path(tempfile.mkdtemp(prefix="carts-reduce-"))
    results: list[StepResult] = []
    tag = reaper.new_tag() if reaper.adopted() else None
    pids: list[int] = []  # of the test's steps: its descendants come after the first
    try:
        for name, data in spec.files:
            path = workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if name.endswith(".sh"):
                path.chmod(0o755)
        env = _environment(spec.env, workdir, tag)
        for index, step in enumerate(spec.steps):
            result = await _run_step(step, index, workdir, env, spec.timeout, pids)
            results.append(result)
            if result.failed and step.stop_on_failure:
                break
        return Outcome(tuple(results), collected=_collect(workdir, spec.collect))
    finally:
        if tag is not None:
            with anyio.CancelScope(shield=True):
                await reaper.end_orphans(tag, since=min(pids, default=0))  # what left the process groups
        shutil.rmtree(workdir, ignore_errors=True)


def _collect(workdir: Path, names: tuple[str, ...]) -> tuple[tuple[str, bytes], ...]:
    found = []
    for name in names:
        try:
            found.append((name, (workdir / name).read_bytes()))
        except OSError:
            pass  # not written: the step that should have failed
    return tuple(found)


def _environment(extra: tuple[tuple[str, str], ...], workdir: Path, tag: str | None) -> dict[str, str]:
    """Ours plus the spec's, with the temp dir inside the test's (what a compiler killed
    mid-build leaves there, its object files, goes with the test) and the test's tag
    (what it starts outside its group is found by it, see reaper)."""
    scratch = workdir / ".tmp"
    scratch.mkdir()
    tagged = {reaper.TAG_VARIABLE: tag} if tag is not None else {}
    return {**os.environ, **dict(extra), "TMPDIR": str(scratch), **tagged}


async def _run_step(step: Step, index: int, workdir: Path, env: dict | None, timeout: float,
                    started_pids: list[int]) -> StepResult:
    out_path = workdir / (step.stdout_path or f".step{index}.stdout")
    err_path = workdir / f".step{index}.stderr"
    started = time.monotonic()
    timed_out = False
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            with reaper.children_lock:
                process = subprocess.Popen(
                    list(step.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=workdir,
                    env=env,
                    start_new_session=True,
                )
                reaper.runner_children.add(process.pid)
        except OSError as error:
            message = f"carts-reduce: cannot start {step.argv[0]}: {error.strerror}\n"
            return _result(step, 127, None, False, 0.0, b"", message.encode())
        started_pids.append(process.pid)
        try:
            with anyio.move_on_after(timeout) as scope:
                await _exited(process)
            timed_out = scope.cancelled_caught
        finally:
            # Whatever happened (exit, timeout, cancellation), nothing of the
            # group may outlive the step.
            with anyio.CancelScope(shield=True):
                await _kill_group(process, graceful=process.returncode is None)
            reaper.runner_children.discard(process.pid)
    duration = time.monotonic() - started
    code = process.returncode
    sig = None
    if timed_out:
        code = None
    elif code is not None and code < 0:
        sig, code = -code, None
    elif code is not None and step.argv[:2] == SHELL and 128 < code < 128 + 65:
        sig, code = code - 128, None
    stdout = b"" if step.stdout_path else _read_capped(out_path)
    return _result(step, code, sig, timed_out, duration, stdout, _read_capped(err_path))


async def _exited(process: subprocess.Popen) -> None:
    """Wait for ``process`` to exit (and reap it) without blocking the event loop.

    A pidfd becomes readable when the process exits: no thread per child, as
    asyncio's child watcher needs, and no polling. Where there is no pidfd,
    polling with a growing interval.
    """
    if process.poll() is not None:
        return
    try:
        fd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        interval = 0.001
        while process.poll() is None:
            await anyio.sleep(interval)
            interval = min(2 * interval, 0.05)
        return
    try:
        while process.poll() is None:
            await anyio.wait_readable(fd)
    finally:
        os.close(fd)


async def _kill_group(process: subprocess.Popen, graceful: bool) -> None:
    pid = process.pid
    if graceful:
        _signal_group(pid, signal.SIGTERM)
        with anyio.move_on_after(TERM_GRACE):
            await _exited(process)
    _signal_group(pid, signal.SIGKILL)
    await _exited(process)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _read_capped(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        with open(path, "rb") as stream:
            if size <= OUTPUT_CAP:
                return stream.read()
            head = stream.read(OUTPUT_CAP // 2)
            stream.seek(size - OUTPUT_CAP // 2)
            marker = f"\n[carts-reduce: {size - OUTPUT_CAP} bytes of output cut]\n".encode()
            return head + marker + stream.read()
    except OSError:
        return b""


def _result(step: Step, code, sig, timed_out, duration, stdout: bytes, stderr: bytes) -> StepResult:
    return StepResult(
        name=step.name,
        argv=step.argv,
        returncode=code,
        signal=sig,
        timed_out=timed_out,
        duration=duration,
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
    )
