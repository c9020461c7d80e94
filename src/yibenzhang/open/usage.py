"""Counters of downloads and API calls per resource per day (statistics for the portal and the
KPIs, not evidence: no ledger event per download)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from .. import workdays
from ..db import Database
from .model import OpenUsage

API = "api"


def download_kind(fmt: str) -> str:
    return f"download.{fmt}"


def _upsert(session: Session, resource_id: int, day: date, kind: str, n: int) -> None:
    values: dict[str, Any] = {"resource_id": resource_id, "day": day, "kind": kind, "count": n}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(OpenUsage).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["resource_id", "day", "kind"],
                                      set_={"count": OpenUsage.count + stmt.excluded.count})
    session.execute(stmt)


def count(db: Database, resource_id: int, kind: str, n: int = 1, day: date | None = None) -> None:
    with db.write() as s:
        _upsert(s, resource_id, day or workdays.today(), kind, n)


def add(session: Session, resource_id: int, kind: str, n: int = 1, day: date | None = None) -> None:
    """Inside an open transaction (demo data, imports)."""
    _upsert(session, resource_id, day or workdays.today(), kind, n)
