"""ub-free: a wrong-code verdict counts only for a program without undefined behaviour.

Reducing "the two builds print different results" drifts, unguarded, to
programs whose results differ because they have none: an uninitialised
read, a missing return, ``printf`` without a prototype. Composed after
output-mismatch (``all(output-mismatch, ub-free)``), this guard holds only
for a candidate that

1. compiles with the UB-prone diagnostics as errors (implicit int, implicit
   function declaration, missing return, uninitialised use, bad format
   arguments, ...), and
2. runs clean built with ASan+UBSan, with MSan, and with TSan (data races;
   the OpenMP runtime's archer tool tells it about OpenMP's synchronisation),

in each configuration the two commands build: the ``-D``/``-U`` flags of the
reference and of the candidate command, so an ``#ifdef ARTS`` branch is
checked too.

Cheap to expensive, in two tests. The warnings check is a step of every
test, in front of the two builds: a candidate it rejects costs no build.
The sanitizer builds are a follow-up test: the driver asks ``followup`` on
the first test's outcome, and ``all(...)`` asks its children in order, so
they run only for a candidate whose outputs already differ. Both tests are
plain ``TestSpec`` s for the runner (no process starts here, no file is
written here), so they run wherever the executor sends them; the driver
keeps a follow-up's outcome by text and steps, so re-tests of a result run
only the cheap test again.

Calibrated on the original. Before that the checks run as a survey (no
failure stops the test). A check the original itself fails is not made a
condition (a sanitizer this machine cannot build, or a finding in the
original, which the summary and the report then show), and a warning the
original already has is not made an error. From then on the first failure
stops the test.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import PurePath

from carts_reduce.run.outcome import Outcome, Step, StepResult

from interestingness.base import Expand, Option, Predicate, PredicateError, stderr_head
from interestingness.mismatch import DEFAULT_CANDIDATE, DEFAULT_REFERENCE

PREFIX = "ub-"
CHECKS = ("warnings", "asan+ubsan", "msan", "tsan")

#: Diagnostics that mark undefined (or unspecified) behaviour a reducer likes
#: to introduce, as each compiler names them.
CLANG_WARNINGS = (
    "implicit-int", "implicit-function-declaration", "return-type", "uninitialized",
    "sometimes-uninitialized", "conditional-uninitialized", "format", "int-conversion",
    "incompatible-pointer-types", "incompatible-function-pointer-types", "array-bounds", "division-by-zero",
    "shift-count-overflow", "shift-count-negative", "return-stack-address", "unsequenced", "null-dereference",
    "incompatible-library-redeclaration", "deprecated-non-prototype",
)
GCC_WARNINGS = (
    "implicit-int", "implicit-function-declaration", "return-type", "uninitialized", "maybe-uninitialized",
    "format", "int-conversion", "incompatible-pointer-types", "array-bounds", "div-by-zero",
    "shift-count-overflow", "shift-count-negative", "return-local-addr", "sequence-point",
    "builtin-declaration-mismatch",
)
_ARCHER = '"$({cc} -print-file-name=libarcher.so)"'
_CHECKED = "-g -O1 -fno-omit-frame-pointer"
#: MSan's build is not optimised: at -O1 a read of an uninitialised local is folded to a constant
#: (``int r; s = r;`` in a loop), and MSan never sees it.
_UNOPTIMISED = "-g -O0 -fno-omit-frame-pointer"
#: Per sanitizer: how its build is made and run ({cc}, {flags}, {binary}; {input} as in any command).
#: MSan must see every instruction that moves a value, and the OpenMP runtime is not instrumented: its
#: build ignores the OpenMP pragmas (one thread) and links the runtime only for the omp_* calls. TSan
#: learns OpenMP's synchronisation from the runtime's archer tool, without which it is not built, and
#: runs 4 threads.
SANITIZERS = {
    "asan+ubsan": (
        f"{{cc}} -fopenmp {_CHECKED} -fsanitize=address,undefined -fno-sanitize-recover=all {{flags}} {{input}} "
        "-o {binary} -lm",
        "env ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 {binary}",
    ),
    "msan": (
        f"{{cc}} -fopenmp-simd {_UNOPTIMISED} -fsanitize=memory -fsanitize-memory-track-origins -fno-sanitize-recover=all "
        "{flags} -c {input} -o {binary}.o && {cc} -fopenmp -fsanitize=memory {binary}.o -o {binary} -lm",
        "{binary}",
    ),
    "tsan": (
        f"{{cc}} -fopenmp {_CHECKED} -fsanitize=thread {{flags}} {{input}} -o {{binary}} -lm && test -f {_ARCHER}",
        # Threads to race between, whatever the environment says (a Dask worker's is 1).
        f"env TSAN_OPTIONS=halt_on_error=1:exitcode=66:ignore_noninstrumented_modules=1 OMP_TOOL_LIBRARIES={_ARCHER} "
        "OMP_NUM_THREADS=4 {binary}",
    ),
}
#: What gcc can check: its sanitizer runtimes lack MSan, and TSan needs an OpenMP runtime that tells it about OpenMP.
GCC_SANITIZERS = ("asan+ubsan",)

# "file.c:3:10: error: ... [-Werror,-Wuninitialized]", "[-Werror=implicit-int]", "[-Wimplicit-int]".
_DIAGNOSTIC = re.compile(r"\berror: .*\[-W(?:error[=,](?:-W)?)?([\w-]+)\]\s*$")
_ERROR = re.compile(r"\berror: ")
_REPORT = re.compile(r"runtime error:|Sanitizer:")
_PID = re.compile(r"^==\d+==\s*")
_PATH = re.compile(r"(?<![\w.])/(?:[^\s/:()]+/)+([^\s/:()]+)")  # where the test ran: only the file name says something
#: Code that can start threads: without it there is no data race to look for.
_THREADS = re.compile(r"#\s*pragma\s+omp\b|_Pragma\s*\(\s*\"\s*omp\b|\bomp_\w+\s*\(|\bpthread_create\b")
_DEFINE_FLAGS = ("-D", "-U")
_SHARED_FLAGS = ("-I", "-std=")


@dataclass(frozen=True)
class Config:
    """One way the program is built: the reference's macros, or the candidate's when they differ."""

    suffix: str  # "" for the reference, "@candidate"
    defines: tuple[str, ...]


@dataclass(frozen=True)
class Compiler:
    path: str

    @property
    def name(self) -> str:
        return PurePath(self.path).name

    @property
    def clang(self) -> bool:
        return "clang" in PurePath(os.path.realpath(shutil.which(self.path) or self.path)).name

    @property
    def kind(self) -> str:
        return "clang" if self.clang else "gcc"

    @property
    def warnings(self) -> tuple[str, ...]:
        return CLANG_WARNINGS if self.clang else GCC_WARNINGS

    @property
    def compile_only(self) -> str:
        # gcc finds uninitialised uses only while it optimises.
        return "-fsyntax-only" if self.clang else "-O1 -c -o /dev/null"


@dataclass
class Verdict:
    """What calibration found about one check."""

    ran: bool
    reason: str = ""  # why it is not a condition


class UbFree(Predicate):
    name = "ub-free"
    help = ("the program compiles without UB-prone warnings and runs clean under ASan+UBSan, MSan and TSan "
            "(guards output-mismatch; on by default for C)")
    options = (
        Option("reference_command", "TEMPLATE", "the reference build: its compiler warns too, its -D/-U/-I are checked"),
        Option("candidate_command", "TEMPLATE", "the build under test: its -D/-U/-I flags are checked too"),
        Option("ub_cc", "COMPILER", "the compiler of the checks [default: clang-19, else clang, else gcc]", extra=True),
        Option("ub_checks", "LIST", f"the checks to run [default: {','.join(CHECKS)}]", extra=True),
    )

    def __init__(self, options=None) -> None:
        super().__init__(options)
        # By name, as a worker finds it on its PATH.
        self.cc = Compiler(self.values["ub_cc"] or next(
            (name for name in ("clang-19", "clang", "gcc", "cc") if shutil.which(name)), "cc"))
        wanted = [c.strip() for c in (self.values["ub_checks"] or ",".join(CHECKS)).split(",") if c.strip()]
        unknown = [c for c in wanted if c not in CHECKS]
        if unknown or not wanted:
            raise PredicateError(f"ub_checks of 'ub-free': unknown check {unknown[0] if unknown else '(none)'!r}; "
                                 f"choose from {','.join(CHECKS)}")
        possible = CHECKS if self.cc.clang else ("warnings", *GCC_SANITIZERS)
        self.checks = [c for c in CHECKS if c in wanted]
        self.unsupported = {c: f"{self.cc.name} cannot build it" for c in self.checks if c not in possible}
        self.warners: tuple[Compiler, ...] = (self.cc,)
        self.verdicts: dict[str, Verdict] = {}  # what calibration found
        self.baseline: dict[str, set[str]] = {}  # per compiler: the diagnostics the original has
        self.calibrated = False
        self.configs: tuple[Config, ...] = ()
        self.shared_flags: tuple[str, ...] = ()
        self._expand: Expand | None = None

    # -- steps ---------------------------------------------------------------

    def adjust(self, steps: list[Step], expand: Expand) -> list[Step]:
        self._expand = expand
        reference = expand(self.values["reference_command"] or DEFAULT_REFERENCE)
        candidate = expand(self.values["candidate_command"] or DEFAULT_CANDIDATE)
        self.configs, self.shared_flags = _configurations(_flags(reference), _flags(candidate))
        # The reference's compiler warns too: its headers are the ones the reference is built with.
        theirs = _compiler_of(reference)
        self.warners = (self.cc,) if theirs is None or theirs.kind == self.cc.kind else (self.cc, theirs)
        if not self._active("warnings"):
            return list(steps)
        at = next((i for i, step in enumerate(steps) if step.name != "precheck"), len(steps))
        return [*steps[:at], *self._warning_steps(), *steps[at:]]

    def _warning_name(self, warner: Compiler, config: Config) -> str:
        own = "" if warner == self.cc else f"-{warner.kind}"
        return f"{PREFIX}warnings{own}{config.suffix}"

    def _flags_of(self, config: Config) -> str:
        return " ".join(shlex.quote(flag) for flag in (*config.defines, *self.shared_flags))

    def _warning_steps(self) -> list[Step]:
        steps = []
        for warner in self.warners:
            tolerated = self.baseline.get(warner.path, set())
            errors = [f"-Werror={w}" for w in warner.warnings if w not in tolerated]
            errors += [f"-Wno-{w}" for w in sorted(tolerated)]
            for config in self.configs:
                steps.append(self._step(
                    self._warning_name(warner, config),
                    f"{shlex.quote(warner.path)} {warner.compile_only} -fopenmp {self._flags_of(config)} "
                    f"{' '.join(errors)} {{input}}",
                ))
        return steps

    def _sanitizer_steps(self, candidate: str | None = None) -> tuple[Step, ...]:
        """The sanitizer builds and runs (for ``candidate``: TSan only where it can start threads)."""
        steps: list[Step] = []
        cc = shlex.quote(self.cc.path)
        for check in self.checks:
            if check == "warnings" or not self._active(check):
                continue
            if check == "tsan" and candidate is not None and not _THREADS.search(candidate):
                continue
            build, run = SANITIZERS[check]
            for config in self.configs:
                values = {"{cc}": cc, "{flags}": self._flags_of(config),
                          "{binary}": f"./{PREFIX}{check.replace('+', '-')}{config.suffix.replace('@', '-')}"}
                for name, template in (("build", build), ("run", run)):
                    for key, value in values.items():
                        template = template.replace(key, value)
                    steps.append(self._step(f"{PREFIX}{check}-{name}{config.suffix}", template))
        return tuple(steps)

    def _step(self, name: str, template: str) -> Step:
        assert self._expand is not None, "adjust() comes first"
        # Survey the original: every check runs, whatever fails before it.
        return Step(name, self._expand(template), stop_on_failure=self.calibrated)

    def _active(self, check: str) -> bool:
        verdict = self.verdicts.get(check)
        return check in self.checks and check not in self.unsupported and (verdict is None or verdict.ran)

    # -- the protocol ----------------------------------------------------------

    def followup(self, outcome: Outcome, candidate: str) -> tuple[Step, ...]:
        steps = self._sanitizer_steps(candidate if self.calibrated else None)
        if not steps or any(outcome.step(step.name) is not None for step in steps):
            return ()
        if self.calibrated and self._warnings_problem(outcome) is not None:
            return ()
        return steps

    def calibrate(self, original: Outcome) -> None:
        self.verdicts, self.baseline = {}, {}
        for check in self.checks:
            if check not in self.unsupported:
                self.verdicts[check] = self._calibrated(check, original)
        self.calibrated = True

    def _calibrated(self, check: str, original: Outcome) -> Verdict:
        """Whether ``check`` is a condition, from the original's survey."""
        if check == "warnings":
            for warner in self.warners:
                for config in self.configs:
                    step = original.step(self._warning_name(warner, config))
                    if step is None:
                        return Verdict(False, "the original did not get that far")
                    fired, other = _diagnostics(step)
                    if other:
                        return Verdict(False, f"{warner.name} rejects the original: {other[0]}")
                    self.baseline.setdefault(warner.path, set()).update(fired)
            return Verdict(True)
        for config in self.configs:
            build = original.step(f"{PREFIX}{check}-build{config.suffix}")
            run = original.step(f"{PREFIX}{check}-run{config.suffix}")
            if build is None or run is None:
                return Verdict(False, "the original did not get that far")
            if build.failed:
                return Verdict(False, f"cannot build here: {stderr_head(build, 1)}")
            if run.failed:
                return Verdict(False, f"the original itself fails it: {report_line(run)}")
        return Verdict(True)

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        return self._problem(outcome, candidate) is None

    def _warnings_problem(self, outcome: Outcome) -> str | None:
        if not self._active("warnings"):
            return None
        for warner in self.warners:
            for config in self.configs:
                step = outcome.step(self._warning_name(warner, config))
                if step is None:
                    return "the warnings check did not run"
                fired, other = _diagnostics(step)
                new = sorted(fired - self.baseline.get(warner.path, set()))
                if other or new or (step.failed and not fired):
                    seen = (other or [f"-W{w}" for w in new] or [stderr_head(step, 1)])[0]
                    return f"{step.name} rejects it: {seen}"
        return None

    def _problem(self, outcome: Outcome, candidate: str | None = None) -> str | None:
        """What keeps ``outcome`` (of ``candidate``) from being UB-free; None when nothing does."""
        found = self._warnings_problem(outcome)
        if found is not None:
            return found
        expected = self._sanitizer_steps(candidate if self.calibrated else None)
        if candidate is None:  # only the outcome to go by: the checks it holds
            expected = tuple(step for step in expected if outcome.step(step.name) is not None) or expected
        for step in expected:
            result = outcome.step(step.name)
            if result is None:
                return "the sanitizer checks did not run"
            if result.failed:
                detail = report_line(result) if "-run" in step.name else stderr_head(result, 1)
                return f"{step.name} {result.status}: {detail}"
        return None

    def describe(self, outcome: Outcome) -> str:
        problem = self._problem(outcome)
        if problem is None:
            return f"no undefined behaviour found ({', '.join(c for c in self.checks if self._active(c))})"
        return f"ub-free: {problem}"

    def guards(self) -> list[str]:
        where = " (reference and candidate macros)" if len(self.configs) > 1 else ""
        lines = []
        for check in self.checks:
            verdict = self.verdicts.get(check)
            if check in self.unsupported:
                lines.append(f"{check}: not checked: {self.unsupported[check]}")
            elif verdict is not None and not verdict.ran:
                lines.append(f"{check}: not checked: {verdict.reason}")
            elif check == "warnings":
                for warner in self.warners:
                    tolerated = self.baseline.get(warner.path, set())
                    kept = [w for w in warner.warnings if w not in tolerated]
                    note = f"; the original's own -W{', -W'.join(sorted(tolerated))} tolerated" if tolerated else ""
                    lines.append(f"warnings as errors ({warner.name}: {' '.join('-W' + w for w in kept)}){where}{note}")
            else:
                threads = " (for a program that can start threads)" if check == "tsan" else ""
                lines.append(f"{check}: a clean run ({self.cc.name} -fsanitize){where}{threads}")
        return lines

    def owns_step(self, name: str) -> bool:
        return name.startswith(PREFIX)


def _configurations(reference: list[str], candidate: list[str]) -> tuple[tuple[Config, ...], tuple[str, ...]]:
    """The builds to check (by macros) and the include and language flags they share."""
    defines = [tuple(f for f in flags if f.startswith(_DEFINE_FLAGS)) for flags in (reference, candidate)]
    shared = tuple(dict.fromkeys(f for f in (*reference, *candidate) if f.startswith(_SHARED_FLAGS)))
    configs = [Config("", defines[0])]
    if defines[1] != defines[0]:
        configs.append(Config("@candidate", defines[1]))
    return tuple(configs), shared


def _compiler_of(argv: tuple[str, ...]) -> Compiler | None:
    """The C compiler a build command starts with, when it is one."""
    words = _words(argv)
    found = shutil.which(words[0]) if words else None
    if found is None:
        return None
    real = PurePath(os.path.realpath(found)).name
    return Compiler(words[0]) if re.search(r"(^|-)(gcc|cc|clang)(-[\d.]+)?$", real) else None


def _words(argv: tuple[str, ...]) -> list[str]:
    words = list(argv)
    if words[:2] == ["/bin/sh", "-c"] and len(words) > 2:
        try:
            return shlex.split(words[2])
        except ValueError:
            return words[2].split()
    return words


def _flags(argv: tuple[str, ...]) -> list[str]:
    """The macro, include and language flags on a command line (through ``sh -c`` too), each as one word."""
    words = _words(argv)
    flags: list[str] = []
    for index, word in enumerate(words):
        if word in ("-D", "-U", "-I") and index + 1 < len(words):
            flags.append(word + words[index + 1])
        elif word.startswith(("-D", "-U", "-I", "-std=")) and len(word) > 2:
            flags.append(word)
    return flags


def _diagnostics(step: StepResult) -> tuple[set[str], list[str]]:
    """The warning names among a compile's errors, and its errors without one."""
    fired: set[str] = set()
    other: list[str] = []
    for line in step.stderr.splitlines():
        found = _DIAGNOSTIC.search(line)
        if found:
            fired.add(found.group(1))
        elif _ERROR.search(line) and "warnings being treated as errors" not in line:
            other.append(line.strip())
    return fired, other


def report_line(result: StepResult) -> str:
    """The line of a sanitizer's report that says what it found (and where, when its summary says)."""
    lines = [_PATH.sub(r"\1", _PID.sub("", line)).strip() for line in result.stderr.splitlines() if _REPORT.search(line)]
    summary = [line for line in lines if line.startswith("SUMMARY:")]
    return (summary or lines or [stderr_head(result, 1)])[0][:300]

