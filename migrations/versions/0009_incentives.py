"""incentives: plans, results, payroll sequence and acknowledgements

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:00:00
"""
import sqlalchemy as sa
from alembic import op

import service.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incentive_plans',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('cycle_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('last_run_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'cycle_id'], ['cycles.org_id', 'cycles.id'], name=op.f('fk_incentive_plans_org_id_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_incentive_plans_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_incentive_plans'))
    )
    with op.batch_alter_table('incentive_plans', schema=None) as batch_op:
        batch_op.create_index('ix_incentive_plans_org_cycle', ['org_id', 'cycle_id'], unique=False)

    op.create_table('incentive_results',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('nomination', sa.String(length=20), nullable=True),
    sa.Column('earning_code', sa.String(length=64), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('adjusts_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('approved_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('finalized_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finalized_by', sa.String(length=200), nullable=True),
    sa.Column('declined_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('declined_by', sa.String(length=200), nullable=True),
    sa.Column('payroll_seq', sa.BigInteger(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'adjusts_id'], ['incentive_results.org_id', 'incentive_results.id'], name=op.f('fk_incentive_results_org_id_adjusts_id_incentive_results')),
    sa.ForeignKeyConstraint(['org_id', 'employee_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_incentive_results_org_id_employee_id_employees')),
    sa.ForeignKeyConstraint(['org_id', 'plan_id'], ['incentive_plans.org_id', 'incentive_plans.id'], name=op.f('fk_incentive_results_org_id_plan_id_incentive_plans')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_incentive_results_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_incentive_results'))
    )
    with op.batch_alter_table('incentive_results', schema=None) as batch_op:
        batch_op.create_index('ix_incentive_results_org_adjusts', ['org_id', 'adjusts_id'], unique=False)
        batch_op.create_index('ix_incentive_results_org_employee', ['org_id', 'employee_id'], unique=False)
        batch_op.create_index('ix_incentive_results_org_plan_status', ['org_id', 'plan_id', 'status'], unique=False)
        batch_op.create_index('uq_incentive_results_org_payroll_seq', ['org_id', 'payroll_seq'], unique=True, sqlite_where=sa.text('payroll_seq IS NOT NULL'), postgresql_where=sa.text('payroll_seq IS NOT NULL'))
        batch_op.create_index('uq_incentive_results_org_plan_employee', ['org_id', 'plan_id', 'employee_id'], unique=True, sqlite_where=sa.text('adjusts_id IS NULL'), postgresql_where=sa.text('adjusts_id IS NULL'))

    op.create_table('incentive_payroll_sequences',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_incentive_payroll_sequences_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_incentive_payroll_sequences'))
    )
    op.create_table('incentive_payroll_acks',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('result_id', sa.Uuid(), nullable=False),
    sa.Column('payroll_reference', sa.String(length=200), nullable=False),
    sa.Column('acknowledged_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'result_id'], ['incentive_results.org_id', 'incentive_results.id'], name=op.f('fk_incentive_payroll_acks_org_id_result_id_incentive_results')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_incentive_payroll_acks_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'result_id', name=op.f('pk_incentive_payroll_acks'))
    )

    # A finalized result is immutable, enforced by the database itself as well.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION incentive_results_finalized_immutable() RETURNS trigger AS $$ "
                   "BEGIN IF OLD.status = 'finalized' THEN "
                   "RAISE EXCEPTION 'finalized incentive results are immutable'; END IF; "
                   "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
        op.execute("CREATE TRIGGER incentive_results_immutable BEFORE UPDATE OR DELETE ON incentive_results "
                   "FOR EACH ROW EXECUTE FUNCTION incentive_results_finalized_immutable()")
    else:
        op.execute("CREATE TRIGGER incentive_results_no_update_finalized BEFORE UPDATE ON incentive_results "
                   "WHEN OLD.status = 'finalized' "
                   "BEGIN SELECT RAISE(ABORT, 'finalized incentive results are immutable'); END")
        op.execute("CREATE TRIGGER incentive_results_no_delete_finalized BEFORE DELETE ON incentive_results "
                   "WHEN OLD.status = 'finalized' "
                   "BEGIN SELECT RAISE(ABORT, 'finalized incentive results are immutable'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS incentive_results_immutable ON incentive_results")
        op.execute("DROP FUNCTION IF EXISTS incentive_results_finalized_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS incentive_results_no_update_finalized")
        op.execute("DROP TRIGGER IF EXISTS incentive_results_no_delete_finalized")
    op.drop_table('incentive_payroll_acks')
    op.drop_table('incentive_payroll_sequences')
    with op.batch_alter_table('incentive_results', schema=None) as batch_op:
        batch_op.drop_index('uq_incentive_results_org_plan_employee', sqlite_where=sa.text('adjusts_id IS NULL'), postgresql_where=sa.text('adjusts_id IS NULL'))
        batch_op.drop_index('uq_incentive_results_org_payroll_seq', sqlite_where=sa.text('payroll_seq IS NOT NULL'), postgresql_where=sa.text('payroll_seq IS NOT NULL'))
        batch_op.drop_index('ix_incentive_results_org_plan_status')
        batch_op.drop_index('ix_incentive_results_org_employee')
        batch_op.drop_index('ix_incentive_results_org_adjusts')
    op.drop_table('incentive_results')
    with op.batch_alter_table('incentive_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_incentive_plans_org_cycle')
    op.drop_table('incentive_plans')
