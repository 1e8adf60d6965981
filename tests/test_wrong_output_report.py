"""The report of a wrong-code reduction: a fileable 'wrong output' report with
both commands, both outputs with the differing lines marked, the reduced
program, the guards, the versions, and no path of the machine that made it."""

from __future__ import annotations

import re
from pathlib import Path

from carts_reduce.corpus.report import write_report
from carts_reduce.corpus.wrong_output import build_name, marked_output, portable, shown_command
from carts_reduce.record import ReductionRecord
from conftest import STANDIN_CARTS, require
from test_report import headings, parse, section_fences

REFERENCE = "gcc -fopenmp -O0 {input} -o ref -lm && ./ref"
CANDIDATE = "gcc -fopenmp -O0 -DARTS {input} -o arts -lm && ./arts"
PROGRAM = """\
#include <stdio.h>
int main(void) {
#ifdef ARTS
  float s = 0;
#else
  double s = 0;
#endif
  for (int i = 1; i <= 1000; i++)
    s += 1.0 / i;
  printf("n: %d\\n", 1000);
  printf("time: %d\\n", 3);
  printf("sum: %.12e\\n", (double)s);
  return 0;
}
"""
SECTIONS = ["Commands", "Outputs", "Reduced program (input.c)", "Guards", "Versions", "Reduction"]
# An absolute path: a slash at the start of a word, followed by a directory and another slash.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/[\w.+~-]+/")


def wrong_code_result(folder: Path, guards: list[str]) -> Path:
    """A reduced program and its record, as a wrong-code reduction leaves them (absolute paths included)."""
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "prog.reduced.c"
    output.write_text(PROGRAM)
    ReductionRecord(
        tool_version="0.1.0", input=str(folder / "prog.c"), input_name="prog.c", input_sha256="0" * 64,
        output=str(output), format="c", stage=None, command="{carts} run {input} --{stage}",
        carts=str(STANDIN_CARTS), predicates=["output-mismatch"],
        predicate_options={"reference_command": REFERENCE, "candidate_command": CANDIDATE, "frames": 3,
                           "extra": {"mismatch_ignore": "^time:"}},
        signature=None, standin=False, sizes_before={"bytes": 2400, "lines": 90, "chars": 1900, "tokens": 600},
        sizes_after={"bytes": len(PROGRAM), "lines": 14, "chars": 200, "tokens": 70}, tests_run=300,
        cache_hits=20, wall_seconds=60.0, carts_version=None, commands=[REFERENCE, CANDIDATE], guards=guards,
        followups_run=12, step_seconds={"reference": 30.0, "candidate": 30.0, "ub-warnings": 20.0},
        guard_seconds=20.0,
    ).save(ReductionRecord.path_for(output))
    return output


def test_the_report_is_a_fileable_wrong_output_report(tmp_path):
    require("gcc")
    guards = [
        "warnings as errors (clang-19: -Wimplicit-int -Wuninitialized) (reference and candidate macros)",
        "warnings as errors (gcc: -Wimplicit-int -Wmaybe-uninitialized) (reference and candidate macros)",
        "asan+ubsan: a clean run (clang-19 -fsanitize) (reference and candidate macros)",
        f"msan: not checked: cannot build here: {tmp_path}/lib/ld: cannot find -lclang_rt.msan",
    ]
    output = wrong_code_result(tmp_path / "work", guards)
    report = write_report(output, tmp_path / "report.md")  # runs both builds once more
    tokens = parse(report)

    [title] = headings(tokens, "h1")
    assert title == "Wrong output: gcc -fopenmp -O0 -DARTS prints sum: 7.485478401184e+00, gcc -fopenmp -O0 prints " \
                    "sum: 7.485470860550e+00"
    assert headings(tokens, "h2") == SECTIONS
    assert headings(tokens, "h3") == ["reference: gcc -fopenmp -O0 (exit 0)", "candidate: gcc -fopenmp -O0 -DARTS (exit 0)"]

    # Both commands, as the reader runs them.
    [(_, commands)] = section_fences(tokens, "Commands")
    assert commands.splitlines() == ["# reference", REFERENCE.replace("{input}", "input.c"),
                                     "# candidate", CANDIDATE.replace("{input}", "input.c")]
    assert "left out of the comparison: timing lines, lines matching `^time:`" in report

    # Both outputs, the differing line marked on each side, the left-out line marked so.
    [(_, reference), (_, candidate)] = section_fences(tokens, "Outputs")
    assert reference.splitlines() == ["  n: 1000", "~ time: 3", "! sum: 7.485470860550e+00"]
    assert candidate.splitlines() == ["  n: 1000", "~ time: 3", "! sum: 7.485478401184e+00"]

    assert section_fences(tokens, "Reduced program (input.c)") == [("c", PROGRAM)]

    guard_lines = [line[2:] for line in report.split("## Guards")[1].split("##")[0].splitlines() if line.startswith("- ")]
    assert guard_lines[:3] == [re.sub(r"([\\`*_<>\[\]])", r"\\\1", g) for g in guards[:3]]
    assert guard_lines[3] == r"msan: not checked: cannot build here: ld: cannot find -lclang\_rt.msan"

    versions = report.split("## Versions")[1].split("##")[0]
    assert re.search(r"^- gcc: gcc .*\d+\.\d+", versions, re.M)
    assert "- clang-19: " in versions and "- carts-reduce: 0.1.0" in versions
    assert "300 tests run" in report and "25% of the tests' time went to the guards' checks" in report

    # Nothing names a place on this machine.
    assert not ABSOLUTE_PATH.search(report), ABSOLUTE_PATH.search(report)
    for local in (str(tmp_path), str(Path.home()), str(STANDIN_CARTS.parent)):
        assert local not in report


def test_without_the_guard_or_the_outputs_the_report_says_so(tmp_path):
    output = wrong_code_result(tmp_path, guards=[])
    report = write_report(output, tmp_path / "report.md", run=False)
    assert headings(parse(report), "h1") == ["Wrong output: gcc -fopenmp -O0 -DARTS prints other results than "
                                             "gcc -fopenmp -O0"]
    assert "The outputs were not captured" in report
    assert "reduced without the UB guard (--no-ub-guard)" in report.replace("`", "")
    assert not ABSOLUTE_PATH.search(report)


def test_commands_and_lines_as_the_reader_sees_them():
    assert shown_command("{carts} execute {includes}{input}", "input.c") == "carts execute input.c"
    assert shown_command("/opt/gcc-14/bin/gcc {input} -o r && ./r", "input.c") == "gcc input.c -o r && ./r"
    assert build_name("{carts} execute {input}") == "carts execute"
    assert build_name("cc -fopenmp -O0 {includes}{input} -o reference -lm && ./reference") == "cc -fopenmp -O0"
    assert portable("SUMMARY: AddressSanitizer: heap-buffer-overflow /tmp/carts-reduce-x1/prog.c:12:3") == \
        "SUMMARY: AddressSanitizer: heap-buffer-overflow prog.c:12:3"
    # A long output keeps its differing lines with their context.
    text = "".join(f"line {i}\n" for i in range(1, 201))
    shown = marked_output(text, {100}, set(range(1, 201))).splitlines()
    assert shown == ["   ... (97 lines)", "  line 98", "  line 99", "! line 100", "  line 101", "  line 102",
                     "   ... (98 lines)"]
