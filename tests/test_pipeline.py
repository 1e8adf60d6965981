"""The pipeline layer end to end: culprit stage, the cut at it, pass lists; bad requests."""

from __future__ import annotations

import json
import math
import shlex
import signal
import subprocess
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import interestingness
from carts_reduce.job import Job
from carts_reduce.pipeline.passlist import PassListError, split_passes, unknown_pass
from carts_reduce.pipeline.plan import Request, reduce_pipeline
from carts_reduce.run.outcome import Outcome, StepResult, TestSpec
from carts_reduce.run.tool import Tool, fill_passes, pass_list
from conftest import ROOT, STANDIN_CARTS, require
from test_cli import assert_one_line_error, carts_reduce
from test_pipeline_stages import CRASH, fake_carts
from test_resume import QuietView

EXAMPLE = ROOT / "examples" / "alloc3d.mlir"


# --------------------------------------------------------------------------
# Pass lists in commands


def test_a_pass_list_goes_into_a_command_quoted():
    command = fill_passes("mlir-opt {input} {passes} -o /dev/null", ["--cse", "--pass-pipeline=builtin.module(func.func(canonicalize{max-iterations=1}))"])
    tool = Tool(input_name="in.mlir", command=command)
    (step,) = tool.steps()
    assert step.argv[:2] == ("/bin/sh", "-c")  # parentheses: through the shell, quoted
    assert shlex.split(step.argv[2])[3] == "--pass-pipeline=builtin.module(func.func(canonicalize{max-iterations=1}))"


def test_a_pass_list_candidate_fills_the_command_and_the_input_stays():
    tool = Tool(input_name="in.mlir", command="mlir-opt {input} {passes} -o /dev/null", fixed_input="module {}\n")
    spec = tool.spec("--inline\n\n--cse\n", tool.steps(), 5)
    assert spec.files == (("in.mlir", b"module {}\n"),)
    assert spec.steps[0].argv == ("mlir-opt", "in.mlir", "--inline", "--cse", "-o", "/dev/null")
    shell = Tool(input_name="in.mlir", command="mlir-opt {input} {passes} 2>&1 | cat", fixed_input="x")
    spec = shell.spec("--sccp\n--pass-pipeline=a(b)\n", shell.steps(), 5)
    assert spec.steps[0].argv[2] == "mlir-opt in.mlir --sccp '--pass-pipeline=a(b)' 2>&1 | cat"


PASSES = [f"--p{i}" for i in range(10)]


def crashes_with(needed: set[str]):
    """An in-process tool that crashes when the input holds NEEDLE and the pass list holds ``needed``."""

    async def run(spec: TestSpec) -> Outcome:
        argv = spec.steps[-1].argv
        text = spec.files[0][1].decode()
        failing = "NEEDLE" in text and needed <= set(argv)
        result = StepResult("stage", argv, None if failing else 0, signal.SIGSEGV if failing else None, False, 0.0,
                            "", CRASH.format(n=1) if failing else "")
        return Outcome((result,))

    return run


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(PASSES), min_size=2, max_size=10, unique=True),
    st.lists(st.sampled_from(["alpha", "beta gamma", "delta", "eps {", "}"]), max_size=12),
    st.data(),
)
def test_pass_list_and_input_come_down_to_what_the_failure_needs(tmp_path_factory, passes, lines, data):
    needed = set(data.draw(st.lists(st.sampled_from(passes), min_size=1, max_size=2, unique=True)))
    folder = tmp_path_factory.mktemp("alternate")
    text = "\n".join([*lines, "x NEEDLE y"]) + "\n"
    job = Job(
        input_path=folder / "in.txt", output_path=folder / "out.txt", text=text, fmt="text",
        tool=Tool(input_name="in.txt", command="tool {input} {passes}"),
        predicate=interestingness.build([], {}, None), predicate_specs=["same-failure"], predicate_options={},
        jobs=2, timeout=5, verify=1,
    )
    result = anyio.run(lambda: reduce_pipeline(
        job, Request(passes=list(passes)), lambda j: QuietView(), lambda m: None, run=crashes_with(needed)))
    record = result.record
    kept = record.pipeline["passes"]
    # Exactly the passes the failure needs, in their original order; the input no larger than needed.
    assert kept == [p for p in passes if p in needed]
    assert pass_list((folder / "out.txt.passes").read_text()) == kept
    assert (folder / "out.txt").read_text().strip() == "NEEDLE"
    assert record.command == fill_passes("tool {input} {passes}", kept)
    assert record.pipeline["passes_before"] == list(passes)


def test_unknown_passes_are_named():
    output = ("mlir-opt: Unknown command line argument '--canonicalise'.  Try: 'mlir-opt --help'\n"
              "mlir-opt: Did you mean '--canonicalize'?\n")
    found = unknown_pass(output, ["--cse", "--canonicalise"])
    assert found and "--canonicalise" in found and "did you mean --canonicalize?" in found
    assert unknown_pass(output, ["--cse"]) is None
    with pytest.raises(PassListError):
        split_passes("--a '--b")


# --------------------------------------------------------------------------
# The command line, end to end


def reduced_text(result) -> str:
    return Path(result.stdout.strip()).read_text()


def test_c_benchmark_failing_in_a_later_stage(shared_data, tmp_path):
    """No --pass: the culprit is found, and the module entering it beats the C source."""
    require("gcc")
    source = tmp_path / "jacobi2d.c"
    source.write_text((shared_data / "c-carts-benchmarks" / "polybench__jacobi2d__jacobi2d.c").read_text())
    original = source.read_text()
    cut = carts_reduce(str(source), "--carts", str(STANDIN_CARTS), "-j", "2", "--verify", "1", cwd=tmp_path)
    assert cut.returncode == 0, cut.stderr
    assert "fails in stage concurrency (passes: PolygeistCanonicalize, Concurrency, ForOpt" in cut.stderr
    reduced = Path(cut.stdout.strip())
    assert reduced.name == "jacobi2d.reduced.mlir"
    record = json.loads((tmp_path / "jacobi2d.reduced.mlir.json").read_text())
    culprit = record["pipeline"]["culprit"]
    assert culprit["stage"] == "concurrency" and culprit["runs"] <= math.ceil(math.log2(14)) + 2
    assert record["pipeline"]["start_from"] == "concurrency"
    assert record["command"] == "{carts} compile {input} --start-from={stage} --pipeline={stage}"
    # The result still fails with the stage run alone.
    alone = subprocess.run([str(STANDIN_CARTS), "compile", str(reduced), "--start-from=concurrency",
                            "--pipeline=concurrency"], capture_output=True, text=True)
    assert alone.returncode == -signal.SIGSEGV and "ConcurrencyPass::runOnOperation" in alone.stderr
    # Filed, the case keeps its stage and runs it alone, in the corpus check and in its lit test.
    corpus = tmp_path / "corpus"
    assert carts_reduce("corpus", "add", str(reduced), "--corpus", str(corpus), cwd=tmp_path).returncode == 0
    (case,) = corpus.glob("*/case.toml")
    import tomllib

    meta = tomllib.loads(case.read_text())
    assert meta["pipeline"]["culprit"]["stage"] == "concurrency" and meta["stage"] == "concurrency"
    checked = carts_reduce("corpus", "check", "--corpus", str(corpus), "--carts", str(STANDIN_CARTS), cwd=tmp_path)
    assert checked.returncode == 0 and "still failing" in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    assert carts_reduce("corpus", "export-lit", str(tmp_path / "lit"), "--corpus", str(corpus), cwd=tmp_path).returncode == 0
    (lit,) = (tmp_path / "lit").glob("*.mlir")
    assert "// RUN: not --crash %carts compile %s --start-from=concurrency --pipeline=concurrency" in lit.read_text()

    whole = carts_reduce(str(source), "--carts", str(STANDIN_CARTS), "-j", "2", "--verify", "1", "--from", "source",
                         cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    source_record = json.loads((tmp_path / "jacobi2d.reduced.c.json").read_text())
    assert source_record["pipeline"]["from"] == "source"
    # Compared as what enters the stage: the reduced C's module at edt-opt.
    entering = subprocess.run([str(STANDIN_CARTS), "compile", str(tmp_path / "jacobi2d.reduced.c"),
                               "--pipeline=edt-opt"], capture_output=True, text=True)
    assert entering.returncode == 0, entering.stderr
    from carts_reduce.formats.mlir import count_ops

    assert record["sizes_after"]["ops"] < count_ops(entering.stdout)
    assert record["tests_run"] < source_record["tests_run"]
    assert source.read_text() == original


def test_an_old_driver_gives_the_same_result_without_the_cut(tmp_path):
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    log = tmp_path / "calls.log"
    old = carts_reduce(str(case), "--carts", str(fake_carts(tmp_path, "old", log=log)), "-j", "2", "-o", "old.mlir",
                       cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert old.stderr.count("has no --start-from (an older driver)") == 1
    assert "fails in stage canonicalize-memrefs (passes" not in old.stderr  # the old driver lists no passes
    assert "fails in stage canonicalize-memrefs" in old.stderr
    assert not [line for line in log.read_text().splitlines() if line.split()[:1] == ["compile"]]
    new = carts_reduce(str(case), "--carts", str(STANDIN_CARTS), "-j", "2", "-o", "new.mlir", "--from", "source",
                       cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert (tmp_path / "old.mlir").read_text() == (tmp_path / "new.mlir").read_text()
    old_record = json.loads((tmp_path / "old.mlir.json").read_text())
    new_record = json.loads((tmp_path / "new.mlir.json").read_text())
    assert old_record["pipeline"]["culprit"]["stage"] == new_record["pipeline"]["culprit"]["stage"]
    assert old_record["pipeline"]["culprit"]["runs"] == new_record["pipeline"]["culprit"]["runs"]


def test_the_cut_at_the_first_stage_reduces_the_input_itself(tmp_path):
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    result = carts_reduce(str(case), "--carts", str(STANDIN_CARTS), "--pass", "auto", "-j", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "alloc3d.reduced.mlir.json").read_text())
    assert record["pipeline"]["start_from"] == "canonicalize-memrefs"
    assert record["pipeline"]["input_sizes"]["ops"] == record["sizes_before"]["ops"]
    assert "fails in stage" in result.stderr and "module entering canonicalize-memrefs" in result.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        ([], ("does not fail on alloc3d.mlir", "no failing stage")),
        (["--from", "everything"], ("--from everything: must be stage-input or source",)),
        (["--passes", "--cse"], ("--passes needs a --command that holds {passes}",)),
        (["--command", "cat {input} {passes}"], ("--command holds {passes}",)),
        (["--from", "stage-input", "--command", "{carts} run {input} --{stage} --debug-only=x"], ("--from stage-input",)),
        (["--pass", "concurency"], ("unknown stage 'concurency'", "canonicalize-memrefs", "complete")),
    ],
)
def test_bad_pipeline_requests_get_one_line(tmp_path, args, words):
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    fixed = fake_carts(tmp_path, bug="fixed")
    result = carts_reduce(str(case), "--carts", str(fixed), *args, cwd=tmp_path)
    assert_one_line_error(result, *words)
    assert case.read_text() == EXAMPLE.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([case.name, fixed.name])


def test_a_malformed_manifest_gets_one_line(tmp_path):
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    broken = fake_carts(tmp_path, "malformed-manifest")
    result = carts_reduce(str(case), "--carts", str(broken), cwd=tmp_path)
    assert_one_line_error(result, "pipeline --json` printed a manifest carts-reduce cannot read", "fix or rebuild")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([case.name, broken.name])


def test_no_culprit_search_where_no_stage_runs(tmp_path):
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    log = tmp_path / "calls.log"
    carts = fake_carts(tmp_path, log=log)
    script = tmp_path / "interesting.sh"
    script.write_text("#!/bin/sh\ngrep -q 'memref<?xmemref<?xmemref' \"$1\"\n")
    script.chmod(0o755)
    scripted = carts_reduce(str(case), "--carts", str(carts), "--script", str(script), "-o", "s.mlir", cwd=tmp_path)
    assert scripted.returncode == 0, scripted.stderr
    mismatch = carts_reduce(str(case), "--carts", str(carts), "--predicate", "output-mismatch",
                            "--reference-command", "echo 0", "--candidate-command", "grep -c 'memref<?xmemref' {input}",
                            "-o", "m.mlir", cwd=tmp_path)
    assert mismatch.returncode == 0, mismatch.stderr
    plain = carts_reduce(str(case), "--command", "grep -c alloc {input}", "--predicate", "stdout-regex",
                         "--stdout-regex", "^[1-9]", "-o", "p.mlir", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    for result in (scripted, mismatch, plain):
        assert "fails in stage" not in result.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    assert not [call for call in calls if call.split()[:1] in (["run"], ["compile"], ["pipeline"])], calls


# --------------------------------------------------------------------------
# A real mlir-opt crash under a long pass list


MLIR_OPT = "/usr/lib/llvm-22/bin/mlir-opt"
LONG_LIST = ("--symbol-privatize --cse --loop-invariant-code-motion --affine-loop-normalize "
             "--affine-simplify-structures --mem2reg --sroa --control-flow-sink --canonicalize "
             "--loop-invariant-subset-hoisting --symbol-dce --cse")


def test_a_twelve_pass_pipeline_comes_down_to_the_pass_that_crashes(shared_data, tmp_path, mlir_opt):
    case = tmp_path / "input.mlir"
    case.write_text((shared_data / "real-crashes" / "mlir22-canonicalize-affine-load-empty-global" / "input.mlir").read_text())
    env = {"LLVM_DISABLE_SYMBOLIZATION": "1"}
    listed = carts_reduce(str(case), "--command", f"{mlir_opt} {{input}} {{passes}} -o /dev/null", "--passes", LONG_LIST,
                          "-j", "2", "-o", "listed.mlir", "--report", "report.md", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    single = carts_reduce(str(case), "--command", f"{mlir_opt} {{input}} --canonicalize -o /dev/null",
                          "-j", "2", "-o", "single.mlir", cwd=tmp_path, env=env)
    assert single.returncode == 0, single.stderr
    record = json.loads((tmp_path / "listed.mlir.json").read_text())
    assert record["pipeline"]["passes"] == ["--canonicalize"]
    assert record["pipeline"]["passes_before"] == LONG_LIST.split()
    assert record["command"] == f"{mlir_opt} {{input}} --canonicalize -o /dev/null"
    from carts_reduce.formats.mlir import count_ops

    assert count_ops((tmp_path / "listed.mlir").read_text()) <= count_ops((tmp_path / "single.mlir").read_text())
    assert (tmp_path / "listed.mlir.passes").read_text() == "--canonicalize\n"
    assert "passes kept" in listed.stderr and "--canonicalize" in listed.stderr
    assert "the failure needs 1 of the 12 passes given: `--canonicalize`" in (tmp_path / "report.md").read_text()
    # The lit test's RUN line names the one pass.
    corpus = tmp_path / "corpus"
    added = carts_reduce("corpus", "add", "listed.mlir", "--corpus", str(corpus), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    exported = carts_reduce("corpus", "export-lit", str(tmp_path / "lit"), "--corpus", str(corpus), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    (test,) = (tmp_path / "lit").glob("*.mlir")
    run_line = next(line for line in test.read_text().splitlines() if line.startswith("// RUN:"))
    assert "--canonicalize" in run_line and "--sroa" not in run_line and "{passes}" not in run_line


def test_an_unknown_pass_gets_one_line(tmp_path, mlir_opt):
    case = tmp_path / "alloc3d.mlir"
    case.write_text(EXAMPLE.read_text())
    result = carts_reduce(str(case), "--command", f"{mlir_opt} {{input}} {{passes}}", "--passes",
                          "--cse --canonicalise --sccp", cwd=tmp_path)
    assert_one_line_error(result, "--passes: the tool does not know the pass --canonicalise",
                          "did you mean --canonicalize?")
    assert sorted(p.name for p in tmp_path.iterdir()) == [case.name]
