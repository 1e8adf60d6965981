"""Benchmark carts-reduce against C-Vise, Shrink Ray and C-Reduce on the same predicates.

    .venv/bin/python bench/run.py [--cases NAME|GROUP ...] [--tools carts-reduce,cvise,shrinkray]
                                  [--jobs 2] [--time-limit 300] [--shrinkray-cap 180] [--fresh]
    .venv/bin/python bench/run.py --quick        # stand-in MLIR cases + the transformer case, 150 s caps
    .venv/bin/python bench/run.py --list         # the cases, each checked on its original

Every tool runs on each case with the SAME interestingness script (behind the
same counting wrapper) and the SAME parallelism, one tool at a time. Peer
results are cached under bench/results/cache/ and reused while the case (input,
script, what the script runs), the tool's version, --jobs and the caps are
unchanged; --fresh reruns them. carts-reduce always runs. The table goes to
stdout as markdown; the whole run goes to bench/results/run-<time>.json.

One tool's odd behaviour (it dies, it leaves no file, its scratch dir changes
under it) costs that row a note; the run goes on to the next row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as case_defs  # noqa: E402
import measure  # noqa: E402
import peers  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_TOOLS = "carts-reduce,cvise,shrinkray"
T = TypeVar("T")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def attempt(action: Callable[..., T], *args) -> tuple[T | None, str | None]:
    """Run one unit of the benchmark (a case's set-up, one tool's row): (its value, None) or (None, a note).

    The one place that catches: a tool that dies or a file gone from a scratch
    dir must cost that unit a note, not the rows still to run. The traceback
    goes to stderr. Ctrl-C is not caught.
    """
    try:
        return action(*args), None
    except Exception as error:  # noqa: BLE001 - deliberately everything but Ctrl-C, see above
        log(traceback.format_exc().rstrip())
        return None, f"harness error: {type(error).__name__}: {error}"


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


def cache_key(case: case_defs.Case, tool: str, tool_version: str | None, jobs: int, limit: float) -> dict:
    return {"case": case.fingerprint(), "tool": tool, "version": tool_version, "jobs": jobs, "time_limit": limit}


def run_one(case: case_defs.Case, tool: str, script: Path, scratch: Path, args, versions: dict) -> dict:
    """One tool on one case: always a row; what went wrong, if anything, is in its note."""
    limit = min(args.time_limit, args.shrinkray_cap) if tool == "shrinkray" else args.time_limit
    row: dict = {"case": case.name, "tool": tool, "version": versions.get(tool), "jobs": args.jobs,
                 "time_limit": limit, "date": dt.datetime.now().isoformat(timespec="seconds"), "cached": False}
    _, error = attempt(fill_row, row, case, tool, script, scratch / case.name / tool, args, versions, limit)
    if error:
        row["note"] = "; ".join(note for note in (row.get("note"), error) if note)
        log(f"  {tool}: {error}")
    return row


def fill_row(row: dict, case: case_defs.Case, tool: str, script: Path, workdir: Path, args, versions: dict,
             limit: float) -> None:
    """Run (or take from the cache) one tool on one case and measure what it left, into `row`."""
    key = cache_key(case, tool, versions.get(tool), args.jobs, limit)
    cache_file = RESULTS / "cache" / case.name / f"{tool}.json"
    if tool != "carts-reduce" and not args.fresh and cache_file.exists():
        cached = json.loads(cache_file.read_text())
        if cached.get("key") == key:
            row.clear()
            row.update(cached["row"], cached=True)
            log(f"  {tool}: cached result from {row.get('date')}")
            return

    log(f"  {tool}: running (cap {limit:.0f} s) in {workdir}")
    started_epoch = time.time()
    run = peers.run_tool(tool, case.input, script, workdir, jobs=args.jobs, time_limit=limit,
                         kind=case.kind, test_timeout=case.test_timeout, carts_args=case.carts_args,
                         accept=lambda path: peers.verify(script, path, workdir))
    row.update(run.to_json())
    if not run.available:
        log(f"  {tool}: {run.note}")
        return
    final_sha1 = None
    if run.output:
        output = Path(run.output)
        final_sha1 = peers.sha1_of(output)
        row["sizes"] = measure.measure(output, case.kind)
        row["verified"] = peers.verify(script, output, workdir)
        saved = cache_file.with_name(f"{tool}.out{case.input.suffix}")
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(output, saved)
        row["saved_output"] = str(saved.relative_to(RESULTS.parent.parent))
    row.update(timing(run, started_epoch, final_sha1))
    row.update(parse_share(run, case.parse_check, args.parse_sample, args.jobs))
    if run.store and not args.keep_scratch:
        shutil.rmtree(run.store, ignore_errors=True)
    sizes = row.get("sizes")
    unit = measure.unit_of(case.kind)
    result = f"{sizes.get(unit)} {unit}, {sizes['bytes']} B" if sizes else "no result"
    log(f"  {tool}: {result}, {run.tests} tests, {run.wall_seconds:.0f} s{' (capped)' if run.capped else ''}, "
        f"parsed {row.get('parsed_share')}" + (f"; {run.note}" if run.note else ""))
    # Only a whole result is reused: a tool that died (maybe of something passing, such as
    # memory pressure), lost files or left no output runs again next time.
    whole = run.intact and "sizes" in row and run.returncode in (0, None)
    if tool != "carts-reduce" and whole:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".json.part")
        partial.write_text(json.dumps({"key": key, "row": row}, indent=1))
        partial.replace(cache_file)  # never a torn cache file, even when interrupted


def prepare(case: case_defs.Case, entry: dict, scratch: Path) -> Path | None:
    """Check the case on its original and measure it; its script, or None (entry["skipped"] says why)."""
    check = case.check_original()
    entry["original_check"] = check.detail
    if not check.interesting:
        entry["skipped"] = check.detail
        return None
    entry["original_seconds"] = check.seconds
    entry["original"] = measure.measure(case.input, case.kind)
    entry["reference"] = measure.measure(case.reference, case.kind) if case.reference else None
    return case.write_script(scratch / case.name)


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
        for label, sizes in (("(original)", case.get("original")), ("(reference)", case.get("reference"))):
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
                f"| {'-' if share is None else f'{100 * share:.0f}%'} "
                f"| {'-' if row.get('verified') is None else 'yes' if row['verified'] else 'NO'} "
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
        if checks:
            lines.append(f"- {case['case']}: " + "; ".join(checks))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="*", help="case names or groups (real, standin, transformer, c); default: all")
    parser.add_argument("--quick", action="store_true",
                        help=f"only the groups {', '.join(case_defs.QUICK_GROUPS)}, caps 150 s unless given")
    parser.add_argument("--tools", default=DEFAULT_TOOLS, help=f"comma-separated, from {','.join(peers.TOOLS)}")
    parser.add_argument("--jobs", type=int, default=2, help="parallel tests for every tool (default 2)")
    parser.add_argument("--time-limit", type=float, help="wall-clock cap per tool and case, s (default 300)")
    parser.add_argument("--shrinkray-cap", type=float,
                        help="Shrink Ray's cap, s (default 180: it runs until it has nothing left to try)")
    parser.add_argument("--parse-sample", type=int, default=200, help="distinct candidates parse-checked per run")
    parser.add_argument("--fresh", action="store_true", help="rerun peers even when a cached result matches")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the scratch dirs and stored candidates")
    parser.add_argument("--list", action="store_true",
                        help="list the cases, each checked on its original, and exit")
    parser.add_argument("--show", nargs="+", type=Path, metavar="RUN_JSON",
                        help="print the table of saved runs (merged, later ones win) and exit")
    args = parser.parse_args(argv)
    if args.quick:
        if args.cases:
            parser.error("--quick picks its own cases: drop --cases")
        args.cases = list(case_defs.QUICK_GROUPS)
    if args.time_limit is None:
        args.time_limit = 150.0 if args.quick else 300.0
    if args.shrinkray_cap is None:
        args.shrinkray_cap = 150.0 if args.quick else 180.0

    if args.show:
        merged = merge([json.loads(path.read_text()) for path in args.show])
        print(table(merged))
        bar = goals(merged)
        if bar:
            print("\n" + "\n".join(bar))
        return 0

    if args.list:
        for case in case_defs.select(args.cases):
            check, error = attempt(case.check_original)
            state = f"ready: {check.detail}" if check and check.interesting else f"NOT READY: {error or check.detail}"
            print(f"{case.name:48} {case.group:12} {state}")
        return 0
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for tool in tools:
        if tool not in peers.TOOLS:
            parser.error(f"unknown tool {tool!r}: use {', '.join(peers.TOOLS)}")
    chosen = case_defs.select(args.cases)
    versions = {tool: peers.version(tool) for tool in tools}
    caps = sum(min(args.time_limit, args.shrinkray_cap) if tool == "shrinkray" else args.time_limit for tool in tools)
    log(f"{len(chosen)} cases x {len(tools)} tools: at most {len(chosen) * caps / 60:.0f} min of tool time "
        f"(the caps), plus checks and measuring")
    scratch = Path(tempfile.mkdtemp(prefix="carts-reduce-bench-"))
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    report = {"date": stamp, "jobs": args.jobs, "time_limit": args.time_limit,
              "shrinkray_cap": args.shrinkray_cap, "versions": versions, "cases": []}
    try:
        for case in chosen:
            log(f"{case.name}:")
            entry: dict = {"case": case.name, "group": case.group, "kind": case.kind, "runs": []}
            report["cases"].append(entry)
            script, error = attempt(prepare, case, entry, scratch)
            if script is None:
                entry["skipped"] = entry.get("skipped") or error
                log(f"  skipped: {entry['skipped']}")
                continue
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
