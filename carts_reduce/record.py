"""What a finished reduction leaves beside its output: ``OUTPUT.json``.

The corpus, the bug report and the benchmarks read this record instead of
re-running anything, so it holds everything needed to reproduce and judge
the result.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class ReductionRecord:
    tool_version: str
    input: str
    input_name: str
    input_sha256: str
    output: str
    format: str
    stage: str | None
    command: str
    carts: str | None
    predicates: list[str]
    predicate_options: dict[str, Any]
    signature: dict[str, Any] | None
    standin: bool
    sizes_before: dict[str, int]
    sizes_after: dict[str, int]
    tests_run: int
    cache_hits: int
    wall_seconds: float
    passes_helped: dict[str, int] = field(default_factory=dict)
    carts_version: str | None = None
    started: str = ""
    verified_runs: int = 0
    flake_rate: float | None = None
    other_failures: int = 0
    precheck_rejected: int = 0
    frontend: str | None = None  # C: the front end template before the stage
    predicates_file: str | None = None
    # The pipeline layer's findings: culprit stage, where the reduced input enters, the pass list.
    pipeline: dict[str, Any] | None = None
    commands: list[str] = field(default_factory=list)  # a predicate's own commands (output-mismatch: reference, candidate)
    guards: list[str] = field(default_factory=list)  # the checks that guarded each verdict, one line each
    followups_run: int = 0  # second tests a predicate asked for (a guard's sanitizer builds)
    step_seconds: dict[str, float] = field(default_factory=dict)  # test time per step name
    guard_seconds: float = 0.0  # of which the guards' own steps

    @property
    def guard_share(self) -> float | None:
        """The guards' share of the time tests ran; None without guards."""
        test_seconds = sum(self.step_seconds.values())
        return self.guard_seconds / test_seconds if self.guards and test_seconds else None

    @staticmethod
    def path_for(output: Path) -> Path:
        return output.with_name(output.name + ".json")

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, default=str) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ReductionRecord:
        data = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
