"""The stand-in for `carts cgeist`: gcc's verdict, and a module in cgeist's shape
that shows each function's nested pointer allocations."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import STANDIN_CARTS, require

sys.path.insert(0, str(Path(__file__).parent / "standin"))
import cgeist_standin  # noqa: E402

FLAGS = ["-DMINI_DATASET", "-O0", "-S", "-fopenmp", "--raise-scf-to-affine"]

ALLOC_3D = """\
#include <stdlib.h>
float ***alloc_3d(int d1, int d2, int d3) {
  float ***arr = (float ***)malloc(d1 * sizeof(float **));
  for (int i = 0; i < d1; i++) {
    arr[i] = (float **)malloc(d2 * sizeof(float *));
    for (int j = 0; j < d2; j++)
      arr[i][j] = (float *)malloc(d3 * sizeof(float));
  }
  return arr;
}
"""

ALLOC_2D = """\
#include <stdlib.h>
void use(float **m);
void run(int n) {
  float **m = malloc(n * sizeof(float *));
  for (int i = 0; i < n; i++)
    m[i] = malloc(n * sizeof(float));
  use(m);
  for (int i = 0; i < n; i++)
    free(m[i]);
  free(m);
}
"""


@pytest.fixture(autouse=True)
def _gcc():
    require("gcc")


def cgeist(tmp_path: Path, capsys, text: str, *flags: str) -> tuple[int, str, str]:
    source = tmp_path / "input.c"
    source.write_text(text)
    code = cgeist_standin.main([str(source), *(flags or FLAGS)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def allocs(module: str) -> list[tuple[str, int, int]]:
    """(value, levels of memref nesting, indentation) of each memref.alloc."""
    found = []
    for line in module.splitlines():
        match = re.match(r"^(\s*)(%[\w.]+) = memref\.alloc\(.*\) : (.*)$", line)
        if match:
            found.append((match.group(2), match.group(3).count("memref<"), len(match.group(1))))
    return found


def used(module: str, value: str) -> bool:
    return len(re.findall(re.escape(value) + r"(?![\w.])", module)) > 1


def verify(module: str, tmp_path: Path, mlir_opt: Path) -> None:
    path = tmp_path / "module.mlir"
    path.write_text(module)
    result = subprocess.run([str(mlir_opt), "--allow-unregistered-dialect", str(path), "-o", "/dev/null"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_alloc_3d_becomes_three_nested_allocs_in_loops(tmp_path, capsys, mlir_opt):
    code, module, err = cgeist(tmp_path, capsys, ALLOC_3D)
    assert code == 0, err
    assert module.startswith("module attributes {")
    assert "func.func @alloc_3d(%arg0: i32, %arg1: i32, %arg2: i32) -> memref<?xmemref<?xmemref<?xf32>>>" in module
    levels = [(depth, indent) for _, depth, indent in allocs(module)]
    assert [depth for depth, _ in levels] == [3, 2, 1]
    assert levels[0][1] < levels[1][1] < levels[2][1]  # each inner alloc sits in a deeper loop
    outer, middle, inner = (value for value, _, _ in allocs(module))
    assert re.search(rf"memref\.store {re.escape(middle)}, {re.escape(outer)}\[%\w+\] : memref<\?xmemref<\?xmemref<\?xf32>>>", module)
    assert re.search(rf"memref\.store {re.escape(inner)}, %\w+\[%\w+\] : memref<\?xmemref<\?xf32>>", module)
    assert f"func.return {outer} : memref<?xmemref<?xmemref<?xf32>>>" in module
    assert module.count("scf.for") == 2
    verify(module, tmp_path, mlir_opt)


def test_float_pointer_pointer_is_two_levels_with_uses(tmp_path, capsys, mlir_opt):
    code, module, err = cgeist(tmp_path, capsys, ALLOC_2D)
    assert code == 0, err
    assert max(depth for _, depth, _ in allocs(module)) == 2
    assert "memref<?xmemref<?xmemref" not in module
    outer = next(value for value, depth, _ in allocs(module) if depth == 2)
    assert f"func.call @use({outer}) : (memref<?xmemref<?xf32>>) -> ()" in module
    assert f"memref.dealloc {outer} : memref<?xmemref<?xf32>>" in module
    assert "func.func private @use(memref<?xmemref<?xf32>>)" in module
    verify(module, tmp_path, mlir_opt)


def test_transformer_shows_its_3d_arrays(shared_data, tmp_path, capsys, mlir_opt):
    source = shared_data / "llama2-transformer" / "transformer.c"
    code = cgeist_standin.main([str(source), *FLAGS])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    module = captured.out
    three = [value for value, depth, _ in allocs(module) if depth == 3]
    assert three and all(used(module, value) for value in three)
    assert "omp.parallel {" in module and "omp.wsloop {" in module and "omp.loop_nest" in module
    assert "affine.for" in module  # constant-bound loops, raised like --raise-scf-to-affine does
    assert re.search(r"func\.call @matmul\(", module)
    verify(module, tmp_path, mlir_opt)


def test_transformer_through_the_standin_carts_crashes_in_the_stage(shared_data, tmp_path):
    if not STANDIN_CARTS.exists():
        pytest.skip("the stand-in carts script is not there")
    source = shared_data / "llama2-transformer" / "transformer.c"
    mlir = tmp_path / "transformer.cgeist.mlir"
    with mlir.open("w") as out:
        front = subprocess.run([str(STANDIN_CARTS), "cgeist", str(source), *FLAGS], stdout=out, stderr=subprocess.PIPE, text=True)
    assert front.returncode == 0, front.stderr
    stage = subprocess.run([str(STANDIN_CARTS), "run", str(mlir), "--canonicalize-memrefs"], capture_output=True, text=True)
    assert stage.returncode < 0 or stage.returncode == 134, stage.stderr[-2000:]
    assert "CanonicalizeMemrefsPass::runOnOperation" in stage.stderr


def test_a_syntax_error_is_rejected_like_a_compiler(tmp_path, capsys):
    code, module, err = cgeist(tmp_path, capsys, "int main(void) {\n  int x = ;\n  return x\n}\n")
    assert code == 1
    assert module == ""
    assert re.search(r"input\.c:2:\d+: error:", err)


def test_what_gcc_rejects_beyond_syntax_is_rejected_too(tmp_path, capsys):
    code, _, err = cgeist(tmp_path, capsys, "struct S { int a; };\nint f(struct S s) { return s.b; }\n")
    assert code == 1 and "error:" in err


def test_openmp_only_with_fopenmp(tmp_path, capsys):
    text = "void f(float *a, int n) {\n  int i;\n#pragma omp parallel for private(i)\n  for (i = 0; i < n; i++)\n    a[i] = 0.0f;\n}\n"
    _, with_omp, _ = cgeist(tmp_path, capsys, text, *FLAGS)
    _, without, _ = cgeist(tmp_path, capsys, text, "-O0", "-S")
    assert "omp.wsloop" in with_omp and "omp.terminator" in with_omp
    assert "omp." not in without and "scf.for" in without


def test_defines_reach_the_preprocessor(tmp_path, capsys):
    text = "#ifdef MINI_DATASET\n#define N 4\n#else\n#define N 4000\n#endif\nfloat a[N];\nvoid f(void) { a[0] = 1.0f; }\n"
    _, module, _ = cgeist(tmp_path, capsys, text)
    assert 'memref.global "private" @a : memref<4xf32>' in module


def test_output_file_and_include_dir(tmp_path, capsys):
    source = tmp_path / "input.c"
    source.write_text('#include "arts/Utils/Benchmarks/CartsBenchmarks.h"\nint main(void) { CARTS_BENCH_CHECKSUM(1.0); return 0; }\n')
    out = tmp_path / "out.mlir"
    assert cgeist_standin.main([str(source), *FLAGS, "-o", str(out)]) == 0
    assert "func.func @main() -> i32" in out.read_text()
    assert cgeist_standin.main(["--print-include-dir"]) == 0
    include = Path(capsys.readouterr().out.strip())
    assert (include / "arts" / "Utils" / "Benchmarks" / "CartsBenchmarks.h").is_file()
    assert (include / "arts" / "utils" / "benchmarks" / "CartsBenchmarks.h").is_file()


def test_every_benchmark_gcc_accepts_gives_a_module_mlir_opt_accepts(shared_data, tmp_path, mlir_opt):
    benchmarks = shared_data / "c-carts-benchmarks"
    # The suite's headers under their own names (some include "../common/polybench.h").
    for folder in ("include", "common"):
        (tmp_path / folder).mkdir()
        for header in benchmarks.glob("polybench__*.h"):
            (tmp_path / folder / header.name.split("__")[-1]).write_bytes(header.read_bytes())
    include = [f"-I{tmp_path / 'include'}", f"-I{cgeist_standin.standin_include_dir()}"]

    def check(source: Path) -> str | None:
        gcc = subprocess.run(["gcc", "-fsyntax-only", "-fopenmp", "-w", "-DMINI_DATASET", *include, str(source)],
                             capture_output=True)
        if gcc.returncode != 0:
            return "not C gcc accepts"
        # What main() does after gcc's verdict, in-process: a Python start-up per file is slow.
        expanded = subprocess.run(["gcc", "-E", "-P", "-fopenmp", "-DMINI_DATASET", *include, str(source)],
                                  capture_output=True, check=True).stdout
        module = cgeist_standin.translate(expanded, openmp=True, affine=True)
        checked = subprocess.run([str(mlir_opt), "--allow-unregistered-dialect", "-", "-o", "/dev/null"],
                                 input=module, capture_output=True, text=True)
        return None if checked.returncode == 0 else f"{source.name}: {checked.stderr[:500]}"

    sources = sorted(benchmarks.glob("*.c"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = list(pool.map(check, sources))
    assert [v for v in verdicts if v and v != "not C gcc accepts"] == []
    assert verdicts.count(None) >= len(sources) - 2


# -- the launcher: a Python with the stand-in's dependencies, however it is started


def launcher_copy(tmp_path: Path) -> Path:
    """tests/standin/ copied where no .venv lies beside it (another checkout, a CI image)."""
    folder = tmp_path / "checkout" / "tests" / "standin"
    folder.mkdir(parents=True)
    for source in STANDIN_CARTS.parent.iterdir():
        if source.is_file():
            (folder / source.name).write_bytes(source.read_bytes())
    (folder / "carts").chmod(0o755)
    return folder / "carts"


def python_dir(tmp_path: Path, name: str, isolated: bool) -> Path:
    """A folder holding one `python3`: this venv's, or the same without any site-packages."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "python3").write_text(f'#!/bin/sh\nexec {sys.executable} {"-S " if isolated else ""}"$@"\n')
    (folder / "python3").chmod(0o755)
    return folder


def launched_cgeist(carts: Path, source: Path, path: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(carts), "cgeist", str(source), *FLAGS], capture_output=True, text=True,
                          env={"PATH": path, "HOME": "/nonexistent"}, timeout=120)


def test_the_launcher_finds_a_python_with_the_dependencies_on_path(tmp_path):
    source = tmp_path / "alloc.c"
    source.write_text(ALLOC_3D)
    carts = launcher_copy(tmp_path)
    bare = python_dir(tmp_path, "bare", isolated=True)
    full = python_dir(tmp_path, "full", isolated=False)
    found = launched_cgeist(carts, source, f"{bare}:{full}:/usr/bin:/bin")  # the first python3 lacks them: skipped
    assert found.returncode == 0, found.stderr
    assert "func.func @alloc_3d" in found.stdout
    linked = tmp_path / "bin" / "carts"
    linked.parent.mkdir()
    linked.symlink_to(carts)
    assert launched_cgeist(linked, source, f"{full}:/usr/bin:/bin").returncode == 0


def test_without_such_a_python_cgeist_says_so_in_one_line(tmp_path):
    source = tmp_path / "alloc.c"
    source.write_text(ALLOC_3D)
    carts = launcher_copy(tmp_path)
    bare = python_dir(tmp_path, "bare", isolated=True)
    missing = launched_cgeist(carts, source, f"{bare}:/nonexistent")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    assert "tree_sitter" in missing.stderr and ".ci/setup" in missing.stderr
    # `carts run` needs nothing beyond the standard library: it still works.
    mlir = tmp_path / "flat.mlir"
    mlir.write_text("func.func @f() {\n  return\n}\n")
    run = subprocess.run([str(carts), "run", str(mlir), "--canonicalize-memrefs"], capture_output=True, text=True,
                         env={"PATH": f"{bare}:/nonexistent"}, timeout=120)
    assert run.returncode == 0, run.stderr
