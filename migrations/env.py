"""Alembic environment: async engines for SQLite (aiosqlite) and PostgreSQL (asyncpg).
Migrations are the only way the schema is made, on both databases.

On a database with the `citus` extension the same transaction ends by distributing every
table that is not distributed yet (service/citus.py), so a migration that adds a table
needs nothing of its own: the table is created on the coordinator and distributed before
the upgrade commits. The outcome is left in `config.attributes["citus"]`. There, the
transaction also allows trigger DDL on distributed tables (`allow_triggers`)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from service.citus import allow_triggers, distribute_if_citus
from service.db import Base, include_in_comparison, make_engine
from service.models import load_all

load_all()
config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from service.config import get_settings

    return get_settings().effective_database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_comparison,
    )
    with context.begin_transaction():
        allow_triggers(connection)
        context.run_migrations()
        config.attributes["citus"] = distribute_if_citus(connection)


async def _run_async() -> None:
    engine = make_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
