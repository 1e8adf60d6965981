"""The C passes: what each proposes on small C, how often gcc accepts their
candidates on the transformer benchmark, and that every candidate is smaller."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carts_reduce.passes.c import C_PASSES
from carts_reduce.passes.c.common import DeletionPass

sys.path.insert(0, str(Path(__file__).parent / "standin"))
import cgeist_standin  # noqa: E402

PASSES = {p.name: p for p in C_PASSES}


def candidates(name: str, text: str, limit: int | None = None) -> list[str]:
    found = []
    for _, candidate in PASSES[name].candidates(text, None):
        found.append(candidate)
        if limit is not None and len(found) >= limit:
            break
    return found


def reduce_with(name: str, text: str, keep) -> str:  # type: ignore[no-untyped-def]
    """Greedy reduction by one pass the way the driver does it: resume at the accepted cursor."""
    cursor = None
    while True:
        for position, candidate in PASSES[name].candidates(text, cursor):
            if keep(candidate):
                text, cursor = candidate, position
                break
        else:
            return text


def smaller(candidate: str, text: str) -> bool:
    return (len(candidate.encode()), candidate) < (len(text.encode()), text)


def test_schedule_is_complete_and_names_are_unique():
    assert len(PASSES) == len(C_PASSES)
    assert list(PASSES)[:2] == ["c-comments", "c-blank-lines"]
    expected = {
        "c-functions", "c-declarations", "c-types", "c-macros", "c-includes", "c-conditionals",
        "c-statements", "c-pragmas", "c-unwrap", "c-params", "c-expressions", "c-fields",
        "c-literals", "c-qualifiers", "c-rename",
    }
    assert expected <= set(PASSES)


# ----------------------------------------------------------------------------- one pass at a time


def test_comments_all_go_first():
    text = "int a; // x\n/* y */ int b;\n// whole line\nint c;\n"
    assert candidates("c-comments", text)[0] == "int a;\nint b;\nint c;\n"


def test_blank_lines_go_in_one_candidate():
    text = "int a;  \n\n\n#define M a \\\n  b\n\nint c;\n"
    assert candidates("c-blank-lines", text) == ["int a;\n#define M a \\\n  b\nint c;\n"]
    assert candidates("c-blank-lines", "int a;\n") == []


def test_functions_only_unused_ones():
    text = "static int unused(void) { return 1; }\nint used(void) { return 2; }\nint main(void) { return used(); }\n"
    found = candidates("c-functions", text)
    assert "int used(void) { return 2; }\nint main(void) { return used(); }\n" in found
    assert all("int used(void)" in c for c in found)
    # Recursion is not a use from outside.
    assert candidates("c-functions", "static int r(int n) { return r(n); }\n") == [""]


def test_declarations_keep_what_is_used():
    text = "int g;\nint h;\nint f(void);\nint f(void) { return g; }\n"
    found = candidates("c-declarations", text)
    assert "int g;\nint f(void);\nint f(void) { return g; }\n" in found
    assert "int g;\nint h;\nint f(void) { return g; }\n" in found  # a prototype is not a use
    assert all("int g;" in c for c in found)


def test_types_and_their_trailing_semicolon():
    text = "typedef int T;\nstruct S { int x; };\ntypedef float U;\nU v;\n"
    found = candidates("c-types", text)
    assert "struct S { int x; };\ntypedef float U;\nU v;\n" in found
    assert "typedef int T;\ntypedef float U;\nU v;\n" in found
    assert all("typedef float U;" in c for c in found)


def test_macros_unused_ones():
    text = "#define A 1\n#define B 2\n#define C (B + 1)\nint x = C;\n"
    assert candidates("c-macros", text) == ["#define B 2\n#define C (B + 1)\nint x = C;\n"]


def test_includes():
    text = '#include <stdio.h>\n#include "x.h"\nint a;\n'
    found = candidates("c-includes", text)
    assert '#include "x.h"\nint a;\n' in found and "#include <stdio.h>\nint a;\n" in found


def test_conditionals_drop_or_keep_a_branch():
    text = "#ifdef X\nint a;\n#else\nint b;\n#endif\nint c;\n"
    assert candidates("c-conditionals", text) == ["int c;\n", "int a;\nint c;\n", "int b;\nint c;\n"]


def test_conditionals_stay_when_they_define_what_is_used():
    text = "#ifndef N\n#define N 4\n#endif\nint a[N];\n"
    assert candidates("c-conditionals", text) == ["#define N 4\nint a[N];\n"]


def test_statements_empty_the_block_first_and_keep_used_declarations():
    text = "int f(void) { int x = g(); h(); return x; }\n"
    found = candidates("c-statements", text)
    assert found[0] == "int f(void) { }\n"
    assert "int f(void) { int x; return x; }\n" in found  # x still read: its declaration stays, bare
    assert "int f(void) { int x = g(); return x; }\n" in found


def test_statements_keep_a_pragma_with_its_loop():
    text = "void f(int n) {\n  int i;\n#pragma omp parallel for\n  for (i = 0; i < n; i++)\n    g(i);\n  h();\n}\n"
    found = candidates("c-statements", text)
    assert "void f(int n) {\n  int i;\n  h();\n}\n" in found
    assert not any("#pragma" in c and "for (" not in c for c in found)


def test_pragmas_then_clauses():
    text = "void f(int n) {\n  int i;\n#pragma omp parallel for private(i) schedule(static, 4)\n  for (i = 0; i < n; i++) ;\n}\n"
    found = candidates("c-pragmas", text)
    assert found[0] == "void f(int n) {\n  int i;\n  for (i = 0; i < n; i++) ;\n}\n"
    assert any("#pragma omp parallel for schedule(static, 4)\n" in c for c in found)
    assert any("#pragma omp parallel for private(i)\n" in c for c in found)


def test_unwrap_loops_and_ifs():
    text = "void f(int n) { for (int i = 0; i < n; i++) { g(i); } if (n) a(); else b(); }\n"
    found = candidates("c-unwrap", text)
    assert "void f(int n) { {int i = 0; g(i); } if (n) a(); else b(); }\n" in found
    assert "void f(int n) { for (int i = 0; i < n; i++) { g(i); } a(); }\n" in found
    assert "void f(int n) { for (int i = 0; i < n; i++) { g(i); } b(); }\n" in found
    assert "void f(int n) { for (int i = 0; i < n; i++) { g(i); } if (n) a(); }\n" in found


def test_unwrapping_a_loop_takes_its_pragma():
    text = "void f(int n) {\n  int i;\n#pragma omp parallel for\n  for (i = 0; i < n; i++) { g(i); }\n}\n"
    assert candidates("c-unwrap", text)[0] == "void f(int n) {\n  int i;\n  { g(i); }\n}\n"


def test_params_with_call_sites_and_prototypes():
    text = "static int f(int a, int b);\nstatic int f(int a, int b) { return b; }\nint g(void) { return f(1, 2) + f(3, 4); }\n"
    found = candidates("c-params", text)
    assert "static int f(int b);\nstatic int f(int b) { return b; }\nint g(void) { return f(2) + f(4); }\n" in found
    # b is still read: it becomes a local.
    assert "static int f(int a);\nstatic int f(int a) { int b; return b; }\nint g(void) { return f(1) + f(3); }\n" in found


def test_expressions_zero_or_an_operand_never_an_lvalue():
    text = "int f(int a, int b) { return (a + b) * g(a, b); }\n"
    found = candidates("c-expressions", text)
    assert found[0] == "int f(int a, int b) { return 0; }\n"
    assert "int f(int a, int b) { return (a + b); }\n" in found
    assert "int f(int a, int b) { return g(a, b); }\n" in found
    assert "int f(int a, int b) { return (a + b) * b; }\n" in found
    lvalues = "void h(int *p, int i) { *p = 1; p[i]++; (p)[0] = i; }\n"
    for candidate in candidates("c-expressions", lvalues):
        assert "0 =" not in candidate and "*0" not in candidate and "0[" not in candidate and "0++" not in candidate


def test_fields():
    text = "struct S { int a; float b; };\n"
    assert candidates("c-fields", text) == ["struct S { float b; };\n", "struct S { int a; };\n"]


def test_literals():
    text = 'int x = 42; char *s = "hello"; char c = \'z\'; int one = 1;\n'
    found = candidates("c-literals", text)
    assert found[:2] == [
        'int x = 0; char *s = "hello"; char c = \'z\'; int one = 1;\n',
        'int x = 1; char *s = "hello"; char c = \'z\'; int one = 1;\n',
    ]
    assert 'int x = 42; char *s = ""; char c = \'z\'; int one = 1;\n' in found
    assert "int x = 42; char *s = \"hello\"; char c = 0; int one = 1;\n" in found
    assert 'int x = 42; char *s = "hello"; char c = \'z\'; int one = 0;\n' in found
    assert all(c.startswith('#include "a.h"\n') for c in candidates("c-literals", '#include "a.h"\nint y = 3;\n'))


def test_qualifiers_all_at_once_first():
    text = "static const unsigned int x = 1;\nunsigned y;\nunsigned long z;\nstatic inline void f(void) {}\n"
    assert candidates("c-qualifiers", text)[0] == "int x = 1;\nint y;\nlong z;\nvoid f(void) {}\n"


def test_built_in_types_become_int_and_return_types_void():
    text = "typedef unsigned long size_t;\nstatic double f(float x, long long n) { return x * sizeof(char); }\nreal y;\n"
    found = candidates("c-type-names", text)
    assert found[:4] == [
        text.replace("typedef unsigned long", "typedef int"),
        text.replace("double f", "int f"),
        text.replace("double f", "void f"),
        text.replace("float x", "int x"),
    ]
    assert text.replace("long long n", "int n") in found
    assert text.replace("sizeof(char)", "sizeof(int)") in found
    assert all("size_t;" in c and "real y" in c for c in found)
    assert candidates("c-type-names", "int f(int x) { return x; }\n") == []


def test_rename_to_unused_letters_everywhere_it_appears():
    text = (
        "#define LIMIT 4\nint counter;\nint main(void) {\n  int value = counter + LIMIT;\n"
        "#pragma omp parallel for private(value)\n  for (counter = 0; counter < LIMIT; counter++) value++;\n"
        "  return value;\n}\n"
    )
    found = candidates("c-rename", text)
    assert found[0] == text.replace("counter", "a")  # most bytes saved first
    assert any("private(a)" in c and "int a = counter + LIMIT;" in c for c in found)
    assert all("main" in c for c in found)


def test_rename_leaves_library_functions_alone():
    text = "int printf(const char *, ...);\nint run(void) { return printf(\"x\"); }\n"
    assert all("printf" in c for c in candidates("c-rename", text))


def test_a_pass_resumes_at_its_cursor():
    body = "".join(f"  s{i}();\n" for i in range(30))
    text = f"void f(void) {{\n{body}  keep();\n}}\n"
    calls = []

    def keep(candidate: str) -> bool:
        calls.append(candidate)
        return "keep();" in candidate

    assert reduce_with("c-statements", text, keep) == "void f(void) {\n  keep();\n}\n"
    assert len(calls) < 20  # ddmin halves; it does not restart from the beginning after each hit


# ----------------------------------------------------------------------------- gcc on real input


def _gcc() -> str:
    from shutil import which

    found = which("gcc")
    if not found:
        pytest.skip("gcc is not installed")
    return found


@pytest.fixture(scope="module")
def inputs(shared_data) -> list[tuple[str, str, list[str]]]:
    """(label, text, extra gcc flags): the transformer first, then inputs that give the
    passes with nothing to do on it something to do."""
    gcc = _gcc()
    include = cgeist_standin.standin_include_dir()
    transformer = (shared_data / "llama2-transformer" / "transformer.c").read_text()
    expanded = subprocess.run(
        [gcc, "-E", "-P", "-fopenmp", "-DMINI_DATASET", f"-I{include}", "-"],
        input=transformer, capture_output=True, text=True, check=True,
    ).stdout
    benchmarks = shared_data / "c-carts-benchmarks"
    headers = Path(tempfile.mkdtemp(prefix="polybench-headers-"))
    for header in benchmarks.glob("polybench__*.h"):  # the suite's headers under their own names
        (headers / header.name.split("__")[-1]).write_bytes(header.read_bytes())
    return [
        ("transformer.c", transformer, []),
        ("transformer.c after gcc -E", expanded, []),
        ("polybench.c", (benchmarks / "polybench__common__polybench.c").read_text(), [f"-I{headers}"]),
        ("lulesh.c", (benchmarks / "lulesh__lulesh.c").read_text(), []),
    ]


def _compiles(job: tuple[str, list[str]]) -> bool:
    text, flags = job
    include = cgeist_standin.standin_include_dir()
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "candidate.c")
        Path(path).write_text(text)
        command = ["gcc", "-fsyntax-only", "-fopenmp", "-w", "-DMINI_DATASET", f"-I{include}", *flags, path]
        return subprocess.run(command, capture_output=True).returncode == 0


SAMPLE = 16
# A share below this would make the pass waste most of its tests.
FLOOR = {"c-statements": 0.75, "c-expressions": 0.75, "c-unwrap": 0.75, "c-params": 0.75}


@pytest.mark.parametrize("name", list(PASSES))
def test_gcc_accepts_most_candidates(name, inputs, record_property):
    for label, text, flags in inputs:
        assert _compiles((text, flags)), f"{label} itself does not compile"
        found = candidates(name, text, limit=400)
        if found:
            break
    else:
        pytest.fail(f"{name} proposes nothing on any input")
    step = max(1, len(found) // SAMPLE)
    sample = found[::step][:SAMPLE]
    with ThreadPoolExecutor(max_workers=2) as pool:
        accepted = sum(pool.map(_compiles, [(c, flags) for c in sample]))
    share = accepted / len(sample)
    record_property("gcc_share", f"{share:.2f} of {len(sample)} on {label}")
    print(f"{name}: gcc accepts {accepted}/{len(sample)} sampled candidates on {label}")
    assert share >= FLOOR.get(name, 0.5), f"{name}: only {accepted}/{len(sample)} compile on {label}"


# ----------------------------------------------------------------------------- every candidate is smaller

_EXPRESSIONS = st.sampled_from(["0", "1", "n", "a[i]", "x + 1", "f(x)", "(x * 2)", "n ? x : 0", "-x", "s.v", "p->v"])
_STATEMENTS = st.one_of(
    st.builds(lambda e: f"x = {e};", _EXPRESSIONS),
    st.builds(lambda e: f"int t = {e};", _EXPRESSIONS),
    st.builds(lambda e: f"f({e});", _EXPRESSIONS),
    st.builds(lambda e: f"if ({e}) x++; else x--;", _EXPRESSIONS),
    st.builds(lambda e: f"for (int i = 0; i < {e}; i++) {{ a[i] = i; }}", _EXPRESSIONS),
    st.builds(lambda e: f"#pragma omp parallel for private(x) nowait\nfor (i = 0; i < n; i++) a[i] = {e};", _EXPRESSIONS),
    st.just("// a comment"),
    st.just("{ unsigned long k = 3; }"),
    st.just("return x;"),
)
_TOP = st.one_of(
    st.just("#include <stdlib.h>"),
    st.just("#define N 16"),
    st.just("typedef struct S { int v; float w; } S;"),
    st.just("static const int g = 7;"),
    st.just("#ifdef MINI\nint mini;\n#else\nint maxi;\n#endif"),
    st.builds(
        lambda name, params, body: f"static int {name}({params}) {{\n  int x = 0, i;\n  " + "\n  ".join(body) + "\n  return x;\n}",
        st.sampled_from(["f", "g", "helper", "compute"]),
        st.sampled_from(["void", "int n", "int n, float *a", "int n, int *a, S s, S *p"]),
        st.lists(_STATEMENTS, max_size=6),
    ),
)
_PROGRAMS = st.builds(lambda items: "\n".join(items) + "\n", st.lists(_TOP, min_size=1, max_size=6))


def _benchmark_slices(shared_data: Path) -> st.SearchStrategy[str]:
    texts = [p.read_text(errors="replace") for p in sorted((shared_data / "c-carts-benchmarks").glob("*.c"))]

    def cut(index: int, start: int, length: int) -> str:
        lines = texts[index % len(texts)].splitlines(keepends=True)
        begin = start % max(1, len(lines))
        return "".join(lines[begin : begin + length])

    return st.builds(cut, st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 60))


def _all_smaller(text: str) -> None:
    for current in C_PASSES:
        for count, (_, candidate) in enumerate(current.candidates(text, None)):
            assert smaller(candidate, text), f"{current.name} proposed a candidate that is not smaller"
            if count >= 150:
                break


@settings(max_examples=60)
@given(_PROGRAMS)
def test_every_candidate_is_smaller_on_generated_programs(program):
    _all_smaller(program)


def test_every_candidate_is_smaller_on_benchmark_slices(shared_data):
    @settings(max_examples=40)
    @given(_benchmark_slices(shared_data))
    def check(text: str) -> None:
        _all_smaller(text)

    check()


def test_deleting_passes_are_the_ddmin_ones():
    deleting = {p.name for p in C_PASSES if isinstance(p, DeletionPass)}
    assert {"c-functions", "c-statements", "c-pragmas", "c-params", "c-fields", "c-qualifiers", "c-comments"} <= deleting
