"""The parser-crash case end to end: carts-reduce reaches what a text reducer reaches.

A real crash inside mlir-opt 19's parser (see ``parser_crash_case.py``)
needs syntax no valid module has: carts-reduce's valid-MLIR passes stop at
``scf.forall (%a) in (1) { func.return }``, and only text passes that do
not ask our parser can go on. The bound is Shrink Ray's result on the same
case with the same script, measured by ``bench/run.py --cases parser
--tools shrinkray`` (180 s): 29 non-whitespace characters (32 bytes).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from parser_crash_case import MLIR_OPT_19, build

#: Shrink Ray's result on this case, in non-whitespace characters (see the module's docstring).
SHRINK_RAY_CHARS = 29


def interesting(script, path) -> bool:
    return subprocess.run([str(script), str(path)], capture_output=True).returncode == 0


def test_carts_reduce_reaches_the_text_reducer_on_a_parser_crash(shared_data, tmp_path):
    if not MLIR_OPT_19.exists():
        pytest.skip(f"{MLIR_OPT_19} is not installed (apt-get install mlir-19-tools)")
    source, script = build(shared_data, tmp_path / "case")
    assert interesting(script, source), "the case's original does not crash mlir-opt 19's parser"
    output = tmp_path / "reduced.mlir"
    result = subprocess.run(
        [sys.executable, "-m", "carts_reduce", str(source), "--script", str(script), "-o", str(output), "-j", "2"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reduced = output.read_text()
    chars = sum(1 for ch in reduced if not ch.isspace())
    assert chars <= SHRINK_RAY_CHARS, reduced
    assert interesting(script, output)
    said = " ".join(result.stderr.split())
    assert "the failure is in the parser (its stack dump is in MLIR's parser (MLIR Parser: custom op parser " \
           "'scf.forall'))" in said
    print(f"parser crash: {chars} non-whitespace chars: {reduced!r}")
