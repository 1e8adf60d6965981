"""An example of interestingness plugins for carts-reduce.

Installed, its entry points (group ``carts_reduce.interestingness``) make
``--predicate nested-memref-crash`` and ``--predicate stderr-count`` work
with no other flag. Each is a plain function ``(outcome, candidate) -> bool``.
"""

from __future__ import annotations

import re

_NESTED = re.compile(r"memref<\?xmemref<\?xmemref<")


def nested_memref_crash(outcome, candidate):
    """The stage dies by a signal while the candidate still holds a 3-level nested memref.

    Uses the candidate as well as the outcome: a crash that no longer needs
    the nested memref is another bug.
    """
    stage = outcome.main
    return stage.signal is not None and _NESTED.search(candidate) is not None


def stderr_count(outcome, candidate, options):
    """The stage's stderr matches --opt count_regex=REGEX (default: [ERROR] lines) at least --opt count=N times."""
    pattern = options.get("count_regex", r"^\[ERROR\]")
    wanted = int(options.get("count", 1))
    return len(re.findall(pattern, outcome.main.stderr, re.M)) >= wanted
