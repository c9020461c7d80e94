"""Saved mappings (a source column name → a resource item, remembered per resource), uploads
between requests, and database pulls' schedules and cursors (collect.pull)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class ColumnMapping(Base):
    __tablename__ = "collect_mappings"
    __table_args__ = (UniqueConstraint("resource_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(200))
    item: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UploadSession(Base):
    """An upload between requests: an ingest's progress, or a staged file waiting for its
    uploader's mapping. In the store, not in one process, so that every worker of the web tier
    answers the next request (issue 14); the token itself is kept only as its SHA-256."""

    __tablename__ = "collect_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # ingest | held
    status: Mapped[str] = mapped_column(String(16))  # ingest: running|done|failed; held: held|taken
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))  # the machine whose local staging holds the file
    file_path: Mapped[str | None] = mapped_column(Text)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CollectSchedule(Base):
    """A resource's scheduled database pull. The source URL is kept SM4-encrypted (it may hold a
    password) and shown only with the password masked."""

    __tablename__ = "collect_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    url_sealed: Mapped[str] = mapped_column(Text)  # base64 of crypto.sm4_encrypt
    url_display: Mapped[str] = mapped_column(String(500))  # password replaced by ***
    table_name: Mapped[str | None] = mapped_column(String(200))
    query: Mapped[str | None] = mapped_column(Text)
    since_column: Mapped[str | None] = mapped_column(String(100))
    mode: Mapped[str | None] = mapped_column(String(8))
    hour: Mapped[int] = mapped_column(Integer, default=2)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_job_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PullCursor(Base):
    """The last since_column value taken from one source into one resource."""

    __tablename__ = "collect_pull_cursors"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    source_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SM3 of the source, no password
    since_column: Mapped[str] = mapped_column(String(100))
    last_value: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"type": ..., "value": ...}
    batch_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
