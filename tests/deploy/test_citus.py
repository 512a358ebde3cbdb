"""Every table distributes by organization (Citus): `org_id` is in every primary key, in
every foreign key and in every unique constraint, on the models and on the migrated
database. docs/operations.md ("Scale-out design") lists the distribution columns.

On a Citus coordinator (TEST_CITUS_URL, tests/citus.py) the last tests check it for real:
after the migrations (which end with service/citus.py's distribution step) every table
is distributed by its column and co-located with `organizations`, the step is
idempotent, and a later migration that adds a table gets it distributed."""

from __future__ import annotations

import asyncio
import os
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import UniqueConstraint, inspect, text

from service import citus as service_citus
from service.db import Base, database, make_engine
from service.migrate import ROOT, alembic_config, upgrade
from service.models import load_all
from service.web.health import migration_heads
from tests import citus

# The organizations table is distributed by its own id (the organization id itself).
DISTRIBUTION_COLUMN = service_citus.DISTRIBUTION_COLUMN
# Unique constraints that deliberately do not include org_id, with the reason.
GLOBAL_UNIQUES = {
    # /oauth/token looks a client up by client_id alone, before it knows the organization.
    # On Citus this becomes unique (org_id, client_id) plus a plain index on client_id; ids
    # are 128 random bits, so they stay globally unique without the constraint.
    ("integration_clients", ("client_id",)),
}


def tables() -> dict[str, Any]:
    load_all()
    return dict(Base.metadata.tables)


def column_of(table: str) -> str:
    return DISTRIBUTION_COLUMN.get(table, "org_id")


def test_every_table_is_keyed_by_organization() -> None:
    found = tables()
    assert len(found) >= 20
    for name, table in found.items():
        pk = [c.name for c in table.primary_key.columns]
        assert column_of(name) in pk, f"{name}: primary key {pk} lacks {column_of(name)}"
        if name not in DISTRIBUTION_COLUMN:
            assert pk[0] == "org_id", f"{name}: org_id leads the primary key"


def test_every_foreign_key_includes_the_organization() -> None:
    for name, table in tables().items():
        for fk in table.foreign_key_constraints:
            local = [c.name for c in fk.columns]
            remote = [e.column.name for e in fk.elements]
            target = fk.referred_table.name
            assert column_of(name) in local, f"{name} -> {target}: {local} lacks {column_of(name)}"
            pairs = dict(zip(local, remote, strict=True))
            assert pairs[column_of(name)] == column_of(target), (
                f"{name} -> {target}: the organization column must reference the organization column"
            )


def test_every_unique_constraint_includes_the_organization() -> None:
    for name, table in tables().items():
        uniques = [tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)]
        uniques += [tuple(c.name for c in i.columns) for i in table.indexes if i.unique]
        for cols in uniques:
            if (name, cols) in GLOBAL_UNIQUES:
                continue
            assert column_of(name) in cols, f"{name}: unique {cols} lacks {column_of(name)}"


def test_the_exceptions_are_still_real() -> None:
    """An exception that no longer exists must be removed from the list (and docs/operations.md)."""
    found = tables()
    for name, cols in GLOBAL_UNIQUES:
        table = found[name]
        uniques = {tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)}
        assert cols in uniques


def _reflect(sync_conn) -> dict[str, dict[str, Any]]:
    insp = inspect(sync_conn)
    out: dict[str, dict[str, Any]] = {}
    for name in insp.get_table_names():
        if name == "alembic_version":
            continue
        out[name] = {
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "fks": [
                (fk["constrained_columns"], fk["referred_table"], fk["referred_columns"])
                for fk in insp.get_foreign_keys(name)
            ],
            "uniques": [tuple(u["column_names"]) for u in insp.get_unique_constraints(name)]
            + [tuple(i["column_names"]) for i in insp.get_indexes(name) if i["unique"]],
        }
    return out


async def test_the_migrated_database_follows_the_same_rule() -> None:
    async with database.engine.connect() as conn:
        schema = await conn.run_sync(_reflect)
    assert set(tables()) <= set(schema), "every model table exists in the migrated database"
    for name, info in schema.items():
        col = column_of(name)
        assert col in info["pk"], f"{name}: primary key {info['pk']}"
        for local, target, remote in info["fks"]:
            assert dict(zip(local, remote, strict=True)).get(col) == column_of(target), (name, target, local)
        for cols in info["uniques"]:
            assert col in cols or (name, cols) in GLOBAL_UNIQUES, f"{name}: unique {cols}"


ON_CITUS = pytest.mark.skipif(not citus.enabled(), reason="needs a Citus coordinator (TEST_CITUS_URL, tests/citus.py)")


def _distribution(sync_conn) -> tuple[dict[str, tuple[str, int]], list[str]]:
    return service_citus.distributed_tables(sync_conn), inspect(sync_conn).get_table_names()


def _not_distributed(done: dict[str, tuple[str, int]], names: set[str]) -> list[str]:
    """Every table of `names` that is not distributed by its column, co-located with
    organizations, each with what is wrong."""
    root = done.get("organizations", ("", -1))[1]
    problems = []
    for name in sorted(names - service_citus.LOCAL_TABLES):
        if name not in done:
            problems.append(f"{name}: not distributed")
        elif done[name][0] != column_of(name):
            problems.append(f"{name}: distributed by {done[name][0]}, not {column_of(name)}")
        elif done[name][1] != root:
            problems.append(f"{name}: not co-located with organizations")
    return problems


@ON_CITUS
async def test_every_table_is_distributed_by_organization() -> None:
    async with database.engine.connect() as conn:
        done, present = await conn.run_sync(_distribution)
    assert _not_distributed(done, set(tables()) | set(present)) == []
    assert "alembic_version" in present and "alembic_version" not in done


@ON_CITUS
async def test_the_client_id_unique_is_replaced_on_citus() -> None:
    def read(sync_conn) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
        insp = inspect(sync_conn)
        uniques = [tuple(u["column_names"]) for u in insp.get_unique_constraints("integration_clients")]
        plain = [tuple(i["column_names"]) for i in insp.get_indexes("integration_clients") if not i["unique"]]
        return uniques, plain

    async with database.engine.connect() as conn:
        uniques, plain = await conn.run_sync(read)
    assert ("org_id", "client_id") in uniques and ("client_id",) not in uniques
    assert ("client_id",) in plain


@ON_CITUS
async def test_the_step_is_idempotent() -> None:
    outcome = await service_citus.distribute_url(os.environ["DATABASE_URL"])
    assert outcome is not None
    assert outcome.distributed == [] and outcome.replaced == []
    assert set(tables()) <= set(outcome.already)


PROBE_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "citus_probe"
down_revision = {heads!r}


def upgrade():
    op.create_table(
        "citus_probe",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["org_id", "employee_id"], ["employees.org_id", "employees.id"]),
        sa.PrimaryKeyConstraint("org_id", "id"),
    )
    op.add_column("employees", sa.Column("probe_note", sa.String(20), nullable=True))
"""


@ON_CITUS
async def test_a_later_migration_that_adds_a_table_gets_it_distributed(tmp_path: Path) -> None:
    """A fresh database migrated to the heads (distributed as it goes), then a migration
    written as any other (a table referencing distributed ones, a column added to a
    distributed table): the upgrade distributes the new table before it commits."""
    name = f"perf_citus_probe_{uuid.uuid4().hex[:8]}"
    await citus.create_database(name)
    url = citus.CITUS_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        first = await asyncio.to_thread(upgrade, url)
        assert first is not None and "organizations" in first.distributed
        heads = tuple(sorted(migration_heads()))
        (tmp_path / "9999_citus_probe.py").write_text(
            textwrap.dedent(PROBE_MIGRATION).format(heads=heads[0] if len(heads) == 1 else heads)
        )
        cfg = alembic_config(url)
        cfg.set_main_option(
            "version_locations", os.pathsep.join([str(ROOT / "migrations" / "versions"), str(tmp_path)])
        )
        await asyncio.to_thread(command.upgrade, cfg, "heads")
        outcome = cfg.attributes["citus"]
        assert outcome.distributed == ["citus_probe"]
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                done, present = await conn.run_sync(_distribution)
        finally:
            await engine.dispose()
        assert _not_distributed(done, set(present)) == []
        assert "citus_probe" in done
    finally:
        await citus.drop_database(name)


@ON_CITUS
async def test_requests_of_one_organization_route_to_one_shard(team) -> None:
    """With Citus told to refuse any statement that would run on several shards
    (`SET LOCAL citus.multi_task_query_log_level = 'error'` in every transaction of the
    app), the requests that once fanned out now answer: a list narrowed to a manager's
    subtree and sorted by name (the recursive CTE) and a score page (the current score
    records' subquery) name the organization, so each statement goes to one shard."""
    from sqlalchemy import event

    from tests.test_scoring_policies import make_cycle

    ids = {k: v["id"] for k, v in team.employees.items()}
    cycle = await make_cycle(team)

    def one_shard(conn: Any) -> None:
        conn.exec_driver_sql("SET LOCAL citus.multi_task_query_log_level = 'error'")

    event.listen(database.engine.sync_engine, "begin", one_shard)
    try:
        listed = await team.client.get(
            "/api/v1/employees",
            headers=team.hr,
            params={"manager_id": ids["boss"], "subtree": "true", "sort": "family_name,given_name"},
        )
        assert listed.status_code == 200, listed.text
        assert {i["id"] for i in listed.json()["items"]} == {ids[k] for k in ("lead", "carol", "alice", "bob")}
        scores = await team.client.get(f"/api/v1/cycles/{cycle['id']}/scores", headers=team.hr)
        assert scores.status_code == 200, scores.text
        # the same refusal does fire for a statement across organizations
        async with database.engine.connect() as conn:
            with pytest.raises(Exception, match="multi-task query about to be executed"):
                await conn.exec_driver_sql("SELECT count(*) FROM employees")
    finally:
        event.remove(database.engine.sync_engine, "begin", one_shard)


@ON_CITUS
async def test_guard_functions_replaced_later_are_replaced_on_every_node() -> None:
    """A database distributed at 0026, then upgraded: 0027's guard functions (which admit
    the deletion of one organization) are what every worker's shards run too."""
    name = f"perf_citus_guards_{uuid.uuid4().hex[:8]}"
    await citus.create_database(name)
    url = citus.CITUS_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        first = await asyncio.to_thread(upgrade, url, "0026")
        assert first is not None and "audit_events" in first.distributed
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text(
                            "SELECT nodeport, result FROM run_command_on_workers($$SELECT count(*) FROM pg_proc "
                            "WHERE prosrc LIKE '%perf.deleting_org%'$$)"
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        assert len(rows) >= 2 and {result for _, result in rows} == {"5"}, rows
    finally:
        await citus.drop_database(name)
