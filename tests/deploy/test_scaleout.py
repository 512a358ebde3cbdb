"""Scale-out: PgBouncer-safe engine options, the read replica used by the read-heavy
lists, and readiness during a rolling upgrade (database ahead of the code)."""

from __future__ import annotations

import os

from sqlalchemy import event, text

from service.config import get_settings
from service.db import Database, database, engine_options, make_engine
from service.web.health import known_revisions, migration_heads, schema_ready
from tests.conftest import BACKEND, Tenant


def test_default_engine_options_cache_statements_and_set_the_timeout(monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "db_pgbouncer", False)
    options = engine_options(statement_timeout_ms=1500)
    args = options["connect_args"]
    assert args["statement_cache_size"] == args["prepared_statement_cache_size"] == 100
    assert args["server_settings"] == {"statement_timeout": "1500"}
    assert "prepared_statement_name_func" not in args
    assert options["pool_pre_ping"] is False  # a dead connection is retried instead (kit/retry)
    monkeypatch.setattr(get_settings(), "db_pool_pre_ping", True)
    assert engine_options()["pool_pre_ping"] is True
    assert "server_settings" not in engine_options(statement_timeout_ms=0)["connect_args"]


def test_pgbouncer_mode_keeps_no_session_state(monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "db_pgbouncer", True)
    args = engine_options(statement_timeout_ms=1500)["connect_args"]
    assert args["statement_cache_size"] == args["prepared_statement_cache_size"] == 0
    assert "server_settings" not in args, "PgBouncer refuses unknown startup parameters"
    names = {args["prepared_statement_name_func"]() for _ in range(50)}
    assert len(names) == 50 and all(n.startswith("__asyncpg_") for n in names)


async def test_pgbouncer_mode_runs_queries(monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "db_pgbouncer", True)
    engine = make_engine(os.environ["DATABASE_URL"], statement_timeout_ms=1000)
    try:
        async with engine.connect() as conn:
            for n in range(3):  # the same statement again: uniquely named, never looked up
                assert (await conn.execute(text("SELECT :n + 1"), {"n": n})).scalar() == n + 1
            if BACKEND == "postgresql":
                timeout = (await conn.execute(text("SHOW statement_timeout"))).scalar()
                assert timeout != "1s", "in PgBouncer mode the timeout comes from the role"
    finally:
        await engine.dispose()


async def test_the_timeout_reaches_postgresql_as_a_startup_setting(monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "db_pgbouncer", False)
    monkeypatch.setattr(get_settings(), "db_statement_timeout_ms", 4321)
    db = Database(os.environ["DATABASE_URL"])
    try:
        async with db.engine.connect() as conn:
            if BACKEND == "postgresql":
                assert (await conn.execute(text("SHOW statement_timeout"))).scalar() == "4321ms"
            else:  # SQLite has no statement timeout: its engine takes no such option
                assert db.engine.dialect.name == "sqlite"
                assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.dispose()


async def test_read_replica_engine_and_fallback() -> None:
    url = os.environ["DATABASE_URL"]
    plain = Database(url)
    assert plain.read_engine is plain.engine and plain.read_sessions is plain.sessions
    replicated = Database(url, read_url=url)
    try:
        assert replicated.read_engine is not replicated.engine
        assert str(replicated.read_engine.url) == str(replicated.engine.url)
        async with replicated.read_sessions() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await plain.dispose()
        await replicated.dispose()


async def test_read_heavy_lists_read_from_the_replica(team: Tenant, monkeypatch) -> None:
    monkeypatch.setattr(database, "_read_url", database.url)
    checkouts: list[int] = []
    try:
        event.listen(database.read_engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
        assert database.read_engine is not database.engine
        cycle = await team.client.post(
            "/api/v1/cycles",
            headers=team.hr,
            json={"name": "Q1", "cadence": "quarterly", "start_date": "2026-01-01", "end_date": "2026-03-31"},
        )
        assert cycle.status_code == 201
        assert not checkouts, "writes stay on the primary"
        audit = await team.client.get("/api/v1/audit-events", headers=team.auditor)
        assert audit.status_code == 200 and audit.json()["items"]
        assert len(checkouts) == 1
        scores = await team.client.get(f"/api/v1/cycles/{cycle.json()['id']}/scores", headers=team.hr)
        assert scores.status_code == 200 and len(scores.json()["items"]) == 6
        assert len(checkouts) == 2
        assert (await team.client.get("/api/v1/employees", headers=team.hr)).status_code == 200
        assert len(checkouts) == 2, "other lists stay on the primary"
        denied = await team.client.get("/api/v1/audit-events", headers=team.employee("alice"))
        assert denied.status_code == 403, "authorization is unchanged on the replica"
    finally:
        engine = database._read_engine
        database._read_engine = None
        database._read_sessions = None
        if engine is not None:
            await engine.dispose()


def test_readiness_accepts_a_database_at_or_ahead_of_the_code() -> None:
    heads = frozenset({"a2", "b1"})
    known = frozenset({"a1", "a2", "b1", "base"})
    assert schema_ready(frozenset({"a2", "b1"}), heads, known)
    assert schema_ready(frozenset({"a3", "b1"}), heads, known), "a newer release migrated branch a"
    assert schema_ready(frozenset({"merge9"}), heads, known), "a newer release merged the branches"
    assert not schema_ready(frozenset({"a1", "b1"}), heads, known), "behind on branch a"
    assert not schema_ready(frozenset({"a2"}), heads, known), "branch b never applied"
    assert not schema_ready(frozenset(), heads, known), "nothing applied"


async def test_readyz_is_ready_on_the_migrated_database(client) -> None:
    resp = await client.get("/readyz")
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["migrations"]["current"]) == set(migration_heads())
    assert migration_heads() <= known_revisions()
