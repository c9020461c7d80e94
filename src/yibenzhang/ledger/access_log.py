"""The access log of personal data (issue 23 item 4; GB/T 22239-2019 8.1.4.3, 8.1.4.11): every
read of rows through an exit — who, which resource, which items, how many rows, by which exit,
never a value.

Two kinds of entry make one log:
- a `data.read` ledger event for the exits read a few times a minute (console preview, share
  delivery files, open downloads, rows and the portal's preview, sandbox releases), chained and sealed like every act;
- the per-call records of the share data service's hot path, which a stage keeps in its own
  table and chains to the ledger through summary events holding their SM3 digest (the share
  stage registers them with `register_source`: the ledger knows no stage).

The log is read and exported by the audit administrator only (`can_read_audit`); every export is
itself an event. Entries are kept at least `access_log_retention_days` (网络安全法 Art. 21: six
months); `prune` removes older per-call records, never ledger events (the chain is append-only).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_read_audit, require
from ..config import get_security
from ..db import utcnow
from ..errors import ValidationFailed
from . import service
from .model import LedgerEvent

ACTION = "data.read"
# Exits, as they appear in entries.
PREVIEW, SHARE_ROWS, SHARE_DELIVERY, SHARE_VERIFY = "preview", "share.rows", "share.delivery", "share.verify"
OPEN_DOWNLOAD, OPEN_ROWS, OPEN_PREVIEW = "open.download", "open.rows", "open.preview"
SANDBOX_RELEASE = "sandbox.release"
# 网络安全法 Art. 21 (3): network logs are kept no less than six months.
MIN_RETENTION_DAYS = 180
EXPORT_LIMIT = 100_000

EntryReader = Callable[[Session, datetime | None, datetime | None, int], Iterable[dict[str, Any]]]
Pruner = Callable[[Session, datetime], int]
_SOURCES: dict[str, tuple[EntryReader, Pruner]] = {}
_FLUSHES: dict[str, Callable[[], Any]] = {}


def record_read(session: Session, actor: Actor, *, exit: str, resource_id: int, items: Iterable[str],
                rows: int, detail: dict[str, Any] | None = None) -> None:
    content: dict[str, Any] = {"exit": exit, "items": sorted(set(items)), "rows": int(rows)}
    content.update(detail or {})
    service.append(session, actor, ACTION, "resource", resource_id, content)


def register_source(name: str, entries: EntryReader, prune: Pruner, flush: Callable[[], Any] | None = None) -> None:
    """A stage's own per-call records join the log (see the module docstring); `flush` writes
    records a process still buffers."""
    _SOURCES[name] = (entries, prune)
    if flush is not None:
        _FLUSHES[name] = flush


def flush_pending() -> None:
    """Write every buffered entry; call before `entries`, outside any transaction (a buffer
    flush opens its own write)."""
    _load_sources()
    for flush in _FLUSHES.values():
        flush()


def _load_sources() -> None:
    importlib.import_module("yibenzhang.models")  # every stage's tables, and so their sources


def retention_days() -> int:
    return max(MIN_RETENTION_DAYS, get_security().access_log_retention_days)


def _ledger_entries(session: Session, since: datetime | None, until: datetime | None,
                    limit: int) -> Iterator[dict[str, Any]]:
    import json

    stmt = select(LedgerEvent).where(LedgerEvent.action == ACTION).order_by(LedgerEvent.seq)
    if since is not None:
        stmt = stmt.where(LedgerEvent.at >= since)
    if until is not None:
        stmt = stmt.where(LedgerEvent.at < until)
    for e in session.execute(stmt.limit(limit)).scalars():
        c = json.loads(e.content)
        yield {"at": e.at, "actor": e.actor, "exit": c.get("exit"), "resource_id": int(e.subject_id),
               "items": c.get("items") or [], "rows": int(c.get("rows") or 0), "outcome": "ok",
               "ref": f"ledger:{e.seq}"}


def entries(session: Session, actor: Actor, *, since: datetime | None = None, until: datetime | None = None,
            limit: int = EXPORT_LIMIT) -> list[dict[str, Any]]:
    """The log's entries in time order (audit administrator). Each export is itself an event."""
    require(can_read_audit(actor), "导出访问日志", "audit_denied")
    _load_sources()
    out = list(_ledger_entries(session, since, until, limit))
    for read, _ in _SOURCES.values():
        out.extend(read(session, since, until, limit))
    out.sort(key=lambda e: (_naive(e["at"]), e["ref"]))
    out = out[:limit]
    for e in out:
        e["at"] = e["at"].isoformat()
    service.append(session, actor, "access_log.export", "ledger", "access_log",
                   {"count": len(out), "since": since.isoformat() if since else None,
                    "until": until.isoformat() if until else None})
    return out


def prune(session: Session, actor: Actor, *, older_than_days: int, now: datetime | None = None) -> int:
    """Delete per-call records older than `older_than_days` (audit administrator; never fewer
    days than the retention setting, never a ledger event). Returns how many went."""
    require(can_read_audit(actor), "清理访问日志", "audit_denied")
    keep = retention_days()
    if older_than_days < keep:
        raise ValidationFailed("access_log_retention", "访问日志至少保存{days}天", days=keep)
    _load_sources()
    before = (now or utcnow()) - timedelta(days=older_than_days)
    gone = sum(p(session, before) for _, p in _SOURCES.values())
    service.append(session, actor, "access_log.prune", "ledger", "access_log",
                   {"before": before.isoformat(), "deleted": gone})
    return gone


def _naive(at: datetime) -> datetime:
    return at.replace(tzinfo=None) if at.tzinfo else at


__all__ = ["ACTION", "MIN_RETENTION_DAYS", "entries", "flush_pending", "prune", "record_read", "register_source",
           "retention_days"]
