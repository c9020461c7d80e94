"""Classification tables: the platform's suggestion for each item and the steward's decision.

A suggestion holds categories with confidence and evidence (counts and rates, never values),
the grade they imply and how many rows it was drawn from; a new run replaces it. A decision
(确认 / 调整) is the steward's: the confirmed grade is also written to ResourceItem.grade, which
the catalogue shows everywhere. History lives in the ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from ..i18n import N_

CONFIRMED = N_("确认")  # the suggestion accepted as it is
OVERRIDDEN = N_("调整")  # another grade or categories, with a reason


class ClassificationSuggestion(Base):
    __tablename__ = "classification_suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("resource_items.id", ondelete="CASCADE"), unique=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    # [{category, confidence, evidence}], highest confidence first
    categories: Mapped[list[Any]] = mapped_column(JSON)
    grade: Mapped[str] = mapped_column(String(16))
    sample_size: Mapped[int] = mapped_column(Integer)  # rows the values were drawn from (0: name only)
    full_scan: Mapped[bool] = mapped_column(Boolean, default=False)
    rules_version: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClassificationDecision(Base):
    __tablename__ = "classification_decisions"
    __table_args__ = (Index("ix_classification_decisions_grade", "grade"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("resource_items.id", ondelete="CASCADE"), unique=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # 确认 | 调整
    grade: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list[Any]] = mapped_column(JSON)  # category codes
    suggested_grade: Mapped[str | None] = mapped_column(String(16))  # what the platform said at the time
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
