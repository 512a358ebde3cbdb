"""The dependency locks: `requirements.lock` (what the image installs: the service and its
tracing) and `requirements-dev.lock` (what `make` installs: that and the test tools),
both generated with uv from the ranges in pyproject.toml, every pin with its hashes.

    make lock        # after changing a dependency in pyproject.toml

Each lock records a digest of the inputs it was made from (`# inputs-sha256: ...`);
tests/deploy/test_locks.py fails when pyproject.toml's dependencies changed since.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"requirements.lock": ("otel",), "requirements-dev.lock": ("otel", "test")}
MARK = "# inputs-sha256: "


def inputs(extras: tuple[str, ...]) -> dict[str, Any]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "requires-python": project["requires-python"],
        "dependencies": project["dependencies"],
        "extras": {name: project["optional-dependencies"][name] for name in extras},
    }


def digest(extras: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(inputs(extras), sort_keys=True).encode()).hexdigest()


def recorded(lock: str) -> str | None:
    for line in (ROOT / lock).read_text().splitlines():
        if line.startswith(MARK):
            return line.removeprefix(MARK).strip()
    return None


def stamp(lock: str) -> None:
    path = ROOT / lock
    lines = [line for line in path.read_text().splitlines() if not line.startswith(MARK)]
    path.write_text("\n".join([MARK + digest(LOCKS[lock]), *lines]) + "\n")


if __name__ == "__main__":
    for name in sys.argv[1:] or LOCKS:
        stamp(name)
