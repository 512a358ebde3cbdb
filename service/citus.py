"""Citus: every table distributed by organization (`python -m service citus-distribute`,
and the last step of `python -m service migrate` on a database with the `citus` extension).

`organizations` is distributed by `id`, every other table by `org_id` and co-located with
it, so all of one organization's rows live on one shard group and every join and foreign
key stays inside it. Tables are distributed in dependency order (a table after the tables
its foreign keys reference: Citus refuses a distributed table that references a local
one). The step is idempotent: a table already distributed is skipped, so it runs after
every migration. A migration that adds a table creates it as usual; its foreign keys to
distributed tables are accepted while it is local, and the step that follows the
migrations distributes it. `alembic_version` stays a local table of the coordinator.

The one exception in the schema: `integration_clients.client_id` is unique on its own
(`/oauth/token` finds a client before it knows the organization). Citus refuses a unique
constraint without the distribution column, so on Citus that constraint becomes a unique
`(org_id, client_id)` plus a plain index on `client_id` (client ids are 128 random bits:
they stay unique without the constraint). docs/operations.md ("Citus") has the steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from service.db import run_on

ROOT_TABLE = "organizations"
# The distribution column of each table that is not keyed by `org_id`.
DISTRIBUTION_COLUMN = {ROOT_TABLE: "id"}
# Tables that stay local to the coordinator (Alembic's bookkeeping).
LOCAL_TABLES = frozenset({"alembic_version"})

# The global unique constraint Citus cannot keep, and what replaces it there.
CLIENT_ID_UNIQUE = "uq_integration_clients_client_id"
CLIENT_ID_REPLACEMENTS = {
    "uq_integration_clients_org_id_client_id": (
        "ALTER TABLE integration_clients ADD CONSTRAINT uq_integration_clients_org_id_client_id "
        "UNIQUE (org_id, client_id)"
    ),
    "ix_integration_clients_client_id": (
        "CREATE INDEX ix_integration_clients_client_id ON integration_clients (client_id)"
    ),
}


class DistributionError(RuntimeError):
    """The schema holds something the step cannot distribute (named in the message)."""


@dataclass
class Outcome:
    distributed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


def column_of(table: str) -> str:
    return DISTRIBUTION_COLUMN.get(table, "org_id")


def has_citus(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool((conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))).first())


# Every ordinary table of the current schema with each of its columns.
TABLE_COLUMNS = (
    "SELECT c.relname, a.attname FROM pg_class c "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
    "WHERE c.relkind IN ('r', 'p') AND c.relnamespace = current_schema()::regnamespace AND NOT c.relispartition"
)
# Every table of the current schema with each other table its foreign keys reference.
TABLE_REFERENCES = (
    "SELECT r.relname, t.relname FROM pg_constraint c "
    "JOIN pg_class r ON r.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid "
    "WHERE c.contype = 'f' AND c.conrelid <> c.confrelid AND r.relnamespace = current_schema()::regnamespace"
)


def grouped(conn: Connection, sql: str) -> dict[str, set[str]]:
    """The (table, value) rows of `sql` as table -> its set of values."""
    out: dict[str, set[str]] = {}
    for table, value in conn.execute(text(sql)):
        out.setdefault(table, set()).add(value)
    return out


def distributed_tables(conn: Connection) -> dict[str, tuple[str, int]]:
    """Distributed tables of the current schema: name -> (distribution column, colocation id)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, column_to_column_name(p.logicalrelid, p.partkey), p.colocationid "
            "FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace"
        )
    )
    return {name: (column, colocation) for name, column, colocation in rows}


def dependency_order(tables: Iterable[str], references: dict[str, set[str]]) -> list[str]:
    """The tables, `organizations` first (the others are co-located with it), each after
    every table it references (ties by name, so the order is stable); a reference cycle is
    an error naming the tables in it."""
    pending = set(tables)
    order: list[str] = []
    if ROOT_TABLE in pending:
        order.append(ROOT_TABLE)
        pending.discard(ROOT_TABLE)
    while pending:
        ready = sorted(t for t in pending if not (references.get(t, set()) & pending))
        if not ready:
            raise DistributionError(f"foreign keys form a cycle among: {', '.join(sorted(pending))}")
        order.extend(ready)
        pending.difference_update(ready)
    return order


def _replace_client_id_unique(conn: Connection) -> list[str]:
    """The global unique constraint on `integration_clients.client_id` becomes a unique
    (org_id, client_id) plus an index on client_id (only what is not done yet)."""
    found = set(
        (
            conn.execute(
                text(
                    "SELECT conname FROM pg_constraint WHERE conrelid = 'integration_clients'::regclass "
                    "UNION SELECT indexrelid::regclass::text FROM pg_index "
                    "WHERE indrelid = 'integration_clients'::regclass"
                )
            )
        ).scalars()
    )
    done: list[str] = []
    if CLIENT_ID_UNIQUE in found:
        conn.execute(text(f"ALTER TABLE integration_clients DROP CONSTRAINT {CLIENT_ID_UNIQUE}"))
        done.append(f"dropped {CLIENT_ID_UNIQUE}")
    for name, ddl in CLIENT_ID_REPLACEMENTS.items():
        if name not in found:
            conn.execute(text(ddl))
            done.append(f"created {name}")
    return done


def distribute(conn: Connection) -> Outcome:
    """Distributes every table not distributed yet, in one transaction (the caller's):
    all of them or none. Raises `DistributionError` when the database has no `citus`
    extension or a table lacks its distribution column."""
    if not has_citus(conn):
        raise DistributionError("the database has no citus extension (CREATE EXTENSION citus)")
    allow_triggers(conn)  # the append-only and immutable-final tables have triggers
    outcome = Outcome()
    tables = {name: cols for name, cols in grouped(conn, TABLE_COLUMNS).items() if name not in LOCAL_TABLES}
    if ROOT_TABLE not in tables:
        raise DistributionError(f"no {ROOT_TABLE} table: run the migrations first")
    missing = sorted(name for name, cols in tables.items() if column_of(name) not in cols)
    if missing:
        raise DistributionError("tables without their distribution column: " + ", ".join(missing))
    done = distributed_tables(conn)
    wrong = sorted(name for name, (column, _) in done.items() if name in tables and column != column_of(name))
    if wrong:
        raise DistributionError("tables distributed by another column: " + ", ".join(wrong))
    outcome.already = sorted(name for name in tables if name in done)
    if "integration_clients" in tables:
        outcome.replaced = _replace_client_id_unique(conn)
    order = dependency_order((t for t in tables if t not in done), grouped(conn, TABLE_REFERENCES))
    # Rows of a table distributed now are copied to its shards; the coordinator's local
    # copy is then removed (hidden, but still on disk otherwise).
    with_rows = [t for t in order if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar()]
    for name in order:
        if name == ROOT_TABLE:
            conn.execute(text("SELECT create_distributed_table(:t, :c)"), {"t": name, "c": column_of(name)})
        else:
            conn.execute(
                text("SELECT create_distributed_table(:t, :c, colocate_with => :root)"),
                {"t": name, "c": column_of(name), "root": ROOT_TABLE},
            )
        outcome.distributed.append(name)
    if with_rows:
        _drop_local_copies(conn, with_rows)
    return outcome


def _drop_local_copies(conn: Connection, tables: list[str]) -> None:
    """`truncate_local_data_after_distributing_table` for each table (it cascades to the
    tables that reference it), with the append-only tables' TRUNCATE guards off meanwhile:
    it empties the coordinator's local copy only, never a shard."""
    guards = conn.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_proc f ON f.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND (t.tgtype & 32) <> 0 "
            "AND c.relnamespace = current_schema()::regnamespace AND f.pronamespace = c.relnamespace"
        )
    ).all()
    for table, trigger in guards:
        conn.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"'))
    for table in tables:
        conn.execute(text("SELECT truncate_local_data_after_distributing_table(:t)"), {"t": table})
    for table, trigger in guards:
        conn.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"'))


def allow_triggers(conn: Connection) -> None:
    """For the rest of the transaction: trigger DDL on distributed tables (a migration that
    creates or replaces a trigger) and distributing a table that has triggers. Citus calls
    triggers unsafe because it cannot know what they read; ours read their own row, or
    (the calibration entries') the session of the same organization, on the same shard
    group. Nothing on a database without the citus extension."""
    if has_citus(conn):
        conn.execute(text("SET LOCAL citus.enable_unsafe_triggers = on"))


def distribute_if_citus(conn: Connection) -> Outcome | None:
    """`distribute` when the database has the citus extension, else nothing (None)."""
    return distribute(conn) if has_citus(conn) else None


async def distribute_url(url: str) -> Outcome | None:
    """`distribute_if_citus` on the database at `url`, in one committed transaction."""
    return await run_on(url, distribute_if_citus)
