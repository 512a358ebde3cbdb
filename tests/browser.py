"""A real browser for the tests: headless Chromium from Debian's packages
(tests/deploy/test_browser.py).

Debian's `chromium` is installed when absent (tests/apt.py, as PgBouncer is). `load`
opens one page with a throwaway profile and answers the DOM once the page's scripts are
done.
"""

from __future__ import annotations

import subprocess
import tempfile

from tests import apt

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
    return apt.find(CANDIDATES)


def ensure_installed() -> tuple[str | None, str]:
    """The chromium binary, installing Debian's package when absent (tests/apt.py); or None and why."""
    return apt.ensure("chromium", CANDIDATES)


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
