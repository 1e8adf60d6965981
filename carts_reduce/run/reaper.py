"""Nothing a test starts outlives it, not even what leaves its process group.

The runner kills each step's process group; a descendant that starts its
own session (``setsid``, a daemon's double fork) is not in it. A process
that runs tests calls ``adopt_orphans()`` once: it becomes a child subreaper
(Linux ``PR_SET_CHILD_SUBREAPER``), so that such a descendant is reparented
to it, not to init, when its parent dies; and the runner tags every process
of a test through the environment (``CARTS_REDUCE_TEST=<tag>``). When the
test ends, ``end_orphans(tag)`` kills the orphans carrying its tag, then
theirs as they are reparented in turn, until none is left. Orphans that
shed their environment (``env -i``) are ended when the process exits.

The contract of ``adopt_orphans``: every child of this process that the
runner did not start is an orphan of a test. It holds for carts-reduce's
own commands, where the runner is the only code that starts processes; it
lets a dead orphan be reaped without asking whose it was. The runner's own
children are never touched here: ``subprocess`` waits for them itself.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import secrets
import signal
import threading
import time
from itertools import count

import anyio

TAG_VARIABLE = "CARTS_REDUCE_TEST"
_PR_SET_CHILD_SUBREAPER = 36

_adopted = False
_prefix = f"{os.getpid()}-{secrets.token_hex(4)}-"
_numbers = count()
#: Pids of the runner's own children (subprocess.Popen), alive or not yet waited for.
runner_children: set[int] = set()
#: Held while the runner starts a child and notes its pid, and while dead orphans are
#: reaped: tests run in several threads (a Dask worker) must not reap a child of the
#: runner started in another thread before its pid is noted.
children_lock = threading.Lock()


def adopt_orphans() -> bool:
    """Make this process the reaper of its tests' orphans; False where the system cannot."""
    global _adopted
    if _adopted:
        return True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    _adopted = True
    atexit.register(end_all_orphans)
    return True


def adopted() -> bool:
    return _adopted


def new_tag() -> str:
    """A tag no other test, in this process or any other, carries."""
    return _prefix + str(next(_numbers))


async def end_orphans(tag: str, since: int = 0) -> int:
    """Kill the orphans tagged ``tag`` (and reap any orphan already dead); the number killed.

    ``since``: the pid of the test's first process. Pids are handed out in
    increasing order until they wrap, so its descendants are found among the
    pids from there on, which saves reading every process of the machine.
    """
    marker = f"\0{TAG_VARIABLE}={tag}\0".encode()
    if _last_pid() < since:
        since = 0  # the pids wrapped around during the test
    killed = 0
    while True:
        doomed, reaped = [], False
        with children_lock:
            for pid, state in _foreign_children(since):
                if state == "Z":
                    _reap(pid)  # an orphan that ended on its own; its children may be ours now
                    reaped = True
                elif marker in _environment(pid):
                    doomed.append(pid)
        if not doomed:
            if reaped:
                continue
            return killed
        for pid in doomed:
            _kill(pid)
        for pid in doomed:
            await _reaped(pid)  # its own children are ours from now on: the next round ends them
        killed += len(doomed)


def end_all_orphans() -> int:
    """Kill every orphan of this process's tests, tagged or stripped of its environment
    (at exit, when no test runs any more). Other children are left to their owners."""
    ours = f"\0{TAG_VARIABLE}={_prefix}".encode()
    killed = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        doomed = []
        for pid, state in _foreign_children():
            environment = _environment(pid)
            if state == "Z" or ours in environment or environment == b"\0":
                doomed.append(pid)
                killed += state != "Z"
        if not doomed:
            break
        for pid in doomed:
            _kill(pid)
        for pid in doomed:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return killed


def _foreign_children(since: int = 0):
    """(pid, state) of this process's children that the runner did not start, of pids from ``since`` on."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) < since or int(name) in runner_children:
            continue
        stat = _read(f"/proc/{name}/stat")
        if not stat:
            continue
        # "pid (comm) state ppid ...": comm may hold anything, so read after its last ')'.
        fields = stat[stat.rindex(b")") + 2:].split(b" ", 2)
        if int(fields[1]) == me:
            yield int(name), fields[0].decode()


def _last_pid() -> int:
    """The pid most recently handed out on this machine."""
    try:
        return int(_read("/proc/loadavg").split()[-1])
    except (ValueError, IndexError):
        return 0


def _environment(pid: int) -> bytes:
    return b"\0" + _read(f"/proc/{pid}/environ", 1 << 20)


def _read(path: str, limit: int = 4096) -> bytes:
    """A /proc file's text (b"" when the process is gone); os.read is several times faster than open()."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return b""
    try:
        chunks = []
        while limit > 0:
            chunk = os.read(fd, min(limit, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            limit -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


async def _reaped(pid: int) -> None:
    """Wait for the killed child ``pid`` to end, then reap it, without blocking the event loop."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    try:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            if fd is not None:
                await anyio.wait_readable(fd)
            else:
                await anyio.sleep(0.001)
    finally:
        if fd is not None:
            os.close(fd)
