"""Browser sessions: a random id in a signed cookie, its SM3 digest in the database (so a
stolen database does not yield live sessions), and a CSRF token per session.

Every session has an absolute lifetime and an idle timeout (issue 23, GB/T 22239-2019
8.1.4.1 c: 登录连接超时自动退出); sign-out and an account lock end all of a user's sessions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..config import get_security
from ..crypto import constant_time_equal, sm3_hex
from ..db import Database, utcnow
from .model import User, WebSession

# Writing `last_seen_at` on every request would serialise page views on SQLite's write lock;
# within this many seconds of the last write the session counts as just seen.
TOUCH_SECONDS = 1


def _now() -> datetime:
    return utcnow()


def lifetime() -> timedelta:
    return timedelta(hours=get_security().session_absolute_hours)


def start(session: Session, user: User, now: datetime | None = None) -> tuple[str, str]:
    """A new session for `user`: (cookie value, CSRF token)."""
    now = now or _now()
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    session.add(WebSession(id_digest=sm3_hex(raw.encode()), user_id=user.id, csrf_token=csrf,
                           created_at=now, last_seen_at=now, expires_at=now + lifetime()))
    session.flush()
    return raw, csrf


def _alive(row: WebSession, now: datetime) -> bool:
    """Within the absolute lifetime, and seen less than the idle timeout ago (at exactly the
    timeout the session has ended)."""
    idle = timedelta(minutes=get_security().session_idle_minutes)
    seen = row.last_seen_at or row.created_at
    return row.expires_at > now and now - seen < idle


def lookup(session: Session, raw: str, now: datetime | None = None) -> tuple[User, str] | None:
    now = now or _now()
    row = session.get(WebSession, sm3_hex(raw.encode()))
    if row is None or not _alive(row, now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row.csrf_token


def touch(db: Database, raw: str, now: datetime | None = None) -> None:
    """Record activity on a live session (what the idle timeout counts from)."""
    now = now or _now()
    digest = sm3_hex(raw.encode())
    with db.read() as s:
        row = s.get(WebSession, digest)
        if row is None or not _alive(row, now):
            return
        seen = row.last_seen_at or row.created_at
        if (now - seen).total_seconds() < TOUCH_SECONDS:
            return
    with db.write() as s:
        s.execute(update(WebSession).where(WebSession.id_digest == digest).values(last_seen_at=now))


def csrf_ok(session: Session, raw: str | None, token: str | None) -> bool:
    if not raw or not token:
        return False
    row = session.get(WebSession, sm3_hex(raw.encode()))
    return row is not None and _alive(row, _now()) and constant_time_equal(row.csrf_token, token)


def user_of(session: Session, raw: str) -> int | None:
    row = session.get(WebSession, sm3_hex(raw.encode()))
    return row.user_id if row is not None else None


def end(session: Session, raw: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_digest == sm3_hex(raw.encode())))


def end_all(session: Session, user_id: int) -> int:
    """End every session of a user (sign-out, lock, password change, role change)."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(result.rowcount or 0)


def purge_expired(session: Session, now: datetime | None = None) -> int:
    now = now or _now()
    idle_cut = now - timedelta(minutes=get_security().session_idle_minutes)
    result = session.execute(delete(WebSession).where(
        (WebSession.expires_at <= now) | (WebSession.last_seen_at <= idle_cut)))
    return int(result.rowcount or 0)


__all__ = ["csrf_ok", "end", "end_all", "lookup", "purge_expired", "select", "start", "touch", "user_of"]
