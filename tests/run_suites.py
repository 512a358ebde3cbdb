"""`make test`: format, lint and type checks, then the whole suite on SQLite and on PostgreSQL, then the
request-path, bulk, recompute, outbox and worker tests on PostgreSQL through a real
PgBouncer in transaction mode (tests/pgbouncer.py), as production runs them.

PostgreSQL is found at TEST_DATABASE_URL (an admin URL: the suite creates and drops a
throwaway database there), else at the local default. When it cannot be reached, or
PgBouncer cannot be installed, the run says so loudly and, under CI=true, fails.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from typing import Any

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _reachable(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(url), timeout=5)
    except Exception as exc:  # any failure to connect means unreachable
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def banner(text: str) -> None:
    line = "!" * 78
    print(f"\n{line}\n!! {text}\n{line}\n", flush=True)


def _start(backend: str, extra: list[str], env: dict[str, str], log: Any) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *extra],
        env={**env, "TEST_DB": backend},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


# What goes through PgBouncer: every test of a path that talks to the database on a
# request or in the background (the direct-read tests inspect a path that is off there).
PGBOUNCER_TESTS = [
    "tests/org/test_employees.py",
    "tests/org/test_employee_list.py",
    "tests/org/test_bulk_employees.py",
    "tests/test_routing.py",
    "tests/test_scores_graphql.py",
    "tests/kpi/test_bulk.py",
    "tests/kpi/test_measurements.py",
    "tests/scoring",
    "tests/webhooks",
    "tests/concurrency",
    "tests/incentives/test_payroll.py",
    "tests/okr/test_key_results.py",
    "tests/evaluations/test_calibration.py",
]


SOURCES = ["service", "tests", "migrations", "bench", "tools"]
# The habits every change keeps (the same as .pre-commit-config.yaml): one format, a clean
# lint, the types (mypy's configuration is in pyproject.toml: strict for the engine, the
# authorization rules, the kit and the incentive arithmetic).
CHECKS = [
    ("ruff format", ["ruff", "format", "--check", *SOURCES]),
    ("ruff", ["ruff", "check", *SOURCES]),
    ("mypy", ["mypy"]),
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pgbouncer_suite(admin: str, extra: list[str]) -> int:
    from tests.pgbouncer import ensure_installed, running

    exe, why = ensure_installed()
    if exe is None:
        banner(f"PgBouncer NOT available ({why}): the PgBouncer run is SKIPPED")
        return 1 if in_ci() else 0
    print(f"== request path, bulk, recompute, outbox and worker through PgBouncer ({exe}) ==", flush=True)
    with running(admin, exe) as url:
        env = {**os.environ, "TEST_DATABASE_URL": url, "DB_PGBOUNCER": "true"}
        return _start("postgresql", [*extra, *PGBOUNCER_TESTS], env, None).wait()


def main() -> int:
    """Both backends run at the same time (each suite is one mostly single-threaded
    process, so two cores halve the wall time); the SQLite run's output is shown once it
    has finished, the PostgreSQL run's as it happens."""
    extra = sys.argv[1:]
    for name, cmd in CHECKS:
        done = subprocess.run([sys.executable, "-m", *cmd])
        if done.returncode:
            banner(f"{name} found problems: run `{' '.join(cmd)}` (`make format` fixes formatting)")
            return done.returncode

    admin = pg_admin_url()
    problem = asyncio.run(_reachable(admin))
    if problem:
        banner(f"PostgreSQL NOT reachable at {admin.split('@')[-1]} ({problem}): PostgreSQL suite SKIPPED")
        if in_ci():
            banner("CI=true: an unreachable PostgreSQL is a failure")
            return 1

    with tempfile.TemporaryFile(mode="w+") as sqlite_log:
        sqlite_run = _start("sqlite", extra, dict(os.environ), sqlite_log)
        codes = []
        if not problem:
            print("== suite on PostgreSQL (SQLite runs alongside) ==", flush=True)
            pg = _start("postgresql", extra, {**os.environ, "TEST_DATABASE_URL": admin}, None)
            codes.append(pg.wait())
        codes.append(sqlite_run.wait())
        sqlite_log.seek(0)
        print("== suite on SQLite ==", flush=True)
        sys.stdout.write(sqlite_log.read())
        sys.stdout.flush()
    names = (["PostgreSQL"] if not problem else []) + ["SQLite"]
    if not problem and not any(a.startswith("tests/") or "::" in a for a in extra):
        codes.append(pgbouncer_suite(admin, extra))
        names.append("PostgreSQL through PgBouncer")
    failed = [(n, c) for n, c in zip(names, codes, strict=True) if c != 0]
    if failed:
        banner("test suite FAILED on " + ", ".join(n for n, _ in failed))
        return failed[0][1]
    print(f"all suites passed ({', '.join(names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
