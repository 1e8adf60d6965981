"""carts-reduce's own cost, apart from the tests it runs.

    .venv/bin/python bench/cost.py [--lines 50000] [--test-ms 50] [--jobs 1] [--skip-overhead]

1. Parse and print a ~50,000-line MLIR module with carts-reduce's lossless
   parser (the real-crashes mlir22 kernels, copied with renamed symbols until
   the module is that long); the print must give the text back byte for byte.
2. Reduce two inputs with a predicate that takes ``--test-ms`` per test (a
   sleep, then a grep for what must stay) and report how much of the run was
   spent outside tests, from carts-reduce's per-test JSON log: over the whole
   run (Python start-up and shutdown included) and between the first and the
   last test (the part that grows with the number of tests).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as case_defs  # noqa: E402
import peers  # noqa: E402

KERNELS = case_defs.DATA / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global" / "input.mlir"

#: Reductions timed with a predicate that takes ``--test-ms`` per test: (name, input, what must stay).
#: The first is short (start-up weighs on it); the second keeps a dozen ops, so ddmin runs longer.
OVERHEAD_CASES = [
    ("mlir22 kernels", KERNELS,
     "grep -q 'memref.global \"private\" constant @__constant_0xi8' \"$f\" && grep -q 'affine.load' \"$f\""),
    ("rhs4sg_base", case_defs.DATA / "mlir-carts" / "rhs4sg_base__57d19f26.mlir",
     "grep -q 'memref<?xmemref<?xmemref<?xmemref<?xf32>>>>' \"$f\" && [ \"$(grep -c affine.load \"$f\")\" -ge 12 ]"),
]

_SLOW_PREDICATE = """#!/bin/bash
# {ms} ms of "work", then a grep for what must stay.
f=${{1:-input.mlir}}
sleep {seconds}
{check}
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


def overhead(name: str, input_path: Path, check: str, test_ms: float, jobs: int) -> dict:
    """Reduce ``input_path`` with a ``test_ms`` predicate; how much of the time no test ran.

    The tests' own durations come from carts-reduce's JSON log (each from the
    start of its process to its exit). *Whole run* counts everything from
    launching carts-reduce to its exit, Python start-up and shutdown included;
    *between tests* only the span from the first test's start to the last
    one's end, the part that grows with the number of tests.
    """
    work = Path(tempfile.mkdtemp(prefix="carts-reduce-cost-"))
    script = work / "slow-predicate.sh"
    script.write_text(_SLOW_PREDICATE.format(ms=test_ms, seconds=test_ms / 1000, check=check))
    script.chmod(0o755)
    target = work / input_path.name
    target.write_bytes(input_path.read_bytes())
    log = work / "log.jsonl"
    argv = [str(peers.CARTS_REDUCE), str(target), "--script", str(script), "--jobs", str(jobs),
            "-o", str(work / ("reduced" + input_path.suffix)), "--json-log", str(log), "--quiet"]
    started = time.monotonic()
    run = subprocess.run(argv, cwd=work, capture_output=True, text=True)
    wall = time.monotonic() - started
    if run.returncode != 0:
        return {"case": name, "error": (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]}
    spans = []
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("event") == "test":
            spans.append((entry["time"] - entry["duration"], entry["time"]))
    in_tests = sum(end - start for start, end in spans) / jobs
    first, last = min(start for start, _ in spans), max(end for _, end in spans)
    return {
        "case": name, "tests": len(spans), "wall_s": round(wall, 2),
        "whole_run": 1 - in_tests / wall,
        "between_tests": 1 - in_tests / (last - first),
        "per_test_ms": 1000 * ((last - first) - in_tests) / len(spans),
        "fixed_s": wall - (last - first),
    }


def signature_cost() -> dict:
    """Reading the failure signature of a ~100 KB stderr (a CARTS pass dumps the whole
    module, then the stack), against a plain scan of the same text."""
    from carts_reduce.run.outcome import Outcome, StepResult
    from carts_reduce.signature import Signature

    line = "    %{0} = memref.load %arg0[%c{0}] : memref<?xmemref<?xf32>>  // 0x{0:x}\n"
    stack = (Path(__file__).resolve().parents[1] / "tests" / "data" / "signature"
             / "mlir22-canonicalize.unsymbolized.stderr").read_text()
    stderr = "".join(line.format(i) for i in range(1500)) + stack
    outcome = Outcome((StepResult("stage", ("carts",), None, 11, False, 0.0, "", stderr),))

    def best_of(function, repeat: int = 20) -> float:
        runs = []
        for _ in range(7):
            started = time.perf_counter()
            for _ in range(repeat):
                function()
            runs.append((time.perf_counter() - started) / repeat)
        return min(runs)

    seconds = best_of(lambda: Signature.from_outcome(outcome))
    scan = best_of(lambda: stderr.find("\0never"))
    return {"kb": len(stderr) // 1024, "ms": round(1e3 * seconds, 2), "scans": round(seconds / scan, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--test-ms", type=float, default=50.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args(argv)
    try:
        speed = parse_print(args.lines)
        print(f"parse+print {speed['lines']:,} lines ({speed['ops']:,} ops): parse {speed['parse_s']} s, "
              f"print {speed['print_s']} s, total {speed['total_s']} s (target < 2 s)")
    except ImportError as error:
        print(f"parse+print: not available ({error})")
    cost = signature_cost()
    print(f"failure signature of a {cost['kb']} KB stderr: {cost['ms']} ms ({cost['scans']} plain scans of it; "
          "target < 1 ms)")
    if not args.skip_overhead:
        print(f"\ntime outside tests, {args.test_ms:.0f} ms tests, --jobs {args.jobs} (target < 5% of the run)\n")
        print("| case | tests | wall s | outside tests, whole run | between first and last test | per test | start-up + shutdown |")
        print("|---|---|---|---|---|---|---|")
        for name, path, check in OVERHEAD_CASES:
            cost = overhead(name, path, check, args.test_ms, args.jobs)
            if "error" in cost:
                print(f"| {name} | | | {cost['error']} | | | |")
                continue
            print(f"| {name} | {cost['tests']} | {cost['wall_s']} | {100 * cost['whole_run']:.1f}% | "
                  f"{100 * cost['between_tests']:.1f}% | {cost['per_test_ms']:.1f} ms | {cost['fixed_s']:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
