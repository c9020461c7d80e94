"""The compliance calendar console page /console/calendar: duties by due date with their status,
reminders, handlers and their people counts, audits with firm, extension and completion forms,
and the exports. Thin adapters over assess.calendar, which decides who may read and do what."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from ..assess import calendar as svc
from ..config import get_settings
from ..db import get_database
from ..errors import NotFound
from ..params import JSON_INT_MAX, Id, parse_int
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

STATUS_CLASS = {"已完成": "published", "已逾期": "returned", "即将到期": "submitted", "未到期": "draft"}


def _int(raw: Any) -> int | None:
    return parse_int(str(raw), -JSON_INT_MAX, JSON_INT_MAX)


@router.get("/console/calendar")
def calendar_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    q = request.query_params
    kind = q.get("kind") or None
    status = q.get("status") or None
    today = svc._today()
    with get_database().read() as s:
        rows = [e.as_dict(today) for e in svc.entries(
            s, ctx.actor, start=svc.parse_day("from", q.get("from")), end=svc.parse_day("to", q.get("to")),
            kind=kind, today=today)]
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        if status:
            rows = [r for r in rows if r["status"] == status]
        reminders = [svc.reminder_dict(s, r) for r in svc.list_reminders(s, ctx.actor, limit=50)]
        handlers = svc.handlers(s, ctx.actor)
        audits = [svc.audit_dict(s, a, today) for a in svc.list_audits(s, ctx.actor)]
        firms = [{"id": f.id, "name": f.name} for f in svc.list_firms(s, ctx.actor)]
        orgs = svc.form_orgs(s, ctx.actor)
    manageable = {o["id"] for o in orgs["manage"]}
    return render(request, "calendar/index.html", rows=rows, counts=counts, kinds=svc.DutyKind.values(),
                  statuses=svc.DutyStatus.values(), kind=kind, status=status, reminders=reminders,
                  handlers=handlers, audits=audits, firms=firms, orgs=orgs, manageable=manageable,
                  may_firm=svc._may_manage_firms(ctx.actor), status_class=STATUS_CLASS, today=today.isoformat(),
                  rules=get_settings().rules, done=q.get("done"), query=request.url.query)


@router.post("/console/calendar/people")
def record_people(request: Request, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    people = _int(form.get("people"))
    with get_database().write() as s:
        svc.record_people(s, ctx.actor, _int(form.get("org_id")) or 0, people if people is not None else -1,
                          svc.parse_day("as_of", str(form.get("as_of") or "")))
    return redirect("/console/calendar?done=people")


@router.post("/console/calendar/firms")
def create_firm(request: Request, ctx: WebContext = Depends(csrf_checked),
                form: FormData = Depends(form_data)) -> Response:
    with get_database().write() as s:
        svc.create_firm(s, ctx.actor, str(form.get("name") or ""), str(form.get("uscc") or "") or None)
    return redirect("/console/calendar?done=firm")


@router.post("/console/calendar/audits")
def create_audit(request: Request, ctx: WebContext = Depends(csrf_checked),
                 form: FormData = Depends(form_data)) -> Response:
    org_id = _int(form.get("org_id")) or 0
    firm_id = _int(form.get("firm_id") or "")
    with get_database().write() as s:
        if svc.parse_kind(str(form.get("kind") or "routine")) == svc.AuditKind.ORDERED:
            svc.order_audit(s, ctx.actor, org_id, svc.parse_day("ordered_on", str(form.get("ordered_on") or ""))
                            or svc._today(), str(form.get("basis") or ""), firm_id=firm_id)
        else:
            svc.open_routine_audit(s, ctx.actor, org_id, firm_id=firm_id)
    return redirect("/console/calendar?done=audit")


@router.post("/console/calendar/audits/{audit_id:id}/{action}")
def audit_action(request: Request, audit_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
                 form: FormData = Depends(form_data)) -> Response:
    def field(name: str) -> str:
        return str(form.get(name) or "").strip()

    with get_database().write() as s:
        if action == "assign":
            svc.assign_firm(s, ctx.actor, audit_id, _int(field("firm_id")) or 0)
        elif action == "extend":
            due = svc.parse_day("due_on", field("due_on"))
            if due is None:
                due = svc.get_audit(s, ctx.actor, audit_id).due_on  # refused below as not later
            svc.extend_audit(s, ctx.actor, audit_id, due, field("approver"), field("reason"))
        elif action == "complete":
            svc.complete_audit(s, ctx.actor, audit_id, svc.parse_day("completed_on", field("completed_on")))
        else:
            raise NotFound(action, "not_found")
    return redirect(f"/console/calendar?done={action}#audit-{audit_id}")
