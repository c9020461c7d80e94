"""The access log of personal data (issue 23 item 4; GB/T 22239-2019 8.1.4.3, 8.1.4.11): every
read of rows through an exit is a `data.read` event in the ledger — who, which resource, which
items, how many rows, by which exit — never a value. Being ledger events, the entries are chained
and sealed like every other act, readable and exportable by the audit administrator."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from ..access import Actor
from . import service

ACTION = "data.read"


def record_read(session: Session, actor: Actor, *, exit: str, resource_id: int, items: Iterable[str],
                rows: int, detail: dict[str, Any] | None = None) -> None:
    content: dict[str, Any] = {"exit": exit, "items": sorted(set(items)), "rows": int(rows)}
    content.update(detail or {})
    service.append(session, actor, ACTION, "resource", resource_id, content)


__all__ = ["ACTION", "record_read"]
