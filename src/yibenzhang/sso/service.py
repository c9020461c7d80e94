"""SSO identities and their users: sign-in by a stable subject, first-login provisioning when a
provider's settings allow it, refusals that say whom to ask, and the security administrator's
link / unlink / disable. Every sign-in, refusal and link is in the ledger, with no token and no
personal data beyond the user id (the subject appears only as a short keyed digest)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_administer_security, require
from ..codes import uscc_errors
from ..config import get_settings
from ..crypto import hmac_sm3_hex
from ..db import Database, utcnow
from ..enums import ORG_ROLES, Role
from ..errors import Conflict, ErrorBag, NotFound
from ..ledger import service as ledger
from ..orgs import credentials, security, sessions
from ..orgs import service as orgs
from ..orgs.model import Org, User
from .config import Provider, provider
from .model import SsoIdentity
from .oidc import SsoRefused


def subject_digest(provider_name: str, subject: str) -> str:
    return hmac_sm3_hex(get_settings().secret_key.encode(), f"sso-subject:{provider_name}:{subject}".encode())


def _refuse(p: Provider, code: str, message: str, **params: Any) -> SsoRefused:
    return SsoRefused(code, message, status=403, contact=p.contact, **params)


def _org_of(session: Session, p: Provider, claims: dict[str, Any]) -> Org | None:
    raw = claims.get(p.org_claim)
    if not isinstance(raw, str) or uscc_errors(raw):
        return None
    return session.execute(select(Org).where(Org.uscc == raw.strip().upper())).scalar_one_or_none()


def _role_for(p: Provider, claims: dict[str, Any]) -> tuple[Role, bool]:
    """The business role of a provisioned user: the role claim when it names a role that acts for
    an org, else the provider's default. A claim never grants an administrator role.
    Returns (role, whether a role claim was ignored)."""
    default = Role.parse(p.default_role)
    fallback = default if default in ORG_ROLES else Role.CONSUMER
    if not p.role_claim or p.role_claim not in claims:
        return fallback, False
    suggested = Role.parse(str(claims.get(p.role_claim)))
    if suggested in ORG_ROLES:
        return suggested, False
    return fallback, True


def _username(session: Session, p: Provider, digest: str) -> str:
    base = f"{p.name}-{digest[:10]}"
    name, n = base, 1
    while session.execute(select(User.id).where(User.username == name)).first():
        n += 1
        name = f"{base}-{n}"
    return name


def sign_in(db: Database, p: Provider, claims: dict[str, Any]) -> int:
    """The platform user of a provider's subject (created at first login when allowed), or a
    refusal. The user's roles are the platform's own."""
    digest = subject_digest(p.name, str(claims["sub"]))
    now = utcnow()
    with db.write() as s:
        ident = s.execute(select(SsoIdentity).where(SsoIdentity.provider == p.name,
                                                    SsoIdentity.subject_digest == digest)).scalar_one_or_none()
        if ident is not None:
            user = s.get(User, ident.user_id)
            if ident.disabled_at is not None:
                raise _refuse(p, "sso_identity_disabled", "您的统一身份认证账号在本平台已被停用，请联系{contact}")
            if user is None or not user.is_active or credentials.is_locked(s, user, now):
                raise _refuse(p, "sso_user_inactive", "您在本平台的账号已停用或锁定，请联系{contact}")
            ident.last_login_at = now
            return user.id
        if not p.auto_create:
            raise _refuse(p, "sso_not_linked", "您的统一身份认证账号尚未开通本平台权限，请联系{contact}开通")
        org = _org_of(s, p, claims)
        if org is None:
            raise _refuse(p, "sso_no_org",
                          "您所在的单位未在本平台登记（或统一身份认证平台未提供单位的统一社会信用代码），"
                          "无法自动开通账号，请联系{contact}")
        role, ignored = _role_for(p, claims)
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        user = orgs.create_user(s, Actor.system(), username=_username(s, p, digest),
                                display_name=(name or "")[:100], password=None,
                                roles=[orgs.RoleSpec(role.value, org.uscc)])
        ident = SsoIdentity(provider=p.name, subject_digest=digest, user_id=user.id, created_at=now,
                            last_login_at=now)
        s.add(ident)
        s.flush()
        ledger.append(s, Actor.system(), "sso.provision", "user", user.id,
                      {"provider": p.name, "identity_id": ident.id, "org_id": org.id, "role": role.value,
                       "role_claim_ignored": ignored})
        return user.id


def record_refusal(db: Database, provider_name: str, exc: SsoRefused, subject: str | None = None) -> None:
    """A refused sign-in in the ledger: the code and a protocol detail (a claim name, an OAuth
    error code), never a token or a claim's value."""
    content: dict[str, Any] = {"provider": provider_name, "code": exc.code}
    if exc.detail:
        content["detail"] = exc.detail
    if subject:
        content["subject"] = subject_digest(provider_name, subject)[:16]
    with db.write() as s:
        ledger.append(s, Actor.anonymous(), "sso.refused", "sso_provider", provider_name, content)


def open_session(db: Database, p: Provider, user_id: int) -> str:
    """The browser session after a provider's sign-in: the provider did the second factor, so
    the local TOTP step is skipped. The sign-in is in the ledger (web.login, via oidc:<name>)."""
    return security.open_session(db, user_id, factor="sso", via=f"{p.protocol}:{p.name}")


# --- the security administrator's acts --------------------------------------------------------


def _identity(session: Session, identity_id: int) -> SsoIdentity:
    ident = session.get(SsoIdentity, identity_id)
    if ident is None:
        raise NotFound(f"统一身份认证账号 {identity_id}", "sso_identity_not_found")
    return ident


def identity_dict(session: Session, ident: SsoIdentity) -> dict[str, Any]:
    user = session.get(User, ident.user_id)
    return {"id": ident.id, "provider": ident.provider, "user_id": ident.user_id,
            "username": user.username if user else None, "created_at": ident.created_at.isoformat(),
            "last_login_at": ident.last_login_at.isoformat() if ident.last_login_at else None,
            "disabled": ident.disabled_at is not None}


def list_identities(session: Session, actor: Actor, username: str | None = None) -> list[dict[str, Any]]:
    require(can_administer_security(actor), "查看统一身份认证账号")
    stmt = select(SsoIdentity).order_by(SsoIdentity.id)
    if username:
        stmt = stmt.where(SsoIdentity.user_id == orgs.get_user_by_name(session, username).id)
    return [identity_dict(session, i) for i in session.execute(stmt).scalars()]


def link(session: Session, actor: Actor, *, provider_name: str, subject: str, username: str) -> SsoIdentity:
    """Link a provider's subject to an existing user (the person then signs in through it)."""
    require(can_administer_security(actor), "关联统一身份认证账号")
    if provider(provider_name) is None:
        raise NotFound(f"统一身份认证平台 {provider_name}", "sso_provider_not_found")
    user = orgs.get_user_by_name(session, username)
    subject = subject.strip()
    if not subject:
        bag = ErrorBag()
        bag.add("subject", "required", "必填项不能为空")
        bag.raise_if_any()
    digest = subject_digest(provider_name, subject)
    if session.execute(select(SsoIdentity.id).where(SsoIdentity.provider == provider_name,
                                                    SsoIdentity.subject_digest == digest)).first():
        raise Conflict("sso_identity_exists", "该统一身份认证账号已关联到本平台用户")
    ident = SsoIdentity(provider=provider_name, subject_digest=digest, user_id=user.id, created_at=utcnow())
    session.add(ident)
    session.flush()
    ledger.append(session, actor, "sso.link", "user", user.id, {"provider": provider_name, "identity_id": ident.id})
    return ident


def unlink(session: Session, actor: Actor, identity_id: int) -> None:
    """Remove the link; the user's sessions end (they may have come through it)."""
    require(can_administer_security(actor), "解除统一身份认证账号关联")
    ident = _identity(session, identity_id)
    user_id, name = ident.user_id, ident.provider
    session.delete(ident)
    ended = sessions.end_all(session, user_id)
    ledger.append(session, actor, "sso.unlink", "user", user_id,
                  {"provider": name, "identity_id": identity_id, "sessions_ended": ended})


def set_disabled(session: Session, actor: Actor, identity_id: int, disabled: bool) -> SsoIdentity:
    """Stop (or allow again) sign-in through one identity; stopping ends the user's sessions."""
    require(can_administer_security(actor), "停用统一身份认证账号")
    ident = _identity(session, identity_id)
    ident.disabled_at = utcnow() if disabled else None
    ended = sessions.end_all(session, ident.user_id) if disabled else 0
    ledger.append(session, actor, "sso.disable" if disabled else "sso.enable", "user", ident.user_id,
                  {"provider": ident.provider, "identity_id": ident.id, "sessions_ended": ended})
    return ident
