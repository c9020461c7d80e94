"""HTTP adapters over the compliance calendar (/api/v1/calendar…)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ..access import Actor
from ..apidocs import file_responses
from ..db import get_database
from ..deps import read_session, request_lang, require_user
from ..params import KEY_MAX, Id, Int, Key, Text
from . import calendar as service
from .calendar_export import MEDIA_TYPES, export

router = APIRouter(prefix="/api/v1/calendar", tags=["compliance calendar"])


class PeopleIn(BaseModel):
    org_id: Id
    people: Int = Field(description="People whose personal information the org processes")
    as_of: date | None = Field(None, description="Date of the figure (default today)")


class FirmIn(BaseModel):
    name: Text
    uscc: Text | None = None


class AuditIn(BaseModel):
    org_id: Id
    kind: Text = Field("routine", description="routine (定期审计) | ordered (责令审计)")
    ordered_on: date | None = Field(None, description="Date of the regulator's order (ordered audits)")
    basis: Text | None = Field(None, description="The order's basis (ordered audits)")
    firm_id: Id | None = None


class AssignIn(BaseModel):
    firm_id: Id


class ExtendIn(BaseModel):
    due_on: date
    approver: Text = Field(description="Who approved the extension")
    reason: Text


class CompleteIn(BaseModel):
    completed_on: date | None = None


def _rows(s: Session, actor: Actor, start: str | None, end: str | None, org_id: Id | None,
          kind: str | None) -> list[dict[str, Any]]:
    today = service._today()
    found = service.entries(s, actor, start=service.parse_day("from", start), end=service.parse_day("to", end),
                            org_id=org_id, kind=kind, today=today)
    return [e.as_dict(today) for e in found]


@router.get("")
def calendar(
    start: str | None = Query(None, alias="from", description="YYYY-MM-DD (default 1 January last year)",
                              max_length=KEY_MAX),
    end: str | None = Query(None, alias="to", description="YYYY-MM-DD (default 31 December next year)",
                            max_length=KEY_MAX),
    org_id: Id | None = None, kind: Key | None = None,
    actor: Actor = Depends(require_user), s: Session = Depends(read_session),
) -> dict[str, Any]:
    items = _rows(s, actor, start, end, org_id, kind)
    return {"today": service._today().isoformat(), "total": len(items), "items": items}


@router.get("/export", response_class=Response,
            responses=file_responses(*(kind.split(";")[0] for kind in MEDIA_TYPES.values())))
def export_calendar(
    request: Request, format: str = Query("ics", description="ics | csv | xlsx", max_length=KEY_MAX),
    start: str | None = Query(None, alias="from",
                              max_length=KEY_MAX), end: str | None = Query(None, alias="to", max_length=KEY_MAX),
    org_id: Id | None = None, kind: Key | None = None,
    actor: Actor = Depends(require_user), s: Session = Depends(read_session),
) -> Response:
    fmt = service.parse_format(format)
    body = export(_rows(s, actor, start, end, org_id, kind), fmt, request_lang(request))
    return Response(body, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="compliance-calendar.{fmt}"'})


@router.get("/handlers")
def handlers(actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    items = service.handlers(s, actor)
    return {"total": len(items), "items": items}


@router.post("/people", status_code=201)
def record_people(body: PeopleIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        row = service.record_people(s, actor, body.org_id, body.people, body.as_of)
        return {"id": row.id, "org_id": row.org_id, "people": row.people, "as_of": row.as_of.isoformat(),
                "interval_years": service.routine_interval_years(row.people)}


@router.get("/people/{org_id}")
def people(org_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"org_id": org_id, "items": service.people_history(s, actor, org_id)}


@router.get("/firms")
def firms(actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return {"items": [{"id": f.id, "name": f.name, "uscc": f.uscc} for f in service.list_firms(s, actor)]}


@router.post("/firms", status_code=201)
def create_firm(body: FirmIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        firm = service.create_firm(s, actor, body.name, body.uscc)
        return {"id": firm.id, "name": firm.name, "uscc": firm.uscc}


@router.get("/audits")
def audits(org_id: Id | None = None, open_only: bool = Query(False, alias="open"),
           actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = service.list_audits(s, actor, org_id=org_id, open_only=open_only)
    return {"total": len(rows), "items": [service.audit_dict(s, a) for a in rows]}


@router.post("/audits", status_code=201)
def create_audit(body: AuditIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        if service.parse_kind(body.kind) == service.AuditKind.ORDERED:
            audit = service.order_audit(s, actor, body.org_id, body.ordered_on or service._today(), body.basis or "",
                                        firm_id=body.firm_id)
        else:
            audit = service.open_routine_audit(s, actor, body.org_id, firm_id=body.firm_id)
        return service.audit_dict(s, audit)


@router.get("/audits/{audit_id}")
def get_audit(audit_id: Id, actor: Actor = Depends(require_user),
              s: Session = Depends(read_session)) -> dict[str, Any]:
    return service.audit_dict(s, service.get_audit(s, actor, audit_id))


@router.post("/audits/{audit_id}/assign")
def assign(audit_id: Id, body: AssignIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.audit_dict(s, service.assign_firm(s, actor, audit_id, body.firm_id))


@router.post("/audits/{audit_id}/extend")
def extend(audit_id: Id, body: ExtendIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.audit_dict(s, service.extend_audit(s, actor, audit_id, body.due_on, body.approver, body.reason))


@router.post("/audits/{audit_id}/complete")
def complete(audit_id: Id, body: CompleteIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return service.audit_dict(s, service.complete_audit(s, actor, audit_id, body.completed_on))


@router.get("/reminders")
def reminders(org_id: Id | None = None, actor: Actor = Depends(require_user),
              s: Session = Depends(read_session)) -> dict[str, Any]:
    rows = service.list_reminders(s, actor, org_id=org_id)
    return {"total": len(rows), "items": [service.reminder_dict(s, r) for r in rows]}


@router.post("/reminders/generate")
def generate(actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Make today's reminders now (admins; the daily job does the same)."""
    with get_database().write() as s:
        return service.generate_reminders(s, actor)
