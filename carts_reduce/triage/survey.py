"""Every input run once: does it fail, at which stage, with which signature.

Each finding is appended to ``survey.jsonl`` in the triage's folder as soon
as it is made, so a stopped triage asks no input twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio

from carts_reduce.job import Job, Probe

SURVEY_FILE = "survey.jsonl"


@dataclass
class Finding:
    """What one run of one input showed."""

    path: str  # as the user named it
    sha256: str
    bytes: int
    failing: bool
    stage: str | None
    signature: dict[str, Any] | None
    description: str
    seconds: float

    @property
    def group_key(self) -> str:
        """Inputs with equal keys fail the same way: one bug."""
        return json.dumps({"stage": self.stage, "signature": self.signature or {}}, sort_keys=True)


def digest_bytes(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


class Survey:
    """The findings so far, kept in ``folder/survey.jsonl`` under the test options' fingerprint."""

    def __init__(self, folder: Path, fingerprint: str):
        self.path = folder / SURVEY_FILE
        self.fingerprint = fingerprint
        self.known: dict[tuple[str, str], Finding] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    data = json.loads(line)
                    if data.pop("options") == self.fingerprint:
                        finding = Finding(**data)
                        self.known[(finding.path, finding.sha256)] = finding
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a kill, or from another version

    def record(self, finding: Finding) -> None:
        self.known[(finding.path, finding.sha256)] = finding
        with open(self.path, "a") as stream:
            stream.write(json.dumps({"options": self.fingerprint, **asdict(finding)}) + "\n")

    async def run(self, jobs: list[Job], examine: Callable[[Job], Awaitable[Probe]],
                  on_finding: Callable[[Finding], None]) -> list[Finding]:
        """A finding per job's input, in the jobs' order; the ones not known yet are examined at once."""
        findings: list[Finding | None] = [None] * len(jobs)

        async def one(index: int, job: Job) -> None:
            result = await examine(job)
            finding = Finding(
                path=str(job.input_path),
                sha256=digest_bytes(job.text),
                bytes=len(job.text.encode("utf-8", "surrogateescape")),
                failing=result.interesting,
                stage=(result.stage or job.tool.stage) if result.interesting else None,
                signature=result.signature.to_dict() if result.interesting and result.signature else None,
                description=result.description,
                seconds=round(result.seconds, 3),
            )
            self.record(finding)
            findings[index] = finding
            on_finding(finding)

        async with anyio.create_task_group() as group:
            for index, job in enumerate(jobs):
                known = self.known.get((str(job.input_path), digest_bytes(job.text)))
                if known is not None:
                    findings[index] = known
                    on_finding(known)
                else:
                    group.start_soon(one, index, job)
        return [finding for finding in findings if finding is not None]

