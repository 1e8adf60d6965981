"""A STAND-IN for the `carts` driver, for tests only: real CARTS cannot be built here.

It behaves the way ../shared/CARTS.md describes the real driver:

- ``carts run FILE --STAGE [--debug-only=NAME] [-o OUT]`` parses the module and
  stops after STAGE. Unknown stages are refused. What real carts could not
  parse (unbalanced braces, a use of an undefined SSA value or block, a call
  of a function that does not exist, or anything upstream ``mlir-opt``
  rejects when it can read the module) gives MLIR diagnostics and
  ``[ERROR] [carts-run] Could not parse input file``, exit 1.
- On ``canonicalize-memrefs`` and every later stage it crashes like an LLVM
  assertion build (banner, stack dump through
  ``CanonicalizeMemrefsPass::runOnOperation``, SIGABRT) when the module heap
  allocates a memref nested 3 or more levels deep and uses it: the seed's
  N-D bug. Otherwise it prints the module on stdout and exits 0.
- ``carts cgeist FILE.c ...`` is the stand-in front end (cgeist_standin.py).

Knobs (environment) that tests use to model other CARTS builds:
``CARTS_STANDIN_BUG``: ``crash`` (default), ``leave`` (exit 0 but leave the
nested allocations in the output: seed step 2's silent wrong result),
``fixed`` (no bug), ``other`` (crashes elsewhere: a different signature).
``CARTS_STANDIN_FLAKY_BELOW=N``: modules of fewer than N lines crash only half
of the time. ``CARTS_STANDIN_LOG=FILE``: append one line per invocation.
"""

from __future__ import annotations

import os
import random
import re
import resource
import subprocess
import sys
from pathlib import Path

STAGES = [
    "canonicalize-memrefs", "collect-metadata", "initial-cleanup", "openmp-to-arts",
    "edt-transforms", "create-dbs", "db-opt", "edt-opt", "concurrency", "concurrency-opt",
    "epochs", "pre-lowering", "arts-to-llvm", "complete",
]
MLIR_OPT = os.environ.get("CARTS_STANDIN_MLIR_OPT", "/usr/lib/llvm-22/bin/mlir-opt")
VERSION = "carts stand-in 0.1 (tests/standin; not the real CARTS)"

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_VALUE = re.compile(r"%[\w$.-]+")
_ISOLATED = re.compile(r"^\s*(?:\"?(?:func\.func|llvm\.func|builtin\.module|module|gpu\.module)\b)")
_OUT_OF_TREE = re.compile(r"\b(?:arts|arts_rt|arts_sde|sde|polygeist|dlti)\.")
_MEMREF_TYPE = r"(?:memref<(?:(?:\?|\d+)x)*(?:f16|f32|f64|i\d+|index|MEMREF)>)"
for _ in range(6):
    _MEMREF_TYPE = _MEMREF_TYPE.replace("MEMREF", _MEMREF_TYPE[3:-1], 1)
_MEMREF_TYPE = _MEMREF_TYPE.replace("|MEMREF", "")
# A heap allocation exactly as the printer writes it; the crash needs a real one.
_NESTED_ALLOC = re.compile(
    r"^\s*(%[\w$.-]+)\s*=\s*memref\.alloc\((?:%[\w$.-]+(?:,\s*%[\w$.-]+)*)?\)(?:\s*\{[^{}]*\})?"
    r"\s*:\s*(" + _MEMREF_TYPE + r")(?:\s+loc\(.*\))?\s*$"
)


class ParseError(Exception):
    def __init__(self, line: int, col: int, message: str):
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


def check_module(text: str) -> None:
    """The stand-in's own well-formedness checks: braces, SSA values, blocks, callees.

    Scoping is by braces: values defined in a region are visible until it
    closes, and a function body sees nothing of the code around it.
    """
    numbers, lines = logical_lines(text)
    symbols = set(re.findall(r"(?:func\.func|llvm\.func)\s+(?:\w+\s+)*@([\w$.-]+|\"[^\"]*\")", text))
    symbols |= set(re.findall(r"sym_name\s*=\s*\"([^\"]*)\"", text))
    depth = 0
    # Each scope: [depth it belongs to, names, whether enclosing scopes are hidden].
    scopes: list[list] = [[0, set(), True]]
    labels: set[str] = set()
    for index, raw in enumerate(lines):
        number = numbers[index]
        code = _STRING.sub('""', raw)
        code = code.split("//", 1)[0]
        problem = line_problem(code)
        if problem:
            raise ParseError(number, len(code) - len(code.lstrip()) + 1, problem)
        isolated = bool(_ISOLATED.match(code)) and code.rstrip().endswith("{")
        if isolated:
            labels = set(re.findall(r"^\s*(\^[\w$.-]+)", text_of_region(lines, index), re.M))
        is_label = code.lstrip().startswith("^")
        for ref in re.findall(r"\^[\w$.-]+", code):
            if not (is_label and code.lstrip().startswith(ref)) and ref not in labels:
                raise ParseError(number, raw.find(ref) + 1, f"reference to an undefined block '{ref}'")
        defs, uses = split_defs_uses(code, header=is_label or bool(_ISOLATED.match(code)))
        visible: set[str] = set()
        for _, names, hides in reversed(scopes):
            visible |= names
            if hides:
                break
        for use in uses:
            if use not in visible and use not in defs:
                raise ParseError(number, raw.find(use) + 1, f"use of undeclared SSA value name '{use}'")
        if not isolated:
            scopes[-1][1] |= defs
        region_opener = code.rstrip().rfind("{") + 1 if isolated else 0
        for callee in re.findall(r"\bcall\"?\s*\(?\s*(?:<\{callee\s*=\s*)?@([\w$.-]+|\"[^\"]*\")", code):
            if callee not in symbols:
                raise ParseError(number, raw.find("@" + callee) + 1,
                                 f"'func.call' op '{callee}' does not reference a valid function")
        for column, char in enumerate(code, 1):
            if char == "{":
                depth += 1
                # A function body sees its arguments and nothing of the code around it.
                opens_body = column == region_opener
                scopes.append([depth, defs if opens_body else set(), opens_body])
            elif char == "}":
                depth -= 1
                if depth < 0:
                    raise ParseError(number, column, "unexpected '}'")
                while len(scopes) > 1 and scopes[-1][0] > depth:
                    scopes.pop()
    if depth != 0:
        raise ParseError(len(lines), 1, "expected '}' before end of file")


_OP_NAME = r"(?:[A-Za-z_][\w$]*(?:\.[\w$]+)*|\"[^\"]*\")"
_LINE_SHAPES = [
    re.compile(r"^\s*$"),
    re.compile(r"^\s*[#!][\w$.-]+\s*=\s*\S"),  # attribute / type alias
    re.compile(r"^\s*\^[\w$.-]+(?:\(.*\))?\s*:\s*(?:loc\(.*\))?\s*$"),  # block label
    re.compile(r"^\s*(?:%[\w$.-]+(?::\d+)?\s*,\s*)*(?:%[\w$.-]+(?::\d+)?\s*=\s*)?" + _OP_NAME + r"(?![\w$.])"),  # op
    re.compile(r"^\s*(?::|->|[\[(])"),  # an op continued from the line before
    re.compile(r"^\s*\}\)?(?:\s*(?:[:\-{}\[(<]|else\b|do\b|loc\b|attributes\b|\w).*)?$"),  # end of a region
    re.compile(r"^\s*[\w\-\"]+\s*=.*$"),  # a continued attribute dictionary
]
_MEMREF = re.compile(r"memref<")
_MEMREF_BODY = re.compile(r"^(?:(?:\?|\d+)x)*(?:[\w.!]+|memref<.*>|vector<.*>|!llvm\.\w+(?:<.*>)?)(?:\s*,.*)?$")


_BARE_OPS = {"module", "return", "func", "call", "br", "cond_br", "yield"}
_GARBAGE = [
    (re.compile(r"<<|(?<!dense)<>"), "expected a type or attribute inside '<>'"),
    (re.compile(r"%[\w$.-]+<"), "unexpected '<' after an SSA value"),
    (re.compile(r"\S\s*\}\s*\}|\(\s*\}"), "unexpected '}' in the middle of an operation"),
    (re.compile(r"^\s*\{"), "expected operation name, found '{'"),
    (re.compile(r"^\s*\}\s+\}"), "unexpected '}'"),
    (re.compile(r"^\s*\}\s*\(|^\s*\}\s+\)"), "unexpected '(' after a region"),
    (re.compile(r"(?<![#\w])loc\b(?!\()|(?<![#\w])loc\(\s*(?![\"#)]|unknown|callsite|fused|\[)"), "expected location"),
    (re.compile(r"^\s*(?:%[\w$.:-]+\s*(?:,\s*%[\w$.:-]+\s*)*=\s*)?[A-Za-z_][\w$]*\.[\w$.]+%"),
     "expected ' ' after the operation name"),
    (re.compile(r"^\s*module\b(?!\s*(?:@[\w$.-]+\s*)?(?:attributes\s*\{.*\}\s*)?\{\s*\}?\s*$)"),
     "expected '{' after 'module'"),
]


def line_problem(code: str) -> str | None:
    """What is wrong with the shape of one line of MLIR, if anything."""
    if not any(shape.match(code) for shape in _LINE_SHAPES):
        return f"expected operation name, found '{code.strip()[:20]}'"
    op = re.match(r"^\s*(?:%[\w$.:-]+\s*(?:,\s*%[\w$.:-]+\s*)*=\s*)?([A-Za-z_][\w$.]*)", code)
    if op and "." not in op.group(1) and op.group(1) not in _BARE_OPS and not code.lstrip().startswith("}"):
        return f"custom op '{op.group(1)}' is unknown"
    for pattern, message in _GARBAGE:
        if pattern.search(code):
            return message
    stripped = code.replace("->", "")
    if stripped.count("<") != stripped.count(">"):
        return "unbalanced '<' in a type or attribute"
    for match in _MEMREF.finditer(stripped):
        body, nesting = [], 1
        for char in stripped[match.end():]:
            nesting += {"<": 1, ">": -1}.get(char, 0)
            if nesting == 0:
                break
            body.append(char)
        if not _MEMREF_BODY.match("".join(body)):
            return "invalid memref type"
    return None


def logical_lines(text: str) -> tuple[list[int], list[str]]:
    """Lines, with a line that leaves a parenthesis open joined to the next."""
    numbers, lines, pending, depth = [], [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            numbers.append(number)
        pending = f"{pending} {raw}" if pending else raw
        code = _STRING.sub('""', raw).split("//", 1)[0]
        depth += code.count("(") - code.count(")")
        if depth <= 0:
            lines.append(pending)
            pending, depth = "", 0
    if pending:
        lines.append(pending)
    return numbers, lines


def text_of_region(lines: list[str], start: int) -> str:
    """The lines from ``start`` to the brace that closes the region opened there."""
    depth, out = 0, []
    for raw in lines[start:]:
        out.append(raw)
        code = _STRING.sub('""', raw)
        depth += code.count("{") - code.count("}")
        if depth <= 0:
            break
    return "\n".join(out)


def split_defs_uses(code: str, header: bool) -> tuple[set[str], list[str]]:
    """SSA names a line defines (results, arguments, induction variables) and uses."""
    defs: set[str] = set()
    head = re.match(r"^\s*((?:%[\w$.-]+(?::\d+)?\s*,\s*)*%[\w$.-]+(?::\d+)?)\s*=", code)
    if head:
        defs |= set(_VALUE.findall(head.group(1)))
        code = code[head.end():]
    if header:  # function signature or block label: `(%a: type, ...)`
        defs |= set(re.findall(r"(%[\w$.-]+)\s*:", code))
    # Induction variables and loop-carried values: `%i = lb to ub`, `iter_args(%a = %x)`,
    # `(%i, %j) = (...)`, `for (%i) : index = ...`, `(%i) in (...)`.
    defs |= set(re.findall(r"(%[\w$.-]+)\s*=", code))
    defs |= set(re.findall(r"\bfor\s+(%[\w$.-]+)", code))
    defs |= set(re.findall(r"->\s*(%[\w$.-]+)", code))  # omp reduction/private block args
    for group in re.findall(r"\(((?:\s*%[\w$.-]+\s*,?)+)\)\s*(?:=|in\b|:\s*\w+\s*=)", code):
        defs |= set(_VALUE.findall(group))
    uses = [v for v in _VALUE.findall(code) if v not in defs]
    return defs, uses


def upstream_verdict(path: str, text: str) -> str | None:
    """mlir-opt's diagnostics when it can read the module and rejects it, else None.

    Only modules of upstream dialects are shown to it: the custom syntax of
    CARTS's own dialects is beyond it.
    """
    if not os.path.exists(MLIR_OPT) or _OUT_OF_TREE.search(text):
        return None
    try:
        proc = subprocess.run(
            [MLIR_OPT, "--allow-unregistered-dialect",
             path, "-o", "/dev/null"],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stderr if proc.returncode else None


def nested_allocs(text: str) -> list[tuple[str, int]]:
    """Heap allocations of memrefs nested 3+ levels deep that are used: (name, depth).

    A use counts where the allocation is in scope: after it, before its
    region closes, and before the name is defined again.
    """
    found = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _NESTED_ALLOC.match(line)
        if not match:
            continue
        name = match.group(1)
        depth = line.split(":")[-1].count("memref<")
        if depth >= 3 and _used_in_scope(name, lines[index + 1:]):
            found.append((name, depth))
    return found


def _used_in_scope(name: str, following: list[str]) -> bool:
    nesting = 0
    redefined = re.compile(r"^\s*(?:%[\w$.:-]+\s*,\s*)*" + re.escape(name) + r"(?::\d+)?\s*[,=]")
    for line in following:
        code = _STRING.sub('""', line)
        if _is_operand_use(name, line):
            return True
        if redefined.match(code):
            return False
        nesting += code.count("{") - code.count("}")
        if nesting < 0:
            return False
    return False


def _is_operand_use(name: str, line: str) -> bool:
    """``name`` is an operand of the op on ``line`` (not its result, not in a location)."""
    code = re.sub(r"\bloc\(.*?\)", "", _STRING.sub('""', line))
    head = re.match(r"^\s*(?:%[\w$.:-]+\s*(?:,\s*%[\w$.:-]+\s*)*=\s*)?(?:[A-Za-z_][\w$]*(?:\.[\w$]+)*|\"[^\"]*\")\s", code)
    if not head:
        return False
    operands = code[head.end():].split(" : ", 1)[0]
    return re.search(re.escape(name) + r"(?![\w$.-])", operands) is not None


def crash(path: str, stage: str, flavour: str) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if flavour == "other":
        frame, assertion = (
            "mlir::arts::(anonymous namespace)::CollectMetadataPass::runOnOperation()",
            "op->getNumRegions() == 1 && \"expected single region\"",
        )
        where = "CollectMetadata.cpp:88"
    else:
        frame, assertion = (
            "mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation()",
            "rank <= 2 && \"nested memrefs of more than 2 levels are not supported\"",
        )
        where = "CanonicalizeMemrefs.cpp:412"
    file, line = where.split(":")
    err = sys.stderr
    err.write(f"carts-run: /opt/carts/lib/arts/Transforms/{file}:{line}: void {frame}: Assertion `{assertion}' failed.\n")
    err.write("PLEASE submit a bug report to https://github.com/llvm/llvm-project/issues/ and include the crash backtrace.\n")
    err.write("Stack dump:\n")
    err.write(f"0.\tProgram arguments: /opt/carts/bin/carts-run {path} --{stage}\n")
    frames = [
        "llvm::sys::PrintStackTrace(llvm::raw_ostream&, int)",
        "llvm::sys::RunSignalHandlers()",
        "SignalHandler(int)",
        None,
        "__pthread_kill_implementation",
        "raise",
        "abort",
        "__assert_fail",
        frame,
        "mlir::detail::OpToOpPassAdaptor::run(mlir::Pass*, mlir::Operation*, mlir::AnalysisManager, bool, unsigned int)",
        "mlir::detail::OpToOpPassAdaptor::runPipeline(mlir::OpPassManager&, mlir::Operation*, mlir::AnalysisManager, bool, unsigned int, mlir::PassInstrumentor*, mlir::PassInstrumentation::PipelineParentInfo const*)",
        "mlir::PassManager::run(mlir::Operation*)",
        "main",
    ]
    for index, name in enumerate(frames):
        address = f"0x{0x55d1c2f00000 + index * 0x1a3f:016x}"
        if name is None:
            err.write(f" #{index} {address} (/lib/x86_64-linux-gnu/libc.so.6+0x3c050)\n")
        else:
            err.write(f" #{index} {address} {name} (/opt/carts/bin/carts-run+0x{index * 0x1a3f:x})\n")
    err.flush()
    os.abort()


def run(args: list[str]) -> int:
    stages = [a[2:] for a in args if a.startswith("--") and a[2:] in STAGES]
    unknown = [a for a in args if a.startswith("--") and a[2:] not in STAGES
               and not a.startswith("--debug-only") and a != "-o"]
    files = [a for a in args if not a.startswith("-")]
    if unknown:
        print(f"carts-run: Unknown command line argument '{unknown[0]}'.  Try: 'carts-run --help'", file=sys.stderr)
        return 1
    if len(files) != 1:
        print("carts-run: Not enough positional command line arguments specified!", file=sys.stderr)
        return 1
    path, stage = files[0], (stages[0] if stages else "complete")
    debug = any(a.startswith("--debug-only") for a in args)
    text = Path(path).read_text(errors="replace")
    try:
        check_module(text)
        upstream = upstream_verdict(path, text)
        if upstream:
            sys.stderr.write(upstream)
            raise ParseError(0, 0, "")
    except ParseError as error:
        if error.message:
            print(f"{path}:{error.line}:{error.col}: error: {error.message}", file=sys.stderr)
        print("[ERROR] [carts-run] Could not parse input file", file=sys.stderr)
        return 1
    bug = os.environ.get("CARTS_STANDIN_BUG", "crash")
    found = nested_allocs(text)
    if debug:
        for name, depth in found:
            print(f"[canonicalize-memrefs] nested allocation {name}: {depth} levels", file=sys.stderr)
    if found and bug in ("crash", "other"):
        flaky_below = int(os.environ.get("CARTS_STANDIN_FLAKY_BELOW", "0"))
        if len(text.splitlines()) < flaky_below and random.random() < 0.5:
            sys.stdout.write(text)
            return 0
        crash(path, stage, bug)
    sys.stdout.write(text)
    return 0


def main(argv: list[str]) -> int:
    log = os.environ.get("CARTS_STANDIN_LOG")
    if log:
        with open(log, "a") as stream:
            stream.write(" ".join(argv) + "\n")
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: carts {run,cgeist,--version} ...  (stand-in for tests)")
        return 0 if argv else 1
    if argv[0] == "--version":
        print(VERSION)
        return 0
    if argv[0] == "run":
        return run(argv[1:])
    if argv[0] == "cgeist":
        sys.path.insert(0, str(Path(__file__).parent))
        import cgeist_standin

        return cgeist_standin.main(argv[1:])
    print(f"carts: unknown command '{argv[0]}'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
