"""The MLIR lexer: token kinds, bodies kept whole, and losslessness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carts_reduce.formats.mlir.lexer import (
    BANG,
    CARET,
    COMMENT,
    EOF,
    HASH,
    IDENT,
    LOC,
    METADATA,
    NUMBER,
    PUNCT,
    STRING,
    SYM,
    VALUE,
    WS,
    MLIRParseError,
    _scan_body,
    tokenize,
)


def significant(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(text) if t.kind not in (WS, COMMENT, EOF)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("%x", VALUE),
        ("%0", VALUE),
        ("%arg0", VALUE),
        ("%c-1_i32", VALUE),
        ("%x:2", VALUE),
        ("%x#1", VALUE),
        ("^bb0", CARET),
        ("@sym", SYM),
        ('@"quoted sym"', SYM),
        ("#map", HASH),
        ("#arts.concurrency<internode>", HASH),
        ("#omp<clause_task_depend(taskdependinout)>", HASH),
        ("!llvm.ptr", BANG),
        ("!arts_sde.token<tensor<8xi32>>", BANG),
        ('!llvm.struct<"name", (ptr, array<4 x i8>)>', BANG),
        ("memref<?xmemref<?xf32>, strided<[1], offset: ?>>", IDENT),
        ("affine_map<(d0, d1) -> (d0 * 2 + d1)>", IDENT),
        ("affine_set<(d0) : (d0 - 10 >= 0)>", IDENT),
        ('dense<"0xDEADBEEF">', IDENT),
        ("arith.addi", IDENT),
        ("loc(#loc3)", LOC),
        ('loc("/path/file.c":12:3)', LOC),
        ("loc(callsite(#loc1 at fused[#loc2, #loc3]))", LOC),
        ('"str with \\" and \\n escapes"', STRING),
        ("0x7FC00000", NUMBER),
        ("42", NUMBER),
        ("1.000000e+00", NUMBER),
        ("{-# dialect_resources: { builtin: { r: \"0x04\" } } #-}", METADATA),
        ("->", PUNCT),
        ("::", PUNCT),
    ],
)
def test_single_token_kinds(text: str, kind: str) -> None:
    assert significant(text) == [(kind, text)]


def test_value_group_colon_needs_digits_only() -> None:
    # `%x:2` is a result group; `%arg0: i32` is a name, a colon and a type.
    assert significant("%arg0: i32") == [(VALUE, "%arg0"), (PUNCT, ":"), (IDENT, "i32")]
    assert significant("%r:3 = foo") == [(VALUE, "%r:3"), (PUNCT, "="), (IDENT, "foo")]


def test_custom_angle_syntax_is_punctuation() -> None:
    # `<task>` after a space belongs to an op's custom syntax, not to a type.
    assert significant("arts.edt <task> route(%c)") == [
        (IDENT, "arts.edt"),
        (PUNCT, "<"),
        (IDENT, "task"),
        (PUNCT, ">"),
        (IDENT, "route"),
        (PUNCT, "("),
        (VALUE, "%c"),
        (PUNCT, ")"),
    ]


def test_body_with_string_holding_brackets() -> None:
    text = '#foo.attr<"a > b", [1, 2]> : i32'
    assert significant(text)[0] == (HASH, '#foo.attr<"a > b", [1, 2]>')


def test_deeply_nested_body_falls_back_to_scanner() -> None:
    inner = "f32"
    for _ in range(9):
        inner = f"memref<?x{inner}>"
    assert significant(inner) == [(IDENT, inner)]


def test_comments_and_whitespace_are_tokens() -> None:
    text = "  // RUN: carts run %s\n%a = foo.op // trailing\n"
    kinds = [t.kind for t in tokenize(text)]
    assert kinds[:4] == [WS, COMMENT, WS, VALUE]
    assert COMMENT in kinds[5:]
    assert "".join(t.text for t in tokenize(text)) == text


def test_offsets_are_exact() -> None:
    text = "%a = arith.addi %b, %c : i32\n"
    for token in tokenize(text):
        assert text[token.start : token.end] == token.text


def test_unterminated_string_reports_line_and_column() -> None:
    with pytest.raises(MLIRParseError) as info:
        tokenize('%a = foo.op\n  %b = foo.str "oops\n')
    assert (info.value.line, info.value.col) == (2, 16)
    assert "unterminated string" in str(info.value)


def test_unterminated_metadata_is_an_error() -> None:
    with pytest.raises(MLIRParseError):
        tokenize("{-# dialect_resources: {")


def test_unbalanced_body_is_not_swallowed() -> None:
    # A `<` that never closes leaves the keyword alone instead of eating the file.
    tokens = significant("foo.op memref<?xf32 %a\n")
    assert tokens[1] == (IDENT, "memref")


_MLIR_ALPHABET = st.sampled_from(
    list("%^@#!<>()[]{}:,=-+*?.\"\\ \n\t/xyz019_$") + ["->", "//", "loc(", "memref<", "#a<", "{-#", "#-}", '"s"']
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_MLIR_ALPHABET, max_size=60).map("".join))
def test_tokens_cover_any_input_exactly(text: str) -> None:
    try:
        tokens = tokenize(text)
    except MLIRParseError:
        return  # an unterminated string or metadata block
    assert "".join(t.text for t in tokens) == text
    for token in tokens:
        assert text[token.start : token.end] == token.text
        # The regex fast path and the bracket scanner agree on every body.
        if token.kind in (IDENT, HASH, BANG) and "<" in token.text:
            open_at = token.start + token.text.index("<")
            assert _scan_body(text, open_at) == token.end
        if token.kind == LOC:
            assert _scan_body(text, token.start + 3) == token.end
