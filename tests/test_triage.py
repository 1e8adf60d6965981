"""`carts-reduce triage`: real failing files grouped, one reduction per bug, the
same outputs whatever the executor, a stopped triage resumed, a Dask worker lost
mid-run without loss, and a summary page a real browser shows without errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, STANDIN_CARTS

CLI = [sys.executable, "-m", "carts_reduce"]
EXAMPLE = ROOT / "examples" / "alloc3d.mlir"
# Real CARTS files on which the stand-in's canonicalize-memrefs crashes, and two on which it does not.
CRASHING = [
    "raise_memref_dimensionality_helper_escape_bails__7ce5364b.mlir",
    "raise_memref_dimensionality_helper_escape_bails__474ffc5f.mlir",
    "raise_memref_dimensionality_nd_alias_null_check__be67604e.mlir",
]
PASSING = ["2mm__b5901b09.mlir", "3mm_seq__f17ecd97.mlir"]


@pytest.fixture(scope="module")
def inputs(shared_data, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name in CRASHING + PASSING:
        source = shared_data / "mlir-carts" / name
        if not source.exists():
            pytest.skip(f"{source} is not in the shared data")
        shutil.copy(source, folder / name)
    shutil.copy(EXAMPLE, folder / "alloc3d.mlir")
    return folder


def triage(inputs: Path, out: Path, *extra: str, command: str | None = None, env=None, check=True):
    args = CLI + ["triage", str(inputs), "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                  "-o", str(out), "--corpus", str(out.parent / (out.name + "-corpus")), "-j", "2", "-q", *extra]
    if command:
        args += ["--command", command]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def outputs(out: Path) -> dict[str, bytes]:
    """What must not depend on the executor, --jobs, a lost worker or a resume: every
    reduced file and corpus input byte for byte, and the summary without its cost columns."""
    found = {}
    for path in sorted(out.rglob("*.reduced.*")):
        if path.suffix != ".json" and ".state" not in path.parts[-2] and "other-failures" not in str(path):
            found[str(path.relative_to(out))] = path.read_bytes()
    corpus = out.parent / (out.name + "-corpus")
    for path in sorted(corpus.glob("*/input.*")):
        found[f"corpus/{path.relative_to(corpus)}"] = path.read_bytes()
    summary = json.loads((out / "triage.json").read_text())
    for row in summary["bugs"]:
        row.pop("tests"), row.pop("seconds")
    found["triage.json"] = json.dumps({k: summary[k] for k in ("inputs", "bugs", "passing")}, indent=1).encode()
    return found


@pytest.fixture(scope="module")
def baseline(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "triage"
    triage(inputs, out)
    return out


def test_real_failures_are_grouped_reduced_once_filed_and_reported(inputs, baseline):
    summary = json.loads((baseline / "triage.json").read_text())
    assert summary["inputs"] == 6
    [bug] = summary["bugs"]
    assert bug["stage"] == "canonicalize-memrefs"
    assert "CanonicalizeMemrefsPass::runOnOperation" in bug["signature"]
    assert bug["inputs"] == 4
    # The smallest input is the one reduced; the others are listed as its duplicates.
    sizes = {p.name: p.stat().st_size for p in inputs.iterdir()}
    assert Path(bug["representative"]).name == min((n for n in sizes if n not in PASSING), key=sizes.get)
    assert sorted(Path(p).name for p in bug["duplicates"] + [bug["representative"]]) == sorted(CRASHING + ["alloc3d.mlir"])
    assert sorted(Path(p["path"]).name for p in summary["passing"]) == sorted(PASSING)
    reduced = baseline / bug["reduced_file"]
    assert reduced.stat().st_size < sizes[Path(bug["representative"]).name]
    corpus = baseline.parent / "triage-corpus"
    cases = [d for d in corpus.iterdir() if (d / "case.toml").exists()]
    assert [c.name for c in cases] == [bug["corpus_id"]]
    assert (corpus / bug["corpus_id"] / "input.mlir").read_bytes() == reduced.read_bytes()
    report = (baseline / bug["report"]).read_text()
    assert report.startswith("# `--canonicalize-memrefs`: SIGABRT")
    markdown = (baseline / "triage.md").read_text()
    assert "| bug-1 | `canonicalize-memrefs` |" in markdown
    for name in PASSING:
        assert name in markdown.split("## Inputs that did not fail")[1]
    assert sum(1 for _ in (baseline / "survey.jsonl").open()) == 6


def test_a_second_run_finds_everything_done_and_changes_nothing(inputs, baseline, tmp_path):
    copy = tmp_path / "triage"
    shutil.copytree(baseline, copy)
    shutil.copytree(baseline.parent / "triage-corpus", tmp_path / "triage-corpus")
    log = tmp_path / "standin.log"
    triage(inputs, copy, env={**os.environ, "CARTS_STANDIN_LOG": str(log)})
    assert outputs(copy) == outputs(baseline)
    # Nothing surveyed or reduced again: only each bug's report reruns its reduced case.
    tests = [line for line in log.read_text().splitlines() if line.startswith("run ")]
    assert tests == ["run input.mlir --canonicalize-memrefs"]


def test_the_same_outputs_on_a_local_dask_cluster(inputs, baseline, tmp_path):
    out = tmp_path / "triage"
    triage(inputs, out, "--cluster", "local:2")
    assert outputs(out) == outputs(baseline)
    assert json.loads((out / "triage.json").read_text())["executor"] == "local:2"


def _counting_wrapper(tmp_path: Path, at: int, action: str) -> str:
    """A --command that runs the stand-in and, at its ``at``-th invocation in all, does ``action``."""
    count = tmp_path / "count"
    script = tmp_path / "wrapper.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"exec 9>>{count}.lock; flock 9; n=$(( $(cat {count} 2>/dev/null || echo 0) + 1 )); echo $n > {count}; flock -u 9\n"
        f"if [ \"$n\" = {at} ]; then {action}; fi\n"
        'exec "$@"\n'
    )
    script.chmod(0o755)
    return f"{script} {{carts}} run {{input}} --{{stage}}"


def test_a_dask_worker_killed_mid_triage_loses_nothing(inputs, baseline, tmp_path):
    killed = tmp_path / "killed"
    # The 15th test (in the reduction, after the 6 survey runs) kills the Dask
    # worker running it, as a machine lost mid-test would.
    command = _counting_wrapper(tmp_path, 15, f"touch {killed}; kill -9 $PPID")
    out = tmp_path / "triage"
    triage(inputs, out, "--cluster", "local:2", command=command)
    assert killed.exists()
    assert outputs(out) == outputs(baseline)


def test_a_stopped_triage_goes_on_where_it_was(inputs, baseline, tmp_path):
    pid_file = tmp_path / "pid"
    # The 12th test stops the triage (as Ctrl-C would) in the middle of its reduction.
    command = _counting_wrapper(tmp_path, 12, f"kill -INT $(cat {pid_file})")
    out = tmp_path / "triage"
    args = CLI + ["triage", str(inputs), "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                  "-o", str(out), "--corpus", str(tmp_path / "triage-corpus"), "-j", "2", "-q", "--command", command]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        pid_file.write_text(str(proc.pid))
        _, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 130, stderr
    assert "run the same command again" in stderr
    assert not (out / "triage.md").exists()
    assert list(out.glob("bug-1/*.state"))  # the reduction's state, to resume from
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    assert outputs(out) == outputs(baseline)
    # Every input was run once in all: the second run took the first one's findings.
    assert sum(1 for _ in (out / "survey.jsonl").open()) == 6


def test_the_summary_page_shows_every_row_and_the_chart_in_a_real_browser(baseline):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/setup")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/setup installs it)")
    summary = json.loads((baseline / "triage.json").read_text())
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: problems.append(f"fetched {request.url}")
                    if not request.url.startswith("file://") else None)
            page.goto((baseline / "triage.html").as_uri())
            rows = page.locator("tr.bug")
            assert rows.count() == len(summary["bugs"])
            for index, bug in enumerate(summary["bugs"]):
                text = rows.nth(index).inner_text()
                assert f"bug-{bug['number']}" in text and bug["corpus_id"] in text and bug["stage"] in text
            assert page.locator("tr.passing").count() == len(summary["passing"])
            chart = page.locator("#chart svg")
            assert chart.count() == 1
            box = chart.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100
            assert page.locator("#chart svg path").count() >= len(summary["bugs"])
            assert problems == []
        finally:
            browser.close()


def test_bad_inputs_are_one_line_and_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = tmp_path / "inputs.list"
    listed.write_text("# the suite\nmissing.mlir\n")
    cases = [
        ([str(tmp_path / "nope.mlir")], "no such file or folder"),
        ([str(empty)], "no inputs found"),
        ([f"@{listed}"], "missing.mlir: no such file"),
        ([str(EXAMPLE), "--cluster", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    ]
    for args, message in cases:
        proc = subprocess.run(
            CLI + ["triage", *args, "--pass", "canonicalize-memrefs", "--carts", str(STANDIN_CARTS),
                   "-o", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)


def test_triage_takes_every_test_option_of_the_single_input_command():
    from dataclasses import fields

    from carts_reduce.options import TestOptions

    helps = {}
    for command in ([], ["triage"]):
        proc = subprocess.run(CLI + command + ["--help"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "COLUMNS": "300"})
        assert proc.returncode == 0
        helps[tuple(command)] = proc.stdout
    for item in fields(TestOptions):
        flag = "--pass" if item.name == "stage" else "--format" if item.name == "fmt" else \
            "--predicates" if item.name == "predicates_file" else "--" + item.name.replace("_", "-")
        assert flag in helps[()] and flag in helps[("triage",)], flag
