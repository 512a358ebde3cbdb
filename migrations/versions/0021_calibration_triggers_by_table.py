"""finalized calibrations: one trigger function for the session, one for its members and
adjustments, instead of one function that asked which table fired it

The function of 0011 chose its check by TG_TABLE_NAME; on Citus a trigger fires on the
shard (`calibration_sessions_102040`), so a session's row took the members' branch and
failed on a column it does not have. Each function now knows its table by construction.
SQLite's triggers (0011) are unchanged.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 17:30:00
"""
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

MESSAGE = "a finalized calibration is immutable"
ENTRIES = ("calibration_members", "calibration_adjustments")
RETURN = "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"


def _trigger(table: str, function: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {table}_finalized_immutable ON {table}")
    op.execute(f"CREATE TRIGGER {table}_finalized_immutable BEFORE UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE FUNCTION calibration_session_finalized_immutable() RETURNS trigger AS $$ BEGIN "
               f"IF OLD.status = 'finalized' THEN RAISE EXCEPTION '{MESSAGE}'; END IF; " + RETURN)
    op.execute("CREATE FUNCTION calibration_entry_finalized_immutable() RETURNS trigger AS $$ BEGIN "
               "IF EXISTS (SELECT 1 FROM calibration_sessions s WHERE s.org_id = OLD.org_id "
               "AND s.id = OLD.session_id AND s.status = 'finalized') THEN "
               f"RAISE EXCEPTION '{MESSAGE}'; END IF; " + RETURN)
    _trigger("calibration_sessions", "calibration_session_finalized_immutable")
    for table in ENTRIES:
        _trigger(table, "calibration_entry_finalized_immutable")
    op.execute("DROP FUNCTION calibration_finalized_immutable()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION calibration_finalized_immutable() RETURNS trigger AS $$ BEGIN "
        "IF TG_TABLE_NAME = 'calibration_sessions' THEN "
        f"IF OLD.status = 'finalized' THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
        "ELSIF EXISTS (SELECT 1 FROM calibration_sessions s WHERE s.org_id = OLD.org_id "
        "AND s.id = OLD.session_id AND s.status = 'finalized') THEN "
        f"RAISE EXCEPTION '{MESSAGE}'; END IF; " + RETURN
    )
    for table in ("calibration_sessions", *ENTRIES):
        _trigger(table, "calibration_finalized_immutable")
    op.execute("DROP FUNCTION calibration_session_finalized_immutable()")
    op.execute("DROP FUNCTION calibration_entry_finalized_immutable()")
