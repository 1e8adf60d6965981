"""The regression corpus: one folder per reduced failure.

A case is ``corpus/<case-id>/`` holding the reduced input (``input.mlir``,
``input.c``, ...) and ``case.toml`` with everything needed to run it again and
to recognise its failure: the command template, the stage, the predicates and
their options, and the failure signature. Two cases with the same signature
are the same bug, so the corpus keeps only the smaller input of the two.

``check`` reruns every case against a (newer) carts and sorts each into still
failing, fixed, changed or failing again, so that a CARTS CI job can use it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import anyio
import tomli_w

from carts_reduce import __version__
from carts_reduce.run.outcome import Outcome, TestSpec
from carts_reduce.record import ReductionRecord
from carts_reduce.run.tool import DEFAULT_FRONTEND, Tool

CASE_FILE = "case.toml"
DEFAULT_TIMEOUT = 120.0


# --------------------------------------------------------------------------
# Signatures as stored data


def _plain(value: Any) -> Any:
    """A TOML-writable copy: None dropped (TOML has no null), tuples and paths made plain."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None and v != {}}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value if v is not None]
    if isinstance(value, PurePath):
        return str(value)
    return value


def _signature_obj(data: dict[str, Any]):
    from carts_reduce.signature import Signature

    return Signature.from_dict(data)


def same_failure(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two stored signatures pin the same failure (the Signature's own equality)."""
    if a is None or b is None:
        return a is None and b is None
    return _signature_obj(a) == _signature_obj(b)


def signature_summary(sig: dict[str, Any] | None) -> str:
    """A short line naming the failure, for tables and report titles: status,
    then the assertion, error or diagnostic, then the top frame."""
    if not sig:
        return "no signature"
    obj = _signature_obj(sig)
    if not obj:
        return "no failure"
    parts = [obj.status or "failure"]
    if obj.assertion:
        match = re.search(r"(Assertion `.*' failed|UNREACHABLE executed.*)", obj.assertion)
        parts.append(match.group(1) if match else obj.assertion)
    elif obj.errors:
        parts.append(obj.errors[0])
    elif obj.llvm_error:
        parts.append(f"LLVM ERROR: {obj.llvm_error}")
    elif obj.mlir_error:
        parts.append(f"error: {obj.mlir_error}")
    if obj.frames:
        parts.append(f"in {short_function(obj.frames[0])}")
    if obj.step and obj.step != "stage":
        parts.append(f"({obj.step})")
    return " ".join(parts)


def short_function(name: str) -> str:
    """``mlir::arts::(anonymous namespace)::Pass::runOnOperation`` -> ``Pass::runOnOperation``."""
    parts = [p for p in re.split(r"::(?![^<>]*>)", name) if p and p != "(anonymous namespace)"]
    return "::".join(parts[-2:]) or name


def failure_key(meta: dict[str, Any]) -> dict[str, Any]:
    """What makes two cases the same bug: the signature, or when a case has none
    (an IR pattern that should be gone, an output mismatch) its stage and predicates."""
    sig = meta.get("signature")
    if sig:
        return {"signature": sig}
    options = dict(meta.get("predicate_options") or {})
    if options.get("script"):  # one script tells one bug: compare scripts by content
        options["script"] = meta.get("script_sha256") or PurePath(str(options["script"])).name.removeprefix("script-")
    return {
        "stage": meta.get("stage"),
        "predicates": list(meta.get("predicates") or []),
        "predicate_options": options,
    }


def _short_hash(data: Any) -> str:
    text = json.dumps(_plain(data), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def case_id_for(original_name: str, key: dict[str, Any]) -> str:
    """``<original stem>-<8 hex of the failure key>``, safe as a folder name."""
    stem = PurePath(original_name).name
    for suffix in (".mlir", ".c", ".h", ".ll", ".txt"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-").lower() or "case"
    return f"{slug[:48]}-{_short_hash(key)}"


# --------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    folder: Path
    meta: dict[str, Any]

    @classmethod
    def load(cls, folder: Path) -> Case:
        with open(folder / CASE_FILE, "rb") as stream:
            return cls(folder, tomllib.load(stream))

    def save(self) -> None:
        text = "# carts-reduce regression case: see corpus/README.md\n" + tomli_w.dumps(_plain(self.meta))
        tmp = self.folder / (CASE_FILE + ".tmp")
        tmp.write_text(text)
        tmp.replace(self.folder / CASE_FILE)

    @property
    def id(self) -> str:
        return str(self.meta.get("id") or self.folder.name)

    @property
    def input_path(self) -> Path:
        return self.folder / str(self.meta["input"])

    @property
    def text(self) -> str:
        return self.input_path.read_bytes().decode("utf-8", "surrogateescape")

    @property
    def size(self) -> int:
        return self.input_path.stat().st_size

    @property
    def stage(self) -> str | None:
        return self.meta.get("stage") or None

    @property
    def command(self) -> str:
        return str(self.meta["command"])

    @property
    def frontend(self) -> str | None:
        return self.meta.get("frontend") or None

    @property
    def format(self) -> str:
        return str(self.meta.get("format") or "text")

    @property
    def signature(self) -> dict[str, Any] | None:
        return self.meta.get("signature") or None

    @property
    def status(self) -> str:
        return str(self.meta.get("status") or "failing")

    @property
    def predicates(self) -> list[str]:
        return list(self.meta.get("predicates") or [])

    @property
    def carts(self) -> str | None:
        """The carts the case was reduced with: a path (relative ones are to the case's folder) or a name."""
        carts = self.meta.get("carts") or None
        if carts and os.sep in carts and not os.path.isabs(carts):
            return str((self.folder / carts).resolve())
        return carts

    @property
    def predicate_options(self) -> dict[str, Any]:
        options = dict(self.meta.get("predicate_options") or {})
        if options.get("script") and not Path(str(options["script"])).is_absolute():
            options["script"] = self.folder / str(options["script"])
        return options

    def to_record(self) -> ReductionRecord:
        """The case as a reduction record (for a report of a corpus case)."""
        original = dict(self.meta.get("original") or {})
        reduced = dict(self.meta.get("reduced") or {})
        reduction = dict(self.meta.get("reduction") or {})
        return ReductionRecord(
            tool_version=str(self.meta.get("carts_reduce_version") or __version__),
            input=str(original.get("name", "")),
            input_name=str(original.get("name", "")),
            input_sha256=str(original.pop("sha256", "")),
            output=str(self.input_path),
            format=self.format,
            stage=self.stage,
            command=self.command,
            carts=self.carts,
            predicates=self.predicates,
            predicate_options=self.predicate_options,
            signature=self.signature,
            standin=bool(self.meta.get("standin")),
            sizes_before={k: v for k, v in original.items() if isinstance(v, int)},
            sizes_after={k: v for k, v in reduced.items() if isinstance(v, int)},
            tests_run=int(reduction.get("tests_run", 0)),
            cache_hits=int(reduction.get("cache_hits", 0)),
            wall_seconds=float(reduction.get("wall_seconds", 0.0)),
            carts_version=self.meta.get("carts_version"),
            started=str(reduction.get("started", "")),
            pipeline=self.meta.get("pipeline"),
        )

    def tool(self, carts: str | None) -> Tool:
        return Tool(
            input_name=self.input_path.name,
            carts=carts,
            stage=self.stage,
            command=self.command,
            format=self.format,
            frontend=self.frontend,
        )


def frontend_for(record: ReductionRecord) -> str | None:
    """The C front end a reduction used: recorded, or the default one for C through carts."""
    if record.frontend:
        return record.frontend
    if record.format == "c" and "{carts}" in record.command and "{stage}" in record.command:
        return DEFAULT_FRONTEND
    return None


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def case_meta(record: ReductionRecord, case_id: str, input_name: str, data: bytes) -> dict[str, Any]:
    """The ``case.toml`` content for a reduced input and its record."""
    after = dict(record.sizes_after or {})
    after["bytes"] = len(data)
    after["sha256"] = hashlib.sha256(data).hexdigest()
    return {
        "id": case_id,
        "input": input_name,
        "format": record.format,
        "stage": record.stage,
        "command": record.command,
        "frontend": frontend_for(record),
        "predicates": list(record.predicates or []),
        "status": "failing",
        "standin": bool(record.standin),
        "date": _now(),
        "carts_reduce_version": __version__,
        "carts_version": record.carts_version,
        "carts": record.carts,
        "predicate_options": dict(record.predicate_options or {}),
        "signature": record.signature,
        "pipeline": record.pipeline,
        "script_sha256": _script_sha256(record),
        "original": {
            "name": record.input_name,
            "sha256": record.input_sha256,
            **(record.sizes_before or {}),
        },
        "reduced": after,
        "reduction": {
            "started": record.started or None,
            "tool_version": record.tool_version,
            "tests_run": record.tests_run,
            "cache_hits": record.cache_hits,
            "wall_seconds": round(float(record.wall_seconds), 3),
        },
    }


def portable_carts(carts: str | None, folder: Path) -> str | None:
    """How a case names the carts it was reduced with, valid on another machine: a
    path relative to the case's folder when carts lies beside the corpus (the
    stand-in in the same checkout), else its name, to be found on PATH."""
    if not carts or os.sep not in carts:
        return carts
    path = Path(carts).resolve()
    home = Path(folder).resolve().parent.parent  # the folder that holds the corpus
    if path.is_relative_to(home) and home != Path(home.anchor):
        return os.path.relpath(path, Path(folder).resolve())
    return path.name


def _script_sha256(record: ReductionRecord) -> str | None:
    script = (record.predicate_options or {}).get("script")
    if not script or not Path(str(script)).is_file():
        return None
    return hashlib.sha256(Path(str(script)).read_bytes()).hexdigest()


def _keep_script(meta: dict[str, Any], folder: Path) -> None:
    """A case judged by an interestingness script keeps a copy of it, named
    relative to the case folder, so that it can be checked anywhere."""
    options = meta.get("predicate_options") or {}
    script = options.get("script")
    if not script or not Path(str(script)).is_file():
        return
    source = Path(str(script))
    target = folder / ("script-" + source.name)
    shutil.copy2(source, target)
    options["script"] = target.name


@dataclass
class AddResult:
    case: Case  # the case the corpus holds now for this failure
    action: str  # "added", "replaced" (new input smaller) or "kept" (existing not larger)
    other: str | None = None  # the duplicate's id and size, when there was one

    def message(self) -> str:
        if self.action == "added":
            return f"added {self.case.id} ({self.case.size} bytes)"
        if self.action == "replaced":
            return f"duplicate of {self.other}: kept the new, smaller input as {self.case.id} ({self.case.size} bytes)"
        return f"duplicate of {self.case.id}: kept the existing input ({self.case.size} bytes), dropped the new one ({self.other})"


class Corpus:
    def __init__(self, root: Path):
        self.root = Path(root)

    def cases(self) -> list[Case]:
        if not self.root.is_dir():
            return []
        return [Case.load(d) for d in sorted(self.root.iterdir()) if (d / CASE_FILE).is_file()]

    def get(self, case_id: str) -> Case:
        return Case.load(self.root / case_id)

    def find_duplicate(self, meta: dict[str, Any]) -> Case | None:
        key = failure_key(_plain(meta))
        for case in self.cases():
            other = failure_key(case.meta)
            if "signature" in key and "signature" in other:
                if same_failure(key["signature"], other["signature"]):
                    return case
            elif key == other:
                return case
        return None

    def add(self, result: Path, record: ReductionRecord | None = None) -> AddResult:
        """File the reduced output ``result`` (its record read from ``RESULT.json`` unless given)."""
        result = Path(result)
        if record is None:
            record_path = ReductionRecord.path_for(result)
            if not record_path.is_file():
                raise FileNotFoundError(f"no reduction record beside {result} (expected {record_path})")
            record = ReductionRecord.load(record_path)
        data = result.read_bytes()
        suffix = PurePath(result.name).suffix or PurePath(record.input_name).suffix or ".txt"
        input_name = "input" + suffix
        probe = case_meta(record, "", input_name, data)
        case_id = case_id_for(record.input_name or result.name, failure_key(_plain(probe)))
        probe["id"] = case_id

        duplicate = self.find_duplicate(probe)
        if duplicate is not None and duplicate.size <= len(data):
            return AddResult(duplicate, "kept", f"{result} ({len(data)} bytes)")
        other = None
        if duplicate is not None:
            other = f"{duplicate.id} ({duplicate.size} bytes)"
            shutil.rmtree(duplicate.folder)

        folder = self.root / case_id
        number = 1
        while folder.exists():  # another failure whose key hashes alike
            number += 1
            folder = self.root / f"{case_id}-{number}"
        probe["id"] = folder.name
        probe["carts"] = portable_carts(record.carts, folder)
        folder.mkdir(parents=True)
        (folder / input_name).write_bytes(data)
        _keep_script(probe, folder)
        case = Case(folder, probe)
        case.save()
        case = Case.load(folder)
        return AddResult(case, "replaced" if duplicate is not None else "added", other)


def add_case(result: Path, corpus_dir: Path, record: ReductionRecord | None = None) -> AddResult:
    """File a finished reduction's output (``--add-to-corpus``); see ``Corpus.add``."""
    return Corpus(corpus_dir).add(result, record)


# --------------------------------------------------------------------------
# Re-checking cases


class Verdict(str, Enum):
    FAILING = "still failing"
    FIXED = "fixed"
    CHANGED = "changed"
    REGRESSED = "failing again"
    BROKEN = "cannot run"  # the case itself is unusable (e.g. its predicate options)

    @property
    def bad(self) -> bool:
        """Verdicts that make ``corpus check`` exit non-zero."""
        return self in (Verdict.CHANGED, Verdict.REGRESSED, Verdict.BROKEN)


@dataclass
class CheckResult:
    case: Case
    verdict: Verdict
    detail: str  # what was seen, one line
    signature: dict[str, Any] | None
    outcome: Outcome


Runner = Callable[[TestSpec], Awaitable[Outcome]]


def _new_signature(outcome: Outcome) -> dict[str, Any] | None:
    from carts_reduce.signature import Signature

    sig = Signature.from_outcome(outcome)
    return sig.to_dict() if sig else None


def _seen(outcome: Outcome) -> str:
    step = outcome.steps[-1] if outcome.steps else None
    if step is None:
        return "nothing ran"
    return f"{step.name}: {step.status}"


async def check_case(case: Case, carts: str | None, timeout: float = DEFAULT_TIMEOUT, run: Runner | None = None) -> CheckResult:
    """Run one case with its command template and sort the result."""
    if run is None:
        from carts_reduce.run.runner import run_test as run
    tool = case.tool(carts)
    steps = tool.steps()
    predicate = None
    if case.signature is None:
        # Pinned by its predicates rather than a signature (e.g. an IR pattern
        # that should be gone): they judge whether it still fails.
        import interestingness

        try:
            predicate = interestingness.build(case.predicates, case.predicate_options, None)
            steps = predicate.adjust(steps, tool.expand)
        except interestingness.PredicateError as error:
            return CheckResult(case, Verdict.BROKEN, str(error), None, Outcome(()))
    outcome = await run(tool.spec(case.text, steps, timeout))
    failed = outcome.failed_step is not None
    again = Verdict.REGRESSED if case.status == "fixed" else Verdict.FAILING

    new = None
    if predicate is not None:
        if predicate(outcome, case.text):
            verdict, detail = again, f"{', '.join(case.predicates)} still holds ({_seen(outcome)})"
        elif failed:
            verdict, detail = Verdict.CHANGED, f"now fails otherwise ({_seen(outcome)})"
        else:
            verdict, detail = Verdict.FIXED, f"{', '.join(case.predicates)} no longer holds ({_seen(outcome)})"
    elif not failed:
        verdict, detail = Verdict.FIXED, f"no failure ({_seen(outcome)})"
    else:
        new = _new_signature(outcome)
        if new is None:
            verdict, detail = Verdict.CHANGED, f"now fails without a signature ({_seen(outcome)})"
        elif same_failure(case.signature, new):
            verdict, detail = again, signature_summary(new)
        else:
            verdict, detail = Verdict.CHANGED, f"now: {signature_summary(new)}"
    return CheckResult(case, verdict, detail, new, outcome)


async def check_corpus(
    corpus: Corpus,
    carts: str | None,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 1,
    run: Runner | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Check every case, ``jobs`` at a time; results come back in corpus order."""
    cases = corpus.cases()
    results: list[CheckResult | None] = [None] * len(cases)
    limiter = anyio.CapacityLimiter(max(1, jobs))

    async def one(index: int, case: Case) -> None:
        async with limiter:
            results[index] = await check_case(case, carts, timeout, run)
        if on_result is not None:
            on_result(results[index])

    async with anyio.create_task_group() as group:
        for index, case in enumerate(cases):
            group.start_soon(one, index, case)
    return [r for r in results if r is not None]


def record_verdicts(results: list[CheckResult], carts_version: str | None = None) -> list[Case]:
    """Write the status bookkeeping back to ``case.toml``: fixed cases become
    ``status = "fixed"``, cases failing again become ``"failing"``. Returns the cases changed."""
    changed: list[Case] = []
    for result in results:
        case = result.case
        if result.verdict is Verdict.FIXED and case.status != "fixed":
            case.meta["status"] = "fixed"
            case.meta["fixed"] = {"date": _now(), "carts_version": carts_version}
        elif result.verdict is Verdict.REGRESSED:
            case.meta["status"] = "failing"
            case.meta["regressed"] = {"date": _now(), "carts_version": carts_version}
        else:
            continue
        case.save()
        changed.append(case)
    return changed


def exit_status(results: list[CheckResult]) -> int:
    return 1 if any(r.verdict.bad for r in results) else 0
