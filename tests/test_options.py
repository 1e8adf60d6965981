"""Bad options: one line naming the option and what it allows, exit status 2,
before anything runs; the input untouched. Failures that do not depend on the
input, and originals that only time out, are refused the same way."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carts_reduce import cli
from carts_reduce.options import TestOptions
from carts_reduce.search.driver import Reducer, Settings
from carts_reduce.run.tool import Tool
from carts_reduce.usage import UsageError
from conftest import ROOT, STANDIN_CARTS
from test_cli import assert_one_line_error, carts_reduce
from test_driver import ExitZero

EXAMPLE = ROOT / "examples" / "alloc3d.mlir"


@pytest.fixture
def case(tmp_path) -> Path:
    path = tmp_path / "alloc3d.mlir"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


@pytest.fixture
def recording_carts(tmp_path) -> tuple[Path, Path]:
    """A carts that notes each call, then runs the stand-in: shows whether anything ran."""
    calls = tmp_path / "carts-calls"
    carts = tmp_path / "carts"
    carts.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {STANDIN_CARTS} "$@"\n')
    carts.chmod(0o755)
    return carts, calls


BAD_OPTIONS = [
    (("-j", "-1"), "--jobs -1", "at least 1"),
    (("-j", "0"), "--jobs 0", "at least 1"),
    (("--timeout", "0"), "--timeout 0", "above 0"),
    (("--timeout", "-1"), "--timeout -1", "above 0"),
    (("--timeout", "nan"), "--timeout nan", "above 0"),
    (("--timeout", "inf"), "--timeout inf", "above 0"),
    (("--max-time", "-5"), "--max-time -5", "above 0"),
    (("--max-time", "0"), "--max-time 0", "above 0"),
    (("--verify", "-1"), "--verify -1", "at least 0"),
    (("--repeat", "0"), "--repeat 0", "at least 1"),
    (("--min-hits", "0"), "--min-hits 0", "from 1 to 1"),
    (("--repeat", "2", "--min-hits", "3"), "--min-hits 3", "from 1 to 2"),
    (("--frames", "-2"), "--frames -2", "at least 0"),
    (("--exit-code", "256"), "--exit-code 256", "from 0 to 255"),
    (("--hang-after", "0"), "--hang-after 0", "above 0"),
    (("--float-tolerance", "-0.5"), "--float-tolerance -0.5", "at least 0"),
    (("-j", "two"), "--jobs", "Invalid value"),
    (("--timeout", "soon"), "--timeout", "Invalid value"),
    (("--no-such-option",), "--no-such-option", "No such option"),
]


@pytest.mark.parametrize("args,named,allowed", BAD_OPTIONS, ids=[" ".join(a) for a, _, _ in BAD_OPTIONS])
def test_a_bad_option_is_one_line_before_anything_runs(case, recording_carts, args, named, allowed):
    carts, calls = recording_carts
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(carts), *args,
                          cwd=case.parent, timeout=60)
    assert_one_line_error(result, named, allowed)
    assert not calls.exists(), "a bad option let carts run"
    assert case.read_bytes() == EXAMPLE.read_bytes()
    assert sorted(p.name for p in case.parent.iterdir()) == ["alloc3d.mlir", "carts"]


def test_corpus_and_report_check_their_numbers_too(tmp_path):
    for args, named in ((("corpus", "check", "--timeout", "0"), "--timeout 0"),
                        (("corpus", "check", "-j", "0"), "--jobs 0"),
                        (("report", str(EXAMPLE), "--timeout", "-3"), "--timeout -3")):
        assert_one_line_error(carts_reduce(*args, cwd=tmp_path, timeout=60), named)


# -- every numeric option, at its edges -------------------------------------

NUMERIC = {
    "--jobs": ("jobs", lambda v: v >= 1 and float(v).is_integer()),
    "--timeout": ("timeout", lambda v: v > 0),
    "--max-time": ("max_time", lambda v: v > 0),
    "--verify": ("verify", lambda v: v >= 0 and float(v).is_integer()),
    "--repeat": ("repeat", lambda v: v >= 1 and float(v).is_integer()),
    "--frames": ("frames", lambda v: v >= 0 and float(v).is_integer()),
    "--exit-code": ("exit_code", lambda v: 0 <= v <= 255 and float(v).is_integer()),
    "--hang-after": ("hang_after", lambda v: v > 0),
    "--float-tolerance": ("float_tolerance", lambda v: v >= 0),
}
edge_values = st.one_of(
    st.sampled_from([0, -1, 1, 255, 256, 0.0, -0.0, 1e-300, -1e-300, 1e308, float("inf"), float("-inf"), float("nan")]),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
)


@given(st.sampled_from(sorted(NUMERIC)), edge_values)
def test_numeric_options_accept_exactly_their_range(option, value):
    name, allowed = NUMERIC[option]
    is_finite = value == value and abs(value) != float("inf")
    try:
        TestOptions(**{name: value}).check()
    except UsageError as error:
        message = str(error)
        assert message.startswith(option + " ") and "must be" in message and "\n" not in message
        assert not (is_finite and allowed(value))
    else:
        assert is_finite and allowed(value)


@given(st.integers(min_value=-3, max_value=12), st.integers(min_value=-3, max_value=12))
def test_min_hits_is_checked_against_repeat(repeat, min_hits):
    try:
        TestOptions(repeat=repeat, min_hits=min_hits).check()
    except UsageError as error:
        assert str(error).split()[0] in ("--repeat", "--min-hits")
        assert not (1 <= repeat and 1 <= min_hits <= repeat)
    else:
        assert 1 <= min_hits <= repeat


@given(st.sampled_from(sorted(NUMERIC)), edge_values)
def test_the_command_line_ends_in_one_line_for_any_value(option, value):
    # In-process and fast: the input does not exist, so a value in range ends
    # at that error, and a value out of range at its own.
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder), \
            contextlib.redirect_stderr(io.StringIO()) as stderr, \
            mock.patch.object(sys, "argv", ["carts-reduce", "missing.mlir", "--pass", "canonicalize-memrefs",
                                            "--carts", str(STANDIN_CARTS), option, repr(value)]):
        with pytest.raises(SystemExit) as exited:
            cli.main()
        assert os.listdir(folder) == []
    assert exited.value.code == 2
    lines = stderr.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("carts-reduce: error: ")
    assert option in lines[0] or "missing.mlir: no such file" in lines[0]


def test_settings_that_could_not_make_progress_are_refused():
    for settings in (Settings(jobs=0), Settings(jobs=-1), Settings(repeat=0), Settings(repeat=2, min_hits=3),
                     Settings(timeout=0)):
        with pytest.raises(ValueError):
            Reducer("text", Tool(input_name="case.txt", command="true"), ExitZero(), [], settings)


# -- originals that prove nothing -------------------------------------------

def test_a_failure_that_does_not_depend_on_the_input_is_refused(case):
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", "/bin/false", cwd=case.parent)
    assert_one_line_error(result, "empty input fails the same way", "does not depend on the input")
    assert case.read_bytes() == EXAMPLE.read_bytes()
    assert sorted(p.name for p in case.parent.iterdir()) == ["alloc3d.mlir"]


def test_a_script_that_holds_for_anything_is_refused(case, tmp_path):
    script = tmp_path / "always.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    result = carts_reduce(case.name, "--script", str(script), cwd=case.parent)
    assert_one_line_error(result, "does not depend on the input")


def test_an_original_that_only_times_out_because_of_timeout_is_refused(case, tmp_path):
    slow = tmp_path / "slow-carts"
    slow.write_text(f'#!/bin/sh\ncase "$1" in run|compile) sleep 30;; esac\nexec {STANDIN_CARTS} "$@"\n')
    slow.chmod(0o755)
    result = carts_reduce(case.name, "--pass", "canonicalize-memrefs", "--carts", str(slow), "--timeout", "0.2",
                          cwd=case.parent, timeout=120)
    assert_one_line_error(result, "did not finish within --timeout 0.2 s", "longer --timeout")
    assert case.read_bytes() == EXAMPLE.read_bytes()
    assert not (case.parent / "alloc3d.reduced.mlir").exists()
