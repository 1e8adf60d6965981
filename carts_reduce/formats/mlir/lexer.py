"""Lossless MLIR lexer.

Follows the token grammar of MLIR's LangRef, with three deliberate widenings
that make the parser's job of finding op boundaries easy for *any* dialect:

* a dialect attribute or type with a pretty body (``#arts.mode<in>``,
  ``!llvm.struct<(ptr, i32)>``) and a builtin type or attribute written as a
  keyword with an attached body (``memref<?xf32, #map>``, ``dense<...>``,
  ``affine_map<(d0) -> (d0)>``) are one token each, the body scanned with
  balanced brackets and strings, so no ``<``/``>`` of a type ever reaches the
  parser;
* ``loc(...)`` is one token (its inside is never SSA-relevant);
* ``%x#1`` (a use of result 1) and ``%x:2`` (a group of two results) are one
  value token each.

Every character of the input belongs to exactly one token, whitespace and
comments included, so joining the texts of ``tokenize(text)`` gives the input
back. Offsets are indices into the Python string.
"""

from __future__ import annotations

import re
from array import array
from typing import NamedTuple

__all__ = [
    "MLIRParseError",
    "Token",
    "tokenize",
    "line_col",
    "WS",
    "COMMENT",
    "VALUE",
    "CARET",
    "SYM",
    "HASH",
    "BANG",
    "IDENT",
    "LOC",
    "STRING",
    "NUMBER",
    "METADATA",
    "PUNCT",
    "EOF",
]

# Token kinds (interned strings: cheap to compare, readable in reprs).
WS = "ws"  # spaces, tabs, newlines
COMMENT = "comment"  # `// ...` up to (not including) the newline
VALUE = "value"  # %x, %0, %arg0, %x#1, %x:2
CARET = "caret"  # ^bb0
SYM = "sym"  # @f, @"quoted name"
HASH = "hash"  # #alias, #dialect.attr, #dialect<body>, #dialect.attr<body>
BANG = "bang"  # !alias, !dialect.type, !dialect.type<body>
IDENT = "ident"  # bare identifier, keyword or builtin with a body (memref<...>)
LOC = "loc"  # loc(...)
STRING = "string"  # "..." with escapes
NUMBER = "number"  # 42, 0x7FC00000, 1.5e+00 (a leading '-' is a PUNCT)
METADATA = "metadata"  # {-# ... #-}
PUNCT = "punct"  # -> :: ... and any other single character
EOF = "eof"


class MLIRParseError(ValueError):
    """A lexing or parsing error at a 1-based ``line`` and ``col``."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(f"{line}:{col}: {message}")
        self.message = message
        self.line = line
        self.col = col

    @classmethod
    def at(cls, text: str, offset: int, message: str) -> MLIRParseError:
        line, col = line_col(text, offset)
        return cls(message, line, col)


class Token(NamedTuple):
    kind: str
    text: str
    start: int
    end: int


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


_SUFFIX_ID = r"(?:\d+|[A-Za-z_$.\-][\w$.\-]*+)"
_STRING_RE = r'"(?:[^"\\\n]++|\\.)*+"'


def _angle_body(depth: int) -> str:
    """A ``<...>`` body nested ``depth`` deep without parens, braces, strings
    or nested square brackets.

    Bodies holding those are left to ``_scan_body``; possessive quantifiers
    keep a failed attempt linear.
    """
    plain = r"[^<>()\[\]{}\"\-]++|->|-(?!>)|\[[^<>()\[\]{}\"]*+\]"
    body = rf"<(?:{plain})*+>"
    for _ in range(depth - 1):
        body = rf"<(?:{plain}|{body})*+>"
    return body


def _paren_body(depth: int) -> str:
    """A ``(...)`` body (of ``loc``) nested ``depth`` deep, with strings and
    flat ``[...]`` lists; anything holding other brackets goes to ``_scan_body``."""
    plain = r"[^()<>\[\]{}\"]++|STRING|\[[^()<>\[\]{}\"]*+\]"
    body = rf"\((?:{plain})*+\)"
    for _ in range(depth - 1):
        body = rf"\((?:{plain}|{body})*+\)"
    return body.replace("STRING", _STRING_RE)


# Spaces within a line go with the token after them (one match instead of two).
_MASTER = re.compile(
    r"""
    [ \t\r\f\v]*+
    (?:(?P<triv>(?:[ \t\r\n\f\v]++|//[^\n]*+)++)
   |(?P<value>%SUFFIX(?:\#\d+|:\d+(?![\w$.\-]))?)
   |(?P<loc>loc PAREN)
   |(?P<ident>[A-Za-z_][\w$.]*+(?:ANGLE)?)
   |(?P<hash>\#SUFFIX(?:ANGLE)?)
   |(?P<bang>!SUFFIX(?:ANGLE)?)
   |(?P<caret>\^SUFFIX)
   |(?P<sym>@(?:STRING|SUFFIX))
   |(?P<string>STRING)
   |(?P<number>0x[0-9A-Fa-f]++|\d++(?:\.\d*+(?:[eE][+-]?\d++)?)?)
   |(?P<meta>\{-\#)
   |(?P<punct>->|::|\.\.\.|.))
    """.replace("SUFFIX", _SUFFIX_ID)
    .replace("ANGLE", _angle_body(4))
    .replace("PAREN", _paren_body(3))
    .replace("STRING", _STRING_RE),
    re.X | re.S,
)
_TRIVIA_PARTS = re.compile(r"[ \t\r\n\f\v]+|//[^\n]*")
_STRING_AT = re.compile(_STRING_RE, re.S)
_OPENERS = {"<": ">", "(": ")", "[": "]", "{": "}"}
_BODY_SPECIAL = re.compile(r'[<>()\[\]{}"\-]')


def _scan_body(text: str, pos: int) -> int:
    """End of the balanced bracket group opening at ``text[pos]``, or -1.

    Strings are skipped; ``->`` never closes an angle, and ``>`` only closes a
    ``<`` (inside parentheses it is a comparison, as in affine sets).
    """
    stack = [_OPENERS[text[pos]]]
    search = _BODY_SPECIAL.search
    i = pos + 1
    while True:
        m = search(text, i)
        if m is None:
            return -1
        i = m.start()
        c = text[i]
        if c == '"':
            sm = _STRING_AT.match(text, i)
            if sm is None:
                return -1
            i = sm.end()
            continue
        if c == "-":
            i += 2 if text.startswith(">", i + 1) else 1
            continue
        if c in _OPENERS:
            stack.append(_OPENERS[c])
        elif c == stack[-1]:
            stack.pop()
            if not stack:
                return i + 1
        elif c == ">":
            pass  # a comparison inside (...) or [...]
        else:
            return -1  # mismatched closer: not a body after all
        i += 1


def _lex(text: str) -> tuple[list[str], array, array, bytearray]:
    """Significant tokens as parallel sequences (kinds, starts, ends, newline-before).

    Trivia is left out (it is the gap between two tokens); ``nl[i]`` tells
    whether that gap holds a newline. A final EOF token is appended. Offsets
    are compact arrays: a module of millions of tokens takes a few bytes per
    token while it is parsed.
    """
    kinds: list[str] = []
    starts = array("q")
    ends = array("q")
    nls = bytearray()
    add_kind, add_start, add_end, add_nl = kinds.append, starts.append, ends.append, nls.append
    finditer = _MASTER.finditer
    find = text.find
    n = len(text)
    pos = 0
    nl = True
    while pos < n:
        resume = -1
        for m in finditer(text, pos):
            kind = m.lastgroup
            start, end = m.start(m.lastindex), m.end()
            if kind == "triv":
                if not nl and find("\n", start, end) >= 0:
                    nl = True
                continue
            if end < n and (kind == "ident" or kind == "hash" or kind == "bang") and text[end - 1] != ">":
                c = text[end]
                # A body too nested for the regex, or holding parens or strings.
                if c == "<" or (c == "(" and kind == "ident" and end - start == 3 and text.startswith("loc", start)):
                    body_end = _scan_body(text, end)
                    if body_end > 0:
                        end = resume = body_end
                        if c == "(":
                            kind = LOC
            elif kind == "meta":
                close = find("#-}", end)
                if close < 0:
                    raise MLIRParseError.at(text, start, "unterminated '{-#' file metadata")
                end = resume = close + 3
                kind = METADATA
            elif kind == "punct" and text[start] == '"':
                raise MLIRParseError.at(text, start, "unterminated string literal")
            add_kind(kind)
            add_start(start)
            add_end(end)
            add_nl(nl)
            nl = False
            if resume >= 0:
                break
        if resume < 0:
            break
        pos = resume
    kinds.append(EOF)
    starts.append(n)
    ends.append(n)
    nls.append(True)
    return kinds, starts, ends, nls


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, trivia included, ending with an EOF token.

    ``"".join(t.text for t in tokenize(text)) == text`` always holds.
    """
    kinds, starts, ends, _ = _lex(text)
    out: list[Token] = []
    prev = 0
    for kind, start, end in zip(kinds, starts, ends):
        if start > prev:
            for part in _TRIVIA_PARTS.finditer(text, prev, start):
                k = COMMENT if part.group().startswith("//") else WS
                out.append(Token(k, part.group(), part.start(), part.end()))
        out.append(Token(kind, text[start:end], start, end))
        prev = end
    return out
