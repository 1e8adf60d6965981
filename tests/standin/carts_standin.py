"""A STAND-IN for the `carts` driver, for tests only: real CARTS cannot be built here.

It behaves the way ../shared/CARTS.md describes the real driver:

- ``carts run FILE --STAGE [--debug-only=NAME] [-o OUT]`` parses the module and
  stops after STAGE. Unknown stages are refused. What real carts could not
  parse gives an MLIR diagnostic ``FILE:LINE:COL: error: ...`` and
  ``[ERROR] [carts-run] Could not parse input file``, exit 1: whatever breaks
  MLIR's token grammar or the shape of an operation (unknown dialects and
  upstream ops, bad op names, stray tokens, unbalanced brackets, a bad
  location), what MLIR's verifier refuses in the memref ops the crash is made
  of (sizes, indices, types, terminators), a use of an undefined SSA value or
  block, a call of a function that does not exist, and anything upstream
  ``mlir-opt`` rejects when it can read the module.
- On ``canonicalize-memrefs`` and every later stage it crashes like an LLVM
  assertion build (banner, stack dump through
  ``CanonicalizeMemrefsPass::runOnOperation``, SIGABRT) when the module heap
  allocates a memref nested 3 or more levels deep and uses it: the seed's
  N-D bug. Otherwise it prints the module on stdout and exits 0.
- ``carts cgeist FILE.c ...`` is the stand-in front end (cgeist_standin.py).
- ``carts execute FILE.c [-O3]`` builds the program as ARTS would and runs
  it, with one documented miscompile (execute_standin.py).
- The pipeline's stages, the newer driver's ``carts pipeline --json`` and
  ``carts compile FILE --pipeline=STAGE [--start-from=STAGE] [-o OUT]
  [--arts-debug=CH]`` / ``--all-pipelines -o DIR``, and a second bug in the
  later stage ``concurrency`` are in pipeline_standin.py, with a third one:
  ``openmp-to-arts`` refuses tasks with dependencies (``[ERROR]`` lines, exit 1).

Knobs (environment) that tests use to model other CARTS builds:
``CARTS_STANDIN_BUG``: ``crash`` (default), ``leave`` (exit 0 but leave the
nested allocations in the output: seed step 2's silent wrong result),
``fixed`` (no bug, in any stage), ``other`` (crashes elsewhere: a different
signature). ``CARTS_STANDIN_DRIVER``: ``new`` (default), ``old`` (only
``carts run``), ``malformed-manifest`` (see pipeline_standin.py).
``CARTS_STANDIN_FLAKY_BELOW=N``: modules of fewer than N lines crash on every
other run of the same text only (the 1st, 3rd, ...), runs counted in the
folder ``CARTS_STANDIN_FLAKY_RUNS``: flaky, and yet the same whenever the tests
run, with no chance involved. ``CARTS_STANDIN_LOG=FILE``: append one line per
invocation.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import pipeline_standin  # noqa: E402
from pipeline_standin import STAGES  # noqa: E402

MLIR_OPT = os.environ.get("CARTS_STANDIN_MLIR_OPT", "/usr/lib/llvm-22/bin/mlir-opt")
VERSIONS = {
    "old": "carts stand-in 0.1 (tests/standin; not the real CARTS)",
    "new": "carts stand-in 0.2 (tests/standin; not the real CARTS)",
    "malformed-manifest": "carts stand-in 0.2-broken-manifest (tests/standin; not the real CARTS)",
}

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_VALUE = re.compile(r"%[\w$.-]+")
_ISOLATED = re.compile(r"^\s*(?:\"?(?:func\.func|llvm\.func|builtin\.module|module|gpu\.module)\b)")
_OUT_OF_TREE = re.compile(r"\b(?:arts|arts_rt|arts_sde|sde|polygeist|dlti)\.")
# A heap allocation exactly as the printer writes it; the crash needs a real one, of a
# plain memref type (see ``plain_memref``).
_NESTED_ALLOC = re.compile(
    r"^\s*(%[\w$.-]+)\s*=\s*memref\.alloc\((?:%[\w$.-]+(?:,\s*%[\w$.-]+)*)?\)(?:\s*\{[^{}]*\})?"
    r"\s*:\s*(memref<\S*>)(?:\s+loc\(.*\))?\s*$"
)
_PLAIN_LEVEL = re.compile(r"memref<(?:(?:\?|\d+)x)*(.*)>")
_PLAIN_ELEMENT = re.compile(r"f16|f32|f64|i\d+|index")


class ParseError(Exception):
    def __init__(self, line: int, col: int, message: str):
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


def check_module(text: str) -> None:
    """The stand-in's own parser: syntax and verifier (``check_syntax``), then SSA values, blocks, callees.

    Scoping is by braces: values defined in a region are visible until it
    closes, and a function body sees nothing of the code around it. What an
    op's header defines for its region (induction variables, iteration
    arguments) is visible in that region only.
    """
    check_syntax(text)
    numbers, lines = logical_lines(text)
    symbols = set(re.findall(r"(?:func\.func|llvm\.func)\s+(?:\w+\s+)*@([\w$.-]+|\"[^\"]*\")", text))
    symbols |= set(re.findall(r"sym_name\s*=\s*\"([^\"]*)\"", text))
    depth = 0
    # Each scope: [depth it belongs to, names, whether enclosing scopes are hidden].
    scopes: list[list] = [[0, set(), True]]
    labels: set[str] = set()
    for index, raw in enumerate(lines):
        number = numbers[index]
        code = _STRING.sub('""', raw)
        code = code.split("//", 1)[0]
        isolated = bool(_ISOLATED.match(code)) and code.rstrip().endswith("{")
        if isolated:
            labels = set(re.findall(r"^\s*(\^[\w$.-]+)", text_of_region(lines, index), re.M))
        is_label = code.lstrip().startswith("^")
        for ref in re.findall(r"\^[\w$.-]+", code):
            if not (is_label and code.lstrip().startswith(ref)) and ref not in labels:
                raise ParseError(number, raw.find(ref) + 1, f"reference to an undefined block '{ref}'")
        results, defs, uses = split_defs_uses(code, header=is_label or bool(_ISOLATED.match(code)))
        visible: set[str] = set()
        for _, names, hides in reversed(scopes):
            visible |= names
            if hides:
                break
        for use in uses:
            if use not in visible and use not in defs:
                raise ParseError(number, raw.find(use) + 1, f"use of undeclared SSA value name '{use}'")
        opens_region = code.rstrip().endswith("{")
        region_opener = code.rstrip().rfind("{") + 1 if opens_region else 0
        for_region = defs if isolated else defs - results if opens_region else set()
        if not isolated:
            scopes[-1][1] |= defs - for_region
        for callee in re.findall(r"\bcall\"?\s*\(?\s*(?:<\{callee\s*=\s*)?@([\w$.-]+|\"[^\"]*\")", code):
            if callee not in symbols:
                raise ParseError(number, raw.find("@" + callee) + 1,
                                 f"'func.call' op '{callee}' does not reference a valid function")
        for column, char in enumerate(code, 1):
            if char == "{":
                depth += 1
                # A function body sees its arguments and nothing of the code around it.
                opens_body = column == region_opener
                scopes.append([depth, for_region if opens_body else set(), opens_body and isolated])
            elif char == "}":
                depth -= 1
                if depth < 0:
                    raise ParseError(number, column, "unexpected '}'")
                while len(scopes) > 1 and scopes[-1][0] > depth:
                    scopes.pop()
    if depth != 0:
        raise ParseError(len(lines), 1, "expected '}' before end of file")


# --- Syntax: MLIR's token grammar (LangRef) and the shape of an operation --------------------
#
# What real carts's parser would refuse, read the way MLIR reads it: tokens first
# (bare-id, %value, ^block, @symbol, #attribute, !type, literals, punctuation), then
# operations: `%results = dialect.op ...` in custom form or `"dialect.op"(...) ... : type`
# in generic form, regions in braces, blocks after `^label:`. Where the stand-in does not
# know a custom op's syntax (CARTS's own dialects), its operands are only checked for
# balanced brackets and typed values; what comes after its type list (`: types`) or after
# its regions must be one of the few things MLIR allows there. The upstream ops CARTS's
# output is mostly made of have their assembly format checked (``_SHAPES``). The stand-in
# reads printed MLIR: one operation per line, a region's closing brace first on its line.

# Dialects real carts registers: upstream ones and CARTS's own.
DIALECTS = frozenset(
    "acc affine amdgpu amx arith arm_neon arm_sme arm_sve async bufferization builtin cf complex dlti emitc "
    "func gpu index irdl linalg llvm math memref ml_program mpi nvgpu nvvm omp pdl pdl_interp ptr quant rocdl "
    "scf shape shard smt sparse_tensor spirv tensor tosa transform ub vector wasmssa x86vector xegpu xevm "
    "arts arts_rt arts_sde sde polygeist".split()
)
# The ops of the upstream dialects CARTS's output uses (MLIR 22, plus older names seen in
# CARTS's own output); an op of another registered dialect only needs a well-formed name.
_OPS = {
    "affine": "apply delinearize_index dma_start dma_wait for if linearize_index load max min parallel "
              "prefetch store vector_load vector_store yield",
    "arith": "addf addi addui_extended andi bitcast ceildivsi ceildivui cmpf cmpi constant divf divsi divui "
             "extf extsi extui floordivsi fptosi fptoui index_cast index_castui maxf maximumf maxnumf maxsi "
             "maxui minf minimumf minnumf minsi minui mulf muli mulsi_extended mului_extended negf ori remf "
             "remsi remui scaling_extf scaling_truncf select shli shrsi shrui sitofp subf subi truncf trunci "
             "uitofp xori",
    "builtin": "module unrealized_conversion_cast",
    "bufferization": "alloc_tensor clone dealloc dealloc_tensor materialize_in_destination to_buffer "
                     "to_memref to_tensor",
    "cf": "assert br cond_br switch",
    "func": "call call_indirect constant func return",
    "llvm": "add addrspacecast alloca and ashr atomicrmw bitcast blockaddress blocktag br call "
            "call_intrinsic cmpxchg comdat comdat_selector cond_br dso_local_equivalent extractelement "
            "extractvalue fadd fcmp fdiv fence fmul fneg fpext fptosi fptoui fptrunc freeze frem fsub func "
            "getelementptr icmp indirectbr inline_asm insertelement insertvalue inttoptr invoke landingpad "
            "linker_options load lshr mlir.addressof mlir.alias mlir.constant mlir.global mlir.global_ctors "
            "mlir.global_dtors mlir.ifunc mlir.none mlir.null mlir.poison mlir.undef mlir.zero module_flags "
            "mul or ptrtoint resume return sdiv select sext shl shufflevector sitofp srem store sub switch "
            "trunc udiv uitofp unreachable urem va_arg xor zext",
    "math": "absf absi acos acosh asin asinh atan atan2 atanh cbrt ceil clampf copysign cos cosh ctlz ctpop "
            "cttz erf erfc exp exp2 expm1 floor fma fpowi ipowi isfinite isinf isnan isnormal log log10 "
            "log1p log2 powf round roundeven rsqrt sin sincos sinh sqrt tan tanh trunc",
    "memref": "alloc alloca alloca_scope alloca_scope.return assume_alignment atomic_rmw atomic_yield cast "
              "collapse_shape copy dealloc dim distinct_objects dma_start dma_wait expand_shape "
              "extract_aligned_pointer_as_index extract_strided_metadata generic_atomic_rmw get_global "
              "global load memory_space_cast prefetch rank realloc reinterpret_cast reshape store subview "
              "transpose view",
    "omp": "allocate_dir atomic.capture atomic.read atomic.update atomic.write barrier cancel "
           "cancellation_point canonical_loop critical critical.declare declare_mapper declare_mapper.info "
           "declare_reduction distribute flush loop loop_nest map.bounds map.info masked master new_cli "
           "ordered ordered.region parallel private reduction reduction.declare scan section sections simd "
           "single target target_allocmem target_data target_enter_data target_exit_data target_freemem "
           "target_update task taskgroup taskloop taskwait taskyield teams terminator threadprivate tile "
           "unroll_heuristic workdistribute workshare workshare.loop_wrapper wsloop yield",
    "scf": "condition execute_region for forall forall.in_parallel if index_switch parallel reduce "
           "reduce.return while yield",
    "tensor": "bitcast cast collapse_shape concat dim empty expand_shape extract extract_slice from_elements "
              "gather generate insert insert_slice pad parallel_insert_slice rank reshape scatter splat yield",
    "ub": "poison unreachable",
}
OPS = {dialect: frozenset(names.split()) for dialect, names in _OPS.items()}
# The dialect an op's regions resolve prefix-less op names in (`return` in a func.func body).
_DEFAULT_DIALECT = {"func.func": "func", "builtin.module": "builtin", "gpu.module": "gpu", "gpu.func": "gpu"}
# Ops whose custom syntax always has a region: without one, MLIR says "expected '{' to begin a region".
_REGION_OPS = frozenset(
    "builtin.module scf.if scf.for scf.while scf.execute_region scf.parallel scf.forall scf.index_switch "
    "affine.for affine.if affine.parallel memref.alloca_scope memref.generic_atomic_rmw "
    "omp.parallel omp.wsloop omp.loop_nest omp.simd omp.task omp.taskgroup omp.taskloop omp.single "
    "omp.master omp.masked omp.critical omp.sections omp.section omp.teams omp.distribute omp.target "
    "omp.target_data omp.workshare".split()
)
# Ops that name a symbol right after their keywords: `func.func private @f(`.
_FUNCTION_OPS = frozenset({"func.func", "llvm.func", "gpu.func"})
# Assembly formats of the upstream ops CARTS's output is made of, as (form, pattern over the
# op's shape). The shape sums up the tokens after the op name: `%` a value, `N` a number,
# `S` a string, `@` a symbol, `T` a type, `(` `[` `<` a bracketed group, `D` an attribute
# dictionary, `R` a region, words and punctuation as they are; locations left out.
_LOAD = ("%memref[indices] : type", r"% \[ (?:D )?: T")
# (One CARTS lit input stores a parenthesized `(arith.constant 1 : i32)`: tolerated.)
_STORE = ("%value, %memref[indices] : type", r"[%(] , % \[ (?:D )?: T")
_ALLOC = ("(%sizes)[%symbols] {attributes} : type", r"\( (?:\[ )?(?:D )?: T")
_YIELD = ("(%values : types)?", r"(?:% (?:, % )*(?:D )?: T(?: , T)*)?")
_CAST = ("%value : type to type", r"% (?:D )?: T to T")
_BINARY = ("%lhs, %rhs : type", r"% , % (?:\w+ < )?(?:D )?: T")
_UNARY = ("%operand : type", r"% (?:\w+ < )?(?:D )?: T")
_SHAPES_BY_FORM = {
    _LOAD: "memref.load affine.load",
    _STORE: "memref.store affine.store",
    _ALLOC: "memref.alloc memref.alloca",
    _YIELD: "scf.yield affine.yield func.return",
    _CAST: "arith.index_cast arith.index_castui arith.extsi arith.extui arith.trunci arith.sitofp arith.uitofp "
           "arith.fptosi arith.fptoui arith.extf arith.truncf arith.bitcast",
    _BINARY: "arith.addi arith.subi arith.muli arith.divsi arith.divui arith.ceildivsi arith.ceildivui "
             "arith.floordivsi arith.remsi arith.remui arith.andi arith.ori arith.xori arith.shli arith.shrsi "
             "arith.shrui arith.maxsi arith.maxui arith.minsi arith.minui arith.addf arith.subf arith.mulf "
             "arith.divf arith.remf arith.maximumf arith.minimumf arith.maxnumf arith.minnumf arith.maxf arith.minf "
             "math.powf math.atan2 math.copysign",
    _UNARY: "arith.negf math.absf math.absi math.ceil math.cos math.erf math.exp math.exp2 math.expm1 math.floor "
            "math.log math.log10 math.log1p math.log2 math.round math.rsqrt math.sin math.sqrt math.tan math.tanh "
            "math.trunc",
    ("%memref : type", r"% (?:D )?: T"): "memref.dealloc",
    ("predicate, %lhs, %rhs : type", r"\w+ , % , % (?:D )?: T"): "arith.cmpi arith.cmpf",
    ("%condition, %true, %false : type", r"% , % , % (?:D )?: T(?: , T)?"): "arith.select",
    ("value : type", r"(?:D )?(?:true|false|(?:- )?N (?:D )?: T|\w+ < (?:D )?: T)"): "arith.constant",
    ("@callee(%args) : (types) -> types", r"@ \( (?:D )?: T -> T"): "func.call",
    ("%condition (-> (types))? {...} (else {...})?", r"% (?:-> T )?R(?: else R)?(?: D)?"): "scf.if",
    ("(-> types)? {...}", r"(?:-> T (?:, T )*)?(?:no_inline )?R(?: D)?"): "scf.execute_region",
    ("%iv = %lb to %ub step %step (iter_args(...) -> (types))? {...}",
     r"(?:unsigned )?% = % to % step %(?: iter_args \( -> T)?(?: : T)? R(?: D)?"): "scf.for",
    ("%iv = lower to upper (step n)? {...}", r"% = .+ to .+ R(?: D)?"): "affine.for",
    ("@name(arguments) (-> types)? (attributes {...})? {...}?", r"(?:-> T ?)?(?:D ?)?R?"): "func.func",
}
_SHAPES = {op: (f"{op.split('.', 1)[1]} {form}", re.compile(pattern))
           for (form, pattern), ops in _SHAPES_BY_FORM.items() for op in ops.split()}
# Ops whose blocks need a terminator that the printer never leaves out, and those terminators.
_TERMINATED = frozenset({"func.func", "llvm.func", "scf.execute_region"})
# Ops whose regions end in a return or yield of the op's results (or the function's result types).
_YIELDING = frozenset(
    "func.func llvm.func scf.for scf.if scf.execute_region scf.index_switch "
    "affine.for affine.if affine.parallel".split()
)
_RETURNS = frozenset({"func.return", "llvm.return", "scf.yield", "affine.yield"})
_TERMINATORS = frozenset(
    "func.return cf.br cf.cond_br cf.switch scf.yield llvm.return llvm.br llvm.cond_br llvm.switch "
    "llvm.unreachable llvm.resume llvm.indirectbr llvm.invoke".split()
)
_SHAPE_OF = {"value": "%", "number": "N", "string": "S", "symbol": "@", "hash": "#", "caret": "^", "bang": "!"}
_MEMREF_OPS = frozenset({"memref.alloc", "memref.alloca", "memref.load", "memref.store", "affine.load", "affine.store"})
# How the types of other common ops relate their operands and result.
_TYPED = {
    **{op: "cast" for op in _SHAPES_BY_FORM[_CAST].split()},
    **{op: "same" for op in f"{_SHAPES_BY_FORM[_BINARY]} {_SHAPES_BY_FORM[_UNARY]} arith.cmpi arith.cmpf".split()},
    "arith.select": "select", "arith.constant": "result", "memref.dealloc": "operand",
}
_ITER_ARG = r"%[\w$.\-]+\s*=\s*%[\w$.\-]+(?:#\d+)?"
_ITER_ARGS = re.compile(rf"\(\s*{_ITER_ARG}(?:\s*,\s*{_ITER_ARG})*\s*\)")
_OPERAND_LIST = re.compile(r"\(\s*(?:%[\w$.\-]+(?:#\d+)?(?:\s*,\s*%[\w$.\-]+(?:#\d+)?)*)?\s*\)")
_INDEX_TOKEN = re.compile(r"%[\w$.\-]+(?:#\d+)?|\d+|[A-Za-z_][\w$.]*|\S")
_AFFINE_WORDS = frozenset({"+", "-", "*", "(", ")", ",", "floordiv", "ceildiv", "mod", "symbol"})


_SCALAR_TYPE = r"[su]?i\d+|bf16|tf32|f(?:16|32|64|80|128)|f\d+E\d+M\d+\w*|index|none"
_BUILTIN_TYPE = re.compile(rf"{_SCALAR_TYPE}|(?P<shaped>memref|tensor|vector|complex|tuple)")
# The start of a shaped type's body: dimensions, then the element type.
_DIMENSIONS = re.compile(r"\*x|(?:(?:\?|\d+)x)*")
_ELEMENT_TYPE = re.compile(
    rf"(?:{_SCALAR_TYPE})\b|(?P<shaped>memref|vector|tensor|complex)<|(?P<bang>![\w$.\-]+)(?P<body><)?"
)
_OP_ID = re.compile(r"[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)*")
_SUFFIX_ID = r"(?:\d+|[A-Za-z_$.\-][\w$.\-]*)"
_STRING_LITERAL = r'"(?:[^"\\\n]|\\.)*"'
# One LangRef token per match, horizontal space skipped; a newline is a token of its own
# because the printed layout (one op per line) matters to the stand-in's other checks.
_TOKEN = re.compile(
    rf"""[ \t\r\f\v]*(?:
        (?P<newline>(?://[^\n]*)?\n)
       |(?P<metadata>\{{-\#.*?\#-\}})
       |(?P<string>{_STRING_LITERAL})
       |(?P<value>%{_SUFFIX_ID}(?:\#\d+|:\d+)?)
       |(?P<caret>\^{_SUFFIX_ID})
       |(?P<symbol>@(?:{_SUFFIX_ID}|{_STRING_LITERAL}))
       |(?P<hash>\#{_SUFFIX_ID})
       |(?P<bang>!{_SUFFIX_ID})
       |(?P<ident>[A-Za-z_][\w$.]*)
       |(?P<number>0x[0-9A-Fa-f]+|\d+(?:\.\d*(?:[eE][-+]?\d+)?)?)
       |(?P<punct>->|::|\.\.\.|[()\[\]{{}}<>,:=?*+\-|])
       |(?P<comment>//[^\n]*$)
       |(?P<bad>.)
       |(?P<end>$)
    )""",
    re.VERBOSE | re.DOTALL,
)
_BAD_TOKEN = {
    '"': "expected '\"' in string literal",
    "%": "invalid SSA name",
    "^": "invalid block name",
    "#": "invalid attribute name",
    "!": "invalid type identifier",
    "@": "@ identifier expected to start with letter or '_'",
}
_CLOSER = {"(": ")", "[": "]", "<": ">"}
_ALIAS_DEFINITION = re.compile(r"^([#!][\w$.\-]+)[ \t]*=", re.MULTILINE)


def check_syntax(text: str) -> None:
    """Raise ParseError where MLIR's parser would stop on ``text``."""
    ModuleReader(text).module()


def tokenize(text: str) -> tuple[list[str], list[str], list[int], list[bool]]:
    """LangRef tokens of ``text`` as parallel lists: kinds, texts, start offsets, newline-before.

    Whatever is no token (``%`` alone, ``;``, an unterminated string) is a parse
    error, as it is for MLIR's lexer. A final ``eof`` token ends the lists.
    """
    kinds: list[str] = []
    texts: list[str] = []
    starts: list[int] = []
    newline: list[bool] = []
    fresh = True
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "newline":
            fresh = True
            continue
        if kind in ("metadata", "comment"):
            continue
        start = match.start(kind)
        if kind == "bad":
            char = match.group(kind)
            raise _error_at(text, start, _BAD_TOKEN.get(char, "unexpected character"))
        kinds.append(kind)
        texts.append(match.group(kind))
        starts.append(start)
        newline.append(fresh)
        fresh = False
        if kind == "end":
            break
    # The end of the file, as a token the reader can look two tokens past.
    kinds[-1:] = ["eof"] * 3
    texts[-1:] = [""] * 3
    starts[-1:] = [len(text)] * 3
    newline[-1:] = [True] * 3
    return kinds, texts, starts, newline


def _error_at(text: str, offset: int, message: str) -> ParseError:
    line = text.count("\n", 0, offset) + 1
    return ParseError(line, offset - (text.rfind("\n", 0, offset) + 1) + 1, message)


def shaped_body_ok(body: str) -> bool:
    """``body`` (inside ``memref<...>``) is dimensions ``4x?x``, one element type, then layout or memory space.

    Nested shaped types are checked the same way: every level of
    ``memref<?xmemref<?xf32>>`` needs its dimensions and its element type.
    """
    match = _ELEMENT_TYPE.match(body, _DIMENSIONS.match(body).end())
    if match is None:
        return False
    end = match.end()
    if match.group("shaped") or match.group("body"):
        close = _closing_angle(body, end)
        if close < 0 or (match.group("shaped") and not shaped_body_ok(body[end:close])):
            return False
        end = close + 1
    rest = body[end:].lstrip()
    return not rest or rest.startswith(",")


def _closing_angle(text: str, start: int) -> int:
    """Index of the ``>`` closing a ``<`` just before ``start`` (``->`` does not count), or -1."""
    depth = 1
    for index in range(start, len(text)):
        char = text[index]
        if char == "<":
            depth += 1
        elif char == ">" and text[index - 1] != "-":
            depth -= 1
            if depth == 0:
                return index
    return -1


def op_name_problem(name: str, default_dialect: str, generic: bool = False) -> str | None:
    """Why real carts would not know the op ``name``, if it would not.

    An op name is `dialect.op-id`; the dialect must be registered and, for the
    upstream dialects listed in ``OPS``, define the op. A name without a dot is
    looked up in the default dialect of the enclosing op (`return` in a
    func.func body), as MLIR does.
    """
    if "." not in name:
        if default_dialect and name in OPS.get(default_dialect, ()):
            return None
        tried = f"{default_dialect}.{name}" if default_dialect else f".{name}"
        return f"custom op '{name}' is unknown (tried '{tried}' as well)"
    dialect, _, op = name.partition(".")
    if dialect not in DIALECTS:
        if generic:
            return ("operation being parsed with an unregistered dialect. If this is intended, please use "
                    "-allow-unregistered-dialect with the MLIR tool used")
        return f"Dialect `{dialect}' not found for custom op '{name}' "
    known = OPS.get(dialect)
    if known is not None and op not in known and not (dialect == "llvm" and op.startswith("intr.")):
        if generic and dialect != "llvm":  # the LLVM dialect allows unknown ops in generic form
            return (f"unregistered operation '{name}' found in dialect ('{dialect}') that does not allow "
                    "unknown operations")
        if not generic:
            return f"custom op '{name}' is unknown"
    if not _OP_ID.fullmatch(op):
        return f"custom op '{name}' is unknown"
    return None


class ModuleReader:
    """Reads a module the way MLIR's parser does, raising ParseError at the first problem.

    One method per piece of the grammar (LangRef: operation, region, block,
    dictionary, type, location); each consumes its tokens and leaves ``self.i``
    on the first token after them.
    """

    def __init__(self, text: str):
        self.text = text
        self.kinds, self.texts, self.starts, self.newline = tokenize(text)
        self.i = 0
        self.aliases = {name[1:] for name in _ALIAS_DEFINITION.findall(text)}
        self.types: dict[str, str] = {}  # SSA value -> its type, where the stand-in knows it
        self.operand_count = 0  # of the last custom op
        self.last_values = 0  # of the last return or yield in the current block

    # -- helpers ----------------------------------------------------------------------------
    def error(self, message: str, index: int | None = None) -> ParseError:
        """A parse error at token ``index`` (default: the current one), for the caller to raise."""
        return _error_at(self.text, self.starts[self.i if index is None else index], message)

    def attached(self, index: int) -> bool:
        """Token ``index`` follows the one before it with no space in between."""
        return index > 0 and self.starts[index] == self.starts[index - 1] + len(self.texts[index - 1])

    def punct(self, index: int, text: str) -> bool:
        """Token ``index`` is the punctuation ``text``."""
        return self.texts[index] == text and self.kinds[index] == "punct"

    # -- module, blocks, statements -----------------------------------------------------------
    def module(self) -> None:
        """The top level: operations and alias definitions up to the end of the file."""
        self.block(top=True, default_dialect="builtin")
        check_names(self)

    def block(self, top: bool, default_dialect: str, parent: str = "", values: int = 0) -> None:
        """Statements up to the ``}`` closing the region (left for the caller) or the end of the file.

        In the body of a function or of scf.execute_region, every block ends
        with a terminator (MLIR: "block with no terminator"). A return or
        yield gives back as many ``values`` as the function or op promises.
        """
        kinds, texts = self.kinds, self.texts
        last = start = ""
        while True:
            kind, text = kinds[self.i], texts[self.i]
            if kind == "eof" and not top:
                raise self.error("expected '}' before end of file")
            # A block ends at the `}` or the next label (the first label may open the region).
            block_ends = (kind == "eof" or (text == "}" and kind == "punct") or kind == "caret") and \
                (last or start or kind != "caret")
            if block_ends and parent in _TERMINATED and last not in _TERMINATORS:
                raise self.error(f"block with no terminator in '{parent}'" if last
                                 else f"'{parent}' needs a non-empty body")
            if block_ends and parent in _YIELDING:
                given = self.last_values if last in _RETURNS else None if last in _TERMINATORS else 0
                if given is not None and given != values:
                    raise self.error(f"'{last or 'implicit yield'}' gives {given} values, "
                                     f"but '{parent}' expects {values}")
            if kind == "eof" or (text == "}" and kind == "punct" and not top):
                return
            if not self.newline[self.i]:
                raise self.error("expected a newline before an operation (printed MLIR: one per line)")
            if kind == "caret" and not top:
                start = self.block_label()
                last = ""
            elif top and kind in ("hash", "bang") and self.punct(self.i + 1, "="):
                self.alias_definition()
            else:
                last = self.operation(default_dialect)
                if last in _RETURNS:
                    self.last_values = self.operand_count

    def block_label(self) -> str:
        """``^name`` with optional ``(%arg: type, ...)``, then ``:``; returns the name."""
        name = self.texts[self.i]
        self.i += 1
        if self.punct(self.i, "("):
            self.arguments()
        if not self.punct(self.i, ":"):
            raise self.error("expected ':' after block name")
        self.i += 1
        if not self.newline[self.i] and self.kinds[self.i] != "eof":
            raise self.error("expected a newline after a block label")
        return name

    def alias_definition(self) -> None:
        """``#name = attribute`` or ``!name = type``, alone on its line (brackets may span lines)."""
        attribute = self.kinds[self.i] == "hash"
        self.i += 2
        if self.newline[self.i] or self.kinds[self.i] == "eof":
            raise self.error(f"expected {'attribute value' if attribute else 'type'}")
        if attribute:
            self.attribute_value()
        else:
            self.type()
        if not self.newline[self.i] and self.kinds[self.i] != "eof":
            raise self.error("expected a newline after an alias definition")

    def attribute_value(self) -> None:
        """One attribute: a literal, ``[...]``, ``{...}``, ``dense<...>``, ``#dialect.x<...>``, ``@a::@b``,
        ``loc(...)``, then an optional ``: type``."""
        if self.punct(self.i, "-"):
            self.i += 1
        kind, text = self.kinds[self.i], self.texts[self.i]
        if kind == "eof" or (kind == "punct" and text not in "([{<"):
            raise self.error("expected attribute value")
        self.value_token()
        if kind in ("ident", "hash", "bang") and self.punct(self.i, "<") and self.attached(self.i):
            self.group()
        while self.punct(self.i, "::") and self.kinds[self.i + 1] == "symbol":
            self.i += 2
        if self.punct(self.i, "->"):  # a function type as an attribute
            self.i += 1
            self.type()
        if self.punct(self.i, ":"):
            self.i += 1
            self.type()

    def operation(self, default_dialect: str) -> str:
        """``(%r (, %r)* =)? op``: results, then the op in custom or generic form; returns its name."""
        results: list[str] = []
        if self.kinds[self.i] == "value":
            results = self.result_list()
            if self.newline[self.i]:
                raise self.error("expected operation name on the line of its results")
        kind, name = self.kinds[self.i], self.texts[self.i]
        if kind == "string":
            self.generic_op(name[1:-1])
            for result in results:
                self.types.pop(result.split(":")[0], None)
            return name[1:-1]
        if kind == "ident":
            return self.custom_op(name, default_dialect, results)
        raise self.error("expected operation name in quotes")

    def result_list(self) -> list[str]:
        """``%a, %b:2 =``: SSA names separated by commas, then ``=``; returns the names."""
        names = []
        while True:
            if self.kinds[self.i] != "value" or "#" in self.texts[self.i]:
                raise self.error("expected valid ssa identifier")
            names.append(self.texts[self.i])
            self.i += 1
            if not self.punct(self.i, ","):
                break
            self.i += 1
        if not self.punct(self.i, "="):
            raise self.error("expected '=' after SSA name")
        self.i += 1
        return names

    # -- operations -----------------------------------------------------------------------------
    def custom_op(self, name: str, default_dialect: str, results: list[str]) -> str:
        """``dialect.op operands... (: types)? regions... loc(...)?`` up to the end of its line.

        The op goes on past a line break only where the line leaves it unfinished
        or the next line cannot start an operation (see ``continues``). Its
        top-level tokens, summed up as a shape (see ``_SHAPES``), must fit the
        op's assembly format where the stand-in knows it.
        """
        problem = op_name_problem(name, default_dialect)
        if problem:
            raise self.error(problem)
        full = name if "." in name else f"{default_dialect}.{name}"
        inner_dialect = _DEFAULT_DIALECT.get(full, "")
        first = self.i
        self.i += 1
        keywords: list[str] = []
        if full in _FUNCTION_OPS:
            self.types.clear()  # SSA names do not reach across functions
            keywords = self.function_header(full)
        elif full == "builtin.module":
            self.module_header()
        kinds, texts = self.kinds, self.texts
        shape: list[str] = []  # one symbol per top-level element of the op ...
        spans: list[tuple[int, int]] = []  # ... and its tokens
        state = "operands"  # or "types" (a type is due), "after-type", "after-region"
        while True:
            i = self.i
            kind, text = kinds[i], texts[i]
            if kind == "eof" or (self.newline[i] and state != "types" and not self.continues(i)):
                break
            symbol = text
            if state == "types":
                if kind == "punct" and text == "[":  # cf.switch: `: i32, [ cases ]`
                    self.group()
                    state = "operands"
                else:
                    self.type()
                    symbol, state = "T", "after-type"
            elif kind == "punct" and text == "{":
                region = self.brace(inner_dialect, full, self.promised(full, results, shape, spans))
                symbol = "R" if region else "D"
                if region or state != "operands":
                    state = "after-region"
            elif kind == "punct" and text == "}":
                raise self.error("unexpected '}' in the middle of an operation")
            elif kind == "punct" and (text in (":", "->") or (text == "," and state == "after-type")):
                self.i += 1
                state = "types"
            elif kind == "punct" and text == "=" and state != "after-region":
                self.i += 1
                state = "operands"  # an initial value or loop bounds follow
            elif kind == "ident" and text == "loc":
                self.location()
                continue
            elif kind == "ident" and text == "attributes":
                self.i += 1
                self.dictionary()
                symbol = "D"
            elif kind == "ident" and text in ("to", "into") and state == "after-type":
                self.i += 1
                state = "types"
            elif state != "operands":
                # `} else {`, `} do {`, `case 1 {`, `init {`: a keyword before a region;
                # `kind(<add>)`: a keyword with its argument after the types.
                if kind != "ident":
                    raise self.error("expected operation name in quotes")
                if self.punct(i + 1, "(") and self.attached(i + 1):
                    state = "operands"
                elif not (self.punct(i + 1, "{") or (kinds[i + 1] == "number" and self.punct(i + 2, "{"))):
                    raise self.error(f"custom op '{text}' is unknown")
                self.i += 1
            else:
                if kind == "number" and (kinds[i - 1] == "value" or texts[i - 1] in (")", "]")):
                    raise self.error(f"unexpected integer literal '{text}' after an operand")
                symbol = _SHAPE_OF.get(kind) or text
                self.value_token()
            shape.append(symbol)
            spans.append((i, self.i))
        self.check_shape(full, name, shape, first)
        if full == "func.func" and "R" not in shape and "private" not in keywords:
            raise self.error("'func.func' op symbol declaration cannot have public visibility", first)
        if full in _TYPED or full in _VERIFIED:
            parts = [self.source(start, end) for start, end in spans]
            problem = verify(full, shape, parts)
            if problem:
                raise self.error(f"'{full}' op {problem}", first)
            self.check_types(full, shape, parts, results, first)
        else:
            for result in results:
                self.types.pop(result.split(":")[0], None)
        # What a return or yield gives back: its operands before the `:` of their types.
        self.operand_count = shape[:shape.index(":")].count("%") if ":" in shape else shape.count("%")
        return full

    def typed(self, value: str, type_text: str, index: int) -> None:
        """``value : type`` in a group: an argument (declared) or a use that must agree with the definition."""
        known = self.types.get(value)
        if known and _same_type(known, type_text) is False:
            raise self.error(f"use of value '{value}' expects different type than prior uses: "
                             f"'{type_text}' vs '{known}'", index)
        self.types[value] = type_text

    def check_types(self, op: str, shape: list[str], parts: list[str], results: list[str], first: int) -> None:
        """Each value keeps the type it was defined with, as MLIR's parser demands of every use.

        Types are known for the results of the ops in ``_VERIFIED``; other
        values are not checked.
        """
        result_type, uses = typed_values(op, shape, parts)
        for value, expected in uses:
            known = self.types.get(value.split("#")[0])
            if known and expected and _same_type(known, expected) is False:
                raise self.error(f"use of value '{value}' expects different type than prior uses: "
                                 f"'{expected}' vs '{known}'", first)
        for result in results:
            self.types.pop(result.split(":")[0], None)
        if result_type and len(results) == 1:
            self.types[results[0].split(":")[0]] = result_type

    def promised(self, op: str, results: list[str], shape: list[str], spans: list[tuple[int, int]]) -> int:
        """How many values the regions of ``op`` give back: its results, or a function's result types."""
        if op in _FUNCTION_OPS:
            if "->" not in shape or shape.index("->") + 1 >= len(shape):
                return 0
            first, end = spans[shape.index("->") + 1]
            result = self.source(first, end)
            return _count_list(result[1:-1]) if result.startswith("(") else 1
        return sum(int(name.split(":")[1]) if ":" in name else 1 for name in results)

    def check_shape(self, full: str, name: str, shape: list[str], first: int) -> None:
        """The op's shape fits its assembly format (``_SHAPES``); a region op has its region."""
        if full in _REGION_OPS and "R" not in shape:
            raise self.error(f"custom op '{name}' expected '{{' to begin a region", self.i - 1)
        known = _SHAPES.get(full)
        if known and not known[1].fullmatch(" ".join(shape)):
            raise self.error(f"custom op '{name}' does not match its form: {known[0]}", first)

    def source(self, first: int, end: int) -> str:
        """The text of tokens ``first`` up to (not including) ``end``."""
        last = end - 1
        return self.text[self.starts[first]:self.starts[last] + len(self.texts[last])]

    def continues(self, index: int) -> bool:
        """The op goes on after a line break before token ``index``.

        Yes when the line ended mid-way (``,``, ``:``, ``->``, ``=``), or the next
        line starts with what cannot start an operation: punctuation that
        continues one, a `case: ^bb` of cf.switch, or a keyword with its
        argument attached (``ins(``, ``block_shape[``, ``default:``).
        """
        kinds, texts = self.kinds, self.texts
        if kinds[index - 1] == "punct" and texts[index - 1] in (",", ":", "->", "="):
            return True
        kind, text = kinds[index], texts[index]
        if kind == "punct":
            if text in (":", "->", "(", "["):
                return True
            return text == "{" and self.is_dictionary(index)
        if kind == "number":
            return self.punct(index + 1, ":")
        if kind == "ident" and "." not in text:
            return text == "attributes" or (self.attached(index + 1) and texts[index + 1] in ("(", "[", "<", ":"))
        return False

    def function_header(self, name: str) -> list[str]:
        """``func.func`` and friends: keywords (visibility, linkage), ``@symbol``, ``(arguments)``.

        Returns the keywords.
        """
        keywords = []
        while self.kinds[self.i] == "ident" and not self.newline[self.i]:
            keywords.append(self.texts[self.i])
            self.i += 1
        if self.kinds[self.i] != "symbol" or self.newline[self.i]:
            raise self.error(f"custom op '{name}' expected valid '@'-identifier for symbol name")
        self.i += 1
        if not self.punct(self.i, "("):
            raise self.error("expected '('")
        self.arguments()
        return keywords

    def arguments(self) -> None:
        """``(%a: type {attributes}? loc(...)?, ...)`` of a function or block, or ``(type, ...)`` of a
        declaration: the arguments are new values, whatever their names meant before."""
        self.i += 1
        while not self.punct(self.i, ")"):
            if self.kinds[self.i] == "value":
                value = self.texts[self.i]
                self.i += 1
                if not self.punct(self.i, ":"):
                    raise self.error("expected ':'")
                self.i += 1
                first = self.i
                self.type()
                self.types[value] = self.source(first, self.i)
            elif self.punct(self.i, "..."):  # variadic llvm.func
                self.i += 1
            else:
                self.type()
            if self.punct(self.i, "{"):
                self.dictionary()
            if self.texts[self.i] == "loc":
                self.location()
            if not self.punct(self.i, ","):
                break
            self.i += 1
        if not self.punct(self.i, ")"):
            raise self.error("expected ')'")
        self.i += 1

    def module_header(self) -> None:
        """``module @name? (attributes {...})? {``."""
        if self.kinds[self.i] == "symbol":
            self.i += 1
        if self.texts[self.i] == "attributes":
            self.i += 1
            self.dictionary()
        if not self.punct(self.i, "{") or self.newline[self.i]:
            raise self.error("expected '{' to begin a region")

    def generic_op(self, name: str) -> None:
        """``"dialect.op"(operands) [successors]? <{properties}>? (regions)? {attributes}? : (types) -> types``."""
        problem = op_name_problem(name, "", generic=True)
        if problem:
            raise self.error(problem)
        self.i += 1
        if not self.punct(self.i, "("):
            raise self.error("expected '(' to start operand list")
        self.group()
        if self.punct(self.i, "["):
            self.group()
        if self.punct(self.i, "<"):
            self.group()
        if self.punct(self.i, "("):
            self.group()
        if self.punct(self.i, "{"):
            self.dictionary()
        if not self.punct(self.i, ":"):
            raise self.error("expected ':' followed by operation type")
        self.i += 1
        if not self.punct(self.i, "("):
            raise self.error("expected non-function type")
        self.type()
        if not self.punct(self.i, "->"):
            raise self.error("expected '->' in function type")
        self.i += 1
        self.type()
        if self.texts[self.i] == "loc":
            self.location()
        if not self.newline[self.i] and self.kinds[self.i] != "eof":
            if self.kinds[self.i] == "ident":
                raise self.error(f"custom op '{self.texts[self.i]}' is unknown")
            raise self.error("expected operation name in quotes")

    # -- regions, dictionaries, bracketed groups ----------------------------------------------
    def brace(self, default_dialect: str, parent: str = "", values: int = 0) -> int:
        """A ``{`` inside an op: an attribute dictionary, or a region (returns 1 for a region).

        A dictionary starts on the line of its ``{`` with ``name =``, or with
        ``name,``/``name}`` (unit attributes); a region's ``{`` ends its line.
        ``{}`` is an empty region or dictionary alike.
        """
        if self.punct(self.i + 1, "}"):
            if parent in _TERMINATED:
                raise self.error(f"'{parent}' needs a non-empty body")
            self.i += 2
            return 1
        if self.punct(self.i + 1, "{") and self.attached(self.i + 1):  # `{{ region }}` (arts.for)
            self.i += 1
            regions = self.brace(default_dialect, parent, values)
            if not (self.punct(self.i, "}") and self.attached(self.i)):
                raise self.error("expected '}' closing '{{'")
            self.i += 1
            return regions
        if self.is_dictionary(self.i):
            self.dictionary()
            return 0
        self.region(default_dialect, parent, values)
        return 1

    def is_dictionary(self, index: int) -> bool:
        """The ``{`` at ``index`` opens an attribute dictionary (see ``brace``)."""
        kinds, texts = self.kinds, self.texts
        if kinds[index + 1] not in ("ident", "string") or self.newline[index + 1]:
            return False
        after = texts[index + 2]
        return after == "=" or (after in (",", "}") and not self.newline[index + 2])

    def region(self, default_dialect: str, parent: str, values: int = 0) -> None:
        """``{`` newline, blocks of operations, ``}`` first on its line.

        What is defined inside is not visible after it: the types learnt there are dropped.
        """
        self.i += 1
        if not self.newline[self.i]:
            raise self.error("expected a newline after '{' opening a region")
        outside = dict(self.types)
        self.block(top=False, default_dialect=default_dialect, parent=parent, values=values)
        self.types = outside
        self.i += 1

    def dictionary(self) -> None:
        """``{name (= value)?, ...}``: names are bare identifiers or strings."""
        if not self.punct(self.i, "{"):
            raise self.error("expected '{' in attribute dictionary")
        self.i += 1
        kinds = self.kinds
        if self.punct(self.i, "}"):
            self.i += 1
            return
        while True:
            if kinds[self.i] not in ("ident", "string"):
                raise self.error("expected attribute name")
            self.i += 1
            if self.punct(self.i, "="):
                self.i += 1
                self.attribute_value()
            if self.punct(self.i, "}"):
                self.i += 1
                return
            if not self.punct(self.i, ","):
                raise self.error("expected '}' in attribute dictionary")
            self.i += 1

    def group(self) -> None:
        """A bracketed group ``( )``, ``[ ]`` or ``< >``, balanced, spanning lines if need be.

        Inside, ``>`` closes only a ``<``; elsewhere it must be the ``>=`` of an
        affine constraint. A ``{`` inside is a dictionary or a region (generic form).
        In ``( )`` and ``[ ]`` a ``:`` is followed by a type (``%arg: i32``,
        ``1 : i64``) or, in a cf.switch case list, by a block; the inside of
        ``< >`` is the business of the type or attribute it belongs to.
        """
        kinds, texts = self.kinds, self.texts
        opener = texts[self.i]
        start = self.i
        if opener == "<":
            self.check_angle()
        close = _CLOSER[opener]
        self.i += 1
        while True:
            kind, text = kinds[self.i], texts[self.i]
            if kind == "eof":
                raise self.error(f"expected '{close}' to close '{opener}'", start)
            if kind == "punct":
                if text == close:
                    self.i += 1
                    break
                if text in ")]}":
                    raise self.error(f"unexpected '{text}' inside '{opener}'")
                if text == ">" and not self.punct(self.i + 1, "="):
                    raise self.error("unexpected '>'")
                if text == ":" and opener != "<" and kinds[self.i + 1] != "caret":
                    value = texts[self.i - 1] if kinds[self.i - 1] == "value" else ""
                    self.i += 1
                    first = self.i
                    self.type()
                    # `%a: i32, %b: i32` types each value; in `(%a, %b : t1, t2)` the types are a list.
                    after = self.i + (texts[self.i] == ",")
                    if value and (kinds[after] == "value" or texts[after] in (")", "]", "{", "loc")):
                        self.typed(value, self.source(first, self.i), first)
                    continue
            self.value_token()
        if opener == "<" and texts[start - 1] in ("memref", "tensor", "vector") and self.attached(start):
            body = self.text[self.starts[start] + 1:self.starts[self.i - 1]]
            if not shaped_body_ok(body):
                raise self.error(f"invalid {texts[start - 1]} type", start - 1)

    def check_angle(self) -> None:
        """``<`` opens a type or attribute body: never empty without a keyword, never ``<<``."""
        i = self.i
        keyword = self.attached(i) and self.kinds[i - 1] in ("ident", "hash", "bang")
        if self.kinds[i - 1] == "value" and self.attached(i):
            raise self.error("unexpected '<' after an SSA value")
        if (self.punct(i + 1, ">") and not keyword) or (self.punct(i + 1, "<") and self.attached(i + 1)):
            raise self.error("expected a type or attribute inside '<>'")

    def value_token(self) -> None:
        """One token of an operand list or attribute value; a group, region or location as a whole."""
        kind, text = self.kinds[self.i], self.texts[self.i]
        if kind == "eof":
            raise self.error("unexpected end of file")
        if kind == "punct":
            if text in _CLOSER:
                self.group()
                return
            if text == "{":
                self.brace("")
                return
            if text in ")]}>":
                raise self.error(f"unexpected '{text}'")
        elif kind == "ident" and text == "loc":
            self.location()
            return
        elif kind == "value" and self.punct(self.i + 1, "="):
            self.types.pop(text, None)  # an induction variable or loop-carried value: a new value
        self.i += 1

    # -- types and locations ------------------------------------------------------------------
    def type(self) -> None:
        """One type: ``(type, ...)``, ``!dialect.type<...>``, ``!alias`` or a builtin type."""
        kind, text = self.kinds[self.i], self.texts[self.i]
        if self.punct(self.i, "("):
            self.i += 1
            while not self.punct(self.i, ")"):
                self.type()
                if self.punct(self.i, "{"):  # result attributes: `-> (i32 {llvm.signext})`
                    self.dictionary()
                if not self.punct(self.i, ","):
                    break
                self.i += 1
                if self.punct(self.i, ")"):
                    raise self.error("expected non-function type")
            if not self.punct(self.i, ")"):
                raise self.error("expected ')'")
            self.i += 1
            return
        if kind == "bang":
            self.i += 1
            if self.punct(self.i, "<") and self.attached(self.i):
                self.group()
            return
        builtin = _BUILTIN_TYPE.fullmatch(text) if kind == "ident" else None
        if builtin is None:
            raise self.error("expected non-function type")
        self.i += 1
        if builtin.group("shaped"):
            if not (self.punct(self.i, "<") and self.attached(self.i)):
                raise self.error(f"expected '<' in {text} type")
            self.group()

    def location(self) -> None:
        """``loc(#alias | unknown | "file":line:col | "name"(loc) | callsite(...) | fused[...])``."""
        self.i += 1
        if not self.punct(self.i, "("):
            raise self.error("expected '(' in location")
        kind, text = self.kinds[self.i + 1], self.texts[self.i + 1]
        if kind == "hash":
            if text[1:] not in self.aliases:
                raise self.error("operation location alias was never defined", self.i + 1)
        elif kind != "string" and text not in ("unknown", "callsite", "fused"):
            raise self.error("expected location instance", self.i + 1)
        depth = 0
        while True:  # the rest, balanced: `"file":line:col` and nested locations are free-form here
            text = self.texts[self.i]
            if self.kinds[self.i] == "eof":
                raise self.error("expected ')' in location")
            if self.kinds[self.i] == "punct":
                depth += (text in "([") - (text in ")]")
            self.i += 1
            if depth == 0:
                return


def check_names(reader: ModuleReader) -> None:
    """Aliases must be defined, dialect attributes and types must come from registered dialects.

    ``#name``/``!name`` without a dot and without a ``<...>`` body is an alias:
    MLIR refuses an undefined one. ``#dialect.x``/``!dialect.x`` needs the
    dialect.
    """
    kinds, texts = reader.kinds, reader.texts
    for index, kind in enumerate(kinds):
        if kind != "hash" and kind != "bang":
            continue
        name = texts[index][1:]
        if "." in name:
            dialect = name.split(".", 1)[0]
            if dialect not in DIALECTS:
                raise reader.error(f"dialect '{dialect}' is not registered", index)
        elif name not in reader.aliases and not (reader.punct(index + 1, "<") and reader.attached(index + 1)):
            raise reader.error(f"undefined symbol alias id '{name}'", index)


# --- Verifier: what MLIR checks after parsing, for the ops the crash is made of ---------------


def verify(op: str, shape: list[str], parts: list[str]) -> str | None:
    """What MLIR's verifier says of ``op`` (one of ``_VERIFIED``), if anything.

    ``parts`` are the texts of the op's top-level elements, ``shape`` their
    symbols (see ``_SHAPES``).
    """
    for check in _VERIFIED.get(op, ()):
        problem = check(shape, parts)
        if problem:
            return problem
    return None


def call_arguments_problem(shape: list[str], parts: list[str]) -> str | None:
    """func.call: a list of SSA values, as many as its function type has inputs."""
    if "(" not in shape or "T" not in shape:
        return None
    arguments = parts[shape.index("(")]
    if not _OPERAND_LIST.fullmatch(arguments):
        return "expected SSA operands separated by ',' in the argument list"
    operands = len(_VALUE.findall(arguments))
    types = _count_list(parts[shape.index("T")][1:-1])
    if operands != types:
        return f"number of operands and types do not match: got {operands} operands and {types} types"
    return None


def iter_args_problem(shape: list[str], parts: list[str]) -> str | None:
    """scf.for / affine.for: ``iter_args(%arg = %init, ...)`` binds each argument to an SSA value."""
    if "iter_args" in shape and not _ITER_ARGS.fullmatch((parts + [""])[shape.index("iter_args") + 1]):
        return "expected `(%arg = %init, ...)` after iter_args"
    return None


def dynamic_sizes_problem(shape: list[str], parts: list[str]) -> str | None:
    """memref.alloc/alloca: one size operand per ``?`` of the memref type (the crash's own op)."""
    dims = _memref_dims(parts[shape.index("T")]) if "T" in shape and "(" in shape else None
    if dims is None:
        return None
    sizes = len(_VALUE.findall(parts[shape.index("(")]))
    if sizes != dims.count("?"):
        return f"incorrect number of dynamic sizes, has {sizes}, expected {dims.count('?')}"
    return None


def memref_indices_problem(shape: list[str], parts: list[str]) -> str | None:
    """memref.load/store: one SSA index per dimension."""
    return _indices_problem(shape, parts, affine=False)


def affine_indices_problem(shape: list[str], parts: list[str]) -> str | None:
    """affine.load/store: one affine expression (of SSA values and integers) per dimension."""
    return _indices_problem(shape, parts, affine=True)


def _indices_problem(shape: list[str], parts: list[str], affine: bool) -> str | None:
    dims = _memref_dims(parts[shape.index("T")]) if "T" in shape and "[" in shape else None
    if dims is None:
        return None
    index_list = parts[shape.index("[")][1:-1]
    indices = _count_list(index_list)
    if indices != len(dims):
        return f"incorrect number of indices, expected {len(dims)} but got {indices}"
    for token in _INDEX_TOKEN.findall(index_list):
        if token.startswith("%") or token == ",":
            continue
        if not affine or not (token.isdigit() or token in _AFFINE_WORDS):
            return f"expected {'affine expression' if affine else 'SSA operand'}, found '{token}' in the indices"
    return None


# The verifier checks the stand-in runs, per op.
_VERIFIED = {
    "memref.alloc": (dynamic_sizes_problem,), "memref.alloca": (dynamic_sizes_problem,),
    "memref.load": (memref_indices_problem,), "memref.store": (memref_indices_problem,),
    "affine.load": (affine_indices_problem,), "affine.store": (affine_indices_problem,),
    "func.call": (call_arguments_problem,), "scf.for": (iter_args_problem,), "affine.for": (iter_args_problem,),
}
def typed_values(op: str, shape: list[str], parts: list[str]) -> tuple[str | None, list[tuple[str, str | None]]]:
    """The type of the result of ``op`` and the types its operands must have (ops in ``_TYPED``, ``_VERIFIED``)."""
    types = [part for symbol, part in zip(shape, parts) if symbol == "T"]
    values = _VALUE.findall(" ".join(parts[:shape.index(":")] if ":" in shape else parts))
    if not types:
        return ("i1" if op == "arith.constant" and parts and parts[-1] in ("true", "false") else None), []
    kind = _TYPED.get(op)
    if kind == "cast":
        return types[-1], [(value, types[0]) for value in values[:1]]
    if kind == "same":  # binary arithmetic and comparisons: all operands of one type
        return (None if op.startswith("arith.cmp") else types[0]), [(value, types[0]) for value in values]
    if kind == "select":
        operand_type = types[-1]
        condition = [(values[0], types[0])] if len(types) == 2 and values else []
        return operand_type, condition + [(value, operand_type) for value in values[1:]]
    if kind == "result":
        return types[0], []
    if kind == "operand":
        return None, [(value, types[0]) for value in values[:1]]
    if op == "func.call" and len(types) == 2:  # `(%args) : (types) -> result`
        inputs = _split_list(types[0][1:-1])
        result = types[1] if not types[1].startswith("(") else None
        return result, list(zip(values, inputs)) if len(inputs) == len(values) else []
    if op not in _MEMREF_OPS or shape[0] != ("(" if op.endswith(("alloc", "alloca")) else "%"):
        return None, []
    memref_type = types[0]
    element = _element_type(memref_type)
    if op in ("memref.alloc", "memref.alloca"):
        return memref_type, [(value, "index") for value in values]
    if op in ("memref.load", "affine.load"):
        return element, [(values[0], memref_type)] + [(value, "index") for value in values[1:]]
    # a store: the value, then the memref and its indices
    return None, [(values[0], element), (values[1], memref_type)] + [(value, "index") for value in values[2:]]


def _element_type(memref_type: str) -> str | None:
    """``f32`` of ``memref<4x?xf32, 1>``."""
    body = memref_type[len("memref<"):-1]
    match = _ELEMENT_TYPE.match(body, _DIMENSIONS.match(body).end())
    if match is None:
        return None
    end = match.end()
    if match.group("shaped") or match.group("body"):
        end = _closing_angle(body, end) + 1
    return body[match.start():end]


def _same_type(first: str, second: str) -> bool | None:
    """Whether two printed types are the same type; None when an alias hides one of them."""
    if "!" in first + second and re.search(r"![\w$\-]+(?![\w$.\-])", first + " " + second):
        return None
    return re.sub(r"\s+", "", first) == re.sub(r"\s+", "", second)


def _memref_dims(type_text: str) -> list[str] | None:
    """The dimensions of a ranked ``memref<4x?x...>``, or None for another type."""
    if not type_text.startswith("memref<") or type_text.startswith("memref<*"):
        return None
    dims = _DIMENSIONS.match(type_text, len("memref<")).group()
    return dims.split("x")[:-1]


def _count_list(text: str) -> int:
    """Items of a comma-separated list, commas inside brackets not counting."""
    return len(_split_list(text))


def _split_list(text: str) -> list[str]:
    """The items of a comma-separated list, commas inside brackets not splitting."""
    if not text.strip():
        return []
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([<{":
            depth += 1
        elif char in ")]>}" and text[index - 1] != "-":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:index].strip())
            start = index + 1
    items.append(text[start:].strip())
    return items


def logical_lines(text: str) -> tuple[list[int], list[str]]:
    """Lines, with a line that leaves a parenthesis open joined to the next."""
    numbers, lines, pending, depth = [], [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            numbers.append(number)
        pending = f"{pending} {raw}" if pending else raw
        code = _STRING.sub('""', raw).split("//", 1)[0]
        depth += code.count("(") - code.count(")")
        if depth <= 0:
            lines.append(pending)
            pending, depth = "", 0
    if pending:
        lines.append(pending)
    return numbers, lines


def text_of_region(lines: list[str], start: int) -> str:
    """The lines from ``start`` to the brace that closes the region opened there."""
    depth, out = 0, []
    for raw in lines[start:]:
        out.append(raw)
        code = _STRING.sub('""', raw)
        depth += code.count("{") - code.count("}")
        if depth <= 0:
            break
    return "\n".join(out)


def split_defs_uses(code: str, header: bool) -> tuple[set[str], set[str], list[str]]:
    """SSA names a line defines as results, all it defines (with arguments, induction variables), and uses."""
    results: set[str] = set()
    head = re.match(r"^\s*((?:%[\w$.-]+(?::\d+)?\s*,\s*)*%[\w$.-]+(?::\d+)?)\s*=", code)
    if head:
        results = set(_VALUE.findall(head.group(1)))
        code = code[head.end():]
    defs = set(results)
    if header:  # function signature or block label: `(%a: type, ...)`
        defs |= set(re.findall(r"(%[\w$.-]+)\s*:", code))
    # Induction variables and loop-carried values: `%i = lb to ub`, `iter_args(%a = %x)`,
    # `(%i, %j) = (...)`, `for (%i) : index = ...`, `(%i) in (...)`.
    defs |= set(re.findall(r"(%[\w$.-]+)\s*=", code))
    defs |= set(re.findall(r"\bfor\s+(%[\w$.-]+)", code))
    defs |= set(re.findall(r"->\s*(%[\w$.-]+)", code))  # omp reduction/private block args
    for group in re.findall(r"\(((?:\s*%[\w$.-]+\s*,?)+)\)\s*(?:=|in\b|:\s*\w+\s*=)", code):
        defs |= set(_VALUE.findall(group))
    uses = [v for v in _VALUE.findall(code) if v not in defs]
    return results, defs, uses


def upstream_verdict(path: str, text: str) -> str | None:
    """mlir-opt's diagnostics when it can read the module and rejects it, else None.

    Only modules of upstream dialects are shown to it: the custom syntax of
    CARTS's own dialects is beyond it.
    """
    if not os.path.exists(MLIR_OPT) or _OUT_OF_TREE.search(text):
        return None
    try:
        proc = subprocess.run(
            [MLIR_OPT, "--allow-unregistered-dialect",
             path, "-o", "/dev/null"],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stderr if proc.returncode else None


def nested_allocs(text: str) -> list[tuple[str, int]]:
    """Heap allocations of memrefs nested 3+ levels deep that are used: (name, depth).

    A use counts where the allocation is in scope: after it, before its
    region closes, and before the name is defined again.
    """
    found = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _NESTED_ALLOC.match(line)
        if not match or not plain_memref(match.group(2)):
            continue
        name = match.group(1)
        depth = line.split(":")[-1].count("memref<")
        if depth >= 3 and _used_in_scope(name, lines[index + 1:]):
            found.append((name, depth))
    return found


def plain_memref(type_text: str) -> bool:
    """``memref<?xmemref<4xf32>>``: memrefs of memrefs down to a scalar, no layout, at most 7 levels."""
    for _ in range(7):
        level = _PLAIN_LEVEL.fullmatch(type_text)
        if level is None:
            return False
        type_text = level.group(1)
        if _PLAIN_ELEMENT.fullmatch(type_text):
            return True
    return False


def _used_in_scope(name: str, following: list[str]) -> bool:
    nesting = 0
    redefined = re.compile(r"^\s*(?:%[\w$.:-]+\s*,\s*)*" + re.escape(name) + r"(?::\d+)?\s*[,=]")
    for line in following:
        code = _STRING.sub('""', line)
        if _is_operand_use(name, line):
            return True
        if redefined.match(code):
            return False
        nesting += code.count("{") - code.count("}")
        if nesting < 0:
            return False
    return False


def _is_operand_use(name: str, line: str) -> bool:
    """``name`` is an operand of the op on ``line`` (not its result, not in a location)."""
    code = re.sub(r"\bloc\(.*?\)", "", _STRING.sub('""', line))
    head = re.match(r"^\s*(?:%[\w$.:-]+\s*(?:,\s*%[\w$.:-]+\s*)*=\s*)?(?:[A-Za-z_][\w$]*(?:\.[\w$]+)*|\"[^\"]*\")\s", code)
    if not head:
        return False
    operands = code[head.end():].split(" : ", 1)[0]
    return re.search(re.escape(name) + r"(?![\w$.-])", operands) is not None


#: What each crash looks like: (frames from the failing pass up, assertion or None, source file:line).
CRASHES = {
    "crash": (
        ["mlir::arts::(anonymous namespace)::CanonicalizeMemrefsPass::runOnOperation()"],
        "rank <= 2 && \"nested memrefs of more than 2 levels are not supported\"",
        "CanonicalizeMemrefs.cpp:412",
    ),
    "other": (
        ["mlir::arts::(anonymous namespace)::CollectMetadataPass::runOnOperation()"],
        "op->getNumRegions() == 1 && \"expected single region\"",
        "CollectMetadata.cpp:88",
    ),
    # A release build: no assertion, a null EDT parent dereferenced.
    "concurrency": (
        ["mlir::arts::EdtOp::getParentEpoch()",
         "mlir::arts::(anonymous namespace)::ConcurrencyPass::hoistIntoEpoch(mlir::arts::ForOp)",
         "mlir::arts::(anonymous namespace)::ConcurrencyPass::runOnOperation()"],
        None,
        "Concurrency.cpp:231",
    ),
}


def crash(argv: list[str], flavour: str) -> None:
    import signal

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    own, assertion, where = CRASHES[flavour]
    file, line = where.split(":")
    err = sys.stderr
    if assertion:
        err.write(f"{Path(argv[0]).name}: /opt/carts/lib/arts/Transforms/{file}:{line}: void {own[-1]}: "
                  f"Assertion `{assertion}' failed.\n")
    err.write("PLEASE submit a bug report to https://github.com/llvm/llvm-project/issues/ and include the crash backtrace.\n")
    err.write("Stack dump:\n")
    err.write(f"0.\tProgram arguments: {' '.join(argv)}\n")
    machinery = ["llvm::sys::PrintStackTrace(llvm::raw_ostream&, int)", "llvm::sys::RunSignalHandlers()",
                 "SignalHandler(int)", None]
    if assertion:
        machinery += ["__pthread_kill_implementation", "raise", "abort", "__assert_fail"]
    frames = machinery + own + [
        "mlir::detail::OpToOpPassAdaptor::run(mlir::Pass*, mlir::Operation*, mlir::AnalysisManager, bool, unsigned int)",
        "mlir::detail::OpToOpPassAdaptor::runPipeline(mlir::OpPassManager&, mlir::Operation*, mlir::AnalysisManager, bool, unsigned int, mlir::PassInstrumentor*, mlir::PassInstrumentation::PipelineParentInfo const*)",
        "mlir::PassManager::run(mlir::Operation*)",
        "main",
    ]
    binary = argv[0]
    for index, name in enumerate(frames):
        address = f"0x{0x55d1c2f00000 + index * 0x1a3f:016x}"
        if name is None:
            err.write(f" #{index} {address} (/lib/x86_64-linux-gnu/libc.so.6+0x3c050)\n")
        else:
            err.write(f" #{index} {address} {name} ({binary}+0x{index * 0x1a3f:x})\n")
    err.flush()
    if assertion:
        os.abort()
    signal.signal(signal.SIGSEGV, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGSEGV)


def run(args: list[str]) -> int:
    stages = [a[2:] for a in args if a.startswith("--") and a[2:] in STAGES]
    unknown = [a for a in args if a.startswith("--") and a[2:] not in STAGES
               and not a.startswith("--debug-only")]
    output = None
    if "-o" in args:
        at = args.index("-o")
        output = args[at + 1] if at + 1 < len(args) else None
        args = args[:at] + args[at + 2:]
    files = [a for a in args if not a.startswith("-")]
    if unknown:
        print(f"carts-run: Unknown command line argument '{unknown[0]}'.  Try: 'carts-run --help'", file=sys.stderr)
        return 1
    if len(files) != 1:
        print("carts-run: Not enough positional command line arguments specified!", file=sys.stderr)
        return 1
    path, stage = files[0], (stages[0] if stages else "complete")
    debug = [c for a in args if a.startswith("--debug-only") for c in a.partition("=")[2].split(",")] or (
        ["*"] if "--debug-only" in args else [])
    text = Path(path).read_text(errors="replace")
    code, result = run_stages(path, text, STAGES[0], stage, debug, ["/opt/carts/bin/carts-run", path, f"--{stage}"])
    if code == 0:
        if output:
            Path(output).write_text(result)
        else:
            sys.stdout.write(result)
    return code


def run_stages(path: str, text: str, start: str, stop: str, debug: list[str], argv: list[str]) -> tuple[int, str]:
    """Parse the module, run the stages from ``start`` to ``stop``: (exit status, module after them)."""
    try:
        check_module(text)
        upstream = upstream_verdict(path, text)
        if upstream:
            sys.stderr.write(upstream)
            raise ParseError(0, 0, "")
    except ParseError as error:
        if error.message:
            print(f"{path}:{error.line}:{error.col}: error: {error.message}", file=sys.stderr)
        print(f"[ERROR] [{Path(argv[0]).name}] Could not parse input file", file=sys.stderr)
        return 1, ""
    bug = os.environ.get("CARTS_STANDIN_BUG", "crash")
    sequence = pipeline_standin.SEQUENCE
    last = len(sequence) - 1 if stop == "complete" else sequence.index(stop)
    for stage in sequence[sequence.index(start): last + 1]:
        if stage == "canonicalize-memrefs":
            found = nested_allocs(text)
            if debug:
                for name, depth in found:
                    print(f"[canonicalize-memrefs] nested allocation {name}: {depth} levels", file=sys.stderr)
            if found and bug in ("crash", "other"):
                flaky_below = int(os.environ.get("CARTS_STANDIN_FLAKY_BELOW", "0"))
                if not (len(text.splitlines()) < flaky_below and run_number(text) % 2 == 0):
                    crash(argv, bug)
        elif stage == "openmp-to-arts":
            found = pipeline_standin.tasks_with_dependencies(text)
            if debug and ("openmp-to-arts" in debug or "*" in debug):
                for line in found:
                    print(f"[openmp-to-arts] omp.task at line {line} has dependencies", file=sys.stderr)
            if found and bug != "fixed":
                pipeline_standin.refuse_task_dependencies(text, argv)
                return 1, ""
            text = pipeline_standin.openmp_to_arts(text)
        elif stage == "concurrency":
            found = pipeline_standin.loops_around_parallel_loops(text)
            if debug and ("concurrency" in debug or "*" in debug):
                for line in found:
                    print(f"[concurrency] arts.for at line {line}: its EDT is inside a sequential loop", file=sys.stderr)
            if found and bug != "fixed":
                crash(argv, "concurrency")
    return 0, text


def run_number(text: str) -> int:
    """How many times this text has been run, this run included (CARTS_STANDIN_FLAKY_RUNS)."""
    folder = os.environ.get("CARTS_STANDIN_FLAKY_RUNS")
    if not folder:
        print("carts stand-in: CARTS_STANDIN_FLAKY_BELOW needs CARTS_STANDIN_FLAKY_RUNS=DIR "
              "(where the runs of each text are counted)", file=sys.stderr)
        sys.exit(2)
    counter = Path(folder) / hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
    with open(counter, "a+") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)  # runs of the same text at once count one by one
        stream.seek(0)
        number = len(stream.read()) + 1
        stream.write("x")
    return number


def main(argv: list[str]) -> int:
    log = os.environ.get("CARTS_STANDIN_LOG")
    if log:
        with open(log, "a") as stream:
            stream.write(" ".join(argv) + "\n")
    generation = pipeline_standin.driver()
    newer = generation != "old"
    if not argv or argv[0] in ("-h", "--help"):
        commands = "run,compile,pipeline,cgeist,execute,--version" if newer else "run,cgeist,execute,--version"
        print(f"usage: carts {{{commands}}} ...  (stand-in for tests)")
        return 0 if argv else 1
    if argv[0] == "--version":
        print(VERSIONS.get(generation, VERSIONS["new"]))
        return 0
    if argv[0] == "run":
        return run(argv[1:])
    if argv[0] == "pipeline" and newer:
        return pipeline_standin.pipeline_command(argv[1:])
    if argv[0] == "compile" and newer:
        return pipeline_standin.compile_command(argv[1:], run_stages)
    if argv[0] in ("cgeist", "execute"):
        sys.path.insert(0, str(Path(__file__).parent))
        try:
            import cgeist_standin
            import execute_standin
        except ImportError as error:
            print(f"carts stand-in: `carts {argv[0]}` needs the Python package {error.name}, which "
                  f"{sys.executable} lacks: run bash .ci/setup, or put a python3 with carts-reduce installed on PATH",
                  file=sys.stderr)
            return 2
        return (cgeist_standin if argv[0] == "cgeist" else execute_standin).main(argv[1:])
    print(f"carts: unknown command '{argv[0]}'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
