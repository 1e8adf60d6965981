"""Hypothesis strategies that write MLIR modules the way the printer lays them out.

``mlir_modules()`` draws a ``GeneratedModule``: its text and what a correct
parser must find in it (op names in pre-order, the op count as
``mlir-opt --mlir-print-op-generic`` would give, the SSA uses, the symbols).
The text mixes upstream ops with custom ops of made-up dialects
(``foo.bar %a, %b [%c] <x> : i32 -> i64``), generic-form ops, ops with
regions ended by ``} : type``, ``scf.for``/``scf.if`` with implicit
terminators, header-defined region arguments (``scf.for %i = ...``,
``iter_args(%acc = ...)``, ``foo.loop (%i) = ...``), blocks with arguments and
branches, result groups (``%p:2`` used as ``%p#1``), calls between functions,
attribute/type aliases, symbol references inside attribute bodies
(``#foo.ref<@nowhere>``), ``loc(...)`` and comments. Every use names a value
in scope and every name is fresh, so the generated module is SSA-sound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

__all__ = ["GeneratedModule", "mlir_modules", "mlir_texts"]

_DIALECTS = ("foo", "bar", "my_dialect", "x1")
_MNEMONICS = ("op", "bar", "compute", "mix_2", "get.value")


@dataclass
class GeneratedModule:
    text: str
    op_names: list[str] = field(default_factory=list)  # every op, pre-order
    implicit_terminators: int = 0
    wrapped_in_module: bool = False
    uses: int = 0  # SSA uses written in the text
    symbols: set[str] = field(default_factory=set)  # @names defined
    calls: int = 0  # symbol references written
    arg_types: dict[str, str | None] = field(default_factory=dict)  # block/region argument -> its type, if stated

    @property
    def op_count(self) -> int:
        """What ``count_ops`` must return."""
        return len(self.op_names) + self.implicit_terminators + (0 if self.wrapped_in_module else 1)


class _Writer:
    def __init__(self, draw, max_depth: int) -> None:
        self.draw = draw
        self.max_depth = max_depth
        self.lines: list[str] = []
        self.counter = 0
        self.gen = GeneratedModule(text="")
        self.functions: list[str] = []

    # ------------------------------------------------------------ utilities
    def fresh(self, stem: str = "v") -> str:
        self.counter += 1
        return f"%{stem}{self.counter}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("  " * depth + line)

    def use(self, scope: list[str]) -> str:
        self.gen.uses += 1
        return self.draw(st.sampled_from(scope))

    def uses(self, scope: list[str], lo: int, hi: int) -> list[str]:
        n = self.draw(st.integers(lo, hi))
        return [self.use(scope) for _ in range(n)]

    def op_name(self) -> str:
        return f"{self.draw(st.sampled_from(_DIALECTS))}.{self.draw(st.sampled_from(_MNEMONICS))}"

    def suffix(self) -> str:
        """An optional location and/or line comment after an op."""
        loc = self.draw(st.sampled_from(["", "", " loc(#loc1)", ' loc("input.c":3:7)', " loc(unknown)"]))
        comment = self.draw(st.sampled_from(["", "", "", "  // trailing note"]))
        return loc + comment

    def record(self, name: str) -> None:
        self.gen.op_names.append(name)

    # ------------------------------------------------------------- ops
    def block_body(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        """Ops of one block; returns the scope grown by the block's values."""
        scope = list(scope)
        for _ in range(self.draw(st.integers(0, 4))):
            if self.draw(st.integers(0, 5)) == 0:
                self.emit(depth, self.draw(st.sampled_from(["// a comment line", "// CHECK: foo.op", ""])))
            scope += self.op(depth, scope, nesting)
        return scope

    def op(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        kinds = ["constant", "custom", "generic", "group", "sink", "attrs"]
        if self.functions:
            kinds.append("call")
        if nesting < self.max_depth:
            kinds += ["region", "for", "for_iter", "if", "loop", "cfg", "generic_region"]
        kind = self.draw(st.sampled_from(kinds))
        return getattr(self, f"op_{kind}")(depth, scope, nesting)

    def op_constant(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        name = self.fresh("c")
        value = self.draw(st.sampled_from(["0", "42", "-1", "0x7FC00000", "1.500000e+00", "true"]))
        self.record("arith.constant")
        self.emit(depth, f"{name} = arith.constant {value} : i32{self.suffix()}")
        return [name]

    def op_custom(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        if not scope:
            return self.op_constant(depth, scope, nesting)
        name = self.fresh()
        op = self.op_name()
        operands = ", ".join(self.uses(scope, 1, 3))
        extra = self.draw(st.sampled_from(["", " [INDEX]", " <x>", " <{mode = #foo<lhs>}>", " : i32 -> i64"]))
        if extra == " [INDEX]":
            extra = f" [{self.use(scope)}]"
        tail = "" if extra.startswith(" :") else self.draw(st.sampled_from([" : i32", " : memref<?xi32, #map0> -> i64"]))
        self.record(op)
        self.emit(depth, f"{name} = {op} {operands}{extra}{tail}{self.suffix()}")
        return [name]

    def op_attrs(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        op = self.op_name()
        operands = ", ".join(self.uses(scope, 0, 2)) if scope else ""
        attrs = self.draw(
            st.sampled_from(
                [
                    '{key = "a } b", n = 3 : i64}',
                    "{flag}",
                    "{m = #map0, t = !t0, l = [1, 2]}",
                    "{nested = {a = 1}}",
                    '{r = #foo.ref<@nowhere, "@not_a_symbol">}',
                ]
            )
        )
        if "@" in attrs:
            self.gen.calls += 1
        self.record(op)
        self.emit(depth, f"{op} {operands} {attrs}{self.suffix()}".replace("  ", " "))
        return []

    def op_generic(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        operands = self.uses(scope, 0, 3) if scope else []
        has_result = self.draw(st.booleans())
        op = self.op_name()
        props = self.draw(st.sampled_from(["", " <{value = 0 : i32}>", " <{\n" + "  " * (depth + 1) + "a = 1 : i32,\n" + "  " * (depth + 1) + "b = \"s\"\n" + "  " * depth + "}>"]))
        attrs = self.draw(st.sampled_from(["", ' {attr = "x"}', " {callee = @nowhere}"]))
        if attrs == " {callee = @nowhere}":
            self.gen.calls += 1
        types = ", ".join("i32" for _ in operands)
        result = "i32" if has_result else "()"
        self.record(op)
        prefix = ""
        if has_result:
            prefix = f"{self.fresh('g')} = "
        self.emit(depth, f'{prefix}"{op}"({", ".join(operands)}){props}{attrs} : ({types}) -> {result}{self.suffix()}')
        return [prefix[:-3]] if has_result else []

    def op_group(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        name = self.fresh("p")
        operands = ", ".join(self.uses(scope, 0, 2)) if scope else ""
        self.record("foo.pair")
        self.emit(depth, f"{name}:2 = foo.pair {operands} : i32, i32{self.suffix()}".replace("pair  :", "pair :"))
        return [f"{name}#0", f"{name}#1"]

    def op_sink(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        operands = ", ".join(self.uses(scope, 1, 2)) if scope else ""
        op = self.draw(st.sampled_from(["foo.sink", "memref.dealloc", "bar.store"]))
        self.record(op)
        self.emit(depth, f"{op} {operands} : i32{self.suffix()}".replace("  :", " :"))
        return []

    def op_call(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        callee = self.draw(st.sampled_from(self.functions))
        args = [self.use(scope) for _ in range(2)] if scope else []
        if len(args) < 2:
            return self.op_constant(depth, scope, nesting)
        name = self.fresh("r")
        op = self.draw(st.sampled_from(["func.call", "call"]))
        self.record(op)
        self.gen.calls += 1
        self.emit(depth, f"{name} = {op} {callee}({', '.join(args)}) : (i32, i32) -> i32{self.suffix()}")
        return [name]

    def op_region(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        """A custom op whose region is followed by a type: ``} : i32``."""
        name = self.fresh("e")
        op = self.op_name()
        operands = " ".join(self.uses(scope, 0, 1)) if scope else ""
        self.record(op)
        self.emit(depth, f"{name} = {op} {operands} {{".replace("  {", " {"))
        inner = self.block_body(depth + 1, scope, nesting + 1)
        self.record("foo.yield")
        self.emit(depth + 1, f"foo.yield {self.use(inner)} : i32" if inner else "foo.yield")
        self.emit(depth, f"}} : i32{self.suffix()}")
        return [name]

    def op_for(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        if not scope:
            return self.op_constant(depth, scope, nesting)
        iv = self.fresh("i")
        self.gen.arg_types[iv] = "index"
        lb, ub, step = self.use(scope), self.use(scope), self.use(scope)
        self.record("scf.for")
        self.emit(depth, f"scf.for {iv} = {lb} to {ub} step {step} {{")
        self.block_body(depth + 1, scope + [iv], nesting + 1)
        self.gen.implicit_terminators += 1
        self.emit(depth, "}" + self.draw(st.sampled_from(["", " {tag = 1 : i64}"])))
        return []

    def op_for_iter(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        if not scope:
            return self.op_constant(depth, scope, nesting)
        name, iv, acc = self.fresh(), self.fresh("i"), self.fresh("acc")
        self.gen.arg_types.update({iv: "index", acc: "i32"})
        lb, ub, step, init = (self.use(scope) for _ in range(4))
        self.record("scf.for")
        self.emit(depth, f"{name} = scf.for {iv} = {lb} to {ub} step {step} iter_args({acc} = {init}) -> (i32) {{")
        inner = self.block_body(depth + 1, scope + [iv, acc], nesting + 1)
        self.record("scf.yield")
        self.emit(depth + 1, f"scf.yield {self.use(inner)} : i32")
        self.emit(depth, "}" + self.suffix())
        return [name]

    def op_if(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        if not scope:
            return self.op_constant(depth, scope, nesting)
        self.record("scf.if")
        self.emit(depth, f"scf.if {self.use(scope)} {{")
        self.block_body(depth + 1, scope, nesting + 1)
        self.gen.implicit_terminators += 1
        if self.draw(st.booleans()):
            self.emit(depth, "} else {")
            self.block_body(depth + 1, scope, nesting + 1)
            self.gen.implicit_terminators += 1
        self.emit(depth, "}")
        return []

    def op_loop(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        """Region arguments defined in parentheses: ``foo.loop (%i, %j) = (...) to (...)``."""
        if not scope:
            return self.op_constant(depth, scope, nesting)
        ivs = [self.fresh("i") for _ in range(self.draw(st.integers(1, 2)))]
        lbs = [self.use(scope) for _ in ivs]
        ubs = [self.use(scope) for _ in ivs]
        op = self.draw(st.sampled_from(["foo.loop", "omp.loop_nest"]))
        colon = " : index" if op == "omp.loop_nest" else ""
        self.gen.arg_types.update(dict.fromkeys(ivs, "index" if colon else None))
        self.record(op)
        self.emit(depth, f"{op} ({', '.join(ivs)}){colon} = ({', '.join(lbs)}) to ({', '.join(ubs)}) {{")
        self.block_body(depth + 1, scope + ivs, nesting + 1)
        self.record("foo.yield")
        self.emit(depth + 1, "foo.yield")
        self.emit(depth, "}")
        return []

    def op_cfg(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        """A region of several blocks with arguments and branches."""
        if not scope:
            return self.op_constant(depth, scope, nesting)
        self.record("foo.cfg")
        self.emit(depth, "foo.cfg {")
        entry = self.block_body(depth + 1, scope, nesting + 1)
        arg = self.fresh("b")
        self.gen.arg_types[arg] = "i32"
        self.record("cf.br")
        self.emit(depth + 1, f"cf.br ^bb1({self.use(entry)} : i32)")
        self.emit(depth, f"^bb1({arg}: i32):  // pred: ^bb0")
        later = self.block_body(depth + 1, entry + [arg], nesting + 1)
        self.record("cf.cond_br")
        self.emit(depth + 1, f"cf.cond_br {self.use(later)}, ^bb1({self.use(later)} : i32), ^bb2")
        self.emit(depth, "^bb2:")
        self.record("foo.ret")
        self.emit(depth + 1, "foo.ret")
        self.emit(depth, "}")
        return []

    def op_generic_region(self, depth: int, scope: list[str], nesting: int) -> list[str]:
        name = self.fresh("gr")
        operand = self.use(scope) if scope else None
        arg = self.fresh("z")
        self.gen.arg_types[arg] = "i32"
        self.record("foo.gen")
        self.emit(depth, f'{name} = "foo.gen"({operand or ""}) ({{')
        self.emit(depth, f"^bb0({arg}: i32):")
        inner = self.block_body(depth + 1, scope + [arg], nesting + 1)
        self.record("foo.yield")
        self.emit(depth + 1, f'"foo.yield"({self.use(inner + [arg])}) : (i32) -> ()')
        types = "i32" if operand else ""
        self.emit(depth, f'}}) {{k = "v"}} : ({types}) -> i32{self.suffix()}')
        return [name]

    # ----------------------------------------------------------- functions
    def function(self, depth: int, name: str) -> None:
        nargs = self.draw(st.integers(0, 3))
        args = [self.fresh("arg") for _ in range(nargs)]
        self.gen.arg_types.update(dict.fromkeys(args, "i32"))
        self.gen.symbols.add(name)
        self.record("func.func")
        signature = ", ".join(f"{a}: i32" for a in args)
        attrs = self.draw(st.sampled_from(["", " attributes {llvm.linkage = #llvm.linkage<external>}"]))
        self.emit(depth, f"func.func {name}({signature}) -> i32{attrs} {{")
        inner = self.block_body(depth + 1, args, 0)
        if not inner:
            inner = self.op_constant(depth + 1, inner, 0)
        self.record("func.return")
        self.emit(depth + 1, f"func.return {self.use(inner)} : i32")
        self.emit(depth, "}")

    def module(self) -> GeneratedModule:
        draw = self.draw
        if draw(st.booleans()):
            self.lines.append("// RUN: carts run %s --canonicalize-memrefs | FileCheck %s")
        self.lines.append("#map0 = affine_map<(d0)[s0] -> (d0 + s0)>")
        self.lines.append("!t0 = !foo.type<i32, \"q>\">")
        self.functions = [f"@f{n}" for n in range(draw(st.integers(1, 3)))]
        wrapped = draw(st.booleans())
        self.gen.wrapped_in_module = wrapped
        depth = 0
        if wrapped:
            self.record("module")
            self.lines.append(draw(st.sampled_from(["module {", "module @m attributes {foo.bar = 1 : i32} {"])))
            depth = 1
        if draw(st.booleans()):
            self.record("func.func")
            self.gen.symbols.add("@ext")
            self.emit(depth, "func.func private @ext(i32) -> i32")
        for name in self.functions:
            self.function(depth, name)
        if wrapped:
            self.lines.append("}")
        self.lines.append('#loc1 = loc("input.c":1:1)')
        self.gen.text = "\n".join(self.lines) + "\n"
        return self.gen


@st.composite
def mlir_modules(draw, max_depth: int = 3) -> GeneratedModule:
    """A generated MLIR module and what a parser must find in it."""
    return _Writer(draw, max_depth).module()


def mlir_texts(max_depth: int = 3) -> st.SearchStrategy[str]:
    """Just the text of ``mlir_modules()``."""
    return mlir_modules(max_depth).map(lambda generated: generated.text)
