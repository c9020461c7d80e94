"""Sharing console pages: /console/share (task lists with deadlines, my requests, my grants),
/console/share/{id} (detail with the seal, decide, withdraw) and /share/new?resource=ID (the
request form). Thin adapters over share.requests (and share.grants when installed), which decide
who may read and do what; a page only chooses which buttons to offer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from ..access import can_review
from ..catalog import service as catalog
from ..config import get_settings
from ..db import get_database
from ..enums import Role
from ..errors import NotFound, ValidationFailed
from ..registry import load, module_available
from ..share import requests as svc
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

TABS = (("todo", "待我审批"), ("mine", "我方申请"), ("overdue", "已逾期"), ("all", "全部"))
STATE_CLASS = {"待提供方审批": "submitted", "待主管部门审核": "submitted", "已批准": "published",
               "已拒绝": "returned", "已撤回": "draft"}
PAGE_SIZE = 50


def _actions(s: Any, ctx: WebContext, req: svc.ShareRequest, view: dict[str, Any]) -> list[str]:
    """Buttons to offer; the services check again on POST."""
    actor, out = ctx.actor, []
    authority = can_review(actor, svc._region_path(s, req.region_id))
    if (req.state == svc.St.PROVIDER.value and (actor.acts_for_org(req.provider_org_id, Role.APPROVER)
                                               or (authority and view["escalated"]))) \
            or (req.state == svc.St.AUTHORITY.value and authority):
        out.append("decide")
    if req.state in svc.PENDING and actor.acts_for_org(req.consumer_org_id, Role.CONSUMER, Role.STEWARD):
        out.append("withdraw")
    return out


def _grants(s: Any, ctx: WebContext) -> list[dict[str, Any]] | None:
    grants_for, grant_dict = load("yibenzhang.share.grants:grants_for"), load("yibenzhang.share.grants:grant_dict")
    orgs = ctx.actor.org_ids(Role.CONSUMER, Role.STEWARD)
    if grants_for is None or grant_dict is None or not orgs:
        return None
    return [grant_dict(g) for org in sorted(orgs) for g in grants_for(s, ctx.actor, org_id=org)]


@router.get("/console/share")
def share_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    consumer = bool(ctx.actor.org_ids(Role.CONSUMER, Role.STEWARD))
    tab = request.query_params.get("tab") or ("mine" if consumer and not ctx.actor.org_ids(Role.APPROVER)
                                              and not ctx.actor.reviewer_paths() else "todo")
    if tab not in dict(TABS):
        tab = "all"
    kwargs: dict[str, Any] = {"limit": PAGE_SIZE}
    if tab == "mine":
        kwargs["view"] = "mine"
    elif tab == "todo":
        kwargs["view"] = "to_decide"
    elif tab == "overdue":
        kwargs["overdue"] = True
    with get_database().read() as s:
        rows, total = svc.list_requests(s, ctx.actor, **kwargs)
        views = []
        for req in rows:
            view = svc.request_dict(s, req)
            view["actions"] = _actions(s, ctx, req, view)
            views.append(view)
        grants = _grants(s, ctx)
    return render(request, "share/list.html", rows=views, total=total, tab=tab, tabs=TABS, grants=grants,
                  state_class=STATE_CLASS, done=request.query_params.get("done"), rules=get_settings().rules,
                  verify_link="/docs#/" if module_available("yibenzhang.share.grant_routes") else None)


@router.get("/console/share/{request_id}")
def share_detail(request: Request, request_id: int, ctx: WebContext = Depends(console_user)) -> Response:
    import json

    with get_database().read() as s:
        req = svc.get_request(s, ctx.actor, request_id)
        view = svc.request_dict(s, req)
        view["actions"] = _actions(s, ctx, req, view)
    sealed = json.dumps(view["seal"], ensure_ascii=False, indent=2) if view["seal"] else None
    return render(request, "share/detail.html", r=view, sealed=sealed, state_class=STATE_CLASS,
                  done=request.query_params.get("done"))


@router.post("/console/share/{request_id}/{action}")
def share_action(request: Request, request_id: int, action: str, ctx: WebContext = Depends(csrf_checked),
                 form: FormData = Depends(form_data)) -> Response:
    def field(name: str) -> str:
        return str(form.get(name) or "").strip()

    with get_database().write() as s:
        if action == "decide":
            svc.decide_request(s, ctx.actor, request_id, field("decision"), field("reason"))
        elif action == "withdraw":
            svc.withdraw_request(s, ctx.actor, request_id)
        else:
            raise NotFound(action, "not_found")
    return redirect(f"/console/share/{request_id}?done={action}")


FIELDS = ("mode", "purpose", "basis", "scenario", "period_from", "period_to", "region_scope", "extra_items_reason")


def _form(request: Request, ctx: WebContext, ref: str, values: dict[str, Any], errors: dict[str, list[str]],
          status_code: int = 200) -> Response:
    with get_database().read() as s:
        res = catalog.get_resource(s, ctx.actor, ref)
        items = [{"name": it.name, "is_key": it.is_key, "grade": it.grade} for it in res.items]
        info = {"id": res.id, "code": res.code, "name": res.name, "share_type": res.share_type,
                "share_condition": res.share_condition}
    return render(request, "share/new.html", status_code=status_code, resource=info, items=items, v=values,
                  errors=errors, modes=svc.ShareMode.values())


@router.get("/share/new")
def new_request(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    ref = request.query_params.get("resource", "").strip()
    if not ref:
        raise NotFound("信息资源", "resource_not_found")
    today = date.today()
    return _form(request, ctx, ref, {"items": [], "mode": "接口", "period_from": today.isoformat(),
                                     "period_to": (today + timedelta(days=365)).isoformat()}, {})


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@router.post("/share/new")
def create_request(request: Request, ctx: WebContext = Depends(csrf_checked),
                   form: FormData = Depends(form_data)) -> Response:
    from ..errors import FieldError

    ref = str(form.get("resource") or "").strip()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in FIELDS}
    values["items"] = [str(x) for x in form.getlist("items")]
    start, end = _date(values["period_from"]), _date(values["period_to"])
    try:
        if start is None or end is None:
            raise ValidationFailed("validation_failed", "请求的内容不合法", errors=[
                FieldError("period_from" if start is None else "period_to", "date", "日期格式应为YYYY-MM-DD", {})])
        with get_database().write() as s:
            req = svc.create_request(
                s, ctx.actor, ref, items=values["items"], mode=values["mode"], purpose=values["purpose"],
                basis=values["basis"], scenario=values["scenario"], period_from=start, period_to=end,
                region_scope=values["region_scope"] or None, extra_items_reason=values["extra_items_reason"] or None)
            rid = req.id
    except ValidationFailed as exc:
        errors = field_errors(exc.errors, ctx.lang)
        if not exc.errors:  # minimum necessary: a request-level error shown beside the reason field
            errors = {"extra_items_reason": [exc.message_in(ctx.lang)]}
        return _form(request, ctx, ref, values, errors, status_code=422)
    return redirect(f"/console/share/{rid}?done=create")
