"""The schema the migrations build is the schema the models declare: Alembic's
autogenerate comparison (tables, columns and their types, nullability, indexes, unique
and foreign-key constraints) between the suite's migrated database, SQLite or PostgreSQL,
and the models' metadata finds nothing to change. A model edited without its migration
(or the reverse) fails here. The optional indexes (`service.db.OPTIONAL_INDEXES`, which
exist only where PostgreSQL has pg_trgm) are left out, as Alembic's environment leaves
them out; tests/deploy/test_search_indexes.py checks them. On Citus the one constraint the
distribution step replaces (service/citus.py: `integration_clients.client_id`) is the
one difference allowed, and it must be there."""

from __future__ import annotations

import os
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from service.citus import CLIENT_ID_REPLACEMENTS, CLIENT_ID_UNIQUE
from service.db import Base, include_in_comparison
from service.models import load_all
from tests import citus


def _compare(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_in_comparison}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_matches_the_models():
    load_all()
    assert len(Base.metadata.tables) > 30  # every module's models are loaded
    engine = create_async_engine(os.environ["DATABASE_URL"])
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_compare)
    finally:
        await engine.dispose()
    if citus.enabled():
        replaced = {CLIENT_ID_UNIQUE, *CLIENT_ID_REPLACEMENTS}
        names = {getattr(d[1], "name", None) for d in differences if isinstance(d, tuple)}
        assert names >= replaced, differences
        differences = [d for d in differences if not (isinstance(d, tuple) and getattr(d[1], "name", None) in replaced)]
    assert differences == []
