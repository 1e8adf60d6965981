"""C source through tree-sitter-c: parse, measure in tokens, edit by byte spans.

tree-sitter works on bytes and keeps every byte of the input either in a leaf
or in the whitespace between leaves, so a file with syntax errors still has a
tree (with ERROR nodes) that spells it back exactly. Passes therefore never
print a tree: they splice replacement text into byte spans of the original,
which leaves untouched code byte-identical.

Parses are cached by text: every pass of a round looks at the same text, and a
~20k-token file takes milliseconds to parse but far longer to walk in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter_c
from tree_sitter import Language, Node, Parser, Tree

LANGUAGE = Language(tree_sitter_c.language())

#: A byte-span edit: replace ``data[start:end]`` by ``replacement``.
Edit = tuple[int, int, str]

# Leaves that are one token however many bytes or children they have.
ATOMIC = frozenset({"string_literal", "char_literal", "system_lib_string", "number_literal", "comment"})
# Whole lines of the preprocessor: not C tokens.
PREPROC_LINES = frozenset({"preproc_include", "preproc_def", "preproc_function_def", "preproc_call"})
# Conditionals whose directive lines are preprocessor but whose bodies are C.
PREPROC_CONDITIONALS = frozenset(
    {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"}
)
_WORD = re.compile(rb"[A-Za-z_$]")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True, eq=False)
class Source:
    """A text with its UTF-8 bytes and its tree (byte offsets index ``data``)."""

    text: str
    data: bytes
    tree: Tree

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def slice(self, node: Node) -> str:
        return decode(self.data[node.start_byte : node.end_byte])

    def edit(self, edits: Iterable[Edit]) -> str:
        return splice(self.data, edits)


_PARSER = Parser(LANGUAGE)


@lru_cache(maxsize=32)
def source(text: str) -> Source:
    data = encode(text)
    return Source(text, data, _PARSER.parse(data))


def parse(text: str) -> Tree:
    return source(text).tree


def walk(node: Node) -> Iterator[Node]:
    """All nodes under ``node`` (itself included), in document pre-order."""
    cursor = node.walk()
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def leaves(node: Node) -> Iterator[Node]:
    for current in walk(node):
        if current.child_count == 0:
            yield current


def nodes_of_type(node: Node, types: frozenset[str] | set[str]) -> list[Node]:
    return [n for n in walk(node) if n.type in types]


def print_back(tree: Tree, data: bytes) -> bytes:
    """The text spelled by the tree: each leaf's own bytes and the gaps between leaves."""
    out: list[bytes] = []
    position = 0
    for leaf in leaves(tree.root_node):
        if leaf.start_byte < position:
            raise ValueError(f"leaf at byte {leaf.start_byte} overlaps the one before it")
        out.append(data[position : leaf.start_byte])
        out.append(leaf.text or b"")
        position = leaf.end_byte
    out.append(data[position:])
    return b"".join(out)


def round_trips(text: str) -> bool:
    src = source(text)
    return print_back(src.tree, src.data) == src.data


def uncovered(text: str) -> list[tuple[int, bytes]]:
    """Gaps between leaves holding more than whitespace (and line continuations)."""
    src = source(text)
    found, position = [], 0
    for leaf in leaves(src.root):
        gap = src.data[position : leaf.start_byte]
        if gap.replace(b"\\\n", b"").strip():
            found.append((position, gap))
        position = max(position, leaf.end_byte)
    tail = src.data[position:]
    if tail.strip():
        found.append((position, tail))
    return found


def error_count(text: str) -> int:
    return sum(1 for n in walk(source(text).root) if n.type == "ERROR" or n.is_missing)


def _token_leaves(node: Node) -> Iterator[Node]:
    """Leaves that count as C tokens: no comments, no preprocessor lines."""
    stack = [node]
    while stack:
        current = stack.pop()
        kind = current.type
        if kind == "comment" or kind in PREPROC_LINES:
            continue
        if kind in ATOMIC or current.child_count == 0:
            yield current
            continue
        children = current.children
        if kind in PREPROC_CONDITIONALS:
            children = [
                child
                for index, child in enumerate(children)
                if not child.type.startswith("#")
                and current.field_name_for_child(index) not in ("condition", "name")
            ]
        stack.extend(reversed(children))


def token_count(text: str) -> int:
    """C tokens, comments and preprocessor lines excluded.

    Words, numbers, and string or character literals are one token each;
    punctuators count one per character (``->`` is two), the measure the
    real-crashes data reports sizes in (25 for the clang19 reproducer).
    """
    src = source(text)
    count = 0
    for leaf in _token_leaves(src.root):
        spelled = src.data[leaf.start_byte : leaf.end_byte]
        if not spelled:
            continue  # a MISSING node inserted by error recovery
        if leaf.type == "number_literal" and spelled[:1] in (b"-", b"+"):
            count += 2  # tree-sitter-c folds the sign of `-1` into the literal
        elif leaf.type in ATOMIC or _WORD.match(spelled):
            count += 1
        else:
            count += sum(1 for byte in spelled if not chr(byte).isspace())
    return count


def splice(data: bytes, edits: Iterable[Edit]) -> str:
    """Apply byte-span edits; deletions nested in or overlapping others are merged."""
    out: list[bytes] = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], -e[1])):
        if start < position:
            if end <= position and not replacement:
                continue  # inside a span already removed
            if replacement:
                raise ValueError(f"edit at byte {start} overlaps an earlier edit")
            start = position
        out.append(data[position:start])
        out.append(encode(replacement))
        position = max(position, end)
    out.append(data[position:])
    return decode(b"".join(out))


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    return splice(source(text).data, edits)


def removal_span(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The span to delete for removing ``data[start:end]`` tidily.

    A construct alone on its lines (a trailing ``//`` comment may follow) takes
    its lines with it; otherwise the horizontal space after it (or, at the end
    of a line, before it) goes too.
    """
    while end > start and data[end - 1 : end] in (b"\n", b"\r"):
        end -= 1  # preprocessor lines own their newline; the line logic below handles it
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    if line_end < 0:
        line_end = len(data)
    before = data[line_start:start]
    after = data[end:line_end]
    rest = after.strip()
    if not before.strip() and (not rest or rest.startswith(b"//")):
        return line_start, min(line_end + 1, len(data))
    if not rest:
        return start - (len(before) - len(before.rstrip(b" \t"))), end
    return start, end + (len(after) - len(after.lstrip(b" \t")))


def node_removal(src: Source, node: Node) -> Edit:
    start, end = removal_span(src.data, node.start_byte, node.end_byte)
    return start, end, ""


def list_removal(elements: list[tuple[int, int]], removed: Iterable[int]) -> list[Edit]:
    """Edits removing some elements of a comma-separated list given their spans.

    Each run of removed elements takes the separator before it (or, at the
    head of the list, the one after it), so the list stays well formed.
    """
    chosen = sorted(set(removed))
    edits: list[Edit] = []
    count = len(elements)
    index = 0
    while index < len(chosen):
        first = last = chosen[index]
        while index + 1 < len(chosen) and chosen[index + 1] == last + 1:
            index += 1
            last = chosen[index]
        index += 1
        if first > 0:
            edits.append((elements[first - 1][1], elements[last][1], ""))
        elif last + 1 < count:
            edits.append((elements[first][0], elements[last + 1][0], ""))
        else:
            edits.append((elements[first][0], elements[last][1], ""))
    return edits


def shortlex_smaller(old: str, new: str) -> bool:
    """Whether replacing ``old`` by ``new`` in place makes the whole text smaller."""
    old_size, new_size = len(encode(old)), len(encode(new))
    return new_size < old_size or (new_size == old_size and new < old)
