"""HTTP adapters over the library services (/api/v1/libraries). Government callers only: the
open portal and the CKAN API never list libraries (their open type is 不予开放)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..catalog.schemas import ResourceIn
from ..db import get_database
from ..deps import read_session, require_user
from ..params import Id, Key, Text
from . import conflicts as C
from . import definition as D
from . import run, views

router = APIRouter(prefix="/api/v1/libraries", tags=["libraries"])


class DefineIn(BaseModel):
    resource: ResourceIn
    definition: D.DefinitionIn


class FuseIn(BaseModel):
    full: bool = False
    engine: Key | None = None


class RecordIn(BaseModel):
    grant_id: Id = Field(description="A grant (mode 接口) on this library for the caller's org")
    key: Text = Field(description="公民身份号码 or 统一社会信用代码 (15-digit IDs are upgraded)")
    items: list[Key] | None = Field(None, description="Granted items to return (default: all granted)")


def _lib(s: Session, r: Any) -> dict[str, Any]:
    return {"id": r.id, "code": r.code, "name": r.name, "status": r.status, "version": r.version,
            "published_version": r.published_version, "grade": D.library_grade(r)}


@router.get("")
def list_(actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"libraries": D.list_libraries(s, actor)}


@router.post("", status_code=201)
def define(body: DefineIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return _lib(s, D.define_library(s, actor, body.resource, body.definition))


@router.get("/{library_id}")
def get(library_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    r = D.get_library(s, actor, library_id)
    out = _lib(s, r)
    row = D.definition_at(s, r.id, r.version)
    out["definition"] = row.definition if row else None
    out["resolved"] = D.resolve(s, r.id).as_dict() if r.published_version else None
    return out


@router.put("/{library_id}/definition")
def update(library_id: Id, body: D.DefinitionIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return _lib(s, D.update_definition(s, actor, library_id, body))


@router.post("/{library_id}/fuse", status_code=202)
def fuse(library_id: Id, body: FuseIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        job = run.request_fusion(s, actor, library_id, full=body.full, engine=body.engine)
        return {"job_id": job.id, "kind": job.kind, "status": job.status}


@router.get("/{library_id}/conflicts")
def conflicts(library_id: Id, actor: Actor = Depends(require_user),
              s: Session = Depends(read_session)) -> dict[str, Any]:
    return C.counts(s, actor, library_id)


@router.get("/{library_id}/conflicts/{source_id}")
def steward_list(library_id: Id, source_id: Id, actor: Actor = Depends(require_user),
                 s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"conflicts": C.steward_list(s, actor, library_id, source_id)}


@router.post("/{library_id}/conflicts/send")
def send(library_id: Id, source_id: Id | None = None, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return C.send(s, actor, library_id, source_id)


@router.post("/{library_id}/record")
def record(library_id: Id, body: RecordIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """一人一档 / 一企一档: one entity's record (granted items, masked, with provenance)."""
    return views.record(get_database(), actor, library_id, body.grant_id, body.key, items=body.items)
