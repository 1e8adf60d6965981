"""What a text reducer still takes off carts-reduce's result.

    .venv/bin/python bench/limit.py [--cases NAME|GROUP ...] [--jobs 2] [--shrinkray-cap 60]

For each case: carts-reduce runs to its result (``--jobs``, the case's own
interestingness script behind the counting wrapper of peers.py), then Shrink
Ray starts from a copy of that result, under the same script and parallelism,
for ``--shrinkray-cap`` seconds. The table gives our size (ops or C tokens,
bytes, non-whitespace characters, tests, seconds), Shrink Ray's best after the
cap, and what it removed: non-whitespace characters and their share of ours.
A result that differs only in whitespace is marked so (it removes nothing).
Each case's unified diff, ours -> Shrink Ray's, is kept in
bench/results/limit-<time>/ with both files, and the whole run in limit.json.

Shrink Ray gets less done in a fixed time on a loaded machine: the load
average at the start and end of each Shrink Ray run is in the table.

Default cases: the three real crashes and two stand-in cases (~10 min on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as case_defs  # noqa: E402
import measure  # noqa: E402
import peers  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CASES = ["real", "standin-rhs4sg_base", "standin-batchnorm"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def squeezed(text: str) -> str:
    """The text without any whitespace: two files equal here differ only in layout."""
    return "".join(text.split())


def compare(ours: str, theirs: str) -> dict:
    """How Shrink Ray's best differs from ours: removed non-whitespace characters, and of what kind."""
    removed = len(squeezed(ours)) - len(squeezed(theirs))
    if ours == theirs:
        kind = "nothing"
    elif squeezed(ours) == squeezed(theirs):
        kind = "whitespace only"
    elif removed > 0:
        kind = "removed"
    elif sorted(map(squeezed, ours.splitlines())) == sorted(map(squeezed, theirs.splitlines())):
        kind = "lines reordered"  # Shrink Ray also orders lines shortlex-first: nothing removed
    else:
        kind = "respelled, not smaller"  # e.g. `%a` -> `%0`: shortlex-smaller, same size
    share = removed / len(squeezed(ours)) if squeezed(ours) else 0.0
    return {"removed_chars": removed, "removed_share": round(share, 4), "change": kind}


def run_case(case: case_defs.Case, args, scratch: Path, keep: Path) -> dict:
    entry: dict = {"case": case.name, "kind": case.kind}
    check = case.check_original()
    if not check.interesting:
        entry["skipped"] = check.detail
        log(f"{case.name}: skipped, {check.detail}")
        return entry
    script = case.write_script(scratch / case.name)
    unit = measure.unit_of(case.kind)

    log(f"{case.name}: carts-reduce (-j {args.jobs})")
    ours = peers.run_tool("carts-reduce", case.input, script, scratch / case.name / "ours", jobs=args.jobs,
                          time_limit=args.time_limit, kind=case.kind, test_timeout=case.test_timeout,
                          carts_args=case.carts_args)
    if not ours.output:
        entry["skipped"] = f"carts-reduce left no result: {ours.note}"
        return entry
    # Shrink Ray starts from our result under the original's name (the scripts default to it).
    start = scratch / case.name / "start" / case.input.name
    start.parent.mkdir(parents=True)
    shutil.copyfile(ours.output, start)
    # peers.run_tool gives carts-reduce --max-time at 90% of the cap: a run that long was stopped, not done.
    stopped = ours.capped or ours.wall_seconds >= round(args.time_limit * 0.9)
    entry["ours"] = {**measure.measure(start, case.kind), "tests": ours.tests, "seconds": ours.wall_seconds,
                     "stopped_at_cap": stopped, "note": ours.note}

    log(f"{case.name}: Shrink Ray from our {entry['ours'].get(unit)} {unit} ({args.shrinkray_cap:.0f} s)")
    load_before = load()
    theirs = peers.run_tool("shrinkray", start, script, scratch / case.name / "shrinkray", jobs=args.jobs,
                            time_limit=args.shrinkray_cap, kind=case.kind, test_timeout=case.test_timeout,
                            accept=lambda path: peers.verify(script, path, scratch / case.name))
    entry["load"] = [load_before, load()]
    if not theirs.output:
        entry["shrinkray_note"] = theirs.note or "no result"
        return entry
    entry["shrinkray"] = {**measure.measure(Path(theirs.output), case.kind), "tests": theirs.tests,
                          "seconds": theirs.wall_seconds, "note": theirs.note}
    ours_text, their_text = start.read_text(), Path(theirs.output).read_text()
    entry.update(compare(ours_text, their_text))

    suffix = case.input.suffix
    (keep / f"{case.name}.ours{suffix}").write_text(ours_text)
    (keep / f"{case.name}.shrinkray{suffix}").write_text(their_text)
    diff = difflib.unified_diff(ours_text.splitlines(keepends=True), their_text.splitlines(keepends=True),
                                fromfile=f"ours{suffix}", tofile=f"shrinkray-{args.shrinkray_cap:.0f}s{suffix}")
    (keep / f"{case.name}.diff").write_text("".join(diff))
    log(f"{case.name}: Shrink Ray removed {entry['removed_chars']} chars ({entry['change']})")
    return entry


def size_text(sizes: dict, unit: str) -> str:
    return f"{sizes.get(unit)} {unit}, {sizes['bytes']} B, {sizes['chars']} ch"


def table(entries: list[dict]) -> str:
    lines = ["| case | ours | tests | s | Shrink Ray from ours | its tests | removed | load |",
             "|---|---|---|---|---|---|---|---|"]
    for entry in entries:
        unit = measure.unit_of(entry["kind"])
        if entry.get("skipped"):
            lines.append(f"| {entry['case']} | skipped: {entry['skipped']} | | | | | | |")
            continue
        ours = entry["ours"]
        cap = " (stopped at its cap: not its result)" if ours.get("stopped_at_cap") else ""
        head = f"| {entry['case']} | {size_text(ours, unit)}{cap} | {ours['tests']} | {ours['seconds']:.0f} "
        if "shrinkray" not in entry:
            lines.append(head + f"| {entry.get('shrinkray_note')} | | | |")
            continue
        theirs = entry["shrinkray"]
        what = entry["change"] if entry["removed_chars"] <= 0 else (
            f"**{entry['removed_chars']} ch ({100 * entry['removed_share']:.1f}%)**")
        lines.append(head + f"| {size_text(theirs, unit)} | {theirs['tests']} | {what} "
                     f"| {entry['load'][0]:.1f}-{entry['load'][1]:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="*", default=DEFAULT_CASES,
                        help=f"case names or groups (see bench/run.py --list); default: {' '.join(DEFAULT_CASES)}")
    parser.add_argument("--jobs", type=int, default=2, help="parallel tests for both tools (default 2)")
    parser.add_argument("--shrinkray-cap", type=float, default=60.0, help="Shrink Ray's time from our result (s)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="cap on carts-reduce per case (s)")
    args = parser.parse_args(argv)
    for tool in ("carts-reduce", "shrinkray"):
        if peers.which(tool) is None:
            print(f"{tool} not found (bash .ci/setup-peers installs Shrink Ray)", file=sys.stderr)
            return 2
    try:
        chosen = case_defs.select(args.cases)
    except SystemExit as unknown:
        print(unknown, file=sys.stderr)
        return 2
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    keep = RESULTS / f"limit-{stamp}"
    keep.mkdir(parents=True)
    report = {"date": stamp, "jobs": args.jobs, "shrinkray_cap": args.shrinkray_cap,
              "shrinkray": peers.version("shrinkray"), "uptime_start": os.getloadavg(), "cases": []}
    with tempfile.TemporaryDirectory(prefix="carts-reduce-limit-") as scratch:
        try:
            for case in chosen:
                report["cases"].append(run_case(case, args, Path(scratch), keep))
        except KeyboardInterrupt:
            log("interrupted: printing what was measured")
    report["uptime_end"] = os.getloadavg()
    (keep / "limit.json").write_text(json.dumps(report, indent=1))
    print(f"jobs {args.jobs}; Shrink Ray {report['shrinkray']} for {args.shrinkray_cap:.0f} s from our result; "
          f"load average (1 min) {report['uptime_start'][0]:.2f} at start, {report['uptime_end'][0]:.2f} at end")
    print()
    print(table(report["cases"]))
    log(f"diffs and results: {keep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
