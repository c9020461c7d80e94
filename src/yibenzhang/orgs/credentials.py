"""The credential rules that the user service checks as well as sign-in (issue 23): a password's
complexity (GB/T 22239-2019 8.1.4.1 a) and whether an account name is locked (8.1.4.1 b). A leaf:
orgs.service and orgs.security both import it, and it imports neither."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from ..config import get_security, get_settings
from ..crypto import hmac_sm3_hex
from ..db import utcnow
from ..errors import ErrorBag
from .model import LoginLock, User


def _now() -> datetime:
    return utcnow()


def name_key(username: str) -> str:
    return hmac_sm3_hex(get_settings().secret_key.encode(), f"login-name:{username.strip().casefold()}".encode())


def lock_until(session: Session, key: str, now: datetime) -> datetime | None:
    lock = session.get(LoginLock, key)
    return lock.until if lock is not None and lock.until > now else None


def is_locked(session: Session, user: User, now: datetime | None = None) -> bool:
    return lock_until(session, f"name:{name_key(user.username)}", now or _now()) is not None


# --- passwords (8.1.4.1 a: 身份鉴别信息具有复杂度要求并定期更换) --------------------------------

_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]"))


def password_errors(password: str, bag: ErrorBag, field: str = "password") -> None:
    sec = get_security()
    if len(password) < sec.password_min_length:
        bag.add(field, "password_too_short", "密码至少需要{n}个字符", n=sec.password_min_length)
    classes = sum(1 for c in _CLASSES if c.search(password))
    if classes < sec.password_min_classes:
        bag.add(field, "password_too_simple", "密码须包含小写字母、大写字母、数字、符号中的至少{n}类",
                n=sec.password_min_classes)


__all__ = ["is_locked", "lock_until", "name_key", "password_errors"]
