"""Shared fixtures: where the shared data and the stand-in carts live, hypothesis profiles."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
STANDIN_CARTS = ROOT / "tests" / "standin" / "carts"
MLIR_OPT_22 = Path("/usr/lib/llvm-22/bin/mlir-opt")

# "ci" bounds the time of property tests and derandomizes them: the same examples
# on every run, so that a gate never fails by chance; "dev" digs deeper, at random
# (HYPOTHESIS_PROFILE=dev).
settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          derandomize=True, database=None)
settings.register_profile("dev", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (it lies beside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def standin_carts() -> Path:
    return STANDIN_CARTS


@pytest.fixture(scope="session")
def mlir_opt() -> Path:
    if not MLIR_OPT_22.exists():
        pytest.skip("upstream mlir-opt 22 is not installed (apt-get install mlir-22-tools)")
    return MLIR_OPT_22


def require(tool: str) -> str:
    """The path of ``tool``, or skip the test saying what to install."""
    found = shutil.which(tool)
    if not found:
        pytest.skip(f"{tool} is not installed")
    return found
