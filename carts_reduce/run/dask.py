"""Tests on a Dask distributed cluster: ``--cluster tcp://HOST:8786`` or ``local:N``.

A test leaves as its plain ``TestSpec`` and comes back as a plain ``Outcome``;
a worker runs it with the same runner as the local pool, so it needs only
carts-reduce and carts installed (at the paths the test names). A worker lost
while it runs a test costs nothing but time: the scheduler gives the test to
another worker, and a test whose workers kept dying is submitted afresh, so
no verdict is ever made from a test that did not finish. A test the driver no
longer wants (a speculative one, after an earlier candidate won) is released,
and the worker running it kills it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

import anyio

from carts_reduce.run.executor import Executor, ExecutorError
from carts_reduce.run.outcome import Outcome, TestSpec
from carts_reduce.run.runner import run_test

#: Seconds to reach the scheduler, and then to see a first worker.
CONNECT_TIMEOUT = 10.0
#: A test lost this many times over (its workers died, the cluster dropped it) is given up: the cluster is sick.
MAX_SUBMISSIONS = 6
#: How often a worker looks whether the test it runs is still wanted.
CANCEL_POLL_SECONDS = 0.2

_LOCAL = re.compile(r"local:(\d+)")


def describe_address(cluster: str) -> str:
    """Checks the form of ``--cluster``; raises ``ValueError`` with what to write instead."""
    local = _LOCAL.fullmatch(cluster)
    if local:
        if int(local.group(1)) < 1:
            raise ValueError(f"--cluster {cluster}: a local cluster needs at least one worker (local:2)")
        return f"a local Dask cluster of {local.group(1)} workers"
    if re.fullmatch(r"(tcp|tls|ws|wss|inproc)://\S+", cluster) is None:
        raise ValueError(f"--cluster {cluster!r}: give a scheduler address (tcp://HOST:8786) or local:N")
    return f"the Dask scheduler at {cluster}"


class DaskExecutor(Executor):
    def __init__(self, client, capacity: int, where: str):
        super().__init__(capacity)
        self.client = client
        self.where = where
        self.resubmitted = 0  # tests submitted again after their workers died

    @classmethod
    @asynccontextmanager
    async def connect(cls, cluster: str, jobs: int = 0) -> AsyncIterator[DaskExecutor]:
        from distributed import Client, LocalCluster

        try:
            where = describe_address(cluster)
        except ValueError as error:
            raise ExecutorError(str(error)) from None
        local = _LOCAL.fullmatch(cluster)
        async with _quiet_cluster_logs():
            if local:
                started = LocalCluster(
                    n_workers=int(local.group(1)), threads_per_worker=1, processes=True,
                    asynchronous=True, dashboard_address=None, silence_logs=logging.CRITICAL,
                )
                cluster_or_address = await started
            else:
                started, cluster_or_address = None, cluster
            try:
                try:
                    client = await Client(cluster_or_address, asynchronous=True, timeout=CONNECT_TIMEOUT,
                                          set_as_default=False)
                except (OSError, TimeoutError) as error:
                    raise ExecutorError(
                        f"cannot reach {where} ({_first_line(error)}); start it with `dask scheduler` "
                        f"and workers with `dask worker {cluster}`, or check --cluster"
                    ) from None
                try:
                    try:
                        await client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
                    except (OSError, TimeoutError):
                        raise ExecutorError(
                            f"{where} has no workers; start some with `dask worker {cluster}`"
                        ) from None
                    threads = sum((await client.nthreads()).values())
                    yield cls(client, jobs or threads, cluster)
                finally:
                    await client.close()
            finally:
                if started is not None:
                    await started.close()

    async def _run(self, spec: TestSpec) -> Outcome:
        from distributed import KilledWorker

        dropped = ""
        for attempt in range(MAX_SUBMISSIONS):
            future = self.client.submit(run_on_worker, spec, pure=False)
            try:
                return await _result(future)
            except KilledWorker:
                self.resubmitted += 1  # its workers died under it: run it afresh
                dropped = "its workers died while running it"
            except asyncio.CancelledError as error:
                if anyio.current_effective_deadline() == -math.inf or future.status != "cancelled":
                    # Ours: the driver no longer wants it (the cluster's leaves the future cancelled).
                    future.release()  # the worker sees it is no longer wanted and kills it
                    raise
                # The cluster's: it dropped the test (a worker it took for lost, a client
                # reconnecting under load). Run it afresh, after a pause that grows.
                self.resubmitted += 1
                dropped = f"the cluster dropped it ({_first_line(error)})"
                await anyio.sleep(min(0.2 * 2 ** attempt, 5.0))
            except Exception as error:
                if self.client.status != "running" or "lost" in str(error).lower():
                    raise ExecutorError(f"lost the Dask cluster at {self.where} ({_first_line(error)})") from None
                raise
        raise ExecutorError(f"a test was submitted {MAX_SUBMISSIONS} times and each time {dropped}; "
                            f"look at the workers of {self.where}")


async def _result(future):
    """The future's outcome, without letting a cancellation of ours reach the others'.

    The client fetches the results of futures that finish together in one
    shared request; a waiter cancelled while it awaits that request (a test
    the driver no longer wants) would cancel it for every test waiting on it.
    Shielded, the request goes on; only this waiter stops.
    """

    async def wait():
        return await future

    return await asyncio.shield(wait())


def run_on_worker(spec: TestSpec) -> Outcome:
    """What a Dask worker runs: the test, killed early if it is no longer wanted."""
    from carts_reduce.run.reaper import adopt_orphans

    adopt_orphans()  # a worker, too, ends what a test started outside its group
    key = _current_key()

    async def main() -> Outcome:
        outcome = Outcome((), cancelled=True)
        async with anyio.create_task_group() as group:

            async def test() -> None:
                nonlocal outcome
                outcome = await run_test(spec)
                group.cancel_scope.cancel()

            group.start_soon(test)
            while _still_wanted(key):
                await anyio.sleep(CANCEL_POLL_SECONDS)
            group.cancel_scope.cancel()
        return outcome

    return anyio.run(main)


def _current_key():
    try:
        from distributed.worker import thread_state

        return thread_state.key
    except (ImportError, AttributeError):
        return None


def _still_wanted(key) -> bool:
    """False once the worker was told to drop the test; True when it cannot tell."""
    if key is None:
        return True
    try:
        from distributed import get_worker

        task = get_worker().state.tasks.get(key)
    except (ImportError, ValueError, AttributeError):
        return True
    return task is not None and task.state not in ("cancelled", "released", "forgotten")


@asynccontextmanager
async def _quiet_cluster_logs() -> AsyncIterator[None]:
    """The cluster's own log lines (a worker restarted, a connection retried) are not ours to print."""
    loggers = [logging.getLogger(name) for name in ("distributed", "distributed.nanny", "distributed.scheduler",
                                                     "distributed.worker", "distributed.client", "tornado")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
