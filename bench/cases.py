"""The benchmark cases: an input, the interestingness script every tool shares, and how to judge candidates.

Groups:
- ``real``: the three real upstream crashes of ../shared/data/real-crashes,
  each with its own ``interesting.sh`` (exact signal and stack frames);
- ``standin``: CARTS inputs with 3+-level nested memrefs, on which the
  stand-in ``carts run --canonicalize-memrefs`` dies with SIGABRT in
  ``CanonicalizeMemrefsPass::runOnOperation``;
- ``transformer``: the llama2 transformer module that upstream mlir-opt 22
  reads, under a real, deterministic crash of that mlir-opt (see
  scripts/transformer-async-to-async-runtime.sh for why this one);
- ``c``: the llama2 transformer C source through the stand-in front end and
  stage (enabled once tests/standin/cgeist_standin.py exists);
- ``parser``: a real crash inside mlir-opt 19's own parser, planted in the
  mlir22 kernels (tests/parser_crash_case.py builds it from the shared data).

Scripts follow C-Vise's convention (exit 0 = interesting, candidate in $1, or
the input's own name in the current directory when called with no argument).
"""

from __future__ import annotations

import functools
import hashlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DATA = ROOT.parent / "shared" / "data"
STANDIN = ROOT / "tests" / "standin"
CARTS_STANDIN = STANDIN / "carts"
MLIR_OPT_22 = "/usr/lib/llvm-22/bin/mlir-opt"
CLANG_19 = "/usr/lib/llvm-19/bin/clang"

_STANDIN_SCRIPT = """#!/bin/bash
# Interesting iff the stand-in `carts run FILE --canonicalize-memrefs` dies with
# SIGABRT (exit 134) and its stack dump passes through CanonicalizeMemrefsPass::runOnOperation.
f=${{1:-{name}}}
CARTS=${{CARTS:-{carts}}}
out=$(timeout 60 "$CARTS" run "$f" --canonicalize-memrefs 2>&1 >/dev/null)
[ $? -eq 134 ] || exit 1
grep -qF -- 'CanonicalizeMemrefsPass::runOnOperation' <<<"$out" || exit 1
exit 0
"""

_STANDIN_C_SCRIPT = """#!/bin/bash
# Interesting iff the C still goes through the stand-in `carts cgeist` and the
# stand-in `carts run --canonicalize-memrefs` then dies with SIGABRT (exit 134)
# in CanonicalizeMemrefsPass::runOnOperation. A front-end failure is not interesting.
f=${{1:-{name}}}
CARTS=${{CARTS:-{carts}}}
mlir=$(mktemp --suffix=.mlir)
trap 'rm -f "$mlir"' EXIT
timeout 60 "$CARTS" cgeist "$f" -DMINI_DATASET -O0 -S -fopenmp --raise-scf-to-affine >"$mlir" 2>/dev/null || exit 1
out=$(timeout 60 "$CARTS" run "$mlir" --canonicalize-memrefs 2>&1 >/dev/null)
[ $? -eq 134 ] || exit 1
grep -qF -- 'CanonicalizeMemrefsPass::runOnOperation' <<<"$out" || exit 1
exit 0
"""


@dataclass
class OriginalCheck:
    interesting: bool
    detail: str  # what was seen, for --list and for a skipped case
    seconds: float | None = None  # one run of the script on the original


@dataclass
class Case:
    name: str
    group: str
    kind: str  # "mlir" or "c"
    input: Path
    reference: Path | None = None
    script_source: Path | None = None  # an existing script, used as is
    script_template: str | None = None  # else a script written from this template
    # How "the candidate parses" is judged: mlir-opt, standin (the stand-in's parser), clang, gcc
    # (with the stand-in front end's include dir, the check it makes before emitting MLIR).
    parse_check: str = "mlir-opt"
    needs: tuple[Path, ...] = ()  # files that must exist for the case to run
    depends: tuple[Path, ...] = field(default=())  # files whose content is part of the case's identity
    test_timeout: float = 60.0
    carts_args: tuple[str, ...] = ()  # extra options for carts-reduce only (never its predicate)

    def missing(self) -> str | None:
        for path in (self.input, *self.needs):
            if not path.exists():
                return f"missing {path}"
        if self.script_source is not None and not self.script_source.exists():
            return f"missing {self.script_source}"
        return None

    def script_text(self) -> str:
        if self.script_source is not None:
            return self.script_source.read_text()
        assert self.script_template is not None
        return self.script_template.format(name=self.input.name, carts=shlex.quote(str(CARTS_STANDIN)))

    def write_script(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "interesting.sh"
        path.write_text(self.script_text())
        path.chmod(0o755)
        return path

    def check_original(self) -> OriginalCheck:
        """Run the case's script once on its own input, the way the reducers call it.

        No argument, a copy of the input in the current directory. A case whose
        original is not interesting would only measure how fast each tool gives up.
        """
        missing = self.missing()
        if missing:
            return OriginalCheck(False, missing)
        with tempfile.TemporaryDirectory(prefix="carts-reduce-bench-check-") as tmp:
            work = Path(tmp)
            script = self.write_script(work / "script")
            shutil.copyfile(self.input, work / self.input.name)
            started = time.monotonic()
            try:
                proc = subprocess.run([str(script)], cwd=work, capture_output=True, timeout=self.test_timeout,
                                      check=False)
            except subprocess.TimeoutExpired:
                return OriginalCheck(False, f"its script timed out on the original ({self.test_timeout:.0f} s)")
            seconds = round(time.monotonic() - started, 2)
        if proc.returncode != 0:
            return OriginalCheck(False, f"its script finds the original not interesting (exit {proc.returncode})")
        return OriginalCheck(True, f"interesting on the original ({seconds:.2f} s)", seconds)

    def fingerprint(self) -> str:
        """Changes whenever the input, the script or anything the script runs changes."""
        digest = hashlib.sha256()
        digest.update(self.input.read_bytes())
        digest.update(self.script_text().encode())
        for path in self.depends:
            if path.exists():
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


def _real(name: str, kind: str) -> Case:
    folder = DATA / "real-crashes" / name
    suffix = ".c" if kind == "c" else ".mlir"
    return Case(
        name=name, group="real", kind=kind,
        input=folder / f"input{suffix}", reference=folder / f"reference{suffix}",
        script_source=folder / "interesting.sh",
        parse_check="clang" if kind == "c" else "mlir-opt",
        test_timeout=60.0,
        # gcc rejects clang's preprocessed glibc headers (`typedef float _Float32`): no gcc precheck here.
        carts_args=("--no-precheck",) if kind == "c" else (),
    )


def _parser_crash() -> Case:
    """Built from the shared data into bench/results/ (git-ignored) on first use."""
    sys.path.insert(0, str(ROOT / "tests"))
    import parser_crash_case

    folder = BENCH / "results" / "cases" / "parser-crash"
    source = folder / "input.mlir"
    if (DATA / parser_crash_case.KERNELS).exists():
        text = parser_crash_case.input_text(DATA)
        if not source.exists() or source.read_text() != text:
            folder.mkdir(parents=True, exist_ok=True)
            source.write_text(text)
    return Case(
        name="mlir19-parser-forall-terminator", group="parser", kind="mlir",
        input=source, script_source=parser_crash_case.SCRIPT, parse_check="mlir-opt",
        needs=(parser_crash_case.MLIR_OPT_19,),
    )


def _standin(stem: str) -> Case:
    return Case(
        name=f"standin-{stem.split('__')[0]}", group="standin", kind="mlir",
        input=DATA / "mlir-carts" / f"{stem}.mlir",
        script_template=_STANDIN_SCRIPT, parse_check="standin",
        needs=(CARTS_STANDIN,), depends=(STANDIN / "carts_standin.py",),
    )


CASES: list[Case] = [
    _real("mlir22-canonicalize-affine-load-empty-global", "mlir"),
    _real("mlir19-int-range-ceildivui-sigfpe", "mlir"),
    _real("clang19-omp-target-teams-simd-globalvar", "c"),
    _standin("rhs4sg_base__57d19f26"),
    _standin("specfem3d_stress_openmp_to_arts__fedc3c75"),
    _standin("batchnorm__7161309f"),
    Case(
        name="transformer-mlir22-async-to-async-runtime", group="transformer", kind="mlir",
        input=DATA / "llama2-transformer" / "transformer-2025-11.mlir22.mlir",
        script_source=BENCH / "scripts" / "transformer-async-to-async-runtime.sh",
        parse_check="mlir-opt",
    ),
    Case(
        name="standin-transformer-c", group="c", kind="c",
        input=DATA / "llama2-transformer" / "transformer.c",
        script_template=_STANDIN_C_SCRIPT, parse_check="gcc",
        needs=(CARTS_STANDIN, STANDIN / "cgeist_standin.py"),
        depends=(STANDIN / "carts_standin.py", STANDIN / "cgeist_standin.py"),
        test_timeout=120.0,
    ),
    _parser_crash(),
]


# --quick: the stand-in MLIR cases and the upstream mlir-opt 22 transformer case, where the
# peers' rows are the ones still to measure in one run (~25 min at 150 s caps, 3 tools).
QUICK_GROUPS = ("standin", "transformer")


def by_name() -> dict[str, Case]:
    return {case.name: case for case in CASES}


def select(names: list[str] | None) -> list[Case]:
    """Cases by name, by group name, or all of them."""
    if not names:
        return list(CASES)
    chosen: list[Case] = []
    for name in names:
        matches = [c for c in CASES if c.name == name or c.group == name]
        matches = matches or [c for c in CASES if c.name.startswith(name)]
        if not matches:
            raise SystemExit(f"unknown case {name!r}: use one of {', '.join(c.name for c in CASES)}")
        chosen += [c for c in matches if c not in chosen]
    return chosen


@functools.cache
def standin_include_dir() -> str:
    """Where the stand-in front end keeps the CARTS benchmark header the C inputs include."""
    proc = subprocess.run([str(CARTS_STANDIN), "cgeist", "--print-include-dir"], capture_output=True, text=True)
    return proc.stdout.strip()


def parses(check: str, path: Path, timeout: float = 60.0) -> bool:
    """Whether one stored candidate gets past the parser its case cares about."""
    if check == "mlir-opt":
        argv = [MLIR_OPT_22, "--allow-unregistered-dialect", "--mlir-very-unsafe-disable-verifier-on-parsing",
                str(path), "-o", "/dev/null"]
    elif check == "clang":
        argv = [CLANG_19, "-fsyntax-only", "-w", "-fopenmp-simd", "-x", "c", str(path)]
    elif check == "gcc":
        argv = ["gcc", "-fsyntax-only", "-w", "-fopenmp", "-DMINI_DATASET", f"-I{standin_include_dir()}",
                "-x", "c", str(path)]
    elif check == "standin":
        argv = [str(CARTS_STANDIN), "run", str(path), "--canonicalize-memrefs"]
    else:
        raise ValueError(f"unknown parse check {check}")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, errors="replace")
    except subprocess.TimeoutExpired:
        return False
    if check == "standin":
        return "Could not parse input file" not in proc.stderr
    return proc.returncode == 0
