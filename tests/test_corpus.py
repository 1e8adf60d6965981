"""The regression corpus: adding cases, duplicates, listing, re-checking against carts builds."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from carts_reduce.corpus.store import Corpus, Verdict, add_case, case_id_for, check_case, failure_key, same_failure, signature_summary
from carts_reduce.corpus import cli as corpus_cli
from carts_reduce.corpus.cli import corpus_app
from rich.console import Console
from carts_reduce.run.outcome import Outcome
from carts_reduce.record import ReductionRecord
from carts_reduce.run.runner import run_test
from carts_reduce.signature import Signature
from carts_reduce.run.tool import DEFAULT_COMMAND, DEFAULT_FRONTEND, Tool

STANDIN = Path(__file__).resolve().parent / "standin" / "carts"
STAGE = "canonicalize-memrefs"

# The seed's bug in a few lines: a 3-level nested heap memref that is used.
NESTED = """\
module {
  func.func @main(%n: index) -> f32 {
    %c0 = arith.constant 0 : index
    %a = memref.alloc(%n) : memref<?xmemref<?xmemref<?xf32>>>
    %b = memref.load %a[%c0] : memref<?xmemref<?xmemref<?xf32>>>
    %c = memref.load %b[%c0] : memref<?xmemref<?xf32>>
    %v = memref.load %c[%c0] : memref<?xf32>
    return %v : f32
  }
}
"""
# The same bug with more left over: a bigger reduction of it.
NESTED_BIGGER = NESTED.replace(
    "    return %v : f32\n",
    "    %w = arith.addf %v, %v : f32\n    %x = arith.mulf %w, %v : f32\n    return %x : f32\n",
).replace("-> f32 {", "-> f32 {\n    %c1 = arith.constant 1 : index")
# Another bug: the stand-in cannot parse it.
UNPARSEABLE = """\
module {
  func.func @main() -> f32 {
    return %undefined : f32
  }
}
"""


def fake_carts(tmp_path: Path, name: str, body: str) -> Path:
    """A carts driver for one test: a shell script (the stand-in under a knob, or anything)."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def standin_with(tmp_path: Path, bug: str) -> Path:
    return fake_carts(tmp_path, f"carts-{bug}", f'CARTS_STANDIN_BUG={bug} exec "{STANDIN}" "$@"')


# The seed's C: alloc_3d builds a `float ***` (through the stand-in cgeist, a 3-level memref).
ALLOC_3D_C = """\
#include <stdlib.h>
float ***alloc_3d(int a, int b, int c) {
  float ***p = malloc(a * sizeof(float **));
  for (int i = 0; i < a; i++) {
    p[i] = malloc(b * sizeof(float *));
    for (int j = 0; j < b; j++)
      p[i][j] = malloc(c * sizeof(float));
  }
  return p;
}
"""


def run_once(text: str, carts: Path, name: str = "input.mlir") -> Outcome:
    c = name.endswith(".c")
    tool = Tool(
        input_name=name, carts=str(carts), stage=STAGE, format="c" if c else "mlir",
        frontend=DEFAULT_FRONTEND if c else None,
    )
    return anyio.run(run_test, tool.spec(text, tool.steps(), 60.0))


def make_result(
    folder: Path,
    text: str,
    original: str = "transformer.mlir",
    carts: Path = STANDIN,
    original_bytes: int = 120_000,
    predicates: list[str] | None = None,
    options: dict | None = None,
) -> Path:
    """A reduced output and its record, as a reduction leaves them; the signature is
    taken from a real run of ``carts`` on the text."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(original).suffix
    output = folder / (Path(original).stem + ".reduced" + suffix)
    output.write_text(text)
    outcome = run_once(text, carts, "input" + suffix)
    signature = Signature.from_outcome(outcome)
    record = ReductionRecord(
        tool_version="0.1.0",
        input=str(folder / original),
        input_name=original,
        input_sha256=hashlib.sha256(original.encode()).hexdigest(),
        output=str(output),
        format="c" if suffix == ".c" else "mlir",
        stage=STAGE,
        command=DEFAULT_COMMAND,
        carts=str(carts),
        predicates=predicates or ["same-failure"],
        predicate_options=options if options is not None else {"frames": 3, "match_frame": None, "extra": {}},
        signature=signature.to_dict() if signature else None,
        standin=True,
        sizes_before={"bytes": original_bytes, "lines": 3000, "chars": 90_000, "ops": 2500},
        sizes_after={"bytes": len(text.encode()), "lines": len(text.splitlines()), "chars": 200, "ops": 6},
        tests_run=812,
        cache_hits=40,
        wall_seconds=93.5,
        passes_helped={"mlir-ops": 100_000},
        carts_version="carts stand-in 0.1",
        started="2026-01-05T10:00:00+00:00",
    )
    record.save(ReductionRecord.path_for(output))
    return output


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return Corpus(tmp_path / "corpus")


def test_add_writes_case_folder_with_metadata(tmp_path: Path, corpus: Corpus) -> None:
    result = make_result(tmp_path / "r1", NESTED)
    added = corpus.add(result)
    assert added.action == "added"
    case = added.case
    assert case.folder.parent == corpus.root
    assert case.input_path.name == "input.mlir"
    assert case.input_path.read_text() == NESTED

    with open(case.folder / "case.toml", "rb") as stream:
        meta = tomllib.load(stream)
    assert meta["stage"] == STAGE
    assert meta["command"] == DEFAULT_COMMAND
    assert meta["predicates"] == ["same-failure"]
    assert meta["predicate_options"]["frames"] == 3
    assert "match_frame" not in meta["predicate_options"]  # None is not written (TOML has no null)
    assert meta["standin"] is True
    assert meta["status"] == "failing"
    assert meta["original"]["name"] == "transformer.mlir"
    assert meta["original"]["bytes"] == 120_000
    assert len(meta["original"]["sha256"]) == 64
    assert meta["reduced"]["bytes"] == len(NESTED.encode())
    assert meta["reduced"]["sha256"] == hashlib.sha256(NESTED.encode()).hexdigest()
    assert meta["carts_version"] == "carts stand-in 0.1"
    assert meta["carts_reduce_version"]
    assert meta["date"]
    # The signature survives TOML and means the same failure as the record's.
    assert meta["signature"]["status"] == "SIGABRT"
    assert any("CanonicalizeMemrefsPass::runOnOperation" in f for f in meta["signature"]["frames"])
    record = ReductionRecord.load(ReductionRecord.path_for(result))
    assert same_failure(meta["signature"], record.signature)
    # Case id: original name + short hash of the signature.
    assert case.id == case_id_for("transformer.mlir", failure_key(meta))
    assert case.id.startswith("transformer-") and len(case.id) == len("transformer-") + 8


def test_same_bug_twice_keeps_the_smaller(tmp_path: Path, corpus: Corpus) -> None:
    big = make_result(tmp_path / "big", NESTED_BIGGER, original="transformer.mlir")
    small = make_result(tmp_path / "small", NESTED, original="other-input.mlir")
    assert len(NESTED) < len(NESTED_BIGGER)

    first = corpus.add(big)
    assert first.action == "added"
    second = corpus.add(small)
    assert second.action == "replaced"
    assert first.case.id in second.message() and "smaller" in second.message()
    cases = corpus.cases()
    assert len(cases) == 1
    assert cases[0].text == NESTED
    assert cases[0].meta["original"]["name"] == "other-input.mlir"

    # The bigger one again: the existing, smaller input stays.
    third = corpus.add(big)
    assert third.action == "kept"
    assert "kept the existing" in third.message()
    cases = corpus.cases()
    assert [c.text for c in cases] == [NESTED]


def test_other_bug_is_a_new_case(tmp_path: Path, corpus: Corpus) -> None:
    corpus.add(make_result(tmp_path / "a", NESTED))
    corpus.add(make_result(tmp_path / "b", UNPARSEABLE, original="broken.mlir"))
    cases = corpus.cases()
    assert len(cases) == 2
    summaries = {c.id: signature_summary(c.signature) for c in cases}
    assert any("SIGABRT" in s and "Assertion" in s for s in summaries.values())
    assert any("Could not parse input file" in s for s in summaries.values())


def test_add_without_record_fails_clearly(tmp_path: Path) -> None:
    lonely = tmp_path / "x.mlir"
    lonely.write_text(NESTED)
    outcome = CliRunner().invoke(corpus_app, ["add", str(lonely), "--corpus", str(tmp_path / "c")])
    assert outcome.exit_code == 2
    assert "no reduction record" in outcome.output


def test_list_shows_cases(tmp_path: Path, corpus: Corpus, monkeypatch) -> None:
    case = corpus.add(make_result(tmp_path / "a", NESTED)).case
    broken = corpus.add(make_result(tmp_path / "b", UNPARSEABLE, original="broken.mlir")).case
    monkeypatch.setattr(corpus_cli, "console", Console(width=250))
    outcome = CliRunner().invoke(corpus_app, ["list", "--corpus", str(corpus.root)])
    assert outcome.exit_code == 0, outcome.output
    assert case.id in outcome.output and broken.id in outcome.output
    assert STAGE in outcome.output
    assert "SIGABRT Assertion `rank <= 2" in outcome.output
    assert "in CanonicalizeMemrefsPass::runOnOperation" in outcome.output
    assert "[ERROR] [carts-run] Could not parse input file" in outcome.output  # brackets are not markup
    assert f"{case.size:,} B" in outcome.output
    assert "2 cases" in outcome.output


def test_check_case_verdicts(tmp_path: Path, corpus: Corpus) -> None:
    case = corpus.add(make_result(tmp_path / "a", NESTED)).case

    still = anyio.run(check_case, case, str(STANDIN))
    assert still.verdict is Verdict.FAILING, still.detail

    fixed = anyio.run(check_case, case, str(standin_with(tmp_path, "fixed")))
    assert fixed.verdict is Verdict.FIXED, fixed.detail

    other = anyio.run(check_case, case, str(standin_with(tmp_path, "other")))
    assert other.verdict is Verdict.CHANGED
    assert "CollectMetadataPass" in other.detail

    exits_zero = anyio.run(check_case, case, str(fake_carts(tmp_path, "carts-ok", "exit 0")))
    assert exits_zero.verdict is Verdict.FIXED


def _check(corpus: Corpus, carts: Path, *more: str):
    return CliRunner().invoke(
        corpus_app, ["check", "--carts", str(carts), "--corpus", str(corpus.root), *more], env={"COLUMNS": "250"}
    )


def test_check_cli_exit_status(tmp_path: Path, corpus: Corpus) -> None:
    case = corpus.add(make_result(tmp_path / "a", NESTED)).case
    corpus.add(make_result(tmp_path / "b", UNPARSEABLE, original="broken.mlir"))

    same = _check(corpus, STANDIN)
    assert same.exit_code == 0, same.output
    assert same.output.count("still failing") >= 2

    # A carts whose parser takes everything and that never crashes: both fixed.
    fixed = _check(corpus, fake_carts(tmp_path, "carts-fixed", 'cat "$2"'))
    assert fixed.exit_code == 0, fixed.output
    assert "2 fixed" in fixed.output

    # A build that crashes elsewhere: the nested case changed, exit 1.
    changed = _check(corpus, standin_with(tmp_path, "other"))
    assert changed.exit_code == 1, changed.output
    assert f"{case.id}: changed" in changed.output
    assert "1 changed" in changed.output


def test_check_update_and_regression(tmp_path: Path, corpus: Corpus) -> None:
    case = corpus.add(make_result(tmp_path / "a", NESTED)).case
    fixed_carts = standin_with(tmp_path, "fixed")

    result = _check(corpus, fixed_carts, "--update")
    assert result.exit_code == 0, result.output
    reloaded = corpus.get(case.id)
    assert reloaded.status == "fixed"
    assert reloaded.meta["fixed"]["carts_version"].startswith("carts stand-in")

    # Still fixed: fine. Failing again with the old signature: exit 1.
    assert _check(corpus, fixed_carts).exit_code == 0
    again = _check(corpus, STANDIN, "--update")
    assert again.exit_code == 1, again.output
    assert "failing again" in again.output
    assert corpus.get(case.id).status == "failing"


def test_check_refuses_missing_carts(tmp_path: Path, corpus: Corpus) -> None:
    corpus.add(make_result(tmp_path / "a", NESTED))
    result = _check(corpus, tmp_path / "no-such-carts")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_add_and_check_through_cli(tmp_path: Path) -> None:
    result = make_result(tmp_path / "a", NESTED)
    corpus_dir = tmp_path / "corpus"
    added = CliRunner().invoke(corpus_app, ["add", str(result), "--corpus", str(corpus_dir)])
    assert added.exit_code == 0, added.output
    assert "added" in added.output
    # Relative --carts paths work although each test runs in its own temp dir.
    cwd = os.getcwd()
    os.chdir(STANDIN.parent)
    try:
        checked = CliRunner().invoke(corpus_app, ["check", "--carts", "./carts", "--corpus", str(corpus_dir)])
    finally:
        os.chdir(cwd)
    assert checked.exit_code == 0, checked.output
    assert "still failing" in checked.output


def test_check_case_judged_by_its_predicates(tmp_path: Path, corpus: Corpus) -> None:
    """A silent wrong result (the stage exits 0 but leaves the nested memref):
    no signature, so the recorded ir-contains predicate judges it."""
    leave = standin_with(tmp_path, "leave")
    options = {"ir_pattern": "op:memref.alloc", "ir_type": r"memref<\?xmemref<\?xmemref"}
    result = make_result(tmp_path / "a", NESTED, carts=leave, predicates=["ir-contains"], options=options)
    case = corpus.add(result).case
    assert case.signature is None
    assert case.meta["predicate_options"]["ir_pattern"] == "op:memref.alloc"

    assert anyio.run(check_case, case, str(leave)).verdict is Verdict.FAILING
    flat = fake_carts(tmp_path, "carts-flat", "sed 's/memref<?xmemref<?xmemref<?xf32>>>/memref<?x?x?xf32>/g' \"$2\"")
    fixed = anyio.run(check_case, case, str(flat))
    assert fixed.verdict is Verdict.FIXED, fixed.detail
    crashing = anyio.run(check_case, case, str(STANDIN))
    assert crashing.verdict is Verdict.CHANGED
    assert "SIGABRT" in crashing.detail


def test_script_case_keeps_its_script(tmp_path: Path, corpus: Corpus) -> None:
    script = tmp_path / "interesting.sh"
    script.write_text('#!/bin/sh\ngrep -q "memref<?xmemref<?xmemref" "$1"\n')
    script.chmod(0o755)
    result = make_result(
        tmp_path / "a", NESTED, carts=standin_with(tmp_path, "fixed"), predicates=["script"], options={"script": str(script)}
    )
    case = corpus.add(result).case
    assert case.meta["predicate_options"]["script"] == "script-interesting.sh"
    assert (case.folder / "script-interesting.sh").read_text() == script.read_text()
    script.unlink()  # the case does not depend on the original any more
    assert anyio.run(check_case, case, None).verdict is Verdict.FAILING

    # A case whose script went missing cannot be judged: reported, and check fails.
    (case.folder / "script-interesting.sh").unlink()
    broken = anyio.run(check_case, case, None)
    assert broken.verdict is Verdict.BROKEN and broken.verdict.bad
    assert "script not found" in broken.detail


def test_case_id_never_overwrites_another_case(tmp_path: Path, corpus: Corpus) -> None:
    result = make_result(tmp_path / "a", NESTED)
    record = ReductionRecord.load(ReductionRecord.path_for(result))
    taken = corpus.root / case_id_for("transformer.mlir", {"signature": record.signature})
    taken.mkdir(parents=True)
    (taken / "keep.txt").write_text("someone else's")
    added = corpus.add(result)
    assert added.case.id == taken.name + "-2"
    assert (taken / "keep.txt").read_text() == "someone else's"
    assert corpus.get(added.case.id).text == NESTED


def test_add_case_for_a_finished_reduction(tmp_path: Path) -> None:
    """What ``--add-to-corpus`` calls."""
    added = add_case(make_result(tmp_path / "a", NESTED), tmp_path / "corpus")
    assert added.action == "added"
    assert [c.id for c in Corpus(tmp_path / "corpus").cases()] == [added.case.id]


def test_reduction_to_corpus_check_end_to_end(tmp_path: Path) -> None:
    """The issue's flow: reduce with --add-to-corpus and --report, then check the
    corpus against the same stand-in, a fixed one and one that fails otherwise."""
    import subprocess
    import sys

    tool = Path(sys.executable).parent / "carts-reduce"
    if not tool.exists():
        pytest.skip(f"the carts-reduce entry point is not installed ({tool}); pip install -e .")
    source = tmp_path / "transformer.mlir"
    source.write_text(NESTED_BIGGER)
    corpus_dir = tmp_path / "corpus"
    done = subprocess.run(
        [str(tool), str(source), "--pass", STAGE, "--carts", str(STANDIN), "--format", "text", "-q", "-j", "2",
         "--max-time", "10", "--add-to-corpus", "--corpus", str(corpus_dir), "--report", str(tmp_path / "bug.md")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    cases = Corpus(corpus_dir).cases()
    assert len(cases) == 1
    case = cases[0]
    assert case.size < len(NESTED_BIGGER.encode())
    assert case.meta["standin"] is True and case.meta["original"]["name"] == "transformer.mlir"
    assert "# `--canonicalize-memrefs`: SIGABRT" in (tmp_path / "bug.md").read_text()

    assert _check(Corpus(corpus_dir), STANDIN).exit_code == 0
    fixed = _check(Corpus(corpus_dir), standin_with(tmp_path, "fixed"))
    assert fixed.exit_code == 0 and "1 fixed" in fixed.output
    changed = _check(Corpus(corpus_dir), standin_with(tmp_path, "other"))
    assert changed.exit_code == 1 and "1 changed" in changed.output


def test_c_case_runs_through_the_front_end(tmp_path: Path, corpus: Corpus) -> None:
    case = corpus.add(make_result(tmp_path / "a", ALLOC_3D_C, original="transformer.c")).case
    assert case.input_path.name == "input.c"
    assert case.meta["format"] == "c"
    assert case.meta["frontend"] == DEFAULT_FRONTEND
    assert case.signature and case.signature["status"] == "SIGABRT"

    assert anyio.run(check_case, case, str(STANDIN)).verdict is Verdict.FAILING
    assert anyio.run(check_case, case, str(standin_with(tmp_path, "fixed"))).verdict is Verdict.FIXED
    # A front end that now rejects the file fails in another step: changed.
    broken = fake_carts(tmp_path, "carts-nofront", f'[ "$1" = cgeist ] && {{ echo "error: boom" >&2; exit 1; }}; exec "{STANDIN}" "$@"')
    changed = anyio.run(check_case, case, str(broken))
    assert changed.verdict is Verdict.CHANGED
    assert "(frontend)" in changed.detail


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_list_keeps_the_failure_readable_at_common_widths(tmp_path: Path, corpus: Corpus, columns: int, monkeypatch) -> None:
    case = corpus.add(make_result(tmp_path / "a", NESTED, original="a-rather-long-original-file-name-for-a-case.mlir")).case
    # A terminal this wide (the console reads $COLUMNS once, when it is made).
    monkeypatch.setattr(corpus_cli, "console", Console(width=columns))
    outcome = CliRunner().invoke(corpus_app, ["list", "--corpus", str(corpus.root)])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert all(len(line) <= columns for line in lines)
    header = next(line for line in lines if "failure" in line and "┃" in line)
    failure_width = header.split("┃")[2]
    assert len(failure_width) >= 24, header
    # The failure column, read down its cells, holds the whole summary.
    cells = [line.split("│")[2] for line in lines if line.startswith("│") and line.count("│") >= 5]
    ids = [line.split("│")[1] for line in lines if line.startswith("│") and line.count("│") >= 5]
    squeeze = lambda text: "".join(text.split())
    assert squeeze(signature_summary(case.signature)) in squeeze("".join(cells))
    assert squeeze(case.id) in squeeze("".join(ids))


def test_a_missing_corpus_is_bad_input_and_an_empty_one_says_so(tmp_path: Path) -> None:
    for command in (["check"], ["list"], ["export-lit", str(tmp_path / "lit")]):
        outcome = CliRunner().invoke(corpus_app, [*command, "--corpus", str(tmp_path / "nowhere")])
        assert outcome.exit_code == 2, outcome.output
        assert "corpus folder" in outcome.output and "does not exist" in outcome.output
        assert len(outcome.output.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    outcome = CliRunner().invoke(corpus_app, ["check", "--corpus", str(tmp_path / "empty")])
    assert outcome.exit_code == 0
    assert "holds no cases" in outcome.output


def test_a_case_names_its_carts_in_a_way_valid_on_another_machine(tmp_path: Path) -> None:
    home = tmp_path / "checkout"
    (home / "tools").mkdir(parents=True)
    beside = fake_carts(home / "tools", "carts", f'exec "{STANDIN}" "$@"')
    corpus = Corpus(home / "corpus")
    near = corpus.add(make_result(tmp_path / "a", NESTED, carts=beside)).case
    assert near.meta["carts"] == "../../tools/carts"
    assert near.carts == str(beside.resolve())
    assert near.to_record().carts == str(beside.resolve())
    far = Corpus(tmp_path / "elsewhere" / "corpus").add(make_result(tmp_path / "b", NESTED)).case
    assert far.meta["carts"] == "carts"  # the stand-in lies outside that checkout: by name


def test_no_case_of_the_corpus_records_an_absolute_path() -> None:
    corpus = Corpus(Path(__file__).resolve().parents[1] / "corpus")

    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    cases = corpus.cases()
    assert cases
    for case in cases:
        absolute = [s for s in strings(case.meta) if s.startswith("/") or re.match(r"[A-Za-z]:\\", s)]
        assert absolute == [], f"{case.id} records a path of the machine that made it"
