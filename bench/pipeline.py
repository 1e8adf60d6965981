"""The pipeline layer's figures: culprit search, stage input against source, pass lists.

    .venv/bin/python bench/pipeline.py [--jobs 2] [--only culprit,cut,passes]

1. **culprit**: ``carts-reduce INPUT`` with no ``--pass`` on stand-in inputs
   that fail in different stages; the pipeline runs the search took, against
   its bound (1 + ceil(log2(stages))) and against walking the stages in order.
2. **cut**: a C benchmark that fails only in ``concurrency``, reduced as the
   module entering the stage (``--from stage-input``, the default) and as C
   through the whole pipeline (``--from source``). Sizes are compared where
   both are the same thing: the module entering ``concurrency`` (for the C
   result, the stand-in's ``carts compile RESULT.c --pipeline=edt-opt``).
3. **passes**: the real mlir-opt 22 ``--canonicalize`` crash under a 12-pass
   list, against the same reduction with ``--canonicalize`` alone.

Every row is one run of the ``carts-reduce`` command line; its record
(``OUTPUT.json``) gives tests, time and sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CARTS = ROOT / "tests" / "standin" / "carts"
MLIR_OPT = "/usr/lib/llvm-22/bin/mlir-opt"
BENCHMARKS = DATA / "c-carts-benchmarks"
STAGES = 14  # the stand-in's stop points, "complete" included

sys.path.insert(0, str(ROOT))
from carts_reduce.formats.mlir import count_ops  # noqa: E402

CULPRIT_CASES = [
    ("alloc3d.mlir (example)", ROOT / "examples" / "alloc3d.mlir"),
    ("transformer.c", DATA / "llama2-transformer" / "transformer.c"),
    ("jacobi2d.c", BENCHMARKS / "polybench__jacobi2d__jacobi2d.c"),
    ("jacobi-for.c", BENCHMARKS / "kastors-jacobi__jacobi-for__jacobi-for.c"),
    ("stream.c", BENCHMARKS / "stream__stream.c"),
]
CUT_CASES = [
    ("jacobi2d.c", BENCHMARKS / "polybench__jacobi2d__jacobi2d.c"),
    ("jacobi-for.c", BENCHMARKS / "kastors-jacobi__jacobi-for__jacobi-for.c"),
]
LONG_LIST = ("--symbol-privatize --cse --loop-invariant-code-motion --affine-loop-normalize "
             "--affine-simplify-structures --mem2reg --sroa --control-flow-sink --canonicalize "
             "--loop-invariant-subset-hoisting --symbol-dce --cse")
MLIR22 = DATA / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global" / "input.mlir"


def reduce(source: Path, folder: Path, *args: str, output: str | None = None) -> tuple[dict, float, str]:
    """Run carts-reduce on a copy of ``source``; (record, seconds, stderr)."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / source.name
    copy.write_bytes(source.read_bytes())
    extra = ["-o", str(folder / output)] if output else []
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "carts_reduce", str(copy), *args, *extra, "-q"],
        capture_output=True, text=True, cwd=folder,
        env={**os.environ, "LLVM_DISABLE_SYMBOLIZATION": "1", "COLUMNS": "200"},
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"{source.name}: {result.stderr.strip()[-400:]}")
    reduced = Path(result.stdout.strip())
    return json.loads(reduced.with_name(reduced.name + ".json").read_text()), seconds, result.stderr


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")


def culprit(jobs: int, scratch: Path) -> None:
    rows = []
    bound = 1 + math.ceil(math.log2(STAGES))
    order = [line.split()[1] for line in subprocess.run([str(CARTS), "pipeline"], capture_output=True, text=True,
                                                         check=True).stdout.splitlines()] + ["complete"]
    for name, source in CULPRIT_CASES:
        args = ["--carts", str(CARTS), "-j", str(jobs), "--max-time", "1", "--verify", "0", f"-I{BENCHMARKS}"]
        record, seconds, _ = reduce(source, scratch / "culprit" / name, *args)
        found = record["pipeline"]["culprit"]
        rows.append([name, found["stage"], str(found["runs"]), str(bound), str(order.index(found["stage"]) + 1)])
    table("Culprit search (stand-in, 14 stop points)",
          ["input", "fails in stage", "pipeline runs", "bound 1+ceil(log2 14)", "runs in stage order"], rows)


def cut(jobs: int, scratch: Path) -> None:
    rows = []
    for name, source in CUT_CASES:
        common = ["--carts", str(CARTS), "-j", str(jobs), f"-I{BENCHMARKS}"]
        staged, staged_s, _ = reduce(source, scratch / "cut" / name, *common, output="staged.mlir")
        whole, whole_s, _ = reduce(source, scratch / "cut" / name, *common, "--from", "source", output="whole.c")
        entering = subprocess.run([str(CARTS), "compile", str(scratch / "cut" / name / "whole.c"), "--pipeline=edt-opt"],
                                  capture_output=True, text=True)
        whole_ops = count_ops(entering.stdout) if entering.returncode == 0 else None
        before = staged["sizes_before"]
        rows.append([name, "stage-input", f"{before['ops']} ops", f"{staged['sizes_after']['ops']} ops",
                     f"{staged['sizes_after']['bytes']} B", str(staged["tests_run"]), f"{staged_s:.1f}"])
        rows.append([name, "source", f"{whole['sizes_before']['tokens']} tokens",
                     f"{whole['sizes_after']['tokens']} tokens, {whole_ops} ops entering",
                     f"{whole['sizes_after']['bytes']} B", str(whole["tests_run"]), f"{whole_s:.1f}"])
    table("Reduced as the module entering concurrency, or as C through the whole pipeline",
          ["input", "--from", "before", "after", "bytes after", "tests", "wall s"], rows)


def passes(jobs: int, scratch: Path) -> None:
    rows = []
    listed, listed_s, _ = reduce(MLIR22, scratch / "passes", "--command", f"{MLIR_OPT} {{input}} {{passes}} -o /dev/null",
                                 "--passes", LONG_LIST, "-j", str(jobs), output="listed.mlir")
    single, single_s, _ = reduce(MLIR22, scratch / "passes", "--command", f"{MLIR_OPT} {{input}} --canonicalize -o /dev/null",
                                 "-j", str(jobs), output="single.mlir")
    for label, record, seconds in (("12 passes, list reduced", listed, listed_s), ("--canonicalize alone", single, single_s)):
        kept = (record.get("pipeline") or {}).get("passes", ["--canonicalize"])
        pass_tests = (record.get("pipeline") or {}).get("pass_tests", 0)
        rows.append([label, " ".join(kept), f"{record['sizes_after']['ops']} ops, {record['sizes_after']['bytes']} B",
                     str(record["tests_run"]), str(pass_tests), f"{seconds:.1f}"])
    table("mlir-opt 22 --canonicalize crash (real-crashes, 893 ops)",
          ["run", "passes kept", "result", "tests", "of them on the pass list", "wall s"], rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="culprit,cut,passes")
    options = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="carts-reduce-pipeline-bench-") as scratch:
        for part in options.only.split(","):
            {"culprit": culprit, "cut": cut, "passes": passes}[part](options.jobs, Path(scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
