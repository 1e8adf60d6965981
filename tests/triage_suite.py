"""A failing suite for triage: 24 inputs, three distinct stand-in bugs, two that do not fail.

Built from real CARTS files of ``../shared/data/mlir-carts`` on which the
stand-in fails under ``carts run FILE --complete``, plus a few variants of
them (the same module with an unrelated function added, as a fuzzer or a
nightly run leaves many inputs of one bug):

- ``canonicalize-memrefs`` crashes (SIGABRT, assertion) on heap allocations of
  memrefs nested 3+ levels deep: 8 inputs;
- ``concurrency`` dies (SIGSEGV) on a parallel loop inside a sequential loop: 7;
- ``openmp-to-arts`` refuses tasks with dependencies (``[ERROR]`` lines, exit 1): 7;
- two real modules on which the whole pipeline passes.

Used by tests/test_triage.py and bench/triage.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "alloc3d.mlir"

BUGS = {
    "canonicalize-memrefs": [
        "raise_memref_dimensionality_helper_escape_bails__7ce5364b.mlir",
        "raise_memref_dimensionality_helper_escape_bails__474ffc5f.mlir",
        "raise_memref_dimensionality_helper_escape_bails__8c03c0f0.mlir",
        "raise_memref_dimensionality_nd_alias_null_check__be67604e.mlir",
        "raise_memref_dimensionality_nd_alias_null_check__e39ccd3f.mlir",
    ],
    "concurrency": [
        "epoch_repetition_amortization_conv3d_like__ba9fba88.mlir",
        "epoch_repetition_amortization_conv3d_like__f0f93ad3.mlir",
        "epoch_repetition_amortization_conv3d_like__880cc488.mlir",
        "epoch_repetition_amortization_inplace_uniform__526a4ef2.mlir",
        "epoch_repetition_amortization_conv3d_like__74065fd1.mlir",
    ],
    "openmp-to-arts": [
        "openmp_to_arts_converts_task_depend_modes_to_sde__c7cc6614.mlir",
        "openmp_to_arts_converts_task_depend_modes_to_sde__1bfd1ddc.mlir",
        "openmp_to_arts_converts_task_depend_modes_to_sde__fa6fba15.mlir",
    ],
}
PASSING = ["2mm__b5901b09.mlir", "3mm_seq__f17ecd97.mlir"]
#: Variants per bug, so that each has 8, 7 and 7 inputs.
VARIANTS = {"canonicalize-memrefs": 2, "concurrency": 2, "openmp-to-arts": 4}
#: The unrelated function a variant adds (at the end of the module).
_EXTRA = "  func.func @triage_variant_{n}(%arg0: index) -> index {{\n    return %arg0 : index\n  }}\n"


@dataclass
class Suite:
    folder: Path
    by_bug: dict[str, list[Path]]  # the stage each input fails in -> its inputs
    passing: list[Path]

    @property
    def inputs(self) -> list[Path]:
        return sorted(self.folder.iterdir())


def missing(shared_data: Path) -> list[str]:
    names = [name for names in BUGS.values() for name in names] + PASSING
    return [name for name in names if not (shared_data / "mlir-carts" / name).exists()]


def build(shared_data: Path, folder: Path) -> Suite:
    """Write the 24 inputs into ``folder`` (made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_bug: dict[str, list[Path]] = {}
    for stage, names in BUGS.items():
        paths = []
        for name in names:
            paths.append(folder / name)
            shutil.copy(shared_data / "mlir-carts" / name, paths[-1])
        if stage == "canonicalize-memrefs":
            paths.append(folder / "alloc3d.mlir")
            shutil.copy(EXAMPLE, paths[-1])
        for n in range(VARIANTS[stage]):
            source = paths[n % len(names)]
            variant = folder / f"{source.stem}__variant{n}.mlir"
            variant.write_text(_with_extra_function(source.read_text(), n))
            paths.append(variant)
        by_bug[stage] = paths
    passing = []
    for name in PASSING:
        passing.append(folder / name)
        shutil.copy(shared_data / "mlir-carts" / name, passing[-1])
    return Suite(folder, by_bug, passing)


def _with_extra_function(text: str, n: int) -> str:
    """The module with one more function, just before its closing brace."""
    head, brace, tail = text.rstrip().rpartition("}")
    return head + _EXTRA.format(n=n) + brace + tail + "\n"
