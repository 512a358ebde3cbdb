"""A real browser for the tests: headless Chromium from Debian's packages
(tests/deploy/test_browser.py).

Debian's `chromium` is installed when absent (apt-get, once per machine: the package stays
installed, and apt's cache keeps the download, between runs), the way tests/pgbouncer.py
installs PgBouncer. `load` opens one page with a throwaway profile and answers the DOM
once the page's scripts are done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

CANDIDATES = ("chromium", "/usr/bin/chromium", "chromium-browser")
# What a test browser must not do on its own: sync, update components, phone home, or
# show first-run pages; QUIC off so every request is plain HTTP/1.1 over loopback.
FLAGS = (
    "--headless",
    "--no-sandbox",  # the suite runs as root, which Chromium's sandbox refuses
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
)


def binary() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name) or (name if os.path.isfile(name) and os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


def ensure_installed() -> tuple[str | None, str]:
    """The chromium binary, installing Debian's package when absent; or None and why."""
    if binary():
        return binary(), "installed"
    if not shutil.which("apt-get"):
        return None, "no apt-get to install chromium with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200, check=False)
    if done.returncode != 0:  # a stale package index: refresh it once and try again
        subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, capture_output=True, timeout=600, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200, check=False)
    if binary():
        return binary(), "installed now"
    return None, f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"


def load(exe: str, url: str, budget_ms: int = 20000, timeout: float = 90) -> str:
    """The DOM of `url` as Chromium serializes it after the page has run: `--dump-dom`
    prints it once the virtual time budget is spent, and virtual time stands still while
    a network request is pending, so every fetch() the page starts has finished (or
    failed) by then, however slow the machine."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout
