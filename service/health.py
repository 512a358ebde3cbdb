"""Liveness, readiness (database reachable, migrations at head) and metrics."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.db import database
from service.observability import metrics_endpoint

router = APIRouter(tags=["health"])
ROOT = Path(__file__).resolve().parent.parent


@lru_cache
def migration_heads() -> frozenset[str]:
    """Each module's migrations may form their own branch off the foundation: all heads
    must be applied."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> JSONResponse:
    try:
        async with database.engine.connect() as conn:
            current = frozenset(r[0] for r in await conn.execute(text("SELECT version_num FROM alembic_version")))
    except Exception:  # any database failure means not ready
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    heads = migration_heads()
    if current != heads:
        return JSONResponse({"status": "unavailable",
                             "migrations": {"current": sorted(current), "heads": sorted(heads)}},
                            status_code=503)
    return JSONResponse({"status": "ok", "migrations": {"current": sorted(current)}})


router.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
