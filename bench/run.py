"""Benchmark carts-reduce against C-Vise, Shrink Ray and C-Reduce on the same predicates.

    .venv/bin/python bench/run.py [--cases NAME|GROUP ...] [--tools carts-reduce,cvise,shrinkray]
                                  [--jobs 2] [--time-limit 300] [--shrinkray-cap 180] [--fresh]

Every tool runs on each case with the SAME interestingness script (behind the
same counting wrapper) and the SAME parallelism, one tool at a time. Peer
results are cached under bench/results/cache/ and reused while the case (input,
script, what the script runs), the tool's version, --jobs and the caps are
unchanged; --fresh reruns them. carts-reduce always runs. The table goes to
stdout as markdown; the whole run goes to bench/results/run-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as case_defs  # noqa: E402
import measure  # noqa: E402
import peers  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_TOOLS = "carts-reduce,cvise,shrinkray"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_share(run: peers.ToolRun, check: str, sample: int, jobs: int, seed: int = 0) -> dict:
    """Share of tests whose candidate parses, weighting each distinct candidate by its tests.

    Past `sample` distinct candidates, a seeded random sample of them stands for all.
    Runs after the tool has stopped, `jobs` checks at a time.
    """
    if not run.invocations or not run.store:
        return {"parsed_share": None, "parse_checked": 0, "distinct": 0}
    weights = Counter(call.sha1 for call in run.invocations)
    distinct = sorted(weights)
    chosen = distinct if len(distinct) <= sample else random.Random(seed).sample(distinct, sample)
    # A candidate missing from the store was cancelled before the wrapper copied it.
    present = [sha1 for sha1 in chosen if (Path(run.store) / sha1).exists()]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        verdicts = list(pool.map(lambda sha1: case_defs.parses(check, Path(run.store) / sha1), present))
    total = sum(weights[sha1] for sha1 in present)
    parsed = sum(weights[sha1] for sha1, ok in zip(present, verdicts) if ok)
    return {
        "parsed_share": round(parsed / total, 4) if total else None,
        "parse_checked": len(chosen),
        "distinct": len(distinct),
    }


def timing(run: peers.ToolRun, started_epoch: float, final_sha1: str | None) -> dict:
    """When the final result was first tested, and how much of the run no test was running."""
    calls = run.invocations
    first = next((i for i, call in enumerate(calls) if call.sha1 == final_sha1 and call.returncode == 0), None)
    intervals = sorted((call.start, call.end or call.start) for call in calls)
    busy, reach = 0.0, None
    for start, end in intervals:
        if reach is None or start > reach:
            busy += end - start
            reach = end
        elif end > reach:
            busy += end - reach
            reach = end
    return {
        "tests_to_best": None if first is None else first + 1,
        "seconds_to_best": None if first is None else round((calls[first].end or calls[first].start) - started_epoch, 2),
        "completed": sum(1 for call in calls if call.end is not None),
        "interesting": sum(1 for call in calls if call.returncode == 0),
        "test_busy_seconds": round(busy, 2),
        "outside_tests_seconds": round(max(0.0, run.wall_seconds - busy), 2),
    }


def verify(script: Path, output: Path, workdir: Path) -> bool:
    """One extra, uncounted run of the case's own script on the final file."""
    check = workdir / "verify"
    check.mkdir(exist_ok=True)
    copy = check / output.name
    shutil.copyfile(output, copy)
    try:
        proc = subprocess.run([str(script), copy.name], cwd=check, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def cache_key(case: case_defs.Case, tool: str, tool_version: str | None, jobs: int, limit: float) -> dict:
    return {"case": case.fingerprint(), "tool": tool, "version": tool_version, "jobs": jobs, "time_limit": limit}


def run_one(case: case_defs.Case, tool: str, script: Path, scratch: Path, args, versions: dict) -> dict:
    limit = min(args.time_limit, args.shrinkray_cap) if tool == "shrinkray" else args.time_limit
    key = cache_key(case, tool, versions.get(tool), args.jobs, limit)
    cache_file = RESULTS / "cache" / case.name / f"{tool}.json"
    if tool != "carts-reduce" and not args.fresh and cache_file.exists():
        cached = json.loads(cache_file.read_text())
        if cached.get("key") == key:
            cached["row"]["cached"] = True
            log(f"  {tool}: cached result from {cached['row'].get('date')}")
            return cached["row"]

    row: dict = {"case": case.name, "tool": tool, "version": versions.get(tool), "jobs": args.jobs,
                 "time_limit": limit, "date": dt.datetime.now().isoformat(timespec="seconds"), "cached": False}
    workdir = scratch / case.name / tool
    log(f"  {tool}: running (cap {limit:.0f} s) in {workdir}")
    started_epoch = time.time()
    run = peers.run_tool(tool, case.input, script, workdir, jobs=args.jobs, time_limit=limit,
                         kind=case.kind, test_timeout=case.test_timeout, carts_args=case.carts_args)
    row.update(run.to_json())
    if not run.available:
        log(f"  {tool}: {run.note}")
        return row
    final_sha1 = None
    if run.output and Path(run.output).exists():
        output = Path(run.output)
        final_sha1 = peers.sha1_of(output)
        row["sizes"] = measure.measure(output, case.kind)
        row["verified"] = verify(script, output, workdir)
        saved = cache_file.with_name(f"{tool}.out{case.input.suffix}")
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(output, saved)
        row["saved_output"] = str(saved.relative_to(RESULTS.parent.parent))
    row.update(timing(run, started_epoch, final_sha1))
    row.update(parse_share(run, case.parse_check, args.parse_sample, args.jobs))
    if run.store and not args.keep_scratch:
        shutil.rmtree(run.store, ignore_errors=True)
    unit = measure.unit_of(case.kind)
    size = row.get("sizes", {}).get(unit)
    log(f"  {tool}: {size} {unit}, {row.get('sizes', {}).get('bytes')} B, {run.tests} tests, "
        f"{run.wall_seconds:.0f} s{' (capped)' if run.capped else ''}, parsed {row.get('parsed_share')}")
    if tool != "carts-reduce":
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps({"key": key, "row": row}, indent=1))
    return row


def fmt(value, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: list[dict]) -> str:
    head = ("| case | tool | ops/tokens | bytes | chars | lines | tests | tests to best | wall s "
            "| s to best | outside tests s | parsed | verified | note |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for case in results:
        unit = measure.unit_of(case["kind"])
        for label, sizes in (("(original)", case["original"]), ("(reference)", case.get("reference"))):
            if sizes:
                lines.append(f"| {case['case']} | {label} | {fmt(sizes.get(unit))} {unit} | {fmt(sizes['bytes'])} "
                             f"| {fmt(sizes['chars'])} | {fmt(sizes['lines'])} | | | | | | | | |")
        if case.get("skipped"):
            lines.append(f"| {case['case']} | (all) | | | | | | | | | | | | skipped: {case['skipped']} |")
            continue
        for row in case["runs"]:
            if not row.get("available", False):
                lines.append(f"| {case['case']} | {row['tool']} | | | | | | | | | | | | {row.get('note')} |")
                continue
            sizes = row.get("sizes", {})
            unit_text = f"{fmt(sizes.get(unit))}{'~' if sizes.get('ops_method') == 'text' else ''}"
            share = row.get("parsed_share")
            own = row.get("metadata") or {}
            notes = [n for n in (row.get("note"), "capped" if row.get("capped") else "",
                                 "cached" if row.get("cached") else "",
                                 f"its record: {own['tests_run']} tests"
                                 + (f" ({own['verified_runs']} of them verifying the result)"
                                    if own.get("verified_runs") else "")
                                 if own.get("tests_run") is not None else "")
                     if n]
            lines.append(
                f"| {case['case']} | {row['tool']} | {unit_text} | {fmt(sizes.get('bytes'))} | {fmt(sizes.get('chars'))} "
                f"| {fmt(sizes.get('lines'))} | {fmt(row.get('tests'))} | {fmt(row.get('tests_to_best'))} "
                f"| {fmt(row.get('wall_seconds'), 1)} | {fmt(row.get('seconds_to_best'), 1)} "
                f"| {fmt(row.get('outside_tests_seconds'), 1)} "
                f"| {'-' if share is None else f'{100 * share:.0f}%'} | {'yes' if row.get('verified') else 'NO'} "
                f"| {', '.join(notes)} |"
            )
    return "\n".join(lines)


def merge(reports: list[dict]) -> list[dict]:
    """Cases of several runs, in first-seen order; a later row of the same tool replaces an earlier one."""
    cases: dict[str, dict] = {}
    for report in reports:
        for case in report["cases"]:
            entry = cases.setdefault(case["case"], {**case, "runs": []})
            for key in ("original", "reference"):
                entry[key] = case.get(key) or entry.get(key)
            if not case.get("skipped"):
                entry.pop("skipped", None)
            for row in case.get("runs", []):
                entry["runs"] = [r for r in entry["runs"] if r["tool"] != row["tool"]] + [row]
    return list(cases.values())


def goals(results: list[dict]) -> list[str]:
    """Issue 6's bar, per case: size at most every peer's, tests and wall time at most half of C-Vise's."""
    lines = []
    for case in results:
        rows = {row["tool"]: row for row in case.get("runs", []) if row.get("available") and row.get("sizes")}
        ours = rows.get("carts-reduce")
        if not ours:
            continue
        unit = measure.unit_of(case["kind"])
        size = ours["sizes"].get(unit)
        checks = []
        for tool, row in rows.items():
            if tool == "carts-reduce":
                continue
            other = row["sizes"].get(unit)
            if size is not None and other is not None:
                checks.append(f"size {size} vs {tool} {other} {'ok' if size <= other else 'LARGER'}")
        cvise = rows.get("cvise")
        if cvise:
            for key, label in (("tests", "tests"), ("wall_seconds", "wall")):
                mine, theirs = ours.get(key), cvise.get(key)
                if mine is not None and theirs:
                    checks.append(f"{label} {mine:,.0f} vs half of cvise {theirs / 2:,.0f} "
                                  f"{'ok' if mine <= theirs / 2 else 'OVER'}")
        lines.append(f"- {case['case']}: " + "; ".join(checks))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="*", help="case names or groups (real, standin, transformer, c); default: all")
    parser.add_argument("--tools", default=DEFAULT_TOOLS, help=f"comma-separated, from {','.join(peers.TOOLS)}")
    parser.add_argument("--jobs", type=int, default=2, help="parallel tests for every tool (default 2)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="wall-clock cap per tool and case, s")
    parser.add_argument("--shrinkray-cap", type=float, default=180.0,
                        help="Shrink Ray's cap, s (it runs until it has nothing left to try)")
    parser.add_argument("--parse-sample", type=int, default=200, help="distinct candidates parse-checked per run")
    parser.add_argument("--fresh", action="store_true", help="rerun peers even when a cached result matches")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the scratch dirs and stored candidates")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--show", nargs="+", type=Path, metavar="RUN_JSON",
                        help="print the table of saved runs (merged, later ones win) and exit")
    args = parser.parse_args(argv)

    if args.show:
        merged = merge([json.loads(path.read_text()) for path in args.show])
        print(table(merged))
        bar = goals(merged)
        if bar:
            print("\n" + "\n".join(bar))
        return 0

    if args.list:
        for case in case_defs.CASES:
            print(f"{case.name:48} {case.group:12} {case.missing() or 'ready'}")
        return 0
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for tool in tools:
        if tool not in peers.TOOLS:
            parser.error(f"unknown tool {tool!r}: use {', '.join(peers.TOOLS)}")
    chosen = case_defs.select(args.cases)
    versions = {tool: peers.version(tool) for tool in tools}
    scratch = Path(tempfile.mkdtemp(prefix="carts-reduce-bench-"))
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    report = {"date": stamp, "jobs": args.jobs, "time_limit": args.time_limit,
              "shrinkray_cap": args.shrinkray_cap, "versions": versions, "cases": []}
    try:
        for case in chosen:
            log(f"{case.name}:")
            entry: dict = {"case": case.name, "group": case.group, "kind": case.kind, "runs": []}
            report["cases"].append(entry)
            missing = case.missing()
            if missing:
                entry["skipped"] = missing
                log(f"  skipped: {missing}")
                continue
            entry["original"] = measure.measure(case.input, case.kind)
            entry["reference"] = measure.measure(case.reference, case.kind) if case.reference else None
            script = case.write_script(scratch / case.name)
            for tool in tools:
                entry["runs"].append(run_one(case, tool, script, scratch, args, versions))
    except KeyboardInterrupt:
        log("interrupted: printing what was measured")
    finally:
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            log(f"scratch kept in {scratch}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"run-{stamp}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"jobs {args.jobs}, cap {args.time_limit:.0f} s (Shrink Ray {min(args.time_limit, args.shrinkray_cap):.0f} s); "
          + "; ".join(f"{tool}: {versions[tool] or 'not available'}" for tool in tools))
    print()
    print(table(report["cases"]))
    bar = goals(report["cases"])
    if bar:
        print()
        print("carts-reduce against the bar (size <= every peer; tests and wall <= half of C-Vise's):")
        print("\n".join(bar))
    log(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
