"""export-lit: corpus cases as lit tests that run under the real lit and FileCheck."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carts_reduce.corpus.store import Case, Corpus
from carts_reduce.corpus.cli import corpus_app
from carts_reduce.corpus.lit_export import NotExportable, check_frame, check_normalized, check_regex, check_text, export_lit, lit_test
from carts_reduce.run.tool import DEFAULT_COMMAND, DEFAULT_FRONTEND

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_corpus import ALLOC_3D_C, NESTED, STANDIN, UNPARSEABLE, fake_carts, make_result  # noqa: E402

LIT = Path(sys.executable).parent / "lit"
VENV_BIN = Path(sys.executable).parent
NESTED_TYPE = "memref<?xmemref<?xmemref<?xf32>>>"


def write_case(root: Path, case_id: str, text: str, suffix: str = ".mlir", **meta) -> Case:
    """A case folder written directly (for kinds the stand-in reductions do not make)."""
    folder = root / case_id
    folder.mkdir(parents=True)
    (folder / f"input{suffix}").write_text(text)
    base = {
        "id": case_id,
        "input": f"input{suffix}",
        "format": "mlir" if suffix == ".mlir" else "c",
        "stage": "canonicalize-memrefs",
        "command": DEFAULT_COMMAND,
        "predicates": [],
        "status": "failing",
    }
    case = Case(folder, {**base, **meta})
    case.save()
    return Case.load(folder)


def run_lit(directory: Path, carts: Path, tests: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    if not LIT.exists():
        pytest.skip(f"lit is not installed in the venv ({LIT}); pip install -e '.[test]'")
    environment = {**os.environ, "CARTS": str(carts), **(env or {})}
    return subprocess.run(
        [str(LIT), "-a", str(directory), *([f"--filter={tests}"] if tests else [])],
        capture_output=True, text=True, env=environment, timeout=300,
    )


# ---------------------------------------------------------------------------
# FileCheck patterns


def test_check_text_escapes_filecheck_syntax() -> None:
    assert check_text("  a   b ") == "a b"
    assert check_text("x [[y]] {{z}}") == r"x {{\[\[}}y]] {{\{\{}}z}}"
    assert check_text("[ERROR] [carts-run] Could not parse") == "[ERROR] [carts-run] Could not parse"


def test_check_normalized_turns_masked_names_into_regexes() -> None:
    pattern = check_normalized("error: 'memref.store' op operand %_ in ^bb must be f32")
    assert pattern == "error: 'memref.store' op operand {{%[^ ,:()]+}} in {{\\^bb[0-9]+}} must be f32"


def test_check_frame_accepts_both_template_spellings() -> None:
    assert check_frame("mlir::Pass::run") == "mlir::Pass::run"
    assert check_frame("a<b<c>>::f") == "{{a<b<c> ?>::f}}"


def test_check_regex_translates_perl_classes() -> None:
    assert check_regex(r"memref<\?x\d+") == r"{{memref<\?x[0-9]+}}"
    with pytest.raises(NotExportable):
        check_regex("a}}b")


# ---------------------------------------------------------------------------
# RUN and CHECK lines per kind of failure


def test_crash_case_lines(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "corpus")
    case = corpus.add(make_result(tmp_path / "r", NESTED)).case
    test = lit_test(case)
    lines = test.text.splitlines()
    assert test.name == case.id + ".mlir"
    assert "// RUN: not --crash %carts run %s --canonicalize-memrefs 2>&1 | FileCheck %s" in lines
    checks = [line for line in lines if line.startswith("// CHECK:")]
    assert checks == [
        "// CHECK: Assertion `rank <= 2 && \"nested memrefs of more than 2 levels are not supported\"' failed",
        "// CHECK: mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation",
    ]
    assert test.text.endswith(NESTED)


def test_error_case_lines(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "corpus")
    case = corpus.add(make_result(tmp_path / "r", UNPARSEABLE, original="broken.mlir")).case
    lines = lit_test(case).text.splitlines()
    assert "// RUN: not %carts run %s --canonicalize-memrefs 2>&1 | FileCheck %s" in lines
    assert "// CHECK: [ERROR] [carts-run] Could not parse input file" in lines


def test_ir_and_c_case_lines(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    ir = write_case(
        root, "leave-1", NESTED, predicates=["ir-contains"], predicate_options={"ir_pattern": r"memref<\?xmemref<\?xmemref"}
    )
    lines = lit_test(ir).text.splitlines()
    assert "// RUN: %carts run %s --canonicalize-memrefs | FileCheck %s" in lines
    assert r"// CHECK: {{memref<\?xmemref<\?xmemref}}" in lines

    lacks = write_case(root, "lacks-1", NESTED, predicates=["ir-lacks"], predicate_options={"ir_pattern": "op:memref.dealloc"})
    lines = lit_test(lacks).text.splitlines()
    assert "// RUN: %carts run %s --canonicalize-memrefs | FileCheck %s" in lines
    assert "// CHECK-NOT: {{memref\\.dealloc([^[:alnum:]_.$-]|$)}}" in lines

    typed = write_case(
        root, "op-1", NESTED, predicates=["ir-contains"], predicate_options={"ir_pattern": "op:memref.alloc", "ir_type": r"f32\b"}
    )
    checks = [line for line in lit_test(typed).text.splitlines() if "CHECK" in line]
    assert checks == ["// CHECK: {{memref\\.alloc([^[:alnum:]_.$-]|$)}}", "// CHECK-SAME: {{f32\\b}}"]

    err = write_case(root, "stderr-1", NESTED, predicates=["stderr-regex"], predicate_options={"stderr_regex": r"nested \d levels"})
    lines = lit_test(err).text.splitlines()
    assert "// RUN: %carts run %s --canonicalize-memrefs 2>&1 | FileCheck %s" in lines
    assert "// CHECK: {{nested [0-9] levels}}" in lines

    c = write_case(
        root, "c-1", "int main(void) { return 0; }\n", suffix=".c", frontend=DEFAULT_FRONTEND,
        signature={"step": "stage", "status": "SIGSEGV", "frames": ["mlir::Foo::bar"]},
    )
    lines = lit_test(c).text.splitlines()
    assert lines[1] == "// RUN: %carts cgeist %s -DMINI_DATASET -O0 -S -fopenmp --raise-scf-to-affine > %t.mlir"
    assert lines[2] == "// RUN: not --crash %carts run %t.mlir --canonicalize-memrefs 2>&1 | FileCheck %s"
    assert lines[3] == "// CHECK: mlir::Foo::bar"


def test_unexportable_cases_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write_case(root, "hang-1", NESTED, signature={"step": "stage", "status": "timeout"})
    write_case(root, "diff-1", NESTED, predicates=["output-mismatch"], predicate_options={"reference_command": "x"})
    write_case(root, "script-1", NESTED, predicates=["script"], predicate_options={"script": "/x/interesting.sh"})
    write_case(root, "crash-1", NESTED, signature={"step": "stage", "status": "SIGSEGV", "frames": ["f"]})
    result = export_lit(Corpus(root), tmp_path / "lit")
    assert [p.name for p in result.written] == ["crash-1.mlir"]
    assert {case_id for case_id, _ in result.skipped} == {"hang-1", "diff-1", "script-1"}
    assert (tmp_path / "lit" / "lit.cfg.py").is_file()


# ---------------------------------------------------------------------------
# Under the real lit


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    corpus = Corpus(tmp_path / "corpus")
    corpus.add(make_result(tmp_path / "a", NESTED))
    corpus.add(make_result(tmp_path / "b", UNPARSEABLE, original="broken.mlir"))
    write_case(
        corpus.root, "leave-1", NESTED, predicates=["ir-contains"],
        predicate_options={"ir_pattern": r"memref<\?xmemref<\?xmemref<\?xf32>>>"},
    )
    write_case(
        corpus.root, "lacks-1", NESTED, predicates=["ir-lacks"], predicate_options={"ir_pattern": r"memref<\?x\?x\?xf32>"}
    )
    write_case(
        corpus.root, "op-1", NESTED, predicates=["ir-contains"],
        predicate_options={"ir_pattern": "op:memref.alloc", "ir_type": r"memref<\?xmemref<\?xmemref"},
    )
    out = tmp_path / "lit"
    result = CliRunner().invoke(corpus_app, ["export-lit", str(out), "--corpus", str(corpus.root)])
    assert result.exit_code == 0, result.output
    assert "5 test(s)" in result.output
    return out


def test_lit_passes_against_the_standin(exported: Path, tmp_path: Path) -> None:
    """Crash and error cases fail as recorded; the stand-in that leaves the
    nested allocation in its output passes the ir-contains case."""
    if not shutil.which("FileCheck") and not Path("/usr/lib/llvm-22/bin/FileCheck").exists() and not (VENV_BIN / "filecheck").exists():
        pytest.skip("no FileCheck (llvm-22-tools) and no filecheck package")
    done = run_lit(exported, STANDIN, "transformer|broken")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASS:") == 2
    leave = fake_carts(tmp_path, "carts-leave", f'CARTS_STANDIN_BUG=leave exec "{STANDIN}" "$@"')
    done = run_lit(exported, leave, "leave-1|lacks-1|op-1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASS:") == 3


def test_lit_fails_when_the_bug_changes(exported: Path, tmp_path: Path) -> None:
    """The tests pin their failure: a build that crashes elsewhere fails the crash
    case; one that rewrites the nested memref fails the ir-contains case."""
    other = fake_carts(tmp_path, "carts-other", f'CARTS_STANDIN_BUG=other exec "{STANDIN}" "$@"')
    done = run_lit(exported, other)
    assert done.returncode == 1
    assert "FAIL: carts-reduce-corpus :: transformer-" in done.stdout
    assert "PASS: carts-reduce-corpus :: broken-" in done.stdout

    flat = fake_carts(tmp_path, "carts-flat", f"sed 's/{NESTED_TYPE}/memref<?x?x?xf32>/g' \"$2\"")
    done = run_lit(exported, flat, "leave-1|lacks-1|op-1")
    assert done.returncode == 1, done.stdout
    assert done.stdout.count("FAIL: ") == 3, done.stdout


def test_lit_fallback_tools(exported: Path, tmp_path: Path) -> None:
    """Without LLVM's tools: the filecheck package and the exported bin/not; the
    package found beside lit's Python, though the venv is not on PATH."""
    if not (VENV_BIN / "filecheck").exists():
        pytest.skip("the filecheck package is not installed in the venv")
    path = os.pathsep.join(["/usr/bin", "/bin"])
    if shutil.which("not", path=path) or shutil.which("FileCheck", path=path):
        pytest.skip("LLVM's not/FileCheck are on the basic PATH: the fallbacks would not be used")
    empty = tmp_path / "no-llvm"
    empty.mkdir()
    env = {"LLVM_TOOLS_DIR": str(empty), "PATH": path}
    done = run_lit(exported, STANDIN, "transformer|broken", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASS:") == 2
    assert "/filecheck " in done.stdout  # the substitution took the package's filecheck
    other = fake_carts(tmp_path, "carts-other", f'CARTS_STANDIN_BUG=other exec "{STANDIN}" "$@"')
    assert run_lit(exported, other, "transformer", env=env).returncode == 1
    assert run_lit(exported, other, "broken", env=env).returncode == 0


def test_lit_c_case_through_the_front_end(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "corpus")
    case = corpus.add(make_result(tmp_path / "a", ALLOC_3D_C, original="transformer.c")).case
    out = tmp_path / "lit"
    export_lit(corpus, out)
    text = (out / f"{case.id}.c").read_text()
    assert "// RUN: %carts cgeist %s -DMINI_DATASET -O0 -S -fopenmp --raise-scf-to-affine > %t.mlir" in text
    assert "// RUN: not --crash %carts run %t.mlir --canonicalize-memrefs 2>&1 | FileCheck %s" in text
    assert text.endswith(ALLOC_3D_C)
    done = run_lit(out, STANDIN)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS: carts-reduce-corpus :: " + case.id + ".c" in done.stdout
    fixed = fake_carts(tmp_path, "carts-fixed", f'CARTS_STANDIN_BUG=fixed exec "{STANDIN}" "$@"')
    assert run_lit(out, fixed).returncode == 1
