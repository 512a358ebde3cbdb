"""Reads straight on the driver (service/kit/direct_reads.py): the same values as the
ORM, the driver path taken only where it may be, one operation at a time on a session,
and driver errors raised as SQLAlchemy would raise them."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import DBAPIError

from service.db import DIRECT_READS, Database, database
from service.kit.direct_reads import DirectRead
from service.org import repository as repo
from service.org.models import Employee
from tests.conftest import BACKEND, Tenant, statement_hook

PG = BACKEND == "postgresql"
_E = Employee.__table__.c
BY_ID = DirectRead(select(Employee.__table__).where(_E.org_id == bindparam("org_id"), _E.id == bindparam("id")))
PID = DirectRead(select(func.pg_backend_pid().label("pid"))) if PG else None


async def test_a_row_holds_what_the_orm_would(tenant: Tenant):
    """Every column, value and type, in a read-only session and in a writing one. A
    percentage of 10 comes back as Decimal('10'), not the driver's Decimal('1E+1')."""
    emp = await tenant.add_employee(
        "ann",
        hire_date="2024-02-29",
        compensation={"base_salary_minor": 12345678, "currency": "EUR", "target_bonus_pct": "10"},
    )
    emp_id = uuid.UUID(emp["id"])
    async with database.sessions() as session:
        orm = await session.get(Employee, (tenant.org_id, emp_id))
        expected = {c.key: getattr(orm, c.key) for c in Employee.__table__.columns}
        written = await BY_ID.first(session, org_id=tenant.org_id, id=emp_id)
    async with database.reader_sessions() as session:
        read = await repo.read_employee(session, tenant.org_id, emp_id)
    for row in (read, written):
        assert row._asdict() == expected
        assert {k: type(v) for k, v in row._asdict().items()} == {k: type(v) for k, v in expected.items()}
    assert str(read.target_bonus_pct) == "10" and read.target_bonus_pct == Decimal(10)
    assert read.created_at.tzinfo is not None and read.created_at.utcoffset() == dt.timedelta(0)
    assert read.hire_date == dt.date(2024, 2, 29)


async def test_a_missing_row_is_none_and_all_lists_every_row(tenant: Tenant):
    await tenant.add_employee("ann")
    await tenant.add_employee("bob")
    every = DirectRead(select(_E.given_name).where(_E.org_id == bindparam("org_id")).order_by(_E.given_name))
    async with database.reader_sessions() as session:
        assert await BY_ID.first(session, org_id=tenant.org_id, id=uuid.uuid4()) is None
        assert [r.given_name for r in await every.all(session, org_id=tenant.org_id)] == ["Ann", "Bob"]


async def test_a_get_reads_on_the_driver_only_on_postgresql(tenant: Tenant):
    """SQLAlchemy sees the employee SELECT of GET /employees/{id} on SQLite only; on
    PostgreSQL it goes straight to asyncpg. A write request reads through SQLAlchemy."""
    emp = await tenant.add_employee("ann")
    url = f"/api/v1/employees/{emp['id']}"
    assert (await tenant.client.get(url, headers=tenant.hr)).status_code == 200  # warm: tenancy check cached
    seen: list[str] = []
    with statement_hook(seen.append):
        resp = await tenant.client.get(url, headers=tenant.hr)
    assert resp.status_code == 200 and resp.json()["given_name"] == "Ann"
    assert len([s for s in seen if "FROM employees" in s]) == (0 if PG else 1)
    async with database.sessions() as session:  # a writing session has no engine to borrow from
        assert DIRECT_READS not in session.info
        seen.clear()
        with statement_hook(seen.append):
            assert (await BY_ID.first(session, org_id=tenant.org_id, id=uuid.UUID(emp["id"]))).given_name == "Ann"
        assert len([s for s in seen if "FROM employees" in s]) == 1


async def test_concurrent_reads_on_one_session_take_turns(tenant: Tenant):
    """GraphQL resolves fields concurrently over one session: the reads queue, none fails."""
    ids = [uuid.UUID((await tenant.add_employee(f"e{i}"))["id"]) for i in range(5)]
    async with database.reader_sessions() as session:
        await session.execute(select(1))  # the session now holds a connection: the reads share it
        rows = await asyncio.gather(*(BY_ID.first(session, org_id=tenant.org_id, id=i) for i in ids * 4))
    assert [r.id for r in rows] == ids * 4


if PG:  # the driver path exists on PostgreSQL only (SQLite reads through SQLAlchemy)

    async def test_the_session_connection_is_used_when_it_holds_one_else_one_is_borrowed():
        async with database.reader_sessions() as session:
            borrowed = (await PID.first(session)).pid
            assert not session.in_transaction()  # borrowed for the one statement, given back
            own = (await session.execute(select(func.pg_backend_pid()))).scalar()
            assert (await PID.first(session)).pid == own
        assert isinstance(borrowed, int)

    async def test_a_driver_error_is_raised_as_sqlalchemy_raises_it():
        """A statement timeout on the driver comes out as SQLAlchemy's DBAPIError with the
        SQLSTATE (which the problem handlers answer with 503), on the direct-read pool and
        on a session's connection alike, and the next read is served."""
        db = Database(database.url, statement_timeout_ms=100)
        slow = DirectRead(select(func.pg_sleep(bindparam("seconds")).label("slept")))
        try:
            async with db.reader_sessions() as session:
                assert session.info[DIRECT_READS] is db
                with pytest.raises(DBAPIError) as on_pool:
                    await slow.first(session, seconds=1)
                await session.execute(select(1))  # now on the session's connection
                with pytest.raises(DBAPIError) as on_session:
                    await slow.first(session, seconds=1)
            for failed in (on_pool, on_session):
                assert getattr(failed.value.orig, "sqlstate", None) == "57014"
            setting = DirectRead(select(func.current_setting("statement_timeout").label("value")))
            async with db.reader_sessions() as session:
                assert (await slow.first(session, seconds=0)) is not None
                assert (await setting.first(session)).value == "100ms"  # the pool has the engine's settings
        finally:
            await db.dispose()

    async def test_a_get_survives_its_pooled_connections_being_terminated(tenant: Tenant):
        """Every pooled connection is killed (a failover); the next GET /employees/{id}, read
        on the driver, fails on its dead connection, is run again and answers 200."""
        from tests.faults.test_database_faults import terminate_every_client_backend

        emp = await tenant.add_employee("ann")
        url = f"/api/v1/employees/{emp['id']}"
        assert (await tenant.client.get(url, headers=tenant.hr)).status_code == 200
        assert await terminate_every_client_backend() >= 1
        answers = await asyncio.gather(*(tenant.client.get(url, headers=tenant.hr) for _ in range(5)))
        assert [a.status_code for a in answers] == [200] * 5
        # the main pool's idle connections died too: the first write finds that out and runs again
        created = await tenant.client.post("/api/v1/departments", headers=tenant.hr, json={"name": "After"})
        assert created.status_code == 201


def test_behind_pgbouncer_reads_run_in_a_transaction_and_never_direct(monkeypatch):
    """With `DB_PGBOUNCER` (transaction pooling) a read cannot run a statement over two
    round trips outside a transaction: direct reads are off, and read sessions are not
    autocommit (bench/README.md has the figures behind keeping direct reads off)."""
    from service.config import get_settings
    from service.db import Database

    monkeypatch.setattr(get_settings(), "db_pgbouncer", True)
    db = Database("postgresql+asyncpg://u@127.0.0.1:1/x")
    assert db.direct_reads is None
    bind = db.reader_sessions.kw["bind"]
    assert bind.get_execution_options().get("isolation_level") is None
    monkeypatch.setattr(get_settings(), "db_pgbouncer", False)
    plain = Database("postgresql+asyncpg://u@127.0.0.1:1/x")
    assert plain.reader_sessions.kw["bind"].get_execution_options()["isolation_level"] == "AUTOCOMMIT"
