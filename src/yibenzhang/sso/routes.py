"""HTTP adapters of SSO identities (the security administrator's link, unlink and disable) and
the public list of providers. Permissions are decided in the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ..access import Actor
from ..db import get_database
from ..deps import require_user
from ..params import Id, Key
from . import service
from .config import providers

router = APIRouter(prefix="/api/v1/sso", tags=["sso"])


class LinkIn(BaseModel):
    provider: str = Field(max_length=64)
    subject: str = Field(max_length=255)
    username: str = Field(max_length=64)


class DisabledIn(BaseModel):
    disabled: bool


@router.get("/providers")
def list_providers() -> list[dict[str, str]]:
    """The configured providers (OpenID Connect, CAS): name, label, protocol and where a browser starts."""
    return [{"name": p.name, "label": p.label, "protocol": p.protocol, "login": p.login_path} for p in providers()]


@router.get("/identities")
def list_identities(username: Key | None = None, actor: Actor = Depends(require_user)) -> list[dict[str, Any]]:
    with get_database().read() as s:
        return service.list_identities(s, actor, username)


@router.post("/identities", status_code=201)
def link(body: LinkIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        ident = service.link(s, actor, provider_name=body.provider, subject=body.subject, username=body.username)
        return service.identity_dict(s, ident)


@router.delete("/identities/{identity_id}", status_code=204)
def unlink(identity_id: Id, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        service.unlink(s, actor, identity_id)


@router.post("/identities/{identity_id}/disabled")
def set_disabled(identity_id: Id, body: DisabledIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.identity_dict(s, service.set_disabled(s, actor, identity_id, body.disabled))
