"""HTTP adapters over authorizations (/api/v1/operate/authorizations) and the sandbox
(/api/v1/operate/sandbox). A refused sandbox query is still recorded: the run is committed and
answered as problem+json (422, or 409 when the authorization is not active) carrying `run_id`."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..db import get_database
from ..deps import read_session, require_user
from ..errors import NotFound
from ..params import KEY_MAX, Id, Int, Key, LongText, Text
from . import authorizations as auths
from . import sandbox
from .model import RunState

router = APIRouter(prefix="/api/v1/operate", tags=["operate"])


class ResourceScope(BaseModel):
    resource_id: Id
    items: list[Key] = Field(description="Item names the operator may compute over")


class AuthorizationIn(BaseModel):
    operator_org_id: Id = Field(description="An org of kind 授权运营机构")
    region_id: Id | None = Field(None, description="Defaults to the operator org's region")
    scope_kind: Text = Field(description="全域 | 领域 | 场景 (region | domain | scenario)")
    scope: Text | None = Field(None, description="The domain or scenario (not for 全域)")
    resources: list[ResourceScope]
    purpose: Text
    conditions: Text | None = None
    starts_on: date
    ends_on: date = Field(description="Last valid day; at most the day before the same date N years later")
    fee_cap_fen: Int = Field(description="Operation fee cap in fen")


class ReasonIn(BaseModel):
    reason: Text


class QueryIn(BaseModel):
    authorization_id: Id
    sql: LongText = Field(description="One SELECT over views r_<resource id> with authorized items only")


@router.post("/authorizations", status_code=201)
def create(body: AuthorizationIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        auth = auths.create_authorization(
            s, actor, operator_org_id=body.operator_org_id, region_id=body.region_id, scope_kind=body.scope_kind,
            scope=body.scope, resources=[r.model_dump() for r in body.resources], purpose=body.purpose,
            conditions=body.conditions, starts_on=body.starts_on, ends_on=body.ends_on, fee_cap_fen=body.fee_cap_fen)
        return auths.as_dict(s, auth)


@router.get("/authorizations")
def list_(state: str | None = Query(None, description="有效 | 暂停 | 撤销 | 已到期", max_length=KEY_MAX),
          operator_org_id: Id | None = None, actor: Actor = Depends(require_user),
          s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = auths.list_authorizations(s, actor, operator_org_id=operator_org_id, state=state)
    return {"total": len(rows), "items": [auths.as_dict(s, a) for a in rows]}


@router.get("/authorizations/{auth_id}")
def get(auth_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return auths.as_dict(s, auths.get_authorization(s, actor, auth_id))


@router.post("/authorizations/{auth_id}/suspend")
def suspend(auth_id: Id, body: ReasonIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return auths.as_dict(s, auths.suspend(s, actor, auth_id, body.reason))


@router.post("/authorizations/{auth_id}/resume")
def resume(auth_id: Id, body: ReasonIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return auths.as_dict(s, auths.resume(s, actor, auth_id, body.reason))


@router.post("/authorizations/{auth_id}/revoke")
def revoke(auth_id: Id, body: ReasonIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return auths.as_dict(s, auths.revoke(s, actor, auth_id, body.reason))


@router.get("/authorizations/{auth_id}/runs")
def runs(auth_id: Id, limit: int = Query(100, ge=1, le=1000), actor: Actor = Depends(require_user),
         s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = sandbox.list_runs(s, actor, auth_id, limit=limit)
    return {"total": len(rows), "items": [sandbox.run_as_dict(r, for_authority=sandbox.reviews(s, actor, r))
                                          for r in rows]}


@router.post("/sandbox/queries", status_code=201, response_model=None)
def query(body: QueryIn, request: Request, actor: Actor = Depends(require_user)) -> dict[str, Any] | JSONResponse:
    run = sandbox.submit_query(get_database(), actor, body.authorization_id, body.sql)
    out = sandbox.run_as_dict(run, with_output=run.state == RunState.RELEASED.value)
    if out["released"]:
        return out
    status = 409 if run.reason_code == "authorization_inactive" else 422
    code = out["reason_code"]  # generic for refusals that depend on the data
    problem = {"type": f"https://yibenzhang.org/errors/{code}", "title": "Sandbox output refused",
               "status": status, "code": code, "detail": out["reason"], "detail_en": out["reason_en"],
               "instance": str(request.url.path), "run_id": run.id, "run": out}
    return JSONResponse(problem, status_code=status, media_type="application/problem+json")


@router.get("/sandbox/runs/{run_id}")
def get_run(run_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    run = sandbox.get_run(s, actor, run_id)
    return sandbox.run_as_dict(run, with_output=True, for_authority=sandbox.reviews(s, actor, run))


@router.get("/sandbox/runs/{run_id}/output.parquet")
def get_output(run_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> Response:
    run = sandbox.get_run(s, actor, run_id)
    path = sandbox.output_path(run)
    if path is None or not path.exists():
        raise NotFound(f"沙箱查询 {run_id}", "sandbox_output_not_found")
    return Response(path.read_bytes(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": f'attachment; filename="sandbox-{run.id}.parquet"',
                             "X-Output-Digest": run.output_digest or ""})
