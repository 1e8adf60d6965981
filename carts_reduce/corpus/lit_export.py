"""Corpus cases as lit tests, the form CARTS keeps its own regression tests in.

Each case becomes ``<case-id><suffix>``: the reduced input with ``// RUN:`` and
``// CHECK:`` lines in front (MLIR and C share ``//`` comments). The RUN line
is the case's own command template with ``{carts}`` as ``%carts``, ``{input}``
as ``%s`` and a C front end writing ``%t.mlir``; the CHECK lines pin the
failure: the assertion and top frame of a crash, the error line of an error,
the IR pattern of a case whose stage leaves something behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from carts_reduce.corpus.store import Case, Corpus

SUFFIXES = (".mlir", ".c")


class NotExportable(Exception):
    """A case whose failure a RUN line cannot express (a hang, an output mismatch)."""


def _literal(text: str) -> str:
    # FileCheck matches any run of blanks to one, and reads ``[[`` and ``{{`` as
    # the start of a variable or a regex: those are written as regexes.
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\[\[|\{\{", lambda m: "{{" + re.escape(m.group(0)) + "}}", text)


def check_text(text: str) -> str:
    """``text`` as a FileCheck pattern matching itself."""
    return _literal(text).strip()


# Python regex shorthands that LLVM's POSIX-style regexes spell otherwise.
_PERL_CLASSES = {r"\d": "[0-9]", r"\s": "[[:space:]]", r"\w": "[[:alnum:]_]", "(?:": "("}


def check_regex(pattern: str) -> str:
    """A (Python) regex as a FileCheck ``{{...}}`` block."""
    if "}}" in pattern:
        raise NotExportable(f"pattern {pattern!r} holds '}}}}', which FileCheck cannot embed")
    for perl, posix in _PERL_CLASSES.items():
        pattern = re.sub(r"(?<!\\)" + re.escape(perl), lambda _m, p=posix: p, pattern)
    return "{{" + pattern + "}}"


_POSIX_SPECIAL = re.compile(r"([.\\^$|()\[\]{}*+?])")
# What the signature masks in messages (SSA names, block labels), matched back as regexes.
_MASKED = {"%_": r"%[^ ,:()]+", "^bb": r"\^bb[0-9]+"}


def _regex_escape(text: str) -> str:
    return _POSIX_SPECIAL.sub(r"\\\1", text)


def check_normalized(text: str) -> str:
    """A FileCheck pattern for a signature message, whose SSA names were masked."""
    pieces = re.split(r"(%_|\^bb(?![0-9]))", text)
    if len(pieces) == 1:
        return check_text(text)
    out = []
    for piece in pieces:
        if piece in _MASKED:
            out.append("{{" + _MASKED[piece] + "}}")
        elif piece:
            out.append(_literal(piece))
    return "".join(out).strip()


def check_frame(name: str) -> str:
    """A pattern for a frame's function name: the printed symbol may spell nested
    template closers ``> >`` where the signature has ``>>``."""
    if ">>" not in name:
        return check_text(name)
    return "{{" + _regex_escape(name).replace(">>", "> ?>").replace(">>", "> ?>") + "}}"


def _assertion_text(assertion: str) -> str:
    match = re.search(r"Assertion `.*' failed|UNREACHABLE executed", assertion)
    return match.group(0) if match else assertion


# Predicates a RUN line cannot express: they compare builds, run scripts or
# need extra flags and timing.
_UNEXPRESSIBLE = ("mismatch", "script", "hang", "debug-log")


def failure_kind(case: Case) -> str:
    """How the case fails: 'crash' or 'error' (by its signature), or, for a stage
    that exits 0, 'ir' (ir-contains), 'ir-lacks', 'stdout' or 'stderr' (regexes)."""
    sig = case.signature or {}
    status = str(sig.get("status", ""))
    if status == "timeout":
        raise NotExportable("a hang cannot be written as RUN/CHECK lines")
    if status.startswith(("SIG", "signal")):
        return "crash"
    if sig:
        return "error"
    specs = " ".join(case.predicates)
    for word in _UNEXPRESSIBLE:
        if word in specs:
            raise NotExportable(f"predicate {word} cannot be written as RUN/CHECK lines")
    options = case.predicate_options
    for name, kind in (("ir-contains", "ir"), ("ir-lacks", "ir-lacks"), ("stdout-regex", "stdout"), ("stderr-regex", "stderr")):
        if name in specs:
            return kind
    if options.get("ir_pattern"):
        return "ir"
    raise NotExportable("no signature and no pattern to check")


def _ir_checks(options: dict) -> list[str]:
    pattern = str(options.get("ir_pattern") or "")
    if not pattern:
        raise NotExportable("no IR pattern to check")
    if pattern.startswith("op:"):
        # A line of that op: its name not followed by more of a name.
        name = pattern[3:].strip()
        checks = ["{{" + _regex_escape(name) + "([^[:alnum:]_.$-]|$)}}"]
    else:
        checks = [check_regex(pattern)]
    if options.get("ir_type"):
        checks.append("SAME: " + check_regex(str(options["ir_type"])))
    return checks


def check_lines(case: Case, kind: str) -> list[str]:
    """The FileCheck directives that pin the case's failure, in output order
    (``CHECK: ...``, ``CHECK-SAME: ...``, ``CHECK-NOT: ...``)."""
    sig = case.signature or {}
    options = case.predicate_options
    checks: list[str] = []
    if kind == "crash":
        if sig.get("assertion"):
            checks.append(check_text(_assertion_text(str(sig["assertion"]))))
        elif sig.get("llvm_error"):
            checks.append(check_normalized("LLVM ERROR: " + str(sig["llvm_error"])))
        frames = list(sig.get("frames") or options.get("match_frame") or [])
        if frames:
            checks.append(check_frame(str(frames[0])))
    elif kind == "error":
        if sig.get("errors"):
            checks.append(check_normalized(str(sig["errors"][0])))
        elif sig.get("llvm_error"):
            checks.append(check_normalized("LLVM ERROR: " + str(sig["llvm_error"])))
        elif sig.get("mlir_error"):
            checks.append(check_normalized("error: " + str(sig["mlir_error"])))
        elif sig.get("assertion"):
            checks.append(check_text(_assertion_text(str(sig["assertion"]))))
    elif kind == "ir":
        checks = _ir_checks(options)
    elif kind == "ir-lacks":
        checks = ["NOT: " + c for c in _ir_checks(options) if not c.startswith("SAME: ")]
    elif kind in ("stdout", "stderr"):
        checks.append(check_regex(str(options[f"{kind}_regex"])))
    return ["CHECK-" + c if c.startswith(("NOT: ", "SAME: ")) else "CHECK: " + c for c in checks]


def run_lines(case: Case, kind: str, with_filecheck: bool) -> list[str]:
    """The RUN lines: the case's templates in lit's vocabulary."""

    def lit(template: str, input_name: str) -> str:
        return (
            template.replace("{carts}", "%carts")
            .replace("{input}", input_name)
            .replace("{mlir}", "%t.mlir")
            .replace("{stage}", case.stage or "")
        )

    lines: list[str] = []
    stage_input = "%s"
    if case.frontend:
        lines.append(f"{lit(case.frontend, '%s')} > %t.mlir")
        stage_input = "%t.mlir"
    command = lit(case.command, stage_input)
    tail = " | FileCheck %s" if with_filecheck else ""
    if kind in ("crash", "error", "stderr") and tail:
        tail = " 2>&1" + tail
    prefix = {"crash": "not --crash ", "error": "not "}.get(kind, "")
    lines.append(prefix + command + tail)
    return lines


@dataclass
class LitTest:
    name: str
    text: str


def lit_test(case: Case) -> LitTest:
    """The lit test of one case; raises NotExportable when it cannot be one."""
    suffix = case.input_path.suffix
    if suffix not in SUFFIXES:
        raise NotExportable(f"input suffix {suffix!r} has no '//' comments")
    kind = failure_kind(case)
    checks = check_lines(case, kind)
    header = [f"// carts-reduce corpus case {case.id}"]
    header += [f"// RUN: {line}" for line in run_lines(case, kind, with_filecheck=bool(checks))]
    header += [f"// {line}" for line in checks]
    return LitTest(case.id + suffix, "\n".join(header) + "\n\n" + case.text)


LIT_CFG = '''\
# lit configuration for carts-reduce regression cases.
#   CARTS=/path/to/carts lit -v .
# %carts is the carts driver (env CARTS, default `carts` on PATH). FileCheck and
# `not` come from LLVM (LLVM_TOOLS_DIR, else the newest /usr/lib/llvm-*/bin, else PATH);
# without LLVM, the `filecheck` Python package (on PATH or beside lit's Python) and
# bin/not stand in.
import glob
import os
import re
import shlex
import shutil
import sys

import lit.formats

config.name = "carts-reduce-corpus"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".c"]
config.excludes = ["bin"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))


def _llvm_dirs():
    if os.environ.get("LLVM_TOOLS_DIR"):  # chosen by the user: only there
        return [os.environ["LLVM_TOOLS_DIR"]]
    dirs = []

    def version(path):
        found = re.search(r"llvm-(\\d+)", path)
        return int(found.group(1)) if found else 0

    dirs += sorted(glob.glob("/usr/lib/llvm-*/bin"), key=version, reverse=True)
    return dirs


def _find(name):
    for folder in _llvm_dirs():
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


path_dirs = []
filecheck = _find("FileCheck")
if filecheck:
    path_dirs.append(os.path.dirname(filecheck))
else:
    # The filecheck package: on PATH, or beside the Python running lit (a venv not on PATH).
    beside_lit = os.path.join(os.path.dirname(sys.executable), "filecheck")
    python_filecheck = shutil.which("filecheck") or (beside_lit if os.access(beside_lit, os.X_OK) else None)
    if not python_filecheck:
        lit_config.fatal("no FileCheck: install LLVM's (llvm-22-tools) or `pip install filecheck`")
    config.substitutions.append((r"\\bFileCheck\\b", shlex.quote(python_filecheck)))
not_tool = _find("not")
path_dirs.append(os.path.dirname(not_tool) if not_tool else os.path.join(config.test_source_root, "bin"))
config.environment["PATH"] = os.pathsep.join(path_dirs + [os.environ.get("PATH", "")])
config.substitutions.append(("%carts", shlex.quote(os.environ.get("CARTS", "carts"))))
'''

NOT_FALLBACK = '''\
#!/usr/bin/env python3
"""`not` for machines without LLVM's: `not CMD` succeeds when CMD fails without
crashing; `not --crash CMD` succeeds when CMD dies from a signal."""
import os
import subprocess
import sys

args = sys.argv[1:]
crash = bool(args) and args[0] == "--crash"
if crash:
    args = args[1:]
    os.environ["LLVM_DISABLE_CRASH_REPORT"] = "1"
    os.environ["LLVM_DISABLE_SYMBOLIZATION"] = "1"
if not args:
    sys.exit(1)
try:
    code = subprocess.call(args)
except OSError as error:
    print(f"not: {args[0]}: {error.strerror}", file=sys.stderr)
    sys.exit(1)
if crash:
    sys.exit(0 if code < 0 else 1)
sys.exit(0 if code > 0 else 1)
'''


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (case id, reason)


def export_lit(corpus: Corpus, out_dir: Path) -> ExportResult:
    """Write one lit test per exportable case, ``lit.cfg.py`` and ``bin/not``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    for case in corpus.cases():
        try:
            test = lit_test(case)
        except NotExportable as why:
            result.skipped.append((case.id, str(why)))
            continue
        path = out_dir / test.name
        path.write_text(test.text, encoding="utf-8", errors="surrogateescape")
        result.written.append(path)
    (out_dir / "lit.cfg.py").write_text(LIT_CFG)
    fallback = out_dir / "bin" / "not"
    fallback.parent.mkdir(exist_ok=True)
    fallback.write_text(NOT_FALLBACK)
    fallback.chmod(0o755)
    return result
