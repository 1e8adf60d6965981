"""The parser-crash case: a real crash inside mlir-opt 19's own parser, in a module of real kernels.

llvm/llvm-project#132865: the custom parser of ``scf.forall`` lets a body
end with another op's terminator and then calls ``ensureTerminator`` on it;
Debian's mlir-opt 19.1.7 (``mlir-19-tools``) dies with SIGSEGV in
``mlir::scf::ForallOp::ensureTerminator``, called from ``ForallOp::parse``,
before any pass runs (mlir-opt 22 reports a verifier error instead).

The input is the module of 45 kernels printed by ``mlir-opt`` from
``../shared/data/real-crashes/mlir22-canonicalize-affine-load-empty-global/input.mlir``
with one more kernel before ``@main``: an element-wise scale whose
``scf.forall`` body ends in ``func.return``. It is built from the shared
data when needed, never stored. ``interesting.sh`` beside this file's data
is the predicate every reducer gets.
"""

from __future__ import annotations

import shutil
from pathlib import Path

KERNELS = Path("real-crashes/mlir22-canonicalize-affine-load-empty-global/input.mlir")
SCRIPT = Path(__file__).resolve().parent / "data" / "parser-crash" / "interesting.sh"
MLIR_OPT_19 = Path("/usr/lib/llvm-19/bin/mlir-opt")
_BEFORE = "  func.func @main() -> i8 {\n"
PLANTED = """  func.func @forall_scale_46(%arg0: memref<16xf32>, %arg1: f32) {
    scf.forall (%arg2) in (16) {
      %0 = memref.load %arg0[%arg2] : memref<16xf32>
      %1 = arith.mulf %0, %arg1 : f32
      memref.store %1, %arg0[%arg2] : memref<16xf32>
      func.return
    }
    return
  }
"""


def input_text(shared_data: Path) -> str:
    kernels = (shared_data / KERNELS).read_text()
    at = kernels.index(_BEFORE)
    return kernels[:at] + PLANTED + kernels[at:]


def build(shared_data: Path, folder: Path) -> tuple[Path, Path]:
    """Write ``input.mlir`` and ``interesting.sh`` into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "input.mlir"
    source.write_text(input_text(shared_data))
    script = folder / "interesting.sh"
    shutil.copyfile(SCRIPT, script)
    script.chmod(0o755)
    return source, script
