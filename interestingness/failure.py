"""Predicates on how the stage fails: signature, crash, exit code, hang."""

from __future__ import annotations

from carts_reduce.run.outcome import Outcome, StepResult
from carts_reduce.signature import DEFAULT_FRAMES, Signature, is_machinery, parse_frames

from interestingness.base import FRAMES, Option, Predicate, PredicateError, describe_outcome, judged_step


class SameFailure(Predicate):
    name = "same-failure"
    help = "fails exactly as the original: same step, status, messages and top stack frames (the default)"
    options = (FRAMES,)

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.frames = self.values["frames"] or DEFAULT_FRAMES
        self.target: Signature | None = None

    def calibrate(self, original: Outcome) -> None:
        self.target = Signature.from_outcome(original, self.frames)

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        if self.target is None:
            raise RuntimeError("same-failure judges against the original: calibrate() it first")
        return bool(self.target) and Signature.from_outcome(outcome, self.frames) == self.target

    def describe(self, outcome: Outcome) -> str:
        return describe_outcome(outcome, self.frames)


#: Text that only a crashing LLVM-style tool prints, whatever its exit status.
CRASH_BANNERS = (
    "PLEASE submit a bug report",
    "Stack dump:",
    "LLVM ERROR:",
    "UNREACHABLE executed",
    "Assertion `",  # glibc: "FILE:LINE: FUNC: Assertion `EXPR' failed."
    "Assertion failed",  # musl and others
    "ERROR: AddressSanitizer",
    "terminate called after throwing",
)


def crashed(step: StepResult) -> bool:
    """Died by a signal, or failed with a crash banner (a handler that exits)."""
    if step.timed_out:
        return False  # killed by us, not by the bug
    if step.signal is not None:
        return True
    if step.returncode == 0:
        return False
    return any(banner in step.stderr for banner in CRASH_BANNERS)


class Crash(Predicate):
    name = "crash"
    help = "the stage crashes: any signal, or an LLVM crash banner (assertion, LLVM ERROR, stack dump)"

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        step = judged_step(outcome)
        return step is not None and crashed(step)

    def describe(self, outcome: Outcome) -> str:
        step = judged_step(outcome)
        seen = describe_outcome(outcome)
        if step is None:
            return f"the stage did not run ({seen})"
        return seen if crashed(step) else f"no crash ({seen})"


class SignatureMatch(Predicate):
    name = "signature"
    help = "the stage's failure matches the given parts (regexes, all must match)"
    options = (
        Option("match_assertion", "REGEX", "searched in the assertion (FUNCTION: Assertion `EXPR' failed.)", "regex"),
        Option("match_frame", "REGEX", "some frame of the stack dump matches (repeatable: each must)", "regexes"),
        Option(
            "match_error",
            "REGEX",
            "searched in the [ERROR] lines, the first MLIR error: and LLVM ERROR: (SSA names read %_)",
            "regex",
        ),
    )

    def __init__(self, options=None) -> None:
        super().__init__(options)
        if not any(self.values.values()):
            raise PredicateError("predicate 'signature' needs --match-assertion, --match-frame or --match-error")

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        step = judged_step(outcome)
        if step is None or not step.failed or step.timed_out:
            return False
        signature = Signature.from_step(step, frames=0)
        assertion, frame_patterns, error = (
            self.values["match_assertion"],
            self.values["match_frame"],
            self.values["match_error"],
        )
        if assertion is not None and not assertion.search(signature.assertion):
            return False
        if error is not None:
            messages = (*signature.errors, signature.mlir_error, signature.llvm_error)
            if not any(error.search(message) for message in messages if message):
                return False
        if frame_patterns:
            frames = [frame.symbol for frame in parse_frames(step.stderr or step.stdout) if not is_machinery(frame)]
            for pattern in frame_patterns:
                if not any(pattern.search(symbol) for symbol in frames):
                    return False
        return True


class ExitCode(Predicate):
    name = "exit-code"
    help = "the stage exits with this status (a signal N also matches 128+N, as a shell reports it)"
    options = (Option("exit_code", "N", "expected exit status; several: 1,2", "ints", required=True),)

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        step = judged_step(outcome)
        if step is None or step.timed_out:
            return False
        codes = self.values["exit_code"]
        if step.signal is not None:
            return 128 + step.signal in codes
        return step.returncode in codes


class Hang(Predicate):
    name = "hang"
    help = "the stage does not finish within --hang-after seconds (raises the per-test timeout above it)"
    options = (Option("hang_after", "SECONDS", "how long counts as hanging", "float", required=True),)

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.limit: float = self.values["hang_after"]
        if self.limit <= 0:
            raise PredicateError("--hang-after of 'hang' must be more than 0 seconds")

    @property
    def min_timeout(self) -> float:
        # Past the limit, a test only costs time: kill it soon after.
        return self.limit * 1.2 + 0.5

    def __call__(self, outcome: Outcome, candidate: str) -> bool:
        step = judged_step(outcome)
        return step is not None and step.duration >= self.limit

    def describe(self, outcome: Outcome) -> str:
        step = judged_step(outcome)
        if step is None:
            return f"the stage did not run ({describe_outcome(outcome)})"
        return f"{step.name} ran {step.duration:.2f} s ({step.status}), limit {self.limit:g} s"
