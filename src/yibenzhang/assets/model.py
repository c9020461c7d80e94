"""Tables of data products and their asset chain (DOMAIN §7): 确权 → 登记 → 评估 → 定价 → 入表.

- `Product`: what an operator builds from released sandbox runs, resting on one authorization.
- `ComplianceReview`: the checklist over the 7 untradeable kinds (001:1236 Art. 27) for one
  submission of a product; automatic results plus a reviewer's sign-off item by item.
- `Registration`: 申请 → 受理 → 形式审核 → 公示 → 赋码, kinds 首次 / 变更 / 更正 / 注销, with the
  three rights and their holders, and the sealed certificate once coded.
- `Revenue`: revenue per product and period, with the excess over the approved maximum carried
  into the next period as a deduction.
- `Valuation`: one valuation with its inputs, its figure and the SM3 digest of the inputs.
- `Booking`: one 入表 classification with its cost items.

A product rests on an authorization of operate.model (a real foreign key since migration 0030);
its source runs are a JSON list of sandbox-run ids.
Money is in fen (integers); rates and factors are stored as decimal strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..enums import ChineseEnum


class ProductKind(ChineseEnum):
    DATASET = "数据集"
    REPORT = "数据报告"
    API = "数据接口"


class PricingCategory(ChineseEnum):
    """Use of a product (2025 national pricing rules): the first two are free."""

    GOVERNANCE = "公共治理"
    PUBLIC_INTEREST = "公益事业"
    INDUSTRY = "产业发展"
    SECTOR = "行业发展"


FREE_CATEGORIES = (PricingCategory.GOVERNANCE.value, PricingCategory.PUBLIC_INTEREST.value)


class ProductState(ChineseEnum):
    DRAFT = "草稿"
    REVIEWING = "合规审查中"
    REFUSED = "合规未通过"
    PASSED = "合规通过"
    REGISTERING = "登记中"
    REGISTERED = "已登记"
    CANCELLED = "已注销"


class Product(Base):
    __tablename__ = "product_products"
    __table_args__ = (Index("ix_product_products_operator_state", "operator_org_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    # RESTRICT: an authorization is revoked, never deleted, while a product rests on it
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("operate_authorizations.id", ondelete="RESTRICT"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))  # the authorization's
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text)
    use: Mapped[str | None] = mapped_column(Text)  # concrete use (Art. 27(3))
    scenario: Mapped[str | None] = mapped_column(Text)  # application scenario (Art. 27(3))
    source_run_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # operate_sandbox_runs ids
    pi_consent: Mapped[bool] = mapped_column(Boolean, default=False)  # consent of persons / guardians
    pi_consent_ref: Mapped[str | None] = mapped_column(String(200))  # where the consent record is
    pricing_category: Mapped[str] = mapped_column(String(8))
    price_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every edit
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewState(ChineseEnum):
    PENDING = "待签核"
    PASSED = "通过"
    FAILED = "不通过"


class ComplianceReview(Base):
    __tablename__ = "product_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product_products.id"), index=True)
    product_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(8))
    # One entry per untradeable kind: {"kind", "rule", "title", "auto", "result", "reason_code",
    # "reason", "reason_params", "signoff": {"verdict", "note", "by", "on"} | None}
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    submitted_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistrationKind(ChineseEnum):
    FIRST = "首次"
    CHANGE = "变更"
    CORRECTION = "更正"
    CANCELLATION = "注销"


class RegistrationState(ChineseEnum):
    APPLIED = "申请"
    ACCEPTED = "受理"
    CHECKED = "形式审核"
    PUBLICITY = "公示"
    CODED = "赋码"
    REJECTED = "已驳回"
    SUPERSEDED = "已被取代"  # a later 变更 / 更正 took its place
    CANCELLED = "已注销"  # ended by a 注销 registration


class Registration(Base):
    __tablename__ = "product_registrations"
    __table_args__ = (UniqueConstraint("code", name="uq_product_registrations_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product_products.id"), index=True)
    kind: Mapped[str] = mapped_column(String(4))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("product_registrations.id"))
    state: Mapped[str] = mapped_column(String(8))
    division: Mapped[str] = mapped_column(String(6))  # the authority's region code
    # {"数据资源持有权": holder, "数据加工使用权": holder, "数据产品经营权": holder}
    rights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applied_on: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    checked_on: Mapped[date | None] = mapped_column(Date)
    publicity_from: Mapped[date | None] = mapped_column(Date)
    publicity_until: Mapped[date | None] = mapped_column(Date)  # last day of 公示 (inclusive)
    coded_on: Mapped[date | None] = mapped_column(Date)
    code: Mapped[str | None] = mapped_column(String(40))
    product_digest: Mapped[str | None] = mapped_column(String(64))  # SM3 of the product content
    # [{"id", "on", "by", "note", "state": 待处理/成立/不成立, "answer"}]
    objections: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # [{"step", "verdict", "note", "by", "on"}]
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    certificate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Revenue(Base):
    __tablename__ = "product_revenues"
    __table_args__ = (UniqueConstraint("product_id", "period", name="uq_product_revenues_product_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product_products.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    units: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    approved_max_fen: Mapped[int] = mapped_column(BigInteger)  # cap × units for this period
    deduction_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # carried in from the period before
    allowed_fen: Mapped[int] = mapped_column(BigInteger)  # approved maximum less the deduction
    excess_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # carried out to the next period
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Valuation(Base):
    __tablename__ = "product_valuations"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product_products.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs_digest: Mapped[str] = mapped_column(String(64))  # SM3 over method, formula version and inputs
    value_fen: Mapped[int] = mapped_column(BigInteger)
    steps: Mapped[dict[str, Any]] = mapped_column(JSON)  # intermediate figures, as decimal strings
    valued_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booking(Base):
    __tablename__ = "product_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product_products.id"), index=True)
    holder_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    intention: Mapped[str] = mapped_column(String(8))
    asset_class: Mapped[str] = mapped_column(String(8))
    # [{"item", "amount_fen", "capitalised": bool}]
    cost_items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    capitalised_fen: Mapped[int] = mapped_column(BigInteger)
    expensed_fen: Mapped[int] = mapped_column(BigInteger)
    booked_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
