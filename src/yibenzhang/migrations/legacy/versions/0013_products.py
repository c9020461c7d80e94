"""products, compliance reviews, registrations, revenue, valuations and 入表 (issue 7, engineer P2)

Revision ID: 0013
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import yibenzhang.db

revision = "0013"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("product_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_org_id", sa.Integer(), nullable=False),
        sa.Column("authorization_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("use", sa.Text(), nullable=True),
        sa.Column("scenario", sa.Text(), nullable=True),
        sa.Column("source_run_ids", sa.JSON(), nullable=False),
        sa.Column("pi_consent", sa.Boolean(), nullable=False),
        sa.Column("pi_consent_ref", sa.String(length=200), nullable=True),
        sa.Column("pricing_category", sa.String(length=8), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=("fk_product_products_created_by_id_users")),
        sa.ForeignKeyConstraint(["operator_org_id"], ["orgs.id"], name=("fk_product_products_operator_org_id_orgs")),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=("fk_product_products_region_id_regions")),
        sa.PrimaryKeyConstraint("id", name=("pk_product_products"))
        )
    op.create_index(("ix_product_products_authorization_id"), "product_products", ["authorization_id"])
    op.create_index("ix_product_products_operator_state", "product_products", ["operator_org_id", "state"])
    op.create_table("product_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("holder_org_id", sa.Integer(), nullable=False),
        sa.Column("intention", sa.String(length=8), nullable=False),
        sa.Column("asset_class", sa.String(length=8), nullable=False),
        sa.Column("cost_items", sa.JSON(), nullable=False),
        sa.Column("capitalised_fen", sa.BigInteger(), nullable=False),
        sa.Column("expensed_fen", sa.BigInteger(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=("fk_product_bookings_created_by_id_users")),
        sa.ForeignKeyConstraint(["holder_org_id"], ["orgs.id"], name=("fk_product_bookings_holder_org_id_orgs")),
        sa.ForeignKeyConstraint(["product_id"], ["product_products.id"], name=("fk_product_bookings_product_id_product_products")),
        sa.PrimaryKeyConstraint("id", name=("pk_product_bookings"))
        )
    op.create_index(("ix_product_bookings_product_id"), "product_bookings", ["product_id"])
    op.create_table("product_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("division", sa.String(length=6), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("publicity_from", sa.Date(), nullable=True),
        sa.Column("publicity_until", sa.Date(), nullable=True),
        sa.Column("coded_on", sa.Date(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("product_digest", sa.String(length=64), nullable=True),
        sa.Column("objections", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("certificate", sa.JSON(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["previous_id"], ["product_registrations.id"], name=("fk_product_registrations_previous_id_product_registrations")),
        sa.ForeignKeyConstraint(["product_id"], ["product_products.id"], name=("fk_product_registrations_product_id_product_products")),
        sa.PrimaryKeyConstraint("id", name=("pk_product_registrations")),
        sa.UniqueConstraint("code", name="uq_product_registrations_code")
        )
    op.create_index(("ix_product_registrations_product_id"), "product_registrations", ["product_id"])
    op.create_table("product_revenues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("approved_max_fen", sa.BigInteger(), nullable=False),
        sa.Column("deduction_fen", sa.BigInteger(), nullable=False),
        sa.Column("allowed_fen", sa.BigInteger(), nullable=False),
        sa.Column("excess_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product_products.id"], name=("fk_product_revenues_product_id_product_products")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=("fk_product_revenues_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=("pk_product_revenues")),
        sa.UniqueConstraint("product_id", "period", name="uq_product_revenues_product_period")
        )
    op.create_index(("ix_product_revenues_product_id"), "product_revenues", ["product_id"])
    op.create_table("product_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product_products.id"], name=("fk_product_reviews_product_id_product_products")),
        sa.PrimaryKeyConstraint("id", name=("pk_product_reviews"))
        )
    op.create_index(("ix_product_reviews_product_id"), "product_reviews", ["product_id"])
    op.create_table("product_valuations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("inputs_digest", sa.String(length=64), nullable=False),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("valued_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yibenzhang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=("fk_product_valuations_created_by_id_users")),
        sa.ForeignKeyConstraint(["product_id"], ["product_products.id"], name=("fk_product_valuations_product_id_product_products")),
        sa.PrimaryKeyConstraint("id", name=("pk_product_valuations"))
        )
    op.create_index(("ix_product_valuations_product_id"), "product_valuations", ["product_id"])


def downgrade() -> None:
    op.drop_index(("ix_product_valuations_product_id"), table_name="product_valuations")
    op.drop_table("product_valuations")
    op.drop_index(("ix_product_reviews_product_id"), table_name="product_reviews")
    op.drop_table("product_reviews")
    op.drop_index(("ix_product_revenues_product_id"), table_name="product_revenues")
    op.drop_table("product_revenues")
    op.drop_index(("ix_product_registrations_product_id"), table_name="product_registrations")
    op.drop_table("product_registrations")
    op.drop_index(("ix_product_bookings_product_id"), table_name="product_bookings")
    op.drop_table("product_bookings")
    op.drop_index("ix_product_products_operator_state", table_name="product_products")
    op.drop_index(("ix_product_products_authorization_id"), table_name="product_products")
    op.drop_table("product_products")
