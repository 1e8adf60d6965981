"""Does the test suite pass every time, on a loaded machine? Runs it again and again.

    .venv/bin/python bench/gate.py [--rounds 20] [--at-once 2] [-- PYTEST ARGS...]

Each round starts ``--at-once`` whole suites together (``.venv/bin/pytest -q``
in this checkout, as CI runs it), so that on a 2-core machine they load each
other the way a busy CI host or a colleague's benchmark would. Prints one row
per suite run (tests passed, failed, wall time, processes it left running),
then the totals and the name of every test that failed, with how often.
A suite's processes carry a marker of their own in the environment; those
still alive once it has ended are counted as left running (a test's
processes must all end with the test), then ended.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = ROOT / ".venv" / "bin" / "pytest"
MARKER = "CARTS_REDUCE_GATE_SUITE"
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|warnings?)")


@dataclass
class SuiteRun:
    round: int
    suite: int
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    left_running: int = 0
    code: int = 0

    @property
    def green(self) -> bool:
        return self.code == 0 and not self.failed and not self.counts.get("errors") and not self.left_running


def processes_marked(tag: str) -> list[int]:
    """Live processes whose environment carries the suite's marker."""
    needle = f"\0{MARKER}={tag}\0".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            environ = b"\0" + Path(f"/proc/{name}/environ").read_bytes()
            state = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ and state != b"Z":
            found.append(int(name))
    return found


def start_suite(tag: str, pytest_args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, MARKER: tag}
    stream = open(log, "w")
    return subprocess.Popen([str(PYTEST), "-q", "-p", "no:cacheprovider", *pytest_args], cwd=ROOT, env=env,
                            stdout=stream, stderr=subprocess.STDOUT, start_new_session=True)


def read_result(run: SuiteRun, log: Path) -> None:
    text = log.read_text(errors="replace")
    lines = text.strip().splitlines()
    last = lines[-1] if lines else ""
    for number, word in SUMMARY.findall(last):
        key = "errors" if word.startswith("error") else word
        run.counts[key] = int(number)
    run.failed = [line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR "))]


def run_round(number: int, at_once: int, pytest_args: list[str], logs: Path) -> list[SuiteRun]:
    tags = [uuid.uuid4().hex for _ in range(at_once)]
    started = time.monotonic()
    runs = [SuiteRun(number, index + 1) for index in range(at_once)]
    paths = [logs / f"round{number:02d}-suite{index + 1}.log" for index in range(at_once)]
    processes = [start_suite(tag, pytest_args, path) for tag, path in zip(tags, paths)]
    try:
        waiting = dict(zip(processes, runs))
        while waiting:
            for process, run in list(waiting.items()):
                if process.poll() is not None:
                    run.code, run.seconds = process.returncode, time.monotonic() - started
                    del waiting[process]
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    for run, tag, path in zip(runs, tags, paths):
        read_result(run, path)
        leftovers = processes_marked(tag)
        run.left_running = len(leftovers)
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds to run (default 20)")
    parser.add_argument("--at-once", type=int, default=2, help="suites started together in each round (default 2)")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args()
    if args.rounds < 1 or args.at_once < 1:
        parser.error("--rounds and --at-once must be at least 1")
    if not PYTEST.exists():
        parser.error(f"{PYTEST} not found: run bash .ci/setup first")
    logs = ROOT / "bench" / "results" / f"gate-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)

    print(f"{args.rounds} rounds of {args.at_once} suites at once on {os.cpu_count()} CPUs; logs in {logs}")
    print(f"{'round':>5} {'suite':>5} {'passed':>7} {'failed':>7} {'errors':>7} {'skipped':>8} {'wall s':>7} {'left running':>13}")
    runs: list[SuiteRun] = []
    wall = time.monotonic()
    for number in range(1, args.rounds + 1):
        for run in run_round(number, args.at_once, args.pytest_args, logs):
            runs.append(run)
            print(f"{run.round:>5} {run.suite:>5} {run.counts.get('passed', 0):>7} {run.counts.get('failed', 0):>7} "
                  f"{run.counts.get('errors', 0):>7} {run.counts.get('skipped', 0):>8} {run.seconds:>7.0f} "
                  f"{run.left_running:>13}" + ("" if run.green else "  <- not green"), flush=True)
    green = sum(run.green for run in runs)
    print(f"\nsuite runs: {len(runs)}, green: {green}, not green: {len(runs) - green}, "
          f"wall time: {time.monotonic() - wall:.0f} s")
    failures = collections.Counter(name for run in runs for name in run.failed)
    for name, count in failures.most_common():
        print(f"  failed {count}x: {name}")
    return 0 if green == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
