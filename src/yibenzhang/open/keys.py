"""API keys for 有条件开放 datasets. A key is issued to an approved applicant (by the applicant,
so the decider never sees it), shown once, stored as the SM3 digest of its secret, scoped to the
approved datasets, revocable and expiring."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, require
from ..crypto import constant_time_equal, sm3_hex
from ..db import utcnow
from ..enums import Role
from ..errors import NotFound, PermissionDenied, Unauthenticated
from ..i18n import N_
from ..ledger import service as ledger
from .model import OpenApiKey, OpenApplication

KEY_PREFIX = "ybzo"
# How long a key lives (DOMAIN §6 is silent: default one year; a new key can be taken any time).
KEY_VALID_DAYS = 365


def issue_key(session: Session, actor: Actor, *, user_id: int, resource_ids: list[int],
              application_id: int | None = None, today: date | None = None) -> tuple[OpenApiKey, str]:
    """A new key; the plain value is returned once and never stored."""
    day = today or workdays.today()
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = OpenApiKey(user_id=user_id, prefix=prefix, secret_digest=sm3_hex(secret.encode()),
                     resource_ids=sorted({int(r) for r in resource_ids}), application_id=application_id,
                     expires_on=day + timedelta(days=KEY_VALID_DAYS))
    session.add(key)
    session.flush()
    ledger.append(session, actor, "open.key.issue", "open_api_key", key.id, {
        "application_id": application_id, "resource_ids": key.resource_ids,
        "expires_on": key.expires_on.isoformat() if key.expires_on else None})
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def _provider_of(session: Session, key: OpenApiKey) -> int | None:
    if key.application_id is None:
        return None
    app = session.get(OpenApplication, key.application_id)
    return app.provider_org_id if app else None


def revoke_key(session: Session, actor: Actor, key_id: int) -> OpenApiKey:
    """The key's holder, the provider org's approvers and stewards, or the admin revoke a key."""
    key = session.get(OpenApiKey, int(key_id), with_for_update=True)
    if key is None:
        raise NotFound(f"API密钥 {key_id}", "open_key_not_found")
    provider = _provider_of(session, key)
    mine = actor.user_id is not None and actor.user_id == key.user_id
    if not (mine or actor.is_admin or (provider is not None
                                       and actor.acts_for_org(provider, Role.APPROVER, Role.STEWARD))):
        raise NotFound(f"API密钥 {key_id}", "open_key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        ledger.append(session, actor, "open.key.revoke", "open_api_key", key.id,
                      {"application_id": key.application_id})
    return key


def key_for(session: Session, raw: str, today: date | None = None) -> OpenApiKey:
    """The live key for a presented value; a wrong, expired or revoked key is an error (401)."""
    bad = Unauthenticated("open_key_invalid", "API密钥无效、已过期或已吊销")
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise bad
    key = session.execute(select(OpenApiKey).where(OpenApiKey.prefix == parts[1])).scalar_one_or_none()
    day = today or workdays.today()
    if (key is None or key.revoked_at is not None or (key.expires_on is not None and key.expires_on < day)
            or not constant_time_equal(key.secret_digest, sm3_hex(parts[2].encode()))):
        raise bad
    return key


def require_scope(key: OpenApiKey, resource_id: int) -> None:
    """A key for dataset A does not read dataset B."""
    require(int(resource_id) in {int(r) for r in key.resource_ids or []}, "使用该API密钥访问此数据集",
            "open_key_scope")


def keys_of(session: Session, actor: Actor) -> list[OpenApiKey]:
    if actor.user_id is None:
        raise PermissionDenied("查看API密钥")
    return list(session.execute(select(OpenApiKey).where(OpenApiKey.user_id == actor.user_id)
                                .order_by(OpenApiKey.id.desc())).scalars())


def key_dict(key: OpenApiKey, today: date | None = None) -> dict[str, Any]:
    day = today or workdays.today()
    state = N_("已吊销") if key.revoked_at else ("已过期" if key.expires_on and key.expires_on < day else "有效")
    return {"id": key.id, "prefix": key.prefix, "resource_ids": list(key.resource_ids or []),
            "application_id": key.application_id, "created_at": key.created_at,
            "expires_on": key.expires_on.isoformat() if key.expires_on else None,
            "revoked_at": key.revoked_at, "state": state}
