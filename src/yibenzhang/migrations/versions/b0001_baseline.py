"""baseline: the schema of the first two waves' history, squashed

The legacy history (migrations/legacy, 0001 … 0030, thirteen branches from 0002 merged over time)
ends with exactly this schema; a database made by it is moved over to this revision by
yibenzhang.migrating without rebuilding anything. New installs start here.

Revision ID: b0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db
import yibenzhang.sealing

revision = "b0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assess_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=12), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('basis', sa.Text(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assess_targets'))
    )
    op.create_index('ix_assess_targets_metric_scope', 'assess_targets', ['metric', 'scope'], unique=False)
    op.create_table('audit_firms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_firms')),
    sa.UniqueConstraint('name', name=op.f('uq_audit_firms_name'))
    )
    op.create_table('categories',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_code', sa.String(length=9), nullable=True),
    sa.ForeignKeyConstraint(['parent_code'], ['categories.code'], name=op.f('fk_categories_parent_code_categories')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_categories'))
    )
    op.create_table('code_sequences',
    sa.Column('prefix', sa.String(length=9), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_code_sequences'))
    )
    op.create_table('ledger_anchor',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_anchor'))
    )
    op.create_table('ledger_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_digest', sa.String(length=64), nullable=False),
    sa.Column('prev_digest', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_events'))
    )
    op.create_index(op.f('ix_ledger_events_action'), 'ledger_events', ['action'], unique=False)
    op.create_index('ix_ledger_subject', 'ledger_events', ['subject_type', 'subject_id'], unique=False)
    op.create_table('lineage_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=16), nullable=False),
    sa.Column('job_name', sa.String(length=200), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_outbox'))
    )
    op.create_index('ix_lineage_outbox_pending', 'lineage_outbox', ['delivered_at', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_lineage_outbox_run_id'), 'lineage_outbox', ['run_id'], unique=False)
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    op.create_index('ix_login_failures_kind_key_at', 'login_failures', ['kind', 'key', 'at'], unique=False)
    op.create_table('rate_counters',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('hits', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rate_counters'))
    )
    op.create_index(op.f('ix_rate_counters_expires_at'), 'rate_counters', ['expires_at'], unique=False)
    op.create_table('regions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['regions.id'], name=op.f('fk_regions_parent_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regions')),
    sa.UniqueConstraint('code', name=op.f('uq_regions_code'))
    )
    op.create_index(op.f('ix_regions_path'), 'regions', ['path'], unique=False)
    op.create_table('sso_logins',
    sa.Column('state_digest', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('nonce', yibenzhang.sealing.SealedText(), nullable=False),
    sa.Column('code_verifier', yibenzhang.sealing.SealedText(), nullable=False),
    sa.Column('next_url', sa.String(length=500), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_digest', name=op.f('pk_sso_logins'))
    )
    op.create_index('ix_sso_logins_created_at', 'sso_logins', ['created_at'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_tokens_prefix'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('login_locks',
    sa.Column('key', sa.String(length=72), nullable=False),
    sa.Column('until', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_locks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_locks'))
    )
    op.create_table('mfa_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('used_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_recovery_codes'))
    )
    op.create_index(op.f('ix_mfa_recovery_codes_user_id'), 'mfa_recovery_codes', ['user_id'], unique=False)
    op.create_table('open_api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_digest', sa.String(length=64), nullable=False),
    sa.Column('resource_ids', sa.JSON(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('revoked_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_open_api_keys_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_open_api_keys_prefix'))
    )
    op.create_index(op.f('ix_open_api_keys_user_id'), 'open_api_keys', ['user_id'], unique=False)
    op.create_table('open_showcase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('resource_ids', sa.JSON(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_open_showcase_region_id_regions')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_open_showcase_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_open_showcase_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_showcase'))
    )
    op.create_index(op.f('ix_open_showcase_state'), 'open_showcase', ['state'], unique=False)
    op.create_table('orgs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('sector', sa.String(length=50), nullable=True),
    sa.Column('duties', sa.Text(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_orgs_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orgs')),
    sa.UniqueConstraint('uscc', name=op.f('uq_orgs_uscc'))
    )
    op.create_index(op.f('ix_orgs_region_id'), 'orgs', ['region_id'], unique=False)
    op.create_table('password_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_history_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_history'))
    )
    op.create_index(op.f('ix_password_history_user_id'), 'password_history', ['user_id'], unique=False)
    op.create_table('sso_cas_sessions',
    sa.Column('ticket_digest', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('session_digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sso_cas_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_digest', name=op.f('pk_sso_cas_sessions'))
    )
    op.create_index('ix_sso_cas_sessions_created_at', 'sso_cas_sessions', ['created_at'], unique=False)
    op.create_table('sso_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('subject_digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sso_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identities')),
    sa.UniqueConstraint('provider', 'subject_digest', name=op.f('uq_sso_identities_provider'))
    )
    op.create_index(op.f('ix_sso_identities_user_id'), 'sso_identities', ['user_id'], unique=False)
    op.create_table('user_mfa',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('confirmed_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_mfa_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_mfa'))
    )
    op.create_table('web_sessions',
    sa.Column('id_digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_digest', name=op.f('pk_web_sessions'))
    )
    op.create_index('ix_web_sessions_user', 'web_sessions', ['user_id'], unique=False)
    op.create_table('audit_audits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ordered_on', sa.Date(), nullable=True),
    sa.Column('basis', sa.Text(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('original_due_on', sa.Date(), nullable=False),
    sa.Column('extensions', sa.JSON(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['audit_firms.id'], name=op.f('fk_audit_audits_firm_id_audit_firms')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_audit_audits_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_audits'))
    )
    op.create_index('ix_audit_audits_org_state', 'audit_audits', ['org_id', 'state'], unique=False)
    op.create_table('audit_people_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('people', sa.BigInteger(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_audit_people_counts_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_people_counts'))
    )
    op.create_index('ix_audit_people_counts_org_as_of', 'audit_people_counts', ['org_id', 'as_of'], unique=False)
    op.create_table('audit_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('duty_key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('remind_on', sa.Date(), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_audit_reminders_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_audit_reminders_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_reminders')),
    sa.UniqueConstraint('duty_key', 'due_on', name='uq_audit_reminders_duty_key_due_on')
    )
    op.create_index('ix_audit_reminders_org_id', 'audit_reminders', ['org_id'], unique=False)
    op.create_table('duty_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('fulfilled_on', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_duty_changes_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_changes'))
    )
    op.create_index(op.f('ix_duty_changes_org_id'), 'duty_changes', ['org_id'], unique=False)
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_until', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_en', sa.Text(), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('active_key', sa.String(length=200), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_jobs_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('active_key', name=op.f('uq_jobs_active_key'))
    )
    op.create_index(op.f('ix_jobs_org_id'), 'jobs', ['org_id'], unique=False)
    op.create_index('ix_jobs_status_run_at', 'jobs', ['status', 'run_at'], unique=False)
    op.create_table('open_demands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('domain', sa.String(length=16), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('routed_by', sa.String(length=16), nullable=False),
    sa.Column('matched_resource_ids', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('asked_on', sa.Date(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('overdue_marked', sa.Boolean(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_open_demands_answered_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_open_demands_org_id_orgs')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_open_demands_requester_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_demands'))
    )
    op.create_index('ix_open_demands_org_state', 'open_demands', ['org_id', 'state'], unique=False)
    op.create_table('operate_authorizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operator_org_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('scope_kind', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=True),
    sa.Column('resources', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('fee_cap_fen', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_operate_authorizations_created_by_id_users')),
    sa.ForeignKeyConstraint(['operator_org_id'], ['orgs.id'], name=op.f('fk_operate_authorizations_operator_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_operate_authorizations_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operate_authorizations'))
    )
    op.create_index('ix_operate_authorizations_operator_state', 'operate_authorizations', ['operator_org_id', 'state'], unique=False)
    op.create_index(op.f('ix_operate_authorizations_region_id'), 'operate_authorizations', ['region_id'], unique=False)
    op.create_table('org_seal_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.String(length=130), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_org_seal_keys_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_seal_keys')),
    sa.UniqueConstraint('org_id', name=op.f('uq_org_seal_keys_org_id'))
    )
    op.create_table('role_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_role_assignments_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_role_assignments_region_id_regions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_assignments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_assignments')),
    sa.UniqueConstraint('user_id', 'role', 'org_id', 'region_id', name=op.f('uq_role_assignments_user_id'))
    )
    op.create_index(op.f('ix_role_assignments_user_id'), 'role_assignments', ['user_id'], unique=False)
    op.create_table('systems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_systems_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_systems')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_systems_org_id'))
    )
    op.create_index(op.f('ix_systems_org_id'), 'systems', ['org_id'], unique=False)
    op.create_table('operate_release_policies',
    sa.Column('authorization_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('review_all', sa.Boolean(), nullable=False),
    sa.Column('epsilon_total_micro', sa.BigInteger(), nullable=False),
    sa.Column('epsilon_spent_micro', sa.BigInteger(), nullable=False),
    sa.Column('period_starts_on', sa.Date(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authorization_id'], ['operate_authorizations.id'], name='fk_operate_release_policies_authorization'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_operate_release_policies_updated_by_id_users')),
    sa.PrimaryKeyConstraint('authorization_id', name=op.f('pk_operate_release_policies'))
    )
    op.create_table('operate_sandbox_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('authorization_id', sa.Integer(), nullable=False),
    sa.Column('operator_org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('sql_text', sa.Text(), nullable=False),
    sa.Column('sql_digest', sa.String(length=64), nullable=False),
    sa.Column('resources', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('release_kind', sa.String(length=8), nullable=True),
    sa.Column('reason_code', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=True),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('output_digest', sa.String(length=64), nullable=True),
    sa.Column('output_path', sa.String(length=500), nullable=True),
    sa.Column('fingerprint', sa.JSON(), nullable=True),
    sa.Column('elapsed_ms', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authorization_id'], ['operate_authorizations.id'], name=op.f('fk_operate_sandbox_runs_authorization_id_operate_authorizations')),
    sa.ForeignKeyConstraint(['operator_org_id'], ['orgs.id'], name=op.f('fk_operate_sandbox_runs_operator_org_id_orgs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_operate_sandbox_runs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operate_sandbox_runs'))
    )
    op.create_index('ix_operate_sandbox_runs_auth_state', 'operate_sandbox_runs', ['authorization_id', 'state'], unique=False)
    op.create_index(op.f('ix_operate_sandbox_runs_operator_org_id'), 'operate_sandbox_runs', ['operator_org_id'], unique=False)
    op.create_table('product_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operator_org_id', sa.Integer(), nullable=False),
    sa.Column('authorization_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('use', sa.Text(), nullable=True),
    sa.Column('scenario', sa.Text(), nullable=True),
    sa.Column('source_run_ids', sa.JSON(), nullable=False),
    sa.Column('pi_consent', sa.Boolean(), nullable=False),
    sa.Column('pi_consent_ref', sa.String(length=200), nullable=True),
    sa.Column('pricing_category', sa.String(length=8), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authorization_id'], ['operate_authorizations.id'], name=op.f('fk_product_products_authorization_id_operate_authorizations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_product_products_created_by_id_users')),
    sa.ForeignKeyConstraint(['operator_org_id'], ['orgs.id'], name=op.f('fk_product_products_operator_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_product_products_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_products'))
    )
    op.create_index(op.f('ix_product_products_authorization_id'), 'product_products', ['authorization_id'], unique=False)
    op.create_index('ix_product_products_operator_state', 'product_products', ['operator_org_id', 'state'], unique=False)
    op.create_table('resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('category_code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=True),
    sa.Column('library', sa.String(length=8), nullable=False),
    sa.Column('format_kind', sa.String(length=16), nullable=False),
    sa.Column('format_detail', sa.String(length=50), nullable=True),
    sa.Column('share_type', sa.String(length=16), nullable=False),
    sa.Column('share_condition', sa.Text(), nullable=True),
    sa.Column('share_basis', sa.Text(), nullable=True),
    sa.Column('share_method', sa.String(length=8), nullable=True),
    sa.Column('open_type', sa.String(length=16), nullable=False),
    sa.Column('open_condition', sa.Text(), nullable=True),
    sa.Column('returnable', sa.Boolean(), nullable=False),
    sa.Column('update_cycle', sa.String(length=8), nullable=False),
    sa.Column('publish_date', sa.Date(), nullable=True),
    sa.Column('record_count', sa.Integer(), nullable=True),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_resources_category_code_categories')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_resources_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_resources_region_id_regions')),
    sa.ForeignKeyConstraint(['system_id'], ['systems.id'], name=op.f('fk_resources_system_id_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources')),
    sa.UniqueConstraint('code', name=op.f('uq_resources_code'))
    )
    op.create_index('ix_resources_org_status', 'resources', ['org_id', 'status'], unique=False)
    op.create_index('ix_resources_region', 'resources', ['region_id'], unique=False)
    op.create_index(op.f('ix_resources_status'), 'resources', ['status'], unique=False)
    op.create_table('collect_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_collect_mappings_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collect_mappings')),
    sa.UniqueConstraint('resource_id', 'source', name=op.f('uq_collect_mappings_resource_id'))
    )
    op.create_table('collect_pull_cursors',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('since_column', sa.String(length=100), nullable=False),
    sa.Column('last_value', sa.JSON(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_collect_pull_cursors_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'source_key', name=op.f('pk_collect_pull_cursors'))
    )
    op.create_table('collect_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('url_sealed', sa.Text(), nullable=False),
    sa.Column('url_display', sa.String(length=500), nullable=False),
    sa.Column('table_name', sa.String(length=200), nullable=True),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('since_column', sa.String(length=100), nullable=True),
    sa.Column('mode', sa.String(length=8), nullable=True),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_enqueued_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_job_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_collect_schedules_org_id_orgs')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_collect_schedules_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collect_schedules'))
    )
    op.create_index(op.f('ix_collect_schedules_next_run_at'), 'collect_schedules', ['next_run_at'], unique=False)
    op.create_index(op.f('ix_collect_schedules_org_id'), 'collect_schedules', ['org_id'], unique=False)
    op.create_index(op.f('ix_collect_schedules_resource_id'), 'collect_schedules', ['resource_id'], unique=False)
    op.create_table('collect_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('file_path', sa.Text(), nullable=True),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('started_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_collect_uploads_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collect_uploads')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_collect_uploads_token_digest'))
    )
    op.create_index(op.f('ix_collect_uploads_started_at'), 'collect_uploads', ['started_at'], unique=False)
    op.create_table('library_conflict_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('source_resource_id', sa.Integer(), nullable=False),
    sa.Column('source_org_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=False),
    sa.Column('compared', sa.BigInteger(), nullable=False),
    sa.Column('conflicts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['library_id'], ['resources.id'], name=op.f('fk_library_conflict_counts_library_id_resources')),
    sa.ForeignKeyConstraint(['source_org_id'], ['orgs.id'], name=op.f('fk_library_conflict_counts_source_org_id_orgs')),
    sa.ForeignKeyConstraint(['source_resource_id'], ['resources.id'], name=op.f('fk_library_conflict_counts_source_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_conflict_counts'))
    )
    op.create_index('ix_library_conflict_counts_lib_batch', 'library_conflict_counts', ['library_id', 'batch_id'], unique=False)
    op.create_index(op.f('ix_library_conflict_counts_source_org_id'), 'library_conflict_counts', ['source_org_id'], unique=False)
    op.create_table('library_conflict_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('source_resource_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['library_id'], ['resources.id'], name=op.f('fk_library_conflict_objections_library_id_resources')),
    sa.ForeignKeyConstraint(['source_resource_id'], ['resources.id'], name=op.f('fk_library_conflict_objections_source_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_conflict_objections')),
    sa.UniqueConstraint('library_id', 'source_resource_id', 'item', 'subject', name=op.f('uq_library_conflict_objections_library_id'))
    )
    op.create_index(op.f('ix_library_conflict_objections_source_resource_id'), 'library_conflict_objections', ['source_resource_id'], unique=False)
    op.create_table('library_definitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_library_definitions_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_definitions')),
    sa.UniqueConstraint('resource_id', 'version', name=op.f('uq_library_definitions_resource_id'))
    )
    op.create_index(op.f('ix_library_definitions_resource_id'), 'library_definitions', ['resource_id'], unique=False)
    op.create_table('list_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('basis', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_list_entries_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_list_entries_region_id_regions')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_list_entries_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_entries'))
    )
    op.create_index('ix_list_entries_region_kind', 'list_entries', ['region_id', 'kind'], unique=False)
    op.create_table('objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('row_key', yibenzhang.sealing.SealedJSON(), nullable=True),
    sa.Column('row_number', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('claim', yibenzhang.sealing.SealedText(), nullable=False),
    sa.Column('expected', yibenzhang.sealing.SealedText(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('answer_due', sa.Date(), nullable=False),
    sa.Column('correct_due', sa.Date(), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=True),
    sa.Column('answer_reason', yibenzhang.sealing.SealedText(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('correction_note', yibenzhang.sealing.SealedText(), nullable=True),
    sa.Column('correction_batch_id', sa.Integer(), nullable=True),
    sa.Column('corrected_on', sa.Date(), nullable=True),
    sa.Column('corrected_by', sa.String(length=64), nullable=True),
    sa.Column('escalated_on', sa.Date(), nullable=True),
    sa.Column('escalated_from', sa.String(length=8), nullable=True),
    sa.Column('decision', sa.String(length=8), nullable=True),
    sa.Column('decision_reason', yibenzhang.sealing.SealedText(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_objections_filed_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_objections_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_objections_region_id_regions')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_objections_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections'))
    )
    op.create_index('ix_objections_filed_by_id', 'objections', ['filed_by_id'], unique=False)
    op.create_index('ix_objections_org_state', 'objections', ['org_id', 'state'], unique=False)
    op.create_index(op.f('ix_objections_resource_id'), 'objections', ['resource_id'], unique=False)
    op.create_table('open_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('provider_org_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('agreement_version', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('overdue_marked', sa.Boolean(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('key_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_open_applications_applicant_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_open_applications_decided_by_id_users')),
    sa.ForeignKeyConstraint(['provider_org_id'], ['orgs.id'], name=op.f('fk_open_applications_provider_org_id_orgs')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_open_applications_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_applications'))
    )
    op.create_index('ix_open_applications_applicant_resource', 'open_applications', ['applicant_id', 'resource_id'], unique=False)
    op.create_index('ix_open_applications_provider_state', 'open_applications', ['provider_org_id', 'state'], unique=False)
    op.create_index(op.f('ix_open_applications_resource_id'), 'open_applications', ['resource_id'], unique=False)
    op.create_table('open_plan_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('open_type', sa.String(length=16), nullable=False),
    sa.Column('planned_quarter', sa.Integer(), nullable=False),
    sa.Column('planned_date', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_open_plan_entries_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_open_plan_entries_org_id_orgs')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_open_plan_entries_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_plan_entries')),
    sa.UniqueConstraint('org_id', 'year', 'title', name='uq_open_plan_entries_org_year_title')
    )
    op.create_index('ix_open_plan_entries_year_org', 'open_plan_entries', ['year', 'org_id'], unique=False)
    op.create_table('open_usage',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_open_usage_resource_id_resources')),
    sa.PrimaryKeyConstraint('resource_id', 'day', 'kind', name=op.f('pk_open_usage'))
    )
    op.create_table('operate_output_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('authorization_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('checker_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authorization_id'], ['operate_authorizations.id'], name='fk_operate_output_reviews_authorization'),
    sa.ForeignKeyConstraint(['checker_id'], ['users.id'], name=op.f('fk_operate_output_reviews_checker_id_users')),
    sa.ForeignKeyConstraint(['run_id'], ['operate_sandbox_runs.id'], name=op.f('fk_operate_output_reviews_run_id_operate_sandbox_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operate_output_reviews')),
    sa.UniqueConstraint('run_id', name=op.f('uq_operate_output_reviews_run_id'))
    )
    op.create_index('ix_operate_output_reviews_auth_state', 'operate_output_reviews', ['authorization_id', 'state'], unique=False)
    op.create_table('operate_privacy_spends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('authorization_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('epsilon_micro', sa.BigInteger(), nullable=False),
    sa.Column('spent_after_micro', sa.BigInteger(), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authorization_id'], ['operate_authorizations.id'], name='fk_operate_privacy_spends_authorization'),
    sa.ForeignKeyConstraint(['run_id'], ['operate_sandbox_runs.id'], name=op.f('fk_operate_privacy_spends_run_id_operate_sandbox_runs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_operate_privacy_spends_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operate_privacy_spends')),
    sa.UniqueConstraint('run_id', name=op.f('uq_operate_privacy_spends_run_id'))
    )
    op.create_index(op.f('ix_operate_privacy_spends_authorization_id'), 'operate_privacy_spends', ['authorization_id'], unique=False)
    op.create_table('product_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('holder_org_id', sa.Integer(), nullable=False),
    sa.Column('intention', sa.String(length=8), nullable=False),
    sa.Column('asset_class', sa.String(length=8), nullable=False),
    sa.Column('cost_items', sa.JSON(), nullable=False),
    sa.Column('capitalised_fen', sa.BigInteger(), nullable=False),
    sa.Column('expensed_fen', sa.BigInteger(), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_product_bookings_created_by_id_users')),
    sa.ForeignKeyConstraint(['holder_org_id'], ['orgs.id'], name=op.f('fk_product_bookings_holder_org_id_orgs')),
    sa.ForeignKeyConstraint(['product_id'], ['product_products.id'], name=op.f('fk_product_bookings_product_id_product_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_bookings'))
    )
    op.create_index(op.f('ix_product_bookings_product_id'), 'product_bookings', ['product_id'], unique=False)
    op.create_table('product_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=4), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('division', sa.String(length=6), nullable=False),
    sa.Column('rights', sa.JSON(), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=False),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('checked_on', sa.Date(), nullable=True),
    sa.Column('publicity_from', sa.Date(), nullable=True),
    sa.Column('publicity_until', sa.Date(), nullable=True),
    sa.Column('coded_on', sa.Date(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('product_digest', sa.String(length=64), nullable=True),
    sa.Column('objections', sa.JSON(), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('certificate', sa.JSON(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['previous_id'], ['product_registrations.id'], name=op.f('fk_product_registrations_previous_id_product_registrations')),
    sa.ForeignKeyConstraint(['product_id'], ['product_products.id'], name=op.f('fk_product_registrations_product_id_product_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_registrations')),
    sa.UniqueConstraint('code', name='uq_product_registrations_code')
    )
    op.create_index(op.f('ix_product_registrations_product_id'), 'product_registrations', ['product_id'], unique=False)
    op.create_table('product_revenues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('approved_max_fen', sa.BigInteger(), nullable=False),
    sa.Column('deduction_fen', sa.BigInteger(), nullable=False),
    sa.Column('allowed_fen', sa.BigInteger(), nullable=False),
    sa.Column('excess_fen', sa.BigInteger(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product_products.id'], name=op.f('fk_product_revenues_product_id_product_products')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_product_revenues_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_revenues')),
    sa.UniqueConstraint('product_id', 'period', name='uq_product_revenues_product_period')
    )
    op.create_index(op.f('ix_product_revenues_product_id'), 'product_revenues', ['product_id'], unique=False)
    op.create_table('product_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('product_version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product_products.id'], name=op.f('fk_product_reviews_product_id_product_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_reviews'))
    )
    op.create_index(op.f('ix_product_reviews_product_id'), 'product_reviews', ['product_id'], unique=False)
    op.create_table('product_valuations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('inputs_digest', sa.String(length=64), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('valued_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_product_valuations_created_by_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['product_products.id'], name=op.f('fk_product_valuations_product_id_product_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_valuations'))
    )
    op.create_index(op.f('ix_product_valuations_product_id'), 'product_valuations', ['product_id'], unique=False)
    op.create_table('quality_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_quality_rules_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_rules'))
    )
    op.create_index(op.f('ix_quality_rules_resource_id'), 'quality_rules', ['resource_id'], unique=False)
    op.create_table('quality_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('rule_count', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('overall', sa.Float(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_quality_runs_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_runs'))
    )
    op.create_index(op.f('ix_quality_runs_org_id'), 'quality_runs', ['org_id'], unique=False)
    op.create_index(op.f('ix_quality_runs_region_id'), 'quality_runs', ['region_id'], unique=False)
    op.create_index('ix_quality_runs_resource_id_id', 'quality_runs', ['resource_id', 'id'], unique=False)
    op.create_table('resource_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('data_type', sa.String(length=8), nullable=False),
    sa.Column('length', sa.Integer(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('enumeration', sa.JSON(), nullable=True),
    sa.Column('format', sa.String(length=100), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_key', sa.Boolean(), nullable=False),
    sa.Column('authoritative', sa.Boolean(), nullable=False),
    sa.Column('element', sa.String(length=100), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_items_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_items')),
    sa.UniqueConstraint('resource_id', 'name', name=op.f('uq_resource_items_resource_id'))
    )
    op.create_index(op.f('ix_resource_items_element'), 'resource_items', ['element'], unique=False)
    op.create_index(op.f('ix_resource_items_resource_id'), 'resource_items', ['resource_id'], unique=False)
    op.create_table('resource_relations',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('related_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['related_id'], ['resources.id'], name=op.f('fk_resource_relations_related_id_resources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_relations_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'related_id', name=op.f('pk_resource_relations'))
    )
    op.create_table('resource_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('published_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_resource_versions_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_versions')),
    sa.UniqueConstraint('resource_id', 'version', name=op.f('uq_resource_versions_resource_id'))
    )
    op.create_index(op.f('ix_resource_versions_resource_id'), 'resource_versions', ['resource_id'], unique=False)
    op.create_table('share_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('consumer_org_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('row_scope', sa.JSON(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('rate_limit_per_minute', sa.Integer(), nullable=False),
    sa.Column('exit_path', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['consumer_org_id'], ['orgs.id'], name=op.f('fk_share_grants_consumer_org_id_orgs')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_share_grants_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_grants'))
    )
    op.create_index(op.f('ix_share_grants_consumer_org_id'), 'share_grants', ['consumer_org_id'], unique=False)
    op.create_index(op.f('ix_share_grants_request_id'), 'share_grants', ['request_id'], unique=False)
    op.create_index(op.f('ix_share_grants_resource_id'), 'share_grants', ['resource_id'], unique=False)
    op.create_table('share_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('provider_org_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('consumer_org_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('region_scope', sa.String(length=12), nullable=True),
    sa.Column('extra_items_reason', sa.Text(), nullable=True),
    sa.Column('share_type', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('step_started_on', sa.Date(), nullable=True),
    sa.Column('step_due', sa.Date(), nullable=True),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('escalated_on', sa.Date(), nullable=True),
    sa.Column('decisions', sa.JSON(), nullable=False),
    sa.Column('sealed', sa.JSON(), nullable=True),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_org_id'], ['orgs.id'], name=op.f('fk_share_requests_consumer_org_id_orgs')),
    sa.ForeignKeyConstraint(['provider_org_id'], ['orgs.id'], name=op.f('fk_share_requests_provider_org_id_orgs')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_share_requests_region_id_regions')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_share_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_share_requests_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_requests'))
    )
    op.create_index(op.f('ix_share_requests_consumer_org_id'), 'share_requests', ['consumer_org_id'], unique=False)
    op.create_index('ix_share_requests_provider_state', 'share_requests', ['provider_org_id', 'state'], unique=False)
    op.create_index('ix_share_requests_requested_by_id', 'share_requests', ['requested_by_id'], unique=False)
    op.create_index('ix_share_requests_resource_consumer', 'share_requests', ['resource_id', 'consumer_org_id'], unique=False)
    op.create_table('zone_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=False),
    sa.Column('rejected_count', sa.BigInteger(), nullable=False),
    sa.Column('schema', sa.JSON(), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('reject_path', sa.String(length=400), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_zone_batches_resource_id_resources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zone_batches')),
    sa.UniqueConstraint('resource_id', 'seq', name=op.f('uq_zone_batches_resource_id'))
    )
    op.create_index('ix_zone_batches_resource_status', 'zone_batches', ['resource_id', 'status'], unique=False)
    op.create_table('classification_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('suggested_grade', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['resource_items.id'], name=op.f('fk_classification_decisions_item_id_resource_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_classification_decisions_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classification_decisions')),
    sa.UniqueConstraint('item_id', name=op.f('uq_classification_decisions_item_id'))
    )
    op.create_index('ix_classification_decisions_grade', 'classification_decisions', ['grade'], unique=False)
    op.create_index(op.f('ix_classification_decisions_resource_id'), 'classification_decisions', ['resource_id'], unique=False)
    op.create_table('classification_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('full_scan', sa.Boolean(), nullable=False),
    sa.Column('rules_version', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['resource_items.id'], name=op.f('fk_classification_suggestions_item_id_resource_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_classification_suggestions_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classification_suggestions')),
    sa.UniqueConstraint('item_id', name=op.f('uq_classification_suggestions_item_id'))
    )
    op.create_index(op.f('ix_classification_suggestions_resource_id'), 'classification_suggestions', ['resource_id'], unique=False)
    op.create_table('quality_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('rule_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dimension', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('checked', sa.BigInteger(), nullable=False),
    sa.Column('failed', sa.BigInteger(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('samples', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['quality_runs.id'], name=op.f('fk_quality_results_run_id_quality_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_results'))
    )
    op.create_index(op.f('ix_quality_results_run_id'), 'quality_results', ['run_id'], unique=False)
    op.create_table('share_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ready_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('downloaded_at', yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['share_grants.id'], name=op.f('fk_share_deliveries_grant_id_share_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_deliveries'))
    )
    op.create_index(op.f('ix_share_deliveries_grant_id'), 'share_deliveries', ['grant_id'], unique=False)
    op.create_table('share_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('consumer_org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('summary_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['share_grants.id'], name=op.f('fk_share_usage_grant_id_share_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_usage'))
    )
    op.create_index(op.f('ix_share_usage_consumer_org_id'), 'share_usage', ['consumer_org_id'], unique=False)
    op.create_index(op.f('ix_share_usage_grant_id'), 'share_usage', ['grant_id'], unique=False)
    op.create_index(op.f('ix_share_usage_resource_id'), 'share_usage', ['resource_id'], unique=False)
    op.create_index(op.f('ix_share_usage_summary_seq'), 'share_usage', ['summary_seq'], unique=False)
    # the search index (not modelled: its full-text part differs by dialect)
    op.create_table(
        "search_docs",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("region_name", sa.String(length=100), nullable=True),
        sa.Column("category_code", sa.String(length=9), nullable=False),
        sa.Column("resource_class", sa.String(length=8), nullable=True),
        sa.Column("library", sa.String(length=8), nullable=True),
        sa.Column("share_type", sa.String(length=16), nullable=True),
        sa.Column("open_type", sa.String(length=16), nullable=True),
        sa.Column("format_kind", sa.String(length=16), nullable=True),
        sa.Column("update_cycle", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("sort_time", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name="fk_search_docs_resource_id_resources",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resource_id", name="pk_search_docs"),
    )
    op.create_index("ix_search_docs_org_id", "search_docs", ["org_id"])
    op.create_index("ix_search_docs_sort_time", "search_docs", ["sort_time"])
    op.create_index("ix_search_docs_name", "search_docs", ["name"])
    op.create_index("ix_search_docs_category_code", "search_docs", ["category_code"])
    op.create_index("ix_search_docs_region_code", "search_docs", ["region_code"])
    if op.get_bind().dialect.name == "sqlite":
        # rowid = resource id; columns weighted by bm25 at query time (name >> keywords/items > abstract).
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "name, keywords, items, context, abstract, tokenize='unicode61 remove_diacritics 2')"
        )
    else:
        op.execute("ALTER TABLE search_docs ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
    op.create_table(
        "search_facets",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("codes", sa.BigInteger(), nullable=False),
        sa.Column("category_code", sa.String(length=9), nullable=False),
        sa.Column("sort_time", yibenzhang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("v_published", sa.Boolean(), nullable=False),
        sa.Column("v_status", sa.String(length=8), nullable=False),
        sa.Column("v_open_type", sa.String(length=16), nullable=True),
        sa.Column("v_org_id", sa.Integer(), nullable=False),
        sa.Column("v_region_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name="fk_search_facets_resource_id_resources",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resource_id", name="pk_search_facets"),
    )
    op.create_index("ix_search_facets_sort_time", "search_facets", ["sort_time", "resource_id"])
    op.create_index("ix_search_facets_name", "search_facets", ["name", "resource_id"])
    op.create_index("ix_search_facets_org_id", "search_facets", ["org_id"])
    op.create_index("ix_search_facets_region_id", "search_facets", ["region_id"])
    op.create_index("ix_search_facets_category_code", "search_facets", ["category_code"])


def downgrade() -> None:
    raise NotImplementedError("the baseline is not downgraded: restore a backup instead")
