"""`make test`: lint, then the whole suite on SQLite and on PostgreSQL.

PostgreSQL is found at TEST_DATABASE_URL (an admin URL: the suite creates and drops a
throwaway database there), else at the local default. When it cannot be reached the run
says so loudly and, under CI=true, fails.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

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


def main() -> int:
    extra = sys.argv[1:]
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "service", "tests", "migrations"])
    if lint.returncode:
        banner("ruff found problems")
        return lint.returncode
    print("== suite on SQLite ==", flush=True)
    env = {**os.environ, "TEST_DB": "sqlite"}
    codes = [subprocess.run([sys.executable, "-m", "pytest", *extra], env=env).returncode]

    admin = pg_admin_url()
    problem = asyncio.run(_reachable(admin))
    if problem:
        banner(f"PostgreSQL NOT reachable at {admin.split('@')[-1]} ({problem}): PostgreSQL suite SKIPPED")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            banner("CI=true: an unreachable PostgreSQL is a failure")
            return 1
    else:
        print("== suite on PostgreSQL ==", flush=True)
        env = {**os.environ, "TEST_DB": "postgresql", "TEST_DATABASE_URL": admin}
        codes.append(subprocess.run([sys.executable, "-m", "pytest", *extra], env=env).returncode)
    failed = [c for c in codes if c != 0]
    if failed:
        banner("test suite FAILED")
        return failed[0]
    print(f"all suites passed ({len(codes)} database backend(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
