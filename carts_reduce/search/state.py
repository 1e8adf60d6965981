"""Checkpoint and resume: the state dir beside the output.

Layout of ``OUTPUT.state/``:

- ``state.json``: identity (hashes of the original and of the predicate
  configuration), the command line, position in the schedule, statistics,
  the per-test timeout, the original's outcome (to calibrate predicates);
  rewritten atomically after every improvement and pass change;
- ``cache.jsonl``: one verdict per line, appended after every test, so that
  no test is run twice even across a SIGKILL;
- ``history/NNNNN``: each accepted candidate, written once, for the
  fall-back of verification.
"""

from __future__ import annotations

import json
import math
import os
import time
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from carts_reduce.search.driver import Position, Reducer
from carts_reduce.fileio import write_atomic
from carts_reduce.run.outcome import Outcome, StepResult

FORMAT_VERSION = 1


class StateMismatch(Exception):
    """The state dir belongs to another original or predicate."""


class State:
    def __init__(self, directory: Path, identity: dict[str, Any], argv: list[str] | None = None):
        self.directory = directory
        self.identity = identity
        self.argv = argv or []
        self._cache_stream = None
        self._history_written = 0
        self._saved_at = -math.inf

    @classmethod
    def beside(cls, output: Path, identity: dict[str, Any], argv: list[str] | None = None) -> State:
        return cls(output.with_name(output.name + ".state"), identity, argv)

    @property
    def exists(self) -> bool:
        return (self.directory / "state.json").exists()

    # -- writing -----------------------------------------------------------

    def attach(self, reducer: Reducer) -> None:
        """Start recording every verdict of ``reducer`` as it is made."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "history").mkdir(exist_ok=True)
        cache_file = self.directory / "cache.jsonl"
        fresh = not cache_file.exists()
        self._cache_stream = open(cache_file, "a")
        if fresh:  # verdicts given before there was a state dir (the original's check)
            for key, verdict in reducer.cache.items():
                self._append_verdict(key, verdict)
        reducer.on_verdict = self._append_verdict

    def _append_verdict(self, key: str, verdict: bool) -> None:
        if self._cache_stream:
            self._cache_stream.write(f'["{key}", {str(verdict).lower()}]\n')
            self._cache_stream.flush()

    def save(self, reducer: Reducer, at_most_every: float = 0.0) -> None:
        """Write the state; with ``at_most_every``, skip it when the last save is that recent."""
        now = time.monotonic()
        if at_most_every and now - self._saved_at < at_most_every:
            return
        self._saved_at = now
        history = self.directory / "history"
        self._history_written = min(self._history_written, len(reducer.history))
        for index in range(self._history_written, len(reducer.history)):
            write_atomic(history / f"{index:05d}", reducer.history[index])
        self._history_written = len(reducer.history)
        for stale in history.iterdir():  # left over from before a verification fall-back
            if stale.name.isdigit() and int(stale.name) >= len(reducer.history):
                stale.unlink()
        data = {
            "version": FORMAT_VERSION,
            "identity": self.identity,
            "argv": self.argv,
            "cwd": os.getcwd(),
            "position": asdict(reducer.position),
            "stats": {
                "tests_run": reducer.stats.tests_run,
                "cache_hits": reducer.stats.cache_hits,
                "precheck_rejected": reducer.stats.precheck_rejected,
                "passes_helped": reducer.stats.passes_helped,
                "elapsed": reducer.stats.elapsed,
            },
            "timeout": reducer.settings.timeout,
            "repeat": reducer.settings.repeat,
            "min_hits": reducer.settings.min_hits,
            "flaky": reducer.flaky,
            "original_outcome": _outcome_to_json(reducer.original_outcome),
            "target": reducer.target.to_dict() if reducer.target else None,
        }
        write_atomic(self.directory / "state.json", json.dumps(data))

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def close(self) -> None:
        if self._cache_stream:
            self._cache_stream.close()
            self._cache_stream = None

    # -- reading -----------------------------------------------------------

    def read(self) -> dict[str, Any]:
        return json.loads((self.directory / "state.json").read_text())

    def load(self, reducer: Reducer) -> bool:
        """Restore ``reducer`` from the state dir; False when there is none."""
        if not self.exists:
            return False
        data = self.read()
        if data.get("version") != FORMAT_VERSION:
            raise StateMismatch(f"{self.directory} was written by another carts-reduce version: remove it")
        for key, value in self.identity.items():
            if data["identity"].get(key) != value:
                raise StateMismatch(
                    f"{self.directory} belongs to a reduction with another {key.replace('_', ' ')}: "
                    "remove it or choose another --output"
                )
        history_dir = self.directory / "history"
        reducer.history = [p.read_text() for p in sorted(history_dir.iterdir())] or [reducer.original]
        self._history_written = len(reducer.history)
        reducer.best = reducer.history[-1]
        reducer.position = Position(**data["position"])
        stats = data["stats"]
        reducer.stats.tests_run = stats["tests_run"]
        reducer.stats.cache_hits = stats["cache_hits"]
        reducer.stats.precheck_rejected = stats["precheck_rejected"]
        reducer.stats.passes_helped = stats["passes_helped"]
        reducer.stats.started -= stats["elapsed"]
        reducer.settings.timeout = data["timeout"]
        reducer.settings.repeat = data["repeat"]
        reducer.settings.min_hits = data["min_hits"]
        reducer.flaky = data["flaky"]
        cache_file = self.directory / "cache.jsonl"
        if cache_file.exists():
            for line in cache_file.read_text().splitlines():
                try:
                    key, verdict = json.loads(line)
                except ValueError:
                    continue  # a line cut by a kill
                reducer.cache[key] = verdict
        outcome = _outcome_from_json(data["original_outcome"])
        if outcome is not None:
            reducer.calibrate(outcome)
        return True


def _outcome_to_json(outcome: Outcome | None) -> dict | None:
    if outcome is None:
        return None
    return {"steps": [asdict(step) for step in outcome.steps]}


def _outcome_from_json(data: dict | None) -> Outcome | None:
    if not data:
        return None
    steps = tuple(StepResult(**{**s, "argv": tuple(s["argv"])}) for s in data["steps"])
    return Outcome(steps)


def read_argv(output: Path) -> tuple[list[str], str | None]:
    """The command line of the unfinished reduction that writes ``output``, and its folder.

    Raises ValueError, with one line to show, when there is none to resume.
    """
    directory = output.with_name(output.name + ".state")
    path = directory / "state.json"
    if not path.exists():
        if output.with_name(output.name + ".json").exists():
            raise ValueError(f"{output} is a finished reduction (its record {output.name}.json is beside it); there is nothing to resume")
        raise ValueError(f"no unfinished reduction writes {output} (no {directory.name}/ beside it); give the OUTPUT of a stopped run")
    try:
        data = json.loads(path.read_text())
        return list(data["argv"]), data.get("cwd")
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"{path} cannot be read; remove {directory} and start the reduction again") from None
