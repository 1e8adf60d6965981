"""Interestingness predicates: each built-in, composition, the TOML file, plugins.

Each built-in is judged on hand-made outcomes first, then on real runs: the
stand-in carts, upstream mlir-opt 22 (crash, hang, ir-contains,
stderr-regex), gcc (output-mismatch) and the C-Vise scripts of the real
crash cases (script).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import anyio
import pytest

import interestingness
from carts_reduce.run.outcome import Outcome, Step, StepResult
from carts_reduce.run.runner import run_test
from carts_reduce.signature import Signature
from carts_reduce.run.tool import Tool
from interestingness import PredicateError, build

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "data" / "signature"
SHARED = HERE.parents[1] / "shared" / "data"
CRASHES = SHARED / "real-crashes"
STANDIN = HERE / "standin" / "carts"
MLIR_OPT = Path("/usr/lib/llvm-22/bin/mlir-opt")
MLIR_OPT_19 = Path("/usr/lib/llvm-19/bin/mlir-opt")
STAGE = "canonicalize-memrefs"


def result(
    name: str = "stage",
    returncode: int | None = 0,
    signal: int | None = None,
    stdout: str = "",
    stderr: str = "",
    timed_out: bool = False,
    duration: float = 0.1,
) -> StepResult:
    return StepResult(name, ("tool",), returncode, signal, timed_out, duration, stdout, stderr)


def outcome(*steps: StepResult) -> Outcome:
    return Outcome(tuple(steps))


CRASH_TEXT = (FIXTURES / "mlir22-canonicalize.unsymbolized.stderr").read_text()
CRASH = outcome(result(returncode=None, signal=11, stderr=CRASH_TEXT))
# The same dump with its third frame (AffineLoadOp::fold) renamed.
OTHER_FOLD_TEXT = CRASH_TEXT.replace("AffineLoadOp::fold", "AffineStoreOp::fold")
ERROR = outcome(result(returncode=1, stderr="[ERROR] [carts-run] Error when canonicalizing memrefs\nmodule {}\n"))
CLEAN = outcome(result(stdout="module {\n}\n"))
TIMEOUT = outcome(result(returncode=None, timed_out=True, duration=5.0))
PRECHECK_FAILED = outcome(result("precheck", returncode=1, stderr="x.c:1:1: error: expected ';'\n"))

NESTED_MODULE = """\
module {
  func.func @main(%n: index) {
    %a = memref.alloc(%n) : memref<?xmemref<?xmemref<?xf32>>>
    %b = memref.alloc(%n) : memref<?xf32>
    memref.dealloc %a : memref<?xmemref<?xmemref<?xf32>>>
    "memref.dealloc"(%b) : (memref<?xf32>) -> ()
    %r:2 = "test.two"() : () -> (i32, i32)
    return
  }
}
"""


def tool_for(command: str, name: str = "case.mlir", env: tuple[tuple[str, str], ...] = ()) -> Tool:
    return Tool(input_name=name, carts=str(STANDIN), stage=STAGE, command=command, env=env)


def run(predicate, tool: Tool, text: str, timeout: float = 60.0) -> Outcome:
    """One test the way the driver runs it: adjusted steps, timeout raised as asked."""
    steps = predicate.adjust(tool.steps(), tool.expand)
    limit = max(timeout, predicate.min_timeout or 0)
    return anyio.run(run_test, tool.spec(text, steps, limit))


def need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not available")


# --------------------------------------------------------------------------
# same-failure


def test_same_failure_is_the_default_and_compares_signatures():
    predicate = build([], {"frames": 3})
    assert predicate.name == "same-failure"
    predicate.calibrate(CRASH)
    assert predicate(CRASH, "")
    abort = outcome(result(returncode=None, signal=6, stderr=CRASH_TEXT))
    other_frames = outcome(result(returncode=None, signal=11, stderr=OTHER_FOLD_TEXT))
    assert not predicate(abort, "")
    assert not predicate(other_frames, "")
    assert not predicate(CLEAN, "")
    assert not predicate(ERROR, "")
    assert "SIGSEGV" in predicate.describe(CRASH)


def test_same_failure_on_a_clean_original_holds_nowhere():
    predicate = build(["same-failure"], {})
    predicate.calibrate(CLEAN)
    assert not predicate(CLEAN, "")
    assert predicate.describe(CLEAN) == "stage: exit 0"


def test_same_failure_needs_calibration():
    with pytest.raises(RuntimeError):
        build(["same-failure"], {})(CRASH, "")


def test_same_failure_frames_option():
    # With one frame, a crash that differs deeper down is the same failure.
    deeper = outcome(result(returncode=None, signal=11, stderr=OTHER_FOLD_TEXT))
    one = build(["same-failure"], {"frames": 1})
    one.calibrate(CRASH)
    assert one(deeper, "")
    three = build(["same-failure"], {"frames": 3})
    three.calibrate(CRASH)
    assert not three(deeper, "")


# --------------------------------------------------------------------------
# crash


def test_crash():
    predicate = build(["crash"], {})
    assert predicate(CRASH, "")
    banner_exit = outcome(result(returncode=1, stderr="LLVM ERROR: out of luck\nPLEASE submit a bug report\n"))
    assert predicate(banner_exit, "")
    assertion = outcome(result(returncode=134, stderr="carts-run: F.cpp:1: void f(): Assertion `x' failed.\n"))
    assert predicate(assertion, "")
    assert not predicate(ERROR, "")
    assert not predicate(CLEAN, "")
    assert not predicate(TIMEOUT, "")
    assert not predicate(PRECHECK_FAILED, "")  # never reached the stage
    frontend_crash = outcome(result("precheck"), result("frontend", returncode=None, signal=11))
    assert not predicate(frontend_crash, "")
    assert predicate.describe(ERROR).startswith("no crash")


# --------------------------------------------------------------------------
# signature

CARTS_ABORT = outcome(
    result(
        returncode=None,
        signal=6,
        stderr=(
            "carts-run: /opt/carts/CanonicalizeMemrefs.cpp:412: void mlir::arts::(anonymous namespace)::"
            "CanonicalizeMemrefsPass::runOnOperation(): Assertion `rank <= 2 && \"nested\"' failed.\n"
            "Stack dump:\n"
            " #0 0x000055d1c2f00000 llvm::sys::PrintStackTrace(llvm::raw_ostream&, int) (/opt/carts-run+0x0)\n"
            " #1 0x000055d1c2f01a3f abort (/lib/x86_64-linux-gnu/libc.so.6+0x1a3f)\n"
            " #2 0x000055d1c2f0347e mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation() "
            "(/opt/carts-run+0x347e)\n"
            " #3 0x000055d1c2f04ebd mlir::PassManager::run(mlir::Operation*) (/opt/carts-run+0x4ebd)\n"
        ),
    )
)


def test_signature_parts():
    assert build(["signature"], {"match_assertion": r"rank <= 2"})(CARTS_ABORT, "")
    assert not build(["signature"], {"match_assertion": r"rank <= 3"})(CARTS_ABORT, "")
    frames = {"match_frame": [r"CanonicalizeMemrefsPass::runOnOperation\(\)", "PassManager::run"]}
    assert build(["signature"], frames)(CARTS_ABORT, "")
    assert not build(["signature"], {"match_frame": ["CanonicalizeMemrefsPass", "CollectMetadata"]})(CARTS_ABORT, "")
    # Machinery frames are not matched: abort is there, but not a frame of the bug.
    assert not build(["signature"], {"match_frame": ["^abort$"]})(CARTS_ABORT, "")
    assert build(["signature"], {"match_error": "canonicalizing memrefs"})(ERROR, "")
    assert not build(["signature"], {"match_error": "collecting metadata"})(ERROR, "")
    both = build(["signature"], {"match_assertion": "rank", "match_error": "anything"})
    assert not both(CARTS_ABORT, "")  # every given part must match
    assert not build(["signature"], {"match_error": ".*"})(CLEAN, "")


def test_signature_needs_a_part_and_good_regexes():
    with pytest.raises(PredicateError, match="needs --match-assertion"):
        build(["signature"], {})
    with pytest.raises(PredicateError, match="bad regex"):
        build(["signature"], {"match_frame": ["ok", "(unclosed"]})


# --------------------------------------------------------------------------
# stderr-regex, stdout-regex, exit-code


def test_stream_regexes():
    stderr = build(["stderr-regex"], {"stderr_regex": r"^\[ERROR\] \[carts-run\] Error when"})
    assert stderr(ERROR, "") and not stderr(CLEAN, "")
    stdout = build(["stdout-regex"], {"stdout_regex": r"^}$"})
    assert stdout(CLEAN, "") and not stdout(ERROR, "")
    assert not stderr(PRECHECK_FAILED, "")
    assert "matches" in stderr.describe(ERROR)
    with pytest.raises(PredicateError, match="needs --stderr-regex"):
        build(["stderr-regex"], {})


def test_exit_code():
    assert build(["exit-code"], {"exit_code": 1})(ERROR, "")
    assert not build(["exit-code"], {"exit_code": 1})(CLEAN, "")
    assert build(["exit-code"], {"exit_code": "0, 1"})(CLEAN, "")
    # A SIGSEGV reads 139 through a shell; the predicate takes either view.
    assert build(["exit-code"], {"exit_code": 139})(CRASH, "")
    assert not build(["exit-code"], {"exit_code": 139})(TIMEOUT, "")
    with pytest.raises(PredicateError, match="bad value"):
        build(["exit-code"], {"exit_code": "one"})


# --------------------------------------------------------------------------
# hang


def test_hang():
    predicate = build(["hang"], {"hang_after": 2.0})
    assert predicate.min_timeout is not None and predicate.min_timeout > 2.0
    assert predicate(TIMEOUT, "")
    slow = outcome(result(duration=2.5))
    assert predicate(slow, "")
    assert not predicate(CLEAN, "")
    assert not predicate(outcome(result("precheck", returncode=1, duration=9.0)), "")
    assert "limit 2 s" in predicate.describe(slow)
    with pytest.raises(PredicateError):
        build(["hang"], {"hang_after": 0})
    with pytest.raises(PredicateError, match="needs --hang-after"):
        build(["hang"], {})


# --------------------------------------------------------------------------
# ir-contains / ir-lacks


def test_ir_contains_op_name_and_type():
    stage = outcome(result(stdout=NESTED_MODULE))
    nested = {"ir_pattern": "op:memref.dealloc", "ir_type": r"memref<\?xmemref<\?x"}
    assert build(["ir-contains"], nested)(stage, "")
    assert not build(["ir-lacks"], nested)(stage, "")
    # The generic form counts, and the type narrows: only %b is a flat memref.
    flat = {"ir_pattern": "op:memref.dealloc", "ir_type": r"^\(memref<\?xf32>\)"}
    assert build(["ir-contains"], flat)(stage, "")
    assert build(["ir-contains"], {"ir_pattern": "op:test.two"})(stage, "")  # "%r:2 = " results
    # An op name is an op, not a prefix or a mention in an operand.
    assert not build(["ir-contains"], {"ir_pattern": "op:memref.dealloc_x"})(stage, "")
    assert not build(["ir-contains"], {"ir_pattern": "op:memref"})(stage, "")
    assert build(["ir-contains"], {"ir_pattern": r"memref<\?xmemref<\?xmemref"})(stage, "")
    assert "2 line(s)" in build(["ir-contains"], {"ir_pattern": "op:memref.alloc"}).describe(stage)


def test_ir_predicates_judge_only_a_stage_that_printed_a_module():
    for failed in (ERROR, CRASH, TIMEOUT, PRECHECK_FAILED):
        assert not build(["ir-contains"], {"ir_pattern": "module"})(failed, "")
        assert not build(["ir-lacks"], {"ir_pattern": "op:memref.dealloc"})(failed, "")
    # A stage that wrote its module elsewhere printed nothing: nothing is lacking.
    silent = outcome(result(stdout="\n"))
    predicate = build(["ir-lacks"], {"ir_pattern": "op:memref.dealloc"})
    assert not predicate(silent, "")
    assert "printed no module" in predicate.describe(silent)
    assert predicate(CLEAN, "")


def test_ir_pattern_errors():
    with pytest.raises(PredicateError, match="bad op name"):
        build(["ir-contains"], {"ir_pattern": "op:memref dealloc"})
    with pytest.raises(PredicateError, match="bad regex"):
        build(["ir-lacks"], {"ir_pattern": "memref<(", "ir_type": "x"})
    with pytest.raises(PredicateError, match="needs --ir-pattern"):
        build(["ir-contains"], {})


# --------------------------------------------------------------------------
# debug-log


def test_debug_log_adds_its_flag_to_the_stage():
    tool = tool_for("{carts} run {input} --{stage}")
    predicate = build(["debug-log"], {"debug_only": "canonicalize-memrefs", "debug_regex": "nested allocation"})
    steps = predicate.adjust([Step("precheck", ("true",)), *tool.steps()], tool.expand)
    assert steps[0].argv == ("true",)
    assert steps[1].argv[-1] == "--debug-only=canonicalize-memrefs"
    # Adjusting twice does not add it twice.
    assert predicate.adjust(steps, tool.expand) == steps
    shell = tool_for("{carts} run {input} --{stage} 2>&1")
    (step,) = predicate.adjust(shell.steps(), shell.expand)
    assert step.argv[:2] == ("/bin/sh", "-c") and step.argv[2].endswith("2>&1 --debug-only=canonicalize-memrefs")
    piped = tool_for("{carts} run {input} --{stage} | head")
    with pytest.raises(PredicateError, match="command template"):
        predicate.adjust(piped.steps(), piped.expand)
    newer_flag = {"debug_only": "db", "debug_regex": "x", "extra": {"debug_flag": "--arts-debug={name}"}}
    newer = build(["debug-log"], newer_flag)
    assert newer.adjust(tool.steps(), tool.expand)[0].argv[-1] == "--arts-debug=db"


def test_debug_log_judges_stderr():
    predicate = build(["debug-log"], {"debug_only": "cm", "debug_regex": r"nested allocation %\w+: 3 levels"})
    logged = outcome(result(stderr="[canonicalize-memrefs] nested allocation %a: 3 levels\n", stdout="module {}\n"))
    assert predicate(logged, "")
    assert not predicate(CLEAN, "")
    with pytest.raises(PredicateError, match="needs --debug-regex"):
        build(["debug-log"], {"debug_only": "cm"})


# --------------------------------------------------------------------------
# output-mismatch


def test_output_mismatch_steps_and_comparison():
    predicate = build(
        ["output-mismatch"],
        {"reference_command": "gcc -fopenmp {input} -o ref && ./ref", "candidate_command": "{carts} execute {input} -O3",
         "float_tolerance": 1e-6},
    )  # fmt: skip
    tool = tool_for("{carts} run {input} --{stage}", name="prog.c")
    steps = predicate.adjust([Step("precheck", ("gcc", "-fsyntax-only", "prog.c")), *tool.steps()], tool.expand)
    assert [s.name for s in steps] == ["precheck", "reference", "candidate"]
    assert steps[1].argv[:2] == ("/bin/sh", "-c")
    assert steps[2].argv[-2:] == ("prog.c", "-O3")

    def pair(ref: str, cand: str, cand_code: int = 0) -> Outcome:
        return outcome(result("reference", stdout=ref), result("candidate", returncode=cand_code, stdout=cand))

    assert predicate(pair("checksum: 1.5\n", "checksum: 1.75\n"), "")
    assert not predicate(pair("checksum: 1.5000000\n", "checksum:  1.5000001e0\n"), "")  # within 1e-6
    assert not predicate(pair("sum=10 n=3\n", "sum=10 n=3"), "")
    assert predicate(pair("sum=10 n=3\n", "sum=10 n=4\n"), "")
    assert predicate(pair("a b c\n", "a b\n"), "")
    assert not predicate(pair("nan\n", "nan\n"), "")
    assert not predicate(pair("1\n", "2\n", cand_code=1), "")  # a build that fails is not a mismatch
    assert not predicate(outcome(result("reference", stdout="1\n")), "")
    assert "token 1" in predicate.describe(pair("checksum: 1.5\n", "checksum: 1.75\n"))
    exact = build(["output-mismatch"], {"reference_command": "a", "candidate_command": "b"})
    assert exact(pair("1.5000000\n", "1.5000001\n"), "")
    assert not exact(pair("1.50\n", "1.5\n"), "")  # numbers compare by value
    timing = build(
        ["output-mismatch"],
        {"reference_command": "a", "candidate_command": "b", "extra": {"mismatch_ignore": "^time:"}},
    )
    assert not timing(pair("time: 0.31\nresult 7\n", "time: 0.52\nresult 7\n"), "")


def test_output_mismatch_defaults_to_the_openmp_and_the_arts_build():
    tool = tool_for("{carts} run {input} --{stage}", name="prog.c")
    steps = build(["output-mismatch"], {}).adjust(tool.steps(), tool.expand)
    assert [s.name for s in steps] == ["reference", "candidate"]
    assert steps[0].argv[2].startswith("cc -fopenmp") and steps[0].argv[2].endswith("&& ./reference")
    assert steps[1].argv[1:] == ("execute", "prog.c")
    only_reference = build(["output-mismatch"], {"reference_command": "a"}).adjust(tool.steps(), tool.expand)
    assert only_reference[0].argv == ("a",) and only_reference[1].argv[1] == "execute"


# --------------------------------------------------------------------------
# script


def test_script_replaces_the_steps(tmp_path):
    script = tmp_path / "interesting.sh"
    script.write_text("#!/bin/sh\ngrep -q NEEDLE \"$1\"\n")
    script.chmod(0o755)
    predicate = build([], {"script": script})  # --script alone selects it
    tool = tool_for("{carts} run {input} --{stage}")
    (step,) = predicate.adjust(tool.steps(), tool.expand)
    assert step.name == "script" and step.argv == (str(script.resolve()), "case.mlir")
    assert predicate(outcome(result("script")), "")
    assert not predicate(outcome(result("script", returncode=1)), "")
    assert not predicate(outcome(result("script", returncode=None, timed_out=True)), "")
    # Not executable: started by its #! line.
    plain = tmp_path / "plain.sh"
    plain.write_text("#!/usr/bin/env bash\nexit 0\n")
    (step,) = build(["script"], {"script": plain}).adjust(tool.steps(), tool.expand)
    assert step.argv == ("/usr/bin/env", "bash", str(plain.resolve()), "case.mlir")
    with pytest.raises(PredicateError, match="script not found"):
        build(["script"], {"script": tmp_path / "missing.sh"})


# --------------------------------------------------------------------------
# Composition


def test_several_specs_must_all_hold():
    predicate = build(["crash", "stderr-regex"], {"stderr_regex": "AffineLoadOp"})
    assert predicate(CRASH, "")
    assert not build(["crash", "stderr-regex"], {"stderr_regex": "nope"})(CRASH, "")


def test_expressions():
    options = {"stderr_regex": r"\[ERROR\]", "hang_after": 1.0}
    either = build(["any(crash, stderr-regex)"], {"stderr_regex": options["stderr_regex"]})
    assert either(CRASH, "") and either(ERROR, "") and not either(CLEAN, "")
    no_crash = build(["not(crash)"], {})
    assert no_crash(ERROR, "") and not no_crash(CRASH, "")
    nested = build(["all(any(crash, stderr-regex), not(hang))"], options)
    assert nested(CRASH, "") and nested(ERROR, "") and not nested(TIMEOUT, "")
    assert nested.min_timeout == build(["hang"], {"hang_after": 1.0}).min_timeout
    assert repr(nested).startswith("all(any(")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("any(crash", "unfinished"),
        ("any()", "unexpected"),
        ("not(crash, hang)", "takes one"),
        ("crash(hang)", "only all, any and not"),
        ("not", "needs predicates"),
        ("crash)", "unexpected"),
        ("nope", "unknown predicate 'nope'"),
        ("", "empty predicate"),
    ],
)
def test_expression_errors_are_one_line(spec, message):
    with pytest.raises(PredicateError, match=message) as error:
        build([spec], {"hang_after": 1})
    assert "\n" not in str(error.value)


def test_composition_adjusts_in_order_and_calibrates_all(tmp_path):
    predicate = build(
        ["all(debug-log, same-failure)"], {"debug_only": "cm", "debug_regex": "Stack dump", "frames": 2}
    )
    tool = tool_for("{carts} run {input} --{stage}")
    steps = predicate.adjust(tool.steps(), tool.expand)
    assert steps[-1].argv[-1] == "--debug-only=cm"
    predicate.calibrate(CRASH)
    assert predicate(CRASH, "")
    assert not predicate(ERROR, "")
    assert "exit 1" in predicate.describe(ERROR)


def test_options_no_predicate_reads_are_an_error():
    with pytest.raises(PredicateError, match="--ir-pattern is given but no chosen predicate reads it"):
        build(["crash"], {"ir_pattern": "op:memref.alloc", "frames": 3})
    with pytest.raises(PredicateError, match="--opt debug_flag"):
        build([], {"extra": {"debug_flag": "--x={name}"}})
    # Options the command line always passes are fine.
    build([], {"frames": 3, "extra": {}, "match_frame": [], "float_tolerance": None, "script": None})


# --------------------------------------------------------------------------
# The predicates file

TOML = """\
[options]
frames = 2

[[predicate]]
name = "ir-contains"
ir_pattern = "op:memref.dealloc"
ir_type = 'memref<\\?xmemref<\\?x'

[[predicate]]
expression = "not(crash)"

[[predicate]]
name = "any"
of = ["exit-code"]
exit_code = 0
  [[predicate.predicate]]
  name = "stderr-regex"
  stderr-regex = "never printed"
"""


def test_predicates_file(tmp_path):
    path = tmp_path / "predicates.toml"
    path.write_text(TOML)
    predicate = build([], {"frames": 3}, path)
    leaves = [leaf.name for leaf in predicate.leaves()]
    assert leaves == ["ir-contains", "crash", "exit-code", "stderr-regex"]
    assert predicate(outcome(result(stdout=NESTED_MODULE)), "")
    assert not predicate(CLEAN, "")  # no dealloc in it
    assert not predicate(CRASH, "")
    # Command-line specs add to the file's predicates.
    both = build(["stdout-regex"], {"stdout_regex": "never"}, path)
    assert not both(outcome(result(stdout=NESTED_MODULE)), "")


def test_predicates_file_relative_paths_and_plugins(tmp_path):
    (tmp_path / "checks.py").write_text(
        "def has_needle(outcome, candidate):\n    '''The candidate holds NEEDLE.'''\n    return 'NEEDLE' in candidate\n"
    )
    (tmp_path / "t.sh").write_text("#!/bin/sh\nexit 0\n")
    path = tmp_path / "p.toml"
    path.write_text('[[predicate]]\nname = "checks.py:has_needle"\n[[predicate]]\nname = "script"\nscript = "t.sh"\n')
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    old = os.getcwd()
    os.chdir(elsewhere)
    try:
        predicate = build([], {}, path)
    finally:
        os.chdir(old)
    assert predicate(outcome(result("script")), "a NEEDLE here")
    assert not predicate(outcome(result("script")), "nothing")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[predicate]]\nname = "ir-contains"\nir_patern = "x"\nir_pattern = "y"\n', "reads the option 'ir_patern'"),
        ('[[predicate]]\nname = "crash"\nexpression = "crash"\n', "either name or expression"),
        ('[[predicate]]\nname = "not"\nof = ["crash", "hang"]\nhang_after = 1\n', "takes one"),
        ('[[predicate]]\nname = "crash"\nof = ["hang"]\n', "only all, any and not"),
        ("[options]\nframes = 2\n", r"no \[\[predicate\]\] tables"),
        ('[[predicate]]\nname = "crash"\n[other]\n', "unknown top-level key 'other'"),
        ("[[predicate]\n", "predicates.toml"),
        ('[[predicate]]\nname = "stderr-regex"\nstderr_regex = "("\n', "bad regex"),
    ],
)
def test_predicates_file_errors(tmp_path, text, message):
    path = tmp_path / "predicates.toml"
    path.write_text(text)
    with pytest.raises(PredicateError, match=message) as error:
        build([], {}, path)
    assert "\n" not in str(error.value)


def test_missing_predicates_file(tmp_path):
    with pytest.raises(PredicateError, match="cannot read predicates file"):
        build([], {}, tmp_path / "none.toml")


# --------------------------------------------------------------------------
# Registry


def test_available_lists_every_builtin_with_help_and_options():
    infos = {info.name: info for info in interestingness.available()}
    expected = {
        "same-failure", "crash", "signature", "stderr-regex", "stdout-regex", "exit-code", "hang",
        "ir-contains", "ir-lacks", "debug-log", "output-mismatch", "script", "any", "all", "not",
    }  # fmt: skip
    assert expected <= set(infos)
    for name in expected:
        assert infos[name].help and "\n" not in infos[name].help
        assert infos[name].origin == "built-in"
    assert ("--ir-pattern PATTERN" in dict(infos["ir-contains"].options))
    assert "--hang-after SECONDS" in dict(infos["hang"].options)


def test_file_and_module_references(tmp_path, monkeypatch):
    module = tmp_path / "my_predicates.py"
    module.write_text(
        textwrap.dedent(
            '''
            def crashed_on_needle(outcome, candidate):
                """The stage dies and the candidate still holds NEEDLE."""
                return outcome.main.signal is not None and "NEEDLE" in candidate

            def with_options(outcome, candidate, options):
                """Reads --opt word=WORD."""
                return options["word"] in candidate

            def two_many(outcome, candidate, third):
                return True

            not_callable = 3

            class Tagged:
                pass
            '''
        )
    )
    predicate = build([f"{module}:crashed_on_needle"], {})
    assert predicate(CRASH, "NEEDLE") and not predicate(CRASH, "hay")
    assert predicate.help == "The stage dies and the candidate still holds NEEDLE."
    monkeypatch.syspath_prepend(str(tmp_path))
    by_module = build(["my_predicates:with_options"], {"extra": {"word": "hay"}})
    assert by_module(CLEAN, "haystack")
    with pytest.raises(PredicateError, match="must take"):
        build([f"{module}:two_many"], {})
    with pytest.raises(PredicateError, match="not callable"):
        build([f"{module}:not_callable"], {})
    with pytest.raises(PredicateError, match="has no 'nothing'"):
        build([f"{module}:nothing"], {})
    broken = tmp_path / "broken.py"
    broken.write_text("import does_not_exist_anywhere\n")
    with pytest.raises(PredicateError, match="cannot import .*ModuleNotFoundError"):
        build([f"{broken}:f"], {})
    with pytest.raises(PredicateError, match="cannot import module"):
        build(["no_such_module_xyz:f"], {})


def test_a_predicate_class_plugin(tmp_path):
    module = tmp_path / "classy.py"
    module.write_text(
        textwrap.dedent(
            '''
            from interestingness import Option, Predicate

            class SlowStage(Predicate):
                """The stage takes longer than --opt slower_than=SECONDS."""
                options = (Option("slower_than", "SECONDS", "threshold", "float", required=True, extra=True),)

                def __call__(self, outcome, candidate):
                    return outcome.main.duration > self.values["slower_than"]
            '''
        )
    )
    predicate = build([f"{module}:SlowStage"], {"extra": {"slower_than": "1"}})
    assert predicate(TIMEOUT, "") and not predicate(CLEAN, "")
    with pytest.raises(PredicateError, match="needs --opt slower_than"):
        build([f"{module}:SlowStage"], {})


def _plugin_installed() -> bool:
    try:
        distribution("carts-reduce-plugin-example")
    except PackageNotFoundError:
        return False
    return True


def test_installed_plugin_is_listed_and_usable_by_name():
    if not _plugin_installed():
        pytest.skip("the example plugin is not installed: pip install ./tests/plugin_example")
    infos = {info.name: info for info in interestingness.available()}
    info = infos["nested-memref-crash"]
    assert info.origin == "entry point (carts-reduce-plugin-example)"
    assert info.help.startswith("The stage dies by a signal")
    assert ("--opt KEY=VALUE", "any option, passed as options=") in infos["stderr-count"].options
    predicate = build(["nested-memref-crash"], {})
    assert predicate(CRASH, NESTED_MODULE)
    assert not predicate(CRASH, "module {}")
    assert not predicate(CLEAN, NESTED_MODULE)
    counting = build(["stderr-count"], {"extra": {"count": "2"}})
    twice = outcome(result(returncode=1, stderr="[ERROR] [a] x\n[ERROR] [b] y\n"))
    assert counting(twice, "") and not counting(ERROR, "")


def test_installed_plugin_through_the_command_line():
    if not _plugin_installed():
        pytest.skip("the example plugin is not installed: pip install ./tests/plugin_example")
    listing = subprocess.run(
        [sys.executable, "-m", "carts_reduce", "predicates"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "250"},
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert "nested-memref-crash" in listing.stdout and "carts-reduce-plugin-example" in listing.stdout


# --------------------------------------------------------------------------
# With the stand-in carts


def standin(bug: str = "crash") -> Tool:
    return tool_for("{carts} run {input} --{stage}", env=(("CARTS_STANDIN_BUG", bug),))


NESTED_USED = """\
module {
  func.func @main(%n: index) -> f32 {
    %c0 = arith.constant 0 : index
    %a = memref.alloc(%n) : memref<?xmemref<?xmemref<?xf32>>>
    %b = memref.load %a[%c0] : memref<?xmemref<?xmemref<?xf32>>>
    %c = memref.load %b[%c0] : memref<?xmemref<?xf32>>
    %v = memref.load %c[%c0] : memref<?xf32>
    memref.dealloc %a : memref<?xmemref<?xmemref<?xf32>>>
    return %v : f32
  }
}
"""
FLAT = """\
module {
  func.func @main(%n: index) -> f32 {
    %c0 = arith.constant 0 : index
    %a = memref.alloc(%n) : memref<?xf32>
    %v = memref.load %a[%c0] : memref<?xf32>
    return %v : f32
  }
}
"""
UNPARSEABLE = "module {\n  func.func @main() -> f32 {\n    return %undefined : f32\n  }\n}\n"


@pytest.fixture(scope="module")
def standin_outcomes() -> dict[str, Outcome]:
    if not STANDIN.exists():
        pytest.skip("the stand-in carts is absent")
    crash = build(["crash"], {})
    cases = {
        "crash": (standin("crash"), NESTED_USED),
        "other": (standin("other"), NESTED_USED),
        "flat": (standin("crash"), FLAT),
        "leave": (standin("leave"), NESTED_USED),
        "unparseable": (standin("crash"), UNPARSEABLE),
    }
    return {name: run(crash, tool, text) for name, (tool, text) in cases.items()}


def test_standin_same_failure_crash_and_signature(standin_outcomes):
    same = build([], {"frames": 3})
    same.calibrate(standin_outcomes["crash"])
    assert same(standin_outcomes["crash"], NESTED_USED)
    assert not same(standin_outcomes["other"], NESTED_USED)  # another bug: no slipping
    assert not same(standin_outcomes["flat"], FLAT)
    crash = build(["crash"], {})
    assert crash(standin_outcomes["crash"], "") and crash(standin_outcomes["other"], "")
    assert not crash(standin_outcomes["unparseable"], "") and not crash(standin_outcomes["leave"], "")
    pinned = build(["signature"], {"match_frame": ["CanonicalizeMemrefsPass"], "match_assertion": "rank <= 2"})
    assert pinned(standin_outcomes["crash"], "") and not pinned(standin_outcomes["other"], "")
    sig = Signature.from_outcome(standin_outcomes["crash"])
    assert sig.status == "SIGABRT"
    assert sig.frames[0] == "mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation"


def test_standin_messages_and_exit_codes(standin_outcomes):
    parse = build(["stderr-regex"], {"stderr_regex": r"Could not parse input file"})
    assert parse(standin_outcomes["unparseable"], "") and not parse(standin_outcomes["flat"], "")
    assert build(["exit-code"], {"exit_code": 1})(standin_outcomes["unparseable"], "")
    assert build(["exit-code"], {"exit_code": 134})(standin_outcomes["crash"], "")
    assert build(["stdout-regex"], {"stdout_regex": r"memref\.alloc"})(standin_outcomes["flat"], "")
    undeclared = build(["signature"], {"match_error": r"^use of undeclared SSA value name '%_'$"})
    assert undeclared(standin_outcomes["unparseable"], "")
    assert Signature.from_outcome(standin_outcomes["unparseable"]).errors == (
        "[ERROR] [carts-run] Could not parse input file",
    )


def test_standin_left_behind_nested_allocation(standin_outcomes):
    options = {"ir_pattern": "op:memref.alloc", "ir_type": r"memref<\?xmemref<\?xmemref"}
    contains, lacks = build(["ir-contains"], options), build(["ir-lacks"], options)
    assert contains(standin_outcomes["leave"], "") and not lacks(standin_outcomes["leave"], "")
    assert lacks(standin_outcomes["flat"], "") and not contains(standin_outcomes["flat"], "")
    assert not contains(standin_outcomes["crash"], "")  # a crash prints no module


def test_standin_debug_log():
    if not STANDIN.exists():
        pytest.skip("the stand-in carts is absent")
    predicate = build(["debug-log"], {"debug_only": STAGE, "debug_regex": r"nested allocation %a: 3 levels"})
    assert predicate(run(predicate, standin("leave"), NESTED_USED), "")
    assert not predicate(run(predicate, standin("leave"), FLAT), "")
    # Without the flag the stand-in logs nothing: the predicate's adjust() is what turns it on.
    plain = anyio.run(run_test, standin("leave").spec(NESTED_USED, standin("leave").steps(), 60.0))
    assert not predicate(plain, "")


def test_standin_hang(tmp_path):
    if not STANDIN.exists():
        pytest.skip("the stand-in carts is absent")
    sleepy = tmp_path / "carts"
    sleepy.write_text(f"#!/bin/sh\nsleep 30\nexec {STANDIN} \"$@\"\n")
    sleepy.chmod(0o755)
    predicate = build(["hang"], {"hang_after": 0.5})
    hung = Tool(input_name="case.mlir", carts=str(sleepy), stage=STAGE)
    outcome_ = run(predicate, hung, FLAT, timeout=0.1)  # min_timeout lifts it
    assert outcome_.main.timed_out and predicate(outcome_, FLAT)
    # A stage that finishes is no hang (a limit far above any run, however loaded the machine).
    patient = build(["hang"], {"hang_after": 30})
    assert not patient(run(patient, standin("fixed"), FLAT), FLAT)


def test_standin_script_same_verdict_as_by_hand(tmp_path):
    if not STANDIN.exists():
        pytest.skip("the stand-in carts is absent")
    script = tmp_path / "interesting.sh"
    script.write_text(
        f"#!/bin/sh\n{STANDIN} run \"$1\" --{STAGE} 2>&1 | grep -q 'CanonicalizeMemrefsPass::runOnOperation'\n"
    )
    script.chmod(0o755)
    predicate = build(["script"], {"script": script})
    for text, expected in ((NESTED_USED, True), (FLAT, False)):
        work = tmp_path / ("yes" if expected else "no")
        work.mkdir()
        (work / "case.mlir").write_text(text)
        by_hand = subprocess.run([str(script), "case.mlir"], cwd=work, timeout=60).returncode == 0
        assert by_hand is expected
        assert predicate(run(predicate, standin(), text), text) is expected


def test_standin_output_mismatch(tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    # The "ARTS build" compiles with -DARTS: where the source says so, it
    # accumulates in float and drifts; the reference does not.
    program = textwrap.dedent(
        """\
        #include <stdio.h>
        int main(void) {
          double sum = 0;
          for (int i = 1; i <= 1000; i++) {
        #if defined(ARTS) && defined(DRIFT)
            sum += (float)(1.0 / i) * DRIFT;
        #else
            sum += 1.0 / i;
        #endif
          }
          printf("checksum: %.9f\\n", sum);
          printf("time: %d ms\\n", (int)(sum * 1000) % 7);
          return 0;
        }
        """
    )
    options = {
        "reference_command": "gcc -O0 {input} -o ref && ./ref",
        "candidate_command": "gcc -O0 -DARTS {input} -o arts && ./arts",
        "extra": {"mismatch_ignore": "^time:"},
    }
    tool = Tool(input_name="prog.c", command="true")
    loose = build(["output-mismatch"], {**options, "float_tolerance": 1e-3})
    exact = build(["output-mismatch"], options)
    drift = "#define DRIFT 1.01\n" + program
    rounding = "#define DRIFT 1.0\n" + program
    assert loose(run(loose, tool, drift), drift) and exact(run(exact, tool, drift), drift)
    rounded = run(exact, tool, rounding)
    assert exact(rounded, rounding)  # float rounding: different to the last digits
    assert not loose(rounded, rounding)  # but within 1e-3
    assert not exact(run(exact, tool, program), program)
    broken = "#define DRIFT\n" + program  # the ARTS build fails: no mismatch, a build error
    assert not loose(run(loose, tool, broken), broken)


# --------------------------------------------------------------------------
# With upstream mlir-opt 22

KEEPS_DEALLOC = """\
func.func private @use(memref<?xmemref<?xf32>>)
func.func @f(%n: index) {
  %a = memref.alloc(%n) : memref<?xmemref<?xf32>>
  call @use(%a) : (memref<?xmemref<?xf32>>) -> ()
  memref.dealloc %a : memref<?xmemref<?xf32>>
  return
}
"""
# Canonicalization erases an allocation that is only deallocated.
DROPS_DEALLOC = """\
func.func @f(%n: index) {
  %a = memref.alloc(%n) : memref<?xmemref<?xf32>>
  memref.dealloc %a : memref<?xmemref<?xf32>>
  "other.op"() : () -> ()
  return
}
"""
UNDEFINED_VALUE = 'func.func @f() {\n  "foo.op"(%x) : (i32) -> ()\n  return\n}\n'


def mlir_opt_tool() -> Tool:
    need(MLIR_OPT)
    return Tool(input_name="case.mlir", command=f"{MLIR_OPT} --allow-unregistered-dialect {{input}} --canonicalize",
                env=(("LLVM_DISABLE_SYMBOLIZATION", "1"),))  # fmt: skip


def test_mlir_opt_crash():
    need(CRASHES)
    tool = mlir_opt_tool()
    predicate = build(["crash"], {})
    crashing = (CRASHES / "mlir22-canonicalize-affine-load-empty-global" / "reference.mlir").read_text()
    assert predicate(run(predicate, tool, crashing), crashing)
    assert not predicate(run(predicate, tool, KEEPS_DEALLOC), KEEPS_DEALLOC)
    assert not predicate(run(predicate, tool, UNDEFINED_VALUE), UNDEFINED_VALUE)  # an error, not a crash


def test_mlir_opt_stderr_regex():
    tool = mlir_opt_tool()
    predicate = build(["stderr-regex"], {"stderr_regex": r"error: use of undeclared SSA value"})
    assert predicate(run(predicate, tool, UNDEFINED_VALUE), UNDEFINED_VALUE)
    assert not predicate(run(predicate, tool, KEEPS_DEALLOC), KEEPS_DEALLOC)


def test_mlir_opt_ir_contains_after_the_pass():
    tool = mlir_opt_tool()
    options = {"ir_pattern": "op:memref.dealloc", "ir_type": r"memref<\?xmemref<\?x"}
    contains, lacks = build(["ir-contains"], options), build(["ir-lacks"], options)
    kept, dropped = run(contains, tool, KEEPS_DEALLOC), run(contains, tool, DROPS_DEALLOC)
    assert contains(kept, KEEPS_DEALLOC) and not lacks(kept, KEEPS_DEALLOC)
    # The input holds the dealloc, but the pass removed it: judged on the output.
    assert not contains(dropped, DROPS_DEALLOC) and lacks(dropped, DROPS_DEALLOC)
    failed = run(contains, tool, UNDEFINED_VALUE)
    assert not contains(failed, UNDEFINED_VALUE) and not lacks(failed, UNDEFINED_VALUE)
    generic = Tool(input_name="case.mlir", command=f"{MLIR_OPT} {{input}} --canonicalize --mlir-print-op-generic")
    assert contains(run(contains, generic, KEEPS_DEALLOC), KEEPS_DEALLOC)


def test_mlir_opt_hang(tmp_path):
    """mlir-opt waiting on an input that never comes (a FIFO without a writer)
    does not finish: hang holds, and the test is killed just after the limit."""
    need(MLIR_OPT)
    fifo = tmp_path / "never.mlir"
    os.mkfifo(fifo)
    predicate = build(["hang"], {"hang_after": 0.5})
    blocked = Tool(input_name="case.mlir", command=f"{MLIR_OPT} {fifo} --canonicalize")
    outcome_ = run(predicate, blocked, KEEPS_DEALLOC, timeout=0.1)
    assert outcome_.main.timed_out  # killed: it would wait for ever
    assert outcome_.main.duration >= 0.5
    assert predicate(outcome_, KEEPS_DEALLOC)
    patient = build(["hang"], {"hang_after": 30})
    assert not patient(run(patient, mlir_opt_tool(), KEEPS_DEALLOC), KEEPS_DEALLOC)


@pytest.mark.parametrize(
    ("case", "tool"),
    [("mlir22-canonicalize-affine-load-empty-global", MLIR_OPT), ("mlir19-int-range-ceildivui-sigfpe", MLIR_OPT_19)],
)
def test_cvise_script_gives_the_same_verdict_as_by_hand(case, tool, tmp_path):
    need(tool)
    need(CRASHES / case)
    script = CRASHES / case / "interesting.sh"
    predicate = build(["script"], {"script": script})
    runner_tool = Tool(input_name="input.mlir", command="true")
    crashing = (CRASHES / case / "input.mlir").read_text()
    for text in (crashing, KEEPS_DEALLOC):
        work = tmp_path / str(len(text))
        work.mkdir()
        (work / "input.mlir").write_text(text)
        by_hand = subprocess.run(["bash", str(script)], cwd=work, capture_output=True, timeout=60).returncode == 0
        assert predicate(run(predicate, runner_tool, text), text) is by_hand
        assert by_hand is (text is crashing)


# --------------------------------------------------------------------------
# End to end: the seed's step 2 (a silent wrong result) reduced with ir-contains


def test_ir_contains_reduces_to_the_ops_that_keep_the_nested_allocation():
    if not STANDIN.exists():
        pytest.skip("the stand-in carts is absent")
    from carts_reduce.search.driver import Reducer, Settings
    from carts_reduce.passes import schedule

    filler = "".join(
        f"    %x{i} = arith.constant {i} : index\n    %y{i} = arith.addi %x{i}, %c0 : index\n" for i in range(6)
    )
    text = NESTED_USED.replace("    %a = memref.alloc", filler + "    %a = memref.alloc")
    helper = "  func.func @helper(%k: index) -> index {\n    return %k : index\n  }\n"
    text = text.replace("module {\n", "module {\n" + helper)
    predicate = build(["ir-contains"], {"ir_pattern": "op:memref.alloc", "ir_type": r"memref<\?xmemref<\?xmemref"})
    reducer = Reducer(text, standin("leave"), predicate, schedule("mlir"), Settings(jobs=2, timeout=30))

    async def go():
        await reducer.check_original()
        await reducer.reduce()

    anyio.run(go)
    best = reducer.best
    assert "memref.alloc(%n) : memref<?xmemref<?xmemref<?xf32>>>" in best
    assert len(best.splitlines()) <= 7, best
    assert "arith.addi" not in best and "@helper" not in best
