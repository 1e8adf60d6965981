"""output-mismatch as a mode of its own: two builds, their outputs compared
without timing noise, no stage, and a failing build's errors in plain sight."""

from __future__ import annotations

import re
import textwrap

import anyio
import pytest

from carts_reduce.run.runner import run_test
from carts_reduce.run.tool import Tool
from conftest import STANDIN_CARTS, require
from interestingness import PredicateError, build
from interestingness.mismatch import TIMING_NOISE, differing_lines, first_difference, kept_lines
from test_cli import assert_one_line_error, carts_reduce

# What benchmarks print about their speed: the CARTS benchmark runtime's own
# formats first, then common hand-written ones.
TIMING_LINES = [
    "e2e.layernorm: 0.001234567s",
    "kernel.gemm: 0.000321s",
    "startup.batchnorm: 1.5e-05s",
    "init.omp: 0.000012345s",
    "parallel.region[worker=3]: 0.5s",
    "task.update[worker=0]: 0.25s",
    "time: 0.123456",
    "Time: 1.2 s",
    "Elapsed time = 3.4 ms",
    "Kernel time (s): 0.2",
    "Total execution time: 12 ms",
    "elapsed: 7",
]
RESULT_LINES = [
    "checksum: 1.234567890123e+02",
    "Verification: PASS (checksum: 1.0e+00)",
    "RMS error: 3.2e-07",
    "time step 10: 4.5",
    "Max time-step error: 0.2",
    "sum: 5.000000000000e-01",
    "result 7",
]


@pytest.mark.parametrize("line", TIMING_LINES)
def test_timing_lines_are_noise(line):
    assert TIMING_NOISE.search(line)


@pytest.mark.parametrize("line", RESULT_LINES)
def test_result_lines_are_compared(line):
    assert not TIMING_NOISE.search(line)


def test_outputs_compare_without_noise_and_ignored_lines():
    reference = "init.omp: 0.01s\nchecksum: 1.5\nrun id 17\ntime: 0.3\n"
    candidate = "init.omp: 0.52s\nchecksum: 1.5\nrun id 18\ntime: 0.9\n"
    predicate = build(["output-mismatch"], {"extra": {"mismatch_ignore": "^run id"}})
    assert first_difference(reference, candidate, 0.0, predicate.drop) is None
    assert first_difference(reference, candidate, 0.0, build(["output-mismatch"], {}).drop) is not None
    keep_all = build(["output-mismatch"], {"extra": {"mismatch_noise": "none", "mismatch_ignore": "^run id"}})
    assert str(first_difference(reference, candidate, 0.0, keep_all.drop)).endswith("'0.01' vs '0.52'")
    own_noise = build(["output-mismatch"], {"extra": {"mismatch_noise": "^(init|time|run)"}})
    assert first_difference(reference, candidate, 0.0, own_noise.drop) is None
    with pytest.raises(PredicateError, match="mismatch_noise"):
        build(["output-mismatch"], {"extra": {"mismatch_noise": "("}})


def test_the_differing_lines_are_marked_on_each_side():
    reference = "time: 0.1\nmax: 8775.0\nchecksum: 2.264689269643e+10\ndone\n"
    candidate = "time: 0.2\nmax: 8775.000\nwarning: slow\nchecksum: 2.264668979200e+10\ndone\n"
    drop = (TIMING_NOISE,)
    assert differing_lines(reference, candidate, 0.0, drop) == ({3}, {3, 4})
    assert differing_lines(reference, reference, 0.0, drop) == (set(), set())
    # Within the tolerance a number is the same number.
    assert differing_lines("x 1.0000001\n", "x 1.0000002\n", 1e-6) == (set(), set())
    assert kept_lines(reference, drop) == [(2, "max: 8775.0"), (3, "checksum: 2.264689269643e+10"), (4, "done")]


def test_a_failing_build_shows_its_errors(tmp_path):
    require("gcc")
    predicate = build(
        ["output-mismatch"],
        {"reference_command": "gcc {input} -o ref && ./ref", "candidate_command": "gcc -DARTS {input} -o arts && ./arts"},
    )
    tool = Tool(input_name="prog.c", command="true")
    source = "#include <stdio.h>\nint main(void) {\n#ifdef ARTS\n  return missing_symbol;\n#endif\n  return 0;\n}\n"
    outcome = anyio.run(run_test, tool.spec(source, predicate.adjust(tool.steps(), tool.expand), 60))
    assert not predicate(outcome, source)
    seen = predicate.describe(outcome)
    assert seen.startswith("the candidate step failed (reference: exit 0, candidate: exit 1)")
    assert re.search(r"prog\.c:4:\d+: error: .missing_symbol. undeclared", seen)
    assert "\n" not in seen


def test_no_stage_is_needed_nor_taken(tmp_path):
    require("gcc")
    source = tmp_path / "prog.c"
    source.write_text(textwrap.dedent(
        """\
        #include <stdio.h>
        int main(void) {
        #ifdef ARTS
          float s = 0;
        #else
          double s = 0;
        #endif
          for (int i = 1; i <= 1000; i++) s += 1.0 / i;
          printf("time: %d\\n", i_am_timing());
          printf("sum: %.12e\\n", (double)s);
          return 0;
        }
        int i_am_timing(void) { return 7; }
        """
    ))
    pair = ["--reference-command", "gcc -O0 {input} -o ref && ./ref",
            "--candidate-command", "gcc -O0 -DARTS {input} -o arts && ./arts"]
    # The stage option is refused: no stage runs in this mode.
    refused = carts_reduce("prog.c", "--predicate", "output-mismatch", "--pass", "canonicalize-memrefs", *pair,
                           cwd=tmp_path)
    assert_one_line_error(refused, "--pass canonicalize-memrefs", "output-mismatch runs its own commands")
    # Without --pass and without any carts (the pair does not use it), the original is judged: here its
    # ARTS build fails, and the one line says why in the compiler's words.
    failing = carts_reduce("prog.c", "--predicate", "output-mismatch", *pair[:2], "--candidate-command",
                           "gcc -O0 -DARTS -Werror=implicit-function-declaration {input} -o arts && ./arts",
                           cwd=tmp_path, env={"CARTS": "/nonexistent/carts"})
    assert_one_line_error(failing, "the original input is not interesting", "candidate step failed",
                          "implicit declaration of function", "i_am_timing")


def test_the_default_candidate_is_carts_execute(tmp_path):
    # The candidate default needs carts: where there is none, one clear line says so.
    (tmp_path / "prog.c").write_text("int main(void) { return 0; }\n")
    missing = carts_reduce("prog.c", "--predicate", "output-mismatch", cwd=tmp_path,
                           env={"CARTS": "/nonexistent/carts", "PATH": "/usr/bin:/bin"})
    assert_one_line_error(missing, "carts not found")
    # With the stand-in, a program the stand-in builds right prints the same: not interesting.
    require("gcc")
    same = carts_reduce("prog.c", "--predicate", "output-mismatch", "--carts", str(STANDIN_CARTS), cwd=tmp_path)
    assert_one_line_error(same, "the original input is not interesting", "outputs agree")
