"""Parse MLIR text of any dialect into the lossless op tree of ``tree.py``.

Generic-form ops (``"d.op"(...) <{...}> ({...}) {...} : (...) -> ...``) are
parsed by their grammar. The custom form of an unknown dialect cannot be, so
op boundaries follow the MLIR printer's conventions:

* an op starts at the first token of a line that is ``%results =``, an op
  name (a dotted identifier, or ``call``/``return``/``module``...) or a
  generic op; it runs to the end of its line, and over further lines while a
  bracket is open or the line ended with ``,``, ``:``, ``=`` or ``->``, or the
  next line does not start a new op (``: type``, ``-> (...)``, ``ins(...)``);
* a ``{`` opens a region when the line ends after it (unless it holds
  ``key = value`` entries or follows ``attributes``) or when ``^bb`` follows;
  other braces are attribute dictionaries. After the region's ``}`` the op
  may go on (``} : i64``, ``} else {``, ``} loc(#loc3)``).

SSA names in a custom op's own text are uses, except the ones its header
defines for its regions (``scf.for %i = ...``, ``iter_args(%a = %b)``,
``omp.loop_nest (%i) : index = ...``, ``func.func @f(%arg0: i32)``): in an
op with regions, a header name followed by ``=`` is a region argument, and so
is one in a defining position (followed by ``:``, after ``->``, in a
parenthesised list followed by ``:``, ``=`` or ``in``) that names no value in
scope (in a function's signature, whether in scope or not). Elsewhere an
unknown name stays an (undefined) use, so deleting the definition of ``%lb``
in ``scf.for %i = %lb to ...`` is caught. The type of a region argument is
read from where the printers state it (``arg_type``).
"""

from __future__ import annotations

import gc
import re
import sys

from .lexer import (
    BANG,
    CARET,
    EOF,
    HASH,
    IDENT,
    LOC,
    METADATA,
    PUNCT,
    STRING,
    SYM,
    VALUE,
    MLIRParseError,
    _lex,
    _STRING_RE,
    _SUFFIX_ID,
)
from .tree import AliasDef, Block, Module, Op, Ref, Region, Use, Value, link

__all__ = ["parse", "ISOLATED_OPS", "SYMBOL_DEFINING_OPS"]

#: A line ending with one of these goes on on the next line.
_CONTINUES = frozenset({",", ":", "=", "->", "::"})
#: Op names without a dialect prefix, as printed in func bodies and modules.
_UNDOTTED_OPS = frozenset({"call", "call_indirect", "return", "module", "func", "constant", "unrealized_conversion_cast"})
#: Ops whose regions cannot see values defined outside (IsolatedFromAbove).
ISOLATED_OPS = frozenset(
    {"func.func", "func", "llvm.func", "module", "builtin.module", "gpu.module", "gpu.func", "spirv.module", "spirv.func"}
)
#: Ops whose first ``@name`` defines a symbol (other ops only reference symbols).
SYMBOL_DEFINING_OPS = frozenset(
    {
        "func.func",
        "func",
        "llvm.func",
        "llvm.mlir.global",
        "llvm.mlir.alias",
        "llvm.mlir.ifunc",
        "llvm.comdat",
        "llvm.comdat_selector",
        "memref.global",
        "ml_program.global",
        "module",
        "builtin.module",
        "gpu.module",
        "gpu.func",
        "omp.declare_reduction",
        "omp.private",
        "omp.declare_mapper",
        "spirv.module",
        "spirv.func",
        "spirv.GlobalVariable",
        "transform.named_sequence",
    }
)
# Roles of an SSA name in a custom op's header: `%i =` defines a region
# argument; `%a: i32`, `-> %prv`, `(%i) : index =` define one unless the name
# is already in scope (then they are typed operands); anything else uses.
_USES, _MAY_DEFINE, _DEFINES = 0, 1, 2
_AFTER_DEFINING_GROUP = frozenset({":", "=", "in"})
#: Ops whose header-defined loop variables are ``index`` unless a type is written.
_INDEX_IVS = frozenset({"scf.for", "scf.parallel", "scf.forall", "affine.for", "affine.parallel", "gpu.launch"})
_DECLARING_NAME = re.compile(r"decl|global|func|module|comdat|alias|private|sequence")
_ALIAS_IN_TEXT = re.compile(r"[#!][A-Za-z_][\w$.\-]*")
# A symbol reference inside an attribute or type body (``#d.attr<@f>``,
# ``#d<[@a, @b]>``); strings are matched only to be stepped over.
_SYMBOL_IN_TEXT = re.compile(rf"{_STRING_RE}|@(?:{_STRING_RE}|{_SUFFIX_ID})")


def _ref_start(ref: Ref) -> int:
    return ref.start


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.k, self.s, self.e, self.nl = _lex(text)
        s, e = self.s, self.e
        # Token texts, interned: op names, types and SSA names repeat thousands of
        # times in a big module, and the tree keeps many of them.
        intern = sys.intern
        self.tt = [intern(text[a:b]) for a, b in zip(s, e)]
        self.i = 0
        self.alias_candidates: list[tuple[Op | AliasDef, Ref]] = []

    # ---------------------------------------------------------------- helpers
    def error(self, j: int, message: str) -> MLIRParseError:
        return MLIRParseError.at(self.text, self.s[j], message)

    def starts_statement(self, j: int) -> bool:
        """Does token ``j`` (first on its line, outside brackets) begin a new op or block?"""
        kind = self.k[j]
        if kind == VALUE or kind == CARET or kind == EOF or kind == METADATA:
            return True
        t = self.tt[j]
        if kind == PUNCT:
            return t == "}"
        if kind == IDENT:  # an op name, maybe with custom syntax glued on (`arts.edt<task>`)
            dot = t.find(".")
            if dot < 0:
                return t in _UNDOTTED_OPS
            angle = t.find("<")
            return angle < 0 or dot < angle
        if kind == STRING:
            return self.tt[j + 1] == "("
        if kind == HASH or kind == BANG:
            return self.tt[j + 1] == "="
        return False

    def is_region_brace(self, j: int) -> bool:
        """Custom form: does the ``{`` at ``j`` open a region (not an attribute dict)?"""
        k, tt = self.k, self.tt
        nxt = j + 1
        after = tt[nxt]
        before = tt[j - 1]
        if k[nxt] == CARET:
            return True
        if after == "}" and k[nxt] == PUNCT:
            return before != "attributes"
        if before == "attributes":
            return False
        if self.nl[nxt]:
            # `{` ending a line holds ops, unless it is a dictionary laid out over lines.
            return not ((k[nxt] == IDENT or k[nxt] == STRING) and tt[nxt + 1] in ("=", ","))
        if k[nxt] == VALUE:
            m = nxt
            while k[m] == VALUE and tt[m + 1] == ",":
                m += 2
            return k[m] == VALUE and tt[m + 1] == "="
        return k[nxt] == STRING and tt[nxt + 1] == "("

    # ----------------------------------------------------------------- module
    def parse_module(self) -> Module:
        k, s, e, tt = self.k, self.s, self.e, self.tt
        body = Block(start=0, end=0, _parent=link(None))
        module = Module(text=self.text, body=body)
        j = 0
        while k[j] != EOF:
            kind = k[j]
            if kind == METADATA:
                module.metadata.append((s[j], e[j]))
                j += 1
            elif (kind == HASH or kind == BANG) and tt[j + 1] == "=":
                alias, j = self.parse_alias(j)
                module.aliases.append(alias)
            elif kind == PUNCT and tt[j] == "}":
                raise self.error(j, "unmatched '}'")
            elif kind == CARET:
                raise self.error(j, "block label outside of a region")
            else:
                self.i = j
                body.ops.append(self.parse_op(body))
                j = self.i
        if body.ops:
            body.start, body.end = body.ops[0].start, body.ops[-1].end
        names = {a.name for a in module.aliases}
        for owner, ref in self.alias_candidates:
            if ref.name in names:
                if isinstance(owner, AliasDef):
                    owner.refs = [*owner.refs, ref]
                else:
                    owner.alias_refs = [*owner.alias_refs, ref]
        return module

    def parse_alias(self, j: int) -> tuple[AliasDef, int]:
        k, s, e, tt, nl = self.k, self.s, self.e, self.tt, self.nl
        start = j
        name = tt[j]
        j += 2
        value_start = j
        depth = 0
        symbols: list[Ref] = []
        while True:
            if k[j] == EOF:
                break
            if nl[j] and depth == 0 and j > value_start and tt[j - 1] not in _CONTINUES:
                break
            t = tt[j]
            if k[j] == PUNCT:
                if t in "([{":
                    depth += 1
                elif t in ")]}":
                    depth -= 1
            elif k[j] == SYM:
                symbols.append(Ref(t, s[j], e[j]))
            j += 1
        if j == value_start:
            raise self.error(start, f"expected a value for alias {name}")
        alias = AliasDef(name=name, start=s[start], end=e[j - 1], value=self.text[s[value_start] : e[j - 1]])
        self.collect_refs(alias, value_start, j, symbols)
        if symbols:
            symbols.sort(key=_ref_start)
            alias.symbol_refs = symbols
        return alias, j

    def collect_refs(self, owner: Op | AliasDef, lo: int, hi: int, symbols: list[Ref]) -> None:
        """References written inside tokens ``lo..hi``.

        Alias-looking names are kept as candidates until the aliases are
        known; symbol references inside attribute and type bodies
        (``#d.attr<@f>``, which the lexer keeps as one token) go to ``symbols``.
        """
        k, s, tt = self.k, self.s, self.tt
        add = self.alias_candidates.append
        for j in range(lo, hi):
            kind = k[j]
            if kind == HASH or kind == BANG or kind == IDENT or kind == LOC:
                t = tt[j]
                if (kind == HASH or kind == BANG) and "<" not in t:
                    add((owner, Ref(t, s[j], s[j] + len(t))))
                elif "#" in t or "!" in t:
                    for m in _ALIAS_IN_TEXT.finditer(t, 1):
                        if not t.startswith("<", m.end()):
                            add((owner, Ref(m.group(), s[j] + m.start(), s[j] + m.end())))
                if "@" in t:
                    for m in _SYMBOL_IN_TEXT.finditer(t):
                        if t[m.start()] == "@":
                            symbols.append(Ref(m.group(), s[j] + m.start(), s[j] + m.end()))

    # --------------------------------------------------------------- regions
    def parse_region(self, owner: Op) -> Region:
        """Parse the region whose ``{`` is at ``self.i``; leave ``self.i`` after its ``}``."""
        k, s, e, tt = self.k, self.s, self.e, self.tt
        open_j = self.i
        region = Region(start=s[open_j], end=s[open_j], _parent=link(owner))
        j = open_j + 1
        block: Block | None = None
        while True:
            kind = k[j]
            if kind == PUNCT and tt[j] == "}":
                break
            if kind == EOF:
                raise self.error(open_j, "region is not closed by '}'")
            if kind == CARET:
                block, j = self.parse_block_label(j, region)
                region.blocks.append(block)
                continue
            if block is None:
                block = Block(start=s[j], end=s[j], _parent=link(region))
                region.blocks.append(block)
            self.i = j
            op = self.parse_op(block)
            block.ops.append(op)
            block.end = op.end
            j = self.i
        region.end = e[j]
        self.i = j + 1
        return region

    def parse_block_label(self, j: int, region: Region) -> tuple[Block, int]:
        k, s, e, tt = self.k, self.s, self.e, self.tt
        block = Block(start=s[j], end=e[j], _parent=link(region), label=tt[j])
        args: list[Value] = []
        label_j = j
        j += 1
        if tt[j] == "(" and k[j] == PUNCT:
            j += 1
            while not (tt[j] == ")" and k[j] == PUNCT):
                if k[j] != VALUE:
                    raise self.error(j, "expected a block argument name")
                arg_j = j
                if tt[j + 1] != ":":
                    raise self.error(j + 1, "expected ':' and a type after a block argument")
                j += 2
                type_start = j
                type_end = j
                depth = 0
                while True:
                    t = tt[j]
                    kind = k[j]
                    if kind == EOF:
                        raise self.error(label_j, "unterminated block argument list")
                    if kind == PUNCT:
                        if depth == 0 and (t == "," or t == ")"):
                            break
                        if t in "([{<":
                            depth += 1
                        elif t in ")]}>":
                            depth -= 1
                    if kind != LOC:
                        type_end = j + 1
                    j += 1
                value = Value(
                    name=tt[arg_j],
                    start=s[arg_j],
                    end=e[arg_j],
                    kind="block_arg",
                    _owner=link(block),
                    type=self.text[s[type_start] : e[type_end - 1]] if type_end > type_start else "",
                )
                args.append(value)
                if tt[j] == ",":
                    j += 1
            j += 1
        if tt[j] != ":":
            raise self.error(j, f"expected ':' after block label {tt[label_j]}")
        if args:
            block.args = args
        block.label_span = (s[label_j], e[j])
        block.end = e[j]
        return block, j + 1

    # ------------------------------------------- types of header arguments
    def type_end(self, j: int, hi: int) -> int:
        """Index of the token ending the type that starts at token ``j``.

        A top-level ``,``, ``:`` or ``=``, an unmatched closer, a ``{`` (argument
        attributes or a region) or a ``loc(...)`` ends it, and so does offset
        ``hi`` (the end of the header); types with bodies are single tokens,
        so only parentheses and brackets nest.
        """
        k, s, tt = self.k, self.s, self.tt
        depth = 0
        while True:
            kind = k[j]
            if kind == EOF or s[j] >= hi or (kind == LOC and depth == 0):
                return j
            if kind == PUNCT:
                t = tt[j]
                if t == "(" or t == "[":
                    depth += 1
                elif t == ")" or t == "]" or t == "}":
                    if depth == 0:
                        return j
                    depth -= 1
                elif depth == 0 and (t == "," or t == "=" or t == "{" or t == ":"):
                    return j
                elif t == "{":
                    depth += 1
            j += 1

    def type_text(self, j: int, hi: int) -> str | None:
        end = self.type_end(j, hi)
        return self.text[self.s[j] : self.e[end - 1]] if end > j else None

    def type_list(self, j: int, hi: int) -> list[str] | None:
        """The types of a parenthesised list ``(t1, t2)`` opening at ``j``, or a single type."""
        if not (self.tt[j] == "(" and self.k[j] == PUNCT):
            single = self.type_text(j, hi)
            return None if single is None else [single]
        types: list[str] = []
        j += 1
        if self.tt[j] == ")":
            return types
        while True:
            end = self.type_end(j, hi)
            if end == j:
                return None
            types.append(self.text[self.s[j] : self.e[end - 1]])
            if self.tt[end] != ",":
                return types if self.tt[end] == ")" else None
            j = end + 1

    def group_open(self, j: int, lo: int) -> int:
        """The ``(`` of the group holding token ``j`` at its top level, or -1.

        The search goes back no further than offset ``lo`` (the op's start).
        """
        k, s, tt = self.k, self.s, self.tt
        depth = 0
        m = j - 1
        while m >= 0 and s[m] >= lo:
            if k[m] == PUNCT:
                t = tt[m]
                if t == ")" or t == "]" or t == "}":
                    depth += 1
                elif t == "(" or t == "[" or t == "{":
                    if depth == 0:
                        return m if t == "(" else -1
                    depth -= 1
            m -= 1
        return -1

    def group_tops(self, open_j: int, hi: int) -> tuple[int, list[int]]:
        """The ``)`` closing the group at ``open_j`` (or the token at offset ``hi``)
        and the tokens at the group's top level."""
        k, s, tt = self.k, self.s, self.tt
        tops: list[int] = []
        depth = 0
        j = open_j + 1
        while True:
            kind = k[j]
            if kind == EOF or s[j] >= hi:
                return j, tops
            if kind == PUNCT:
                t = tt[j]
                if t == "(" or t == "[" or t == "{":
                    depth += 1
                    j += 1
                    continue
                if t == ")" or t == "]" or t == "}":
                    if depth == 0:
                        return j, tops
                    depth -= 1
                    j += 1
                    continue
            if depth == 0:
                tops.append(j)
            j += 1

    def arg_type(self, op: Op, j: int) -> str | None:
        """The type of the region argument an op's header defines at token ``j``.

        ``None`` when the syntax does not say: the custom syntax of unknown
        ops only states types in the printer's usual places.
        """
        k, tt = self.k, self.tt
        hi = op.regions[0].start if op.regions else op.end  # the header's end
        if tt[j - 1] == "->":
            open_j = self.group_open(j, op.start)
            if open_j >= 0:
                return self.clause_arg_type(open_j, j, hi)
        n = j + 1
        if k[n] == LOC:
            n += 1
        if tt[n] == ":":  # `%arg0: i32`
            return self.type_text(n + 1, hi)
        open_j = self.group_open(j, op.start)
        if open_j >= 0:
            close, tops = self.group_tops(open_j, hi)
            if tt[close] != ")":
                return None
            commas = [m for m in tops if tt[m] == ","]
            position = sum(1 for m in commas if m < j)
            after = close + 1
            if k[after] == LOC:
                after += 1
            marker = tt[after] if k[after] != EOF else ""
            if marker == ":" and tt[after + 1] == "(":
                # `(%a = %x) : (i32) -> i32`: the argument types come first.
                types = self.type_list(after + 1, hi)
            elif marker == ":":  # `(%i, %j) : index = ...`: one type for all
                return self.type_text(after + 1, hi)
            elif marker == "->":  # `iter_args(%a = %x) -> (f32)`: one type each
                types = self.type_list(after + 1, hi)
            else:
                return "index" if op.name in _INDEX_IVS else None
            return types[position] if types is not None and len(types) == len(commas) + 1 else None
        if op.name == "scf.for":
            # `scf.for %i = %lb to %ub step %s : i32`: the type is written unless index.
            m = j + 1
            depth = 0
            while self.s[m] < hi and k[m] != EOF:
                t = tt[m]
                if k[m] == PUNCT:
                    if t == "(" or t == "[" or t == "{":
                        depth += 1
                    elif t == ")" or t == "]" or t == "}":
                        depth -= 1
                    elif t == ":" and depth == 0:
                        return self.type_text(m + 1, hi)
                m += 1
        return "index" if op.name in _INDEX_IVS else None

    def clause_arg_type(self, open_j: int, j: int, hi: int) -> str | None:
        """Type of ``%p`` in a clause ``(@sym %x -> %p : t, ...)``.

        Each entry has its own ``: type``, or (newer printers) one ``: t1, t2``
        list follows the last entry.
        """
        tt, k = self.tt, self.k
        _, tops = self.group_tops(open_j, hi)
        defined = [m for m in tops if k[m] == VALUE and tt[m - 1] == "->"]
        colons = [m for m in tops if tt[m] == ":" and k[m] == PUNCT]
        if len(colons) == len(defined):
            colon = next((m for m in colons if m > j), -1)
            return self.type_text(colon + 1, hi) if colon >= 0 else None
        if len(colons) == 1 and colons[0] > defined[-1]:
            starts = [colons[0], *(m for m in tops if tt[m] == "," and m > colons[0])]
            types = [self.type_text(m + 1, hi) for m in starts]
            if len(types) == len(defined):
                return types[defined.index(j)]
        return None

    def defines_symbol(self, op: Op, name_j: int, symbol_j: int) -> bool:
        """Is the first ``@name`` of a custom op the symbol it defines?

        Known definers always; otherwise an op without results whose header
        starts with the name (after keywords such as ``private``), with a
        region or a declaring name (``*_decl``, ``*.global``...), and that is
        not a call.
        """
        if self.tt[symbol_j + 1] == "::":
            return False  # `@outer::@inner` names a symbol of another table
        if op.name in SYMBOL_DEFINING_OPS:
            return True
        short = op.name.rpartition(".")[2]
        if op.results or "call" in short or "launch" in short:
            return False
        j = symbol_j - 1
        while j > name_j and (self.k[j] == IDENT or self.k[j] == STRING):
            j -= 1
        if j != name_j:  # something other than keywords precedes it
            return False
        return bool(op.regions) or _DECLARING_NAME.search(short) is not None

    # -------------------------------------------------------------------- ops
    def parse_op(self, parent: Block) -> Op:
        """Parse the op starting at ``self.i``; leave ``self.i`` after it."""
        k, s, e, tt, nl = self.k, self.s, self.e, self.tt, self.nl
        j = self.i
        first = j
        result_tokens: list[int] = []
        if k[j] == VALUE:
            while True:
                if k[j] != VALUE:
                    raise self.error(j, "expected an SSA result name")
                result_tokens.append(j)
                j += 1
                if tt[j] == ",":
                    j += 1
                    continue
                if tt[j] == "=":
                    j += 1
                    break
                raise self.error(j, "expected '=' after the results of an operation")
        name_j = j
        kind = k[j]
        if kind == STRING:
            generic = True
            name = tt[j][1:-1]
            if tt[j + 1] != "(":
                raise self.error(j + 1, "expected '(' after a generic operation name")
        elif kind == IDENT:
            generic = False
            name = tt[j]
            if "<" in name:
                name = name[: name.index("<")]
        else:
            raise self.error(j, "expected an operation name")
        op = Op(name=name, start=s[first], end=e[j], _parent=link(parent), source=self.text, generic=generic)
        results: list[Value] = []
        for r in result_tokens:
            t = tt[r]
            count = 1
            colon = t.find(":")
            if colon > 0:
                count = int(t[colon + 1 :])
                t = t[:colon]
            results.append(Value(name=t, start=s[r], end=s[r] + len(t), kind="result", _owner=link(op), count=count))
        if results:
            op.results = results

        header_values: list[list] = []
        symbol_refs: list[Ref] = []
        successors: list[Ref] = []
        locs: list[tuple[int, int]] = []
        regions: list[Region] = []
        stack: list[str] = []
        groups: list[int] = []  # for each open '(': where its header values start
        last = j
        header_lo = j + 1
        type_marker = -1
        type_end = -1
        symbol_j = -1
        embedded: list[Ref] = []  # symbol references inside attribute bodies
        j += 1
        while True:
            kind = k[j]
            if nl[j] and not stack and tt[last] not in _CONTINUES and self.starts_statement(j):
                break
            if kind == PUNCT:
                t = tt[j]
                if t == "{":
                    if (stack and stack[-1] == "R") if generic else self.is_region_brace(j):
                        if type_marker >= 0 and type_end < 0:
                            type_end = last + 1
                        self.collect_refs(op, header_lo, j, embedded)
                        self.i = j
                        regions.append(self.parse_region(op))
                        j = self.i
                        header_lo = j
                        last = j - 1
                        continue
                    stack.append("}")
                elif t == "(":
                    if generic and tt[j + 1] == "{" and tt[j - 1] in (")", "]", ">"):
                        stack.append("R")
                    else:
                        stack.append(")")
                        groups.append(len(header_values))
                elif t == "[":
                    stack.append("]")
                elif t == "<":
                    stack.append(">")
                elif t == ">":
                    if stack and stack[-1] == ">":
                        stack.pop()
                elif t == ")" or t == "]" or t == "}":
                    while stack and stack[-1] == ">":
                        stack.pop()
                    if not stack:
                        if t == "}":
                            break  # closes the enclosing region
                        raise self.error(j, f"unbalanced '{t}'")
                    top = stack.pop()
                    if top != t and not (top == "R" and t == ")"):
                        raise self.error(j, f"expected '{')' if top == 'R' else top}' but found '{t}'")
                    if top == ")":
                        # `(%i, %j) : index = ...`, `(%p) = ...`, `(%i) in ...` list definitions.
                        group = groups.pop()
                        if tt[j + 1] in _AFTER_DEFINING_GROUP:
                            for entry in header_values[group:]:
                                entry[2] = entry[2] or _MAY_DEFINE
                elif (t == ":" or t == "->") and not stack:
                    type_marker = j
                    type_end = -1
            elif kind == VALUE:
                nxt = j + 1
                if k[nxt] == LOC:
                    nxt += 1
                if tt[nxt] == "=":
                    role = _DEFINES
                elif tt[nxt] == ":" or tt[j - 1] == "->":
                    role = _MAY_DEFINE
                else:
                    role = _USES
                header_values.append([s[j], e[j], role, not regions, j])
            elif kind == SYM:
                if symbol_j < 0:
                    symbol_j = j
                symbol_refs.append(Ref(tt[j], s[j], e[j]))
            elif kind == CARET:
                successors.append(Ref(tt[j], s[j], e[j]))
            elif kind == LOC:
                locs.append((s[j], e[j]))
                if type_marker >= 0 and type_end < 0 and not stack:
                    type_end = j
            elif kind == STRING:
                if tt[j - 1] == "=" and tt[j - 2] == "sym_name" and op.symbol is None:
                    op.symbol = Ref("@" + tt[j][1:-1], s[j], e[j])
            elif kind == EOF:
                if stack:
                    raise self.error(first, f"operation '{name}' has an unclosed bracket")
                break
            last = j
            j += 1
        op.end = e[last]
        self.i = j
        self.collect_refs(op, header_lo, j, embedded)
        if regions:
            op.regions = regions
        if header_values:
            op._header_values = header_values
        if successors:
            op.successors = successors
        if locs:
            op.locs = locs

        if op.results and type_marker >= 0:
            stop = type_end if type_end >= 0 else last + 1
            if stop > type_marker + 1:
                op.result_types = self.text[s[type_marker + 1] : e[stop - 1]]
        if embedded:
            symbol_refs += embedded
            symbol_refs.sort(key=_ref_start)
        if symbol_j >= 0 and op.symbol is None and self.defines_symbol(op, name_j, symbol_j):
            op.symbol = symbol_refs.pop(next(n for n, r in enumerate(symbol_refs) if r.start == s[symbol_j]))
        if symbol_refs:
            op.symbol_refs = symbol_refs
        op.isolated = name in ISOLATED_OPS or (op.symbol is not None and bool(op.regions))
        return op


# ------------------------------------------------------------- def/use scopes
def _resolve(module: Module, parser: _Parser) -> None:
    """Classify header SSA names, link every use to its definition in scope.

    Within a block a value is visible after its definition; values of
    enclosing regions are visible in nested ones unless an op is isolated
    from above; in a region of several blocks (a CFG), any result of the
    region is accepted (dominance is not checked).

    Redefinitions follow MLIR's parser: a name may not be defined again while
    an earlier definition is in its name scope, that is one made before it in
    the same region (any block) or in an enclosing region, up to the top
    level. Isolated ops do not start a fresh name scope there (only ops that
    ask for name shadowing do, none of the printed dialects); names of two
    functions may repeat because a region's names are forgotten when it
    ends. Header-defined arguments belong to the op's first region.
    """
    unresolved = module.unresolved
    redefinitions = module.redefinitions
    text = module.text
    arg_type = parser.arg_type

    def define(value: Value, defined: dict[str, Value], added: list[str]) -> None:
        earlier = defined.get(value.name)
        if earlier is None:
            defined[value.name] = value
            added.append(value.name)
        else:
            redefinitions.append((value, earlier))

    def resolve_ops(
        ops: list[Op],
        scope: dict[str, list[Value]],
        lenient: list[dict[str, Value]],
        defined: dict[str, Value],
        added: list[str],
    ) -> list[str]:
        pushed: list[str] = []
        for op in ops:
            resolve_op(op, scope, lenient, defined)
            for value in op.results:
                scope.setdefault(value.name, []).append(value)
                pushed.append(value.name)
                define(value, defined, added)
        return pushed

    def lookup(name: str, scope: dict[str, list[Value]], lenient: list[dict[str, Value]]) -> Value | None:
        stack = scope.get(name)
        if stack:
            return stack[-1]
        for names in reversed(lenient):
            value = names.get(name)
            if value is not None:
                return value
        return None

    def resolve_op(
        op: Op, scope: dict[str, list[Value]], lenient: list[dict[str, Value]], defined: dict[str, Value]
    ) -> None:
        has_regions = bool(op.regions)
        # An entry block with a label (`{ ^bb0(%in: f32):`) lists the region's
        # arguments itself, so typed names in the header are operands.
        labelled = has_regions and bool(op.regions[0].blocks) and op.regions[0].blocks[0].label is not None
        # A function's signature names only its arguments, even a name that is in scope outside.
        signature = op.name in ISOLATED_OPS
        region_args: list[Value] = []
        operands: list[Use] = []
        for start, end, role, before_regions, token in op._header_values:
            name, _, index = text[start:end].partition("#")
            value = lookup(name, scope, lenient)
            # Named arguments of a declaration (`func.func private @f(%arg0: i32)`)
            # define values nobody can use; they count as region arguments too.
            defines = (
                (has_regions or op.isolated)
                and not op.generic
                and before_regions
                and not index
                and (role == _DEFINES or (role == _MAY_DEFINE and (value is None or signature) and not labelled))
            )
            if defines:
                arg = Value(name=name, start=start, end=end, kind="region_arg", _owner=link(op),
                            type=arg_type(op, token))
                region_args.append(arg)
                continue
            use = Use(name=name, index=int(index) if index else None, start=start, end=end, _user=link(op),
                      _value=link(value))
            operands.append(use)
            if value is None:
                unresolved.append(use)
            elif value.uses:
                value.uses.append(use)  # type: ignore[attr-defined]
            else:
                value.uses = [use]
        op._header_values = ()
        if region_args:
            op.region_args = region_args
        if operands:
            op.operands = operands
        if not has_regions:
            return
        if op.isolated:
            inner: dict[str, list[Value]] = {}
            inner_lenient: list[dict[str, Value]] = []
        else:
            inner, inner_lenient = scope, lenient
        for value in op.region_args:
            inner.setdefault(value.name, []).append(value)
        for n, region in enumerate(op.regions):
            added: list[str] = []
            if n == 0:
                for value in op.region_args:
                    define(value, defined, added)
            resolve_region(region, inner, inner_lenient, defined, added)
            for name in added:
                del defined[name]
        for value in op.region_args:
            inner[value.name].pop()

    def resolve_region(
        region: Region,
        scope: dict[str, list[Value]],
        lenient: list[dict[str, Value]],
        defined: dict[str, Value],
        added: list[str],
    ) -> None:
        blocks = region.blocks
        if len(blocks) > 1:
            names = {v.name: v for b in blocks for op in b.ops for v in op.results}
            lenient = lenient + [names]
        args = [a for b in blocks for a in b.args]
        for value in args:
            scope.setdefault(value.name, []).append(value)
        for block in blocks:
            for value in block.args:
                define(value, defined, added)
            for name in resolve_ops(block.ops, scope, lenient, defined, added):
                scope[name].pop()
        for value in args:
            scope[value.name].pop()

    scope: dict[str, list[Value]] = {}
    resolve_ops(module.body.ops, scope, [], {}, [])
    # The nested functions refer to each other: a reference cycle that would keep
    # the parser (and its token arrays) alive until the cycle collector came by.
    resolve_ops = resolve_op = resolve_region = None  # type: ignore[assignment]


def parse(text: str) -> Module:
    """Parse MLIR ``text`` (any dialect, custom or generic form) into a ``Module``."""
    # Building the tree allocates many objects that all stay alive; without
    # pausing the cyclic GC, its repeated scans make big files several times slower.
    paused = gc.isenabled()
    gc.disable()
    try:
        parser = _Parser(text)
        module = parser.parse_module()
        _resolve(module, parser)
    except RecursionError:
        raise MLIRParseError("regions are nested too deeply to parse", 1, 1) from None
    finally:
        if paused:
            # The tree has no reference cycles (links up it are weak): reference
            # counting frees it. Moved at once to the oldest generation, it is
            # not walked again by every young collection while it ages.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
    return module
