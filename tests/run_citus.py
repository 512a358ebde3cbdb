"""`make test-citus`: the PostgreSQL suite on a real three-node Citus cluster.

1. Starts the cluster with the cluster script (CITUS_CLUSTER_SCRIPT, by default
   ../shared/citus/cluster.sh from the project root): it builds Citus once (cached in
   ~/.cache, outside the clone), starts a coordinator and two workers (CITUS_PORT, +1, +2)
   and (re)creates the database `citus_suite` with the extension on all three.
2. Migrates that database with `python -m service migrate`, which distributes every table
   (service/citus.py), then runs `python -m service citus-distribute`, which must find
   nothing left to do.
3. Runs the suite with TEST_CITUS_URL at the coordinator: the suite's own throwaway
   database is created on every node with the extension (tests/citus.py) and migrated
   the same way. Extra arguments go to pytest (`make test-citus ARGS=tests`: all of it);
   without any, the subset CITUS_TESTS below runs.

Without the script the run is skipped with a loud banner, and fails under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.run_suites import banner, in_ci

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCRIPT = "../shared/citus/cluster.sh"
SUITE_DB = "citus_suite"
# What `make test-citus` runs by default: the tests of everything Citus treats differently
# from one PostgreSQL. The suite without the fuzzers took about 50 minutes on Citus on two
# cores (every statement crosses the coordinator), the fuzzers would take over an hour
# more, CI has 25 minutes for everything, and the rest of the suite runs the same
# statements through the same code paths (`make test-citus ARGS=tests` runs all of it).
# The subset: the distribution itself and the schema it leaves; row locks,
# races and faults (locks live on the workers); the webhook outbox, deliveries and workers
# (cross-organization claims); the calibration and score-of-record workflows (triggers that
# fire on the shards); payroll and bulk imports (many rows in one transaction); lists
# narrowed to a manager's subtree (a recursive CTE, which Citus runs on one shard only);
# integration clients (the one lookup across organizations); SCIM; the smoke test.
CITUS_TESTS = [
    "tests/deploy/test_citus.py",
    "tests/deploy/test_migrations.py",
    "tests/deploy/test_search_indexes.py",
    "tests/concurrency",
    "tests/faults",
    "tests/webhooks/test_engine.py",
    "tests/webhooks/test_citus.py",
    "tests/webhooks/test_rounds.py",
    "tests/webhooks/test_delivery.py",
    "tests/evaluations/test_calibration.py",
    "tests/evaluations/test_workflow.py",
    "tests/evaluations/test_end_to_end.py",
    "tests/scoring/test_score_of_record.py",
    "tests/development/test_plans.py",
    "tests/kpi/test_assignment_dates.py",
    "tests/incentives/test_nomination_history.py",
    "tests/scoring/test_jobs.py",
    "tests/scoring/test_stored_scores.py",
    "tests/incentives/test_payroll.py",
    "tests/incentives/test_graphql_search_sort.py",
    "tests/org/test_bulk_employees.py",
    "tests/org/test_search_sort.py",
    "tests/kpi/test_bulk.py",
    "tests/auth/test_integration_clients.py",
    "tests/scim/test_users.py",
    "tests/scim/test_groups.py",
    "tests/test_smoke.py",
    "tests/tenants/test_lifecycle.py",  # export, import, delete (the shards' guard triggers admit it)
    "tests/privacy/test_subject_rights.py",  # the audit redaction the triggers admit
    "tests/meetings/test_meetings.py",
    "tests/meetings/test_actions.py",  # the overdue round: a claim across organizations
    "tests/meetings/test_improvement_overdue.py",
]


def _origin() -> Path | None:
    """The directory this checkout was cloned from, when that is a local path."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "remote", "get-url", "origin"], capture_output=True, text=True, check=False
    )
    url = done.stdout.strip().removeprefix("file://")
    return Path(url) if done.returncode == 0 and url.startswith("/") else None


def cluster_script() -> Path:
    """CITUS_CLUSTER_SCRIPT when set (relative to the project root); else the default path
    from the project root, or from the local repository this checkout was cloned from (a
    fresh clone elsewhere, as CI makes, finds the script beside its origin)."""
    given = os.environ.get("CITUS_CLUSTER_SCRIPT")
    roots = [ROOT] if given else [ROOT, *filter(None, [_origin()])]
    candidates = [(root / (given or DEFAULT_SCRIPT)).resolve() for root in roots]
    return next((c for c in candidates if c.is_file()), candidates[0])


def _service(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "service", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    sys.stdout.write(done.stdout)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"`python -m service {' '.join(args)}` failed on the Citus coordinator")
    return done.stdout


def main() -> int:
    script = cluster_script()
    if sys.argv[1:] == ["--locate"]:  # .ci/run: is there a cluster to run on?
        print(script)
        return 0 if script.is_file() else 1
    if not script.is_file():
        banner(f"Citus cluster script NOT found at {script} (CITUS_CLUSTER_SCRIPT): the Citus suite is SKIPPED")
        return 1 if in_ci() else 0
    started = time.monotonic()
    print(f"== starting the Citus cluster ({script}) ==", flush=True)
    done = subprocess.run(["bash", str(script), "start", SUITE_DB], capture_output=True, text=True, check=False)
    urls = [line for line in done.stdout.splitlines() if line.startswith("postgresql://")]
    if done.returncode or not urls:
        sys.stdout.write(done.stdout + done.stderr)
        banner(f"the Citus cluster did not start (exit {done.returncode})")
        return done.returncode or 1
    url = urls[-1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    print(f"== coordinator {url.split('@')[-1]}: migrate and distribute ==", flush=True)
    env = {**os.environ, "DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://")}
    migrated = _service(env, "migrate")
    if "citus:" not in migrated:
        banner("`migrate` did not run the distribution step on the coordinator")
        return 1
    if "citus: 0 tables distributed" not in _service(env, "citus-distribute"):
        banner("`citus-distribute` found tables the migration left undistributed")
        return 1
    print("== the suite on Citus ==", flush=True)
    env = {**os.environ, "TEST_DB": "postgresql", "TEST_CITUS_URL": admin, "TEST_DATABASE_URL": admin}
    args = sys.argv[1:] or CITUS_TESTS
    code = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], env=env, cwd=ROOT
    ).returncode
    minutes = (time.monotonic() - started) / 60
    if code:
        banner(f"the suite FAILED on Citus ({minutes:.1f} min)")
    else:
        print(f"the suite passed on Citus ({minutes:.1f} min)")
    return code


if __name__ == "__main__":
    sys.exit(main())
