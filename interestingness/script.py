"""script: a C-Vise / C-Reduce interestingness script, used unchanged.

The script is the whole test. It runs in the test's temp dir, where the
candidate lies under the input's file name, and also gets that name as $1;
exit status 0 means interesting, as C-Vise and C-Reduce define it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from carts_reduce.run.outcome import Outcome, Step

from interestingness.base import Option, Predicate, PredicateError


def script_command(path: Path) -> tuple[str, ...]:
    """How to start the script: directly when executable, else by its ``#!`` line."""
    if os.access(path, os.X_OK):
        return (str(path),)
    with open(path, "rb") as stream:
        first = stream.readline(4096)
    if first.startswith(b"#!"):
        interpreter = shlex.split(first[2:].decode("utf-8", "replace").strip())
        if interpreter:
            return (*interpreter, str(path))
    return ("/bin/sh", str(path))


class Script(Predicate):
    name = "script"
    help = "a C-Vise/C-Reduce interestingness script (candidate in the cwd and as $1) exits 0"
    options = (Option("script", "PATH", "the script; it replaces the usual test steps", "path", required=True),)

    def __init__(self, options=None) -> None:
        super().__init__(options)
        path: Path = self.values["script"].expanduser()
        if not path.is_file():
            raise PredicateError(f"script not found: {path}")
        self.path = path.resolve()
        self.command = script_command(self.path)

    def adjust(self, steps: list[Step], expand) -> list[Step]:
        return [Step("script", (*self.command, *expand("{input}")))]

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        step = outcome.step("script")
        return step is not None and not step.timed_out and step.signal is None and step.returncode == 0

    def describe(self, outcome: Outcome) -> str:
        step = outcome.step("script")
        if step is None:
            return "the script did not run"
        detail = step.stderr.strip().splitlines()[-1:] or step.stdout.strip().splitlines()[-1:]
        tail = f": {detail[0][:120]}" if detail else ""
        return f"{self.path.name} {step.status}{tail}"
