"""Wrong-code reduction end to end, checked from outside the reducer.

Two real reductions, each run once per module:

- the stand-in's miscompile (a parallel-for reduction on a double accumulated
  in float) in an 88-line Jacobi benchmark, with nothing but ``--carts``: the
  default reference (``cc -fopenmp``) against ``carts execute``;
- a user's own pair, gcc with and without ``-DARTS``, on a 95-line program
  whose ARTS path sums a variance in float, with its timing line ignored.

Each result is checked here with the compilers and sanitizers themselves,
not through the guard: it still mismatches, compiles with the guard's
UB-prone warnings as errors, runs clean under ASan+UBSan, MSan and TSan,
in both builds, and is smaller than the input. ``--timeout`` is given, so
the machine's load decides nothing.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from carts_reduce.formats import measure
from conftest import ROOT, STANDIN_CARTS, require
from interestingness.mismatch import TIMING_NOISE, first_difference
from interestingness.ubguard import CLANG_WARNINGS, GCC_WARNINGS
from test_cli import carts_reduce
from test_report import headings, parse, section_fences

CLANG = "clang-19"
TIMEOUT = "10"  # seconds per step: far above any build or run here, however loaded the machine
RUN_LIMIT = 3600  # seconds for a whole reduction: a bound that only a broken reducer reaches


@dataclass
class Reduced:
    """A finished reduction: the folder, the input and the result, and how the two builds differ."""

    folder: Path
    original: str
    text: str
    defines: tuple[str, ...]  # the macros of each build: ("",) when both builds see the same source
    reference: str  # shell commands, run in ``folder`` on prog.c
    candidate: str
    ignore: tuple[re.Pattern[str], ...] = (TIMING_NOISE,)


def reduce(tmp_path_factory, example: str, *options: str, defines, reference, candidate, ignore=()) -> Reduced:
    require("gcc")
    require(CLANG)
    folder = tmp_path_factory.mktemp("wrongcode")
    original = (ROOT / "examples" / example).read_text()
    (folder / "prog.c").write_text(original)
    done = carts_reduce("prog.c", "--predicate", "output-mismatch", *options, "--timeout", TIMEOUT, cwd=folder,
                        timeout=RUN_LIMIT)
    assert done.returncode == 0, done.stderr
    result = folder / "prog.reduced.c"
    assert done.stdout.strip().endswith("prog.reduced.c")
    (folder / "check").mkdir()
    return Reduced(folder, original, result.read_text(), defines, reference, candidate,
                   (TIMING_NOISE, *ignore))


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Reduced:
    return reduce(tmp_path_factory, "jacobi_residual.c", "--carts", str(STANDIN_CARTS), defines=("",),
                  reference="cc -fopenmp -O0 prog.c -o reference -lm && ./reference",
                  candidate=f"{shlex.quote(str(STANDIN_CARTS))} execute prog.c")


PAIR = ("--reference-command", "gcc -fopenmp -O0 {input} -o ref -lm && ./ref",
        "--candidate-command", "gcc -fopenmp -O0 -DARTS {input} -o arts -lm && ./arts",
        "--opt", "mismatch_ignore=^time:")


@pytest.fixture(scope="module")
def gcc_pair(tmp_path_factory) -> Reduced:
    return reduce(tmp_path_factory, "layer_stats.c", *PAIR, "--report", "report.md", defines=("", "-DARTS"),
                  reference="gcc -fopenmp -O0 prog.c -o ref -lm && ./ref",
                  candidate="gcc -fopenmp -O0 -DARTS prog.c -o arts -lm && ./arts",
                  ignore=(re.compile("^time:"),))


@pytest.fixture(params=["standin", "gcc_pair"])
def reduced(request) -> Reduced:
    return request.getfixturevalue(request.param)


def sh(command: str, folder: Path, text: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``command`` on ``text`` as prog.c, in a folder of its own."""
    (folder / "prog.c").write_text(text)
    return subprocess.run(["/bin/sh", "-c", command], cwd=folder, capture_output=True, text=True, timeout=timeout)


# --------------------------------------------------------------------------


def test_the_result_still_mismatches_and_is_smaller(reduced):
    check = reduced.folder / "check"
    reference, candidate = sh(reduced.reference, check, reduced.text), sh(reduced.candidate, check, reduced.text)
    assert reference.returncode == 0 and candidate.returncode == 0, (reference.stderr, candidate.stderr)
    assert first_difference(reference.stdout, candidate.stdout, 0.0, reduced.ignore) is not None
    before, after = measure(reduced.original, "c"), measure(reduced.text, "c")
    assert after["tokens"] < before["tokens"] / 3 and after["chars"] < before["chars"] / 3, (before, after)


@pytest.mark.parametrize("compiler, warnings", [(CLANG, CLANG_WARNINGS), ("gcc", GCC_WARNINGS)])
def test_the_result_builds_with_the_guards_warnings_as_errors(reduced, compiler, warnings):
    only = "-fsyntax-only" if compiler == CLANG else "-O1 -c -o /dev/null"  # gcc sees uninitialised uses optimising
    errors = " ".join(f"-Werror={w}" for w in warnings)
    for define in reduced.defines:
        built = sh(f"{compiler} {only} -fopenmp {define} {errors} prog.c", reduced.folder / "check", reduced.text)
        assert built.returncode == 0, built.stderr


SANITIZED = {
    "asan+ubsan": ("-O1 -fopenmp -fsanitize=address,undefined -fno-sanitize-recover=all",
                   "ASAN_OPTIONS=detect_leaks=0 "),
    # The OpenMP runtime is not instrumented: MSan sees the program on one thread, unoptimised (optimised, a
    # read of an uninitialised local can be folded away unseen).
    "msan": ("-O0 -fopenmp-simd -fsanitize=memory -fsanitize-memory-track-origins -fno-sanitize-recover=all", ""),
    # TSan learns OpenMP's synchronisation from the runtime's archer tool.
    "tsan": ("-O1 -fopenmp -fsanitize=thread",
             "TSAN_OPTIONS=halt_on_error=1:exitcode=66:ignore_noninstrumented_modules=1 OMP_NUM_THREADS=4 "
             f'OMP_TOOL_LIBRARIES="$({CLANG} -print-file-name=libarcher.so)" '),
}


def arts_lowering(text: str) -> str:
    """``text`` as the stand-in's ``carts execute`` lowers it before its build."""
    sys.path.insert(0, str(STANDIN_CARTS.parent))
    try:
        from execute_standin import float_reductions
    finally:
        sys.path.remove(str(STANDIN_CARTS.parent))
    return float_reductions(text.encode()).decode()


def sanitizer_here(name: str, folder: Path) -> None:
    """Skip, saying why, when this machine cannot build a program under ``name``."""
    flags, _ = SANITIZED[name]
    probe = sh(f"{CLANG} {flags} prog.c -o probe -lm", folder, "int main(void) { return 0; }\n")
    if probe.returncode != 0:
        pytest.skip(f"{CLANG} cannot build with {name} here: {probe.stderr.strip().splitlines()[-1]}")
    if name == "tsan" and not Path(sh(f"{CLANG} -print-file-name=libarcher.so", folder, "").stdout.strip()).is_file():
        pytest.skip("the OpenMP runtime's archer tool (libarcher.so) is not installed: TSan would see false races")


@pytest.mark.parametrize("sanitizer", sorted(SANITIZED))
def test_the_result_runs_clean_under_the_sanitizers(reduced, sanitizer):
    check = reduced.folder / "check"
    sanitizer_here(sanitizer, check)
    flags, env = SANITIZED[sanitizer]
    sources = [(reduced.text, define) for define in reduced.defines]
    if reduced.candidate.endswith("execute prog.c"):
        # The stand-in's ARTS build: the program as its lowering rewrites it, float partial sums and all.
        lowered = arts_lowering(reduced.text)
        assert lowered != reduced.text  # the miscompile's loop is still there
        sources.append((lowered, ""))
    for text, define in sources:
        built = sh(f"{CLANG} -g -fno-omit-frame-pointer {flags} {define} prog.c -o checked -lm", check, text)
        assert built.returncode == 0, built.stderr
        ran = sh(f"env {env}./checked", check, text)
        assert ran.returncode == 0 and "Sanitizer" not in ran.stderr, ran.stderr


# --------------------------------------------------------------------------


def test_the_report_of_the_gcc_pair_can_be_filed(gcc_pair):
    report = (gcc_pair.folder / "report.md").read_text()
    tokens = parse(report)
    [title] = headings(tokens, "h1")
    assert title.startswith("Wrong output: gcc -fopenmp -O0 -DARTS prints ") and ", gcc -fopenmp -O0 prints " in title
    assert headings(tokens, "h2") == ["Commands", "Outputs", "Reduced program (input.c)", "Guards", "Versions",
                                      "Reduction"]
    [(_, commands)] = section_fences(tokens, "Commands")
    assert "gcc -fopenmp -O0 input.c -o ref -lm && ./ref" in commands
    assert "gcc -fopenmp -O0 -DARTS input.c -o arts -lm && ./arts" in commands
    [(_, reference), (_, candidate)] = section_fences(tokens, "Outputs")
    assert any(line.startswith("! ") for line in reference.splitlines())
    assert any(line.startswith("! ") for line in candidate.splitlines())
    assert section_fences(tokens, "Reduced program (input.c)") == [("c", gcc_pair.text)]
    guards = report.split("## Guards")[1].split("## Versions")[0]
    assert "warnings as errors" in guards and "asan+ubsan: a clean run" in guards
    versions = report.split("## Versions")[1].split("## Reduction")[0]
    assert re.search(r"^- gcc: gcc .*\d+\.\d+", versions, re.M)
    assert not re.search(r"(?<![\w.:/])/[\w.+~-]+/", report)
    assert str(gcc_pair.folder) not in report and str(Path.home()) not in report
