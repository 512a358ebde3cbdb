"""A distributed test database on Citus, for the tests that run when `TEST_CITUS_URL` is set.

`prepare(url)` migrates the database with Alembic and, when its tables are not distributed
yet, distributes them the way docs/operations.md ("Scale-out design") says: `organizations`
by `id`, every other table by `org_id`, co-located with `organizations`, in foreign-key
order. The one exception is handled as documented: `integration_clients.client_id` loses
its global unique constraint for a unique `(org_id, client_id)` and a plain index.

When the project's own distribution command (`python -m service citus-distribute`) exists,
it does this instead; a database it distributed is left as it is."""

from __future__ import annotations

import asyncpg

from service.migrate import upgrade

# The global unique constraint Citus cannot keep (0001_foundation), and what replaces it.
CLIENT_ID_UNIQUE = "uq_integration_clients_client_id"


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def driver_url(url: str) -> str:
    return plain_url(url).replace("postgresql://", "postgresql+asyncpg://", 1)


async def tables_in_dependency_order(conn: asyncpg.Connection) -> list[str]:
    """The public tables (without `alembic_version`), each after every table it references."""
    names = [
        r["tablename"]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
    ]
    edges = await conn.fetch(
        """
        SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE c.contype = 'f' AND n.nspname = 'public'
        """
    )
    parents: dict[str, set[str]] = {n: set() for n in names}
    for e in edges:
        if e["child"] != e["parent"]:
            parents[e["child"]].add(e["parent"])
    ordered: list[str] = []
    done: set[str] = set()
    while len(ordered) < len(names):
        # organizations first: every table is co-located with it, FK or not
        ready = sorted(n for n in names if n not in done and parents[n] <= done and (n == "organizations" or done))
        if not ready:
            raise RuntimeError(f"foreign keys form a cycle among {sorted(set(names) - done)}")
        ordered += ready
        done.update(ready)
    return ordered


async def distribute(url: str) -> list[str]:
    """Distribute every table of a migrated database; answers the tables distributed now
    (none when it was distributed already)."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        already = {r["t"] for r in await conn.fetch("SELECT logicalrelid::regclass::text AS t FROM pg_dist_partition")}
        order = [t for t in await tables_in_dependency_order(conn) if t not in already]
        if not order:
            return []
        async with conn.transaction():
            if "integration_clients" in order:
                await conn.execute(f"ALTER TABLE integration_clients DROP CONSTRAINT IF EXISTS {CLIENT_ID_UNIQUE}")
                await conn.execute(
                    "CREATE UNIQUE INDEX IF NOT EXISTS uq_integration_clients_org_client_id "
                    "ON integration_clients (org_id, client_id)"
                )
                await conn.execute(
                    "CREATE INDEX IF NOT EXISTS ix_integration_clients_client_id ON integration_clients (client_id)"
                )
        for table in order:
            if table == "organizations":
                await conn.execute("SELECT create_distributed_table('organizations', 'id')")
            else:
                await conn.execute(
                    "SELECT create_distributed_table($1, 'org_id', colocate_with => 'organizations')", table
                )
        return order
    finally:
        await conn.close()


async def prepare(url: str) -> None:
    """Migrate (Alembic, to the heads) and distribute the database at `url`."""
    upgrade(driver_url(url))
    await distribute(url)
