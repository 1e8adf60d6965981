"""Bad usage, reported the same way by every command.

An option's allowed values are a ``Bounds``; ``check`` turns a value outside
them into a ``UsageError`` whose one line names the option, the value and
what is allowed. ``run_app`` runs a typer app so that its own parse errors
(an unknown option, a number that is not one) end the same way: one line on
stderr, exit status 2, never a traceback or a box.

Help texts follow two conventions, because typer reads them as rich markup:
a default that is not a plain value is written with ``default_note``
(``[default: CPU count]`` would otherwise be eaten as a markup tag), and a
flag gets ``metavar=FLAG`` so that no ``<bool>`` is shown for it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer >= 0.29 carries its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException

EXIT_USAGE = 2
PROGRAM = "carts-reduce"
#: The metavar of a flag: typer shows no value type for it.
FLAG = ""


class UsageError(Exception):
    """Bad input: reported as one line and exit status 2."""


def error_line(message: str) -> str:
    return f"{PROGRAM}: error: " + " ".join(str(message).split())


def fail(message: str) -> typer.Exit:
    """Print ``message`` as the one line of a usage error; raise what this returns."""
    print(error_line(message), file=sys.stderr, flush=True)
    return typer.Exit(EXIT_USAGE)


def default_note(text: str) -> str:
    """``[default: TEXT]`` for a help string, escaped from rich markup."""
    return rf"\[default: {text}]"


@dataclass(frozen=True)
class Bounds:
    """The numbers an option allows: finite, within the given limits."""

    above: float | None = None  # exclusive lower limit
    at_least: float | None = None  # inclusive lower limit
    at_most: float | None = None  # inclusive upper limit
    whole: bool = False
    unit: str = ""

    def allows(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.whole and not float(value).is_integer():
            return False
        if not math.isfinite(value):
            return False
        if self.above is not None and not value > self.above:
            return False
        if self.at_least is not None and value < self.at_least:
            return False
        return self.at_most is None or value <= self.at_most

    def describe(self) -> str:
        """``a whole number of at least 1``, ``a number of seconds above 0``, ..."""
        name = ("a whole number" if self.whole else "a number") + (f" of {self.unit}" if self.unit else "")
        if self.at_least is not None and self.at_most is not None:
            return f"{name} from {_number(self.at_least)} to {_number(self.at_most)}"
        limits = []
        if self.above is not None:
            limits.append(f"above {_number(self.above)}")
        if self.at_least is not None:
            limits.append(("at least " if self.unit else "of at least ") + _number(self.at_least))
        if self.at_most is not None:
            limits.append(f"at most {_number(self.at_most)}")
        return " ".join([name, " and ".join(limits)]) if limits else f"a finite {name.removeprefix('a ')}"


#: Common bounds: a count of at least one, a count that may be zero, a duration.
AT_LEAST_ONE = Bounds(at_least=1, whole=True)
ZERO_OR_MORE = Bounds(at_least=0, whole=True)
SECONDS = Bounds(above=0, unit="seconds")
NON_NEGATIVE = Bounds(at_least=0)
EXIT_STATUS = Bounds(at_least=0, at_most=255, whole=True)


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def check(option: str, value: Any, bounds: Bounds, why: str = "") -> None:
    """Raise ``UsageError`` unless ``value`` (None: not given) is within ``bounds``."""
    if value is None or bounds.allows(value):
        return
    shown = _number(value) if isinstance(value, (int, float)) else repr(value)
    raise UsageError(f"{option} {shown}: must be {bounds.describe()}{why}")


def check_all(checks: Sequence[tuple[str, Any, Bounds]]) -> None:
    """``check`` each (option, value, bounds) in order; the first bad one is reported."""
    for option, value, bounds in checks:
        check(option, value, bounds)


class PlainUsage(TyperCommand):
    """A command whose usage line names its arguments plainly (``INPUT``, not
    ``{input}``) and whose ``--help`` shows no ``<bool>``."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece
                for piece in super().collect_usage_pieces(ctx)]

    def get_help_option(self, ctx):
        return _plain_help(super().get_help_option(ctx))


class PlainGroup(TyperGroup):
    """A group of commands whose ``--help`` shows no ``<bool>``."""

    def get_help_option(self, ctx):
        return _plain_help(super().get_help_option(ctx))


def _plain_help(option):
    if option is not None:
        option.metavar = FLAG
    return option


def run_app(app: typer.Typer, args: Sequence[str] | None = None) -> NoReturn:
    """Run ``app``; a parse error is one line on stderr and exit status 2."""
    try:
        code = app(prog_name=PROGRAM, args=args, standalone_mode=False)
    except ClickException as error:
        message = error.format_message().strip()
        if message:  # (none when the help was shown for want of arguments)
            hint = f" (see {PROGRAM} --help)" if error.exit_code == EXIT_USAGE else ""
            print(error_line(message + hint), file=sys.stderr, flush=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
