"""Failing inputs grouped into bugs: one group per failure signature (and stage).

The bug hit by the most inputs comes first; within a bug the smallest input
(bytes, then path) is the representative that gets reduced, the others are
its duplicates. The order depends only on the findings, so the same inputs
always give the same bugs under the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from carts_reduce.record import ReductionRecord
from carts_reduce.triage.survey import Finding


@dataclass
class Bug:
    number: int
    inputs: list[Finding]  # representative first
    folder: Path
    record: ReductionRecord | None = None
    reduced: Path | None = None
    report: Path | None = None
    log: Path | None = None
    corpus_id: str | None = None
    corpus_note: str | None = None
    status: str = "waiting"  # waiting, reducing, reduced, not reduced: why
    notes: list[str] = field(default_factory=list)  # what the pipeline layer said (a cut it could not make, ...)
    live: object | None = field(default=None, repr=False)  # the running reduction, for the live table

    @property
    def name(self) -> str:
        return f"bug-{self.number}"

    @property
    def representative(self) -> Finding:
        return self.inputs[0]

    @property
    def duplicates(self) -> list[Finding]:
        return self.inputs[1:]

    @property
    def stage(self) -> str | None:
        return self.representative.stage

    @property
    def signature(self) -> dict | None:
        return self.representative.signature

    def output_path(self) -> Path:
        """Where the reduced input goes: named after the representative, in the bug's folder."""
        original = Path(self.representative.path)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", original.stem) or "input"
        return self.folder / f"{stem}.reduced{original.suffix}"


def group(findings: list[Finding], folder: Path) -> list[Bug]:
    """The failing findings as bugs, numbered from 1 in a stable order."""
    by_key: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.failing:
            by_key.setdefault(finding.group_key, []).append(finding)
    groups = [sorted(members, key=lambda f: (f.bytes, f.path)) for members in by_key.values()]
    groups.sort(key=lambda members: (-len(members), members[0].bytes, members[0].path))
    return [Bug(number, members, folder / f"bug-{number}") for number, members in enumerate(groups, 1)]
