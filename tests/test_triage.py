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

import triage_suite
from conftest import ROOT, STANDIN_CARTS

CLI = [sys.executable, "-m", "carts_reduce"]
EXAMPLE = ROOT / "examples" / "alloc3d.mlir"
#: The survey's tests (each input once, with the culprit search's bisection): a count past it stops
#: or kills something in the middle of the reductions.
IN_REDUCTIONS = 150


@pytest.fixture(scope="module")
def suite(shared_data, tmp_path_factory) -> triage_suite.Suite:
    absent = triage_suite.missing(shared_data)
    if absent:
        pytest.skip(f"the shared data lacks {', '.join(absent)}")
    return triage_suite.build(shared_data, tmp_path_factory.mktemp("suite"))


def triage_args(inputs: Path, out: Path, *extra: str, command: str | None = None) -> list[str]:
    # --timeout far above any test's run: outputs compared byte for byte must not
    # depend on how loaded the machine is (a test timed out is a candidate lost).
    args = CLI + ["triage", str(inputs), "--carts", str(STANDIN_CARTS), "-o", str(out),
                  "--corpus", str(out.parent / (out.name + "-corpus")), "-j", "2", "-q", "--timeout", "60", *extra]
    return args + (["--command", command] if command else [])


def triage(inputs: Path, out: Path, *extra: str, command: str | None = None, env=None):
    proc = subprocess.run(triage_args(inputs, out, *extra, command=command), capture_output=True, text=True,
                          timeout=1200, env=env)
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
def baseline(suite, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "triage"
    triage(suite.folder, out)
    return out


def test_24_inputs_give_three_bugs_three_cases_and_two_passing_inputs(suite, baseline):
    summary = json.loads((baseline / "triage.json").read_text())
    assert summary["inputs"] == 24
    bugs = {bug["stage"]: bug for bug in summary["bugs"]}
    assert sorted(bugs) == sorted(suite.by_bug)  # each found in its own stage by the culprit search
    assert "CanonicalizeMemrefsPass::runOnOperation" in bugs["canonicalize-memrefs"]["signature"]
    assert bugs["concurrency"]["signature"].startswith("SIGSEGV")
    assert "Error when converting OpenMP to ARTS" in (baseline / bugs["openmp-to-arts"]["report"]).read_text()
    for stage, inputs in suite.by_bug.items():
        bug = bugs[stage]
        assert bug["inputs"] == len(inputs)
        # The smallest input is the one reduced; the others are listed as its duplicates.
        smallest = min(inputs, key=lambda p: (p.stat().st_size, str(p)))
        assert bug["representative"] == str(smallest)
        assert sorted(bug["duplicates"]) == sorted(str(p) for p in inputs if p != smallest)
        reduced = baseline / bug["reduced_file"]
        assert 0 < reduced.stat().st_size < smallest.stat().st_size
        report = (baseline / bug["report"]).read_text()
        assert report.startswith(f"# `--{stage}`")
    assert sorted(p["path"] for p in summary["passing"]) == sorted(str(p) for p in suite.passing)
    corpus = baseline.parent / "triage-corpus"
    cases = sorted(d.name for d in corpus.iterdir() if (d / "case.toml").exists())
    assert cases == sorted(bug["corpus_id"] for bug in summary["bugs"])  # three cases, no duplicate
    for bug in summary["bugs"]:
        assert (corpus / bug["corpus_id"] / "input.mlir").read_bytes() == (baseline / bug["reduced_file"]).read_bytes()
    markdown = (baseline / "triage.md").read_text()
    for bug in summary["bugs"]:
        assert f"| bug-{bug['number']} | `{bug['stage']}` |" in markdown
    for path in suite.passing:
        assert str(path) in markdown.split("## Inputs that did not fail")[1]
    assert sum(1 for _ in (baseline / "survey.jsonl").open()) == 24


def test_a_second_run_finds_everything_done_and_changes_nothing(suite, baseline, tmp_path):
    copy = tmp_path / "triage"
    shutil.copytree(baseline, copy)
    shutil.copytree(baseline.parent / "triage-corpus", tmp_path / "triage-corpus")
    log = tmp_path / "standin.log"
    triage(suite.folder, copy, env={**os.environ, "CARTS_STANDIN_LOG": str(log)})
    assert outputs(copy) == outputs(baseline)
    # Nothing surveyed or reduced again: only each bug's report reruns its reduced case.
    tests = [line for line in log.read_text().splitlines() if line.split()[0] in ("run", "compile")]
    assert len(tests) == 3 and all("input.mlir" in line for line in tests)


def test_the_same_outputs_on_a_local_dask_cluster(suite, baseline, tmp_path):
    out = tmp_path / "triage"
    triage(suite.folder, out, "--cluster", "local:2")
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
    return f"{script} {{carts}} run {{input}} --{{stage}}"  # what the default command runs, counted


@pytest.fixture(scope="module")
def wrapped_baseline(suite, tmp_path_factory) -> Path:
    """The triage through the counting wrapper, nothing stopped or killed: what the others must match."""
    scratch = tmp_path_factory.mktemp("wrapped")
    out = scratch / "triage"
    triage(suite.folder, out, "--from", "source", command=_counting_wrapper(scratch, 0, "true"))
    return out


def test_a_dask_worker_killed_mid_triage_loses_nothing(suite, wrapped_baseline, tmp_path):
    killed = tmp_path / "killed"
    # A test in the middle of the reductions kills the Dask worker running it, as a
    # machine lost mid-test would.
    command = _counting_wrapper(tmp_path, IN_REDUCTIONS, f"touch {killed}; kill -9 $PPID")
    out = tmp_path / "triage"
    triage(suite.folder, out, "--cluster", "local:2", "--from", "source", command=command)
    assert killed.exists()
    assert outputs(out) == outputs(wrapped_baseline)


def test_a_stopped_triage_goes_on_where_it_was(suite, wrapped_baseline, tmp_path):
    pid_file = tmp_path / "pid"
    # A test in the middle of the reductions stops the triage, as Ctrl-C would.
    command = _counting_wrapper(tmp_path, IN_REDUCTIONS, f"kill -INT $(cat {pid_file})")
    out = tmp_path / "triage"
    args = triage_args(suite.folder, out, "--from", "source", command=command)
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        pid_file.write_text(str(proc.pid))
        _, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 130, stderr
    assert "run the same command again" in stderr
    assert not (out / "triage.md").exists()
    assert list(out.glob("bug-*/*.state"))  # the reductions' state, to resume from
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    assert rerun.returncode == 0, rerun.stderr
    assert outputs(out) == outputs(wrapped_baseline)
    # Every input was run once in all: the second run took the first one's findings.
    assert sum(1 for _ in (out / "survey.jsonl").open()) == 24


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
            CLI + ["triage", *args, "--carts", str(STANDIN_CARTS),
                   "-o", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)


def test_triage_takes_every_test_option_of_the_single_input_command():
    from dataclasses import fields
    from typing import get_type_hints

    from carts_reduce.options import TestOptions

    helps = {}
    for command in ([], ["triage"]):
        proc = subprocess.run(CLI + command + ["--help"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "COLUMNS": "300"})
        assert proc.returncode == 0
        helps[tuple(command)] = proc.stdout
    hints = get_type_hints(TestOptions, include_extras=True)
    for item in fields(TestOptions):
        info = hints[item.name].__metadata__[0]  # typer keeps a first flag as the option's "default"
        declared = [info.default, *info.param_decls]
        flag = next((d for d in declared if isinstance(d, str) and d.startswith("--")), "--" + item.name.replace("_", "-"))
        assert flag in helps[()] and flag in helps[("triage",)], flag
