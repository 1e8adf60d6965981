"""Failure signatures: parsed from real crash output, stable where it must be."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import anyio
import pytest

from carts_reduce.run.outcome import Outcome, StepResult
from carts_reduce.run.runner import run_test
from carts_reduce.signature import Signature, function_name, parse_frames, top_frames
from carts_reduce.run.tool import Tool

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "data" / "signature"
SHARED = HERE.parents[1] / "shared" / "data"
CRASHES = SHARED / "real-crashes"
MLIR_OPT_22 = Path("/usr/lib/llvm-22/bin/mlir-opt")
MLIR_OPT_19 = Path("/usr/lib/llvm-19/bin/mlir-opt")
CLANG_19 = Path("/usr/lib/llvm-19/bin/clang")

AFFINE_LOAD_FRAMES = (
    "mlir::DenseElementsAttr::AttributeElementIterator::operator*",
    "mlir::detail::ElementsAttrRange<mlir::DenseElementsAttr::AttributeElementIterator>::operator[]",
    "mlir::affine::AffineLoadOp::fold",
)


def step(
    stderr: str = "",
    returncode: int | None = 1,
    signal: int | None = None,
    name: str = "stage",
    stdout: str = "",
    timed_out: bool = False,
) -> StepResult:
    return StepResult(name, ("tool",), returncode, signal, timed_out, 0.1, stdout, stderr)


def outcome(*steps: StepResult) -> Outcome:
    return Outcome(tuple(steps))


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# --------------------------------------------------------------------------
# Captured real outputs (no tools needed)


def test_llvm_unsymbolized_dump_gives_top_frames_without_machinery():
    sig = Signature.from_outcome(outcome(step(fixture("mlir22-canonicalize.unsymbolized.stderr"), None, 11)))
    assert sig.step == "stage"
    assert sig.status == "SIGSEGV"
    # PrintStackTrace, RunSignalHandlers, the nameless handler and the libc
    # frames come first in the dump; none of them may be in the signature.
    assert sig.frames == AFFINE_LOAD_FRAMES
    assert not sig.assertion and not sig.mlir_error and not sig.errors


def test_symbolized_and_unsymbolized_dumps_give_one_signature():
    # The symbolized dump names a libc frame (__memcpy_avx512_unaligned_erms)
    # and prints "> >" in templates; the unsymbolized one does neither.
    plain = Signature.from_outcome(outcome(step(fixture("mlir22-canonicalize.unsymbolized.stderr"), None, 11)))
    symbolized = Signature.from_outcome(outcome(step(fixture("mlir22-canonicalize.symbolized.stderr"), None, 11)))
    assert plain == symbolized
    assert hash(plain) == hash(symbolized)


def test_clang_dump_through_the_driver():
    text = fixture("clang19-openmp-simd.unsymbolized.stderr")
    sig = Signature.from_outcome(outcome(step(text, 139)))
    assert sig.status == "exit 139"
    assert sig.frames == (
        "clang::CodeGen::CodeGenFunction::EmitDeclRefLValue",
        "clang::CodeGen::CodeGenFunction::EmitLValueHelper",
        "clang::CodeGen::CodeGenFunction::EmitLValue",
    )
    # "clang: error: clang frontend command failed ..." is the driver talking,
    # not a diagnostic with a location.
    assert sig.mlir_error == ""
    assert "clang::CodeGen::CGOpenMPRuntime::emitInlinedDirective" in top_frames(text, 8)


def test_frames_without_symbols_are_skipped_in_symbolized_form():
    text = fixture("mlir19-int-range.symbolized.stderr")
    frames = parse_frames(text)
    assert [frame.index for frame in frames] == list(range(len(frames)))
    assert frames[3].module == "libc.so.6" and frames[3].symbol == ""
    assert top_frames(text, 3) == (
        "llvm::APInt::udiv",
        "mlir::intrange::inferCeilDivU",
        "mlir::arith::CeilDivUIOp::inferResultRanges",
    )


def test_frames_count_is_a_parameter():
    text = fixture("mlir22-canonicalize.unsymbolized.stderr")
    assert Signature.from_outcome(outcome(step(text, None, 11)), frames=1).frames == AFFINE_LOAD_FRAMES[:1]
    assert len(Signature.from_outcome(outcome(step(text, None, 11)), frames=5).frames) == 5
    assert Signature.from_outcome(outcome(step(text, None, 11)), frames=0).frames == ()


# --------------------------------------------------------------------------
# The CARTS forms (CARTS.md)

CARTS_ASSERT = """\
carts-run: /opt/carts/lib/arts/Transforms/CanonicalizeMemrefs.cpp:412: void mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation(): Assertion `rank <= 2 && "nested"' failed.
PLEASE submit a bug report to https://github.com/llvm/llvm-project/issues/ and include the crash backtrace.
Stack dump:
0.\tProgram arguments: /opt/carts/bin/carts-run t.mlir --canonicalize-memrefs
 #0 0x000055d1c2f00000 llvm::sys::PrintStackTrace(llvm::raw_ostream&, int) /src/llvm/lib/Support/Unix/Signals.inc:723:13
 #1 0x000055d1c2f01a3f llvm::sys::RunSignalHandlers() /src/llvm/lib/Support/Signals.cpp:106:18
 #2 0x000055d1c2f0347e SignalHandler(int, siginfo_t*, void*) /src/llvm/lib/Support/Unix/Signals.inc:413:1
 #3 0x00007f3a1a05a050 (/lib/x86_64-linux-gnu/libc.so.6+0x3c050)
 #4 0x00007f3a1a0a8e2c __pthread_kill_implementation ./nptl/pthread_kill.c:44:76
 #5 0x00007f3a1a05afb2 raise ./signal/../sysdeps/posix/raise.c:27:6
 #6 0x00007f3a1a045472 abort ./stdlib/abort.c:81:7
 #7 0x00007f3a1a045395 _nl_load_domain ./intl/loadmsgcat.c:1177:9
 #8 0x00007f3a1a053eb2 (/lib/x86_64-linux-gnu/libc.so.6+0x35eb2)
 #9 0x000055d1c3a1b2c4 in mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation() /opt/carts/lib/arts/Transforms/CanonicalizeMemrefs.cpp:412:3
#10 0x000055d1c3b2f9e1 in mlir::detail::OpToOpPassAdaptor::run(mlir::Pass*, mlir::Operation*, mlir::AnalysisManager, bool, unsigned int) /src/mlir/lib/Pass/Pass.cpp:535:17
#11 0x000055d1c3b30151 mlir::detail::OpToOpPassAdaptor::runPipeline(mlir::OpPassManager&, mlir::Operation*, mlir::AnalysisManager, bool, unsigned int, mlir::PassInstrumentor*, mlir::PassInstrumentation::PipelineParentInfo const*) (/opt/carts/bin/carts-run+0x1c30151)
#12 0x000055d1c3b3325b mlir::PassManager::run(mlir::Operation*) (/opt/carts/bin/carts-run+0x1c3325b)
"""


def test_carts_assertion_crash():
    sig = Signature.from_outcome(outcome(step(CARTS_ASSERT, None, 6)))
    assert sig.status == "SIGABRT"
    assert sig.assertion == (
        "void mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation(): "
        "Assertion `rank <= 2 && \"nested\"' failed."
    )
    # _nl_load_domain is how a symbolizer may name __assert_fail's code in
    # libc: its glibc source path (./intl/...) gives it away.
    assert sig.frames[0] == "mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation"
    assert sig.frames[1:] == ("mlir::detail::OpToOpPassAdaptor::run", "mlir::detail::OpToOpPassAdaptor::runPipeline")


def test_assertion_keeps_expression_and_function_not_the_path():
    moved = CARTS_ASSERT.replace("/opt/carts/lib/arts/Transforms/CanonicalizeMemrefs.cpp:412", "/home/u/carts/lib/C.cpp:415")
    a = Signature.from_outcome(outcome(step(CARTS_ASSERT, None, 6)))
    b = Signature.from_outcome(outcome(step(moved, None, 6)))
    assert a.assertion == b.assertion


def test_unreachable():
    text = "unknown directive kind\nUNREACHABLE executed at /build/clang/lib/CodeGen/CGOpenMPRuntime.cpp:251!\n"
    assert Signature.from_step(step(text, None, 6)).assertion == "UNREACHABLE executed at CGOpenMPRuntime.cpp:251"


def test_error_lines_dedupe_and_mask_ssa_names():
    module = "module {\n" + "  %0 = memref.alloc() : memref<4xf32>\n" * 2000 + "}\n"
    text = (
        "[ERROR] [canonicalize_memrefs] Cannot rewrite %42 in ^bb3\n"
        "[ERROR] [canonicalize_memrefs] Cannot rewrite %alloc_7 in ^bb1\n"
        "[ERROR] [carts-run] Error when canonicalizing memrefs\n" + module
    )
    sig = Signature.from_step(step(text))
    assert sig.errors == (
        "[ERROR] [canonicalize_memrefs] Cannot rewrite %_ in ^bb",
        "[ERROR] [carts-run] Error when canonicalizing memrefs",
    )
    assert sig.frames == () and sig.mlir_error == ""


def test_mlir_error_without_location():
    a = "t.mlir:3:16: error: use of value '%c' expects different type than prior uses: 'f32' vs 'i32'\n  memref.store\n"
    b = "other/name.mlir:97:2: error: use of value '%x1' expects different type than prior uses: 'f32' vs 'i32'\n"
    sig_a, sig_b = Signature.from_step(step(a)), Signature.from_step(step(b))
    assert sig_a.mlir_error == "use of value '%_' expects different type than prior uses: 'f32' vs 'i32'"
    assert sig_a == sig_b
    unknown = Signature.from_step(step("<unknown>:0: error: 'func.func' op symbol's parent must have a symbol table\n"))
    assert unknown.mlir_error == "'func.func' op symbol's parent must have a symbol table"
    # Only the first error counts; notes are no errors.
    two = a + "t.mlir:2:3: note: prior use here\nt.mlir:9:1: error: something else\n"
    assert Signature.from_step(step(two)).mlir_error == sig_a.mlir_error


def test_llvm_error():
    sig = Signature.from_step(step("LLVM ERROR: can't create Attribute 'mlir::arts::X' for %v3\n", 1))
    assert sig.llvm_error == "can't create Attribute 'mlir::arts::X' for %_"


def test_clean_exit_has_empty_signature():
    sig = Signature.from_outcome(outcome(step("error: looks bad but exit 0\n", 0, stdout="module {}\n")))
    assert not sig
    assert sig == Signature()
    assert sig.to_dict() == {}
    assert sig.summary() == "no failure"


def test_first_failing_step_is_the_one_signed():
    checked = step("x.c:1:1: error: unknown type name 'flaot'\n", 1, name="precheck")
    sig = Signature.from_outcome(outcome(checked))
    assert (sig.step, sig.mlir_error) == ("precheck", "unknown type name 'flaot'")
    later = Signature.from_outcome(outcome(step("", 0, name="precheck"), step("", None, 11)))
    assert (later.step, later.status) == ("stage", "SIGSEGV")


def test_status_tells_signal_exit_and_timeout_apart():
    text = fixture("mlir22-canonicalize.unsymbolized.stderr")
    segv = Signature.from_step(step(text, None, 11))
    abrt = Signature.from_step(step(text, None, 6))
    exit1 = Signature.from_step(step(text, 1))
    timeout = Signature.from_step(step("", None, None, timed_out=True))
    assert len({segv, abrt, exit1, timeout}) == 4
    assert timeout.status == "timeout"
    # What a killed step printed so far depends on timing, not on the bug.
    partial = Signature.from_step(step("[ERROR] [x] got this far\n", None, None, timed_out=True))
    assert partial == timeout


def test_stdout_is_read_only_when_stderr_says_nothing():
    sig = Signature.from_step(step("", 1, stdout="[ERROR] [carts-run] Could not parse input file\n"))
    assert sig.errors == ("[ERROR] [carts-run] Could not parse input file",)
    quiet = Signature.from_step(step("[ERROR] [x] y\n", 1, stdout="[ERROR] [carts-run] other\n"))
    assert quiet.errors == ("[ERROR] [x] y",)


def test_dict_round_trip_and_json():
    sig = Signature.from_step(step(CARTS_ASSERT, None, 6))
    data = json.loads(json.dumps(sig.to_dict()))
    assert Signature.from_dict(data) == sig
    assert Signature.from_dict({**data, "unknown_future_key": 1}) == sig
    assert {sig: "seen"}[Signature.from_dict(data)] == "seen"
    line = sig.summary()
    assert "\n" not in line and line.startswith("stage: SIGABRT; void mlir::arts::")


@pytest.mark.parametrize(
    ("symbol", "name"),
    [
        ("mlir::affine::AffineLoadOp::fold(mlir::affine::AffineLoadOpGenericAdaptor<llvm::ArrayRef<mlir::Attribute> >)",
         "mlir::affine::AffineLoadOp::fold"),
        ("void mlir::detail::walk<mlir::ForwardIterator>(mlir::Operation*, llvm::function_ref<void (mlir::Operation*)>)",
         "mlir::detail::walk<mlir::ForwardIterator>"),
        ("mlir::Foo::run()::$_0::operator()(int) const", "mlir::Foo::run::$_0::operator()"),
        ("mlir::Foo::bar()::{lambda(mlir::Operation*)#1}::operator()(mlir::Operation*) const",
         "mlir::Foo::bar::{lambda(mlir::Operation*)#1}::operator()"),
        ("mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation()",
         "mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation"),
        ("std::vector<int, std::allocator<int> >::operator[](unsigned long)", "std::vector<int, std::allocator<int>>::operator[]"),
        ("mlir::Value::operator bool() const", "mlir::Value::operator bool"),
        ("char const* llvm::StringRef::data() const", "llvm::StringRef::data"),
        ("a::operator->() &&", "a::operator->"),
        ("main", "main"),
    ],
)  # fmt: skip
def test_function_name(symbol, name):
    assert function_name(symbol) == name


def test_a_large_stderr_gives_the_same_signature():
    # A failing CARTS pass dumps the whole module to stderr: ~100 KB here. (What
    # reading it costs is measured by bench/cost.py, not asserted on a clock.)
    line = "    %{0} = memref.load %arg0[%c{0}] : memref<?xmemref<?xf32>>  // 0x{0:x}\n"
    module = "".join(line.format(i) for i in range(1500))
    assert len(module) > 100_000
    error = Outcome((step("[ERROR] [carts-run] Error when canonicalizing memrefs\n" + module),))
    crash = Outcome((step(module + fixture("mlir22-canonicalize.unsymbolized.stderr"), None, 11),))
    assert Signature.from_outcome(crash).frames == AFFINE_LOAD_FRAMES
    assert Signature.from_outcome(error).errors == ("[ERROR] [carts-run] Error when canonicalizing memrefs",)


# --------------------------------------------------------------------------
# Real tools, run the way the reducer runs them


def _need(path: Path, *data: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    for item in data:
        if not item.exists():
            pytest.skip(f"shared data {item} is absent")


def _run(case: str, name: str, command: str, symbolize: bool, monkeypatch) -> Outcome:
    monkeypatch.delenv("LLVM_DISABLE_SYMBOLIZATION", raising=False)
    env = () if symbolize else (("LLVM_DISABLE_SYMBOLIZATION", "1"),)
    tool = Tool(input_name=name, command=command, env=env)
    text = (CRASHES / case / name).read_text()
    return anyio.run(run_test, tool.spec(text, tool.steps(), 60.0))


@pytest.mark.parametrize("symbolize", [False, True], ids=["unsymbolized", "symbolized"])
def test_real_mlir22_crash_same_signature_on_input_and_reference(symbolize, monkeypatch):
    case = "mlir22-canonicalize-affine-load-empty-global"
    _need(MLIR_OPT_22, CRASHES / case)
    if symbolize and shutil.which("llvm-symbolizer") is None:
        pytest.skip("llvm-symbolizer is not on PATH")
    command = f"{MLIR_OPT_22} {{input}} --canonicalize -o /dev/null"
    big = Signature.from_outcome(_run(case, "input.mlir", command, symbolize, monkeypatch))
    small = Signature.from_outcome(_run(case, "reference.mlir", command, symbolize, monkeypatch))
    assert big == small
    assert (big.step, big.status, big.frames) == ("stage", "SIGSEGV", AFFINE_LOAD_FRAMES)


def test_real_mlir22_symbolization_does_not_change_the_signature(monkeypatch):
    case = "mlir22-canonicalize-affine-load-empty-global"
    _need(MLIR_OPT_22, CRASHES / case)
    command = f"{MLIR_OPT_22} {{input}} --canonicalize -o /dev/null"
    plain = _run(case, "reference.mlir", command, False, monkeypatch)
    rich = _run(case, "reference.mlir", command, True, monkeypatch)
    assert "Stack dump without symbol names" in plain.main.stderr
    assert Signature.from_outcome(plain) == Signature.from_outcome(rich)


def test_real_mlir19_sigfpe(monkeypatch):
    case = "mlir19-int-range-ceildivui-sigfpe"
    _need(MLIR_OPT_19, CRASHES / case)
    command = f"{MLIR_OPT_19} {{input}} --int-range-optimizations -o /dev/null"
    outcome_ = _run(case, "input.mlir", command, False, monkeypatch)
    sig = Signature.from_outcome(outcome_)
    assert sig.status == "SIGFPE"
    assert sig.frames[:2] == ("llvm::APInt::udiv", "mlir::intrange::inferCeilDivU")
    assert sig == Signature.from_outcome(_run(case, "reference.mlir", command, False, monkeypatch))


def test_real_clang19_crash_frames_match_the_case(monkeypatch):
    case = "clang19-omp-target-teams-simd-globalvar"
    _need(CLANG_19, CRASHES / case)
    command = f"{CLANG_19} -fopenmp-simd -fno-crash-diagnostics -w -c {{input}} -o /dev/null"
    outcome_ = _run(case, "reference.c", command, False, monkeypatch)
    sig = Signature.from_outcome(outcome_)
    assert sig.status == "exit 139"  # the clang driver reports its cc1's death
    assert sig.frames[0] == "clang::CodeGen::CodeGenFunction::EmitDeclRefLValue"
    # The case pins these two among frames 4-15 of the dump.
    deep = top_frames(outcome_.main.stderr, 12)
    assert "clang::CodeGen::CGOpenMPRuntime::emitInlinedDirective" in deep


def test_real_mlir22_parse_error_has_message_without_location(tmp_path, monkeypatch):
    _need(MLIR_OPT_22)
    tool = Tool(input_name="bad.mlir", command=f"{MLIR_OPT_22} --allow-unregistered-dialect {{input}}")
    bad_a = 'func.func @f() {\n  "foo.op"(%x) : (i32) -> ()\n  return\n}\n'
    bad_b = '\n\nfunc.func @g() {\n  %c = arith.constant 1 : i32\n  "foo.op"(%y) : (i32) -> ()\n  return\n}\n'
    a = Signature.from_outcome(anyio.run(run_test, tool.spec(bad_a, tool.steps(), 30.0)))
    b = Signature.from_outcome(anyio.run(run_test, tool.spec(bad_b, tool.steps(), 30.0)))
    assert a.status == "exit 1"
    assert a.mlir_error == "use of undeclared SSA value name"
    assert a == b
    good = anyio.run(run_test, tool.spec("func.func @f() {\n  return\n}\n", tool.steps(), 30.0))
    assert not Signature.from_outcome(good)


def test_fixtures_cover_both_dump_formats():
    # The captured fixtures were made with and without symbolization; keep
    # both so the tool-less tests above cover both formats.
    assert "Stack dump without symbol names" in fixture("mlir22-canonicalize.unsymbolized.stderr")
    assert " #5 0x" in fixture("mlir22-canonicalize.symbolized.stderr")
    assert os.path.getsize(FIXTURES / "clang19-openmp-simd.unsymbolized.stderr") < 8192
