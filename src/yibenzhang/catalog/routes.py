"""HTTP adapters over the catalogue services (/api/v1/resources, systems, lists, duty changes)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user, resolve_actor
from ..orgs.service import get_region_by_code
from ..params import Id, Key, Offset
from . import service
from .model import DutyChange, ListEntry, Resource, System
from .schemas import DutyChangeIn, ListEntryIn, ResourceIn, ReturnIn, SystemIn

ROUTE_PREFIX = "/api/v1"  # the core routes name their paths under it (api.create_app)
router = APIRouter(tags=["catalog"])


def summary(r: Resource) -> dict[str, Any]:
    return {"id": r.id, "code": r.code, "name": r.name, "org_id": r.org_id, "status": r.status,
            "version": r.version, "published_version": r.published_version, "share_type": r.share_type,
            "open_type": r.open_type, "update_cycle": r.update_cycle}


def system_out(x: System) -> dict[str, Any]:
    return {"id": x.id, "org_id": x.org_id, "name": x.name, "description": x.description}


def entry_out(e: ListEntry) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "title": e.title, "content": e.content, "basis": e.basis,
            "org_id": e.org_id, "resource_id": e.resource_id, "created_by": e.created_by}


def duty_out(d: DutyChange) -> dict[str, Any]:
    return {"id": d.id, "org_id": d.org_id, "occurred_on": d.occurred_on.isoformat(),
            "due_on": d.due_on.isoformat(), "fulfilled_on": d.fulfilled_on.isoformat() if d.fulfilled_on else None,
            "state": service.duty_change_state(d, workdays.today()), "description": d.description}


@router.get("/resources")
def list_resources(
    org_id: Id | None = None, status: Key | None = None, limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0, actor: Actor = Depends(resolve_actor), s: Session = Depends(read_session),
) -> dict[str, Any]:
    rows, total = service.list_resources(s, actor, org_id=org_id, status=status, limit=limit, offset=offset)
    return {"total": total, "items": [summary(r) for r in rows]}


@router.post("/resources", status_code=201)
def create_resource(body: ResourceIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        r = service.create_resource(s, actor, body)
        return service.resource_dict(s, r)


@router.get("/resources/by-code/{code:path}")
def get_resource_by_code(code: Key, actor: Actor = Depends(resolve_actor),
                         s: Session = Depends(read_session)) -> dict[str, Any]:
    """By 信息资源代码, e.g. /resources/by-code/101001/000001."""
    return get_resource(code, actor, s)


@router.get("/resources/{resource_id}")
def get_resource(resource_id: Key, actor: Actor = Depends(resolve_actor),
                 s: Session = Depends(read_session)) -> dict[str, Any]:
    """By numeric id (or by code through /resources/by-code/…)."""
    r = service.get_resource(s, actor, resource_id)
    out = service.view_for(s, actor, r)
    out["one_source_flags"] = service.one_source_flags_for(s, r)
    return out


@router.put("/resources/{resource_id}")
def update_resource(resource_id: Id, body: ResourceIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.resource_dict(s, service.update_resource(s, actor, resource_id, body))


@router.delete("/resources/{resource_id}", status_code=204)
def delete_resource(resource_id: Id, actor: Actor = Depends(require_user)) -> None:
    with get_database().write() as s:
        service.delete_draft(s, actor, resource_id)


@router.post("/resources/{resource_id}/submit")
def submit(resource_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return summary(service.submit_resource(s, actor, resource_id))


@router.post("/resources/{resource_id}/withdraw")
def withdraw(resource_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return summary(service.withdraw_resource(s, actor, resource_id))


@router.post("/resources/{resource_id}/publish")
def publish(resource_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return summary(service.publish_resource(s, actor, resource_id))


@router.post("/resources/{resource_id}/return")
def return_(resource_id: Id, body: ReturnIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return summary(service.return_resource(s, actor, resource_id, body.reason))


@router.post("/resources/{resource_id}/retire")
def retire(resource_id: Id, body: ReturnIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return summary(service.retire_resource(s, actor, resource_id, body.reason))


@router.get("/resources/{resource_id}/versions")
def versions(resource_id: Id, actor: Actor = Depends(resolve_actor),
             s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return service.list_versions(s, actor, resource_id)


@router.get("/resources/{resource_id}/versions/{version}")
def version(resource_id: Id, version: Id, actor: Actor = Depends(resolve_actor),
            s: Session = Depends(read_session)) -> dict[str, Any]:
    return service.get_version(s, actor, resource_id, version)


@router.get("/resources/{resource_id}/diff")
def diff(resource_id: Id, a: Id, b: Id | None = None, actor: Actor = Depends(resolve_actor),
         s: Session = Depends(read_session)) -> dict[str, Any]:
    """Changes from published version `a` to version `b` (or to the working copy)."""
    return service.diff_versions(s, actor, resource_id, a, b)


@router.get("/review-queue")
def review_queue(actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [summary(r) for r in service.review_queue(s, actor)]


@router.get("/systems")
def list_systems(org_id: Id | None = None, actor: Actor = Depends(require_user),
                 s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [system_out(x) for x in service.list_systems(s, org_id)]


@router.post("/systems", status_code=201)
def create_system(body: SystemIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return system_out(service.create_system(s, actor, body))


@router.get("/systems/{system_id}/resources")
def system_resources(system_id: Id, actor: Actor = Depends(require_user),
                     s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [summary(r) for r in service.system_resources(s, actor, system_id)]


@router.get("/regions/{region_code}/lists")
def lists(region_code: Key, kind: Key | None = None, actor: Actor = Depends(require_user),
          s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [entry_out(e) for e in service.list_entries(s, region_code, kind)]


@router.post("/lists", status_code=201)
def add_list_entry(body: ListEntryIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return entry_out(service.add_list_entry(s, actor, body))


@router.post("/duty-changes", status_code=201)
def record_duty_change(body: DutyChangeIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return duty_out(service.record_duty_change(s, actor, body))


@router.post("/orgs/{org_id}/catalogue-reviewed")
def catalogue_reviewed(org_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return {"fulfilled": service.confirm_catalogue_reviewed(s, actor, org_id)}


@router.get("/duty-changes/board")
def duty_board(region_code: Key | None = None, today: date | None = None, actor: Actor = Depends(require_user),
               s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    path = get_region_by_code(s, region_code).path if region_code else None
    return service.duty_change_board(s, actor, today, path)


@router.get("/one-source/conflicts")
def one_source(actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return service.one_source_conflicts(s)
