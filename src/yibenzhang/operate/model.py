"""Tables of authorized operation (授权运营, DOMAIN §7): authorizations and sandbox runs.

An authorization lets one operator org (kind 授权运营机构) compute over listed resources and items
of a region for a purpose, within a term of at most `rules.operation_term_years_max` years.
Its stored state is 有效 / 暂停 / 撤销; 已到期 is computed on read from `ends_on`
(`authorizations.effective_state`).

A sandbox run records every query an operator submitted, released or refused: the SQL and its
SM3 digest, the resources used, the outcome with its reason, the output's SM3 digest and where
the released output lies in the zone (`$YBZ_ZONE/sandbox/<run id>.parquet`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..enums import ChineseEnum


class ScopeKind(ChineseEnum):
    REGION = "全域"
    DOMAIN = "领域"
    SCENARIO = "场景"


class AuthorizationState(ChineseEnum):
    ACTIVE = "有效"
    SUSPENDED = "暂停"
    REVOKED = "撤销"
    EXPIRED = "已到期"  # never stored: computed on read when today > ends_on


class RunState(ChineseEnum):
    RELEASED = "已放行"
    REFUSED = "已拒绝"
    HELD = "待审核"  # issue 16: passed the automatic rules, waits for a human output checker


class ReleaseKind(ChineseEnum):
    AGGREGATE = "聚合"
    ROWS = "行级"
    NOISY = "差分隐私"  # issue 16: counts / sums / means with calibrated noise, paid from the budget


class ReleaseMode(ChineseEnum):
    """How an authorization's results leave (DOMAIN §7), chosen by the authority."""

    OUTPUT_CHECK = "输出检查"  # disclosure control (threshold, dominance, suppression) + output checking
    PRIVACY_BUDGET = "隐私预算"  # only noisy counts / sums / means, paid from an ε budget


class ReviewState(ChineseEnum):
    PENDING = "待审核"
    APPROVED = "已批准"
    REJECTED = "已驳回"


class Authorization(Base):
    __tablename__ = "operate_authorizations"
    __table_args__ = (Index("ix_operate_authorizations_operator_state", "operator_org_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    scope_kind: Mapped[str] = mapped_column(String(8))
    scope: Mapped[str | None] = mapped_column(String(200))  # the domain or scenario (None for 全域)
    # [{"resource_id": int, "items": [item names]}]
    resources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    fee_cap_fen: Mapped[int] = mapped_column(BigInteger)  # operation fee cap, in fen
    state: Mapped[str] = mapped_column(String(8))
    # One entry per act: {"act", "reason", "by", "on"}; the reason stays here, not in the ledger.
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxRun(Base):
    __tablename__ = "operate_sandbox_runs"
    __table_args__ = (Index("ix_operate_sandbox_runs_auth_state", "authorization_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authorization_id: Mapped[int] = mapped_column(ForeignKey("operate_authorizations.id"))
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sql_text: Mapped[str] = mapped_column(Text)
    sql_digest: Mapped[str] = mapped_column(String(64))  # SM3 hex of the SQL as submitted
    resources: Mapped[list[Any]] = mapped_column(JSON, default=list)  # resource ids read
    state: Mapped[str] = mapped_column(String(8))
    release_kind: Mapped[str | None] = mapped_column(String(8))  # 聚合 / 行级 when released
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # Chinese message with params filled in
    row_count: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    output_digest: Mapped[str | None] = mapped_column(String(64))  # SM3 hex of the canonical output
    output_path: Mapped[str | None] = mapped_column(String(500))  # relative to YBZ_ZONE
    # What the differencing check compares between released aggregates (see sandbox docstring).
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    elapsed_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- issue 16: the release policy, the privacy budget and human output checking ----------------


class ReleasePolicy(Base):
    """Per authorization, set by the authority: the release mode, whether every release waits for
    an output checker, and the differential-privacy budget. ε is kept in millionths (integers), so
    that the budget's edge is exact and a debit is one conditional UPDATE (`privacy.debit`)."""

    __tablename__ = "operate_release_policies"

    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("operate_authorizations.id", name="fk_operate_release_policies_authorization"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))
    review_all: Mapped[bool] = mapped_column(Boolean, default=False)
    epsilon_total_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    epsilon_spent_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    period_starts_on: Mapped[date | None] = mapped_column(Date)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrivacySpend(Base):
    """One debit of an authorization's ε budget: the run it paid for and the balance after it."""

    __tablename__ = "operate_privacy_spends"

    id: Mapped[int] = mapped_column(primary_key=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("operate_authorizations.id", name="fk_operate_privacy_spends_authorization"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("operate_sandbox_runs.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    epsilon_micro: Mapped[int] = mapped_column(BigInteger)
    spent_after_micro: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutputReview(Base):
    """Human output checking (输出检查, DOMAIN §7): a held run, why it was held, and the checker's
    decision with its reason. The checker is never the user who ran the query (two-person rule)."""

    __tablename__ = "operate_output_reviews"
    __table_args__ = (Index("ix_operate_output_reviews_auth_state", "authorization_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("operate_sandbox_runs.id"), unique=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("operate_authorizations.id", name="fk_operate_output_reviews_authorization"))
    state: Mapped[str] = mapped_column(String(8))
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    checker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
