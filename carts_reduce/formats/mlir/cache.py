"""Parse each text once, whoever asks: the input's op count, every pass, every check.

A reduction asks about the same few texts over and over (the current best,
the candidate under test, the one just accepted), so parses are remembered
by text. A tree takes about 25 bytes per character of its text, so what is
remembered is bounded by characters as well as by count, and room is made
*before* a new text is parsed: on a module of millions of characters only
one tree is kept, and an old one is freed before the next one is built
(trees hold no reference cycles, so dropping the last reference frees one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from .lexer import MLIRParseError
from .parser import parse
from .tree import Module

T = TypeVar("T")

#: At most this many texts, and at most this many characters of them (one text is always kept).
ENTRIES = 8
CHARACTERS = 2_000_000


class TextCache(Generic[T]):
    """Values computed from texts, least recently used first out, bounded as above."""

    def __init__(self, compute: Callable[[str], T], entries: int = ENTRIES, characters: int = CHARACTERS) -> None:
        self._compute = compute
        self._entries: OrderedDict[str, T] = OrderedDict()
        self._characters = 0
        self._limits = (entries, characters)
        self._lock = threading.Lock()

    def get(self, text: str) -> T:
        with self._lock:
            if text in self._entries:
                self._entries.move_to_end(text)
                return self._entries[text]
            self._make_room(len(text))
        value = self._compute(text)
        with self._lock:
            if text not in self._entries:
                self._entries[text] = value
                self._characters += len(text)
        return value

    def _make_room(self, size: int) -> None:
        entries, characters = self._limits
        while self._entries and (len(self._entries) >= entries or self._characters + size > characters):
            old, _ = self._entries.popitem(last=False)
            self._characters -= len(old)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._characters = 0


def _parse_or_error(text: str) -> Module | tuple[str, int, int]:
    """The module, or the parse error's (message, line, column): an exception kept would keep its frames."""
    try:
        return parse(text)
    except MLIRParseError as error:
        return error.message, error.line, error.col


_MODULES: TextCache[Module | tuple[str, int, int]] = TextCache(_parse_or_error)


def parsed_module(text: str) -> Module:
    """``parse(text)``, remembered; raises ``MLIRParseError`` as ``parse`` does."""
    found = _MODULES.get(text)
    if isinstance(found, tuple):
        raise MLIRParseError(*found)
    return found
