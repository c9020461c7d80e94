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
from ..apidocs import PARQUET, file_responses
from ..db import get_database
from ..deps import read_session, require_user
from ..errors import NotFound
from ..params import KEY_MAX, Id, Int, Key, LongText, Text
from . import authorizations as auths
from . import output_check, privacy, run_record, sandbox
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


class SandboxOutput(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]] = Field(description="The first rows of the output")
    truncated: bool


class SandboxRunOut(BaseModel):
    """A run as sandbox.run_as_dict writes it (for the OpenAPI document: the routes answer the dict)."""

    id: Id
    authorization_id: Id
    operator_org_id: Id
    user_id: Id | None
    sql: str
    sql_digest: str
    resources: list[Id] = Field(description="Resource ids read")
    state: str
    released: bool
    release_kind: str | None
    reason_code: str | None
    reason: str | None
    reason_en: str | None
    row_count: Int | None
    columns: list[str]
    output_digest: str | None
    suppressed: list[Any]
    elapsed_ms: Int | None
    created_at: str | None
    held: bool = Field(description="Released only after an output checker approves it (issue 16)")
    review: dict[str, Any] | None
    noise: dict[str, Any] | None = Field(description="The differential-privacy release's parameters")
    output: SandboxOutput | None = Field(None, description="Present once released; null while held")


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


@router.post("/sandbox/queries", status_code=201, response_model=None, responses={201: {"model": SandboxRunOut}})
def query(body: QueryIn, request: Request, actor: Actor = Depends(require_user)) -> dict[str, Any] | JSONResponse:
    run = sandbox.submit_query(get_database(), actor, body.authorization_id, body.sql)
    out = sandbox.run_as_dict(run, with_output=run.state == RunState.RELEASED.value)
    if out["released"] or out["held"]:  # held: accepted, waiting for an output checker (issue 16)
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


@router.get("/sandbox/runs/{run_id}/output.parquet", response_class=Response, responses=file_responses(PARQUET))
def get_output(run_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> Response:
    run = sandbox.get_run(s, actor, run_id)
    path = run_record.output_path(run)
    if run.state == RunState.HELD.value and not sandbox.reviews(s, actor, run):
        path = None  # issue 16: a held output leaves only after a checker approves it
    if path is None or not path.exists():
        raise NotFound(f"沙箱查询 {run_id}", "sandbox_output_not_found")
    return Response(path.read_bytes(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": f'attachment; filename="sandbox-{run.id}.parquet"',
                             "X-Output-Digest": run.output_digest or ""})


# --- issue 16: the release policy and privacy budget, noisy releases, human output checking -------

Value = Key | float | Int


class ReleasePolicyIn(BaseModel):
    mode: Key | None = Field(None, description="输出检查 | 隐私预算 (output checking | privacy budget)")
    epsilon_total: float | None = Field(None, ge=0, description="The ε budget of the period")
    review_all: bool | None = Field(None, description="Every release waits for an output checker")
    new_period: bool = Field(False, description="Start a new budget period: nothing spent yet")


class NoisyIn(BaseModel):
    authorization_id: Id
    resource_id: Id
    statistic: Key = Field(description="count | sum | mean")
    epsilon: float = Field(gt=0, description="The ε this release spends from the budget")
    item: Key | None = Field(None, description="The numeric item summed or averaged")
    bounds: list[float] | None = Field(None, min_length=2, max_length=2,
                                       description="Clamp bounds [lower, upper]; default: the catalogue's range")
    filters: dict[Key, Value | list[Value]] = Field(default_factory=dict, max_length=20,
                                                    description="item → value or values (clear items)")
    group_by: Key | None = None
    groups: list[Value] = Field(default_factory=list, max_length=1000,
                                description="The group values, named in advance (never taken from the data)")


@router.get("/authorizations/{auth_id}/release-policy")
def get_release_policy(auth_id: Id, actor: Actor = Depends(require_user),
                       s: Session = Depends(read_session)) -> dict[str, Any]:
    return privacy.read_policy(s, actor, auth_id)


@router.put("/authorizations/{auth_id}/release-policy")
def put_release_policy(auth_id: Id, body: ReleasePolicyIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        policy = privacy.set_policy(s, actor, auth_id, mode=body.mode, epsilon_total=body.epsilon_total,
                                    review_all=body.review_all, new_period=body.new_period)
        return privacy.policy_as_dict(policy, auth_id)


@router.get("/authorizations/{auth_id}/privacy-spends")
def get_spends(auth_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = privacy.spends(s, actor, auth_id)
    return {"total": len(rows), "items": rows, "budget": privacy.read_policy(s, actor, auth_id)}


@router.post("/sandbox/noisy", status_code=201, response_model=None, responses={201: {"model": SandboxRunOut}})
def noisy(body: NoisyIn, request: Request, actor: Actor = Depends(require_user)) -> dict[str, Any] | JSONResponse:
    req = privacy.NoisyRequest(resource_id=body.resource_id, statistic=body.statistic, epsilon=body.epsilon,
                               item=body.item, bounds=(body.bounds[0], body.bounds[1]) if body.bounds else None,
                               filters=dict(body.filters), group_by=body.group_by, groups=list(body.groups))
    run = privacy.release(get_database(), actor, body.authorization_id, req)
    return _answer(run, request)


def _answer(run: Any, request: Request) -> dict[str, Any] | JSONResponse:
    out = sandbox.run_as_dict(run, with_output=run.state == RunState.RELEASED.value)
    if out["released"] or out["held"]:
        return out
    status = 409 if run.reason_code in ("authorization_inactive", "privacy_budget_exhausted",
                                        "privacy_mode_off") else 422
    code = out["reason_code"]
    problem = {"type": f"https://yibenzhang.org/errors/{code}", "title": "Sandbox output refused",
               "status": status, "code": code, "detail": out["reason"], "detail_en": out["reason_en"],
               "instance": str(request.url.path), "run_id": run.id, "run": out}
    return JSONResponse(problem, status_code=status, media_type="application/problem+json")


@router.get("/output-checks")
def output_checks(authorization_id: Id | None = None, limit: int = Query(100, ge=1, le=1000),
                  actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = output_check.pending(s, actor, authorization_id, limit=limit)
    return {"total": len(rows), "items": [output_check.review_as_dict(r) for r in rows]}


@router.get("/sandbox/runs/{run_id}/review")
def get_review(run_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return output_check.review_as_dict(output_check.get_review(s, actor, run_id))


@router.post("/sandbox/runs/{run_id}/approve")
def approve(run_id: Id, body: ReasonIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return output_check.review_as_dict(output_check.decide(s, actor, run_id, approve=True, reason=body.reason))


@router.post("/sandbox/runs/{run_id}/reject")
def reject(run_id: Id, body: ReasonIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return output_check.review_as_dict(output_check.decide(s, actor, run_id, approve=False, reason=body.reason))
