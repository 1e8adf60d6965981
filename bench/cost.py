"""carts-reduce's own cost, apart from the tests it runs.

    .venv/bin/python bench/cost.py [--lines 50000] [--test-ms 50] [--time-limit 120] [--jobs 1]

1. Parse and print a ~50,000-line MLIR module with carts-reduce's lossless
   parser (the real-crashes mlir22 kernels, copied with renamed symbols until
   the module is that long); the print must give the text back byte for byte.
2. Reduce that case's input with a predicate that takes ``--test-ms`` per test
   (a sleep, then a grep for the reproducer's two key ops) and report how much
   of the run was spent outside tests, from carts-reduce's per-test JSON log
   and from the counting wrapper.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as case_defs  # noqa: E402
import peers  # noqa: E402

KERNELS = case_defs.DATA / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global" / "input.mlir"

_SLOW_PREDICATE = """#!/bin/bash
# {ms} ms of "work", then interesting iff the empty constant global and an affine.load survive.
f=${{1:-input.mlir}}
sleep {seconds}
grep -q 'memref.global "private" constant @__constant_0xi8' "$f" && grep -q 'affine.load' "$f"
"""


def big_module(lines: int) -> str:
    """The kernels module, its functions copied with renamed symbols until it has `lines` lines."""
    text = KERNELS.read_text()
    head, _, rest = text.partition("module {\n")
    body, _, _ = rest.rpartition("}")
    copies, out = 0, [head, "module {\n"]
    total = head.count("\n") + 2
    while total < lines:
        out.append(re.sub(r"@([\w$.]+)", lambda m: f"@{m.group(1)}_c{copies}", body))
        total += body.count("\n")
        copies += 1
    out.append("}\n")
    return "".join(out)


def parse_print(lines: int) -> dict:
    from carts_reduce.formats.mlir import parse

    text = big_module(lines)
    best_parse = best_print = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        module = parse(text)
        parsed = time.perf_counter()
        printed = module.print()
        done = time.perf_counter()
        best_parse = min(best_parse, parsed - started)
        best_print = min(best_print, done - parsed)
        assert printed == text, "print does not give the text back"
    return {"lines": text.count("\n"), "ops": module.op_count(), "parse_s": round(best_parse, 3),
            "print_s": round(best_print, 3), "total_s": round(best_parse + best_print, 3)}


def overhead(test_ms: float, time_limit: float, jobs: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="carts-reduce-cost-"))
    script = work / "slow-predicate.sh"
    script.write_text(_SLOW_PREDICATE.format(ms=test_ms, seconds=test_ms / 1000))
    script.chmod(0o755)
    run = peers.run_tool("carts-reduce", KERNELS, script, work / "run", jobs=jobs, time_limit=time_limit,
                         kind="mlir")
    if not run.available:
        return {"error": run.note}
    log = work / "run" / "carts-reduce.log.jsonl"
    durations = []
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "test" and "duration" in entry:
                durations.append(float(entry["duration"]))
    wall = run.wall_seconds
    in_tests = sum(durations) / max(1, jobs)
    calls = run.invocations
    spans = sorted((c.start, c.end or c.start) for c in calls)
    busy, reach = 0.0, None
    for start, end in spans:
        if reach is None or start > reach:
            busy, reach = busy + end - start, end
        elif end > reach:
            busy, reach = busy + end - reach, end
    return {
        "wall_s": wall, "tests": run.tests, "logged_tests": len(durations), "capped": run.capped,
        "note": run.note,
        "outside_tests_share_log": round(1 - in_tests / wall, 4) if wall and durations else None,
        "outside_tests_share_wrapper": round(1 - busy / wall, 4) if wall and calls else None,
        "output": run.output, "workdir": str(work),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--test-ms", type=float, default=50.0)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args(argv)
    try:
        speed = parse_print(args.lines)
        print(f"parse+print {speed['lines']:,} lines ({speed['ops']:,} ops): parse {speed['parse_s']} s, "
              f"print {speed['print_s']} s, total {speed['total_s']} s (target < 2 s)")
    except ImportError as error:
        print(f"parse+print: not available ({error})")
    if not args.skip_overhead:
        cost = overhead(args.test_ms, args.time_limit, args.jobs)
        if "error" in cost:
            print(f"overhead: {cost['error']}")
        else:
            share_log, share_wrap = cost["outside_tests_share_log"], cost["outside_tests_share_wrapper"]
            print(f"overhead with {args.test_ms:.0f} ms tests, --jobs {args.jobs}: {cost['tests']} tests in "
                  f"{cost['wall_s']} s; outside tests: "
                  f"{'-' if share_log is None else f'{100 * share_log:.1f}%'} (its JSON log), "
                  f"{'-' if share_wrap is None else f'{100 * share_wrap:.1f}%'} (counting wrapper, incl. shell start-up)"
                  f" (target < 5%){'; ' + cost['note'] if cost['note'] else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
