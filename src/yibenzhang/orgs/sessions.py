"""Browser sessions: a random id in a signed cookie, its SM3 digest in the database (so a
stolen database does not yield live sessions), and a CSRF token per session."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..crypto import constant_time_equal, sm3_hex
from ..db import utcnow
from .model import User, WebSession

SESSION_HOURS = 12


def start(session: Session, user: User) -> tuple[str, str]:
    """A new session for `user`: (cookie value, CSRF token)."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    session.add(WebSession(id_digest=sm3_hex(raw.encode()), user_id=user.id, csrf_token=csrf,
                           expires_at=utcnow() + timedelta(hours=SESSION_HOURS)))
    session.flush()
    return raw, csrf


def lookup(session: Session, raw: str) -> tuple[User, str] | None:
    row = session.get(WebSession, sm3_hex(raw.encode()))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row.csrf_token


def csrf_ok(session: Session, raw: str | None, token: str | None) -> bool:
    if not raw or not token:
        return False
    row = session.get(WebSession, sm3_hex(raw.encode()))
    return row is not None and constant_time_equal(row.csrf_token, token)


def end(session: Session, raw: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_digest == sm3_hex(raw.encode())))


def purge_expired(session: Session) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    return int(result.rowcount or 0)


__all__ = ["csrf_ok", "end", "lookup", "purge_expired", "select", "start"]
