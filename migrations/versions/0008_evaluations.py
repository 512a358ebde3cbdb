"""evaluations: evaluations, 360 peer requests, calibration sessions (members and
adjustments), performance interviews, review meetings

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import service.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calibration_sessions',
    sa.Column('cycle_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('finalized_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finalized_by', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'cycle_id'], ['cycles.org_id', 'cycles.id'], name=op.f('fk_calibration_sessions_org_id_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['org_id', 'department_id'], ['departments.org_id', 'departments.id'], name=op.f('fk_calibration_sessions_org_id_department_id_departments')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_calibration_sessions_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_calibration_sessions'))
    )
    with op.batch_alter_table('calibration_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_calibration_sessions_org_cycle', ['org_id', 'cycle_id'], unique=False)

    op.create_table('calibration_adjustments',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('cycle_id', sa.Uuid(), nullable=False),
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('delta', service.types.ExactDecimal(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('author_employee_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'cycle_id'], ['cycles.org_id', 'cycles.id'], name=op.f('fk_calibration_adjustments_org_id_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['org_id', 'employee_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_calibration_adjustments_org_id_employee_id_employees')),
    sa.ForeignKeyConstraint(['org_id', 'session_id'], ['calibration_sessions.org_id', 'calibration_sessions.id'], name=op.f('fk_calibration_adjustments_org_id_session_id_calibration_sessions')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_calibration_adjustments_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_calibration_adjustments'))
    )
    with op.batch_alter_table('calibration_adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_calibration_adjustments_org_cycle', ['org_id', 'cycle_id'], unique=False)
        batch_op.create_index('ix_calibration_adjustments_org_session', ['org_id', 'session_id'], unique=False)

    op.create_table('calibration_members',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('cycle_id', sa.Uuid(), nullable=False),
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('final', service.types.ExactDecimal(), nullable=True),
    sa.Column('computed_rating', sa.String(length=10), nullable=True),
    sa.Column('enforced_rating', sa.String(length=10), nullable=True),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'cycle_id'], ['cycles.org_id', 'cycles.id'], name=op.f('fk_calibration_members_org_id_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['org_id', 'employee_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_calibration_members_org_id_employee_id_employees')),
    sa.ForeignKeyConstraint(['org_id', 'session_id'], ['calibration_sessions.org_id', 'calibration_sessions.id'], name=op.f('fk_calibration_members_org_id_session_id_calibration_sessions')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_calibration_members_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_calibration_members')),
    sa.UniqueConstraint('org_id', 'cycle_id', 'employee_id', name=op.f('uq_calibration_members_org_id_cycle_id_employee_id'))
    )
    with op.batch_alter_table('calibration_members', schema=None) as batch_op:
        batch_op.create_index('ix_calibration_members_org_session', ['org_id', 'session_id'], unique=False)

    op.create_table('evaluations',
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('cycle_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('self_rating', sa.Integer(), nullable=True),
    sa.Column('self_comments', sa.Text(), nullable=True),
    sa.Column('self_submitted_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('manager_rating', sa.Integer(), nullable=True),
    sa.Column('manager_comments', sa.Text(), nullable=True),
    sa.Column('competencies', sa.JSON(), nullable=True),
    sa.Column('manager_reviewer_id', sa.Uuid(), nullable=True),
    sa.Column('manager_submitted_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('manager_submitted_by', sa.String(length=200), nullable=True),
    sa.Column('calibrated_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('calibration_id', sa.Uuid(), nullable=True),
    sa.Column('final_score', service.types.ExactDecimal(), nullable=True),
    sa.Column('final_rating', sa.String(length=10), nullable=True),
    sa.Column('finalized_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finalized_by', sa.String(length=200), nullable=True),
    sa.Column('acknowledged_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('acknowledgement_comment', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'calibration_id'], ['calibration_sessions.org_id', 'calibration_sessions.id'], name=op.f('fk_evaluations_org_id_calibration_id_calibration_sessions')),
    sa.ForeignKeyConstraint(['org_id', 'cycle_id'], ['cycles.org_id', 'cycles.id'], name=op.f('fk_evaluations_org_id_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['org_id', 'employee_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_evaluations_org_id_employee_id_employees')),
    sa.ForeignKeyConstraint(['org_id', 'manager_reviewer_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_evaluations_org_id_manager_reviewer_id_employees')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_evaluations_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_evaluations')),
    sa.UniqueConstraint('org_id', 'employee_id', 'cycle_id', name=op.f('uq_evaluations_org_id_employee_id_cycle_id'))
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_evaluations_org_cycle', ['org_id', 'cycle_id'], unique=False)

    op.create_table('review_meetings',
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('employee_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('held_on', sa.Date(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('result_data', sa.JSON(), nullable=True),
    sa.Column('gap', sa.Text(), nullable=True),
    sa.Column('cause_analysis', sa.Text(), nullable=True),
    sa.Column('improvement_plan', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'employee_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_review_meetings_org_id_employee_id_employees')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_review_meetings_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_review_meetings'))
    )
    with op.batch_alter_table('review_meetings', schema=None) as batch_op:
        batch_op.create_index('ix_review_meetings_org_employee', ['org_id', 'employee_id'], unique=False)
        batch_op.create_index('ix_review_meetings_org_subject', ['org_id', 'subject_kind', 'subject_id'], unique=False)

    op.create_table('interviews',
    sa.Column('evaluation_id', sa.Uuid(), nullable=False),
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('cycle_id', sa.Uuid(), nullable=False),
    sa.Column('interviewer_id', sa.Uuid(), nullable=True),
    sa.Column('scheduled_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('acknowledged_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('acknowledged_employee_id', sa.Uuid(), nullable=True),
    sa.Column('acknowledgement_comment', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'cycle_id'], ['cycles.org_id', 'cycles.id'], name=op.f('fk_interviews_org_id_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['org_id', 'employee_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_interviews_org_id_employee_id_employees')),
    sa.ForeignKeyConstraint(['org_id', 'evaluation_id'], ['evaluations.org_id', 'evaluations.id'], name=op.f('fk_interviews_org_id_evaluation_id_evaluations')),
    sa.ForeignKeyConstraint(['org_id', 'interviewer_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_interviews_org_id_interviewer_id_employees')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_interviews_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_interviews'))
    )
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.create_index('ix_interviews_org_employee', ['org_id', 'employee_id'], unique=False)
        batch_op.create_index('ix_interviews_org_evaluation', ['org_id', 'evaluation_id'], unique=False)

    op.create_table('peer_requests',
    sa.Column('evaluation_id', sa.Uuid(), nullable=False),
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('cycle_id', sa.Uuid(), nullable=False),
    sa.Column('reviewer_id', sa.Uuid(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_by_employee_id', sa.Uuid(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comments', sa.Text(), nullable=True),
    sa.Column('submitted_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('declined_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'cycle_id'], ['cycles.org_id', 'cycles.id'], name=op.f('fk_peer_requests_org_id_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['org_id', 'employee_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_peer_requests_org_id_employee_id_employees')),
    sa.ForeignKeyConstraint(['org_id', 'evaluation_id'], ['evaluations.org_id', 'evaluations.id'], name=op.f('fk_peer_requests_org_id_evaluation_id_evaluations')),
    sa.ForeignKeyConstraint(['org_id', 'reviewer_id'], ['employees.org_id', 'employees.id'], name=op.f('fk_peer_requests_org_id_reviewer_id_employees')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_peer_requests_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_peer_requests')),
    sa.UniqueConstraint('org_id', 'evaluation_id', 'reviewer_id', name=op.f('uq_peer_requests_org_id_evaluation_id_reviewer_id'))
    )
    with op.batch_alter_table('peer_requests', schema=None) as batch_op:
        batch_op.create_index('ix_peer_requests_org_cycle', ['org_id', 'cycle_id'], unique=False)
        batch_op.create_index('ix_peer_requests_org_reviewer', ['org_id', 'reviewer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('peer_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_peer_requests_org_reviewer')
        batch_op.drop_index('ix_peer_requests_org_cycle')

    op.drop_table('peer_requests')
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.drop_index('ix_interviews_org_evaluation')
        batch_op.drop_index('ix_interviews_org_employee')

    op.drop_table('interviews')
    with op.batch_alter_table('review_meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_review_meetings_org_subject')
        batch_op.drop_index('ix_review_meetings_org_employee')

    op.drop_table('review_meetings')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluations_org_cycle')

    op.drop_table('evaluations')
    with op.batch_alter_table('calibration_members', schema=None) as batch_op:
        batch_op.drop_index('ix_calibration_members_org_session')

    op.drop_table('calibration_members')
    with op.batch_alter_table('calibration_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_calibration_adjustments_org_session')
        batch_op.drop_index('ix_calibration_adjustments_org_cycle')

    op.drop_table('calibration_adjustments')
    with op.batch_alter_table('calibration_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_calibration_sessions_org_cycle')

    op.drop_table('calibration_sessions')
