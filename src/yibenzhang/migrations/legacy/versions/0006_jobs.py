"""durable jobs, collection schedules and pull cursors

Revision ID: 0006_jobs
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0006_jobs"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("locked_until", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("active_key", sa.String(length=200), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("started_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("finished_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_jobs_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("active_key", name=op.f("uq_jobs_active_key")),
    )
    op.create_index("ix_jobs_status_run_at", "jobs", ["status", "run_at"])
    op.create_index(op.f("ix_jobs_org_id"), "jobs", ["org_id"])
    op.create_table(
        "collect_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("url_sealed", sa.Text(), nullable=False),
        sa.Column("url_display", sa.String(length=500), nullable=False),
        sa.Column("table_name", sa.String(length=200), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("since_column", sa.String(length=100), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("last_enqueued_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("last_job_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE",
                                name=op.f("fk_collect_schedules_resource_id_resources")),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_collect_schedules_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collect_schedules")),
    )
    op.create_index(op.f("ix_collect_schedules_resource_id"), "collect_schedules", ["resource_id"])
    op.create_index(op.f("ix_collect_schedules_org_id"), "collect_schedules", ["org_id"])
    op.create_index(op.f("ix_collect_schedules_next_run_at"), "collect_schedules", ["next_run_at"])
    op.create_table(
        "collect_pull_cursors",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("since_column", sa.String(length=100), nullable=False),
        sa.Column("last_value", sa.JSON(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE",
                                name=op.f("fk_collect_pull_cursors_resource_id_resources")),
        sa.PrimaryKeyConstraint("resource_id", "source_key", name=op.f("pk_collect_pull_cursors")),
    )


def downgrade() -> None:
    op.drop_table("collect_pull_cursors")
    op.drop_index(op.f("ix_collect_schedules_next_run_at"), table_name="collect_schedules")
    op.drop_index(op.f("ix_collect_schedules_org_id"), table_name="collect_schedules")
    op.drop_index(op.f("ix_collect_schedules_resource_id"), table_name="collect_schedules")
    op.drop_table("collect_schedules")
    op.drop_index(op.f("ix_jobs_org_id"), table_name="jobs")
    op.drop_index("ix_jobs_status_run_at", table_name="jobs")
    op.drop_table("jobs")
