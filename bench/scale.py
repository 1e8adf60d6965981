"""How carts-reduce's cost grows with the module: the scale series.

    .venv/bin/python bench/scale.py [--copies 1,16,32,64] [--jobs 2] [--rounds 1]

Each input is ``../shared/tools/scale_gen.py`` applied to the real CARTS
module ``rhs4sg_base`` (1.8k lines): its body copied N times with renamed
symbols, one ``"needle.op"`` in the middle copy. N = 1, 16, 32, 64 gives
1.8k, 24k, 48k and 96k lines. The test is the same grep script for every
size (``--script``: the candidate holds the needle), so the ideal result is
the needle op alone and the tests cost almost nothing: what grows is the
reducer's own work (parsing, proposing candidates, writing them, keys).

Per size: lines, tests (the record's ``tests_run``), wall seconds of the
whole ``carts-reduce`` command (Python start-up included), its time as a
multiple of the smallest size's in the same round, peak RSS in MB, and the
result. Peak MB is the kernel's ``ru_maxrss`` of the carts-reduce process
(from ``wait4``: the largest of it and the processes it waited for). The
tests' own processes (a shell and a grep, about 2 MB each, two at once) are
not added: a sum of the tree's RSS counts the reducer twice whenever a
test's process is sampled between its fork and its exec. The sizes of a
round run one after another, so the ratio is measured under the same
machine load; the load average is printed beside each row. With
``--rounds R`` the series runs R times and every round is printed; the
bounds are checked on the median over the rounds.

Bounds (the largest size against the smallest): time <= 6x, peak <= 250 MB.
Exit status 1 when a bound is missed or a result is not the needle alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SHARED = ROOT.parent / "shared"
GENERATOR = SHARED / "tools" / "scale_gen.py"
SOURCE = SHARED / "data" / "mlir-carts" / "rhs4sg_base__57d19f26.mlir"
NEEDLE = '"needle.op"() : () -> ()'

TIME_BOUND = 6.0
MEMORY_BOUND_MB = 250.0

_SCRIPT = """#!/bin/sh
# interesting: the candidate ($1) still holds the needle
exec grep -qF 'needle.op' "$1"
"""


def generate(copies: int, folder: Path) -> Path:
    out = folder / f"scale{copies}.mlir"
    subprocess.run([sys.executable, str(GENERATOR), str(SOURCE), str(copies), str(out)], check=True)
    return out


def reduce(input_path: Path, script: Path, jobs: int) -> dict:
    output = input_path.with_suffix(".reduced.mlir")
    argv = [sys.executable, "-m", "carts_reduce", str(input_path), "--script", str(script),
            "-j", str(jobs), "-o", str(output), "-q"]
    load = os.getloadavg()[0]
    started = time.monotonic()
    with open(input_path.with_suffix(".stderr"), "w") as stderr:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, cwd=input_path.parent)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    row = {"lines": len(input_path.read_text().splitlines()), "bytes": input_path.stat().st_size,
           "wall_s": wall, "peak_mb": usage.ru_maxrss / 1024,
           "load": load, "exit": proc.returncode}
    if proc.returncode != 0:
        lines = input_path.with_suffix(".stderr").read_text().strip().splitlines()
        return row | {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    record = json.loads(output.with_name(output.name + ".json").read_text())
    result = output.read_text()
    return row | {"tests": record["tests_run"], "result": result, "result_bytes": len(result.encode()),
                  "needle_only": result.strip() == NEEDLE}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", default="1,16,32,64", help="copies of the module per size (comma-separated)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="run the whole series this many times")
    args = parser.parse_args(argv)
    if not GENERATOR.is_file() or not SOURCE.is_file():
        print(f"bench/scale.py: needs {GENERATOR} and {SOURCE}", file=sys.stderr)
        return 2
    copies = sorted(int(n) for n in args.copies.split(","))
    rounds: list[list[dict]] = []
    with tempfile.TemporaryDirectory(prefix="carts-reduce-scale-") as tmp:
        folder = Path(tmp)
        script = folder / "needle.sh"
        script.write_text(_SCRIPT)
        script.chmod(0o755)
        inputs = [generate(n, folder) for n in copies]
        for number in range(args.rounds):
            rows = []
            for n, path in zip(copies, inputs):
                row = {"copies": n, **reduce(path, script, args.jobs)}
                print(f"round {number + 1}, {n} copies: "
                      f"{json.dumps({k: v for k, v in row.items() if k != 'result'})}", file=sys.stderr)
                rows.append(row)
            rounds.append(rows)

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nScale series, {dt.date.today()}, -j {args.jobs}, grep predicate; at the end: {uptime}\n")
    print("| round | lines | tests | wall s | x smallest | peak MB | load | result |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for number, rows in enumerate(rounds, 1):
        base = rows[0]["wall_s"]
        for row in rows:
            if "error" in row:
                print(f"| {number} | {row['lines']:,} | | {row['wall_s']:.1f} | | | {row['load']:.1f} | failed: {row['error']} |")
                continue
            result = "the needle op alone" if row["needle_only"] else f"{row['result_bytes']} bytes, not the needle alone"
            print(f"| {number} | {row['lines']:,} | {row['tests']} | {row['wall_s']:.1f} | {row['wall_s'] / base:.1f} | "
                  f"{row['peak_mb']:.0f} | {row['load']:.1f} | {result} |")

    ok = all("error" not in row and row["needle_only"] for rows in rounds for row in rows)
    if ok:
        ratios = statistics.median(rows[-1]["wall_s"] / rows[0]["wall_s"] for rows in rounds)
        peak = statistics.median(rows[-1]["peak_mb"] for rows in rounds)
        time_ok, memory_ok = ratios <= TIME_BOUND, peak <= MEMORY_BOUND_MB
        print(f"\n{rounds[0][-1]['lines']:,} lines against {rounds[0][0]['lines']:,} (median of {len(rounds)} round(s)): "
              f"time {ratios:.1f}x (bound {TIME_BOUND:g}x: {'pass' if time_ok else 'FAIL'}), "
              f"peak {peak:.0f} MB (bound {MEMORY_BOUND_MB:g} MB: {'pass' if memory_ok else 'FAIL'})")
        ok = time_ok and memory_ok
    else:
        print("\nFAIL: a run failed or did not end at the needle alone")
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"scale-{stamp}.json").write_text(json.dumps(
        {"jobs": args.jobs, "uptime": uptime,
         "rounds": [[{k: v for k, v in row.items() if k != "result"} for row in rows] for rows in rounds]}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
