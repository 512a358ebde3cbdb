"""Database faults: errors another transaction or the database itself causes, injected
where a real one would surface (before a statement reaches the driver) on both backends,
and on PostgreSQL also made for real: backends terminated mid-request and mid-bulk-import
(`pg_terminate_backend` from an admin connection) and a real statement timeout."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service.db import database
from service.errors import Conflict, PreconditionFailed
from service.kit.retry import ATTEMPTS, ConcurrentChange, is_transient
from tests.conftest import BACKEND, Tenant, statement_hook

D = "/api/v1/departments"
E = "/api/v1/employees"


class DriverError(Exception):
    """Stands for the driver's exception: asyncpg's carry the SQLSTATE."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@contextmanager
def failing(statement_prefix: str, make: Callable[[str], BaseException], times: int) -> Iterator[list[str]]:
    """The first `times` statements starting with the prefix fail with `make(statement)`."""
    fired: list[str] = []

    def before(statement: str) -> None:
        if statement.lstrip().upper().startswith(statement_prefix) and len(fired) < times:
            fired.append(statement)
            raise make(statement)

    with statement_hook(before):
        yield fired


def sqlstate(code: str, message: str) -> Callable[[str], BaseException]:
    return lambda stmt: OperationalError(stmt, None, DriverError(message, code))


def sqlite_locked(stmt: str) -> BaseException:
    return OperationalError(stmt, None, sqlite3.OperationalError("database is locked"))


async def names(t: Tenant) -> list[str]:
    resp = await t.client.get(D, headers=t.hr, params={"limit": 500})
    return [d["name"] for d in resp.json()["items"]]


TRANSIENT = {
    "serialization failure": sqlstate("40001", "could not serialize access due to concurrent update"),
    "deadlock": sqlstate("40P01", "deadlock detected"),
    "sqlite lock": sqlite_locked,
}


@pytest.mark.parametrize("kind", list(TRANSIENT))
async def test_a_transient_failure_runs_the_request_again(tenant: Tenant, kind: str):
    with failing("INSERT INTO DEPARTMENTS", TRANSIENT[kind], times=ATTEMPTS - 1) as fired:
        resp = await tenant.client.post(D, headers=tenant.hr, json={"name": "Research"})
    assert resp.status_code == 201, resp.text
    assert len(fired) == ATTEMPTS - 1  # failed twice, the third run went through
    assert await names(tenant) == ["Research"]  # executed once: the failed runs left nothing


@pytest.mark.parametrize("kind", list(TRANSIENT))
async def test_a_failure_that_persists_answers_503_with_retry_after(tenant: Tenant, kind: str):
    with failing("INSERT INTO DEPARTMENTS", TRANSIENT[kind], times=100) as fired:
        resp = await tenant.client.post(D, headers=tenant.hr, json={"name": "Research"})
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert int(resp.headers["retry-after"]) >= 1
    assert len(fired) == ATTEMPTS
    assert await names(tenant) == []
    ok = await tenant.client.post(D, headers=tenant.hr, json={"name": "Research"})
    assert ok.status_code == 201  # and the next request is served as usual


async def test_a_statement_timeout_answers_503_never_500(tenant: Tenant):
    timeout = sqlstate("57014", "canceling statement due to statement timeout")
    with failing("SELECT", timeout, times=100) as fired:
        resp = await tenant.client.get(E, headers=tenant.hr)
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == 503 and body.get("reason") == "statement-timeout"
    assert int(resp.headers["retry-after"]) >= 1
    assert len(fired) == 1  # a timeout is not retried at once: the client waits Retry-After


async def test_a_saturated_connection_pool_answers_503_never_500(tenant: Tenant):
    """Every pooled connection busy for the pool's timeout (SQLAlchemy's TimeoutError):
    the server is saturated, so the client is told to come back, and nothing was written."""
    saturated = lambda stmt: PoolTimeout("QueuePool limit of size 32 overflow 0 reached, connection timed out")  # noqa: E731
    with failing("INSERT INTO DEPARTMENTS", saturated, times=100) as fired:
        resp = await tenant.client.post(D, headers=tenant.hr, json={"name": "Research"})
    assert resp.status_code == 503, resp.text
    assert resp.json()["reason"] == "pool-timeout"
    assert int(resp.headers["retry-after"]) >= 1
    assert len(fired) == 1 and await names(tenant) == []


def test_only_races_are_retried():
    """A stale If-Match, a constraint violation or a timeout needs the client, not a rerun."""
    assert is_transient(ConcurrentChange())
    assert is_transient(TRANSIENT["deadlock"]("UPDATE x"))
    assert not is_transient(PreconditionFailed())
    assert not is_transient(Conflict())
    assert not is_transient(sqlstate("57014", "canceling statement")("SELECT 1"))
    assert not is_transient(sqlstate("23505", "duplicate key")("INSERT"))


if BACKEND == "postgresql":
    import asyncpg

    from service.db import make_engine
    from tests import citus
    from tests.conftest import _admin

    # The row lock another connection holds (by organization: on Citus that routes to
    # the one shard; a FOR UPDATE without it is a multi-shard query Citus refuses).
    LOCK_EMPLOYEE = "SELECT 1 FROM employees WHERE org_id = $1 AND id = $2 FOR UPDATE"
    # The backends waiting on a lock: on Citus they wait on a worker, and citus_lock_waits
    # names each by the global pid of its coordinator backend (pg_terminate_backend takes it).
    LOCK_WAITERS = (
        "SELECT DISTINCT waiting_gpid AS pid FROM citus_lock_waits"
        if citus.enabled()
        else "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database() AND pid <> pg_backend_pid()"
    )

    TERMINATE = "SELECT pg_terminate_backend($1::bigint)" if citus.enabled() else "SELECT pg_terminate_backend($1)"

    def app_db_url() -> str:
        return _admin.rsplit("/", 1)[0] + "/" + database.url.rsplit("/", 1)[1]

    async def wait_for_lock_waiters(admin: asyncpg.Connection, task: asyncio.Task[Any]) -> list[int]:
        """The backends waiting on a lock, once the request's is among them (within 60 s:
        the suites of both backends may share two busy cores). `admin` holds the lock in an
        open transaction, where pg_stat_activity keeps the snapshot of its first read: each
        poll clears it."""
        for _ in range(1200):
            await admin.execute("SELECT pg_stat_clear_snapshot()")
            pids = [r["pid"] for r in await admin.fetch(LOCK_WAITERS)]
            if pids:
                return pids
            if task.done():
                resp = task.result()
                raise AssertionError(f"the request ended without waiting: {resp.status_code} {resp.text[:500]}")
            await asyncio.sleep(0.05)
        raise AssertionError("no request reached the lock")

    async def test_backend_terminated_mid_request(tenant: Tenant):
        """The PATCH waits on a row lock held elsewhere; its backend is terminated; the
        request runs again on a fresh connection and applies its change exactly once."""
        emp = await tenant.add_employee("ann")
        admin = await asyncpg.connect(app_db_url())
        try:
            tr = admin.transaction()
            await tr.start()
            await admin.execute(LOCK_EMPLOYEE, tenant.org_id, emp["id"])
            task = asyncio.create_task(
                tenant.client.patch(f"{E}/{emp['id']}", headers=tenant.hr, json={"given_name": "Renamed"})
            )
            (pid,) = await wait_for_lock_waiters(admin, task)
            assert await admin.fetchval(TERMINATE, pid)
            await tr.rollback()
            resp = await asyncio.wait_for(task, 30)
        finally:
            await admin.close()
        assert resp.status_code == 200, resp.text
        now = await tenant.client.get(f"{E}/{emp['id']}", headers=tenant.hr)
        assert now.json()["given_name"] == "Renamed"
        assert now.headers["etag"] == '"2"'  # one change, not two

    async def test_backend_terminated_mid_bulk_import_leaves_no_partial_write(tenant: Tenant):
        """The import inserts its new rows, then waits to update a locked one; killed there,
        its inserts roll back: the run that follows creates every row itself."""
        locked = await tenant.add_employee("locked")
        rows = [
            {"external_id": f"new-{i}", "email": f"n{i}@example.com", "given_name": "New", "family_name": str(i)}
            for i in range(500)
        ]
        rows.append(
            {
                "external_id": locked["external_id"],
                "email": "locked@example.com",
                "given_name": "Changed",
                "family_name": "Test",
            }
        )
        admin = await asyncpg.connect(app_db_url())
        try:
            tr = admin.transaction()
            await tr.start()
            await admin.execute(LOCK_EMPLOYEE, tenant.org_id, locked["id"])
            task = asyncio.create_task(tenant.client.post(f"{E}/bulk", headers=tenant.as_("hr"), json={"rows": rows}))
            (pid,) = await wait_for_lock_waiters(admin, task)
            # the import's own inserts are not visible outside its transaction
            assert await admin.fetchval("SELECT count(*) FROM employees WHERE org_id = $1", tenant.org_id) == 1
            assert await admin.fetchval(TERMINATE, pid)
            await asyncio.sleep(0.2)
            assert (
                await admin.fetchval("SELECT count(*) FROM employees WHERE org_id = $1", tenant.org_id) == 1
            )  # nothing of the killed run stayed
            await tr.rollback()
            resp = await asyncio.wait_for(task, 60)
        finally:
            await admin.close()
        assert resp.status_code == 200, resp.text
        outcomes = [r["outcome"] for r in resp.json()["results"]]
        assert outcomes == ["created"] * 500 + ["updated"]
        listed = await tenant.client.get(E, headers=tenant.hr, params={"limit": 500})
        assert len(listed.json()["items"]) == 500  # 501 rows, first page of 500

    async def terminate_every_client_backend() -> int:
        """What a database restart or failover does to every pooled connection."""
        admin = await asyncpg.connect(app_db_url())
        try:
            return await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        finally:
            await admin.close()

    async def test_pool_recovers_after_every_connection_is_terminated(tenant: Tenant):
        """A database restart or failover drops every pooled connection at once; the pool
        sees the first statement on a dead one fail, drops every connection older than it, and
        the request runs again on a fresh one (kit/retry): nobody notices."""
        assert (await tenant.client.get(D, headers=tenant.hr)).status_code == 200
        assert await terminate_every_client_backend() >= 1
        answers = await asyncio.gather(*(tenant.client.get(D, headers=tenant.hr) for _ in range(10)))
        assert [a.status_code for a in answers] == [200] * 10
        created = await tenant.client.post(D, headers=tenant.hr, json={"name": "After"})
        assert created.status_code == 201

    async def test_real_statement_timeout_answers_503(tenant: Tenant, monkeypatch):
        """An engine with a 300 ms statement timeout; an UPDATE that waits longer on a row
        lock is cancelled by PostgreSQL (SQLSTATE 57014) and answered 503, not 500."""
        emp = await tenant.add_employee("ann")
        await database.dispose()
        engine = make_engine(database.url, statement_timeout_ms=300)
        monkeypatch.setattr(database, "_engine", engine)
        admin = await asyncpg.connect(app_db_url())
        try:
            tr = admin.transaction()
            await tr.start()
            await admin.execute(LOCK_EMPLOYEE, tenant.org_id, emp["id"])
            resp = await tenant.client.patch(f"{E}/{emp['id']}", headers=tenant.hr, json={"given_name": "X"})
            await tr.rollback()
        finally:
            await admin.close()
            await engine.dispose()
        assert resp.status_code == 503, resp.text
        assert resp.json()["reason"] == "statement-timeout"
        assert int(resp.headers["retry-after"]) >= 1
        monkeypatch.undo()
        await database.dispose()
        now = await tenant.client.get(f"{E}/{emp['id']}", headers=tenant.hr)
        assert now.json()["given_name"] == "Ann"
