"""Liveness, readiness (database reachable, migrations at head) and metrics."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.db import database

router = APIRouter(tags=["health"])
ROOT = Path(__file__).resolve().parents[2]  # service/web/health.py: the repository (or /app)


@lru_cache
def _scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg)


@lru_cache
def migration_heads() -> frozenset[str]:
    """Each module's migrations may form their own branch off the foundation: all heads
    must be applied."""
    return frozenset(_scripts().get_heads())


@lru_cache
def known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in _scripts().walk_revisions())


def schema_ready(current: frozenset[str], heads: frozenset[str], known: frozenset[str]) -> bool:
    """The database is at this code's heads, or ahead of them.

    Ahead happens during a rolling upgrade: the migration Job of the new release has run
    while replicas of the previous release still serve. Their code does not know the new
    revision; they stay ready (migrations are backward compatible for one release,
    docs/operations.md: "Upgrade and backup notes"). A database behind the code, or missing a branch, is not
    ready.
    """
    if not current:
        return False
    if any(rev not in heads for rev in current & known):
        return False  # a known revision that is not a head: the database is behind
    return heads <= current or bool(current - known)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. No token."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz() -> JSONResponse:
    """Readiness: the database answers and every migration is applied (503 otherwise).
    No token."""
    try:
        async with database.engine.connect() as conn:
            current = frozenset(r[0] for r in await conn.execute(text("SELECT version_num FROM alembic_version")))
    except Exception:  # any database failure means not ready
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    heads = migration_heads()
    if not schema_ready(current, heads, known_revisions()):
        return JSONResponse(
            {"status": "unavailable", "migrations": {"current": sorted(current), "heads": sorted(heads)}},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "migrations": {"current": sorted(current)}})
