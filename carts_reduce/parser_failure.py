"""Does a failure happen while the input is parsed? Then broken syntax may be the bug.

Candidates of the MLIR passes are valid MLIR by construction, and the text
passes after them keep only candidates that parse: right for a pass crash,
where an unparseable candidate can only fail another way. A crash inside
the parser itself (or a wrong diagnostic it gives) may need the very syntax
no valid module has, so there the reduction finishes with text passes
nobody filters.

What the original's output says decides, cheapest sign first:

* LLVM's stack dump names the parser: a ``MLIR Parser: custom op parser
  'scf.forall'`` entry of its pretty stack, or parser frames
  (``parseSourceFile``, ``OperationParser``, an op's ``::parse(``) with no
  pass-manager frame among them;
* CARTS says ``Could not parse input file``;
* the only diagnostic is a parse-time one: an ``error:`` at a
  ``FILE:LINE:COL`` that is not an op's (``'scf.for' op ...``) and comes
  without the ``see current operation`` note that verifier and pass
  diagnostics carry.

A ``--script`` predicate shows what its script prints: a script that keeps
the tool's output to itself leaves nothing to go by.
"""

from __future__ import annotations

import re

from carts_reduce.run.outcome import Outcome
from carts_reduce.signature import parse_frames

# LLVM's pretty stack entries; a NUL may end one (it is printed as it was pushed).
_PRETTY_PARSER = re.compile(r"^\s*\d+\.\s+(MLIR Parser: [^\x00\n]*)", re.M)
_PARSER_FRAME = re.compile(
    r"parseSourceFile|parseSourceString|parseAsmSourceFile|OperationParser|TopLevelOperationParser"
    r"|CustomOpAsmParser|AsmParserImpl|mlir::detail::Parser::|::parse\(mlir::OpAsmParser"
)
_PASS_FRAME = re.compile(r"PassManager|OpToOpPassAdaptor|runOnOperation|applyPatternsAndFold|applyPatternsGreedily")
_CARTS_PARSE_ERROR = "Could not parse input file"
_DIAGNOSTIC = re.compile(r"^\S+?:\d+:\d+: error: (?P<message>.*)$", re.M)
_OP_DIAGNOSTIC = "see current operation"


def parser_failure(outcome: Outcome | None) -> str | None:
    """Why the failure of ``outcome`` looks like one of the parser, or ``None``."""
    if outcome is None or not outcome.steps:
        return None
    main = outcome.main
    text = "\n".join(part for part in (main.stderr, main.stdout) if part)
    if not text:
        return None
    if "Stack dump" in text:
        entries = _PRETTY_PARSER.findall(text)
        if entries:
            return f"its stack dump is in MLIR's parser ({entries[-1].strip()})"
        names = [frame.symbol for frame in parse_frames(text)]
        parser = next((name for name in names if _PARSER_FRAME.search(name)), None)
        if parser is not None and not any(_PASS_FRAME.search(name) for name in names):
            return f"its stack dump is in the parser ({_short(parser)})"
        return None
    if _CARTS_PARSE_ERROR in text:
        return f"CARTS says: {_CARTS_PARSE_ERROR}"
    if _OP_DIAGNOSTIC in text:
        return None
    diagnostics = [m["message"] for m in _DIAGNOSTIC.finditer(text)]
    if diagnostics and not any(message.startswith("'") for message in diagnostics):
        return f"its error is a parse-time diagnostic ({_short(diagnostics[0])})"
    return None


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
