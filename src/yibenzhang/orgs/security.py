"""Sign-in with failure handling (issue 23; GB/T 22239-2019 8.1.4.1 b 登录失败处理).

- N failures of one account name within a window lock that name for M minutes (settings); the
  lock is in the ledger and ends every session of the account.
- Failures from one source address are counted too: past a setting, the address is throttled.
- Unknown names are handled exactly like known ones (same message, a full argon2 verification,
  the same writes), so neither the answer nor its cost tells who has an account.
- Account names and addresses are kept only as keyed SM3 digests (no personal data at rest).
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..access import Actor, can_administer_security, require
from ..config import get_security, get_settings
from ..crypto import constant_time_equal, hmac_sm3_hex
from ..db import Database, utcnow
from ..errors import DomainError, ErrorBag, Unauthenticated
from ..ledger import service as ledger
from . import mfa, sessions
from . import service as orgs
from .credentials import is_locked, lock_until, name_key, password_errors
from .model import LoginFailure, LoginLock, PasswordHistory, User

BAD_CREDENTIALS = ("bad_credentials", "用户名或密码错误")


class LoginThrottled(DomainError):
    """Too many failures from one source address (says nothing about any account)."""

    status = 429
    title = "登录尝试过于频繁，请稍后再试"

    def __init__(self) -> None:
        super().__init__("login_throttled", "登录尝试过于频繁，请稍后再试")


def bad_credentials() -> Unauthenticated:
    return Unauthenticated(*BAD_CREDENTIALS)


def _now() -> datetime:
    return utcnow()


def source_key(source: str) -> str:
    return hmac_sm3_hex(get_settings().secret_key.encode(), f"login-source:{source}".encode())


def _upsert_lock(session: Session, key: str, until: datetime, user_id: int | None) -> None:
    values = {"key": key, "until": until, "user_id": user_id}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(LoginLock).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"until": until, "user_id": user_id}))


def _failures(session: Session, kind: str, key: str, since: datetime) -> int:
    return int(session.execute(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.kind == kind, LoginFailure.key == key, LoginFailure.at > since)).scalar_one())


@dataclass(frozen=True)
class Attempt:
    """What sign-in learned before the slow hash: kept outside any write transaction."""

    user_id: int | None
    password_hash: str | None
    name_locked: bool


def _verify(password_hash: str | None, password: str) -> bool:
    """One full argon2 verification whatever the account: a dummy hash stands in for a missing,
    inactive or password-less account."""
    with suppress(VerificationError, InvalidHashError):
        return orgs._hasher.verify(password_hash or orgs._DUMMY_HASH, password) and password_hash is not None
    return False


def check_password(db: Database, username: str, password: str, *, source: str, via: str = "web",
                   now: datetime | None = None) -> int:
    """The first factor: the user's id, or `bad_credentials` (locked, unknown, inactive and wrong
    alike) or `LoginThrottled` for a throttled source. Records the failure, and locks on the Nth."""
    now = now or _now()
    nk, sk = name_key(username), source_key(source)
    with db.read() as s:
        if lock_until(s, f"source:{sk}", now):
            raise LoginThrottled()
        user = s.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
        usable = user is not None and user.is_active and bool(user.password_hash)
        attempt = Attempt(user.id if user else None, user.password_hash if usable and user else None,
                          lock_until(s, f"name:{nk}", now) is not None)
    ok = _verify(attempt.password_hash, password)
    if ok and not attempt.name_locked and attempt.user_id is not None:
        return attempt.user_id  # the count is cleared when a session opens (after every factor)
    with db.write() as s:
        record_failure(s, username, source=source, user_id=attempt.user_id, via=via, now=now,
                       locked=attempt.name_locked)
    raise bad_credentials()


def record_failure(session: Session, username: str, *, source: str, user_id: int | None, via: str,
                   now: datetime | None = None, locked: bool = False, factor: str = "password") -> None:
    """Count one failure of a name and a source; lock the name on the Nth within the window,
    throttle the source past its own limit. Every failure and lock is in the ledger."""
    now = now or _now()
    sec = get_security()
    nk, sk = name_key(username), source_key(source)
    since = now - timedelta(minutes=sec.login_failure_window_minutes)
    subject = ("user", user_id) if user_id is not None else ("login_name", nk[:16])
    anon = Actor.anonymous()
    session.add(LoginFailure(kind="source", key=sk, at=now))
    if not locked:
        session.add(LoginFailure(kind="name", key=nk, at=now))
    session.flush()
    ledger.append(session, anon, "auth.login_failed", subject[0], subject[1],
                  {"via": via, "factor": factor, "source": sk[:16], "while_locked": locked})
    if not locked and _failures(session, "name", nk, since) >= sec.login_max_failures:
        until = now + timedelta(minutes=sec.login_lock_minutes)
        _upsert_lock(session, f"name:{nk}", until, user_id)
        session.execute(delete(LoginFailure).where(LoginFailure.kind == "name", LoginFailure.key == nk))
        ended = sessions.end_all(session, user_id) if user_id is not None else 0
        ledger.append(session, anon, "auth.lock", subject[0], subject[1],
                      {"via": via, "until": until.isoformat(), "failures": sec.login_max_failures,
                       "sessions_ended": ended})
    if (lock_until(session, f"source:{sk}", now) is None
            and _failures(session, "source", sk, since) >= sec.login_source_max_failures):
        until = now + timedelta(minutes=sec.login_source_block_minutes)
        _upsert_lock(session, f"source:{sk}", until, None)
        ledger.append(session, anon, "auth.source_throttled", "login_source", sk[:16],
                      {"via": via, "until": until.isoformat()})


def unlock(session: Session, actor: Actor, username: str) -> None:
    """The security administrator lifts a lock before it runs out."""

    require(can_administer_security(actor), "解除账户锁定")
    user = orgs.get_user_by_name(session, username)
    session.execute(delete(LoginLock).where(LoginLock.key == f"name:{name_key(user.username)}"))
    ledger.append(session, actor, "auth.unlock", "user", user.id, {})


def open_session(db: Database, user_id: int, *, factor: str, via: str = "web") -> str:
    """A new session after every factor passed; the sign-in is in the ledger. Returns the cookie."""
    with db.write() as s:
        user = s.get(User, user_id)
        if user is None or not user.is_active:
            raise bad_credentials()
        s.execute(delete(LoginFailure).where(LoginFailure.kind == "name",
                                             LoginFailure.key == name_key(user.username)))
        raw, _csrf = sessions.start(s, user)
        ledger.append(s, orgs.actor_for(s, user), "web.login", "user", user.id, {"via": via, "factor": factor})
    return raw


def sign_out_everywhere(session: Session, actor: Actor, user_id: int, via: str = "web") -> int:
    """Sign-out ends all of the user's sessions, not only this browser's."""
    ended = sessions.end_all(session, user_id)
    ledger.append(session, actor, "web.logout", "user", user_id, {"via": via, "sessions_ended": ended})
    return ended


# --- the step between the factors: a short-lived signed token, no session yet ----------------

PENDING_MINUTES = 5


def pending_token(user_id: int, now: datetime | None = None) -> str:
    """Proof that `user_id` passed the password, valid a few minutes, for the second step."""
    exp = int(((now or _now()) + timedelta(minutes=PENDING_MINUTES)).timestamp())
    body = f"{user_id}.{exp}.{secrets.token_hex(8)}"
    return f"{body}.{hmac_sm3_hex(get_settings().secret_key.encode(), f'mfa-pending:{body}'.encode())}"


def pending_user(token: str | None, now: datetime | None = None) -> int | None:
    if not token or token.count(".") != 3:
        return None
    body, _, mac = token.rpartition(".")
    want = hmac_sm3_hex(get_settings().secret_key.encode(), f"mfa-pending:{body}".encode())
    uid, exp, _nonce = body.split(".")
    if not constant_time_equal(mac, want) or not uid.isdigit() or not exp.isdigit():
        return None
    return int(uid) if int(exp) > (now or _now()).timestamp() else None


def second_factor(db: Database, user_id: int, code: str, *, source: str, via: str = "web",
                  now: datetime | None = None) -> str:
    """The second step: a TOTP or recovery code. A wrong code counts toward the account's lock
    like a wrong password; a locked account is refused with the same message."""

    now = now or _now()
    with db.write() as s:
        user = s.get(User, user_id)
        if user is None or not user.is_active or is_locked(s, user, now):
            raise mfa.bad_code()
        try:
            kind = mfa.verify(s, user_id, code, now)
        except Unauthenticated:
            failed = user.username
        else:
            return kind
    with db.write() as s:
        record_failure(s, failed, source=source, user_id=user_id, via=via, now=now, factor="totp")
    raise mfa.bad_code()


# --- passwords (8.1.4.1 a: complexity in orgs.credentials) ------------------------------------


def change_password(session: Session, actor: Actor, *, current: str, new: str) -> None:
    """A user changes their own password: complexity, not one of the last N, all sessions end."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not _verify(user.password_hash, current):
        raise bad_credentials()
    bag = ErrorBag()
    password_errors(new, bag)
    bag.raise_if_any()
    earlier = session.execute(
        select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc()).limit(max(get_security().password_history - 1, 0))).scalars()
    recent = [user.password_hash or "", *earlier]
    if get_security().password_history > 0 and any(_verify(h, new) for h in recent if h):
        bag.add("new", "password_reused", "不能使用最近{n}次用过的密码", n=get_security().password_history)
        bag.raise_if_any()
    if user.password_hash:
        session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    user.password_hash = orgs._hasher.hash(new)
    ended = sessions.end_all(session, user.id)
    ledger.append(session, actor, "user.password_change", "user", user.id, {"sessions_ended": ended})


__all__ = ["LoginThrottled", "bad_credentials", "change_password", "check_password", "pending_token",
           "pending_user", "record_failure", "second_factor", "sign_out_everywhere", "source_key", "unlock"]
