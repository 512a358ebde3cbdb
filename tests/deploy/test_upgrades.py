"""Upgrades and backups, rehearsed on throwaway databases of the suite's backend (SQLite
files, or PostgreSQL databases made beside the suite's own):

- an empty database migrated up to head, down to base (nothing left but
  `alembic_version`) and up again has exactly the schema of the first upgrade;
- a database filled at the previous release's head (`PREVIOUS_RELEASE`) and then upgraded
  answers the API exactly as a database built at head with the same data, before and
  after the refresh job stores its scores;
- a backup restored into an empty database (PostgreSQL: `pg_dump -Fc` and `pg_restore`;
  SQLite: the online backup of `.backup`) passes the checks of docs/operations.md,
  "Backup and restore", and answers the API as the original.

The data is the demo organization (service/demo.py: employees, cycles, objectives, key
results, check-ins, KPIs, evaluations, finalized scores of record, incentives). It is
loaded at head and copied, row by row, into the tables and columns that exist at
`PREVIOUS_RELEASE` (`copy_rows`): the demo loader speaks the current models, which an
older schema may not have, while a copy needs only that every column the old schema
requires still exists at head (a migration that drops one says here what to fill)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from service.auth.tokens import issue_token
from service.db import database, run_on
from service.demo import DEMO_ORG_ID, _id, load_demo
from service.migrate import alembic_config, downgrade, upgrade
from service.web.health import migration_heads
from tests import citus
from tests.conftest import BACKEND, bearer

# The head of the release before this one: the test below fills a database migrated to
# it and upgrades that to head. When a release is cut, set it to the head that release
# ships (`alembic heads`, the last file of migrations/versions): from then on every
# migration added for the next release is rehearsed against data the released one wrote.
PREVIOUS_RELEASE = "0021"


# --- throwaway databases -------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(label: str) -> AsyncIterator[str]:
    """The URL of an empty database, dropped afterwards."""
    if BACKEND != "postgresql":
        folder = tempfile.mkdtemp(prefix=f"perf-{label}-")
        try:
            yield f"sqlite+aiosqlite:///{folder}/{label}.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import asyncpg

    from tests.conftest import _admin

    name = f"perf_{label}_{uuid.uuid4().hex[:10]}"

    async def as_admin(statement: str) -> None:
        admin = await asyncpg.connect(_admin)
        try:
            await admin.execute(statement)
        finally:
            await admin.close()

    await (citus.create_database(name) if citus.enabled() else as_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
    finally:
        await database.dispose()  # in case the API still holds a connection to it
        await (
            citus.drop_database(name) if citus.enabled() else as_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


@contextlib.asynccontextmanager
async def serving(url: str) -> AsyncIterator[None]:
    """The process's database (what the API, the demo loader and the jobs use) is `url`
    for the block."""
    saved = database._url
    await database.dispose()
    database._url = url
    try:
        yield
    finally:
        await database.dispose()
        database._url = saved


def current_revisions(conn: sa.Connection) -> set[str]:
    return {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}


# --- the schema, as the database reports it ----------------------------------------


def schema_of(conn: sa.Connection) -> dict[str, Any]:
    """Every table with its columns (type, nullability, default), keys, indexes, unique,
    foreign-key and check constraints; and, as the database itself describes them, its
    objects: SQLite's `sqlite_master` rows (the CREATE statements), PostgreSQL's index,
    constraint, trigger and function definitions."""
    insp = sa.inspect(conn)
    tables: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        tables[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in insp.get_columns(name)
            ],
            "primary_key": insp.get_pk_constraint(name),
            "indexes": sorted(_described(i) for i in insp.get_indexes(name)),
            "unique": sorted(_described(u) for u in insp.get_unique_constraints(name)),
            "foreign_keys": sorted(_described(f) for f in insp.get_foreign_keys(name)),
            "checks": sorted(_described(c) for c in insp.get_check_constraints(name)),
        }
    if conn.dialect.name == "sqlite":
        objects = sorted(
            (kind, name, table, _lines(sql))
            for kind, name, table, sql in conn.execute(sa.text("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        )
    else:
        objects = sorted(
            [
                *conn.execute(
                    sa.text("SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
                ),
                *conn.execute(
                    sa.text(
                        "SELECT 'constraint', c.conname, c.conrelid::regclass::text || ' ' || "
                        "pg_get_constraintdef(c.oid) FROM pg_constraint c "
                        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
                    )
                ),
                *conn.execute(
                    sa.text("SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")
                ),
                *conn.execute(
                    sa.text(_OWN_FUNCTIONS.replace("{what}", "'function', p.proname, pg_get_functiondef(p.oid)"))
                ),
                *conn.execute(sa.text(_OWN_TYPES.replace("{what}", "'type', t.typname, t.typtype::text"))),
                *conn.execute(sa.text("SELECT 'sequence', sequencename, data_type::text FROM pg_sequences")),
                *conn.execute(sa.text("SELECT 'view', viewname, definition FROM pg_views WHERE schemaname = 'public'")),
            ]
        )
    return {"tables": tables, "objects": [tuple(o) for o in objects]}


def _described(found: dict[str, Any]) -> str:
    """A reflected index or constraint as text (a partial index's WHERE is a clause)."""
    return repr(sorted((key, _text(value)) for key, value in found.items()))


def _text(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((k, _text(v)) for k, v in value.items())
    return str(value) if isinstance(value, sa.ClauseElement) else value


def _lines(sql: str | None) -> tuple[str, ...]:
    """A CREATE statement's lines, sorted: Alembic's batch mode (SQLite's ALTER TABLE)
    writes a rebuilt table's constraints in an order of its own, not always the same; the
    order of the columns is checked on the reflected table."""
    return tuple(sorted(line.strip().rstrip(",").strip() for line in (sql or "").splitlines()))


# Functions and types of the public schema that no extension owns (pg_trgm's stay: an
# extension is the database's, not the migrations', and 0014 leaves it in place).
_NOT_AN_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass AND d.objid = {oid} "
    "AND d.deptype = 'e')"
)
_OWN_FUNCTIONS = (
    "SELECT {what} FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'public' AND " + _NOT_AN_EXTENSION_MEMBER.format(catalog="pg_proc", oid="p.oid")
)
_OWN_TYPES = (
    "SELECT {what} FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm') AND "
    + _NOT_AN_EXTENSION_MEMBER.format(catalog="pg_type", oid="t.oid")
)


async def test_migrations_go_up_down_to_base_and_up_again_to_the_same_schema():
    async with scratch_database("updown") as url:
        upgrade(url)
        first = await run_on(url, schema_of)
        assert len(first["tables"]) > 30 and first["objects"]
        assert await run_on(url, current_revisions) == set(migration_heads())

        downgrade(url, "base")
        base = await run_on(url, schema_of)
        assert list(base["tables"]) == ["alembic_version"]
        assert await run_on(url, current_revisions) == set()
        if BACKEND == "postgresql":
            left = [o for o in base["objects"] if not (o[0] in ("index", "constraint") and "alembic_version" in o[2])]
            assert left == [], left  # no function, trigger, type, sequence or view either
        else:
            assert [o[:2] for o in base["objects"]] == [
                ("index", "sqlite_autoindex_alembic_version_1"),
                ("table", "alembic_version"),
            ]

        upgrade(url)
        again = await run_on(url, schema_of)
        assert again["tables"] == first["tables"]
        assert again["objects"] == first["objects"]


# --- the previous release's data, upgraded ------------------------------------------


def copy_rows(source: sa.Connection, target: sa.Connection) -> dict[str, int]:
    """Every row of `source` (a database at head) into `target` (an empty database at an
    older revision), in the tables and columns the target has; answers the rows per
    table. Like a data-only `pg_restore --disable-triggers`, foreign keys are not checked
    while the rows go in (they are consistent already, and departments and employees
    refer to each other): PostgreSQL fires no trigger in the `replica` role, and a plain
    SQLite connection enforces no foreign key. A column the target requires that `source`
    no longer has fails here."""
    old = sa.MetaData()
    old.reflect(target)
    new = sa.MetaData()
    new.reflect(source)
    if target.dialect.name == "postgresql":
        target.execute(sa.text("SET LOCAL session_replication_role = replica"))
    counts: dict[str, int] = {}
    for table in old.sorted_tables:
        if table.name == "alembic_version" or table.name not in new.tables:
            continue
        have = new.tables[table.name]
        columns = [c for c in table.columns if c.name in have.columns]
        missing = [
            c.name for c in table.columns if c.name not in have.columns and not c.nullable and c.server_default is None
        ]
        assert not missing, f"{table.name}: {missing} exist at {PREVIOUS_RELEASE} only; say what to fill"
        rows = [dict(r._mapping) for r in source.execute(sa.select(*(have.c[c.name] for c in columns)))]
        if rows:
            target.execute(table.insert(), rows)
        counts[table.name] = len(rows)
    return counts


async def on_both(source_url: str, target_url: str, fn: Any) -> Any:
    """`fn(source_connection, target_connection)`, the target's work committed."""
    source = create_async_engine(source_url)
    target = create_async_engine(target_url)
    try:
        async with source.connect() as s, target.begin() as t:
            return await t.run_sync(lambda tc: fn(s.sync_connection, tc))
    finally:
        await source.dispose()
        await target.dispose()


def _token(roles: list[str], employee: str | None = None) -> dict[str, str]:
    return bearer(
        issue_token(
            org_id=DEMO_ORG_ID,
            sub=f"rehearsal-{'-'.join(roles)}",
            roles=roles,
            employee_id=_id("emp:" + employee) if employee else None,
        )
    )


async def api_answers(client: httpx.AsyncClient) -> dict[str, Any]:
    """What the API answers about the demo organization: the lists, and what they name
    (every objective, key result's check-ins, KPI assignment's measurements and incentive
    result; every cycle's scores, sorted two ways; two people's scores and versions in
    each cycle), as HR, an administrator and a manager (Ada Lovelace) see them."""
    hr, admin, manager = _token(["hr"]), _token(["admin"]), _token(["employee"], "E002")
    answers: dict[str, Any] = {}

    async def get(path: str, headers: dict[str, str], who: str) -> Any:
        resp = await client.get(path, headers=headers)
        answers[f"{who} {path}"] = (resp.status_code, resp.headers.get("etag"), resp.json())
        assert resp.status_code == 200, (path, resp.text)
        return resp.json()

    def items(body: Any) -> list[dict[str, Any]]:
        return body["items"] if isinstance(body, dict) else body

    for path in (
        "/api/v1/organization",
        "/api/v1/departments",
        "/api/v1/positions",
        "/api/v1/evaluations",
        "/api/v1/kpi-definitions",
        "/api/v1/incentive-plans",
        "/api/v1/calibrations",
        "/api/v1/nominations",
        "/api/v1/development-plans",
        "/api/v1/scoring-policies",
    ):
        await get(path, hr, "hr")
    employees = items(await get("/api/v1/employees?limit=100", hr, "hr"))
    await get("/api/v1/employees?limit=100", manager, "manager")
    objectives = items(await get("/api/v1/objectives?limit=100", hr, "hr"))
    key_results = items(await get("/api/v1/key-results?limit=100", hr, "hr"))
    assignments = items(await get("/api/v1/kpi-assignments?limit=100", hr, "hr"))
    results = items(await get("/api/v1/incentive-results?limit=100", hr, "hr"))
    await get("/api/v1/payroll/incentive-results", admin, "admin")
    cycles = items(await get("/api/v1/cycles?limit=100", hr, "hr"))
    assert len(employees) == 15 and objectives and key_results and assignments and results and cycles
    for objective in objectives:
        await get(f"/api/v1/objectives/{objective['id']}", hr, "hr")
    for key_result in key_results:
        await get(f"/api/v1/key-results/{key_result['id']}/check-ins", hr, "hr")
    for assignment in assignments:
        await get(f"/api/v1/kpi-assignments/{assignment['id']}/measurements", hr, "hr")
    for result in results:
        await get(f"/api/v1/incentive-results/{result['id']}", hr, "hr")
    scored = 0
    for cycle in cycles:
        for who, headers in (("hr", hr), ("manager", manager)):
            scores = items(await get(f"/api/v1/cycles/{cycle['id']}/scores?limit=100", headers, who))
            await get(f"/api/v1/cycles/{cycle['id']}/scores?limit=100&sort=-final", headers, who)
            scored += len(scores)
        for employee in ("E002", "E008"):
            base = f"/api/v1/cycles/{cycle['id']}/scores/{_id('emp:' + employee)}"
            await get(base, hr, "hr")
            await get(base + "/versions", hr, "hr")
    assert scored
    return answers


async def stored_cycles(url: str) -> tuple[int, int]:
    """(cycles of the demo organization, of them stored and complete)."""

    def count(conn: sa.Connection) -> tuple[int, int]:
        org = DEMO_ORG_ID.hex if conn.dialect.name == "sqlite" else DEMO_ORG_ID
        cycles = conn.execute(sa.text("SELECT count(*) FROM cycles WHERE org_id = :o"), {"o": org}).scalar_one()
        complete = conn.execute(
            sa.text("SELECT count(*) FROM score_freshness WHERE org_id = :o AND complete_version = version"),
            {"o": org},
        ).scalar_one()
        return cycles, complete

    return await run_on(url, count)


def improvement_actions(conn: sa.Connection) -> list[tuple[Any, ...]]:
    """The rows of `improvement_actions` (0026), in order."""
    t = sa.table(
        "improvement_actions",
        *(sa.column(c) for c in ("org_id", "review_meeting_id", "action_index", "owner_id", "due_date", "status")),
    )
    return [tuple(str(v) for v in row) for row in conn.execute(sa.select(t).order_by(*t.c))]


def row_counts(conn: sa.Connection) -> dict[str, int]:
    """Rows per table and organization (docs/operations.md: what to compare after a restore)."""
    counts: dict[str, int] = {}
    for name in sa.inspect(conn).get_table_names():
        grouped = "org_id" in {c["name"] for c in sa.inspect(conn).get_columns(name)}
        sql = f"SELECT org_id, count(*) FROM {name} GROUP BY org_id" if grouped else f"SELECT '', count(*) FROM {name}"
        for org, count in conn.execute(sa.text(sql)):
            counts[f"{name} {org}"] = count
    return counts


async def store_scores() -> None:
    """The worker's refresh round for the demo organization, run to the end."""
    from service.scoring import jobs

    await jobs.refresh(100, org_id=DEMO_ORG_ID)
    await jobs.drain(org_id=DEMO_ORG_ID)


def assert_same(found: dict[str, Any], expected: dict[str, Any]) -> None:
    assert found.keys() == expected.keys()
    differing = [key for key in expected if found[key] != expected[key]]
    assert not differing, (differing[:5], found[differing[0]], expected[differing[0]])


async def test_a_database_of_the_previous_release_upgrades_and_answers_the_same(client: httpx.AsyncClient):
    script = ScriptDirectory.from_config(alembic_config())
    assert PREVIOUS_RELEASE in {r.revision for r in script.iterate_revisions("heads", "base")}
    async with scratch_database("head") as head_url, scratch_database("previous") as old_url:
        upgrade(head_url)
        async with serving(head_url):
            await load_demo()
            expected = await api_answers(client)
        cycles, complete = await stored_cycles(head_url)
        assert cycles and complete == cycles  # the demo stores its scores: the lists read them

        upgrade(old_url, PREVIOUS_RELEASE)
        assert await run_on(old_url, current_revisions) == {PREVIOUS_RELEASE}
        counts = await on_both(head_url, old_url, copy_rows)
        for table in ("employees", "cycles", "objectives", "key_results", "check_ins", "kpi_assignments"):
            assert counts[table], table
        for table in ("evaluations", "score_records", "incentive_results"):
            assert counts[table], table
        upgrade(old_url)
        assert await run_on(old_url, current_revisions) == set(migration_heads())
        # What migrations derive from the copied rows (0026: the improvement actions of
        # the review meetings' plans) is what the services wrote at head.
        derived = await run_on(head_url, improvement_actions)
        assert derived and await run_on(old_url, improvement_actions) == derived
        if "score_freshness" not in counts:  # a release before stored scores: none stored yet
            assert await stored_cycles(old_url) == (cycles, 0)

        async with serving(old_url):
            assert_same(await api_answers(client), expected)  # lists computed live where not stored
            await store_scores()
        assert await stored_cycles(old_url) == (cycles, cycles)
        async with serving(old_url):
            assert_same(await api_answers(client), expected)  # and read from the stored rows


# --- backup and restore --------------------------------------------------------------


def _pg_tool(name: str) -> str:
    from tests import apt

    found, why = apt.ensure("postgresql-client", [name])
    assert found, f"{name} is needed to rehearse a restore: {why}"
    return found


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def backup_and_restore(source_url: str, target_url: str, folder: str) -> None:
    """docs/operations.md, "Backup and restore": PostgreSQL's custom-format dump restored
    into an empty database; SQLite's online backup (what `.backup` does) as a new file."""
    if BACKEND == "postgresql":
        dump = os.path.join(folder, "perf.dump")
        subprocess.run([_pg_tool("pg_dump"), "-Fc", "-f", dump, _libpq(source_url)], check=True, timeout=300)
        subprocess.run(
            [
                _pg_tool("pg_restore"),
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "-d",
                _libpq(target_url),
                dump,
            ],
            check=True,
            timeout=300,
        )
        return
    source = sqlite3.connect(source_url.split("///", 1)[1])
    target = sqlite3.connect(target_url.split("///", 1)[1])
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


async def test_a_backup_restores_into_an_empty_database_and_answers_the_same(client: httpx.AsyncClient):
    async with scratch_database("original") as original, scratch_database("restored") as restored:
        upgrade(original)
        async with serving(original):
            await load_demo()
            expected = await api_answers(client)
        with tempfile.TemporaryDirectory() as folder:
            await asyncio.to_thread(backup_and_restore, original, restored, folder)

        # the checks after a restore
        assert await run_on(restored, current_revisions) == set(migration_heads())
        before = await run_on(restored, schema_of)
        upgrade(restored)  # `python -m service migrate`: nothing to do
        assert await run_on(restored, schema_of) == before
        assert await run_on(restored, current_revisions) == set(migration_heads())
        assert await run_on(restored, row_counts) == await run_on(original, row_counts)
        assert await stored_cycles(restored) == await stored_cycles(original)
        async with serving(restored):
            for path in ("/healthz", "/readyz"):
                resp = await client.get(path)
                assert resp.status_code == 200, (path, resp.text)
            assert_same(await api_answers(client), expected)
