"""HTTP adapters of the open-data stage: downloads (/open/datasets/{id}/download.{fmt}), the rows
API, applications and API keys, demands, showcase and open plans (/api/v1/open/...). Services
decide who may do what; these only translate."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..apidocs import JSON_ROWS, file_responses
from ..db import get_database
from ..deps import read_session, require_user, resolve_actor
from ..ledger.access_log import OPEN_DOWNLOAD, OPEN_ROWS
from ..params import JSON_INT_MAX, KEY_MAX, Cursor, Id, Int, Key, Offset, Text
from . import applications as apps
from . import demands as dem
from . import downloads as dl
from . import keys as key_service
from . import kpi, plans, rows_api, usage
from . import showcase as show
from .access import access_for
from .datasets import get_open_resource, is_unconditional

router = APIRouter(tags=["open data"])
RESERVED_PARAMS = frozenset({"limit", "offset", "after", "api_key", "lang"})


def _problem(request: Request, exc: rows_api.RateLimited) -> JSONResponse:
    return JSONResponse(exc.as_problem(str(request.url.path)), status_code=exc.status,
                        media_type="application/problem+json", headers={"Retry-After": str(exc.retry_after)})


# --- downloads and rows -------------------------------------------------------------------------


# One media type per format (dl.MEDIA_TYPES); the JSON file is an array of row objects.
_DOWNLOAD = file_responses(*(kind.split(";")[0] for kind in dl.MEDIA_TYPES.values()),
                           schemas={"application/json": JSON_ROWS})


@router.get("/open/datasets/{resource_id}/download.{fmt}", summary="Download an open dataset (masked)",
            response_class=Response, responses=_DOWNLOAD)
def download(resource_id: Key, fmt: Key, request: Request) -> Response:
    """CSV (UTF-8 with BOM), XLSX, JSON or Parquet. 有条件开放 needs a signed-in approved
    applicant or an API key for the dataset (`X-API-Key` header or `?api_key=`)."""
    actor = resolve_actor(request)
    raw = dl.raw_key_of(request.headers, request.query_params)
    db = get_database()
    with db.read() as s:
        res = get_open_resource(s, resource_id)
        key = dl.key_ref(dl.authorize(s, actor, res, raw))
        sh = dl.cached_shape(s, res)
        name = dl.filename(res, fmt)
        public = is_unconditional(res) and not raw
    path = dl.file_for(sh, fmt)
    usage.count(db, sh.resource_id, usage.download_kind(fmt))
    dl.log_read(db, actor, sh, OPEN_DOWNLOAD, key=key)
    # Conditional data never sits in a shared cache.
    return FileResponse(path, media_type=dl.MEDIA_TYPES[fmt], filename=name,
                        headers={"Cache-Control": "public, max-age=300" if public else "private, no-store"})


@router.get("/api/v1/open/datasets/{resource_id}/rows", summary="Rows of an open dataset (masked, rate limited)")
def rows(resource_id: Key, request: Request, limit: int = Query(rows_api.DEFAULT_LIMIT, ge=1, le=rows_api.MAX_LIMIT),
         offset: int = Query(0, ge=0, le=rows_api.MAX_OFFSET), after: Cursor | None = None) -> Any:
    """Any other query parameter is an equality filter on a returned column (clear columns only).
    Limited to `open_api_calls_per_minute` calls per API key, or per client IP without a key;
    over the limit: 429 `open.rate_limited` with Retry-After."""
    actor = resolve_actor(request)
    raw = dl.raw_key_of(request.headers, request.query_params)
    who = f"key:{raw.split('_')[1] if raw and raw.count('_') >= 2 else raw}" if raw else \
        f"ip:{request.client.host if request.client else 'unknown'}"
    try:
        rows_api.check_rate(who)
    except rows_api.RateLimited as exc:
        return _problem(request, exc)
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED_PARAMS}
    db = get_database()
    with db.read() as s:
        res = get_open_resource(s, resource_id)
        key = dl.key_ref(dl.authorize(s, actor, res, raw))
        sh = dl.cached_shape(s, res)
    body = rows_api.page(sh, filters, limit=limit, offset=offset, after=after)
    usage.count(db, sh.resource_id, usage.API)
    dl.log_read(db, actor, sh, OPEN_ROWS, rows=len(body["rows"]), key=key)
    return body


@router.get("/api/v1/open/datasets/{resource_id}/access", summary="May I download this dataset, or must I apply?")
def access(resource_id: Key, request: Request, s: Session = Depends(read_session)) -> dict[str, Any]:
    return access_for(s, resolve_actor(request), get_open_resource(s, resource_id))


# --- applications and keys ------------------------------------------------------------------------


class ApplicationIn(BaseModel):
    resource_id: Id
    purpose: Text
    scenario: Text
    agreement: bool = Field(description="The usage agreement is accepted (required)")


class DecideIn(BaseModel):
    decision: Text = Field(description="approve | refuse (批准 | 拒绝)")
    reason: Text


@router.get("/api/v1/open/agreement", summary="The usage agreement every applicant accepts")
def agreement() -> dict[str, Any]:
    return {"version": apps.AGREEMENT_VERSION, "text": apps.AGREEMENT}


@router.post("/api/v1/open/applications", status_code=201)
def create_application(body: ApplicationIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        app = apps.apply(s, actor, body.resource_id, purpose=body.purpose, scenario=body.scenario,
                         agreement=body.agreement)
        return apps.application_dict(s, app)


@router.get("/api/v1/open/applications")
def list_applications(view: str = Query("mine", description="mine | provider | all",
                                        max_length=KEY_MAX), state: Key | None = None,
                      overdue: bool = False, limit: int = Query(50, ge=1, le=500), offset: Offset = 0,
                      actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    rows_, total = apps.list_applications(s, actor, view=view, state=state, overdue=overdue, limit=limit,
                                          offset=offset)
    return {"total": total, "items": [apps.application_dict(s, a) for a in rows_]}


@router.get("/api/v1/open/applications/{app_id}")
def get_application(app_id: Id, actor: Actor = Depends(require_user),
                    s: Session = Depends(read_session)) -> dict[str, Any]:
    return apps.application_dict(s, apps.get_application(s, actor, app_id))


@router.post("/api/v1/open/applications/{app_id}/decide")
def decide_application(app_id: Id, body: DecideIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return apps.application_dict(s, apps.decide(s, actor, app_id, body.decision, body.reason))


@router.post("/api/v1/open/applications/{app_id}/withdraw")
def withdraw_application(app_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return apps.application_dict(s, apps.withdraw(s, actor, app_id))


@router.post("/api/v1/open/applications/{app_id}/key", status_code=201,
             summary="Take the API key of an approved application (shown once; taking again replaces it)")
def take_key(app_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        key, raw = apps.take_key(s, actor, app_id)
        return {**key_service.key_dict(key), "key": raw}


@router.get("/api/v1/open/keys")
def my_keys(actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"items": [key_service.key_dict(k) for k in key_service.keys_of(s, actor)]}


@router.post("/api/v1/open/keys/{key_id}/revoke")
def revoke_key(key_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return key_service.key_dict(key_service.revoke_key(s, actor, key_id))


# --- demands -------------------------------------------------------------------------------------


class DemandIn(BaseModel):
    title: Text
    description: Text
    domain: Text | None = Field(None, description="教育 / 医疗 / 就业 / 文旅 / 体育 / 公共交通 / 应急 / 金融 / 其他")
    contact: Text | None = None
    region_code: Text | None = Field(None, description="Division code the data is wanted for")


class AnswerIn(BaseModel):
    answer: Text


@router.get("/api/v1/open/demands", summary="Every open-data demand with its status and answer (public)")
def list_demands(request: Request, state: Key | None = None, org_id: Id | None = None, q: Key | None = None,
                 limit: int = Query(50, ge=1, le=500), offset: Offset = 0,
                 s: Session = Depends(read_session)) -> dict[str, Any]:
    actor = resolve_actor(request)
    rows_, total = dem.list_demands(s, state=state, org_id=org_id, q=q, limit=limit, offset=offset)
    return {"total": total, "items": [dem.demand_dict(s, d, actor) for d in rows_]}


@router.post("/api/v1/open/demands", status_code=201)
def create_demand(body: DemandIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        d = dem.create_demand(s, actor, title=body.title, description=body.description, domain=body.domain,
                              contact=body.contact, region_code=body.region_code)
        return dem.demand_dict(s, d, actor)


@router.get("/api/v1/open/demands/{demand_id}")
def get_demand(demand_id: Id, request: Request, s: Session = Depends(read_session)) -> dict[str, Any]:
    return dem.demand_dict(s, dem.get_demand(s, demand_id), resolve_actor(request))


@router.post("/api/v1/open/demands/{demand_id}/answer")
def answer_demand(demand_id: Id, body: AnswerIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return dem.demand_dict(s, dem.answer_demand(s, actor, demand_id, body.answer), actor)


# --- showcase ------------------------------------------------------------------------------------


class ShowcaseIn(BaseModel):
    name: Text
    description: Text
    url: Text | None = None
    resource_ids: list[Id]


class ReviewIn(BaseModel):
    decision: Text = Field(description="approve | refuse (批准 | 拒绝)")
    reason: Text | None = None


@router.get("/api/v1/open/showcase", summary="Listed applications built on open data (public)")
def list_showcase(resource_id: Id | None = None, limit: int = Query(50, ge=1, le=500),
                  offset: Offset = 0, s: Session = Depends(read_session)) -> dict[str, Any]:
    rows_, total = show.listed(s, limit=limit, offset=offset, resource_id=resource_id)
    return {"total": total, "items": [show.entry_dict(s, e) for e in rows_]}


@router.post("/api/v1/open/showcase", status_code=201)
def submit_showcase(body: ShowcaseIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return show.entry_dict(s, show.submit(s, actor, name=body.name, description=body.description, url=body.url,
                                              resource_ids=list(body.resource_ids)))


@router.post("/api/v1/open/showcase/{entry_id}/review")
def review_showcase(entry_id: Id, body: ReviewIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return show.entry_dict(s, show.review(s, actor, entry_id, body.decision, body.reason))


# --- open plans ----------------------------------------------------------------------------------


class PlanEntryIn(BaseModel):
    org_id: Id
    year: Int
    planned_quarter: int = Field(ge=1, le=4)
    resource_id: Id | None = None
    title: Text | None = None
    open_type: Text | None = None
    planned_date: date | None = None
    note: Text | None = None


@router.get("/api/v1/open/plans", summary="Open plan lines of a year (public)")
def list_plans(year: int = Query(default_factory=lambda: workdays.today().year, ge=-JSON_INT_MAX, le=JSON_INT_MAX),
               org_id: Id | None = None, s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"year": year, "items": plans.plan_rows(s, year=year, org_id=org_id)}


@router.post("/api/v1/open/plans", status_code=201)
def add_plan_entry(body: PlanEntryIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        e = plans.add_entry(s, actor, org_id=body.org_id, year=body.year, planned_quarter=body.planned_quarter,
                            resource_id=body.resource_id, title=body.title, open_type=body.open_type,
                            planned_date=body.planned_date, note=body.note)
        return next(r for r in plans.plan_rows(s, year=e.year, org_id=e.org_id) if r["id"] == e.id)


@router.delete("/api/v1/open/plans/{entry_id}", status_code=204)
def remove_plan_entry(entry_id: Id, actor: Actor = Depends(require_user)) -> Response:
    with get_database().write() as s:
        plans.remove_entry(s, actor, entry_id)
    return Response(status_code=204)


@router.get("/api/v1/open/catalogue/{org_id}", summary="An org's open catalogue (public)")
def org_catalogue(org_id: Id, s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"org_id": org_id, "items": plans.catalogue_rows(s, org_id)}


# --- figures and the overdue run -------------------------------------------------------------------


@router.get("/api/v1/open/figures", summary="Open-data figures (open datasets, downloads, calls, answers)")
def figures(region_path: Key | None = None, org_id: Id | None = None,
            s: Session = Depends(read_session)) -> dict[str, Any]:
    return kpi.figures(s, region_path=region_path, org_id=org_id)


@router.post("/api/v1/open/mark-overdue", summary="Mark overdue applications and demands (admins; daily job)")
def mark_overdue(actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return {"applications": apps.mark_overdue(s, actor), "demands": dem.mark_overdue(s, actor)}
