"""Catalogue tables: classification, systems, resources and their items, versions, lists,
duty changes and code sequences.

A resource row with its item rows is the working copy; every publication stores a full
snapshot in resource_versions, so the public sees the last published version while a change is
under review, and any two versions can be compared.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow


class Category(Base):
    """信息资源分类 node: 类 (1 digit), 项 (+2), 目 (+3), 细目 (+3). `code` is the full prefix."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)  # 1 类, 2 项, 3 目, 4 细目
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))


class System(Base):
    """A business information system of an org, the source of its resources (004:693)."""

    __tablename__ = "systems"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeSequence(Base):
    """The last 后段码 handed out under each 前段码."""

    __tablename__ = "code_sequences"

    prefix: Mapped[str] = mapped_column(String(9), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (
        Index("ix_resources_org_status", "org_id", "status"),
        Index("ix_resources_region", "region_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # 前段码/后段码, generated
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    name: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"))
    library: Mapped[str] = mapped_column(String(8))
    format_kind: Mapped[str] = mapped_column(String(16))
    format_detail: Mapped[str | None] = mapped_column(String(50))
    share_type: Mapped[str] = mapped_column(String(16))
    share_condition: Mapped[str | None] = mapped_column(Text)
    share_basis: Mapped[str | None] = mapped_column(Text)
    share_method: Mapped[str | None] = mapped_column(String(8))
    open_type: Mapped[str] = mapped_column(String(16))
    open_condition: Mapped[str | None] = mapped_column(Text)
    returnable: Mapped[bool] = mapped_column(Boolean, default=False)
    update_cycle: Mapped[str] = mapped_column(String(8))
    publish_date: Mapped[date | None] = mapped_column(Date)
    record_count: Mapped[int | None] = mapped_column(Integer)
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)

    status: Mapped[str] = mapped_column(String(8), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # version of the working copy
    published_version: Mapped[int | None] = mapped_column(Integer)
    return_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[ResourceItem]] = relationship(
        back_populates="resource", cascade="all, delete-orphan", order_by="ResourceItem.position",
        lazy="selectin",
    )


class ResourceItem(Base):
    """信息项: one field of a resource."""

    __tablename__ = "resource_items"
    __table_args__ = (UniqueConstraint("resource_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(8))  # DataType value
    length: Mapped[int | None] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    enumeration: Mapped[list[Any] | None] = mapped_column(JSON)
    format: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)
    # 一数一源: this item is the authoritative source of its data element.
    authoritative: Mapped[bool] = mapped_column(Boolean, default=False)
    element: Mapped[str | None] = mapped_column(String(100), index=True)
    grade: Mapped[str | None] = mapped_column(String(16))

    resource: Mapped[Resource] = relationship(back_populates="items")


class ResourceRelation(Base):
    """关联资源代码: resources this one relates to."""

    __tablename__ = "resource_relations"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    related_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)


class ResourceVersion(Base):
    """A published version: the complete metadata as it was published."""

    __tablename__ = "resource_versions"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(64))


class ListEntry(Base):
    """An entry of a region's 责任清单 / 需求清单 / 负面清单 (004:693, 001:601)."""

    __tablename__ = "list_entries"
    __table_args__ = (Index("ix_list_entries_region_kind", "region_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    kind: Mapped[str] = mapped_column(String(8))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DutyChange(Base):
    """A change of law or of an org's duties: its catalogue is due for update (004:693)."""

    __tablename__ = "duty_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    fulfilled_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
