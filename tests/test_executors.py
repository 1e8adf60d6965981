"""Executors: the local pool and a real Dask LocalCluster give the same outcomes;
a cluster loses nothing when a worker dies, kills what is no longer wanted, and
one that cannot be reached is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from carts_reduce.run.executor import ExecutorError, open_executor
from carts_reduce.run.outcome import Step, TestSpec

ROOT = Path(__file__).resolve().parents[1]
STANDIN = ROOT / "tests" / "standin" / "carts"
EXAMPLE = ROOT / "examples" / "alloc3d.mlir"
CLI = [sys.executable, "-m", "carts_reduce"]


def _spec(script: str, name: str = "in.txt", data: bytes = b"payload\n", timeout: float = 30) -> TestSpec:
    return TestSpec(files=((name, data),), steps=(Step("stage", ("/bin/sh", "-c", script)),), timeout=timeout)


async def _run_all(cluster, specs):
    async with open_executor(cluster, 2) as executor:
        results = [None] * len(specs)

        async def one(index):
            results[index] = await executor.run(specs[index])

        async with anyio.create_task_group() as group:
            for index in range(len(specs)):
                group.start_soon(one, index)
        return results, executor.tests


def _plain(outcome):
    return [(s.name, s.returncode, s.signal, s.timed_out, s.stdout, s.stderr) for s in outcome.steps]


def test_local_pool_and_dask_cluster_give_the_same_outcomes():
    specs = [
        _spec("cat in.txt; echo err >&2; exit 3"),
        _spec("kill -SEGV $$"),
        _spec("sleep 5", timeout=0.5),
        TestSpec(files=(("m.mlir", EXAMPLE.read_bytes()),),
                 steps=(Step("stage", (str(STANDIN), "run", "m.mlir", "--canonicalize-memrefs")),), timeout=60),
    ]
    local, _ = anyio.run(_run_all, None, specs)
    dask, count = anyio.run(_run_all, "local:2", specs)
    assert count == len(specs)
    assert [_plain(o) for o in local] == [_plain(o) for o in dask]
    statuses = [o.main.status for o in dask]
    assert statuses == ["exit 3", "SIGSEGV", "timeout", "SIGABRT"]
    assert "CanonicalizeMemrefsPass::runOnOperation" in dask[3].main.stderr


def test_a_worker_killed_mid_test_costs_nothing_but_a_rerun(tmp_path):
    marker = tmp_path / "killed-once"
    # The first run kills the Dask worker running it (its parent), as a machine lost
    # mid-test would; the rerun elsewhere finds the marker and answers.
    script = f"if mkdir {marker} 2>/dev/null; then kill -9 $PPID; sleep 1; exit 99; fi; echo answered; exit 4"

    async def main():
        async with open_executor("local:2") as executor:
            outcome = await executor.run(_spec(script))
            return outcome, executor

    outcome, executor = anyio.run(main)
    assert marker.is_dir()  # the kill did happen
    assert (outcome.main.returncode, outcome.main.stdout) == (4, "answered\n")


def test_a_test_no_longer_wanted_is_killed_on_its_worker(tmp_path):
    pid_file = tmp_path / "pid"

    async def main():
        async with open_executor("local:2") as executor:
            spec = _spec(f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; exec sleep 120", timeout=300)
            with anyio.move_on_after(60) as scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(executor.run, spec)
                    while not pid_file.exists():
                        await anyio.sleep(0.05)
                    group.cancel_scope.cancel()
            assert not scope.cancelled_caught, "the test never started"
            pid = int(pid_file.read_text())
            for _ in range(600):  # up to a minute, far more than the worker's poll needs
                if not _alive(pid):
                    return True
                await anyio.sleep(0.1)
            os.kill(pid, 9)
            return False

    assert anyio.run(main), "the cancelled test's process still ran on the worker"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_reduction_on_a_local_cluster_gives_the_same_file_as_on_the_local_pool(tmp_path):
    results = {}
    for name, extra in (("local", []), ("cluster", ["--cluster", "local:2"])):
        output = tmp_path / f"{name}.mlir"
        proc = subprocess.run(
            CLI + [str(EXAMPLE), "--pass", "canonicalize-memrefs", "--carts", str(STANDIN), "-j", "2",
                   "-o", str(output), "-q", *extra],
            capture_output=True, text=True, timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        results[name] = output.read_bytes()
    assert results["local"] == results["cluster"]
    assert len(results["cluster"]) < len(EXAMPLE.read_bytes())


def test_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path):
    started = time.monotonic()
    proc = subprocess.run(
        CLI + [str(EXAMPLE), "--pass", "canonicalize-memrefs", "--carts", str(STANDIN),
               "-o", str(tmp_path / "out.mlir"), "--cluster", "tcp://127.0.0.1:9"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in lines[0]
    assert "dask scheduler" in lines[0]
    assert not (tmp_path / "out.mlir").exists()
    assert time.monotonic() - started < 300


@pytest.mark.parametrize("given", ["localhost:8786", "local:0", "local:x"])
def test_a_malformed_cluster_address_is_one_line_and_exit_2(tmp_path, given):
    proc = subprocess.run(
        CLI + [str(EXAMPLE), "--pass", "canonicalize-memrefs", "--carts", str(STANDIN), "--cluster", given],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "--cluster" in proc.stderr


def test_executor_error_names_the_address():
    async def main():
        async with open_executor("tcp://127.0.0.1:9"):
            pass

    with pytest.raises(ExecutorError, match="tcp://127.0.0.1:9"):
        anyio.run(main)
