"""The trigram indexes of `q` (migration 0014, service/kit/search.py): on PostgreSQL with
pg_trgm they exist, are GIN trigram indexes, and the planner uses them for the very
queries the lists send (an index serves only the expression it was built on); on a
database where pg_trgm cannot be created the migration still succeeds, without them, and
search answers the same; SQLite has none."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from service.db import OPTIONAL_INDEXES, database
from service.kit.search import matches, terms
from service.okr.models import Objective
from service.org import repository
from service.org.models import Employee
from service.web.health import migration_heads
from tests.conftest import BACKEND


async def _indexes() -> dict[str, str]:
    async with database.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = await conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_%'"))
        else:
            rows = await conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
        return {r[0]: r[1] or "" for r in rows}


async def test_the_optional_indexes_exist_where_the_database_has_pg_trgm():
    found = await _indexes()
    assert found, "the migrated database has indexes"
    if BACKEND != "postgresql":
        assert not OPTIONAL_INDEXES & set(found)
        return
    for name in OPTIONAL_INDEXES:
        assert "USING gin" in found[name] and "gin_trgm_ops" in found[name], found[name]
    assert "given_name" in found["ix_employees_search"] and "external_id" in found["ix_employees_search"]


def _compiled(stmt) -> tuple[str, list]:
    """The statement as the service sends it to asyncpg: SQL with $n parameters, and them."""
    compiled = stmt.compile(dialect=asyncpg_dialect())
    return compiled.string, [compiled.params[name] for name in compiled.positiontup]


if BACKEND == "postgresql":
    import asyncpg

    from service.migrate import upgrade
    from tests import citus
    from tests.conftest import _admin

    async def _plan(stmt) -> str:
        sql, params = _compiled(stmt)
        async with database.engine.connect() as conn:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # tiny tables: make the choice visible
            rows = await conn.exec_driver_sql("EXPLAIN " + sql, tuple(params))
            plan = "\n".join(r[0] for r in rows)
            await conn.rollback()
            return plan

    @pytest.mark.skipif(citus.enabled(), reason=f"EXPLAIN plan: {citus.PLAIN_PG_ONLY} (a distributed plan)")
    async def test_the_planner_can_use_them_for_the_lists_search_conditions():
        """The search condition alone (without the organization, whose own index a small
        table prefers): its expression is the index's, so the index serves it."""
        words = terms("ada lovelace")
        employees = select(Employee.id).where(matches(repository.employee_search_text(), words))
        plan = await _plan(employees)
        assert "ix_employees_search" in plan and "~~*" in plan, plan
        objectives = select(Objective.id).where(matches(Objective.title, terms("grow 20%")))
        plan = await _plan(objectives)
        assert "ix_objectives_title_search" in plan, plan

    async def test_without_the_right_to_create_pg_trgm_the_migration_goes_on_without_indexes():
        """A role that owns nothing and may not create extensions in its database: the
        migrations still run, the search indexes are left out, and search works."""
        name = f"perf_noext_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(_admin)
        try:
            await admin.execute(f'CREATE ROLE "{name}" LOGIN')
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.execute(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC')
            owner = await asyncpg.connect(_admin.rsplit("/", 1)[0] + f"/{name}")
            try:
                await owner.execute(f'GRANT CREATE, USAGE ON SCHEMA public TO "{name}"')
            finally:
                await owner.close()
            host = _admin.split("@", 1)[1].rsplit("/", 1)[0]
            url = f"postgresql+asyncpg://{name}@{host}/{name}"
            upgrade(url)
            conn = await asyncpg.connect(f"postgresql://{name}@{host}/{name}")
            try:
                assert await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") == 0
                made = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes")}
                assert "ix_employees_org_manager" in made and not OPTIONAL_INDEXES & made
                assert {await conn.fetchval("SELECT version_num FROM alembic_version")} == set(migration_heads())
                await conn.execute(
                    "INSERT INTO organizations (id, name, currency, timezone, fiscal_year_start, settings, version, "
                    "created_at, updated_at) VALUES ($1, 'o', 'USD', 'UTC', '01-01', '{}', 1, now(), now())",
                    org := uuid.uuid4(),
                )
                await conn.execute(
                    "INSERT INTO employees (org_id, id, external_id, email, given_name, family_name, status, version, "
                    "created_at, updated_at) VALUES ($1, $2, 'x1', 'ada@example.com', 'Ada', 'Lovelace', 'active', 1, "
                    "now(), now())",
                    org,
                    uuid.uuid4(),
                )
                sql, params = _compiled(repository.employees_matching(org, terms("LOVE ada")))
                assert len(await conn.fetch(sql, *params)) == 1  # the same ILIKE, without the index
                sql, params = _compiled(repository.employees_matching(org, terms("love%")))
                assert await conn.fetch(sql, *params) == []  # `%` is itself
            finally:
                await conn.close()
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
            await admin.close()
