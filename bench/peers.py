"""Run one reducer (carts-reduce or a peer) on one input under one predicate, and count its tests.

Every tool gets the same thing: a scratch copy of the input, the case's
interestingness script behind a counting wrapper, the same parallelism and the
same wall-clock cap. The wrapper logs each invocation (start, end, exit status,
hash of the candidate) and keeps one copy of each distinct candidate, so tests
run, tests to the final result and the share of candidates that parse are
measured the same way for every tool, from the outside. The parse check runs
afterwards, on the stored candidates, so it never slows a tool down.

At the cap the tool's whole process group gets SIGTERM, then SIGKILL; any
process it started in a new session is found by a marker in its environment
and killed by pid. The tool's best-so-far file is taken as its result (C-Vise,
C-Reduce and Shrink Ray write their current best back into the file).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHRINKRAY = ROOT / "bench" / ".shrinkray-venv" / "bin" / "shrinkray"
CARTS_REDUCE = ROOT / ".venv" / "bin" / "carts-reduce"
MLIR_REDUCE = Path("/usr/lib/llvm-22/bin/mlir-reduce")
TOOLS = ("carts-reduce", "cvise", "shrinkray", "creduce", "mlir-reduce")

_WRAPPER = """#!/bin/bash
# Counting wrapper around {script}: one 'S' line when a test starts, one 'E' line when it ends.
f=${{1:-{basename}}}
start=$EPOCHREALTIME
h=$(sha1sum < "$f"); h=${{h%% *}}
echo "S $start $$ $h" >> {log}
[ -e {store}/$h ] || cp "$f" {store}/$h 2>/dev/null
{script} "$f"
rc=$?
echo "E $start $EPOCHREALTIME $$ $rc $h" >> {log}
{exit_line}
"""


@dataclass
class Invocation:
    start: float
    end: float | None  # None: the tool killed the test before it finished
    returncode: int | None
    sha1: str


@dataclass
class ToolRun:
    tool: str
    available: bool
    output: str | None = None  # path of the final file
    wall_seconds: float = 0.0
    capped: bool = False  # killed at the time limit
    returncode: int | None = None
    note: str = ""
    invocations: list[Invocation] = field(default_factory=list)
    store: str | None = None  # folder of distinct candidates, named by sha1
    metadata: dict | None = None  # carts-reduce's OUT.json, when present
    intact: bool = True  # False: files vanished from the scratch dir while the tool ran

    @property
    def tests(self) -> int:
        return len(self.invocations)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("invocations")
        data["tests"] = self.tests
        return data


def which(tool: str) -> Path | None:
    if tool == "shrinkray":
        return SHRINKRAY if SHRINKRAY.exists() else None
    if tool == "carts-reduce":
        return CARTS_REDUCE if CARTS_REDUCE.exists() else None
    if tool == "mlir-reduce":
        return MLIR_REDUCE if MLIR_REDUCE.exists() else None
    found = shutil.which(tool)
    return Path(found) if found else None


def version(tool: str) -> str | None:
    exe = which(tool)
    if exe is None:
        return None
    try:
        proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    if tool == "mlir-reduce":
        lines = [line for line in lines if "version" in line.lower()] or lines
    return lines[0] if lines else None


def counting_wrapper(script: Path, basename: str, workdir: Path, invert: bool = False) -> tuple[Path, Path, Path]:
    """Write the wrapper; returns (wrapper, log file, candidate store)."""
    log = workdir / "tests.log"
    store = workdir / "candidates"
    store.mkdir(parents=True, exist_ok=True)
    log.touch()
    # mlir-reduce takes a non-zero exit as "interesting": the wrapper flips the verdict for it.
    exit_line = "[ $rc -eq 0 ] && exit 1 || exit 0" if invert else "exit $rc"
    wrapper = workdir / "interesting-counted.sh"
    wrapper.write_text(_WRAPPER.format(
        script=shlex.quote(str(script)), basename=shlex.quote(basename),
        log=shlex.quote(str(log)), store=shlex.quote(str(store)), exit_line=exit_line,
    ))
    wrapper.chmod(0o755)
    return wrapper, log, store


# The wrapper's log lines. A test killed mid-write can leave a torn line; the patterns skip it.
# $EPOCHREALTIME follows the locale's decimal point, hence [.,].
_TIME = r"(\d+[.,]\d+)"
_START = re.compile(rf"S {_TIME} (\d+) ([0-9a-f]{{40}})")
_END = re.compile(rf"E {_TIME} {_TIME} (\d+) (\d+) ([0-9a-f]{{40}})")


def _seconds(stamp: str) -> float:
    return float(stamp.replace(",", "."))


def read_log(log: Path) -> list[Invocation]:
    """The wrapper's invocations, in start order (none when the log is gone)."""
    started: dict[tuple[str, str], str] = {}
    ended: dict[tuple[str, str], tuple[float, int]] = {}
    text = log.read_text(errors="replace") if log.exists() else ""
    for line in text.splitlines():
        if match := _START.fullmatch(line):
            start, pid, sha1 = match.groups()
            started[(start, pid)] = sha1
        elif match := _END.fullmatch(line):
            start, end, pid, rc, _ = match.groups()
            ended[(start, pid)] = (_seconds(end), int(rc))
    calls = []
    for (start, pid), sha1 in started.items():
        end, rc = ended.get((start, pid), (None, None))
        calls.append(Invocation(_seconds(start), end, rc, sha1))
    calls.sort(key=lambda call: call.start)
    return calls


def command(tool: str, target: Path, wrapper: Path, jobs: int, test_timeout: float, kind: str,
            time_limit: float, extra: dict) -> list[str]:
    exe = str(which(tool))
    if tool == "cvise":
        argv = [exe, "--n", str(jobs), "--timeout", str(int(test_timeout)), "--tidy"]
        if kind != "c":
            argv.append("--not-c")  # its C passes (clang_delta) only waste tests on other languages
        return argv + [str(wrapper), target.name]  # it refuses a test case path with folders
    if tool == "creduce":
        argv = [exe, "--n", str(jobs), "--timeout", str(int(test_timeout)), "--tidy"]
        if kind != "c":
            argv.append("--not-c")
        return argv + [str(wrapper), target.name]
    if tool == "shrinkray":
        return [
            exe, "--parallelism", str(jobs), "--timeout", str(test_timeout),
            "--ui", "basic", "--no-llm", "--formatter", "none",
            "--trivial-is-not-error", "--input-type", "arg", "--backup", str(target) + ".bak",
            str(wrapper), str(target),
        ]
    if tool == "mlir-reduce":
        # Sequential by design; the op-reduction tree with upstream's default traversal.
        return [exe, "--allow-unregistered-dialect", str(target),
                f"--reduction-tree=traversal-mode=0 test={wrapper}", "-o", str(extra["output"])]
    if tool == "carts-reduce":
        # Its own clock stops it a little before the hard cap, leaving time to verify and write the result.
        return [exe, str(target), "--script", str(wrapper), "--jobs", str(jobs),
                "-o", str(extra["output"]), "--json-log", str(extra["json_log"]), "--quiet",
                "--max-time", str(round(time_limit * 0.9)), *extra.get("args", ())]
    raise ValueError(f"unknown tool {tool}")


def _marked_pids(token: str) -> list[int]:
    """Processes whose environment carries this run's marker (started by the tool, in any session)."""
    needle = f"BENCH_RUN_TOKEN={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _stop(proc: subprocess.Popen, token: str, grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # Tests the tool ran in sessions of their own.
    for _ in range(3):
        pids = _marked_pids(token)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


def run_tool(tool: str, input_path: Path, script: Path, workdir: Path, *, jobs: int, time_limit: float,
             kind: str, test_timeout: float = 60.0, carts_args: tuple[str, ...] = (),
             accept: Callable[[Path], bool] | None = None) -> ToolRun:
    """Run `tool` on a copy of `input_path` in `workdir` with `script` as the predicate.

    `accept` (e.g. `verify` with the case's script) picks Shrink Ray's best among the
    files of its history that pass it, so that a file torn at the cap is never taken.

    What the tool leaves behind is taken as it is: a tool that dies, or files
    that vanish from the scratch dir, give a note on the run, never an exception.
    """
    if which(tool) is None:
        return ToolRun(tool, available=False, note="not available")
    if tool == "mlir-reduce" and kind != "mlir":
        return ToolRun(tool, available=False, note="MLIR only")
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / input_path.name
    shutil.copyfile(input_path, target)
    wrapper, log, store = counting_wrapper(script, input_path.name, workdir, invert=tool == "mlir-reduce")
    output = workdir / ("reduced" + input_path.suffix)
    extra = {"output": output, "json_log": workdir / "carts-reduce.log.jsonl", "args": carts_args}
    argv = command(tool, target, wrapper, jobs, test_timeout, kind, time_limit, extra)
    (workdir / "command.txt").write_text(shlex.join(argv) + "\n")
    token = uuid.uuid4().hex
    # Short: multiprocessing puts AF_UNIX sockets in TMPDIR, whose paths are limited to 108 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="crb-", dir="/tmp"))
    env = dict(os.environ, BENCH_RUN_TOKEN=token, TMPDIR=str(tmp), SHRINKRAY_LLM="0", PYTHONUNBUFFERED="1")
    capped = False
    with open(workdir / "tool.stdout", "wb") as stdout, open(workdir / "tool.stderr", "wb") as stderr:
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, start_new_session=True)
        try:
            proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            capped = True
        except BaseException:
            _stop(proc, token)
            raise
        wall = time.monotonic() - started
        _stop(proc, token)
    shutil.rmtree(tmp, ignore_errors=True)

    run = ToolRun(tool, available=True, wall_seconds=round(wall, 2), capped=capped,
                  returncode=None if capped else proc.returncode, invocations=read_log(log), store=str(store))
    notes = []
    # Seen once: the scratch dir emptied from outside mid-run; C-Vise then dies at once.
    gone = [path.name for path in (target, workdir / "tool.stderr", log) if not path.exists()]
    if gone:
        run.intact = False
        notes.append(f"gone from its scratch dir during the run: {', '.join(gone)}")
    if tool == "shrinkray":
        best = shrinkray_best(target, workdir, accept)
        run.output = str(best) if best else None
    elif tool in ("cvise", "creduce"):
        run.output = str(target) if target.exists() else None  # reduced in place
    elif output.exists():
        run.output = str(output)
    if run.output is None:
        notes.append("no output file")
    if run.returncode not in (0, None):
        death = f"killed by signal {-run.returncode}" if run.returncode < 0 else f"exit {run.returncode}"
        tail = last_line(workdir / "tool.stderr")
        notes.append(f"{death}: {tail[:120]}" if tail else death)
    run.note = "; ".join(notes)
    if tool == "carts-reduce":
        meta = Path(str(output) + ".json")
        if meta.exists():
            try:
                run.metadata = json.loads(meta.read_text())
            except ValueError:
                pass
    return run


def last_line(path: Path) -> str | None:
    """The last non-blank line of a tool's stderr, the usual place of its error message (None if absent)."""
    if not path.exists():
        return None
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else None


def shrinkray_best(target: Path, workdir: Path, accept: Callable[[Path], bool] | None = None) -> Path | None:
    """Shrink Ray's smallest result so far (shortlex), from its history of accepted reductions.

    The file it reduces is not enough: once a pass reaches a fixpoint it restarts
    from the original (--restart, its default) and writes each step of that new
    descent back into the file, so a run stopped at the cap can leave a file far
    larger than the best it had found. A history file is created empty and then
    written, so one killed at the cap can be torn: with `accept`, the smallest
    file that passes it.
    """
    found = [path for path in (target, *workdir.glob(f".shrinkray/*/reductions/*/{target.name}")) if path.exists()]
    found.sort(key=lambda path: (path.stat().st_size, path.read_bytes()))
    best = next((path for path in found if accept is None or accept(path)), None)
    if best is None or best == target:
        return best
    chosen = workdir / f"shrinkray-best{target.suffix}"
    shutil.copyfile(best, chosen)
    return chosen


def verify(script: Path, output: Path, workdir: Path) -> bool:
    """One extra, uncounted run of the case's own script on a file (a copy, in workdir/verify)."""
    check = workdir / "verify"
    check.mkdir(parents=True, exist_ok=True)
    copy = check / output.name
    shutil.copyfile(output, copy)
    try:
        proc = subprocess.run([str(script), copy.name], cwd=check, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def sha1_of(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()
