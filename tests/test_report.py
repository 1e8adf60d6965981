"""Markdown bug reports of reduced cases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from carts_reduce.record import ReductionRecord
from carts_reduce.corpus.report import failure_excerpt, render_report, write_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_corpus import STANDIN, fake_carts, make_result, run_once  # noqa: E402

# What the seed's transformer reduces to: alloc_3d's 3-level nested allocation,
# filled by an scf.for init loop (cgeist's form of `float ***a = malloc(...)`).
SEED_LIKE = """\
module {
  func.func @alloc_3d(%arg0: i32, %arg1: i32, %arg2: i32) -> memref<?xmemref<?xmemref<?xf32>>> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %0 = arith.index_cast %arg0 : i32 to index
    %1 = arith.index_cast %arg1 : i32 to index
    %alloc = memref.alloc(%0) : memref<?xmemref<?xmemref<?xf32>>>
    scf.for %arg3 = %c0 to %0 step %c1 {
      %alloc_0 = memref.alloc(%1) : memref<?xmemref<?xf32>>
      memref.store %alloc_0, %alloc[%arg3] : memref<?xmemref<?xmemref<?xf32>>>
    }
    return %alloc : memref<?xmemref<?xmemref<?xf32>>>
  }
}
"""

SECTIONS = ["Command", "Versions", "Reduced input (input.mlir)", "Failure output", "Reduction", "Reproduce"]


def parse(markdown: str):
    md = MarkdownIt("commonmark").enable("table")
    return md.parse(markdown)


def rendered(inline) -> str:
    """The text an inline token renders to (escapes resolved, code spans unwrapped)."""
    return "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))


def headings(tokens, level: str) -> list[str]:
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == level:
            found.append(rendered(tokens[index + 1]))
    return found


def fences(tokens) -> list[tuple[str, str]]:
    return [(t.info, t.content) for t in tokens if t.type == "fence"]


def section_fences(tokens, title: str) -> list[tuple[str, str]]:
    """The code blocks under the h2 heading ``title`` (up to the next h2)."""
    inside, found = False, []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            inside = rendered(tokens[index + 1]) == title
        elif inside and token.type == "fence":
            found.append((token.info, token.content))
    return found


@pytest.fixture
def seed_case(tmp_path: Path) -> tuple[ReductionRecord, Path]:
    output = make_result(tmp_path / "seed", SEED_LIKE, original="transformer.mlir", original_bytes=246_318)
    return ReductionRecord.load(ReductionRecord.path_for(output)), output


def test_seed_like_report_is_valid_markdown_with_its_sections(seed_case) -> None:
    record, _ = seed_case
    outcome = run_once(SEED_LIKE, STANDIN)
    report = render_report(record, SEED_LIKE, outcome)
    tokens = parse(report)

    titles = headings(tokens, "h1")
    assert len(titles) == 1
    title = titles[0]
    assert "--canonicalize-memrefs" in title and "SIGABRT" in title
    assert "Assertion `rank <= 2 && \"nested memrefs" in title and "CanonicalizeMemrefsPass::runOnOperation" in title
    assert headings(tokens, "h2") == SECTIONS

    # The reduced input, verbatim, in an mlir code block.
    assert section_fences(tokens, "Reduced input (input.mlir)") == [("mlir", SEED_LIKE)]

    # The exact command, with the carts that was used.
    ((info, command),) = section_fences(tokens, "Command")
    assert info == "sh"
    assert command.strip() == f"{STANDIN} run input.mlir --canonicalize-memrefs"
    ((_, reproduce),) = section_fences(tokens, "Reproduce")
    assert reproduce.strip() == "carts run input.mlir --canonicalize-memrefs"

    # The failure, cut to what matters: assertion, crash context, the top frames,
    # without the signal-handler frames.
    ((_, failure),) = section_fences(tokens, "Failure output")
    assert "Assertion `rank <= 2" in failure
    assert "Program arguments:" in failure
    assert "CanonicalizeMemrefsPass::runOnOperation()" in failure
    assert "PrintStackTrace" not in failure and "__assert_fail" not in failure
    assert "killed by SIGABRT" in report

    # Versions and how much was reduced.
    assert "carts stand-in 0.1" in report
    assert "stand-in" in report.split("## Command")[0]  # said up front
    tables = [t for t in tokens if t.type == "table_open"]
    assert len(tables) == 1
    cells = [t.content for t in tokens if t.type == "inline"]
    assert "246,318" in cells and f"{len(SEED_LIKE.encode()):,}" in cells
    assert "812 tests run" in report and "93.5 s" in report


def test_failure_excerpt_drops_the_module_dump() -> None:
    module = "\n".join(f"    %{i} = arith.constant {i} : index" for i in range(500))
    stderr = (
        "input.mlir:3:5: error: 'memref.store' op store to a nested memref\n"
        "input.mlir:3:5: note: see current operation\n"
        f"module {{\n{module}\n}}\n"
        "[ERROR] [carts-run] Error when canonicalizing memrefs\n"
    )
    excerpt = failure_excerpt(stderr)
    lines = excerpt.splitlines()
    assert lines[0] == "input.mlir:3:5: error: 'memref.store' op store to a nested memref"
    assert lines[1] == "input.mlir:3:5: note: see current operation"
    assert lines[2] == "..."
    assert lines[3] == "[ERROR] [carts-run] Error when canonicalizing memrefs"
    assert "arith.constant" not in excerpt


def test_failure_excerpt_of_an_unsymbolized_llvm_dump() -> None:
    stderr = (
        "Stack dump:\n"
        "0.\tProgram arguments: mlir-opt x.mlir --canonicalize\n"
        "0  libLLVM.so.22.1 0x00007ff7a9cb8786 llvm::sys::PrintStackTrace(llvm::raw_ostream&, int) + 54\n"
        "1  libLLVM.so.22.1 0x00007ff7a9cb5fd3 llvm::sys::RunSignalHandlers() + 131\n"
        "2  libc.so.6       0x00007ff7a4c5a050\n"
        "3  libMLIR.so.22.1 0x00007ff7b3e946d1 mlir::DenseElementsAttr::AttributeElementIterator::operator*() const + 561\n"
        "4  libMLIR.so.22.1 0x00007ff7b0b4817b mlir::affine::AffineLoadOp::fold(int) + 683\n"
    )
    excerpt = failure_excerpt(stderr, top_frames=1)
    assert "AttributeElementIterator::operator*()" in excerpt
    assert "AffineLoadOp::fold" not in excerpt  # past the requested number of frames
    assert "PrintStackTrace" not in excerpt and "libc.so.6" not in excerpt


def test_report_from_saved_stderr_and_backticks_in_input(seed_case) -> None:
    record, _ = seed_case
    text = SEED_LIKE + "// a comment with ``` inside\n"
    report = render_report(record, text, "[ERROR] [carts-run] Error when canonicalizing memrefs\n")
    tokens = parse(report)
    assert section_fences(tokens, "Reduced input (input.mlir)") == [("mlir", text)]
    assert "[ERROR] [carts-run] Error when canonicalizing memrefs" in section_fences(tokens, "Failure output")[0][1]


def test_c_report_shows_the_front_end(seed_case) -> None:
    record, _ = seed_case
    record.format = "c"
    record.output = "transformer.reduced.c"
    record.carts = "carts"
    text = "float ***alloc_3d(int a, int b, int c);\n"
    report = render_report(record, text, None)
    tokens = parse(report)
    assert section_fences(tokens, "Reduced input (input.c)") == [("c", text)]
    ((_, command),) = section_fences(tokens, "Command")
    assert command.strip() == (
        "carts cgeist input.c -DMINI_DATASET -O0 -S -fopenmp --raise-scf-to-affine > input.cgeist.mlir"
        " && carts run input.cgeist.mlir --canonicalize-memrefs"
    )
    assert "The output was not captured." in report


def test_ir_contains_report_shows_the_leftover_ir(seed_case, tmp_path: Path) -> None:
    record, _ = seed_case
    record.signature = None
    record.predicates = ["ir-contains"]
    record.predicate_options = {"ir_pattern": r"memref<\?xmemref<\?xmemref"}
    leave = fake_carts(tmp_path, "carts-leave", f'CARTS_STANDIN_BUG=leave exec "{STANDIN}" "$@"')
    outcome = run_once(SEED_LIKE, leave)
    report = render_report(record, SEED_LIKE, outcome)
    tokens = parse(report)
    assert headings(tokens, "h1")[0] == r"--canonicalize-memrefs exits normally but its output still holds memref<\?xmemref<\?xmemref"
    ((_, failure),) = section_fences(tokens, "Failure output")
    assert "%alloc = memref.alloc(%0) : memref<?xmemref<?xmemref<?xf32>>>" in failure
    assert "arith.index_cast" not in failure

    # op:NAME narrowed by ir_type, read as the ir-contains predicate reads them.
    record.predicate_options = {"ir_pattern": "op:memref.alloc", "ir_type": r"memref<\?xmemref<\?xf32>>$"}
    ((_, failure),) = section_fences(parse(render_report(record, SEED_LIKE, outcome)), "Failure output")
    assert failure.strip() == "%alloc_0 = memref.alloc(%1) : memref<?xmemref<?xf32>>"


def test_report_cli(seed_case, tmp_path: Path) -> None:
    _, output = seed_case
    from carts_reduce.corpus.cli import corpus_app, report_command

    import typer

    app = typer.Typer()
    app.command("report")(report_command)
    app.add_typer(corpus_app, name="corpus")
    target = tmp_path / "bug.md"
    # Runs the case again with the recorded (stand-in) carts to show its failure.
    result = CliRunner().invoke(app, ["report", str(output), "-o", str(target)])
    assert result.exit_code == 0, result.output
    report = target.read_text()
    assert "CanonicalizeMemrefsPass::runOnOperation()" in section_fences(parse(report), "Failure output")[0][1]

    # A corpus case's input, with saved output instead of a run.
    from carts_reduce.corpus.store import Corpus

    case = Corpus(tmp_path / "corpus").add(output).case
    saved = tmp_path / "stderr.txt"
    saved.write_text("[ERROR] [carts-run] Error when canonicalizing memrefs\n" + "  %0 = arith.constant 0 : index\n" * 50)
    result = CliRunner().invoke(app, ["report", str(case.input_path), "--stderr", str(saved)])
    assert result.exit_code == 0, result.output
    tokens = parse(result.output)
    assert section_fences(tokens, "Reduced input (input.mlir)") == [("mlir", SEED_LIKE)]
    failure = section_fences(tokens, "Failure output")[0][1]
    assert failure.splitlines() == ["[ERROR] [carts-run] Error when canonicalizing memrefs", "..."]
    assert "246,318" in result.output  # the original size, from case.toml

    # Without a record beside it: one clear error.
    lonely = tmp_path / "lonely.mlir"
    lonely.write_text(SEED_LIKE)
    result = CliRunner().invoke(app, ["report", str(lonely)])
    assert result.exit_code == 2
    assert "no reduction record" in result.output


def test_write_report_reruns_the_case(seed_case, tmp_path: Path) -> None:
    """What ``--report FILE`` on a reduction calls: the case is run once more."""
    _, output = seed_case
    target = tmp_path / "report.md"
    markdown = write_report(output, target)
    assert target.read_text() == markdown
    ((_, failure),) = section_fences(parse(markdown), "Failure output")
    assert "Assertion `rank <= 2" in failure

    # A carts that is nowhere to be found: the report says the output was not captured.
    record = ReductionRecord.load(ReductionRecord.path_for(output))
    record.carts = str(tmp_path / "gone" / "carts")
    record.save(ReductionRecord.path_for(output))
    assert "The output was not captured." in write_report(output, target)


def test_title_keeps_template_brackets_and_ir_lacks_wording(seed_case) -> None:
    record, _ = seed_case
    record.signature = {"step": "stage", "status": "SIGSEGV", "frames": ["llvm::SmallVector<int>::push_back"]}
    title = headings(parse(render_report(record, SEED_LIKE, None)), "h1")[0]
    assert title == "--canonicalize-memrefs: SIGSEGV in SmallVector<int>::push_back"  # not read as an HTML tag

    record.signature = None
    record.predicates = ["ir-lacks"]
    record.predicate_options = {"ir_pattern": "op:memref.dealloc"}
    title = headings(parse(render_report(record, SEED_LIKE, None)), "h1")[0]
    assert title == "--canonicalize-memrefs exits normally but its output lacks op:memref.dealloc"
