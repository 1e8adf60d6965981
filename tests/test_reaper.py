"""Nothing a test starts outlives it: not what leaves its process group
(``setsid``, double forks), not what sheds its environment.

Each check runs in a process of its own (the reducer's command line, or a
small Python program), as the reaper makes the process it runs in a child
subreaper. Escaped processes are recognised by a marker in their command
line that is unique to the check, so that other suites running on the same
machine do not count.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from test_cli import carts_reduce


def marker() -> str:
    """``sleep`` arguments no other process on the machine has: 1000.<unique digits>."""
    return f"1000.{uuid.uuid4().int % 10**12:012d}"


def alive_with(argument: str) -> list[int]:
    """Pids of live processes whose command line holds ``argument`` (zombies are dead)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if argument.encode() in cmdline and state != b"Z":
            pids.append(int(name))
    return pids


def escaping_script(path: Path, stamp: str, log: Path) -> Path:
    """An interestingness script whose every run leaves three processes outside its group."""
    path.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo run >> {log}
        (setsid sleep {stamp} &)
        (setsid sh -c '(setsid sleep {stamp} &); exec sleep {stamp}' &)
        env -i setsid sleep {stamp} &
        grep -q NEEDLE "$1" && grep -q HAYSTACK "$1"
        """))
    path.chmod(0o755)
    return path


def test_a_reduction_leaves_no_descendant_of_any_test_running(tmp_path):
    stamp = marker()
    log = tmp_path / "runs"
    script = escaping_script(tmp_path / "interesting.sh", stamp, log)
    lines = [f"line {i}" for i in range(60)]
    lines[10] += " NEEDLE"
    lines[40] += " HAYSTACK"
    (tmp_path / "input.txt").write_text("\n".join(lines) + "\n")
    try:
        result = carts_reduce("input.txt", "--script", str(script), "-j", "2", "-q", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert len(log.read_text().splitlines()) > 10, "the script hardly ran"
        assert alive_with(stamp) == []
    finally:
        for pid in alive_with(stamp):
            os.kill(pid, 9)


RUNNER_CHECK = textwrap.dedent("""\
    import os, sys, anyio
    from carts_reduce.run import reaper
    from carts_reduce.run.outcome import Step, TestSpec
    from carts_reduce.run.runner import run_test

    stamp, folder = sys.argv[1], sys.argv[2]
    assert reaper.adopt_orphans()

    def alive(argument):
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    cmdline = open(f"/proc/{name}/cmdline", "rb").read().split(b"\\0")
                    state = open(f"/proc/{name}/stat", "rb").read().rsplit(b")", 1)[1].split()[0]
                except OSError:
                    continue
                if argument.encode() in cmdline and state != b"Z":
                    found.append(int(name))
        return found

    def spec(script, timeout=30):
        return TestSpec(files=(), steps=(Step("stage", ("/bin/sh", "-c", script)),), timeout=timeout)

    escape = f"(setsid sleep {stamp}1 &); (setsid sh -c '(setsid sleep {stamp}1 &); exec sleep {stamp}1' &)"

    async def main():
        # Ended when the test ends: exit, timeout, cancellation.
        outcome = await run_test(spec(escape + "; exit 3"))
        assert outcome.main.returncode == 3, outcome.main
        assert alive(stamp + "1") == [], "escaped processes outlived a test that exited"
        outcome = await run_test(spec(escape + "; sleep 1000", timeout=0.3))
        assert outcome.main.timed_out
        assert alive(stamp + "1") == [], "escaped processes outlived a test that timed out"
        with anyio.move_on_after(0.3):
            await run_test(spec(escape + "; sleep 1000"))
        assert alive(stamp + "1") == [], "escaped processes outlived a cancelled test"

        # Another test's orphans are left alone while it runs.
        flag, pid_file = os.path.join(folder, "flag"), os.path.join(folder, "b.pid")
        other = (f"(setsid sleep {stamp}2 & echo $! > {pid_file}); "
                 f"while [ ! -e {flag} ]; do sleep 0.01; done; kill -0 $(cat {pid_file})")
        results = {}

        async def run_other():
            results["other"] = await run_test(spec(other, timeout=120))

        async with anyio.create_task_group() as group:
            group.start_soon(run_other)
            while not os.path.exists(pid_file) or not open(pid_file).read().strip():
                await anyio.sleep(0.01)
            assert (await run_test(spec(escape))).main.returncode == 0
            open(flag, "w").close()
        assert results["other"].main.returncode == 0, "a test's orphan was killed when another test ended"
        assert alive(stamp + "2") == []

    anyio.run(main)
    # Orphans that shed the tag: ended at exit.
    anyio.run(run_test, spec(f"env -i setsid sleep {stamp}3 &"))
    print("checked")
    """)


def test_the_runner_ends_what_leaves_the_group_and_only_its_own(tmp_path):
    stamp = marker()
    check = tmp_path / "check.py"
    check.write_text(RUNNER_CHECK)
    try:
        result = subprocess.run([sys.executable, str(check), stamp, str(tmp_path)], capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0 and result.stdout == "checked\n", result.stderr
        assert alive_with(stamp + "3") == [], "an orphan without the tag outlived the process that ran its test"
    finally:
        for pid in alive_with(stamp + "1") + alive_with(stamp + "2") + alive_with(stamp + "3"):
            os.kill(pid, 9)
