"""Tables of the open-data stage (DOMAIN §6). Free text people type (purposes, demands, answers,
showcase descriptions) lives here only; the ledger gets ids, states and dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..enums import ChineseEnum
from ..i18n import N_


class ApplicationState(ChineseEnum):
    PENDING = "待审批"
    APPROVED = "已批准"
    REFUSED = "已拒绝"
    WITHDRAWN = "已撤回"


class DemandState(ChineseEnum):
    PENDING = "待答复"
    ANSWERED = "已答复"
    OVERDUE = "已逾期"  # shown for a pending demand past its due date (and marked by the daily job)


class ShowcaseState(ChineseEnum):
    PENDING = "待审核"
    LISTED = "已发布"
    REFUSED = "已拒绝"


class Verdict(ChineseEnum):
    APPROVE = "批准"
    REFUSE = "拒绝"


# Priority domains of demand collection (004:713).
DEMAND_DOMAINS = (N_("教育"), N_("医疗"), N_("就业"), N_("文旅"), N_("体育"), N_("公共交通"), N_("应急"), N_("金融"),
                  "其他")


class OpenApplication(Base):
    """An application to use a 有条件开放 dataset: purpose, scenario, agreement accepted."""

    __tablename__ = "open_applications"
    __table_args__ = (
        Index("ix_open_applications_provider_state", "provider_org_id", "state"),
        Index("ix_open_applications_applicant_resource", "applicant_id", "resource_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    agreement_version: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8))
    applied_on: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    overdue_marked: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    key_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpenApiKey(Base):
    """An API key for approved 有条件开放 datasets: shown once, stored as its SM3 digest."""

    __tablename__ = "open_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_digest: Mapped[str] = mapped_column(String(64))
    resource_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    application_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_on: Mapped[date | None] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OpenUsage(Base):
    """Downloads and API calls per resource per day (counters, not evidence: no ledger)."""

    __tablename__ = "open_usage"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # download.csv … / api
    count: Mapped[int] = mapped_column(Integer, default=0)


class OpenDemand(Base):
    """开放需求征集: someone asks for data; routed to the holding org or the authority."""

    __tablename__ = "open_demands"
    __table_args__ = (Index("ix_open_demands_org_state", "org_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(String(16))
    contact: Mapped[str | None] = mapped_column(String(200))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    routed_by: Mapped[str] = mapped_column(String(16))  # match | authority
    matched_resource_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(8))
    asked_on: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    overdue_marked: Mapped[bool] = mapped_column(Boolean, default=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_on: Mapped[date | None] = mapped_column(Date)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpenShowcase(Base):
    """应用成果: an application built on open data, listed after the authority's review."""

    __tablename__ = "open_showcase"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    resource_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))  # whose authority reviews
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(8), index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpenPlanEntry(Base):
    """One line of an org's annual open plan: a resource (or a named dataset) and when it opens."""

    __tablename__ = "open_plan_entries"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "title", name="uq_open_plan_entries_org_year_title"),
        Index("ix_open_plan_entries_year_org", "year", "org_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    year: Mapped[int] = mapped_column(Integer)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    title: Mapped[str] = mapped_column(String(200))
    open_type: Mapped[str] = mapped_column(String(16))
    planned_quarter: Mapped[int] = mapped_column(Integer)
    planned_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
