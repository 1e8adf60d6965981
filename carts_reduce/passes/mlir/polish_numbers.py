"""Number literals made short, in groups tried in turn:

0. floats respelled exactly: ``1.000000e+00`` -> ``1.``, ``1.500000e+01`` -> ``15.``
   (the same decimal value, so the same attribute: one test does them all);
1. the type of an attribute literal dropped where it is the default one
   (``alignment = 64 : i64`` -> ``alignment = 64``; ``f64`` for floats): the
   same attribute again;
2. ``dense<[...]>`` lists made splats of their first element;
3. literals to zero: ``42`` -> ``0``, ``-2.5`` -> ``0.``, hex to ``0`` (``0.``
   when the literal is a float: ``0x7FC00000 : f32``);
4. what is left to one: ``1``, ``1.``;
5. the other types of attribute literals dropped (``value = 1 : i32`` -> ``value = 1``,
   now an ``i64``): for the predicate to judge.

Literals are the numeric tokens of op text and the numbers inside
``dense<...>``, ``array<...>``, ``affine_map<...>`` and ``affine_set<...>``.
Numbers inside types (shapes) are the types pass's business, since a type
must change everywhere at once; locations are left to the passes that drop
them. Each literal changes on its own, so ddmin finds the ones a crash needs.
A rewrite is proposed only when it saves bytes, or turns a digit 2..9 into
0 or 1 (same length, but ``7 : i32`` must become ``1`` before the type can
become ``i1``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from carts_reduce.formats.mlir import Module, Token
from carts_reduce.passes.mlir.polish_common import EditPass, Group, Unit, significant, smaller, tokens

_BODIES = ("dense<", "array<", "affine_map<", "affine_set<")
_NUMBER = r"0x[0-9A-Fa-f]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?"
# Inside an attribute body: strings and identifiers (``d0``, ``i64``) are stepped over.
_IN_BODY = re.compile(rf'"(?:[^"\\]|\\.)*"|[A-Za-z_][\w$.]*|-?(?:{_NUMBER})')
_FLOAT_TYPE = re.compile(r"(?:f\d+|bf16|tf32|f\d+E\w+)")
_SEGMENTS = re.compile(r"(?:operand|result)_?[sS]egment_?[sS]izes\s*=\s*$")


def exact_float(spelled: str) -> str:
    """The shortest spelling of the same decimal value that MLIR reads as a float."""
    try:
        value = Decimal(spelled)
    except InvalidOperation:
        return spelled
    sign, digits_tuple, exponent = value.normalize().as_tuple()
    minus = "-" if sign else ""
    if not isinstance(exponent, int):
        return spelled
    if value == 0:
        return minus + "0."
    digits = "".join(map(str, digits_tuple))
    if exponent >= 0:
        positional = digits + "0" * exponent + "."
    elif -exponent < len(digits):
        positional = digits[:exponent] + "." + digits[exponent:]
    else:
        positional = "0." + "0" * (-exponent - len(digits)) + digits
    scientific = f"{digits[0]}.{digits[1:]}e{exponent + len(digits) - 1}"
    return minus + min(positional, scientific, key=len)


def worth(new: str, old: str) -> bool:
    """Shorter, or a digit 2..9 turned into 0 or 1 (never ``1`` -> ``0``: no gain)."""
    if len(new) < len(old):
        return True
    return len(new) == len(old) and smaller(new, old) and old.lstrip("-")[:1] in "23456789"


class Literal:
    __slots__ = ("start", "end", "text", "is_float", "typed")

    def __init__(self, start: int, end: int, text: str, is_float: bool, typed: tuple[int, str] | None = None) -> None:
        self.start, self.end, self.text, self.is_float = start, end, text, is_float
        #: For an attribute literal ``= 64 : i64``: where its ``: type`` ends, and the type.
        self.typed = typed


def in_attribute(toks: list[Token], sig: list[int], n: int, regions: set[int]) -> bool:
    """Does significant token ``n`` (what precedes a literal) make it an attribute value?

    After ``=`` in a dictionary, or an element of a ``[...]`` list or a ``{...}``
    that does not open a region.
    """
    text = toks[sig[n]].text
    if text in ("=", "["):
        return True
    if text != ",":
        return False
    depth = 0
    for j in range(n - 1, max(-1, n - 400), -1):
        t = toks[sig[j]]
        if t.kind != "punct":
            continue
        if t.text in (")", "]", "}"):
            depth += 1
        elif t.text in ("(", "[", "{"):
            if depth == 0:
                return t.text != "(" and t.start not in regions
            depth -= 1
    return False


def literals(module: Module) -> tuple[list[Literal], list[Unit]]:
    """The literals of the text, and the splat rewrites of ``dense<[...]>`` lists."""
    text = module.text
    toks = tokens(text)
    sig = significant(toks)
    found: list[Literal] = []
    splats: list[Unit] = []
    regions = {region.start for op in module.walk() for region in op.regions}
    for n, i in enumerate(sig):
        tok = toks[i]
        if tok.kind == "number":
            if tok.end < len(text) and (text[tok.end].isalnum() or text[tok.end] == "_"):
                continue  # a shape written outside a type body (``4xf32``)
            start = tok.start
            if n > 0 and toks[sig[n - 1]].text == "-" and toks[sig[n - 1]].end == tok.start:
                start -= 1
            after = [toks[j] for j in sig[n + 1 : n + 3]]
            typed = None
            if len(after) == 2 and after[0].text == ":" and after[1].kind == "ident":
                before = n - 1 if start == tok.start else n - 2
                if before > 0 and in_attribute(toks, sig, before, regions):  # not an op's ``: type``
                    typed = (after[1].end, after[1].text)
            float_type = typed is not None and _FLOAT_TYPE.fullmatch(typed[1]) is not None
            if typed is None and len(after) == 2 and after[0].text == ":":
                float_type = _FLOAT_TYPE.fullmatch(after[1].text) is not None
            is_float = "." in tok.text or float_type
            found.append(Literal(start, tok.end, text[start : tok.end], is_float, typed))
        elif tok.kind == "ident" and tok.text.startswith(_BODIES):
            if _SEGMENTS.search(text, max(0, tok.start - 40), tok.start):
                continue
            body_start = tok.text.index("<") + 1
            numbers = []
            for match in _IN_BODY.finditer(tok.text, body_start, len(tok.text) - 1):
                spelled = match.group()
                if spelled[0] == "-" or spelled[0].isdigit():
                    numbers.append(spelled)
                    found.append(Literal(tok.start + match.start(), tok.start + match.end(), spelled, "." in spelled))
            if tok.text.startswith("dense<[") and numbers and not re.search(r'["(]', tok.text):
                splats.append([(tok.start, tok.end, f"dense<{numbers[0]}>")])
    return found, splats


class ShortenNumbers(EditPass):
    name = "mlir-polish-numbers"

    def groups(self, module: Module) -> list[Group]:
        found, splats = literals(module)
        exact: list[Unit] = []
        zero: list[Unit] = []
        one: list[Unit] = []
        default_types: list[Unit] = []
        other_types: list[Unit] = []
        for lit in found:
            if lit.typed is not None:
                end, spelled = lit.typed
                default = "f64" if "." in lit.text else "i64"
                (default_types if spelled == default else other_types).append([(lit.end, end, "")])
            if lit.is_float and not lit.text.lstrip("-").startswith("0x"):
                respelled = exact_float(lit.text)
                if len(respelled) < len(lit.text):
                    exact.append([(lit.start, lit.end, respelled)])
            for stage, short in ((zero, "0"), (one, "1")):
                new = short + "." if lit.is_float else short
                if worth(new, lit.text):
                    stage.append([(lit.start, lit.end, new)])
        return [Group(units) for units in (exact, default_types, splats, zero, one, other_types)]

