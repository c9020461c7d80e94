"""The zone's manifest: one row per batch. Rows themselves live in Parquet under YBZ_ZONE
(DESIGN rule 2); a batch folder without a manifest row is never read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..enums import ChineseEnum


class BatchMode(ChineseEnum):
    FULL = "全量"  # replaces every row before it
    APPEND = "追加"  # adds rows
    UPSERT = "更新"  # upserts by the resource's key items (latest batch, then latest row wins)


class BatchStatus(ChineseEnum):
    PUBLISHED = "已发布"
    HELD = "待确认"  # reject rate above the threshold: the steward confirms or discards
    DISCARDED = "已作废"


class Batch(Base):
    __tablename__ = "zone_batches"
    __table_args__ = (
        UniqueConstraint("resource_id", "seq"),
        Index("ix_zone_batches_resource_status", "resource_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    seq: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(400))  # relative to YBZ_ZONE
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)  # relative to `path`
    row_count: Mapped[int] = mapped_column(BigInteger)
    rejected_count: Mapped[int] = mapped_column(BigInteger)
    schema: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    digest: Mapped[str] = mapped_column(String(64))
    reject_path: Mapped[str | None] = mapped_column(String(400))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
