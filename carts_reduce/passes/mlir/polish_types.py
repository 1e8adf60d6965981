"""Types made shorter, each distinct type everywhere at once.

A value's type is written at its definition and at its uses, so a type
changes in every place it is written, nested ones included (``i64`` inside
``memref<4xi64>`` and ``(i64) -> i64``), or the module stops verifying. One
rule per distinct type text, with variants tried in turn (variant 0 of every
rule, all at once then ddmin; then variant 1 of the rules that have one):

* integers wider than 9 bits: ``i64`` -> ``i1``, then ``i8``;
* floats spelled in more than three letters: ``bf16``, ``f128`` -> ``f16``, then ``f32``;
* ``memref``/``tensor``/``vector``: static sizes to 1 keeping the rank
  (``memref<20x60xf32>`` -> ``memref<1x1xf32>``: indexing stays well formed),
  then without layout, memory space or encoding;
* dialect types: sizes in their body to 1 (``!llvm.array<10 x i32>``).

Only rewrites that save bytes are proposed; ``index`` and element types of
same-length spellings (``f64`` -> ``f32``) are left alone. Attribute bodies
(``array<i64: 1>``, ``#dlti.dl_entry<i64, ...>``) and the types of dictionary
literals (``alignment = 64 : i64``) are not types of values and are not
rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from carts_reduce.formats.mlir import Module, Token
from carts_reduce.passes.mlir.polish_common import Edit, EditPass, Group, significant, tokens

_SHAPED = ("memref<", "tensor<", "vector<")
_COMPOSITE = ("memref<", "tensor<", "vector<", "complex<", "tuple<")
_SCALAR = r"(?:[su]?i\d+|bf16|tf32|f\d+(?:E\w+)?|index)"
_BEFORE = r"(?:(?<![\w$.!#])|(?<=[\d?\]]x))"  # a word start, or after a shape's ``4x``
_AFTER = r"(?![\w$.])"
_SCALAR_AT = re.compile(_BEFORE + _SCALAR + _AFTER)
_NESTED_AT = re.compile(_BEFORE + r"(?:memref|tensor|vector|complex|tuple|![A-Za-z_][\w$.]*)<")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_DIMS = re.compile(r"((?:(?:\d+|\?|\[\d+\])x)*)(.*)", re.S)
_BODY_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|[A-Za-z_][\w$.]*|\d+')


def type_token(tok: Token) -> bool:
    """Does the token spell a type (as opposed to an attribute or a keyword)?"""
    if tok.kind == "bang":
        return True
    return tok.kind == "ident" and (tok.text.startswith(_COMPOSITE) or re.fullmatch(_SCALAR, tok.text) is not None)


def _brackets(text: str, start: int = 0):
    """``(index, char, depth after it)`` for each bracket or comma, strings and ``->`` skipped."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == '"':
            m = _STRING.match(text, i)
            i = m.end() if m else i + 1
            continue
        if c == "-" and text.startswith(">", i + 1):
            i += 2
            continue
        if c in "<([{":
            depth += 1
            yield i, c, depth
        elif c in ">)]}":
            depth -= 1
            yield i, c, depth
        elif c == ",":
            yield i, c, depth
        i += 1


def _close(text: str, open_at: int) -> int:
    """End of the ``<...>`` opening at ``open_at`` (``->`` and strings skipped), or -1."""
    for i, c, depth in _brackets(text, open_at):
        if c in ">)]}" and depth == 0:
            return i + 1
    return -1


def nested_types(spelled: str) -> list[str]:
    """The type itself and every type written inside it, outer first."""
    found = [spelled]
    if "<" not in spelled:
        return found
    body = _STRING.sub(lambda m: " " * len(m.group()), spelled)
    for match in _NESTED_AT.finditer(body, 1):
        end = _close(body, match.end() - 1)
        if end > 0:
            found.append(spelled[match.start() : end])
    found.extend(m.group() for m in _SCALAR_AT.finditer(body, spelled.index("<")))
    return found


def split_top(body: str) -> list[str]:
    """``body`` split at commas outside brackets and strings."""
    parts, last = [], 0
    for i, c, depth in _brackets(body):
        if c == "," and depth == 0:
            parts.append(body[last:i])
            last = i + 1
    parts.append(body[last:])
    return parts


def variants(spelled: str) -> list[str]:
    """Shorter spellings of a type, best first."""
    found: list[str] = []
    if re.fullmatch(r"i\d+", spelled):
        if int(spelled[1:]) >= 10:
            found = ["i1", "i8"]
    elif re.fullmatch(_SCALAR, spelled) and spelled != "index" and not spelled.startswith(("i", "si", "ui")):
        found = ["f16", "f32"]
    elif spelled.startswith(_SHAPED) and spelled.endswith(">"):
        keyword, body = spelled[: spelled.index("<")], spelled[spelled.index("<") + 1 : -1]
        first, *rest = split_top(body)
        dims, element = _DIMS.fullmatch(first).groups()  # type: ignore[union-attr]
        ones = re.sub(r"\d+", "1", dims)
        if ones != dims:
            found.append(f"{keyword}<{ones}{element}{',' if rest else ''}{','.join(rest)}>")
        if rest:
            found.append(f"{keyword}<{first}>")
    elif spelled.startswith("!") and "<" in spelled:
        ones = _BODY_NUMBER.sub(lambda m: "1" if m.group().isdigit() else m.group(), spelled)
        if ones != spelled:
            found.append(ones)
    return [v for v in found if len(v) < len(spelled)]


@lru_cache(maxsize=1024)
def _pattern(old: str) -> re.Pattern[str]:
    return re.compile(_BEFORE + re.escape(old) + _AFTER)


def rewrite(spelled: str, rules: list[tuple[str, str]]) -> str:
    """``spelled`` with every rule applied at type boundaries, outside strings."""
    for old, new in rules:
        if old not in spelled:
            continue
        pattern = _pattern(old)
        if '"' not in spelled:
            spelled = pattern.sub(new, spelled)
            continue
        pieces, last = [], 0
        for m in _STRING.finditer(spelled):
            pieces.append(pattern.sub(new, spelled[last : m.start()]))
            pieces.append(m.group())
            last = m.end()
        pieces.append(pattern.sub(new, spelled[last:]))
        spelled = "".join(pieces)
    return spelled


def fixed_attribute_type(toks: list[Token], sig: list[int], n: int) -> bool:
    """Is significant token ``n`` the type of a dictionary literal (``alignment = 64 : i64``)?

    Such a type belongs to the attribute, not to a value, and an op often
    requires it (``addr_space = 0 : i32``); only ``value = 7 : i32`` (a
    generic-form constant) must follow its result's type.
    """
    if n < 4 or toks[sig[n - 1]].text != ":":
        return False
    j = n - 2
    if toks[sig[j]].kind != "number":
        return False
    j -= 1
    if toks[sig[j]].text == "-":
        j -= 1
    return toks[sig[j]].text == "=" and toks[sig[j - 1]].text != "value"


@dataclass
class Rules(Group):
    """ddmin over type rules; the chosen ones are applied together, longest type first."""

    sites: list[Token] = field(default_factory=list)

    def edits(self, chosen: range) -> list[Edit]:
        rules = sorted(self.units[chosen.start : chosen.stop], key=lambda rule: -len(rule[0]))  # type: ignore[index]
        edits: list[Edit] = []
        for tok in self.sites:
            new = rewrite(tok.text, rules)  # type: ignore[arg-type]
            if new != tok.text:
                edits.append((tok.start, tok.end, new))
        return edits


class ShortenTypes(EditPass):
    name = "mlir-polish-types"

    def groups(self, module: Module) -> list[Group]:
        toks = tokens(module.text)
        sig = significant(toks)
        sites = [toks[i] for n, i in enumerate(sig) if type_token(toks[i]) and not fixed_attribute_type(toks, sig, n)]
        seen: dict[str, list[str]] = {}
        for tok in sites:
            for spelled in nested_types(tok.text):
                if spelled not in seen:
                    seen[spelled] = variants(spelled)
        groups: list[Group] = []
        for stage in range(2):  # no type has more than two variants
            rules = [(old, shorter[stage]) for old, shorter in seen.items() if len(shorter) > stage]
            groups.append(Rules(rules, sites=sites))
        return groups
