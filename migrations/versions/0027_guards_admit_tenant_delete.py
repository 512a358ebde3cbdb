"""the guard triggers admit the deletion of one organization, named for one transaction

The triggers that keep the audit log append-only and score records, finalized incentive
results and finalized calibrations immutable (0001, 0009, 0010, 0021, 0024) refuse every
DELETE. Deleting an organization (service/tenants/lifecycle.py) used to lift them with
`ALTER TABLE ... DISABLE TRIGGER` inside its transaction, which locks those tables
against the writes of every organization until the commit. Now each guard function
first lets a DELETE through when the row belongs to the organization the transaction
names in the setting `perf.deleting_org` (`SET LOCAL`, gone at the commit or rollback);
every other change is refused as before. The guards stop the application's mistakes, not
its database user (the tables' owner, who may drop a trigger): naming the setting is as
deliberate as the ALTER TABLE was.

The functions are rewritten in place: the same body with the admission as its first
statement (and the downgrade takes it out again). A later migration that replaces one of
them keeps `ADMIT` first. SQLite is unchanged: its whole database is locked for the
writer anyway, and the deletion drops and re-creates its triggers in the transaction.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

SETTING = "perf.deleting_org"
ADMIT = f"IF TG_OP = 'DELETE' AND OLD.org_id::text = current_setting('{SETTING}', true) THEN RETURN OLD; END IF; "
FUNCTIONS = (
    "audit_events_append_only",
    "score_records_immutable",
    "incentive_results_finalized_immutable",
    "calibration_session_finalized_immutable",
    "calibration_entry_finalized_immutable",
)


def _rewrite(add: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # (on Citus, env.py has allowed trigger DDL for the transaction: the functions of
    # distributed tables' triggers are replaced on every node)
    for name in FUNCTIONS:
        body = bind.execute(
            sa.text("SELECT prosrc FROM pg_proc WHERE proname = :n AND pronamespace = current_schema()::regnamespace"),
            {"n": name},
        ).scalar_one()
        if add:
            assert ADMIT not in body, name
            head, begin, rest = body.partition("BEGIN ")
            assert begin, f"{name}: no BEGIN in its body"
            body = head + begin + ADMIT + rest
        else:
            body = body.replace(ADMIT, "")
        op.execute(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $guard${body}$guard$ LANGUAGE plpgsql")


def upgrade() -> None:
    _rewrite(add=True)


def downgrade() -> None:
    _rewrite(add=False)
