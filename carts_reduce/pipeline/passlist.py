"""A command's pass list, reduced together with its input.

``--command 'mlir-opt {input} {passes}' --passes '--inline --canonicalize
--cse ...'``: the failure usually needs one or two of the passes. The list is
reduced as an ordinary job whose text is the pass list (one pass per line,
ddmin over lines) while the input stays fixed, alternating with the job
that reduces the input under the current list, until neither shrinks. The
driver never learns that a text is a pass list.
"""

from __future__ import annotations

import re
import shlex

from carts_reduce.passes.text import Lines

#: What an LLVM tool says of an option (a pass flag) it does not know.
_UNKNOWN = re.compile(
    r"Unknown command line argument '([^']+)'\.(?:\s+Try: '[^']*')?(?:\s*(?:\S+: )?Did you mean '([^']+)'\?)?"
)


class PassListError(Exception):
    """A pass list that cannot be used; the message is one line."""


def split_passes(given: str) -> list[str]:
    """``--passes`` as a list: shell words, so a quoted ``--pass-pipeline=...`` stays one pass."""
    try:
        passes = shlex.split(given)
    except ValueError as error:
        raise PassListError(f"--passes {given!r} is not a list of shell words ({error})") from None
    if not passes:
        raise PassListError("--passes is empty: give the passes the command runs, e.g. --passes '--canonicalize --cse'")
    return passes


def as_text(passes: list[str]) -> str:
    return "".join(f"{p}\n" for p in passes)


def unknown_pass(output: str, passes: list[str]) -> str | None:
    """One line naming a pass of ``passes`` the tool refused as unknown, or None."""
    for match in _UNKNOWN.finditer(output):
        word, suggestion = match.group(1), match.group(2)
        if any(p == word or p.split("=", 1)[0] == word.split("=", 1)[0] for p in passes):
            hint = f" (did you mean {suggestion}?)" if suggestion else ""
            return f"--passes: the tool does not know the pass {word}{hint}; its --help lists the passes it has"
    return None


def pass_phases() -> list[list]:
    """The schedule of a pass-list job: ddmin over its lines, nothing that splits a pass."""
    return [[Lines()]]
