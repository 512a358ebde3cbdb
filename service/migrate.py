"""Running Alembic from code (the `migrate` command, `serve` on SQLite, the tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from service.citus import Outcome

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _run(cfg: Config, action: Callable[[], None]) -> None:
    """Alembic's env runs its own event loop, so when called from inside a running loop a
    command runs on a separate thread; its error is raised here."""
    error: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # re-raised on the caller's thread
            error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if error:
        raise error[0]


def upgrade(url: str | None = None, revision: str = "heads") -> Outcome | None:
    """Apply migrations; on a database with the `citus` extension, distribute every table
    not distributed yet in the same transaction (migrations/env.py) and return what was
    done (None elsewhere)."""
    cfg = alembic_config(url)
    _run(cfg, lambda: command.upgrade(cfg, revision))
    outcome = cfg.attributes.get("citus")
    return outcome if isinstance(outcome, Outcome) else None


def downgrade(url: str | None, revision: str) -> None:
    """Revert migrations down to `revision` ("base": every table dropped but
    `alembic_version`). For development and the upgrade tests (tests/deploy/test_upgrades.py);
    production rolls forward (docs/operations.md, "Upgrade and backup notes")."""
    cfg = alembic_config(url)
    _run(cfg, lambda: command.downgrade(cfg, revision))


def build_index_concurrently(conn: sa.Connection, name: str, create: str) -> None:
    """In a migration's autocommit block on PostgreSQL: run `create`, a `CREATE INDEX
    CONCURRENTLY IF NOT EXISTS` of the index `name`, after dropping an index of that name
    that an interrupted concurrent build left invalid (so it is built again)."""
    valid = conn.execute(
        sa.text(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
        ),
        {"name": name},
    ).scalar()
    if valid is False:
        conn.execute(sa.text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
    conn.execute(sa.text(create))
