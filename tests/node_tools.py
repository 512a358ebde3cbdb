"""The client tools of the tests (tests/node/package.json: graphql-schema-linter, Apollo
Client, GraphQL Code Generator; Redocly CLI, openapi-typescript, openapi-fetch,
TypeScript), a locked npm project installed once per machine.

`ensure_installed` copies tests/node/package.json and its package-lock.json into a cache
directory named after both files' hash (~/.cache/perf-service/node/graphql-tools-<hash>;
`PERF_SERVICE_CACHE` moves the root) and runs `npm ci` there, so a changed lock installs
afresh and an unchanged one costs nothing; a file lock keeps two test processes (the
SQLite and PostgreSQL runs) from installing at once. Install scripts are not run: none of
these tools needs one. The tools run with node, as `node <script>` with that directory's
node_modules, or through its `.bin`.

When node or npm is missing, or the install fails, the tests that need the tools are
skipped with a loud banner; under `CI=true` they fail instead (the `node_tools` fixture).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.required import found_or_skip

PROJECT = Path(__file__).resolve().parent / "node"
FILES = ("package.json", "package-lock.json")
DONE = ".installed"  # written last: a directory without it is an install that did not finish


def cache_root() -> Path:
    return Path(os.environ.get("PERF_SERVICE_CACHE") or Path.home() / ".cache" / "perf-service") / "node"


def project_dir() -> Path:
    digest = hashlib.sha256()
    for name in FILES:
        digest.update((PROJECT / name).read_bytes())
    return cache_root() / f"graphql-tools-{digest.hexdigest()[:16]}"


def ensure_installed() -> tuple[Path | None, str]:
    """The installed project's directory, installing it when absent; or None and why."""
    target = project_dir()
    if (target / DONE).exists():
        return target, "installed"
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, "node and npm are needed (node 20 or later)"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing the same project
        if (target / DONE).exists():
            return target, "installed"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for name in FILES:
            shutil.copyfile(PROJECT / name, target / name)
        cmd = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
        done = subprocess.run(cmd, cwd=target, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            return None, f"npm ci failed: {(done.stderr or done.stdout).strip()[-500:]}"
        (target / DONE).write_text("ok\n")
    return target, "installed now"


@pytest.fixture(scope="module")
def node_tools(request: pytest.FixtureRequest) -> Path:
    """The installed tools' directory: skipped loudly without them, failed under CI."""
    where, why = ensure_installed()
    return found_or_skip(request.config, where, why, "the client tools (tests/node) are", "their tests are")


def run(where: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """A command of the installed project (`.bin/<tool>` or `node <script>`); its stdout,
    or an assertion error with its output."""
    done = subprocess.run(
        list(args),
        cwd=cwd or where,
        env={**os.environ, "NODE_PATH": str(where / "node_modules"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"[-6000:])
    return done.stdout
