"""A STAND-IN for ``carts execute FILE.c [-O3]``, for tests only.

Real CARTS cannot be built here. Like the real command, this one takes the
program through the front end (the cgeist stand-in, which rejects what a C
compiler rejects and writes ``FILE.mlir`` beside the input), builds an
executable (``FILE_arts``, or ``-o NAME``) and, as ``../shared/CARTS.md``
describes, runs it: its stdout, stderr and exit status are the program's.
``-D``/``-U``/``-I`` reach the front end and the build; ``-O3`` builds
optimised; ``-g`` is taken and ignored.

The build has one known miscompile, the one the wrong-code tests reduce:

    A ``#pragma omp parallel for`` with ``reduction(+:x)`` on a ``double``
    ``x`` accumulates the reduction in ``float``: the reduction's data block
    gets element type f32 whatever the variable's type, so the partial sums
    are rounded to float and added to ``x`` at the end of the loop.

Everything else is built as the OpenMP program it is, so a program without
that loop shape prints the same as its OpenMP build (``cc -fopenmp``), and a
program with it prints a sum that differs in the digits float cannot hold.
``CARTS_STANDIN_BUG=fixed`` builds without the miscompile.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Node, Parser

import cgeist_standin

CC = os.environ.get("CARTS_STANDIN_CC", "gcc")
_REDUCTION = re.compile(r"\breduction\s*\(\s*\+\s*:\s*([^)]*)\)")
_PARALLEL_FOR = re.compile(r"^\s*omp\s+parallel\s+for\b")
_SCOPES = ("compound_statement", "translation_unit", "function_definition")


def usage(message: str) -> int:
    print(f"[ERROR] {message}", file=sys.stderr)
    print("usage: carts execute FILE.c [-O3] [-o NAME] [-DNAME[=VALUE]] [-IDIR]  (stand-in for tests)", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    files = [a for a in argv if not a.startswith("-")]
    optimise = "-O3" in argv
    output: str | None = None
    flags: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "-o":
            output = next(args, None)
            if output is None:
                return usage("-o needs a file name")
            files.remove(output)
        elif arg.startswith(("-D", "-U", "-I")):
            flags.append(arg)
        elif arg.startswith("-") and arg not in ("-O3", "-g"):
            return usage(f"unknown option '{arg}'")
    if len(files) != 1:
        return usage("expected exactly one input file")
    source = Path(files[0])
    if not source.is_file():
        return usage(f"Input file '{source}' not found")
    if source.suffix not in (".c", ".cpp"):
        return usage("Input file must be .cpp or .c")
    base = source.with_suffix("")
    executable = Path(output) if output else base.with_name(base.name + "_arts")

    # 1. C to MLIR, as `carts execute` does first: what cgeist rejects stops here.
    mlir = base.with_suffix(".mlir")
    if cgeist_standin.main([str(source), "-fopenmp", "-O0", "-S", *flags, "-o", str(mlir)]) != 0:
        print("[ERROR] Failed to convert C++ to MLIR", file=sys.stderr)
        return 1

    # 2. The ARTS build: the program as the pipeline lowers it, miscompile included.
    include = f"-I{cgeist_standin.standin_include_dir()}"
    expanded = subprocess.run([CC, "-E", "-P", "-fopenmp", include, *flags, str(source)], capture_output=True)
    if expanded.returncode != 0:
        sys.stderr.write(expanded.stderr.decode(errors="replace"))
        print("[ERROR] Failed to apply ARTS transformations", file=sys.stderr)
        return 1
    lowered = expanded.stdout
    if os.environ.get("CARTS_STANDIN_BUG") != "fixed":
        lowered = float_reductions(lowered)
    lowered_path = base.with_name(base.name + "-arts.c")
    lowered_path.write_bytes(lowered)
    built = subprocess.run(
        [CC, "-fopenmp", "-O3" if optimise else "-O0", "-w", "-x", "c", str(lowered_path), "-o", str(executable), "-lm"],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        sys.stderr.write(built.stderr)
        print("[ERROR] Failed to compile to executable", file=sys.stderr)
        return 1

    # 3. Run it: what it prints and its exit status are the program's.
    sys.stdout.flush()
    ran = subprocess.run([str(executable.resolve())])
    return ran.returncode if ran.returncode >= 0 else 128 - ran.returncode


# --------------------------------------------------------------------------- the miscompile


def float_reductions(source: bytes) -> bytes:
    """``source`` with every ``parallel for`` reduction on a double accumulated in float."""
    tree = Parser(Language(tree_sitter_c.language())).parse(source)
    edits: list[tuple[int, int, bytes]] = []
    for pragma in _pragmas(tree.root_node):
        loop = pragma.next_named_sibling
        clause = _pragma_text(pragma)
        found = _REDUCTION.search(clause)
        if loop is None or loop.type != "for_statement" or not found or not _PARALLEL_FOR.match(clause):
            continue
        names = [name.strip() for name in found.group(1).split(",") if name.strip()]
        doubles = [name for name in names if _declared_type(pragma, name) == "double"]
        if doubles:
            edits.append((pragma.start_byte, loop.end_byte, _lowered(source, pragma, loop, doubles)))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _lowered(source: bytes, pragma: Node, loop: Node, doubles: list[str]) -> bytes:
    partial = {name: f"{name}__arts_partial" for name in doubles}
    renamed = bytearray(source[loop.start_byte : loop.end_byte])
    for node in sorted(_identifiers(loop), key=lambda n: n.start_byte, reverse=True):
        name = node.text.decode()
        if name in partial:
            start, end = node.start_byte - loop.start_byte, node.end_byte - loop.start_byte
            renamed[start:end] = partial[name].encode()
    clause = _pragma_text(pragma)
    for name, new in partial.items():
        clause = re.sub(rf"(?<![\w]){re.escape(name)}(?![\w])", new, clause)
    declare = " ".join(f"float {new} = 0.0f;" for new in partial.values())
    combine = " ".join(f"{name} += {new};" for name, new in partial.items())
    return f"{{ {declare}\n#pragma {clause}\n".encode() + bytes(renamed) + f"\n{combine} }}".encode()


def _pragmas(node: Node):
    if node.type == "preproc_call" and node.child_by_field_name("directive").text == b"#pragma":
        yield node
    for child in node.named_children:
        yield from _pragmas(child)


def _pragma_text(pragma: Node) -> str:
    argument = pragma.child_by_field_name("argument")
    return argument.text.decode().strip() if argument is not None else ""


def _identifiers(node: Node):
    if node.type == "identifier":
        yield node
    for child in node.named_children:
        yield from _identifiers(child)


def _declared_type(at: Node, name: str) -> str | None:
    """The type of the scalar ``name`` as declared in scope at ``at``; None when not a plain scalar."""
    node = at
    while node.parent is not None:
        scope = node.parent
        if scope.type in _SCOPES:
            siblings = scope.named_children if scope.type != "function_definition" else []
            for sibling in reversed([s for s in siblings if s.start_byte < node.start_byte]):
                found = _declares(sibling, name)
                if found is not None:
                    return found or None
            if scope.type == "function_definition":
                for parameter in _parameters(scope):
                    found = _declares(parameter, name)
                    if found is not None:
                        return found or None
        node = scope
    return None


def _declares(node: Node, name: str) -> str | None:
    """The type text when ``node`` declares the scalar ``name``, "" when it declares it otherwise, else None."""
    if node.type not in ("declaration", "parameter_declaration"):
        return None
    kind = node.child_by_field_name("type")
    for declarator in node.children_by_field_name("declarator"):
        inner = declarator.child_by_field_name("declarator") if declarator.type == "init_declarator" else declarator
        if inner is not None and inner.type == "identifier" and inner.text.decode() == name:
            return kind.text.decode() if kind is not None else ""
        if inner is not None and name in {n.text.decode() for n in _identifiers(inner)}:
            return ""  # a pointer, an array, a function: not a scalar
    return None


def _parameters(function: Node):
    declarator = function.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    parameters = declarator.child_by_field_name("parameters") if declarator is not None else None
    return parameters.named_children if parameters is not None else []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
