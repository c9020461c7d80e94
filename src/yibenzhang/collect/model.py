"""Saved mappings (a source column name → a resource item, remembered per resource) and uploads
between requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
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
