"""HTTP adapters over assessment: /api/v1/assess/kpis, /scorecards, /targets and the exports
(/export.xlsx, /report.html). Who may see what is decided in assess.kpis and assess.model."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..apidocs import XLSX, file_responses
from ..db import get_database
from ..deps import read_session, request_lang, require_user
from ..params import Id, Key, Text
from . import exports, kpis
from . import model as targets
from . import scorecards as cards

router = APIRouter(prefix="/api/v1/assess", tags=["assessment"])

RegionQ = Query(None, alias="region", description="Division code (default: all the caller may see)")
OrgQ = Query(None, alias="org", description="Org id")
DayQ = Query(None, alias="date", description="Compute as of this day (default today)")


@router.get("/kpis")
def get_kpis(region: Key | None = RegionQ, org: Id | None = OrgQ, day: date | None = DayQ,
             breakdown: bool = Query(True, description="Include regions, orgs and trends"),
             actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    """Every KPI of the scope with its formula's inputs, target progress, per-region and per-org figures."""
    return kpis.compute(s, actor, region, org, day, breakdown=breakdown)


@router.get("/scorecards")
def get_scorecards(region: Key | None = RegionQ, org: Id | None = OrgQ, day: date | None = DayQ,
                   actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    """Org scorecards: weighted components, rank within the region, overdue to-dos."""
    return cards.scorecards(s, actor, region, org, day)


@router.get("/export.xlsx", response_class=Response, responses=file_responses(XLSX))
def export_xlsx(region: Key | None = RegionQ, org: Id | None = OrgQ, day: date | None = DayQ,
                lang: str = Depends(request_lang), actor: Actor = Depends(require_user),
                s: Session = Depends(read_session)) -> Response:
    data = exports.gather(s, actor, region, org, day)
    return Response(exports.xlsx(data, lang), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="assessment-{data["today"]}.xlsx"'})


@router.get("/report.html", response_class=HTMLResponse)
def report(region: Key | None = RegionQ, org: Id | None = OrgQ, day: date | None = DayQ,
           lang: str = Depends(request_lang), actor: Actor = Depends(require_user),
           s: Session = Depends(read_session)) -> HTMLResponse:
    """The printable report (self-contained HTML)."""
    return HTMLResponse(exports.report_html(exports.gather(s, actor, region, org, day), lang))


class TargetIn(BaseModel):
    metric: Text = Field(description="records_collected | open_datasets | catalogue_coverage | …")
    value: float = Field(description="Rates and coverage as a fraction 0..1")
    due_on: date
    scope: Text = Field(targets.PLATFORM, description="'platform' or a division code")
    basis: Text | None = None
    effective_from: date | None = None


class TargetRevision(BaseModel):
    value: float | None = None
    due_on: date | None = None
    basis: Text | None = None
    effective_from: date | None = None


@router.get("/targets")
def list_targets(history: bool = False, scope: Key | None = None, on: date | None = None,
                 actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = targets.list_targets(s, actor, on=on, history=history, scope=scope)
    return {"metrics": {k: {"label": v[0], "unit": v[1]} for k, v in targets.TARGET_METRICS.items()},
            "items": [targets.target_dict(t) for t in rows]}


@router.post("/targets", status_code=201)
def create_target(body: TargetIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return targets.target_dict(targets.create_target(
            s, actor, metric=body.metric, value=body.value, due_on=body.due_on, scope=body.scope, basis=body.basis,
            effective_from=body.effective_from))


@router.post("/targets/{target_id}/revise", status_code=201)
def revise_target(target_id: Id, body: TargetRevision, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return targets.target_dict(targets.revise_target(s, actor, target_id, value=body.value, due_on=body.due_on,
                                                         basis=body.basis, effective_from=body.effective_from))


@router.post("/targets/{target_id}/retire")
def retire_target(target_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return targets.target_dict(targets.retire_target(s, actor, target_id))


@router.post("/targets/seed")
def seed_targets(actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return {"added": targets.seed_targets(s, actor)}
