"""Interestingness predicates: what makes a candidate worth keeping.

A predicate judges the outcome of one test (the steps run on a candidate:
``precheck``, ``frontend``, ``stage``, ...) and says interesting or not.
Stage predicates look at the ``stage`` step (else the test's last step); a
test that stopped in a ``precheck`` or the C ``frontend`` never reached the
stage and is not interesting to them.

Writing one
-----------
A predicate is a plain function of the outcome and the candidate's text;
the first line of its docstring is its help::

    def keeps_dealloc(outcome, candidate):
        \"\"\"The stage exits 0 and its output still deallocates a nested memref.\"\"\"
        stage = outcome.main
        return stage.returncode == 0 and "memref.dealloc" in stage.stdout

Use it as ``--predicate mymodule:keeps_dealloc`` or
``--predicate path/to/file.py:keeps_dealloc``, or install it under the entry
point group ``carts_reduce.interestingness`` and use its entry point name::

    [project.entry-points."carts_reduce.interestingness"]
    keeps-dealloc = "mypackage.predicates:keeps_dealloc"

A function with a keyword parameter ``options`` receives every option given
(``--opt KEY=VALUE`` included) as a dict. A predicate that must add steps or
learn from the original subclasses ``interestingness.Predicate``.

Composing
---------
Several ``--predicate`` specs must all hold. A spec is a name or an
expression: ``not(crash)``, ``any(stderr-regex, exit-code)``,
``all(crash, not(hang))``. Options given on the command line apply to every
predicate; for several predicates of one kind with different options, use a
predicates file.

The predicates file (``--predicates FILE``, TOML)
-------------------------------------------------
::

    # Optional: options for every predicate of this file.
    [options]
    frames = 5

    # Each [[predicate]] table is one predicate; all of them must hold.
    [[predicate]]
    name = "ir-contains"                 # built-in, plugin, module:function or file.py:function
    ir_pattern = "op:memref.dealloc"     # other keys: that predicate's options
    ir_type = 'memref<\\?xmemref<\\?x'

    [[predicate]]
    expression = "not(crash)"            # or an expression; its keys reach every predicate in it

    [[predicate]]
    name = "any"                         # all / any / not take predicates:
    of = ["crash", "hang"]               #   as spec strings,
    hang_after = 5.0                     #   (keys of a combinator table reach its children)
      [[predicate.predicate]]            #   and/or as nested tables
      name = "stderr-regex"
      stderr_regex = "Error when canonicalizing memrefs"

Keys are option keys (``ir_pattern`` or ``ir-pattern``); a table's own keys
win over ``[options]``, which win over the command line. A key that no
predicate of its table reads is an error (a typo would otherwise be
ignored). Relative paths (``script``, ``file.py:function``) are taken from
the file's directory.

Option keys
-----------
``frames`` (same-failure), ``match_assertion``, ``match_frame`` (list),
``match_error`` (signature), ``stderr_regex``, ``stdout_regex``,
``exit_code``, ``hang_after``, ``ir_pattern``, ``ir_type``, ``debug_only``,
``debug_regex``, ``debug_flag`` (debug-log), ``reference_command``,
``candidate_command``, ``float_tolerance``, ``mismatch_ignore``,
``mismatch_noise`` (output-mismatch), ``script``; anything else reaches plugins.

API
---
``build(specs, options, predicates_file) -> Predicate``;
``available() -> list[PredicateInfo]``; errors in a spec raise
``PredicateError`` with a one-line message.
"""

from __future__ import annotations

from interestingness.base import (
    Option,
    Predicate,
    PredicateError,
    PredicateInfo,
    describe_outcome,
    judged_step,
)
from interestingness.compose import AllOf, AnyOf, Not, build, parse_expression
from interestingness.registry import BUILTINS, COMBINATORS, GROUP, available, resolve

__all__ = [
    "AllOf",
    "AnyOf",
    "BUILTINS",
    "COMBINATORS",
    "GROUP",
    "Not",
    "Option",
    "Predicate",
    "PredicateError",
    "PredicateInfo",
    "available",
    "build",
    "describe_outcome",
    "judged_step",
    "parse_expression",
    "resolve",
]
