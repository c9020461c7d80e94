"""The second factor of local accounts: TOTP (RFC 6238, `pyotp`) and one-time recovery codes
(issue 23; GB/T 22239-2019 8.1.4.1 d: 两种或两种以上组合的鉴别技术).

The secret is sealed with SM4 (crypto.sm4_encrypt); recovery codes are stored as keyed SM3
digests. A code is accepted for the current 30-second window, and for the previous one only when
the setting allows; a window that was used once (or an earlier one) is refused (no replay).
SSO users take their second factor from the identity provider.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_administer_security, require
from ..config import get_security, get_settings
from ..crypto import constant_time_equal, hmac_sm3_hex, sm4_decrypt, sm4_encrypt, sm4_key
from ..db import utcnow
from ..enums import Role
from ..errors import Conflict, NotFound, Unauthenticated
from ..ledger import service as ledger
from .model import MfaRecoveryCode, User, UserMfa

STEP_SECONDS = 30  # RFC 6238's time step, what authenticator apps use
ISSUER = "一本账"


def _key() -> bytes:
    return sm4_key(get_settings().secret_key, "mfa-totp")


def _seal(secret: str) -> str:
    return base64.b64encode(sm4_encrypt(_key(), secret.encode())).decode()


def _open(sealed: str) -> str:
    return sm4_decrypt(_key(), base64.b64decode(sealed)).decode()


def _code_digest(code: str) -> str:
    normal = code.replace("-", "").replace(" ", "").lower()
    return hmac_sm3_hex(get_settings().secret_key.encode(), f"mfa-recovery:{normal}".encode())


def bad_code() -> Unauthenticated:
    return Unauthenticated("bad_second_factor", "动态验证码错误或已使用")


def required_for(user: User) -> bool:
    """The roles that approve, publish, authorize or administer must use a second factor
    (YBZ_MFA_REQUIRED_ROLES, names or values)."""
    wanted = get_security().mfa_required_roles
    for ra in user.roles:
        role = Role(ra.role)
        if role.value in wanted or role.name.lower() in {w.lower() for w in wanted}:
            return True
    return False


def enrolled(session: Session, user_id: int) -> bool:
    row = session.get(UserMfa, user_id)
    return row is not None and row.confirmed_at is not None


def begin_enrolment(session: Session, user_id: int) -> str:
    """A fresh secret for the user to put in an authenticator app; replaces an unconfirmed one."""
    row = session.get(UserMfa, user_id)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("mfa_enrolled", "已启用动态验证码")
    secret = pyotp.random_base32()
    if row is None:
        session.add(UserMfa(user_id=user_id, secret_sealed=_seal(secret)))
    else:
        row.secret_sealed, row.last_step = _seal(secret), None
    session.flush()
    return secret


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def pending_secret(session: Session, user_id: int) -> str | None:
    row = session.get(UserMfa, user_id)
    return _open(row.secret_sealed) if row is not None and row.confirmed_at is None else None


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _match(row: UserMfa, code: str, now: datetime) -> int | None:
    """The window `code` belongs to, if it is acceptable now and not used before."""
    code = code.strip()
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(_open(row.secret_sealed))
    step = _step(now)
    steps = [step, step - 1] if get_security().totp_accept_previous else [step]
    for candidate in steps:
        fresh = row.last_step is None or candidate > row.last_step
        if constant_time_equal(totp.generate_otp(candidate), code) and fresh:
            return candidate
    return None


def confirm_enrolment(session: Session, actor: Actor, user_id: int, code: str,
                      now: datetime | None = None) -> list[str]:
    """The user proves the app holds the secret; returns the recovery codes (shown once)."""
    row = session.get(UserMfa, user_id)
    if row is None or row.confirmed_at is not None:
        raise NotFound("待确认的动态验证码", "mfa_not_pending")
    now = now or utcnow()
    step = _match(row, code, now)
    if step is None:
        raise bad_code()
    row.last_step, row.confirmed_at = step, now
    codes = new_recovery_codes(session, user_id)
    ledger.append(session, actor, "mfa.enrol", "user", user_id, {"recovery_codes": len(codes)})
    return codes


def new_recovery_codes(session: Session, user_id: int) -> list[str]:
    """Replace the user's recovery codes; only their digests are kept."""
    for old in session.execute(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id)).scalars():
        session.delete(old)
    codes = []
    for _ in range(get_security().mfa_recovery_codes):
        raw = secrets.token_hex(5)
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        session.add(MfaRecoveryCode(user_id=user_id, digest=_code_digest(code)))
    session.flush()
    return codes


def verify(session: Session, user_id: int, code: str, now: datetime | None = None) -> str:
    """Check a TOTP code or a recovery code at sign-in: the kind used, or `bad_second_factor`.
    A TOTP window and a recovery code are each good once."""
    now = now or utcnow()
    row = session.get(UserMfa, user_id)
    if row is None or row.confirmed_at is None:
        raise bad_code()
    step = _match(row, code, now)
    if step is not None:
        row.last_step = step
        return "totp"
    digest = _code_digest(code)
    for rc in session.execute(select(MfaRecoveryCode).where(
            MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None))).scalars():
        if constant_time_equal(rc.digest, digest):
            rc.used_at = now
            return "recovery_code"
    raise bad_code()


def reset(session: Session, actor: Actor, username: str) -> None:
    """The security administrator removes a user's second factor (a lost phone): the user
    enrols again at the next sign-in."""
    require(can_administer_security(actor), "重置动态验证码")
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"用户 {username}", "user_not_found")
    row = session.get(UserMfa, user.id)
    if row is not None:
        session.delete(row)
    for rc in session.execute(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id)).scalars():
        session.delete(rc)
    ledger.append(session, actor, "mfa.reset", "user", user.id, {})


__all__ = ["begin_enrolment", "confirm_enrolment", "enrolled", "new_recovery_codes", "pending_secret",
           "provisioning_uri", "required_for", "reset", "verify"]
