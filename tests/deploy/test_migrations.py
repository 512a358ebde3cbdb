"""The schema the migrations build is the schema the models declare: Alembic's
autogenerate comparison (tables, columns and their types, nullability, indexes, unique
and foreign-key constraints) between the suite's migrated database, SQLite or PostgreSQL,
and the models' metadata finds nothing to change. A model edited without its migration
(or the reverse) fails here. The optional indexes (`service.db.OPTIONAL_INDEXES`, which
exist only where PostgreSQL has pg_trgm) are left out, as Alembic's environment leaves
them out; tests/deploy/test_search_indexes.py checks them."""

from __future__ import annotations

import os
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from service.db import Base, include_in_comparison
from service.models import load_all


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
    assert differences == []
