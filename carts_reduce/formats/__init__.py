"""Input formats: which one a file is, and how its size is measured.

Sizes are reported in units a reader cares about: bytes, lines, non-whitespace
characters (to compare with tools that reflow text), and per format MLIR ops
or C tokens.
"""

from __future__ import annotations

from pathlib import Path

FORMATS = ("mlir", "c", "text")
_SUFFIXES = {".mlir": "mlir", ".c": "c", ".h": "c"}
#: The ASCII characters ``str.isspace`` holds.
_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def detect(path: Path, override: str | None = None) -> str:
    if override:
        if override not in FORMATS:
            raise ValueError(f"unknown format {override!r}: use one of {', '.join(FORMATS)}")
        return override
    return _SUFFIXES.get(path.suffix.lower(), "text")


def measure(text: str, fmt: str) -> dict[str, int]:
    sizes = {
        "bytes": len(text.encode("utf-8", "surrogateescape")),
        "lines": text.count("\n") + (0 if text.endswith("\n") or not text else 1),
        "chars": non_space_chars(text),
    }
    if fmt == "mlir":
        from carts_reduce.formats.mlir import count_ops

        try:
            sizes["ops"] = count_ops(text)
        except Exception:  # an unparseable candidate still has a byte size
            pass
    elif fmt == "c":
        from carts_reduce.formats.c import token_count

        sizes["tokens"] = token_count(text)
    return sizes


def non_space_chars(text: str) -> int:
    """Characters that are not whitespace (as ``str.isspace`` says). An ASCII text (MLIR,
    nearly always) is counted in C: tens of milliseconds for a 6 MB module, where a
    loop over its characters takes half a second."""
    if text.isascii():
        return len(text.encode("ascii").translate(None, _ASCII_SPACE))
    return sum(1 for ch in text if not ch.isspace())


def unit_name(fmt: str) -> str | None:
    return {"mlir": "ops", "c": "tokens"}.get(fmt)
