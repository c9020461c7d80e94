"""HTTP adapters of issue 23's services: roles under 三员分立, locks, second factor, passwords,
and the audit administrator's export. Permissions are decided in the services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from .. import sealing
from ..access import Actor
from ..db import get_database
from ..deps import require_user
from ..ledger import access_log, audit
from ..params import Key, Text
from . import mfa, security, service

router = APIRouter(prefix="/api/v1", tags=["security"])


class RoleIn(BaseModel):
    role: Text
    org_uscc: Text | None = None
    region_code: Text | None = None


class ActiveIn(BaseModel):
    active: bool


class PasswordIn(BaseModel):
    current: Text
    new: Text


@router.post("/users/{username}/roles", status_code=201)
def assign_role(username: Key, body: RoleIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        ra = service.assign_role(s, actor, username, service.RoleSpec(body.role, body.org_uscc, body.region_code))
        return {"username": username, "role": ra.role, "org_id": ra.org_id, "region_id": ra.region_id}


@router.delete("/users/{username}/roles/{role}", status_code=204)
def revoke_role(username: Key, role: Key, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        service.revoke_role(s, actor, username, role)


@router.post("/users/{username}/active")
def set_active(username: Key, body: ActiveIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        user = service.set_active(s, actor, username, body.active)
        return {"username": user.username, "active": user.is_active}


@router.post("/users/{username}/unlock", status_code=204)
def unlock(username: Key, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        security.unlock(s, actor, username)


@router.post("/users/{username}/mfa/reset", status_code=204)
def reset_mfa(username: Key, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        mfa.reset(s, actor, username)


@router.post("/me/password", status_code=204)
def change_password(body: PasswordIn, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        security.change_password(s, actor, current=body.current, new=body.new)


@router.get("/audit/events")
def export_audit(since: datetime | None = None, until: datetime | None = None, action: Key | None = None,
                 actor: Actor = Depends(require_user)) -> list[dict[str, Any]]:
    """The ledger's events for the audit administrator (JSON; every export is itself recorded)."""
    with get_database().write() as s:
        return audit.export_events(s, actor, since=since, until=until, action_prefix=action)


@router.get("/audit/access-log")
def export_access_log(since: datetime | None = None, until: datetime | None = None,
                      actor: Actor = Depends(require_user)) -> list[dict[str, Any]]:
    """Every read of personal data through any exit — who, resource, items, row count, exit; never
    a value (audit administrator; the export itself is recorded)."""

    access_log.flush_pending()
    with get_database().write() as s:
        return access_log.entries(s, actor, since=since, until=until)


@router.post("/security/keys/rotate")
def rotate_data_keys(actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Re-seal every SM4-sealed value under the first key of YBZ_DATA_KEYS (security administrator)."""

    with get_database().write() as s:
        return {"key_id": sealing.keyring()[0][0], "rows": sealing.rotate(s, actor)}
