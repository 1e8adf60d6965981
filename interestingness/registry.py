"""Where predicates come from: built-ins, entry points, modules and files.

A name resolves, in order, to a built-in, to an entry point of the group
``carts_reduce.interestingness`` (installed plugins need no flag), or, when
it holds a colon, to ``module:function`` or ``path/to/file.py:function``.
A plugin object is a plain function ``(outcome, candidate) -> bool`` (with
an optional keyword parameter ``options``, the merged option mapping) or a
``Predicate`` subclass for one that needs ``adjust``/``calibrate``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carts_reduce.run.outcome import Outcome

from interestingness.base import Predicate, PredicateError, PredicateInfo, describe_outcome, first_line
from interestingness.failure import Crash, ExitCode, Hang, SameFailure, SignatureMatch
from interestingness.ir import IrContains, IrLacks
from interestingness.mismatch import OutputMismatch
from interestingness.output import DebugLog, StderrRegex, StdoutRegex
from interestingness.script import Script
from interestingness.ubguard import UbFree

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "carts_reduce.interestingness"

BUILTINS: dict[str, type[Predicate]] = {
    cls.name: cls
    for cls in (
        SameFailure,
        Crash,
        SignatureMatch,
        StderrRegex,
        StdoutRegex,
        ExitCode,
        Hang,
        IrContains,
        IrLacks,
        DebugLog,
        OutputMismatch,
        UbFree,
        Script,
    )
}

COMBINATORS: dict[str, str] = {
    "all": "all(A, B, ...): every predicate inside holds (as several --predicate options do)",
    "any": "any(A, B, ...): at least one predicate inside holds",
    "not": "not(A): the predicate inside does not hold",
}


class FunctionPredicate(Predicate):
    """A plain function ``(outcome, candidate) -> bool`` as a predicate."""

    def __init__(self, function: Callable[..., Any], name: str, options: Mapping[str, Any]) -> None:
        self.function = function
        self.name = name  # type: ignore[misc]  # per instance: plugins are named where found
        self.help = function_help(function)  # type: ignore[misc]
        self.takes_options = takes_options(function)
        self.values = dict(options)

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        if self.takes_options:
            return bool(self.function(outcome, candidate, options=self.values))
        return bool(self.function(outcome, candidate))

    def describe(self, outcome: Outcome) -> str:
        return describe_outcome(outcome)


def takes_options(function: Callable[..., Any]) -> bool:
    try:
        return "options" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def function_help(function: Callable[..., Any]) -> str:
    return first_line(inspect.getdoc(function)) or "(no description)"


@dataclass(frozen=True)
class Factory:
    """How to make one predicate, and what to list about it."""

    name: str
    origin: str
    target: Any  # a Predicate subclass or a plain function

    @property
    def open_options(self) -> bool:
        """Takes any option key (a plain function with an ``options`` parameter)."""
        return not _is_predicate_class(self.target) and takes_options(self.target)

    @property
    def option_keys(self) -> set[str]:
        if _is_predicate_class(self.target):
            return {option.key for option in self.target.options}
        return set()

    def make(self, options: Mapping[str, Any]) -> Predicate:
        if _is_predicate_class(self.target):
            predicate = self.target(options)
            if not predicate.name:
                predicate.name = self.name
            return predicate
        return FunctionPredicate(self.target, self.name, options)

    def info(self) -> PredicateInfo:
        if _is_predicate_class(self.target):
            help_text = self.target.help or function_help(self.target)
            options = [(option.flag, option.help) for option in self.target.options]
        else:
            help_text = function_help(self.target)
            options = [("--opt KEY=VALUE", "any option, passed as options=")] if self.open_options else []
        return PredicateInfo(self.name, help_text, options, self.origin)


def _is_predicate_class(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, Predicate)


def _checked(target: Any, name: str) -> Any:
    if _is_predicate_class(target):
        return target
    if not callable(target):
        raise PredicateError(f"predicate '{name}' is not callable")
    try:
        extra = {"options": {}} if takes_options(target) else {}
        inspect.signature(target).bind(None, None, **extra)
    except TypeError:
        raise PredicateError(f"predicate '{name}' must take (outcome, candidate)") from None
    except ValueError:
        pass  # a builtin without a signature: trust it
    return target


# --------------------------------------------------------------------------
# Entry points


def _entry_points() -> dict[str, EntryPoint]:
    # Imported here: a dozen milliseconds of start-up that built-in predicates never need.
    from importlib.metadata import entry_points

    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=GROUP):
        found.setdefault(entry.name, entry)
    return found


def _entry_origin(entry: EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return f"entry point ({dist.name})" if dist is not None else "entry point"


def _load_entry(entry: EntryPoint) -> Factory:
    try:
        target = entry.load()
    except Exception as error:  # a broken plugin must not take the tool down
        raise PredicateError(f"cannot load predicate '{entry.name}' ({entry.value}): {type(error).__name__}: {error}")
    return Factory(entry.name, _entry_origin(entry), _checked(target, entry.name))


# --------------------------------------------------------------------------
# module:function and file.py:function

_file_modules: dict[Path, Any] = {}


def _load_file(path: Path) -> Any:
    path = path.resolve()
    if path in _file_modules:
        return _file_modules[path]
    if not path.is_file():
        raise PredicateError(f"predicate file not found: {path}")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    module_name = f"_carts_reduce_predicates_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PredicateError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so its functions pickle by reference
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise PredicateError(f"cannot import {path}: {type(error).__name__}: {error}") from None
    _file_modules[path] = module
    return module


def _load_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as error:
        raise PredicateError(f"cannot import module '{name}': {type(error).__name__}: {error}") from None


def _is_file_reference(location: str) -> bool:
    return location.endswith(".py") or "/" in location


def _load_reference(spec: str, base: Path | None) -> Factory:
    location, _, attribute = spec.rpartition(":")
    if not location or not attribute:
        raise PredicateError(f"bad predicate reference '{spec}': use module:function or path/file.py:function")
    if _is_file_reference(location):
        path = Path(location).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        module, origin = _load_file(path), "file"
    else:
        module, origin = _load_module(location), "module"
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise PredicateError(f"'{location}' has no '{attribute}'") from None
    return Factory(spec, origin, _checked(target, spec))


# --------------------------------------------------------------------------
# Lookup


def resolve(name: str, base: Path | None = None) -> Factory:
    """The factory for one predicate name (not a combinator)."""
    if name in BUILTINS:
        return Factory(name, "built-in", BUILTINS[name])
    entries = _entry_points()
    if name in entries:
        return _load_entry(entries[name])
    if ":" in name:
        return _load_reference(name, base)
    known = ", ".join([*BUILTINS, *entries])
    raise PredicateError(f"unknown predicate '{name}' (known: {known}; or module:function, file.py:function)")


def available() -> list[PredicateInfo]:
    """Every predicate found: built-ins, combinators, then installed plugins."""
    infos = [Factory(name, "built-in", cls).info() for name, cls in BUILTINS.items()]
    infos += [PredicateInfo(name, help_text, [], "built-in") for name, help_text in COMBINATORS.items()]
    for name, entry in sorted(_entry_points().items()):
        if name in BUILTINS or name in COMBINATORS:
            infos.append(PredicateInfo(name, f"shadowed by the built-in '{name}'", [], _entry_origin(entry)))
            continue
        try:
            infos.append(_load_entry(entry).info())
        except PredicateError as error:
            infos.append(PredicateInfo(name, str(error), [], _entry_origin(entry)))
    return infos
