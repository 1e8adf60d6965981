"""Input formats: which one a file is, and how its size is measured.

Sizes are reported in units a reader cares about: bytes, lines, non-whitespace
characters (to compare with tools that reflow text), and per format MLIR ops
or C tokens.
"""

from __future__ import annotations

from pathlib import Path

FORMATS = ("mlir", "c", "text")
_SUFFIXES = {".mlir": "mlir", ".c": "c", ".h": "c"}


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
        "chars": sum(1 for ch in text if not ch.isspace()),
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


def unit_name(fmt: str) -> str | None:
    return {"mlir": "ops", "c": "tokens"}.get(fmt)
