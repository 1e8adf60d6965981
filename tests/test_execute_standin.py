"""The stand-in `carts execute` builds and runs a program as ARTS would, with one
documented miscompile: a `parallel for` reduction on a double accumulated in float."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, STANDIN_CARTS, require

EXAMPLE = ROOT / "examples" / "stream_dot.c"


@pytest.fixture(autouse=True)
def _compilers():
    require("gcc")


def execute(tmp_path: Path, source: str, *flags: str, env: dict | None = None, name: str = "prog.c"):
    path = tmp_path / name
    path.write_text(source)
    return subprocess.run([str(STANDIN_CARTS), "execute", name, *flags], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def openmp_build(tmp_path: Path, source: str, *flags: str) -> subprocess.CompletedProcess:
    path = tmp_path / "reference.c"
    path.write_text(source)
    subprocess.run(["gcc", "-fopenmp", *flags, "reference.c", "-o", "reference", "-lm"], cwd=tmp_path, check=True,
                   timeout=120)
    return subprocess.run(["./reference"], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def program(declaration: str, clause: str, body: str = "s += 1.0 / (i + 1);") -> str:
    return textwrap.dedent(
        f"""\
        #include <stdio.h>
        {declaration}
        int main(void) {{
        #pragma omp parallel for {clause}
          for (int i = 0; i < 5000; i++)
            {body}
          printf("s = %.15e\\n", (double)s);
          return 0;
        }}
        """
    )


DOUBLE_SUM = program("double s = 0;", "reduction(+:s)")


def test_a_double_reduction_is_accumulated_in_float(tmp_path):
    arts, omp = execute(tmp_path, DOUBLE_SUM), openmp_build(tmp_path, DOUBLE_SUM)
    assert arts.returncode == 0 and omp.returncode == 0
    assert arts.stdout != omp.stdout
    # The difference is float's rounding, not a different computation.
    ours, theirs = float(arts.stdout.split("=")[1]), float(omp.stdout.split("=")[1])
    assert abs(ours - theirs) / theirs < 1e-5
    fixed = execute(tmp_path, DOUBLE_SUM, env={"CARTS_STANDIN_BUG": "fixed"})
    assert fixed.stdout == omp.stdout


@pytest.mark.parametrize(
    "declaration, clause",
    [
        ("float s = 0;", "reduction(+:s)"),  # float in float: nothing lost
        ("double s = 0; double t = 0;", "reduction(+:t) firstprivate(s)"),  # the double summed is not s
        ("double s = 0;", "reduction(max:s)"),  # not a sum
        ("double s[1] = {0};", "reduction(+:s[0:1])"),  # not a scalar
    ],
)
def test_other_loops_build_as_openmp_does(tmp_path, declaration, clause):
    body = "s[0] += 1.0 / (i + 1);" if "[" in declaration else "s += 1.0 / (i + 1);"
    if "max" in clause:
        body = "s = s > 1.0 / (i + 1) ? s : 1.0 / (i + 1);"
    source = program(declaration, clause, body).replace("(double)s)", "(double)s[0])" if "[" in declaration else "(double)s)")
    arts, omp = execute(tmp_path, source), openmp_build(tmp_path, source)
    assert arts.returncode == 0, arts.stderr
    assert arts.stdout == omp.stdout


def test_the_declaration_in_scope_decides(tmp_path):
    # A double parameter and a double global are summed in float; a float local
    # that shadows a double global is not.
    source = textwrap.dedent(
        """\
        #include <stdio.h>
        double g = 0;
        static double from_parameter(double p) {
        #pragma omp parallel for reduction(+:p)
          for (int i = 0; i < 4000; i++) p += 0.1;
          return p;
        }
        static double shadowed(void) {
          float g = 0;
        #pragma omp parallel for reduction(+:g)
          for (int i = 0; i < 4000; i++) g += 0.5f;
          return g;
        }
        int main(void) {
        #pragma omp parallel for reduction(+:g)
          for (int i = 0; i < 4000; i++) g += 0.1;
          printf("%.15e\\n%.15e\\n%.15e\\n", from_parameter(1.0), shadowed(), g);
          return 0;
        }
        """
    )
    arts = execute(tmp_path, source).stdout.splitlines()
    omp = openmp_build(tmp_path, source).stdout.splitlines()
    assert arts[0] != omp[0] and arts[2] != omp[2]
    assert arts[1] == omp[1]


def test_it_runs_the_program_and_keeps_what_the_pipeline_leaves(tmp_path):
    source = '#include <stdio.h>\nint main(void) { printf("out\\n"); fprintf(stderr, "err\\n"); return 3; }\n'
    result = execute(tmp_path, source)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert (tmp_path / "prog.mlir").read_text().startswith("module")  # the front end's module
    assert (tmp_path / "prog_arts").exists()
    named = execute(tmp_path, source, "-O3", "-o", "bench")
    assert named.returncode == 3 and (tmp_path / "bench").exists()


def test_defines_reach_the_build(tmp_path):
    source = '#include <stdio.h>\nint main(void) {\n#ifdef ARTS\n  puts("arts");\n#else\n  puts("omp");\n#endif\n  return 0;\n}\n'
    assert execute(tmp_path, source, "-DARTS").stdout == "arts\n"
    assert execute(tmp_path, source).stdout == "omp\n"


def test_what_the_front_end_rejects_stops_the_build(tmp_path):
    result = execute(tmp_path, "int main(void) { return undeclared; }\n")
    assert result.returncode == 1
    assert "error:" in result.stderr and "undeclared" in result.stderr
    assert "[ERROR] Failed to convert C++ to MLIR" in result.stderr
    assert not (tmp_path / "prog_arts").exists()


def test_bad_command_lines(tmp_path):
    assert "unknown option '--frobnicate'" in execute(tmp_path, DOUBLE_SUM, "--frobnicate").stderr
    missing = subprocess.run([str(STANDIN_CARTS), "execute", "nothere.c"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert "must be .cpp or .c" in execute(tmp_path, "x", name="prog.txt").stderr


def test_the_example_benchmark_differs_only_in_its_checksum(tmp_path):
    source = EXAMPLE.read_text()
    assert len(source.splitlines()) >= 80
    arts, omp = execute(tmp_path, source), openmp_build(tmp_path, source)
    assert arts.returncode == 0 and omp.returncode == 0

    def results(text: str) -> dict[str, str]:
        return dict(line.split(": ", 1) for line in text.splitlines())

    ours, theirs = results(arts.stdout), results(omp.stdout)
    assert ours.keys() == theirs.keys()
    assert ours["max |a|"] == theirs["max |a|"]
    assert ours["checksum"] != theirs["checksum"]
