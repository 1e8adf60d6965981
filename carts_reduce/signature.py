"""Failure signatures: what pins "the same failure" across candidates.

A signature keeps the parts of a failing step's output that name the bug and
drops the parts that change from run to run or from candidate to candidate:
addresses, offsets, file locations, SSA value names. Two outcomes fail the
same way exactly when their signatures are equal, so a reduction that only
accepts equal signatures cannot slip to another bug on the way down.

Parsing is a handful of substring searches and line-anchored regexes over the
failing step's stderr, so it stays cheap on large outputs (CARTS dumps the
whole module to stderr when a pass fails): the driver computes it for every
uninteresting failing candidate to keep one example of each other failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from carts_reduce.run.outcome import Outcome, StepResult

#: Default number of stack frames kept (after the signal machinery is skipped).
DEFAULT_FRAMES = 3


@dataclass(frozen=True)
class Frame:
    """One stack frame line: its index, module (when printed) and symbol."""

    index: int
    module: str  # basename of the library or binary, "" when unknown
    symbol: str  # demangled text without address, offset and source location
    source: str = ""  # "path/file.cpp:12:3" when the dump prints it

    @cached_property
    def name(self) -> str:
        return function_name(self.symbol)


@dataclass(frozen=True)
class Signature:
    """The identity of a failure. Empty (falsy) when nothing failed."""

    step: str = ""  # name of the first failing step ("stage", "frontend", ...)
    status: str = ""  # "SIGSEGV", "exit 1", "timeout"
    errors: tuple[str, ...] = ()  # distinct "[ERROR] [...] ..." lines, in order
    assertion: str = ""  # "FUNCTION: Assertion `EXPR' failed." or "UNREACHABLE executed at FILE:LINE"
    llvm_error: str = ""  # text after the first "LLVM ERROR: "
    mlir_error: str = ""  # first "error: " diagnostic, without its FILE:LINE:COL
    frames: tuple[str, ...] = ()  # top function names outside the crash machinery

    def __bool__(self) -> bool:
        return bool(self.step or self.status)

    @classmethod
    def from_outcome(cls, outcome: Outcome, frames: int = DEFAULT_FRAMES) -> Signature:
        """The signature of the first failing step; empty when every step passed."""
        for result in outcome.steps:
            if result.failed:
                return cls.from_step(result, frames)
        return cls()

    @classmethod
    def from_step(cls, result: StepResult, frames: int = DEFAULT_FRAMES) -> Signature:
        if not result.failed:
            return cls()
        if result.timed_out:
            # Killed by us: how far its output got depends on the timing.
            return cls(step=result.name, status=result.status)
        parts = _parse(result.stderr, frames)
        if not any(parts.values()) and result.stdout:
            # Some wrappers and scripts report on stdout; only look there when
            # stderr said nothing, so a module printed to stdout is never read
            # as a diagnostic in the common case.
            parts = _parse(result.stdout, frames)
        return cls(step=result.name, status=result.status, **parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML data; empty parts are left out."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value:
                data[item.name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        known = {item.name for item in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            values[key] = tuple(value) if key in ("errors", "frames") else str(value)
        return cls(**values)

    def summary(self) -> str:
        """One line for tables, progress and report titles."""
        if not self:
            return "no failure"
        parts = [f"{self.step}: {self.status}" if self.step else self.status]
        if self.assertion:
            parts.append(self.assertion)
        if self.llvm_error:
            parts.append(f"LLVM ERROR: {self.llvm_error}")
        parts.extend(self.errors[:2])
        if self.mlir_error:
            parts.append(f"error: {self.mlir_error}")
        if self.frames:
            parts.append("at " + " <- ".join(self.frames))
        return "; ".join(parts)


# --------------------------------------------------------------------------
# Text parts


_SSA = re.compile(r"%[\w.$-]+(?:#\d+)?")
_BLOCK = re.compile(r"\^bb\d+")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Message text with candidate-dependent names masked.

    SSA values and block labels are renumbered by the printer whenever ops
    before them go away, so they cannot be part of a failure's identity.
    """
    text = _SSA.sub("%_", text)
    text = _BLOCK.sub("^bb", text)
    return _SPACES.sub(" ", text).strip()


def _lines_with(text: str, needle: str, limit: int | None = None):
    """The lines of ``text`` that contain ``needle`` (a fast substring walk)."""
    start = text.find(needle)
    found = 0
    while start != -1:
        begin = text.rfind("\n", 0, start) + 1
        end = text.find("\n", start)
        if end == -1:
            end = len(text)
        yield text[begin:end], start - begin
        found += 1
        if limit is not None and found >= limit:
            return
        start = text.find(needle, end)


_ASSERT_GLIBC = re.compile(r"(?:^|\s)\S+?:\d+: (?P<func>.*?): Assertion [`'](?P<expr>.*)' failed\.?")
_ASSERT_ANY = re.compile(r"Assertion [`'](?P<expr>.*)' failed")
_UNREACHABLE = re.compile(r"UNREACHABLE executed(?: at (?P<file>\S+?):(?P<line>\d+))?")
_DIAG_LOCATION = re.compile(r"(?::\d+(?::\d+)?|<unknown>|\))\s?:\s*$")


def _assertion(text: str) -> str:
    for line, _ in _lines_with(text, "Assertion", limit=20):
        match = _ASSERT_GLIBC.search(line)
        if match:
            return f"{match['func'].strip()}: Assertion `{match['expr']}' failed."
        match = _ASSERT_ANY.search(line)
        if match:
            return f"Assertion `{match['expr']}' failed."
    for line, _ in _lines_with(text, "UNREACHABLE executed", limit=1):
        match = _UNREACHABLE.search(line)
        if match and match["file"]:
            return f"UNREACHABLE executed at {match['file'].rsplit('/', 1)[-1]}:{match['line']}"
        return "UNREACHABLE executed"
    return ""


def _error_texts(text: str, limit: int = 8) -> tuple[tuple[str, ...], str]:
    """The distinct ``[ERROR] [...]`` lines and the first ``LLVM ERROR:``
    text, from one walk over the occurrences of ``ERROR``."""
    seen: dict[str, None] = {}
    llvm_error = ""
    for line, at in _lines_with(text, "ERROR"):
        if at >= 1 and line.startswith("[ERROR]", at - 1):
            if len(seen) < limit:
                seen.setdefault(normalize(line[at - 1 :]), None)
        elif at >= 5 and not llvm_error and line.startswith("LLVM ERROR:", at - 5):
            llvm_error = normalize(line[at + len("ERROR:") :])
    return tuple(seen), llvm_error


def _mlir_error(text: str) -> str:
    """The first ``error:`` diagnostic that starts a line, without its location.

    Accepted prefixes are nothing or a location (``FILE:LINE:COL: ``,
    ``<unknown>: ``, ``loc(...): ``), so a driver's ``clang: error: ...`` or
    the word inside a dumped string attribute is not taken for a diagnostic.
    """
    for line, at in _lines_with(text, "error: ", limit=50):
        prefix = line[:at]
        if prefix.strip() == "" or _DIAG_LOCATION.search(prefix):
            message = normalize(line[at + len("error: ") :])
            if message:
                return message
    return ""


def _parse(text: str, frames: int) -> dict[str, Any]:
    if not text:
        return {"errors": (), "assertion": "", "llvm_error": "", "mlir_error": "", "frames": ()}
    errors, llvm_error = _error_texts(text)
    return {
        "errors": errors,
        "assertion": _assertion(text),
        "llvm_error": llvm_error,
        "mlir_error": _mlir_error(text),
        "frames": top_frames(text, frames),
    }


# --------------------------------------------------------------------------
# Stack frames

# LLVM's own handler:  "12 libMLIR.so.22.1 0x00007f... mlir::Foo::bar(int) + 683"
_LLVM_FRAME = re.compile(r"^\s*(\d+)\s+(\S+)\s+0x[0-9a-fA-F]{4,}(?:\s+(.*?))?\s*$")
# Symbolized and sanitizer forms: "#12 0x00007f... [in ]SYMBOL (module+0x...)" or
# "#3 0x... in SYMBOL /path/file.cpp:12:3" or "#2 0x... (/lib/libc.so.6+0x29d90)"
_HASH_FRAME = re.compile(r"^\s*#(\d+)\s+0x[0-9a-fA-F]+\s*(?:in\s+)?(.*?)\s*$")
_MODULE_SUFFIX = re.compile(r"\s*\(([^()\s]*?)\+0x[0-9a-fA-F]+\)(?:\s*\(BuildId: \w+\))?$")
_GDB_FROM = re.compile(r"\s+from\s+(\S+)$")
_OFFSET_SUFFIX = re.compile(r"\s+\+\s+\d+$")
_SOURCE_SUFFIX = re.compile(r"\s+(?:at\s+)?(\S+:\d+(?::\d+)?)$")
# glibc is built in its source tree: its symbolized frames read "./nptl/...".
_SYSTEM_SOURCES = re.compile(
    r"^\./(?:assert|csu|elf|intl|libio|malloc|misc|nptl|posix|setjmp|signal|stdlib|string|sysdeps)/"
)

_SYSTEM_MODULES = re.compile(r"^(?:libc|libpthread|libdl|ld-linux|ld-musl|libasan|libubsan|libtsan|libclang_rt)[.-]")
_MACHINERY_NAMES = frozenset(
    {
        "abort",
        "raise",
        "gsignal",
        "pthread_kill",
        "_start",
        "main_body",
        "__assert_fail",
        "__assert_fail_base",
        "__restore_rt",
        "__libc_start_main",
        "__libc_start_call_main",
    }
)
_MACHINERY_PATTERN = re.compile(
    r"^(?:llvm::sys::|__sanitizer::|__asan::|__ubsan::|__cxxabiv1::"
    r"|__gnu_cxx::__verbose_terminate_handler|std::terminate)"
    r"|SignalHandler$|HandleCrash$"
    r"|^llvm::(?:report_fatal_error|reportFatal\w*|report_bad_alloc_error|llvm_unreachable_internal)$"
)


def parse_frames(text: str) -> list[Frame]:
    """The frames of the first stack dump in ``text`` (LLVM or ``#N`` form)."""
    return list(_iter_frames(text))


def _iter_frames(text: str) -> Iterator[Frame]:
    start = _dump_start(text)
    if start == -1:
        return
    previous = None
    for line in text[start:].splitlines():
        frame = _frame(line)
        if frame is None:
            if previous is not None:
                return  # the first dump is over
            continue  # banner lines before the first frame
        if previous is not None and frame.index != previous + 1:
            return  # a second dump (another thread, a re-report) starts
        previous = frame.index
        yield frame


def _dump_start(text: str) -> int:
    """Where the first stack dump begins: LLVM's banner or a ``#0 0x`` frame."""
    banner = text.find("Stack dump")
    if banner != -1:
        return banner
    # Sanitizer and symbolized dumps without the banner: "#0 0x..." or "#0  0x...".
    at = text.find("#0 ")
    while at != -1:
        address = at + 3 + (text[at + 3 : at + 4] == " ")
        if text.startswith("0x", address):
            return text.rfind("\n", 0, at) + 1
        at = text.find("#0 ", at + 3)
    return -1


def _frame(line: str) -> Frame | None:
    if "0x" not in line:
        return None
    match = _HASH_FRAME.match(line)
    if match:
        index, rest = int(match[1]), match[2]
        module = ""
        suffix = _MODULE_SUFFIX.search(rest)
        if suffix:
            module, rest = suffix[1], rest[: suffix.start()]
        else:
            suffix = _GDB_FROM.search(rest)
            if suffix:
                module, rest = suffix[1], rest[: suffix.start()]
            source = _SOURCE_SUFFIX.search(rest)
            if source:
                return Frame(index, module.rsplit("/", 1)[-1], rest[: source.start()].strip(), source[1])
        return Frame(index, module.rsplit("/", 1)[-1], rest.strip())
    match = _LLVM_FRAME.match(line)
    if match:
        symbol = _OFFSET_SUFFIX.sub("", match[3] or "")
        return Frame(int(match[1]), match[2].rsplit("/", 1)[-1], symbol.strip())
    return None


def is_machinery(frame: Frame) -> bool:
    """Frames of the crash reporting itself, or without a usable name."""
    if not frame.symbol:
        return True
    if frame.module and _SYSTEM_MODULES.match(frame.module):
        return True
    if frame.source and _SYSTEM_SOURCES.match(frame.source):
        return True
    name = frame.name
    if not name or name in _MACHINERY_NAMES:
        return True
    if name.startswith("__") and "::" not in name:
        return True  # libc and runtime internals: __memcpy_avx512_unaligned, __GI_raise, ...
    return bool(_MACHINERY_PATTERN.search(name))


def top_frames(text: str, count: int = DEFAULT_FRAMES) -> tuple[str, ...]:
    """Names of the first ``count`` frames that are not crash machinery."""
    names: list[str] = []
    if count <= 0:
        return ()
    for frame in _iter_frames(text):
        if not is_machinery(frame):
            names.append(frame.name)
            if len(names) == count:
                break
    return tuple(names)


# --------------------------------------------------------------------------
# Demangled names

_OPERATORS = (
    "<=>", "<<=", ">>=", "->*", "()", "[]", "->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
    "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<", ">", "+", "-", "*", "/", "%",
    "^", "&", "|", "~", "!", "=", ",",
)  # fmt: skip
_QUALIFIERS = ("const", "volatile", "&&", "&", "noexcept")
_ANON = "(anonymous namespace)"


_NAME_SPECIAL = re.compile(r"[<>(){}\s]|(?<![\w$])operator(?![\w$])")


def function_name(symbol: str) -> str:
    """The qualified function name of a demangled symbol, without its
    parameters, qualifiers and return type: what stays the same between the
    symbolized and the unsymbolized dumps of one crash.

    ``mlir::affine::AffineLoadOp::fold(mlir::affine::AffineLoadOpGenericAdaptor<...>)``
    gives ``mlir::affine::AffineLoadOp::fold``; ``mlir::Foo::run()::$_0::operator()(int) const``
    gives ``mlir::Foo::run::$_0::operator()``.
    """
    s = symbol.strip()
    out: list[str] = []
    depth = 0  # of template angle brackets
    i, n = 0, len(s)
    while i < n:
        special = _NAME_SPECIAL.search(s, i)
        if special is None:
            out.append(s[i:])
            break
        at = special.start()
        if at > i:
            out.append(s[i:at])
        c = s[at]
        i = at + 1
        if c == "o":  # the keyword "operator": its symbol is part of the name
            j = at + len("operator")
            while j < n and s[j] == " ":
                j += 1
            for op in _OPERATORS:
                if s.startswith(op, j):
                    out.append("operator" + op)
                    i = j + len(op)
                    break
            else:  # conversion operator, "operator new", "operator delete"
                out.append("operator ")
                i = j
        elif c == "<":
            depth += 1
            out.append(c)
        elif c == ">":
            depth = max(0, depth - 1)
            out.append(c)
        elif depth > 0:
            out.append(c)
        elif c == "(":
            if s.startswith(_ANON, at):
                out.append(_ANON)
                i = at + len(_ANON)
                continue
            i = _skip_qualifiers(s, _skip_group(s, at, "(", ")"))
            if not s.startswith("::", i):
                break  # the parameter list: the name is complete
            # else a local entity: f(int)::$_0, f()::{lambda()#1}
        elif c == "{":
            i = _skip_group(s, at, "{", "}")
            out.append(s[at:i])
        elif c in ")}":
            out.append(c)
        else:
            # A space outside templates and before any parameter list ends a
            # return type ("void mlir::detail::walk<...>(...)"): start again.
            while i < n and s[i].isspace():
                i += 1
            if i < n and (s[i].isalpha() or s[i] in "_(~"):
                out.clear()
    return re.sub(r">\s+>", ">>", "".join(out)).strip()


def _word_edge(s: str, i: int) -> bool:
    return i < 0 or i >= len(s) or not (s[i].isalnum() or s[i] in "_$")


def _skip_group(s: str, i: int, open_: str, close: str) -> int:
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_:
            depth += 1
        elif s[j] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


def _skip_qualifiers(s: str, i: int) -> int:
    while True:
        j = i
        while j < len(s) and s[j] == " ":
            j += 1
        for word in _QUALIFIERS:
            if s.startswith(word, j):
                i = j + len(word)
                break
        else:
            return i
