"""Installing a Debian package a test needs (Chromium, PgBouncer), once per machine: the
package stays installed, and apt's cache keeps the download, between runs.

`make test` runs the SQLite and PostgreSQL suites side by side, so two installs can start
at once: apt waits for the other's dpkg lock (`DPkg::Lock::Timeout`) instead of failing on
it, and the second finds the package installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

LOCK_WAIT_SECONDS = 900


def find(candidates: Sequence[str]) -> str | None:
    """The first candidate that is an executable on PATH or an executable file."""
    for name in candidates:
        found = shutil.which(name) or (name if os.path.isfile(name) and os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


def ensure(package: str, candidates: Sequence[str]) -> tuple[str | None, str]:
    """The package's binary, installing the package when absent; or None and why."""
    if find(candidates):
        return find(candidates), "installed"
    if not shutil.which("apt-get"):
        return None, f"no apt-get to install {package} with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = [*([] if os.geteuid() == 0 else ["sudo", "-n"]), "apt-get", "-o", f"DPkg::Lock::Timeout={LOCK_WAIT_SECONDS}"]
    install = [*apt, "install", "-y", "-q", "--no-install-recommends", package]
    budget = LOCK_WAIT_SECONDS + 1200
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=budget, check=False)
    if done.returncode != 0 and not find(candidates):  # a stale package index: refresh it once, try again
        subprocess.run([*apt, "update", "-q"], env=env, capture_output=True, timeout=budget, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=budget, check=False)
    if find(candidates):
        return find(candidates), "installed now"
    return None, f"apt-get install {package} failed: {done.stderr.strip()[-300:]}"
