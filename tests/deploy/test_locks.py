"""The hashed locks (tools/locks.py): generated from pyproject.toml's ranges, current with
them, every pin hashed, the runtime lock free of test tools, the dev lock pinned like it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools import locks

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[([^\]]*)\])?==([^\s\\]+)")


def pins(lock: str) -> dict[str, str]:
    return {name: version for name, (version, _) in pinned_with_extras(lock).items()}


def pinned_with_extras(lock: str) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, the extras the lock names with it: `pydantic[email]==2.14.3`)."""
    out = {}
    for line in (ROOT / lock).read_text().splitlines():
        m = PIN.match(line)
        if m:
            extras = {e.strip() for e in (m.group(2) or "").split(",") if e.strip()}
            out[canonicalize_name(m.group(1))] = (m.group(3), extras)
    return out


@pytest.mark.parametrize("lock", sorted(locks.LOCKS))
def test_a_lock_is_current_with_pyproject(lock: str) -> None:
    assert locks.recorded(lock) == locks.digest(locks.LOCKS[lock]), (
        f"{lock} was made from other dependencies than pyproject.toml's: run `make lock`"
    )
    pinned = pinned_with_extras(lock)
    wanted = locks.inputs(locks.LOCKS[lock])
    for spec in [*wanted["dependencies"], *(r for reqs in wanted["extras"].values() for r in reqs)]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pinned, f"{lock} lacks {name}"
        version, extras = pinned[name]
        assert req.specifier.contains(version, prereleases=True), f"{lock}: {name}=={version} is not {spec}"
        # installed with --no-deps: an extra's packages are there only if the lock resolved it
        assert set(req.extras) <= extras, f"{lock}: {name} without the extras {sorted(set(req.extras) - extras)}"


@pytest.mark.parametrize("lock", sorted(locks.LOCKS))
def test_every_pin_has_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])
    entries = [b for b in blocks if PIN.match(b)]
    assert entries and all("--hash=sha256:" in b for b in entries)


def test_the_runtime_lock_has_no_test_tools_and_the_dev_lock_agrees_with_it() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    test_only = {
        canonicalize_name(Requirement(r).name)
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    }
    test_only -= {canonicalize_name(n) for n in ("opentelemetry-sdk",)}  # also a runtime (tracing) extra
    assert not (test_only & set(runtime)), test_only & set(runtime)
    assert {"pytest", "ruff", "mypy", "schemathesis"} <= set(dev)
    assert {n: dev.get(n) for n in runtime} == runtime, "the dev lock pins what the image runs, at the same versions"
