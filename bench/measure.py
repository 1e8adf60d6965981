"""Size measures used by every benchmark table: one definition, applied to every tool's output.

- bytes, lines, chars (non-whitespace characters: fair to tools that reflow text);
- MLIR ops, counted the way ``real-crashes/*/case.toml`` counts them: every op
  that ``mlir-opt --mlir-print-op-generic`` prints, the (possibly implicit)
  ``builtin.module`` included, so elided terminators count too;
- C tokens, comments and preprocessor lines excluded: identifiers, numbers,
  string and character literals are one token each, every other non-space
  character is one token (``->`` is two, ``1e-5f`` is three), the convention
  of the real-crashes data (18,359 for the clang19 input, 25 for its reference).

MLIR that upstream ``mlir-opt`` cannot read (custom syntax of out-of-tree
dialects) is counted by carts-reduce's own lossless parser, which counts the
way the generic form would (it gives 893 and 636 where mlir-opt does);
failing that, by a line heuristic of printed op lines (``ops_method = "text"``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MLIR_OPT = {
    "22": "/usr/lib/llvm-22/bin/mlir-opt",
    "19": "/usr/lib/llvm-19/bin/mlir-opt",
}

# One generic-form op per match: optional results, then the quoted op name and its operand list.
_GENERIC_OP = re.compile(r'^\s*(?:%[^=\n]*=\s*)?"[^"\n]+"\(', re.M)

# Custom form: an op line starts (after its results) with a dotted op name, a
# quoted generic name, or one of the unprefixed names MLIR's printer uses.
_CUSTOM_OP = re.compile(
    r"^\s*(?:%[\w$.\-]+(?::\d+)?(?:\s*,\s*%[\w$.\-]+(?::\d+)?)*\s*=\s*)?"
    r'(?:"[^"\n]+"\s*\(|[A-Za-z_][\w$]*(?:\.[\w$]+)+\b|module\b|return\b|call\b)'
)
_RESOURCE_ENTRY = re.compile(r"^\s*[\w.$]+\s*:")

_C_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
      | (?P<literal>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
      | (?P<word>[A-Za-z_]\w*)
      | (?P<number>\d[\w.]*)
      | (?P<punct>\S)""",
    re.S | re.X,
)


@dataclass
class OpCount:
    ops: int | None
    method: str  # "mlir-opt-22", "mlir-opt-19", "parser", "text"


def basic_sizes(text: str) -> dict[str, int]:
    return {
        "bytes": len(text.encode("utf-8", "surrogateescape")),
        "lines": text.count("\n") + (0 if text.endswith("\n") or not text else 1),
        "chars": sum(1 for ch in text if not ch.isspace()),
    }


def generic_op_count(generic_text: str) -> int:
    return len(_GENERIC_OP.findall(generic_text))


def mlir_opt_ops(path: Path, version: str = "22", timeout: float = 60) -> int | None:
    """Ops as the given upstream mlir-opt prints them in generic form; None if it cannot parse."""
    tool = MLIR_OPT[version]
    if not Path(tool).exists():
        return None
    try:
        proc = subprocess.run(
            [tool, "--allow-unregistered-dialect", "--mlir-print-op-generic", str(path)],
            capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    return generic_op_count(proc.stdout)


def parser_ops(text: str) -> int | None:
    """carts-reduce's own count, which follows mlir-opt's generic form (module and elided terminators in)."""
    try:
        from carts_reduce.formats.mlir import count_ops
    except ImportError:
        return None
    try:
        return count_ops(text)
    except Exception:
        return None


def text_ops(text: str) -> int:
    """Printed op lines of the custom form; elided terminators and implicit modules are missed."""
    count, in_resources = 0, False
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("{-#"):
            in_resources = True
        if in_resources:
            in_resources = "#-}" not in stripped
            continue
        if _CUSTOM_OP.match(line) and not _RESOURCE_ENTRY.match(line):
            count += 1
    return count


def count_mlir_ops(path: Path, versions: tuple[str, ...] = ("22", "19")) -> OpCount:
    for version in versions:
        ops = mlir_opt_ops(path, version)
        if ops is not None:
            return OpCount(ops, f"mlir-opt-{version}")
    text = path.read_text(errors="surrogateescape")
    ops = parser_ops(text)
    if ops is not None:
        return OpCount(ops, "parser")
    return OpCount(text_ops(text), "text")


def c_tokens(text: str) -> int:
    """C tokens without comments and preprocessor lines (continued lines included)."""
    kept, continued = [], False
    for line in text.splitlines():
        directive = continued or line.lstrip().startswith("#")
        continued = directive and line.endswith("\\")
        if not directive:
            kept.append(line)
    count = 0
    for match in _C_TOKEN.finditer("\n".join(kept)):
        if match.lastgroup not in ("space", "comment"):
            count += 1
    return count


def kind_of(path: Path) -> str:
    return {".mlir": "mlir", ".c": "c", ".h": "c"}.get(path.suffix.lower(), "text")


def measure(path: Path, kind: str | None = None, mlir_versions: tuple[str, ...] = ("22", "19")) -> dict:
    """All sizes of one file: bytes, lines, chars, and ops (MLIR) or tokens (C)."""
    path = Path(path)
    kind = kind or kind_of(path)
    text = path.read_text(errors="surrogateescape")
    sizes: dict = basic_sizes(text)
    if kind == "mlir":
        counted = count_mlir_ops(path, mlir_versions)
        sizes["ops"] = counted.ops
        sizes["ops_method"] = counted.method
    elif kind == "c":
        sizes["tokens"] = c_tokens(text)
    return sizes


def unit_of(kind: str) -> str | None:
    return {"mlir": "ops", "c": "tokens"}.get(kind)


def main(argv: list[str]) -> int:
    for name in argv:
        print(name, measure(Path(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
