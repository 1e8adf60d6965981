"""Every real MLIR file of the shared data parses into a sound, lossless op tree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from carts_reduce.formats.mlir import MLIRParseError, count_ops, def_use_errors, parse


def corpus_files(data: Path) -> list[Path]:
    files = sorted((data / "mlir-carts").glob("*.mlir"))
    files += sorted((data / "llama2-transformer").glob("*.mlir"))
    for case in sorted((data / "real-crashes").iterdir()):
        files += [p for p in (case / "input.mlir", case / "reference.mlir") if p.exists()]
    return files


def _comments_only(text: str) -> bool:
    """Lit tests whose input lives elsewhere hold only RUN and CHECK lines."""
    return all(not line.strip() or line.lstrip().startswith("//") for line in text.splitlines())


def test_corpus_round_trips_and_is_ssa_sound(shared_data: Path) -> None:
    files = corpus_files(shared_data)
    assert len(files) > 900, "the MLIR corpus looks incomplete"
    failures: list[str] = []
    for path in files:
        check_file(shared_data, path, failures)
    assert not failures, f"{len(failures)} of {len(files)} files:\n" + "\n".join(failures)


def check_file(shared_data: Path, path: Path, failures: list[str]) -> None:
    """Append what is wrong with one file's tree to ``failures``."""
    name = path.relative_to(shared_data)
    text = path.read_text(encoding="utf-8")
    try:
        module = parse(text)
    except MLIRParseError as error:
        failures.append(f"{name}: {error}")
        return
    if module.print() != text:
        failures.append(f"{name}: print() differs from the input")
    errors = def_use_errors(module)
    if errors:
        failures.append(f"{name}: {len(errors)} def/use errors, first {errors[0]}")
    if not module.ops and not module.aliases and not _comments_only(text):
        failures.append(f"{name}: no ops found")


_GENERIC_OP_LINE = re.compile(r'^\s*(?:%[^=\n]*=\s*)?"[^"\n]+"\(', re.M)

# Files upstream mlir-opt 22 parses (upstream dialects, out-of-tree ops in generic form).
MLIR_OPT_PARSEABLE = [
    "real-crashes/mlir22-canonicalize-affine-load-empty-global/input.mlir",
    "real-crashes/mlir22-canonicalize-affine-load-empty-global/reference.mlir",
    "real-crashes/mlir19-int-range-ceildivui-sigfpe/input.mlir",
    "real-crashes/mlir19-int-range-ceildivui-sigfpe/reference.mlir",
    "llama2-transformer/transformer-2025-11.mlir22.mlir",
]


@pytest.mark.parametrize("relative", MLIR_OPT_PARSEABLE)
def test_count_ops_matches_mlir_opt(relative: str, shared_data: Path, mlir_opt: Path) -> None:
    path = shared_data / relative
    if not path.exists():
        pytest.skip(f"{relative} is not in the shared data")
    printed = subprocess.run(
        [str(mlir_opt), "--allow-unregistered-dialect", "--mlir-print-op-generic", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    assert count_ops(path.read_text(encoding="utf-8")) == len(_GENERIC_OP_LINE.findall(printed.stdout))


@pytest.mark.parametrize(
    ("relative", "ops"),
    [
        ("real-crashes/mlir22-canonicalize-affine-load-empty-global/input.mlir", 893),
        ("real-crashes/mlir22-canonicalize-affine-load-empty-global/reference.mlir", 6),
    ],
)
def test_known_sizes(relative: str, ops: int, shared_data: Path) -> None:
    path = shared_data / relative
    if not path.exists():
        pytest.skip(f"{relative} is not in the shared data")
    assert count_ops(path.read_text(encoding="utf-8")) == ops
