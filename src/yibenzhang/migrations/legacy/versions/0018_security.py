"""等保/密评 controls (issue 23): login failures and locks, session idle time, TOTP, recovery
codes, password history; objection texts sealed with SM4

Revision ID: 0018
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", yibenzhang.db.UTCDateTime(), nullable=True))
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_kind_key_at", "login_failures", ["kind", "key", "at"])
    op.create_table(
        "login_locks",
        sa.Column("key", sa.String(length=72), nullable=False),
        sa.Column("until", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_login_locks_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", name="pk_login_locks"),
    )
    op.create_table(
        "user_mfa",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("confirmed_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_mfa_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_mfa"),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("used_at", yibenzhang.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_mfa_recovery_codes_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_mfa_recovery_codes"),
    )
    op.create_index("ix_mfa_recovery_codes_user_id", "mfa_recovery_codes", ["user_id"])
    op.create_table(
        "password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_password_history_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_password_history"),
    )
    op.create_index("ix_password_history_user_id", "password_history", ["user_id"])
    seal_objections()


OBJECTION_TEXT = ("claim", "expected", "answer_reason", "correction_note", "decision_reason")


def seal_objections() -> None:
    """Objection texts written before this revision are sealed in place with SM4 (the key ring
    of yibenzhang.sealing: YBZ_DATA_KEYS, else derived from YBZ_SECRET_KEY)."""
    import json

    from yibenzhang.sealing import is_sealed, seal

    bind = op.get_bind()
    if not sa.inspect(bind).has_table("objections"):
        return
    table = sa.table("objections", sa.column("id", sa.Integer), sa.column("row_key", sa.JSON),
                     *(sa.column(c, sa.Text) for c in OBJECTION_TEXT))
    for row in bind.execute(sa.select(table)).mappings().all():
        values: dict[str, object] = {c: seal(row[c]) for c in OBJECTION_TEXT
                                     if row[c] is not None and not is_sealed(row[c])}
        key = row["row_key"]
        if key is not None and not is_sealed(key):
            values["row_key"] = seal(json.dumps(key, ensure_ascii=False, sort_keys=True))
        if values:
            bind.execute(sa.update(table).where(table.c.id == row["id"]).values(**values))


def downgrade() -> None:
    op.drop_table("password_history")
    op.drop_table("mfa_recovery_codes")
    op.drop_table("user_mfa")
    op.drop_table("login_locks")
    op.drop_index("ix_login_failures_kind_key_at", table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("last_seen_at")
