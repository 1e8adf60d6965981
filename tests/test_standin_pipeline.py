"""The stand-in's pipeline: the newer driver's commands, what stages do, the bug in `concurrency`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, STANDIN_CARTS, require

sys.path.insert(0, str(Path(__file__).parent / "standin"))
import pipeline_standin  # noqa: E402

EXAMPLE = ROOT / "examples" / "alloc3d.mlir"

# A time-step loop around a worksharing loop: what `concurrency` dies on.
TIME_LOOP_C = """\
#define N 64
double a[N], b[N];
void sweep(int steps) {
  for (int t = 0; t < steps; t++) {
#pragma omp parallel for
    for (int i = 1; i < N - 1; i++)
      b[i] = 0.5 * (a[i - 1] + a[i + 1]);
  }
}
"""
# The same loop without the time step around it: no bug.
SINGLE_LOOP_C = """\
#define N 64
double a[N], b[N];
void sweep(void) {
#pragma omp parallel for
  for (int i = 1; i < N - 1; i++)
    b[i] = 0.5 * (a[i - 1] + a[i + 1]);
}
"""


def carts(*args: str, driver: str = "new", bug: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CARTS_STANDIN_DRIVER": driver}
    if bug:
        env["CARTS_STANDIN_BUG"] = bug
    return subprocess.run([str(STANDIN_CARTS), *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


@pytest.fixture
def time_loop(tmp_path) -> Path:
    """The front end's module of TIME_LOOP_C."""
    require("gcc")
    source = tmp_path / "sweep.c"
    source.write_text(TIME_LOOP_C)
    result = carts("cgeist", str(source), "-O0", "-S", "-fopenmp", "--raise-scf-to-affine")
    assert result.returncode == 0, result.stderr
    module = tmp_path / "sweep.mlir"
    module.write_text(result.stdout)
    return module


def test_pipeline_json_is_the_manifest_of_the_carts_md_stages():
    result = carts("pipeline", "--json")
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["pipeline_sequence"] == list(pipeline_standin.SEQUENCE)
    assert manifest["pipeline"] == [*pipeline_standin.SEQUENCE, "complete"]
    assert "complete" not in manifest["start_from"] and manifest["start_from"][0] == "canonicalize-memrefs"
    steps = {step["name"]: step["passes"] for step in manifest["pipeline_steps"]}
    assert list(steps) == manifest["pipeline_sequence"]
    assert "CanonicalizeMemrefs" in steps["canonicalize-memrefs"] and "Concurrency" in steps["concurrency"]
    assert [step["name"] for step in manifest["epilogue_steps"]] == ["post-o3-opt", "llvm-ir-emission"]


def test_generations_of_the_driver():
    old = carts("pipeline", "--json", driver="old")
    assert old.returncode == 2 and "unknown command 'pipeline'" in old.stderr
    assert carts("compile", str(EXAMPLE), "--pipeline=canonicalize-memrefs", driver="old").returncode == 2
    versions = {driver: carts("--version", driver=driver).stdout for driver in ("old", "new", "malformed-manifest")}
    assert len(set(versions.values())) == 3
    broken = carts("pipeline", "--json", driver="malformed-manifest")
    assert broken.returncode == 0 and broken.stdout.strip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.stdout)


def test_compile_stops_after_a_stage_and_starts_from_one(tmp_path):
    crashed = carts("compile", str(EXAMPLE), "--pipeline=canonicalize-memrefs")
    assert crashed.returncode == -signal.SIGABRT and "CanonicalizeMemrefsPass" in crashed.stderr
    assert "Program arguments: /opt/carts/bin/carts-compile" in crashed.stderr
    # The stage that has the bug is skipped when the pipeline starts after it.
    out = tmp_path / "after.mlir"
    skipped = carts("compile", str(EXAMPLE), "--start-from", "collect-metadata", "--pipeline", "db-opt", "-o", str(out))
    assert skipped.returncode == 0, skipped.stderr
    assert out.read_text() == EXAMPLE.read_text()  # no OpenMP in it: nothing to rewrite
    # `carts run` keeps working, -o included.
    ran = carts("run", str(EXAMPLE), "--canonicalize-memrefs", bug="fixed", cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout == EXAMPLE.read_text()
    written = carts("run", str(EXAMPLE), "--complete", "-o", str(tmp_path / "run.mlir"), bug="fixed")
    assert written.returncode == 0 and (tmp_path / "run.mlir").read_text() == EXAMPLE.read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pipeline=canonicalise-memrefs"], "Unknown pipeline step: 'canonicalise-memrefs'"),
        (["--start-from=complete"], "Unknown start-from pipeline step: 'complete'"),
        (["--start-from=epochs", "--pipeline=db-opt"], "later than --pipeline"),
        (["--debug-only=canonicalize-memrefs"], "Unsupported option: --debug-only. Use --arts-debug."),
        (["--arts-debug=,"], "Invalid --arts-debug value"),
        (["--all-pipelines", "--pipeline=db-opt", "-o", "x"], "cannot be combined"),
        (["--frobnicate"], "Unknown command line argument '--frobnicate'"),
    ],
)
def test_compile_refuses_bad_command_lines(args, message):
    result = carts("compile", str(EXAMPLE), *args)
    assert result.returncode == 1 and message in result.stderr


def test_openmp_to_arts_rewrites_worksharing_loops(time_loop, tmp_path):
    out = tmp_path / "arts.mlir"
    result = carts("compile", str(time_loop), "--pipeline=openmp-to-arts", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "omp." not in text
    assert "arts.edt <parallel> <internode> route(" in text and "arts.for(" in text and "}}" in text
    before = carts("compile", str(time_loop), "--pipeline=initial-cleanup").stdout
    assert "omp.wsloop {" in before and "arts.for" not in before
    # What one stage prints, the next one reads.
    assert carts("compile", str(out), "--start-from=edt-transforms", "--pipeline=edt-opt").returncode == 0


def test_concurrency_dies_on_a_parallel_loop_inside_a_time_loop(time_loop, tmp_path):
    assert carts("compile", str(time_loop), "--pipeline=edt-opt").returncode == 0
    died = carts("compile", str(time_loop), "--pipeline=concurrency")
    assert died.returncode == -signal.SIGSEGV
    assert "ConcurrencyPass::runOnOperation()" in died.stderr and "Assertion" not in died.stderr
    assert carts("run", str(time_loop), "--complete").returncode == -signal.SIGSEGV
    # Before openmp-to-arts the shape is not there: started at the stage, the front end's module passes.
    assert carts("compile", str(time_loop), "--start-from=concurrency", "--pipeline=concurrency").returncode == 0
    entering = tmp_path / "entering.mlir"
    assert carts("compile", str(time_loop), "--pipeline=edt-opt", "-o", str(entering)).returncode == 0
    alone = carts("compile", str(entering), "--start-from=concurrency", "--pipeline=concurrency")
    assert alone.returncode == -signal.SIGSEGV and "ConcurrencyPass" in alone.stderr
    assert carts("compile", str(time_loop), "--pipeline=concurrency", bug="fixed").returncode == 0


def test_a_parallel_loop_on_its_own_is_fine(tmp_path):
    require("gcc")
    source = tmp_path / "single.c"
    source.write_text(SINGLE_LOOP_C)
    result = carts("compile", str(source), "--pipeline=complete")
    assert result.returncode == 0, result.stderr
    assert "arts.for(" in result.stdout


def test_debug_channels(time_loop):
    logged = carts("compile", str(time_loop), "--pipeline=concurrency", "--arts-debug=concurrency")
    assert "[concurrency] arts.for at line" in logged.stderr
    old = carts("run", str(EXAMPLE), "--canonicalize-memrefs", "--debug-only=canonicalize-memrefs", bug="fixed")
    assert old.returncode == 0 and "[canonicalize-memrefs] nested allocation" in old.stderr


def test_all_pipelines_dumps_every_stop_point_until_the_failure(time_loop, tmp_path):
    folder = tmp_path / "steps"
    result = carts("compile", str(time_loop), "--all-pipelines", "-o", str(folder))
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ") for line in result.stdout.splitlines())
    order = list(pipeline_standin.STAGES)
    failing = order.index("concurrency")
    assert [lines[stage] for stage in order] == ["PASS"] * failing + ["FAIL"] * (len(order) - failing)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"sweep_{stage}.mlir" for stage in order[:failing])
    assert "arts.for(" in (folder / "sweep_edt-opt.mlir").read_text()


def test_c_input_goes_through_the_front_end_and_refuses_start_from(tmp_path):
    require("gcc")
    source = tmp_path / "sweep.c"
    source.write_text(TIME_LOOP_C)
    assert carts("compile", str(source), "--pipeline=concurrency").returncode == -signal.SIGSEGV
    refused = carts("compile", str(source), "--start-from=concurrency", "--pipeline=concurrency")
    assert refused.returncode == 1 and "only supported for .mlir input" in refused.stderr


def test_a_real_benchmark_fails_only_in_concurrency(shared_data):
    require("gcc")
    source = shared_data / "c-carts-benchmarks" / "polybench__jacobi2d__jacobi2d.c"
    flags = ["-DMINI_DATASET", f"-I{source.parent}"]
    assert carts("compile", str(source), "--pipeline=edt-opt", *flags).returncode == 0
    died = carts("compile", str(source), "--pipeline=concurrency", *flags)
    assert died.returncode == -signal.SIGSEGV and "ConcurrencyPass" in died.stderr


def test_enclosing_ops_follow_braces():
    lines = [
        "func.func @f() {",
        "  scf.for %i = %a to %b step %c {",
        "    %x = scf.if %p -> (i32) {",
        "      scf.yield %y : i32",
        "    } else {",
        "      scf.yield %z : i32",
        "    }",
        "    arts.for(%a) to(%b) step(%c) {{",
        "    ^bb0(%j: index):",
        "    }}",
        "  }",
        "}",
    ]
    around = pipeline_standin.enclosing_ops(lines)
    assert around[3] == ("func.func", "scf.for", "scf.if")
    assert around[5] == ("func.func", "scf.for", "scf.if")
    assert around[8] == ("func.func", "scf.for", "arts.for")
    assert around[11] == ("func.func",)
