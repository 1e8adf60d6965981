"""The UB guard of wrong-code reduction: warnings as errors in every test, then
(only where the outputs differ) sanitizer builds as a follow-up test, both plain
steps for the runner; calibrated on the original; real compilers and sanitizers."""

from __future__ import annotations

import pickle
import textwrap

import anyio
import pytest

import interestingness
from carts_reduce.run.outcome import Outcome, Step, StepResult
from carts_reduce.run.tool import Tool
from carts_reduce.search.driver import NotInteresting, Reducer, Settings
from conftest import require
from interestingness.ubguard import UbFree, _diagnostics, report_line

PAIR = {
    "reference_command": "gcc -fopenmp -O0 {input} -o ref -lm && ./ref",
    "candidate_command": "gcc -fopenmp -O0 -DARTS {input} -o arts -lm && ./arts",
}
TOOL = Tool(input_name="prog.c", command="{carts} run {input} --{stage}", carts="carts", stage="x", format="c",
            precheck="gcc -fsyntax-only {input}")


def result(name: str, code: int = 0, stdout: str = "", stderr: str = "") -> StepResult:
    return StepResult(name, ("x",), code, None, False, 0.1, stdout, stderr)


def guarded(options=None) -> interestingness.Predicate:
    return interestingness.build(["output-mismatch"], {**PAIR, **(options or {})}, ub_guard=True)


def guard_of(predicate) -> UbFree:
    return next(leaf for leaf in predicate.leaves() if isinstance(leaf, UbFree))


# --------------------------------------------------------------------------
# Steps: plain data, cheap first


def test_warnings_come_before_the_builds_and_sanitizers_follow_only_a_mismatch():
    predicate = guarded()
    guard = guard_of(predicate)
    steps = predicate.adjust(TOOL.steps(), TOOL.expand)
    names = [step.name for step in steps]
    assert names[0] == "precheck" and names[-2:] == ["reference", "candidate"]
    # Each build's macros (-DARTS for the candidate), by the guard's compiler and by the reference's own.
    assert set(names[1:-2]) == {"ub-warnings", "ub-warnings@candidate", "ub-warnings-gcc", "ub-warnings-gcc@candidate"}
    candidate_warnings = next(s for s in steps if s.name == "ub-warnings@candidate")
    assert "-DARTS" in candidate_warnings.argv and "-Werror=implicit-function-declaration" in candidate_warnings.argv
    pickle.loads(pickle.dumps(steps))  # plain data: a test can travel to another machine

    clean = [result(s.name) for s in steps[:-2]]
    agree = Outcome((*clean, result("reference", stdout="1.5\n"), result("candidate", stdout="1.5\n")))
    differ = Outcome((*clean, result("reference", stdout="1.5\n"), result("candidate", stdout="1.75\n")))
    threaded = "#pragma omp parallel for\n"
    assert predicate.followup(agree, threaded) == ()  # no mismatch: no sanitizer build
    more = predicate.followup(differ, threaded)
    assert [s.name for s in more] == [
        f"ub-{check}-{part}{config}"
        for check in ("asan+ubsan", "msan", "tsan") for config in ("", "@candidate") for part in ("build", "run")
    ]
    assert all(not s.stop_on_failure for s in more)  # before calibration: a survey, nothing stops it
    assert not predicate(differ, threaded)  # not judged UB-free before the follow-up ran
    followed = Outcome(differ.steps + tuple(result(s.name) for s in more))
    assert predicate.followup(followed, threaded) == ()  # asked once
    assert predicate(followed, threaded)

    # The stand-in's carts execute builds the reference's code: one configuration.
    default = interestingness.build(["output-mismatch"], {}, ub_guard=True)
    names = [s.name for s in default.adjust(TOOL.steps(), TOOL.expand)]
    assert "ub-warnings@candidate" not in names and "ub-warnings" in names


def test_calibration_keeps_the_checks_the_original_passes():
    predicate = guarded()
    guard = guard_of(predicate)
    steps = predicate.adjust(TOOL.steps(), TOOL.expand)
    more = guard.followup(Outcome(()), "")  # the survey, as the original gets it
    implicit = "prog.c:3:1: error: type specifier missing, defaults to 'int' [-Wimplicit-int]"
    survey = {s.name: result(s.name) for s in (*steps, *more)}
    survey["ub-warnings"] = result("ub-warnings", 1, stderr=implicit + "\n1 error generated.\n")
    survey["ub-msan-build"] = result("ub-msan-build", 1, stderr="/usr/bin/ld: cannot find -lclang_rt.msan\n")
    survey["ub-tsan-run@candidate"] = result(
        "ub-tsan-run@candidate", 66, stderr="==7==WARNING: ThreadSanitizer: data race (pid=7)\n"
        "SUMMARY: ThreadSanitizer: data race /tmp/carts-reduce-abc/prog.c:9:5 in main\n")
    predicate.calibrate(Outcome(tuple(survey.values())))
    lines = predicate.guards()
    assert any(line.startswith("warnings as errors (clang") and "-Wimplicit-int tolerated" in line for line in lines)
    assert "msan: not checked: cannot build here: /usr/bin/ld: cannot find -lclang_rt.msan" in lines
    assert "tsan: not checked: the original itself fails it: SUMMARY: ThreadSanitizer: data race prog.c:9:5 in main" \
        in lines
    assert any(line.startswith("asan+ubsan: a clean run") for line in lines)
    # From now on: the original's own warning is off, every other one an error; failures stop the test.
    strict = predicate.adjust(TOOL.steps(), TOOL.expand)
    warnings = next(s for s in strict if s.name == "ub-warnings")
    assert "-Wno-implicit-int" in warnings.argv and "-Werror=uninitialized" in warnings.argv
    assert warnings.stop_on_failure
    clean = tuple(result(s.name) for s in strict[1:-2])
    differ = Outcome((*clean, result("reference", stdout="1\n"), result("candidate", stdout="2\n")))
    more = predicate.followup(differ, "#pragma omp parallel\n")
    assert [s.name for s in more] == ["ub-asan+ubsan-build", "ub-asan+ubsan-run", "ub-asan+ubsan-build@candidate",
                                      "ub-asan+ubsan-run@candidate"]
    assert all(s.stop_on_failure for s in more)


def test_a_new_warning_or_a_sanitizer_report_rejects_the_candidate():
    predicate = guarded()
    guard = guard_of(predicate)
    steps = predicate.adjust(TOOL.steps(), TOOL.expand)
    survey = tuple(result(s.name) for s in (*steps, *guard.followup(Outcome(()), "")))
    predicate.calibrate(Outcome(survey))
    steps = predicate.adjust(TOOL.steps(), TOOL.expand)
    builds = (result("reference", stdout="1\n"), result("candidate", stdout="2\n"))
    uninitialised = result("ub-warnings", 1, stderr="prog.c:3:10: error: variable 'r' is uninitialized when used "
                                                    "here [-Werror,-Wuninitialized]\n")
    warned = Outcome((result("precheck"), uninitialised, *builds))
    assert predicate.followup(warned, "") == ()
    assert not predicate(warned, "")
    assert "ub-warnings rejects it: -Wuninitialized" in predicate.describe(warned)

    clean = tuple(result(s.name) for s in steps[:-2])
    more = predicate.followup(Outcome((*clean, *builds)), "int main(void) { return 0; }")
    assert "ub-tsan-build" not in [s.name for s in more]  # a program that starts no thread has no race
    reports = {s.name: result(s.name) for s in more}
    reports["ub-asan+ubsan-run@candidate"] = result(
        "ub-asan+ubsan-run@candidate", 1,
        stderr="prog.c:4:35: runtime error: signed integer overflow: 2147483645 + 10 cannot be represented in type 'int'\n")
    judged = Outcome((*clean, *builds, *reports.values()))
    assert not predicate(judged, "int main(void) { return 0; }")
    assert predicate.describe(judged).endswith("ub-asan+ubsan-run@candidate exit 1: prog.c:4:35: runtime error: signed "
                                               "integer overflow: 2147483645 + 10 cannot be represented in type 'int'")


def test_diagnostics_and_reports_are_read_from_both_compilers():
    clang = result("w", 1, stderr="p.c:3:10: error: variable 'r' is uninitialized when used here "
                                  "[-Werror,-Wuninitialized]\np.c:5:1: error: type specifier missing, defaults to "
                                  "'int'; ISO C99 and later do not support implicit int [-Wimplicit-int]\n2 errors "
                                  "generated.\n")
    gcc = result("w", 1, stderr="p.c:5:1: error: return type defaults to 'int' [-Werror=implicit-int]\n"
                                "cc1: some warnings being treated as errors\n")
    broken = result("w", 1, stderr="p.c:2:10: fatal error: 'omp.h' file not found\n")
    assert _diagnostics(clang) == ({"uninitialized", "implicit-int"}, [])
    assert _diagnostics(gcc) == ({"implicit-int"}, [])
    assert _diagnostics(broken) == (set(), ["p.c:2:10: fatal error: 'omp.h' file not found"])
    asan = result("r", 1, stderr="=================================================================\n"
                                 "==4711==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6 at pc 0x5\n"
                                 "SUMMARY: AddressSanitizer: heap-buffer-overflow /tmp/carts-reduce-q/prog.c:6:37 in "
                                 "main\n")
    assert report_line(asan) == "SUMMARY: AddressSanitizer: heap-buffer-overflow prog.c:6:37 in main"


def test_options_of_the_guard():
    assert guard_of(guarded({"extra": {"ub_checks": "warnings,asan+ubsan"}})).checks == ["warnings", "asan+ubsan"]
    with pytest.raises(interestingness.PredicateError, match="unknown check 'valgrind'"):
        guarded({"extra": {"ub_checks": "warnings,valgrind"}})
    on_gcc = guard_of(guarded({"extra": {"ub_cc": "gcc"}}))
    on_gcc.adjust(TOOL.steps(), TOOL.expand)
    assert "msan: not checked: gcc cannot build it" in on_gcc.guards()
    assert [s.name for s in on_gcc._sanitizer_steps()] == ["ub-asan+ubsan-build", "ub-asan+ubsan-run",
                                                          "ub-asan+ubsan-build@candidate", "ub-asan+ubsan-run@candidate"]
    # Off, or not C: output-mismatch alone.
    assert [leaf.name for leaf in interestingness.build(["output-mismatch"], PAIR).leaves()] == ["output-mismatch"]
    # Asked for by name, it is not added twice.
    named = interestingness.build(["output-mismatch", "ub-free"], PAIR, ub_guard=True)
    assert [leaf.name for leaf in named.leaves()] == ["output-mismatch", "ub-free"]
    with pytest.raises(interestingness.PredicateError, match="ub_cc"):
        interestingness.build(["output-mismatch"], {**PAIR, "extra": {"ub_cc": "clang"}})


# --------------------------------------------------------------------------
# The driver runs the follow-up as a second test, and keeps it


class AsksOnce(interestingness.Predicate):
    """Interesting when the follow-up step printed "clean"; asks for it when the first step printed "go"."""

    name = "asks-once"

    def followup(self, outcome, candidate):
        first = outcome.step("stage")
        if first is None or "go" not in first.stdout or outcome.step("more") is not None:
            return ()
        return (Step("more", ("/bin/sh", "-c", "grep -q clean case.txt && echo clean")),)

    def __call__(self, outcome, candidate):
        more = outcome.step("more")
        return more is not None and "clean" in more.stdout

    def owns_step(self, name):
        return name == "more"


def test_the_driver_runs_a_follow_up_only_when_asked_and_caches_it():
    tool = Tool(input_name="case.txt", command="grep -o go {input}")
    reducer = Reducer("go clean\n", tool, AsksOnce(), [], Settings(jobs=1, timeout=10))

    async def go():
        await reducer.check_original()
        verdicts = [await reducer.run_once(text) for text in ("go clean\n", "go dirty\n", "stop clean\n")]
        again = await reducer.run_once("go dirty\n")
        return verdicts, again

    verdicts, again = anyio.run(go)
    assert [interesting for interesting, _ in verdicts] == [True, False, False]
    assert [s.name for s in verdicts[0][1].steps] == ["stage", "more"]
    assert [s.name for s in verdicts[2][1].steps] == ["stage"]  # not asked: no second test
    # The original's two runs at once and "go clean" share one follow-up; "go dirty" has its own, then
    # from the cache.
    assert reducer.stats.followups_run == 2
    assert reducer.stats.followup_hits == 3
    assert [s.name for s in again[1].steps] == ["stage", "more"] and not again[0]
    assert set(reducer.stats.step_seconds) == {"stage", "more"}


# --------------------------------------------------------------------------
# Real compilers, real sanitizers

CLEAN = """\
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  double *p = calloc(8, sizeof(double));
  double s = 0;
#ifdef ARTS
  float t = 0;
#else
  double t = 0;
#endif
#pragma omp parallel for reduction(+:s)
  for (int i = 0; i < 8; i++) s += p[i] + 0.1;
  for (int i = 0; i < 8; i++) t += 0.1;
  printf("%.17g %.17g\\n", s, (double)t);
  free(p);
  return 0;
}
"""
# Each breaks the program one way, keeps its mismatch, and is caught by the check named.
BROKEN = {
    "uninitialised local": (CLEAN.replace("double s = 0;", "double s;"), "ub-warnings"),
    "no prototype for printf": (CLEAN.replace("#include <stdio.h>\n", ""), "ub-warnings"),
    "heap overflow": (CLEAN.replace("i < 8; i++) s", "i <= 8; i++) s"), "ub-asan+ubsan-run"),
    "uninitialised local in a loop": (CLEAN.replace("s += p[i] + 0.1;", "{ int r; s = r + p[i]; }"), "ub-msan-run"),
    "uninitialised heap": (CLEAN.replace("calloc(8, sizeof(double))", "malloc(8 * sizeof(double))"), "ub-msan-run"),
    "signed overflow": (CLEAN.replace("  free(p);", "  int k = 2147483600;\n  for (int i = 0; i < 99; i++) k += i;\n"
                                      "  printf(\"%d\\n\", k > 0);\n  free(p);"), "ub-asan+ubsan-run"),
    "data race": (CLEAN.replace("reduction(+:s)", ""), "ub-tsan-run"),
    "ARTS branch uninitialised": (CLEAN.replace("float t = 0;", "float t;"), "ub-warnings@candidate"),
}


@pytest.fixture(scope="module")
def calibrated():
    require("clang-19")
    require("gcc")
    tool = Tool(input_name="prog.c", command="true", format="c")
    reducer = Reducer(CLEAN, tool, guarded(), [], Settings(jobs=2, timeout=120))
    anyio.run(reducer.check_original)
    return reducer


def test_the_clean_original_passes_every_check(calibrated):
    guard = guard_of(calibrated.predicate)
    assert [line.split(":")[0].split(" (")[0] for line in guard.guards()] == [
        "warnings as errors", "warnings as errors", "asan+ubsan", "msan", "tsan"]
    assert calibrated.stats.followups_run >= 1


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_kind_of_undefined_behaviour_is_caught(calibrated, case):
    text, check = BROKEN[case]
    interesting, outcome = anyio.run(calibrated.run_once, text)
    assert not interesting
    seen = calibrated.predicate.describe(outcome)
    assert f"ub-free: {check}" in seen, seen
    mismatch = calibrated.predicate.children[0]
    if not check.startswith("ub-warnings"):
        assert mismatch(outcome, text)  # the outputs still differ: only the guard says no


def test_an_original_with_undefined_behaviour_is_reported(tmp_path):
    require("clang-19")
    tool = Tool(input_name="prog.c", command="true", format="c")
    text = BROKEN["heap overflow"][0]
    reducer = Reducer(text, tool, guarded({"extra": {"ub_checks": "asan+ubsan"}}), [], Settings(jobs=2, timeout=120))
    anyio.run(reducer.check_original)  # the check the original fails is no condition, and says so
    [line] = guard_of(reducer.predicate).guards()
    assert line.startswith("asan+ubsan: not checked: the original itself fails it: SUMMARY: AddressSanitizer: "
                           "heap-buffer-overflow prog.c:12:")
