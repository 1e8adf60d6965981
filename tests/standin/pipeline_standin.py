"""The stand-in's CARTS pipeline: stages, what they do to a module, and the newer driver's commands.

Real CARTS cannot be built here; this models what ../shared/CARTS.md says of
its pipeline, for tests only:

- the stages of ``carts run`` in order, each with the passes the newest
  driver lists for it in ``carts pipeline --json``;
- ``openmp-to-arts`` rewrites OpenMP worksharing loops into CARTS's form
  (``omp.parallel`` -> ``arts.edt <parallel>``, ``omp.wsloop`` +
  ``omp.loop_nest`` -> ``arts.for(...) {{ ^bb0(%iv: index): ... }}``), so the
  module entering a later stage differs from the one the front end printed;
- a second known bug, in the later stage ``concurrency``: it dies with
  SIGSEGV (no assertion, a release build's stack dump through
  ``ConcurrencyPass::runOnOperation``) on an ``arts.for`` whose
  ``arts.edt`` sits inside a sequential loop (``scf.for``, ``affine.for``,
  ``scf.while``) of the same function: a time-step loop around
  ``#pragma omp parallel for``, as PolyBench's jacobi-2d has. Started with
  ``--start-from concurrency`` on the front end's module it does not fail:
  the shape only exists after ``openmp-to-arts``.
- a third, of another kind: ``openmp-to-arts`` cannot convert an
  ``omp.task`` with a ``depend(...)`` clause (task dependencies would have to
  become ARTS events) and fails the way a CARTS pass reports an error: an
  ``[ERROR] [convert_openmp_to_arts] ...`` line, ``[ERROR] [carts-run] Error
  when converting OpenMP to ARTS``, the module dumped to stderr, exit 1 (no
  crash). ``CARTS_STANDIN_BUG=fixed`` turns it off with the others.

The newer driver's commands: ``carts pipeline --json``, ``carts compile FILE
--pipeline=STAGE [--start-from=STAGE] [-o OUT] [--arts-debug=CH,...]``,
``carts compile FILE.mlir --all-pipelines -o DIR``. ``CARTS_STANDIN_DRIVER``
models other generations: ``new`` (default), ``old`` (only ``carts run``: no
``pipeline``, no ``compile``, no ``--start-from``), ``malformed-manifest``
(``carts pipeline --json`` exits 0 with broken JSON).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

#: The stop points of the pipeline, in order (``complete`` is the whole of it).
SEQUENCE = (
    "canonicalize-memrefs", "collect-metadata", "initial-cleanup", "openmp-to-arts",
    "edt-transforms", "create-dbs", "db-opt", "edt-opt", "concurrency", "concurrency-opt",
    "epochs", "pre-lowering", "arts-to-llvm",
)
STAGES = (*SEQUENCE, "complete")
STEP_PASSES = {
    "canonicalize-memrefs": ["LowerAffine(func)", "CSE", "Inliner", "ArtsInliner", "CanonicalizeMemrefs",
                             "DeadCodeElimination", "CSE"],
    "collect-metadata": ["replaceAffineCFG(func)", "RaiseSCFToAffine(func)", "CSE(func)", "CollectMetadata"],
    "initial-cleanup": ["LowerAffine(func)", "CSE(func)", "PolygeistCanonicalizeFor(func)"],
    "openmp-to-arts": ["ConvertOpenMPToArts", "DeadCodeElimination", "CSE"],
    "edt-transforms": ["EdtStructuralOpt", "EdtICM", "DeadCodeElimination", "CSE"],
    "create-dbs": ["CreateDbs", "PolygeistCanonicalize", "CSE", "VerifyDbCreated"],
    "db-opt": ["DbModeTightening", "PolygeistCanonicalize", "CSE"],
    "edt-opt": ["PolygeistCanonicalize", "EdtStructuralOpt", "LoopFusion", "CSE"],
    "concurrency": ["PolygeistCanonicalize", "Concurrency", "ForOpt", "PolygeistCanonicalize"],
    "concurrency-opt": ["DbPartitioning", "DbTransforms", "PolygeistCanonicalize", "CSE"],
    "epochs": ["CreateEpochs", "EpochOpt", "PolygeistCanonicalize"],
    "pre-lowering": ["ParallelEdtLowering", "DbLowering", "EdtLowering", "EpochLowering", "VerifyPreLowered"],
    "arts-to-llvm": ["ConvertArtsToLLVM", "PolygeistCanonicalize", "CSE", "VerifyLowered"],
}
EPILOGUE_PASSES = {
    "post-o3-opt": ["PolygeistCanonicalize", "LICM", "CSE"],
    "llvm-ir-emission": ["ConvertPolygeistToLLVM", "LoopVectorizationHints"],
}
#: The ``[ERROR] [carts-run] Error when ...`` text of each stage.
STAGE_ERRORS = {
    "canonicalize-memrefs": "canonicalizing memrefs", "collect-metadata": "collecting metadata",
    "initial-cleanup": "cleaning up", "openmp-to-arts": "converting OpenMP to ARTS",
    "edt-transforms": "transforming EDTs", "create-dbs": "creating DBs", "db-opt": "optimizing DBs",
    "edt-opt": "optimizing EDTs", "concurrency": "analyzing concurrency",
    "concurrency-opt": "optimizing concurrency", "epochs": "creating epochs",
    "pre-lowering": "preparing the lowering", "arts-to-llvm": "converting ARTS to LLVM",
}


def driver() -> str:
    return os.environ.get("CARTS_STANDIN_DRIVER", "new")


def manifest() -> dict:
    """What ``carts pipeline --json`` prints (the real driver's keys)."""
    return {
        "pipeline": [*SEQUENCE, "complete"],
        "start_from": list(SEQUENCE),
        "pipeline_sequence": list(SEQUENCE),
        "pipeline_steps": [{"name": name, "passes": STEP_PASSES[name]} for name in SEQUENCE],
        "epilogue_steps": [{"name": name, "passes": passes} for name, passes in EPILOGUE_PASSES.items()],
    }


def pipeline_command(args: list[str]) -> int:
    if args and args[0] not in ("--json",) and not args[0].startswith("--pipeline"):
        print(f"carts pipeline: unknown option '{args[0]}'", file=sys.stderr)
        return 1
    if driver() == "malformed-manifest":
        text = json.dumps(manifest(), indent=2)
        sys.stdout.write(text[: len(text) // 2] + "\n")  # cut off mid-way, as a crashed printer leaves it
        return 0
    if "--json" in args:
        print(json.dumps(manifest(), indent=2))
        return 0
    for index, name in enumerate(SEQUENCE, 1):
        print(f"{index:>3}  {name}  ({len(STEP_PASSES[name])} passes)")
    return 0


# --------------------------------------------------------------------------
# What stages do to a module

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_OP_NAME = re.compile(r"^\s*(?:%[\w$.:#-]+\s*(?:,\s*%[\w$.:#-]+\s*)*=\s*)?\"?([A-Za-z_][\w$]*(?:\.[\w$]+)+)")
_LOOP_NEST = re.compile(
    r"^(\s*)omp\.loop_nest\s*\((%[\w$.-]+)\)\s*:\s*index\s*=\s*\((%[\w$.-]+)\)\s*to\s*\((%[\w$.-]+)\)"
    r"\s*(?:inclusive\s*)?step\s*\((%[\w$.-]+)\)\s*\{\s*$"
)
_SEQUENTIAL_LOOPS = frozenset({"scf.for", "affine.for", "scf.while"})
_FUNCTIONS = frozenset({"func.func", "llvm.func"})


def enclosing_ops(lines: list[str]) -> list[tuple[str, ...]]:
    """For each line, the ops whose regions enclose it, outermost first (by braces)."""
    stack: list[list] = []  # [op name, braces still open]: `arts.for(...) {{` opens two
    found = []

    def close(count: int) -> str:
        closed = ""
        while count > 0 and stack:
            stack[-1][1] -= 1
            count -= 1
            if stack[-1][1] == 0:
                closed = stack.pop()[0]
        return closed

    for line in lines:
        code = _STRING.sub('""', line).split("//", 1)[0].strip()
        found.append(tuple(name for name, _ in stack))
        closing = len(code) - len(code.lstrip("}"))
        reopened = close(closing)
        rest = code[closing:]
        opens = rest.count("{") - rest.count("}")
        if rest.endswith("{") and opens > 0:
            name = _OP_NAME.match(rest)
            stack.append([name.group(1) if name else (reopened or "?"), opens])
        elif opens < 0:
            close(-opens)
    return found


def openmp_to_arts(text: str) -> str:
    """``omp.parallel`` / ``omp.wsloop`` + ``omp.loop_nest`` in CARTS's ``arts`` form; other forms stay."""
    lines = text.splitlines()
    out: list[str] = []
    closers: list[tuple[int, str | None]] = []  # (depth after the region closes, replacement of its '}')
    drop_terminators: list[tuple[int, str]] = []  # (depth of the region's body, terminator to drop)
    depth = 0
    routes = 0

    def enter(closer: str | None, terminator: str | None) -> None:
        """A region opens whose ``}`` becomes ``closer`` (None: dropped) and whose ``terminator`` goes."""
        nonlocal depth
        closers.append((depth, closer))
        depth += 1
        if terminator:
            drop_terminators.append((depth, terminator))

    for index, line in enumerate(lines):
        code = _STRING.sub('""', line).split("//", 1)[0]
        stripped = code.strip()
        if stripped == "}" and closers and closers[-1][0] == depth - 1:
            _, replacement = closers.pop()
            depth -= 1
            if drop_terminators and drop_terminators[-1][0] == depth + 1:
                drop_terminators.pop()
            if replacement is not None:
                out.append(line.replace("}", replacement, 1))
            continue
        if drop_terminators and drop_terminators[-1][0] == depth and stripped == drop_terminators[-1][1]:
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if stripped == "omp.parallel {":
            route = f"%arts_route{routes}"
            routes += 1
            out.append(f"{indent}{route} = arith.constant -1 : i32")
            out.append(f"{indent}arts.edt <parallel> <internode> route({route}) {{")
            enter("}", "omp.terminator")
            continue
        nest = _LOOP_NEST.match(lines[index + 1]) if stripped == "omp.wsloop {" and index + 1 < len(lines) else None
        if nest is not None:
            enter(None, None)  # the wsloop's own braces go
            continue
        match = _LOOP_NEST.match(line)
        if match is not None and closers and closers[-1] == (depth - 1, None):
            space, iv, lower, upper, step = match.groups()
            out.append(f"{space}arts.for({lower}) to({upper}) step({step}) {{{{")
            out.append(f"{space}^bb0({iv}: index):")
            enter("}}", "omp.yield")
            continue
        depth += code.count("{") - code.count("}")
        out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def loops_around_parallel_loops(text: str) -> list[int]:
    """Line numbers (1-based) of ``arts.for`` ops whose ``arts.edt`` lies inside a sequential loop."""
    lines = text.splitlines()
    found = []
    for number, (line, around) in enumerate(zip(lines, enclosing_ops(lines)), 1):
        name = _OP_NAME.match(_STRING.sub('""', line))
        if name is None or name.group(1) != "arts.for":
            continue
        inner = list(around)
        for start in range(len(inner) - 1, -1, -1):
            if inner[start] in _FUNCTIONS:
                inner = inner[start + 1:]
                break
        if "arts.edt" in inner and any(op in _SEQUENTIAL_LOOPS for op in inner[: inner.index("arts.edt")]):
            found.append(number)
    return found


def tasks_with_dependencies(text: str) -> list[int]:
    """Line numbers (1-based) of ``omp.task`` ops with a ``depend(...)`` clause."""
    return [number for number, line in enumerate(text.splitlines(), 1)
            if re.match(r"\s*omp\.task\b[^{]*\bdepend\(", _STRING.sub('""', line))]


def refuse_task_dependencies(text: str, argv: list[str]) -> None:
    """openmp-to-arts's error on a task with dependencies: the pass's line, the driver's, the module."""
    tool = Path(argv[0]).name
    sys.stderr.write("[ERROR] [convert_openmp_to_arts] omp.task with depend clauses: "
                     "task dependencies cannot be converted to ARTS events\n")
    sys.stderr.write(f"[ERROR] [{tool}] Error when converting OpenMP to ARTS\n")
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


# --------------------------------------------------------------------------
# ``carts compile``


class Refused(Exception):
    """A command line the driver refuses: one message, exit 1."""


def _value(args: list[str], index: int, flag: str) -> tuple[str, int]:
    arg = args[index]
    if arg.startswith(flag + "="):
        return arg[len(flag) + 1:], index + 1
    if index + 1 >= len(args):
        raise Refused(f"Option '{flag}' requires a value")
    return args[index + 1], index + 2


def parse_compile(args: list[str]) -> dict:
    parsed = {"file": None, "pipeline": None, "start_from": None, "output": None, "all": False,
              "debug": [], "frontend": []}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--debug-only" or arg.startswith("--debug-only="):
            raise Refused("Unsupported option: --debug-only. Use --arts-debug.")
        if arg == "--pipeline" or arg.startswith("--pipeline="):
            parsed["pipeline"], index = _value(args, index, "--pipeline")
        elif arg == "--start-from" or arg.startswith("--start-from="):
            parsed["start_from"], index = _value(args, index, "--start-from")
        elif arg == "--arts-debug" or arg.startswith("--arts-debug="):
            channels, index = _value(args, index, "--arts-debug")
            parsed["debug"] = [c.strip() for c in channels.split(",") if c.strip()]
            if not parsed["debug"]:
                raise Refused("Invalid --arts-debug value. Use comma-separated channels, for example --arts-debug=info,debug.")
        elif arg == "-o":
            parsed["output"], index = _value(args, index, "-o")
        elif arg == "--all-pipelines":
            parsed["all"], index = True, index + 1
        elif arg.startswith(("-D", "-I", "-O", "-f", "-std")):
            parsed["frontend"].append(arg)
            index += 1
        elif arg.startswith("-"):
            raise Refused(f"Unknown command line argument '{arg}'.  Try: 'carts-compile --help'")
        elif parsed["file"] is None:
            parsed["file"], index = arg, index + 1
        else:
            raise Refused(f"Too many positional arguments: '{arg}'")
    if parsed["file"] is None:
        raise Refused("Not enough positional command line arguments specified!")
    for key, valid, what in (("pipeline", STAGES, "pipeline"), ("start_from", SEQUENCE, "start-from pipeline")):
        if parsed[key] is not None and parsed[key] not in valid:
            raise Refused(f"Unknown {what} step: '{parsed[key]}'; available: {', '.join(valid)}")
    stop, start = parsed["pipeline"], parsed["start_from"]
    if start is not None and stop not in (None, "complete") and STAGES.index(start) > STAGES.index(stop):
        raise Refused(f"--start-from={start} is later than --pipeline={stop}")
    if parsed["all"] and (stop or start):
        raise Refused("--all-pipelines cannot be combined with --pipeline or --start-from")
    if parsed["all"] and not parsed["output"]:
        raise Refused("--all-pipelines needs -o DIR")
    return parsed


def compile_command(args: list[str], run_stages) -> int:
    """``carts compile``; ``run_stages(path, text, start, stop, debug, argv)`` runs the pipeline."""
    try:
        parsed = parse_compile(args)
    except Refused as error:
        print(f"carts compile: error: {error}", file=sys.stderr)
        return 1
    path = parsed["file"]
    if not os.path.isfile(path):
        print(f"carts compile: error: Input file '{path}' not found", file=sys.stderr)
        return 1
    argv = ["/opt/carts/bin/carts-compile", *args]
    if path.endswith((".c", ".cpp")):
        if parsed["start_from"] or parsed["all"]:
            flag = "--start-from" if parsed["start_from"] else "--all-pipelines"
            print(f"carts compile: error: {flag} is only supported for .mlir input", file=sys.stderr)
            return 1
        if parsed["pipeline"] is None:
            print("carts compile: error: the stand-in builds no executables; give --pipeline STAGE", file=sys.stderr)
            return 1
        text = _front_end(path, parsed["frontend"])
        if text is None:
            return 1
    else:
        text = Path(path).read_text(errors="replace")
    if parsed["all"]:
        return _all_pipelines(path, Path(parsed["output"]), parsed["debug"])
    start = parsed["start_from"] or SEQUENCE[0]
    stop = parsed["pipeline"] or "complete"
    code, result = run_stages(path, text, start, stop, parsed["debug"], argv)
    if code == 0:
        if parsed["output"]:
            Path(parsed["output"]).write_text(result)
        else:
            sys.stdout.write(result)
    return code


def _front_end(path: str, flags: list[str]) -> str | None:
    import contextlib
    import io

    sys.path.insert(0, str(Path(__file__).parent))
    import cgeist_standin

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cgeist_standin.main([path, "-O0", "-S", "-fopenmp", "--raise-scf-to-affine", *flags])
    return printed.getvalue() if code == 0 else None


def _all_pipelines(path: str, folder: Path, debug: list[str]) -> int:
    """One file per stop point, ``DIR/STEM_STAGE.mlir``, and a line per step (PASS/FAIL)."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    for stage in STAGES:
        target = folder / f"{stem}_{stage}.mlir"
        # Each stop point is a run of its own, as the real driver does it.
        command = [sys.executable, str(Path(__file__).with_name("carts_standin.py")), "compile", path,
                   f"--pipeline={stage}", "-o", str(target)]
        if debug:
            command.append("--arts-debug=" + ",".join(debug))
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        print(f"{stage}: {'PASS' if result.returncode == 0 else 'FAIL'}")
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
    return 0
