"""A second, throwaway database migrated with Alembic (the deployment an organization is
imported into), and pointing the app at it for a while."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

from service.db import database
from service.migrate import upgrade
from tests import citus, conftest


async def create() -> str:
    """The URL of a new, migrated database of the suite's backend."""
    if conftest.BACKEND == "sqlite":
        url = f"sqlite+aiosqlite:///{os.environ['DATA_DIR']}/second-{uuid.uuid4().hex[:8]}.db"
    else:
        name = f"perf_test_{uuid.uuid4().hex[:12]}"
        if citus.enabled():
            await citus.create_database(name)
        else:
            import asyncpg

            conn = await asyncpg.connect(conftest._admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


async def drop(url: str) -> None:
    if conftest.BACKEND == "sqlite":
        return  # under the run's temporary directory
    name = url.rsplit("/", 1)[1]
    if citus.enabled():
        await citus.drop_database(name)
        return
    import asyncpg

    conn = await asyncpg.connect(conftest._admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


@contextlib.asynccontextmanager
async def serving(url: str) -> AsyncIterator[None]:
    """The app (and `service.db.database`) on the database at `url` meanwhile."""
    await database.dispose()
    before = database._url
    database._url = url
    try:
        yield
    finally:
        await database.dispose()
        database._url = before
