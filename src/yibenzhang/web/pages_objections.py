"""Objection pages: /console/objections (lists with deadlines and actions) and
/objections/new?resource=ID (the form). Thin adapters over quality.objections, which decides who
may read and do what; a page only chooses which buttons to offer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from ..access import can_review
from ..catalog import service as catalog
from ..config import get_settings
from ..db import get_database
from ..enums import Role
from ..errors import NotFound, ValidationFailed
from ..i18n import N_
from ..params import JSON_INT_MAX, Id, parse_id, parse_int
from ..quality import objections as svc
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

TABS = (("todo", N_("待我处理")), ("mine", N_("我提出的")), ("overdue", N_("已逾期")), ("all", N_("全部")))
STATE_CLASS = {"待答复": "submitted", "已受理": "submitted", "已升级": "returned", "已驳回": "retired",
               "已更正": "published", "已裁定": "published", "已撤回": "draft"}
PAGE_SIZE = 50


def _actions(s: Any, ctx: WebContext, obj: svc.Objection, view: dict[str, Any]) -> list[str]:
    """Buttons to offer; the services check again on POST."""
    actor, state = ctx.actor, view["state"]
    provider = actor.is_admin or actor.acts_for_org(obj.org_id, Role.STEWARD)
    out = []
    if provider and state == "待答复":
        out.append("answer")
    upheld = state == "已裁定" and obj.decision == svc.Decision.UPHOLD.value
    if provider and (state in ("已受理", "已升级") or upheld):
        out.append("correct")
    if state == "已升级" and can_review(actor, svc._region_path(s, obj.region_id)):
        out.append("decide")
    if actor.user_id is not None and actor.user_id == obj.filed_by_id and state in ("待答复", "已受理", "已升级"):
        out.append("withdraw")
    return out


@router.get("/console/objections")
def objections_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    tab = request.query_params.get("tab") or ("todo" if ctx.actor.is_government else "mine")
    if tab not in dict(TABS):
        tab = "all"
    with get_database().read() as s:
        kwargs: dict[str, Any] = {"limit": PAGE_SIZE}
        if tab == "mine":
            kwargs["mine"] = True
        elif tab == "overdue":
            kwargs["overdue"] = True
        elif tab == "todo":
            kwargs["open_only"] = True
        rows, total = svc.list_objections(s, ctx.actor, **kwargs)
        views = []
        for obj in rows:
            view = svc.objection_dict(s, obj)
            view["actions"] = _actions(s, ctx, obj, view)
            views.append(view)
    if tab == "todo":  # what waits for me as provider or authority (withdrawing my own is not a duty)
        views = [v for v in views if set(v["actions"]) - {"withdraw"}]
        total = len(views)
    return render(request, "objections/list.html", rows=views, total=total, tab=tab, tabs=TABS,
                  state_class=STATE_CLASS, done=request.query_params.get("done"), rules=get_settings().rules)


ACTS = {
    "answer": lambda s, a, oid, f: svc.answer_objection(s, a, oid, f("answer"), f("reason") or None),
    "correct": lambda s, a, oid, f: svc.correct_objection(s, a, oid, f("note"), _int(f("batch_id"))),
    "withdraw": lambda s, a, oid, f: svc.withdraw_objection(s, a, oid),
    "decide": lambda s, a, oid, f: svc.decide_objection(s, a, oid, f("decision"), f("reason")),
}


def _int(raw: str) -> int | None:
    return parse_id(raw)


@router.post("/console/objections/{objection_id}/{action}")
def objection_action(request: Request, objection_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
                     form: FormData = Depends(form_data)) -> Response:
    if action not in ACTS:
        raise NotFound(action, "not_found")

    def field(name: str) -> str:
        return str(form.get(name) or "").strip()

    with get_database().write() as s:
        ACTS[action](s, ctx.actor, objection_id, field)
    tab = field("tab") or "all"
    return redirect(f"/console/objections?tab={tab}&done={action}")


def _form(request: Request, ctx: WebContext, resource_ref: str, values: dict[str, Any],
          errors: dict[str, list[str]], status_code: int = 200) -> Response:
    with get_database().read() as s:
        resource = catalog.get_resource(s, ctx.actor, resource_ref)
        items = [{"name": it.name, "is_key": it.is_key} for it in resource.items]
        info = {"id": resource.id, "code": resource.code, "name": resource.name}
    return render(request, "objections/new.html", status_code=status_code, resource=info, items=items,
                  v=values, errors=errors)


@router.get("/objections/new")
def new_objection(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    ref = request.query_params.get("resource", "").strip()
    if not ref:
        raise NotFound("信息资源", "resource_not_found")
    return _form(request, ctx, ref, {"items": []}, {})


@router.post("/objections/new")
def file_objection(request: Request, ctx: WebContext = Depends(csrf_checked),
                   form: FormData = Depends(form_data)) -> Response:
    ref = str(form.get("resource") or "").strip()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in ("claim", "expected", "row_number",
                                                                           "batch_id")}
    values["items"] = [str(x) for x in form.getlist("items")]
    keys = {str(k)[4:]: str(v).strip() for k, v in form.items() if str(k).startswith("key.") and str(v).strip()}
    values["keys"] = keys
    row_number = values["row_number"]
    try:
        with get_database().write() as s:
            svc.file_objection(
                s, ctx.actor, ref, claim=values["claim"], expected=values["expected"] or None,
                items=values["items"], row_key=keys or None, batch_id=_int(values["batch_id"]),
                row_number=parse_int(row_number, -JSON_INT_MAX, JSON_INT_MAX),
            )
    except ValidationFailed as exc:
        return _form(request, ctx, ref, values, field_errors(exc.errors, ctx.lang), status_code=422)
    return redirect("/console/objections?tab=mine&done=file")
