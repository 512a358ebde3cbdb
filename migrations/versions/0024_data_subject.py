"""a data subject's rights: employees remember when they were erased, and the audit log
accepts one kind of change, a redaction

- `employees.erased_at`: when the person's data was pseudonymized (NULL until then); the
  retention job selects the terminated employees past retention that are not erased yet.
- `audit_events.redacted_at`: an erasure rewrites the payloads (`before`, `after`,
  `reason`) of older events that held the person's values. The append-only triggers now
  let exactly that through: an UPDATE that sets a new `redacted_at` and keeps the event's
  id, actor, action, entity and time. DELETE and every other UPDATE are still refused.

Columns are added in place (not a batch copy, which would drop the triggers of
`audit_events` on SQLite). No table is added, so Citus distribution is unchanged.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 22:40:00
"""

import sqlalchemy as sa
from alembic import op

import service.types

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

MESSAGE = "audit_events is append-only"
# What a redaction keeps: everything but the payloads and the reason.
KEPT = ("org_id", "id", "actor", "actor_kind", "action", "entity_type", "entity_id", "at")
KEPT_NULLABLE = ("request_id",)


def _is_redaction(old: str, new: str, distinct: str) -> str:
    same = [f"{new}.{c} = {old}.{c}" for c in KEPT] + [f"{new}.{c} {distinct} {old}.{c}" for c in KEPT_NULLABLE]
    return (
        f"{new}.redacted_at IS NOT NULL AND ({old}.redacted_at IS NULL OR {new}.redacted_at <> {old}.redacted_at) AND "
        + " AND ".join(same)
    )


def upgrade() -> None:
    op.add_column("employees", sa.Column("erased_at", service.types.UtcDateTime(timezone=True), nullable=True))
    op.add_column("audit_events", sa.Column("redacted_at", service.types.UtcDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # The trigger (0001) stays; its function learns the one permitted UPDATE.
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'UPDATE' AND {_is_redaction('OLD', 'NEW', 'IS NOT DISTINCT FROM')} THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{MESSAGE}'; END $$ LANGUAGE plpgsql"
        )
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    op.execute(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"WHEN NOT ({_is_redaction('OLD', 'NEW', 'IS')}) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$ LANGUAGE plpgsql"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    op.drop_column("audit_events", "redacted_at")
    op.drop_column("employees", "erased_at")
