"""HTTP adapters over the orgs services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user, resolve_actor
from ..params import Count, Id, LongText, Text
from . import service
from .model import Org, Region

ROUTE_PREFIX = "/api/v1"  # the core routes name their paths under it (api.create_app)
router = APIRouter(tags=["orgs"])


def region_out(r: Region) -> dict[str, Any]:
    return {"id": r.id, "code": r.code, "name": r.name, "level": r.level, "parent_id": r.parent_id}


def org_out(o: Org) -> dict[str, Any]:
    return {"id": o.id, "name": o.name, "uscc": o.uscc, "kind": o.kind, "region_id": o.region_id,
            "sector": o.sector}


class RegionIn(BaseModel):
    code: Text
    name: Text
    parent_code: Text | None = None


class OrgIn(BaseModel):
    name: Text
    uscc: Text
    kind: Text
    region_code: Text
    sector: Text | None = None
    duties: LongText | None = None


class RoleIn(BaseModel):
    role: Text
    org_uscc: Text | None = None
    region_code: Text | None = None


class UserIn(BaseModel):
    username: Text
    display_name: Text = ""
    password: Text | None = None
    roles: list[RoleIn] = Field(default_factory=list)


class TokenIn(BaseModel):
    name: Text = "api"
    days: Count | None = 365


@router.get("/regions")
def list_regions(s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [region_out(r) for r in service.list_regions(s)]


@router.post("/regions", status_code=201)
def create_region(body: RegionIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return region_out(service.create_region(s, actor, code=body.code, name=body.name,
                                                parent_code=body.parent_code))


@router.get("/orgs")
def list_orgs(s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [org_out(o) for o in service.list_orgs(s)]


@router.get("/orgs/{org_id}")
def get_org(org_id: Id, s: Session = Depends(read_session)) -> dict[str, Any]:
    return org_out(service.get_org(s, org_id))


@router.post("/orgs", status_code=201)
def create_org(body: OrgIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return org_out(service.create_org(s, actor, **body.model_dump()))


@router.post("/users", status_code=201)
def create_user(body: UserIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        user = service.create_user(
            s, actor, username=body.username, display_name=body.display_name, password=body.password,
            roles=[service.RoleSpec(r.role, r.org_uscc, r.region_code) for r in body.roles],
        )
        return {"id": user.id, "username": user.username}


@router.get("/me")
def me(actor: Actor = Depends(resolve_actor)) -> dict[str, Any]:
    return {
        "username": actor.username,
        "authenticated": actor.is_authenticated,
        "roles": [{"role": g.role.value, "org_id": g.org_id, "region_path": g.region_path} for g in actor.grants],
    }


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """A new token for the signed-in user; its value is shown in this response only."""
    with get_database().write() as s:
        token, value = service.create_token(s, actor, username=actor.username, name=body.name, days=body.days)
        return {"id": token.id, "name": token.name, "token": value,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Id, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        service.revoke_token(s, actor, token_id)
