"""How an input is tested and reduced: the options `carts-reduce INPUT` and `carts-reduce triage` share.

``TestOptions`` declares each option once (its flag, help and default, as
typer reads them); ``with_test_options`` adds them all to a command, which
receives them as one ``TestOptions``. ``JobMaker`` checks them once (carts
found, stage known, predicates valid) and then makes a ``Job`` per input,
each with a fresh predicate, since a predicate learns from its own original.
"""

import os
import shutil
from dataclasses import dataclass, fields
from functools import wraps
from inspect import Parameter, signature
from pathlib import Path
from typing import Annotated, Any, Optional, get_type_hints

import anyio
import typer

from carts_reduce.formats import FORMATS, detect
from carts_reduce.job import Job
from carts_reduce.pipeline.passlist import PassListError, split_passes
from carts_reduce.pipeline.plan import PIPELINE_COMMANDS, SOURCE, STAGE_INPUT, Request
from carts_reduce.pipeline.stages import Pipeline, StageError, read_pipeline
from carts_reduce.run.tool import C_PRECHECK, DEFAULT_COMMAND, DEFAULT_FRONTEND, Tool, carts_version
from carts_reduce.usage import (
    AT_LEAST_ONE, EXIT_STATUS, FLAG, NON_NEGATIVE, SECONDS, ZERO_OR_MORE, Bounds, UsageError, check, check_all, default_note,
)

PREDICATES = "Interestingness (see `carts-reduce predicates`)"
C_INPUT = "C inputs"
RUN = "Running tests"
RESULT = "Results"
MLIR_OPT_22 = "/usr/lib/llvm-22/bin/mlir-opt"

CorpusOption = Annotated[Path, typer.Option("--corpus", metavar="DIR", help="The regression corpus.", rich_help_panel=RESULT)]


@dataclass
class TestOptions:
    """Every option that says how one input is tested and reduced."""

    __test__ = False  # a name pytest would otherwise try to collect

    stage: Annotated[Optional[str], typer.Option("--pass", metavar="STAGE", help="The CARTS pipeline stage that fails, e.g. canonicalize-memrefs " + default_note("auto: the first failing stage, found by bisection over carts's stages") + ".", show_default=False)] = None
    carts: Annotated[Optional[str], typer.Option(metavar="PATH", help="The carts driver " + default_note("$CARTS, else `carts` on PATH") + ".", show_default=False)] = None
    command: Annotated[str, typer.Option(metavar="TEMPLATE", help="Command that tests a candidate; placeholders {carts} {input} {stage} {passes}.")] = DEFAULT_COMMAND
    start: Annotated[Optional[str], typer.Option("--from", metavar="WHAT", help="stage-input: reduce the module entering the failing stage, the stage run alone with --start-from; source: the input itself through the whole pipeline " + default_note("stage-input where carts has --start-from") + ".", show_default=False)] = None
    passes: Annotated[Optional[str], typer.Option("--passes", metavar="PASSES", help="The pass list of a --command holding {passes}, e.g. '--canonicalize --cse'; reduced along with the input.", show_default=False)] = None
    script: Annotated[Optional[Path], typer.Option(metavar="SCRIPT", help="A C-Vise style interestingness script (exit 0 = interesting), used as the whole test; makes --pass optional.", rich_help_panel=PREDICATES, show_default=False)] = None
    jobs: Annotated[Optional[int], typer.Option("-j", "--jobs", metavar="N", help="Tests run at once " + default_note("CPU count, or the cluster's worker threads") + "; the result does not depend on it.", rich_help_panel=RUN, show_default=False)] = None
    cluster: Annotated[Optional[str], typer.Option(metavar="ADDRESS", help="Run the tests on a Dask cluster: a scheduler address (tcp://HOST:8786) or local:N for N workers on this machine.", rich_help_panel=RUN, show_default=False)] = None
    timeout: Annotated[Optional[float], typer.Option(metavar="SECONDS", help="Seconds per test " + default_note("5x the original's run time, at least 1") + ".", rich_help_panel=RUN, show_default=False)] = None
    max_time: Annotated[Optional[float], typer.Option(metavar="SECONDS", help="Stop reducing after this many seconds and keep the best so far " + default_note("no limit") + ".", rich_help_panel=RUN, show_default=False)] = None
    fmt: Annotated[Optional[str], typer.Option("--format", metavar="FORMAT", help=f"Input format: {', '.join(FORMATS)} " + default_note("from the suffix") + ".", show_default=False)] = None
    frontend: Annotated[str, typer.Option(metavar="TEMPLATE", help="C front end producing {mlir} from {input}.", rich_help_panel=C_INPUT)] = DEFAULT_FRONTEND
    precheck: Annotated[bool, typer.Option(metavar=FLAG, help="Skip C candidates that `gcc -fsyntax-only -fopenmp` rejects, without running the test.", rich_help_panel=C_INPUT)] = True
    include: Annotated[Optional[list[str]], typer.Option("-I", "--include", metavar="DIR", help="Include dir for the C pre-check (repeatable); carts's own is asked of `carts cgeist --print-include-dir`.", rich_help_panel=C_INPUT, show_default=False)] = None
    validate_with: Annotated[Optional[str], typer.Option(metavar="MLIR_OPT", help="Skip MLIR candidates that this upstream mlir-opt rejects (--allow-unregistered-dialect); `mlir-opt` means /usr/lib/llvm-22/bin/mlir-opt.", rich_help_panel=RUN, show_default=False)] = None
    predicate: Annotated[Optional[list[str]], typer.Option("--predicate", metavar="SPEC", help="Predicate(s) that must all hold: a name, module:function, file.py:function, or any(..)/not(..) " + default_note("same-failure") + ".", rich_help_panel=PREDICATES, show_default=False)] = None
    predicates_file: Annotated[Optional[Path], typer.Option("--predicates", metavar="FILE", help="A TOML file of predicates and their options.", rich_help_panel=PREDICATES, show_default=False)] = None
    match_assertion: Annotated[Optional[str], typer.Option(metavar="REGEX", help="signature: regex the assertion must match.", rich_help_panel=PREDICATES, show_default=False)] = None
    match_frame: Annotated[Optional[list[str]], typer.Option(metavar="REGEX", help="signature: regex a top stack frame must match (repeatable).", rich_help_panel=PREDICATES, show_default=False)] = None
    match_error: Annotated[Optional[str], typer.Option(metavar="REGEX", help="signature: regex the error message must match.", rich_help_panel=PREDICATES, show_default=False)] = None
    stderr_regex: Annotated[Optional[str], typer.Option(metavar="REGEX", help="stderr-regex: regex searched in the stage's stderr.", rich_help_panel=PREDICATES, show_default=False)] = None
    stdout_regex: Annotated[Optional[str], typer.Option(metavar="REGEX", help="stdout-regex: regex searched in the stage's stdout.", rich_help_panel=PREDICATES, show_default=False)] = None
    exit_code: Annotated[Optional[int], typer.Option(metavar="N", help="exit-code: the exit status expected (0-255).", rich_help_panel=PREDICATES, show_default=False)] = None
    hang_after: Annotated[Optional[float], typer.Option(metavar="SECONDS", help="hang: seconds after which the stage counts as hung.", rich_help_panel=PREDICATES, show_default=False)] = None
    ir_pattern: Annotated[Optional[str], typer.Option(metavar="PATTERN", help="ir-contains/ir-lacks: a regex, or op:NAME for an op.", rich_help_panel=PREDICATES, show_default=False)] = None
    ir_type: Annotated[Optional[str], typer.Option(metavar="REGEX", help="ir-contains/ir-lacks: regex on the types of an op:NAME match.", rich_help_panel=PREDICATES, show_default=False)] = None
    debug_only: Annotated[Optional[str], typer.Option(metavar="CHANNEL", help="debug-log: the --debug-only channel to turn on.", rich_help_panel=PREDICATES, show_default=False)] = None
    debug_regex: Annotated[Optional[str], typer.Option(metavar="REGEX", help="debug-log: regex searched in the debug output.", rich_help_panel=PREDICATES, show_default=False)] = None
    reference_command: Annotated[Optional[str], typer.Option(metavar="COMMAND", help="output-mismatch: builds and runs the reference " + default_note("the OpenMP build, cc -fopenmp ... && ./reference") + ".", rich_help_panel=PREDICATES, show_default=False)] = None
    candidate_command: Annotated[Optional[str], typer.Option(metavar="COMMAND", help="output-mismatch: builds and runs the build under test " + default_note("{carts} execute {input}") + ".", rich_help_panel=PREDICATES, show_default=False)] = None
    float_tolerance: Annotated[Optional[float], typer.Option(metavar="FRACTION", help="output-mismatch: relative tolerance for numbers (0 or more).", rich_help_panel=PREDICATES, show_default=False)] = None
    ub_guard: Annotated[bool, typer.Option(metavar=FLAG, help="output-mismatch on C: a mismatch counts only for a candidate that compiles with UB-prone warnings as errors and runs clean under ASan+UBSan, MSan and TSan (see `carts-reduce predicates`: ub-free).", rich_help_panel=PREDICATES)] = True
    frames: Annotated[int, typer.Option(metavar="N", help="Stack frames in a failure signature.", rich_help_panel=PREDICATES)] = 3
    opt: Annotated[Optional[list[str]], typer.Option(metavar="KEY=VALUE", help="Option for a plugin predicate (repeatable).", rich_help_panel=PREDICATES, show_default=False)] = None
    verify: Annotated[int, typer.Option(metavar="N", help="Re-test the result this many times before it is final (0: not at all).", rich_help_panel=RESULT)] = 3
    repeat: Annotated[int, typer.Option(metavar="N", help="Runs per candidate (for flaky failures).", rich_help_panel=RUN)] = 1
    min_hits: Annotated[Optional[int], typer.Option(metavar="K", help="Interesting runs needed out of --repeat " + default_note("all") + ".", rich_help_panel=RUN, show_default=False)] = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "TestOptions":
        """The test options among a command's parsed parameters."""
        return cls(**{item.name: params[item.name] for item in fields(cls) if item.name in params})

    def check(self) -> None:
        """Every numeric option within its range (raises UsageError), before anything runs."""
        check_all([
            ("--jobs", self.jobs, AT_LEAST_ONE),
            ("--timeout", self.timeout, SECONDS),
            ("--max-time", self.max_time, SECONDS),
            ("--verify", self.verify, ZERO_OR_MORE),
            ("--repeat", self.repeat, AT_LEAST_ONE),
            ("--frames", self.frames, ZERO_OR_MORE),
            ("--exit-code", self.exit_code, EXIT_STATUS),
            ("--hang-after", self.hang_after, SECONDS),
            ("--float-tolerance", self.float_tolerance, NON_NEGATIVE),
        ])
        check("--min-hits", self.min_hits, Bounds(at_least=1, at_most=self.repeat, whole=True), f" (--repeat is {self.repeat})")

    def predicate_options(self) -> dict[str, Any]:
        """The options predicates read, by their option keys."""
        return dict(
            match_assertion=self.match_assertion, match_frame=self.match_frame or [], match_error=self.match_error,
            stderr_regex=self.stderr_regex, stdout_regex=self.stdout_regex, exit_code=self.exit_code,
            hang_after=self.hang_after, ir_pattern=self.ir_pattern, ir_type=self.ir_type, debug_only=self.debug_only,
            debug_regex=self.debug_regex, reference_command=self.reference_command,
            candidate_command=self.candidate_command, float_tolerance=self.float_tolerance, script=self.script,
            frames=self.frames, extra=parse_opts(self.opt or []),
        )


def with_test_options(command):
    """Give a typer command every ``TestOptions`` option; it receives them as ``tests``."""
    hints = get_type_hints(TestOptions, include_extras=True)
    shared = [
        Parameter(item.name, Parameter.KEYWORD_ONLY, default=item.default, annotation=hints[item.name])
        for item in fields(TestOptions)
    ]
    own_hints = get_type_hints(command, include_extras=True)  # the command's module may postpone annotations
    own = [
        p.replace(annotation=own_hints.get(p.name, p.annotation),
                  kind=Parameter.KEYWORD_ONLY if p.default is not Parameter.empty else p.kind)
        for p in signature(command).parameters.values() if p.name != "tests"
    ]
    positional = [p for p in own if p.kind != Parameter.KEYWORD_ONLY]
    keyword = [p for p in own if p.kind == Parameter.KEYWORD_ONLY]

    @wraps(command)
    def wrapper(*args, **kwargs):
        tests = TestOptions(**{item.name: kwargs.pop(item.name) for item in fields(TestOptions) if item.name in kwargs})
        return command(*args, tests=tests, **kwargs)

    parameters = positional + keyword + shared
    wrapper.__signature__ = signature(command).replace(parameters=parameters)
    # Annotations already evaluated: as strings they would be looked up in this module.
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # typer must read the new signature, not the command's own
    return wrapper


def parse_opts(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--opt {pair!r} is not KEY=VALUE")
        key, value = pair.split("=", 1)
        parsed[key.strip()] = value
    return parsed


def read_input(path: Path) -> str:
    if not path.exists():
        raise UsageError(f"{path}: no such file; give the path of the MLIR or C file to reduce")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give the path of the MLIR or C file to reduce")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read it ({error.strerror}); check its permissions") from None
    if b"\0" in data:
        raise UsageError(f"{path} is a binary file; carts-reduce reduces MLIR, C or other text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text; carts-reduce reduces MLIR, C or other text") from None
    if not text.strip():
        raise UsageError(f"{path} is empty; there is nothing to reduce")
    return text


def find_carts(given: str | None) -> str | None:
    name = given or os.environ.get("CARTS") or "carts"
    found = shutil.which(name)
    if found:
        return str(Path(found).resolve()) if os.sep in name else found
    return None


class JobMaker:
    """The test options, checked once, and a ``Job`` for each input on demand."""

    def __init__(self, tests: TestOptions, search_stage: bool = False):
        """``search_stage``: a missing ``--pass`` is found by the pipeline layer's culprit search
        (``request``) where the test runs carts; else it is an error."""
        tests.check()
        self.tests = tests
        self.options = tests.predicate_options()
        self.predicate_specs = list(tests.predicate or [])
        if tests.fmt is not None and tests.fmt not in FORMATS:
            raise UsageError(f"unknown format {tests.fmt!r}: use one of {', '.join(FORMATS)}")
        script = tests.script
        if script is not None:
            if not script.exists():
                raise UsageError(f"{script}: no such script; give the path of an interestingness script")
            if not os.access(script, os.X_OK):
                raise UsageError(f"{script} is not executable; chmod +x it")
            self.options["script"] = script.resolve()
            self.predicate_specs = self.predicate_specs or ["script"]
        built = self.predicate()  # a bad spec is reported now, not at the first input
        self.own_commands: tuple[str, ...] | None = built.commands
        self.stage = None if tests.stage == "auto" else tests.stage
        if self.needs_stage() and self.stage is None:
            if "{carts}" not in tests.command:  # carts's stages can be searched; another tool's cannot
                raise UsageError("no stage given: add --pass STAGE to fill {stage} in --command, or --script")
            if not search_stage:
                raise UsageError("no stage given: add --pass STAGE (e.g. --pass canonicalize-memrefs), or --script")
        if tests.start not in (None, STAGE_INPUT, SOURCE):
            raise UsageError(f"--from {tests.start}: must be {STAGE_INPUT} or {SOURCE}")
        self.passes = self._pass_list()
        self._pipeline: Pipeline | None = None
        if self.stage is not None and self.own_commands is not None:
            runner = next(leaf.name for leaf in built.leaves() if leaf.commands is not None)
            raise UsageError(f"--pass {tests.stage}: {runner} runs its own commands and no stage; leave --pass out")
        self.carts_path = find_carts(tests.carts)
        self._carts_checked = False
        self._carts_version: str | None = None
        self._include_dirs: tuple[str, ...] | None = None
        self.validator = None
        if tests.validate_with:
            self.validator = MLIR_OPT_22 if tests.validate_with == "mlir-opt" else tests.validate_with
            if not shutil.which(self.validator):
                raise UsageError(f"--validate-with {tests.validate_with}: {self.validator} not found (apt-get install mlir-22-tools)")
        self.min_hits = tests.repeat if tests.min_hits is None else tests.min_hits
        if tests.cluster is not None:
            from carts_reduce.run.dask import describe_address

            try:
                describe_address(tests.cluster)
            except ValueError as error:
                raise UsageError(str(error)) from None

    def predicate(self, fmt: str | None = None):
        """A fresh predicate for a ``fmt`` input (None: any): it calibrates on the original it is given."""
        import interestingness

        guard = self.tests.ub_guard and fmt in (None, "c")
        try:
            return interestingness.build(self.predicate_specs, self.options, self.tests.predicates_file, ub_guard=guard)
        except interestingness.PredicateError as error:
            raise UsageError(str(error)) from None

    def _pass_list(self) -> list[str] | None:
        command, passes = self.tests.command, self.tests.passes
        if passes is None:
            if "{passes}" in command:
                raise UsageError("--command holds {passes}: give the pass list, e.g. --passes '--canonicalize --cse'")
            return None
        if "{passes}" not in command:
            raise UsageError("--passes needs a --command that holds {passes}, e.g. --command 'mlir-opt {input} {passes}'")
        try:
            return split_passes(passes)
        except PassListError as error:
            raise UsageError(str(error)) from None

    def needs_stage(self) -> bool:
        """Whether a test runs a pipeline stage: the one place that decides
        whether a reduction needs ``--pass``. A script is the whole test; a
        predicate with commands of its own (output-mismatch: the reference
        and the candidate build, run and compared) runs no stage."""
        tests = self.tests
        return tests.script is None and self.own_commands is None and "{stage}" in tests.command

    def commands(self, fmt: str) -> tuple[str, ...]:
        """The command templates a test of a ``fmt`` input runs (the script aside)."""
        tests = self.tests
        if tests.script is not None:
            return ()
        if self.own_commands is not None:
            return self.own_commands
        return (tests.command, tests.frontend) if fmt == "c" else (tests.command,)

    def uses_carts(self, fmt: str) -> bool:
        return any("{carts}" in template for template in self.commands(fmt))

    def _check_carts(self) -> None:
        """carts found, the stage known to it, its version: asked once, of the first input that needs carts."""
        if self._carts_checked:
            return
        tests = self.tests
        if self.carts_path is None:
            where = tests.carts or os.environ.get("CARTS") or "carts"
            raise UsageError(f"carts not found ({where}): give --carts PATH, set $CARTS, or put carts on PATH")
        self._carts_version = anyio.run(carts_version, self.carts_path)
        self._carts_checked = True
        if self.needs_stage() and self.stage is not None:
            try:
                self.pipeline().check(self.stage)
            except StageError as error:
                raise UsageError(str(error)) from None

    def pipeline(self) -> Pipeline:
        """The driver's stages (``carts pipeline --json``, else the ``carts run`` list); asked once."""
        if self._pipeline is None:
            try:
                self._pipeline = anyio.run(read_pipeline, self.carts_path, self._carts_version)
            except StageError as error:
                raise UsageError(str(error)) from None
        return self._pipeline

    def request(self, job: Job, output_given: bool = False) -> Request:
        """What the pipeline layer does for ``job``: find its stage, cut at it, reduce its pass list.

        carts's stages matter where a test runs one (``needs_stage``) through carts.
        """
        tests = self.tests
        staged = self.needs_stage() and "{carts}" in tests.command and self.carts_path is not None
        if tests.start == STAGE_INPUT and not (staged and tests.command in PIPELINE_COMMANDS):
            raise UsageError("--from stage-input cuts carts's own pipeline: drop --command/--script, or use --from source")
        return Request(
            pipeline=self.pipeline() if staged else None,
            find_stage=staged and self.stage is None,
            start=tests.start,
            passes=self.passes,
            output_given=output_given,
        )

    def format_of(self, input_path: Path) -> str:
        return detect(input_path, self.tests.fmt)

    def job(self, input_path: Path, output: Path | None = None, json_log: Path | None = None,
            keep_state: bool = False, text: str | None = None) -> Job:
        tests = self.tests
        text = read_input(input_path) if text is None else text
        fmt = self.format_of(input_path)
        uses_carts = self.uses_carts(fmt)
        if uses_carts:
            self._check_carts()
        c_precheck = fmt == "c" and tests.precheck
        tool = Tool(
            input_name=input_path.name,
            carts=self.carts_path,
            stage=self.stage,
            command=tests.command,
            format=fmt,
            frontend=tests.frontend if fmt == "c" and tests.frontend in self.commands(fmt) else None,
            precheck=C_PRECHECK if c_precheck else None,
            validator=self.validator,
            include_dirs=tuple(tests.include or ()) + (self._carts_include_dirs() if fmt == "c" and uses_carts else ()),
        )
        output = output or input_path.with_name(f"{input_path.stem}.reduced{input_path.suffix}")
        if output.resolve() == input_path.resolve():
            raise UsageError("--output is the input file; carts-reduce never modifies its input")
        return Job(
            input_path=input_path,
            output_path=output,
            text=text,
            fmt=fmt,
            tool=tool,
            predicate=self.predicate(fmt),
            predicate_specs=self.predicate_specs or ["same-failure"],
            predicate_options=self.options,
            jobs=tests.jobs or os.cpu_count() or 1,
            timeout=tests.timeout,
            max_time=tests.max_time,
            json_log=json_log,
            verify=tests.verify,
            repeat=tests.repeat,
            min_hits=self.min_hits,
            keep_state=keep_state,
            standin=bool(self.carts_path) and "standin" in self.carts_path,
            predicates_file=tests.predicates_file,
            carts_version=self._carts_version if uses_carts else None,
        )

    def _carts_include_dirs(self) -> tuple[str, ...]:
        """Where carts's front end finds its own headers, when it can say."""
        if self._include_dirs is None:
            from carts_reduce.run.outcome import Step, TestSpec
            from carts_reduce.run.runner import run_test

            spec = TestSpec(files=(), steps=(Step("include", (self.carts_path, "cgeist", "--print-include-dir")),), timeout=30)
            result = anyio.run(run_test, spec).main
            found = result.stdout.strip()
            self._include_dirs = (found,) if not result.failed and found and os.path.isdir(found) else ()
        return self._include_dirs
