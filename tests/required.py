"""A tool a test needs (a browser, npm packages, kubectl): skipped with a loud banner when
it cannot be had, a failure under `CI=true`."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TypeVar

import pytest

T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def loud(config: pytest.Config, text: str) -> None:
    """A banner on the terminal, past pytest's output capture."""
    line = "!" * 78
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n{line}\n!! {text}\n{line}", file=sys.stderr, flush=True)


def found_or_skip(config: pytest.Config, found: T | None, why: str, what: str, tests: str) -> T:
    """`found`, or the test fails (CI) or is skipped loudly: `what` is NOT available."""
    if found is None:
        if in_ci():
            pytest.fail(f"{what} NOT available ({why}); under CI=true that is a failure")
        message = f"{what} NOT available ({why}): {tests} SKIPPED"
        loud(config, message)
        pytest.skip(message)
    return found
