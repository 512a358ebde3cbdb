"""Running Alembic from code (the `migrate` command, `serve` on SQLite, the tests)."""

from __future__ import annotations

import threading
from pathlib import Path

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


def upgrade(url: str | None = None, revision: str = "heads") -> Outcome | None:
    """Apply migrations; on a database with the `citus` extension, distribute every table
    not distributed yet in the same transaction (migrations/env.py) and return what was
    done (None elsewhere). Alembic's env runs its own event loop, so when called from
    inside a running loop it runs on a separate thread."""
    error: list[BaseException] = []
    cfg = alembic_config(url)

    def run() -> None:
        try:
            command.upgrade(cfg, revision)
        except BaseException as exc:  # re-raised on the caller's thread
            error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    outcome = cfg.attributes.get("citus")
    return outcome if isinstance(outcome, Outcome) else None
