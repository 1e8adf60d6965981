"""Wall time of one triage on the local pool and on Dask LocalClusters of 1, 2 and 4 workers.

    .venv/bin/python bench/triage.py [--workers 1,2,4] [--pass complete] [--repeat 1]

The triage is the test suite's (tests/triage_suite.py: 24 real CARTS files
and variants, three distinct stand-in bugs, two inputs that do not fail).
For each executor the table gives the wall time of the whole command
(Python start-up and, for a cluster, starting its workers included), the
triage's own wall time, the tests run, and the share of the triage's time
during which no test was running (the reducer's own cost: grouping, parsing,
proposing candidates, writing results; on a cluster also the round trips to
the scheduler). Every run must give the same bugs, reduced files and corpus
inputs as the first; a row that does not says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests"))

import triage_suite  # noqa: E402

STANDIN = ROOT / "tests" / "standin" / "carts"
DATA = ROOT.parent / "shared" / "data"


def outputs(out: Path) -> dict[str, bytes]:
    """Reduced files, corpus inputs and the bug rows without their cost columns."""
    found = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("bug-*/*.reduced.mlir"))}
    found |= {str(p.relative_to(out.parent)): p.read_bytes() for p in sorted((out.parent / "corpus").glob("*/input.*"))}
    summary = json.loads((out / "triage.json").read_text())
    for row in summary["bugs"]:
        row.pop("tests"), row.pop("seconds")
    found["rows"] = json.dumps([summary["bugs"], summary["passing"]]).encode()
    return found


def run(inputs: Path, scratch: Path, stage: str, executor: list[str]) -> dict:
    out = scratch / "triage"
    args = [sys.executable, "-m", "carts_reduce", "triage", str(inputs), "--pass", stage, "--carts", str(STANDIN),
            "-o", str(out), "--corpus", str(scratch / "corpus"), "-q", *executor]
    started = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1], "wall": wall}
    summary = json.loads((out / "triage.json").read_text())
    return {
        "wall": wall,
        "triage": summary["wall_seconds"],
        "busy": summary["busy_seconds"],
        "tests": summary["tests"],
        "capacity": summary["capacity"],
        "bugs": len(summary["bugs"]),
        "passing": len(summary["passing"]),
        "outputs": outputs(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="LocalCluster sizes (comma-separated)")
    parser.add_argument("--local-jobs", type=int, default=2, help="-j of the local-pool row (0: no such row)")
    parser.add_argument("--pass", dest="stage", default="auto", help="the stage given to the triage (auto: each input's own, by the culprit search)")
    args = parser.parse_args()
    if not DATA.is_dir() or triage_suite.missing(DATA):
        sys.exit(f"bench/triage.py: the shared data is not at {DATA} (or lacks the suite's files)")
    executors = ([(f"local pool, -j {args.local_jobs}", ["-j", str(args.local_jobs)])] if args.local_jobs else [])
    executors += [(f"Dask local:{n}", ["--cluster", f"local:{n}"]) for n in map(int, args.workers.split(","))]
    rows = []
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        suite = triage_suite.build(DATA, Path(tmp) / "inputs")
        count = len(suite.inputs)
        first = None
        for name, executor in executors:
            scratch = Path(tmp) / f"run{len(rows)}"
            scratch.mkdir()
            result = run(suite.folder, scratch, args.stage, executor)
            if "outputs" in result:
                first = first or result["outputs"]
                result["same"] = result.pop("outputs") == first
            rows.append((name, result))
            print(f"{name}: {json.dumps(result)}", file=sys.stderr)
    print(f"\nTriage of {count} inputs (`--pass {args.stage}`), {dt.date.today()}:\n")
    print("| executor | tests at once | command wall s | triage wall s | tests | no test running | bugs | same outputs |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, r in rows:
        if "error" in r:
            print(f"| {name} | | {r['wall']:.1f} | | | | | failed: {r['error']} |")
            continue
        idle = 1 - r["busy"] / r["triage"] if r["triage"] else 0.0
        print(f"| {name} | {r['capacity']} | {r['wall']:.1f} | {r['triage']:.1f} | {r['tests']:,} | "
              f"{100 * idle:.0f}% | {r['bugs']} (+{r['passing']} passing) | {'yes' if r['same'] else 'NO'} |")
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"triage-{stamp}.json").write_text(json.dumps([{"executor": n, **r} for n, r in rows], indent=2))


if __name__ == "__main__":
    main()
