"""Composition: all/any/not, the small expression language, the TOML file,
and ``build``, which turns what the command line says into one predicate."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from carts_reduce.run.outcome import Outcome, Step

from interestingness.base import Expand, Predicate, PredicateError, is_given
from interestingness.registry import COMBINATORS, Factory, resolve
from interestingness.mismatch import OutputMismatch
from interestingness.script import Script
from interestingness.ubguard import UbFree

#: Options that only mean something to particular predicates: given while
#: no chosen predicate reads them, they are a mistake worth one line.
SELECTIVE_OPTIONS = (
    "match_assertion",
    "match_frame",
    "match_error",
    "stderr_regex",
    "stdout_regex",
    "exit_code",
    "hang_after",
    "ir_pattern",
    "ir_type",
    "debug_only",
    "debug_regex",
    "reference_command",
    "candidate_command",
)


class Composite(Predicate):
    def __init__(self, children: list[Predicate]) -> None:
        self.children = children
        self.values = {}

    @property
    def min_timeout(self) -> float | None:
        limits = [child.min_timeout for child in self.children if child.min_timeout is not None]
        return max(limits) if limits else None

    @property
    def commands(self) -> tuple[str, ...] | None:
        return next((child.commands for child in self.children if child.commands is not None), None)

    def adjust(self, steps: list[Step], expand: Expand) -> list[Step]:
        for child in self.children:
            steps = child.adjust(steps, expand)
        return steps

    def followup(self, outcome: Outcome, candidate: str) -> tuple[Step, ...]:
        # The first child that still needs a second test; any() and not()
        # need every child's full verdict.
        return next((more for child in self.children if (more := child.followup(outcome, candidate))), ())

    def calibrate(self, original: Outcome) -> None:
        for child in self.children:
            child.calibrate(original)

    def guards(self) -> list[str]:
        return [line for child in self.children for line in child.guards()]

    def owns_step(self, name: str) -> bool:
        return any(child.owns_step(name) for child in self.children)

    def leaves(self) -> Iterator[Predicate]:
        for child in self.children:
            yield from child.leaves()

    def _describe(self, children: list[Predicate], outcome: Outcome) -> str:
        seen: dict[str, None] = {}
        for child in children:
            seen.setdefault(child.describe(outcome), None)
        return "; ".join(seen)

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(map(repr, self.children))})"


class AllOf(Composite):
    name = "all"
    help = COMBINATORS["all"]

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        return all(child(outcome, candidate) for child in self.children)

    def followup(self, outcome: Outcome, candidate: str) -> tuple[Step, ...]:
        # In order, cheap to expensive: a child's second test runs only when
        # every child before it holds.
        for child in self.children:
            more = child.followup(outcome, candidate)
            if more:
                return more
            if not child(outcome, candidate):
                return ()
        return ()

    def describe(self, outcome: Outcome) -> str:
        # What stands in the way: the children that do not hold.
        failing = [child for child in self.children if not child(outcome, "")]
        return self._describe(failing or self.children, outcome)


class AnyOf(Composite):
    name = "any"
    help = COMBINATORS["any"]

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        return any(child(outcome, candidate) for child in self.children)

    def describe(self, outcome: Outcome) -> str:
        return self._describe(self.children, outcome)


class Not(Composite):
    name = "not"
    help = COMBINATORS["not"]

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        return not self.children[0](outcome, candidate)

    def describe(self, outcome: Outcome) -> str:
        return f"not: {self.children[0].describe(outcome)}"


def combine(name: str, children: list[Predicate]) -> Predicate:
    if not children:
        raise PredicateError(f"{name}() needs at least one predicate")
    if name == "not":
        if len(children) != 1:
            raise PredicateError(f"not() takes one predicate, not {len(children)}")
        return Not(children)
    return AllOf(children) if name == "all" else AnyOf(children)


# --------------------------------------------------------------------------
# Leaves, keeping what was made of which option keys


class _Builder:
    """Makes leaves and remembers what each one reads, for the option checks."""

    def __init__(self) -> None:
        self.keys: dict[int, tuple[set[str], bool]] = {}  # id(leaf) -> (keys, takes any key)

    def leaf(self, name: str, options: Mapping[str, Any], base: Path | None = None) -> Predicate:
        factory: Factory = resolve(name, base)
        predicate = factory.make(options)
        self.keys[id(predicate)] = (factory.option_keys, factory.open_options)
        return predicate

    def reads(self, node: Predicate, key: str) -> bool:
        for leaf in node.leaves():
            keys, open_ = self.keys.get(id(leaf), (set(), False))
            if open_ or key in keys:
                return True
        return False


_TOKEN = re.compile(r"\s*(?:([(),])|([^\s(),]+))")


def parse_expression(
    text: str, options: Mapping[str, Any], builder: _Builder | None = None, base: Path | None = None
) -> Predicate:
    """``crash``, ``not(crash)``, ``any(stderr-regex, all(crash, not(hang)))``.

    File references in it are relative to ``base`` (else the cwd)."""
    builder = builder or _Builder()
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        tokens.append(match.group(1) or match.group(2))
        position = match.end()
    if not tokens:
        raise PredicateError("empty predicate")
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> str:
        nonlocal index
        if index >= len(tokens):
            raise PredicateError(f"unfinished predicate expression '{text}'")
        index += 1
        return tokens[index - 1]

    def expression() -> Predicate:
        name = take()
        if name in "(),":
            raise PredicateError(f"unexpected '{name}' in '{text}'")
        if peek() != "(":
            if name in COMBINATORS:
                raise PredicateError(f"'{name}' needs predicates in parentheses: {name}(...)")
            return builder.leaf(name, options, base)
        if name not in COMBINATORS:
            raise PredicateError(f"'{name}(...)' in '{text}': only all, any and not take predicates")
        take()  # "("
        children = [expression()]
        while peek() == ",":
            take()
            children.append(expression())
        if take() != ")":
            raise PredicateError(f"expected ')' or ',' in '{text}'")
        return combine(name, children)

    node = expression()
    if index != len(tokens):
        raise PredicateError(f"unexpected '{tokens[index]}' in '{text}'")
    return node


# --------------------------------------------------------------------------
# The TOML file

_STRUCTURE_KEYS = ("name", "expression", "of", "predicate")


def _keys(table: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key).replace("-", "_"): value for key, value in table.items()}


def _relative_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    script = values.get("script")
    if isinstance(script, str) and script and not Path(script).expanduser().is_absolute():
        values["script"] = str(base / script)
    return values


def load_predicates_file(path: Path, options: Mapping[str, Any], builder: _Builder) -> list[Predicate]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PredicateError(f"cannot read predicates file {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PredicateError(f"{path}: {error}") from None
    unknown = sorted(set(data) - {"predicate", "options"})
    if unknown:
        raise PredicateError(f"{path}: unknown top-level key '{unknown[0]}' (expected [options] and [[predicate]])")
    base = path.resolve().parent
    defaults = data.get("options", {})
    if not isinstance(defaults, dict):
        raise PredicateError(f"{path}: [options] must be a table")
    inherited = {**options, **_relative_paths(_keys(defaults), base)}
    tables = data.get("predicate")
    if not isinstance(tables, list) or not tables:
        raise PredicateError(f"{path}: no [[predicate]] tables")
    return [
        _table(table, inherited, f"{path.name}: predicate {number}", builder, base)
        for number, table in enumerate(tables, 1)
    ]


def _table(table: Any, inherited: Mapping[str, Any], where: str, builder: _Builder, base: Path) -> Predicate:
    if not isinstance(table, dict):
        raise PredicateError(f"{where}: must be a table")
    values = _keys(table)
    name, expression = values.pop("name", None), values.pop("expression", None)
    of, nested = values.pop("of", []), values.pop("predicate", [])
    own = _relative_paths(values, base)
    options = {**inherited, **own}
    if (name is None) == (expression is None):
        raise PredicateError(f"{where}: give either name or expression")
    if isinstance(of, str):
        of = [of]
    if not isinstance(nested, list) or not isinstance(of, list):
        raise PredicateError(f"{where}: 'of' is a list of predicates, [[...predicate]] a list of tables")
    try:
        if expression is not None:
            if of or nested:
                raise PredicateError("an expression has no 'of' or nested predicates")
            node = parse_expression(str(expression), options, builder, base)
        elif name in COMBINATORS:
            children = [parse_expression(str(spec), options, builder, base) for spec in of]
            children += [
                _table(child, options, f"{where}.{number}", builder, base) for number, child in enumerate(nested, 1)
            ]
            node = combine(name, children)
        else:
            if of or nested:
                raise PredicateError(f"only all, any and not take predicates, not '{name}'")
            node = builder.leaf(str(name), options, base)
    except PredicateError as error:
        message = str(error)
        raise PredicateError(message if message.startswith(where.split(":")[0]) else f"{where}: {message}") from None
    for key in own:
        if not builder.reads(node, key):
            raise PredicateError(f"{where}: no predicate in it reads the option '{key}'")
    return node


# --------------------------------------------------------------------------
# build


def flatten_options(options: Mapping[str, Any] | None) -> tuple[dict[str, Any], set[str]]:
    """The options as one flat mapping (``extra`` merged in, empty values
    dropped), and the keys that came from ``extra``."""
    options = dict(options or {})
    extra = options.pop("extra", None) or {}
    flat = {str(key).replace("-", "_"): value for key, value in extra.items() if is_given(value)}
    flat.update({key: value for key, value in options.items() if is_given(value)})
    return flat, {str(key).replace("-", "_") for key, value in extra.items() if is_given(value)}


def build(
    specs: list[str] | tuple[str, ...] | None,
    options: Mapping[str, Any] | None = None,
    predicates_file: Path | None = None,
    ub_guard: bool = False,
) -> Predicate:
    """One predicate from the command line: every spec and every table of
    the predicates file must hold; none of them means ``same-failure``.
    ``options["script"]`` alone selects the ``script`` predicate. With
    ``ub_guard`` (C inputs), an output-mismatch is guarded by ``ub-free``,
    which comes last: its checks run only where everything else holds."""
    flat, extra_keys = flatten_options(options)
    builder = _Builder()
    nodes: list[Predicate] = []
    if predicates_file is not None:
        nodes += load_predicates_file(Path(predicates_file), flat, builder)
    nodes += [parse_expression(str(spec), flat, builder) for spec in specs or ()]
    if "script" in flat and not any(isinstance(leaf, Script) for node in nodes for leaf in node.leaves()):
        nodes.insert(0, builder.leaf("script", flat))
    if not nodes:
        nodes.append(builder.leaf("same-failure", flat))
    leaves = [leaf for node in nodes for leaf in node.leaves()]
    if ub_guard and any(isinstance(leaf, OutputMismatch) for leaf in leaves) and not any(
        isinstance(leaf, UbFree) for leaf in leaves
    ):
        nodes.append(builder.leaf("ub-free", flat))
    predicate = nodes[0] if len(nodes) == 1 else AllOf(nodes)
    for key in [*SELECTIVE_OPTIONS, *sorted(extra_keys)]:
        if key in flat and not builder.reads(predicate, key):
            chosen = ", ".join(dict.fromkeys(leaf.name for leaf in predicate.leaves()))
            flag = f"--opt {key}" if key in extra_keys else f"--{key.replace('_', '-')}"
            raise PredicateError(f"{flag} is given but no chosen predicate reads it (chosen: {chosen})")
    return predicate
