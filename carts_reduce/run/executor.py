"""Where tests run: chosen once, behind one ``run(spec) -> Outcome`` call.

The runner runs one test; an executor decides where and how many at once:
in this process's own pool of subprocesses (``local.py``, the default) or
on the workers of a Dask distributed cluster (``dask.py``). Its callers (the
job, the driver, a triage) only ever see ``run`` and ``capacity``, so a
result never depends on which executor gave it.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

import anyio

from carts_reduce.run.outcome import Outcome, TestSpec


class ExecutorError(Exception):
    """The executor cannot run tests (a cluster that cannot be reached or was lost)."""


class Executor:
    """Runs tests, at most ``capacity`` at once, and keeps account of its busy time."""

    #: What ``--cluster`` said, for messages and records ("local" here).
    where = "local"

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self._limiter = anyio.CapacityLimiter(self.capacity)
        self._running = 0
        self._busy_since = 0.0
        self.busy_seconds = 0.0  # wall time during which at least one test ran
        self.tests = 0

    async def run(self, spec: TestSpec) -> Outcome:
        async with self._limiter:
            self._begin()
            try:
                return await self._run(spec)
            finally:
                self._end()

    async def _run(self, spec: TestSpec) -> Outcome:
        raise NotImplementedError

    def _begin(self) -> None:
        if self._running == 0:
            self._busy_since = time.monotonic()
        self._running += 1
        self.tests += 1

    def _end(self) -> None:
        self._running -= 1
        if self._running == 0:
            self.busy_seconds += time.monotonic() - self._busy_since


@asynccontextmanager
async def open_executor(cluster: str | None, jobs: int = 0) -> AsyncIterator[Executor]:
    """The local pool (``cluster`` None), a new ``LocalCluster`` (``local:N``) or a
    running Dask scheduler (``tcp://HOST:PORT``); ``jobs`` 0 means as many tests
    at once as it has CPUs (locally) or worker threads (on a cluster)."""
    if cluster is None:
        from carts_reduce.run.local import LocalExecutor

        yield LocalExecutor(jobs)
        return
    from carts_reduce.run.dask import DaskExecutor

    async with DaskExecutor.connect(cluster, jobs) as executor:
        yield executor


def unwrap_group(group: BaseExceptionGroup) -> BaseException:
    """The ``ExecutorError`` that tasks failed with, raised where the tests ran; else the group as it is."""
    matched, _ = group.split(ExecutorError)
    while isinstance(matched, BaseExceptionGroup):
        matched = matched.exceptions[0]
    return matched if matched is not None else group
