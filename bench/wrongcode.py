"""Wrong-code reduction with and without the UB guard.

    .venv/bin/python bench/wrongcode.py [--jobs 2] [--timeout 10] [--only standin,gcc-pair]

Each program is reduced twice with ``--predicate output-mismatch``: guarded
(the default: UB-prone warnings as errors in every test, ASan+UBSan, MSan
and TSan builds where the outputs differ) and with ``--no-ub-guard``. One row
per run: sizes before and after (C tokens, non-whitespace characters), tests,
wall time, the guards' share of the time tests ran, the guards that ran,
and whether the result has undefined behaviour, found by the same checks:
a fresh guard surveys the result as it surveys an original (each warning
the result raises, each sanitizer it fails).

Every row is one run of the ``carts-reduce`` command line; its record
(``OUTPUT.json``) gives tests, time, sizes and guards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARTS = ROOT / "tests" / "standin" / "carts"
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402

import interestingness  # noqa: E402
from carts_reduce.run.tool import Tool  # noqa: E402
from carts_reduce.search.driver import NotInteresting, Reducer, Settings  # noqa: E402
from interestingness.ubguard import UbFree  # noqa: E402

GCC_PAIR = {
    "reference_command": "gcc -fopenmp -O0 {input} -o ref -lm && ./ref",
    "candidate_command": "gcc -fopenmp -O0 -DARTS {input} -o arts -lm && ./arts",
}
#: name -> (example, the options on the command line, the same as predicate options)
CASES = {
    "standin": ("jacobi_residual.c", ["--carts", str(CARTS)], {}),
    "gcc-pair": (
        "layer_stats.c",
        ["--reference-command", GCC_PAIR["reference_command"], "--candidate-command", GCC_PAIR["candidate_command"],
         "--opt", "mismatch_ignore=^time:"],
        {**GCC_PAIR, "extra": {"mismatch_ignore": "^time:"}},
    ),
}


def reduce(source: Path, folder: Path, args: list[str]) -> tuple[dict, Path]:
    """Run carts-reduce on a copy of ``source``; its record and result."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / source.name
    copy.write_bytes(source.read_bytes())
    result = subprocess.run([sys.executable, "-m", "carts_reduce", copy.name, *args, "-q"],
                            capture_output=True, text=True, cwd=folder, env={**os.environ, "COLUMNS": "200"})
    if result.returncode != 0:
        raise RuntimeError(f"{source.name}: {result.stderr.strip()[-400:]}")
    reduced = folder / Path(result.stdout.strip()).name
    return json.loads(reduced.with_name(reduced.name + ".json").read_text()), reduced


def ub_found(text: str, options: dict, timeout: float) -> str:
    """What the guard's checks find in ``text``: each warning raised and each sanitizer failed, or 'none'."""
    tool = Tool(input_name="prog.c", command="true", format="c", carts=str(CARTS))
    predicate = interestingness.build(["output-mismatch"], options, ub_guard=True)
    reducer = Reducer(text, tool, predicate, [], Settings(jobs=2, timeout=timeout))
    try:
        anyio.run(reducer.check_original)
    except NotInteresting as error:
        return f"(no longer judged: {str(error)[:80]})"
    finally:
        reducer.close()
    guard = next(leaf for leaf in predicate.leaves() if isinstance(leaf, UbFree))
    found, unbuilt = [], []
    for line in guard.guards():
        tolerated = re.search(r"the original's own (.*) tolerated", line)
        if tolerated:
            found.append(f"{line.split(' (')[1].split(':')[0]} {tolerated.group(1)}")
        failed = re.match(r"([\w+]+): not checked: the original itself fails it: (.*)", line)
        if failed:
            found.append(f"{failed.group(1)}: {failed.group(2)[:90]}")
        unbuilt += re.findall(r"^([\w+]+): not checked: cannot build here", line)
    if unbuilt:  # an error, not a warning, for the sanitizers' compiler (clang: implicit int, ...)
        found.append(f"{guard.cc.name} cannot build it for {', '.join(unbuilt)}")
    return "; ".join(dict.fromkeys(found)) or "none"


def guards_ran(record: dict) -> str:
    """The checks that guarded every verdict, by short name."""
    ran = []
    for line in record.get("guards") or []:
        if "not checked" in line:
            continue
        warned = re.match(r"warnings as errors \(([\w.+-]+):", line)
        ran.append(f"-Werror ({warned.group(1)})" if warned else line.split(":")[0])
    return ", ".join(ran) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="per step (given, so load decides nothing)")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="wrongcode-bench-"))
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs",
          flush=True)
    header = ["program", "guard", "original tok / ch", "result tok / ch", "tests", "wall s", "guard share",
              "guards that ran", "UB in the result (same checks)"]
    rows = []
    for name in args.only.split(","):
        example, options, predicate_options = CASES[name]
        source = ROOT / "examples" / example
        for guarded in (True, False):
            flags = [*options, "--predicate", "output-mismatch", "--timeout", str(args.timeout), "-j", str(args.jobs)]
            if not guarded:
                flags.append("--no-ub-guard")
            started = time.monotonic()
            record, result = reduce(source, scratch / f"{name}-{'guarded' if guarded else 'unguarded'}", flags)
            seconds = time.monotonic() - started
            before, after = record["sizes_before"], record["sizes_after"]
            share = record.get("guard_seconds", 0) / (sum(record.get("step_seconds", {}).values()) or 1)
            ub = ub_found(result.read_text(), predicate_options, args.timeout)
            rows.append([
                f"{example} ({before['lines']} lines)", "on" if guarded else "off",
                f"{before['tokens']} / {before['chars']}", f"{after['tokens']} / {after['chars']}",
                str(record["tests_run"]), f"{seconds:.0f}", f"{100 * share:.0f}%" if guarded else "-",
                guards_ran(record), ub,
            ])
            print(" | ".join(rows[-1]), flush=True)
    print(f"\nload average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}; results in {scratch}\n")
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")


if __name__ == "__main__":
    main()
