"""The default executor: tests run as subprocesses of this process."""

from __future__ import annotations

import os

from carts_reduce.run.executor import Executor
from carts_reduce.run.outcome import Outcome, TestSpec
from carts_reduce.run.runner import run_test


class LocalExecutor(Executor):
    def __init__(self, jobs: int = 0):
        super().__init__(jobs or os.cpu_count() or 1)

    async def _run(self, spec: TestSpec) -> Outcome:
        return await run_test(spec)
