"""finalized calibrations immutable in the database; append-only tables refuse TRUNCATE;
incentive results keep the plan's name as it was when they were finalized

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CALIBRATION_TABLES = ("calibration_sessions", "calibration_members", "calibration_adjustments")
APPEND_ONLY = ("audit_events", "score_records", "incentive_results")
MESSAGE = "a finalized calibration is immutable"


def upgrade() -> None:
    # Added in place (not a batch copy, which would drop the table's triggers on SQLite).
    op.add_column("incentive_results", sa.Column("plan_name", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION calibration_finalized_immutable() RETURNS trigger AS $$ BEGIN "
            "IF TG_TABLE_NAME = 'calibration_sessions' THEN "
            f"IF OLD.status = 'finalized' THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
            "ELSIF EXISTS (SELECT 1 FROM calibration_sessions s WHERE s.org_id = OLD.org_id "
            "AND s.id = OLD.session_id AND s.status = 'finalized') THEN "
            f"RAISE EXCEPTION '{MESSAGE}'; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
        for table in CALIBRATION_TABLES:
            op.execute(f"CREATE TRIGGER {table}_finalized_immutable BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION calibration_finalized_immutable()")
        op.execute("CREATE FUNCTION refuse_truncate() RETURNS trigger AS $$ BEGIN "
                   "RAISE EXCEPTION '% is append-only: TRUNCATE is refused', TG_TABLE_NAME; END $$ LANGUAGE plpgsql")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate()")
        return
    # SQLite has no TRUNCATE (a DELETE without WHERE meets the row triggers).
    finalized = {
        "calibration_sessions": "OLD.status = 'finalized'",
        "calibration_members": "(SELECT status FROM calibration_sessions s WHERE s.org_id = OLD.org_id "
                               "AND s.id = OLD.session_id) = 'finalized'",
    }
    finalized["calibration_adjustments"] = finalized["calibration_members"]
    for table, when in finalized.items():
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{event.lower()}_finalized BEFORE {event} ON {table} "
                       f"WHEN {when} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS refuse_truncate()")
        for table in CALIBRATION_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_finalized_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS calibration_finalized_immutable()")
        op.drop_column("incentive_results", "plan_name")
        return
    for table in CALIBRATION_TABLES:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}_finalized")
    op.drop_column("incentive_results", "plan_name")
