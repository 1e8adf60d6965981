"""Turns a candidate into the steps that test it, from command templates.

Nothing about the CARTS command line is hard-coded: the stage command, the C
front end and the cheap pre-checks are templates with placeholders
``{carts}``, ``{input}``, ``{stage}``, ``{mlir}`` and ``{passes}`` (a pass
list: ``mlir-opt {input} {passes}``). Usually the candidate is the input
and the pass list is fixed (filled in with ``fill_passes``); a tool with a
``fixed_input`` turns that around: the candidate is the pass list, one pass
per line, and the input stays as it is.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from pathlib import PurePath

from carts_reduce.run.outcome import Step, TestSpec

DEFAULT_COMMAND = "{carts} run {input} --{stage}"
#: The newer driver: stop after a stage; run one stage alone on the module that enters it.
COMPILE_COMMAND = "{carts} compile {input} --pipeline={stage}"
STAGE_ALONE_COMMAND = "{carts} compile {input} --start-from={stage} --pipeline={stage}"
DEFAULT_FRONTEND = "{carts} cgeist {input} -DMINI_DATASET -O0 -S -fopenmp --raise-scf-to-affine"
C_PRECHECK = "gcc -fsyntax-only -fopenmp -w -DMINI_DATASET {includes}{input}"
MLIR_VALIDATE = "{validator} --allow-unregistered-dialect {input} -o /dev/null"

# Shell syntax that a plain argv split would get wrong.
_SHELL_CHARS = set("|&;<>()$`*?~")
# Where a candidate's pass list goes in a step's argv (one word, no shell syntax).
_PASSES_SLOT = "@carts-reduce-passes@"


def fill_passes(template: str, passes: list[str] | tuple[str, ...]) -> str:
    """``template`` with ``{passes}`` replaced by the passes, each quoted for the shell."""
    words = " ".join(shlex.quote(p).replace("{", "{{").replace("}", "}}") for p in passes)
    return template.replace("{passes}", words)


def pass_list(text: str) -> list[str]:
    """The passes of a pass-list candidate: one per non-blank line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Tool:
    input_name: str
    carts: str | None = None
    stage: str | None = None
    command: str = DEFAULT_COMMAND
    format: str = "text"
    frontend: str | None = None  # C: the front end producing {mlir}
    precheck: str | None = None  # a cheap check run first; its failure skips the test
    validator: str | None = None  # upstream mlir-opt for --validate-with
    include_dirs: tuple[str, ...] = ()  # -I for the C pre-check
    env: tuple[tuple[str, str], ...] = field(default=())
    fixed_input: str | None = None  # set: the candidate is the pass list, and this the input

    @property
    def mlir_name(self) -> str:
        return f"{PurePath(self.input_name).stem}.cgeist.mlir"

    def expand(self, template: str) -> tuple[str, ...]:
        """A template as argv; through ``/bin/sh -c`` when it holds shell syntax."""
        values = {
            "carts": shlex.quote(self.carts or "carts"),
            "input": shlex.quote(self.input_name),
            "stage": self.stage or "",
            "mlir": shlex.quote(self.mlir_name),
            "validator": shlex.quote(self.validator or "mlir-opt"),
            "includes": "".join(f"-I{shlex.quote(d)} " for d in self.include_dirs),
            "passes": _PASSES_SLOT,
        }
        line = template.format(**values)
        if _SHELL_CHARS & set(line.replace("{", "").replace("}", "")):
            return ("/bin/sh", "-c", line)
        return tuple(shlex.split(line))

    def steps(self) -> list[Step]:
        steps: list[Step] = []
        if self.precheck:
            steps.append(Step("precheck", self.expand(self.precheck)))
        if self.validator:
            steps.append(Step("precheck", self.expand(MLIR_VALIDATE)))
        if self.frontend:
            steps.append(Step("frontend", self.expand(self.frontend), stdout_path=self.mlir_name))
            stage_input = self.command.replace("{input}", "{mlir}")
            steps.append(Step("stage", self.expand(stage_input)))
        else:
            steps.append(Step("stage", self.expand(self.command)))
        return steps

    def spec(self, text: str, steps: list[Step], timeout: float) -> TestSpec:
        if self.fixed_input is not None:
            passes = pass_list(text)
            text = self.fixed_input
            steps = [replace(step, argv=_with_passes(step.argv, passes)) for step in steps]
        return TestSpec(
            files=((self.input_name, text.encode("utf-8", "surrogateescape")),),
            steps=tuple(steps),
            timeout=timeout,
            env=self.env,
        )


def _with_passes(argv: tuple[str, ...], passes: list[str]) -> tuple[str, ...]:
    if argv[:2] == ("/bin/sh", "-c"):
        quoted = " ".join(shlex.quote(p) for p in passes)
        return (*argv[:2], argv[2].replace(_PASSES_SLOT, quoted), *argv[3:])
    out: list[str] = []
    for word in argv:
        out.extend(passes if word == _PASSES_SLOT else (word,))
    return tuple(out)


async def carts_version(carts: str | None, timeout: float = 30.0) -> str | None:
    """First line of ``carts --version``, or None when it says nothing useful."""
    from carts_reduce.run.runner import run_test

    spec = TestSpec(files=(), steps=(Step("version", (carts or "carts", "--version")),), timeout=timeout)
    outcome = await run_test(spec)
    result = outcome.main
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if not result.failed and text else None
