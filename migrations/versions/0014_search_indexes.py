"""search: pg_trgm, and GIN trigram indexes on what `q` searches in the large lists

`q` is `ILIKE '%word%'` on both databases (service/kit/search.py); on PostgreSQL a GIN
trigram index (the `pg_trgm` extension) lets that use an index instead of reading every
row of the organization. Two expressions pay for one: an employee's search text (names,
email, external id: the directory, and the evaluations, scores and incentive results
searched by person) and an objective's title. The expressions are exactly the ones the
queries use (`service/org/repository.py` `employee_search_text`, `Objective.title`);
tests/deploy/test_search_indexes.py checks that the planner uses them.

Where the extension cannot be created (the migrating role lacks the CREATE privilege on
the database; pg_trgm is a trusted extension since PostgreSQL 13, so a database owner
needs no superuser), the migration logs a warning and creates no index: search works the
same, only without the index. To add them later, create the extension and run this
migration's statements by hand (docs/api.md, "Find, sort and export").

The indexes are built with CREATE INDEX CONCURRENTLY outside the migration's transaction
(docs/operations.md, "Large tables"): writes to the tables go on meanwhile. An index left
invalid by an interrupted build is dropped and built again. On Citus each shard gets its
own index; the extension is created on every node by Citus's DDL propagation.

SQLite has neither: nothing to do there.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 09:00:00
"""

import logging

import sqlalchemy as sa
from alembic import op

from service.migrate import build_index_concurrently

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# name -> (table, the indexed expression); service/db.py OPTIONAL_INDEXES names them too
INDEXES = {
    "ix_employees_search": (
        "employees",
        "(given_name || ' ' || family_name || ' ' || email || ' ' || external_id)",
    ),
    "ix_objectives_title_search": ("objectives", "title"),
}


def _trgm_schema(conn: sa.Connection) -> str | None:
    return conn.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        schema = _trgm_schema(conn)
        if schema is None:
            try:
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            except sa.exc.DBAPIError as exc:
                log.warning(
                    "pg_trgm cannot be created (%s): search works without the trigram indexes",
                    str(exc.orig).splitlines()[0],
                )
                return
            schema = _trgm_schema(conn)
        ops = f'"{schema}".gin_trgm_ops'  # wherever the extension lives, on the search path or not
        for name, (table, expression) in INDEXES.items():
            build_index_concurrently(
                conn,
                name,
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING gin (({expression}) {ops})",
            )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        for name in INDEXES:
            conn.execute(sa.text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
    # the extension stays: other objects may use it, and dropping it needs more rights
