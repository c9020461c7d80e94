"""Sharing console pages: /console/share (task lists with deadlines, our requests, grants on both
sides), /console/share/{id} (detail with the seal and its verification, decide, withdraw),
/share/new?resource=ID (the request form), /console/share/grants/{id} (a grant: deliveries to
request and download once, the verification form, revoke, its usage) and /console/share/usage
(calls per day per grant, resource or org: a table, and an ECharts chart when JS runs).
Thin adapters over share.requests, share.grants and share.console, which decide who may read and
do what; a page only chooses which buttons to offer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from .. import workdays
from ..access import can_review
from ..catalog import service as catalog
from ..config import get_settings
from ..db import get_database
from ..enums import Role
from ..errors import FieldError, NotFound, ValidationFailed
from ..i18n import N_
from ..orgs import service as org_service
from ..params import Id, parse_int
from ..share import approval_form, service_rows, verify
from ..share import console as share_console
from ..share import grants as G
from ..share import requests as svc
from ..share import seal as sealing
from . import auth
from .auth import console_user, csrf_checked, form_data
from .documents import qr_svg
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

TABS = (("todo", N_("待我审批")), ("mine", N_("我方申请")), ("overdue", N_("已逾期")), ("all", N_("全部")))
STATE_CLASS = {"待提供方审批": "submitted", "待主管部门审核": "submitted", "已批准": "published",
               "已拒绝": "returned", "已撤回": "draft"}
PAGE_SIZE = 20


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


@router.get("/console/share")
def share_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    consumer = bool(ctx.actor.org_ids(Role.CONSUMER, Role.STEWARD))
    tab = request.query_params.get("tab") or ("mine" if consumer and not ctx.actor.org_ids(Role.APPROVER)
                                              and not ctx.actor.reviewer_paths() else "todo")
    if tab not in dict(TABS):
        tab = "all"
    q = request.query_params
    page = parse_int(q.get("page"), 1, 100_000) or 1
    kwargs: dict[str, Any] = {"limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE,
                              "org_id": parse_int(q.get("org_id"), 1, 2**53), "state": q.get("state") or None,
                              "sort": "due" if q.get("sort", "due") == "due" else None,
                              "region_code": q.get("region_code") or None, "mode": q.get("mode") or None}
    if q.get("overdue") == "1":
        kwargs["overdue"] = True
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
        my_grants, other_grants = share_console.split_grants(s, ctx.actor)
        org_choices = [(o.id, o.name) for o in org_service.list_orgs(s)]
        region_choices = [(r.code, r.name) for r in org_service.list_regions(s)]
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render(request, "share/list.html", rows=views, total=total, tab=tab, tabs=TABS, page=page, pages=pages,
                  f=kwargs, org_choices=org_choices, states=[s.value for s in svc.St], region_choices=region_choices,
                  modes=svc.ShareMode.values(),
                  grants=my_grants if consumer or my_grants else None, other_grants=other_grants,
                  state_class=STATE_CLASS, done=request.query_params.get("done"), rules=get_settings().rules)


@router.get("/console/share/{request_id:id}")
def share_detail(request: Request, request_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    with get_database().read() as s:
        req = svc.get_request(s, ctx.actor, request_id)
        view = svc.request_dict(s, req)
        view["actions"] = _actions(s, ctx, req, view)
        view |= service_rows.servable_items(s, req.resource_id, req.items, f"share-request:{req.id}")
        seal_check = sealing.verify(s, view["seal"]) if view["seal"] else None
    return render(request, "share/detail.html", r=view, seal_check=seal_check,
                  state_class=STATE_CLASS, done=request.query_params.get("done"))


def _verify_url(request: Request, request_id: int, code: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/verify/share/{request_id}/{code}"


@router.get("/console/share/{request_id:id}/form")
def share_form(request: Request, request_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    """The printable 审批单 (issue 17)."""
    with get_database().read() as s:
        view = approval_form.approval_form(s, ctx.actor, request_id)
    url = _verify_url(request, view["id"], view["check_code"]) if view.get("check_code") else None
    return render(request, "share/form.html", r=view, verify_url=url, qr=qr_svg(url) if url else None)


@router.get("/console/share/{request_id:id}/seal.json")
def share_seal_file(request: Request, request_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    """The sealed document as a file, for /api/v1/seals/verify or `ybz share verify-seal`."""
    with get_database().read() as s:
        sealed = svc.get_request(s, ctx.actor, request_id).sealed
    if not sealed:
        raise NotFound(f"共享申请 {request_id} 的印章", "seal_not_found")
    return JSONResponse(sealed, headers={"Content-Disposition": f'attachment; filename="share-{request_id}-seal.json"'})


@router.get("/verify/share/{request_id:id}/{code}")
def share_form_check(request: Request, request_id: Id, code: str) -> Response:
    """The public check of a printed 审批单: anyone with its check code, no account needed."""
    with get_database().read() as s:
        view = approval_form.public_check(s, request_id, code)
    return render(request, "share/verify.html", v=view)


@router.post("/console/share/{request_id:id}/{action}")
def share_action(request: Request, request_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
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
    today = workdays.today()
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


# --- grants: deliveries, verification, revocation, usage ----------------------------------------

USAGE_DAYS = 30
PREVIEW_ROWS = 10
BY_LABELS = (("grant", N_("按授权")), ("resource", N_("按信息资源")), ("org", N_("按使用单位")))


def _grant_page(request: Request, ctx: WebContext, grant_id: Id, *, status_code: int = 200,
                verify_form: dict[str, Any] | None = None, verify_result: dict[str, bool] | None = None,
                errors: dict[str, list[str]] | None = None) -> Response:
    db = get_database()
    G.USAGE.flush(db)  # the calls still in this process's buffer count too
    with db.read() as s:
        grant = G.get_grant(s, ctx.actor, grant_id)
        view = share_console.grant_views(s, ctx.actor, [grant])[0] | service_rows.servable(s, grant)
        deliveries = share_console.deliveries(s, ctx.actor, grant_id) if grant.mode == "文件" else []
        usage = share_console.usage_series(s, ctx.actor, by="grant", days=USAGE_DAYS, grant_id=grant_id)
    usable = view["status"] == G.ACTIVE and view["grantee"]
    preview = None
    if usable and view["mode"] == "接口" and request.query_params.get("preview"):
        # An explicit action (a call under the grant, counted like any other): granted items, masked.
        preview = service_rows.rows(db, ctx.actor, grant_id, {}, limit=PREVIEW_ROWS)
    return render(request, "share/grant.html", status_code=status_code, g=view, deliveries=deliveries,
                  usage=usage, usable=usable, formats=service_rows.FORMATS, preview=preview,
                  vf=verify_form or {}, result=verify_result, errors=errors or {},
                  done=request.query_params.get("done"))


@router.get("/console/share/grants/{grant_id:id}")
def grant_page(request: Request, grant_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    return _grant_page(request, ctx, grant_id)


@router.post("/console/share/grants/{grant_id:id}/revoke")
def revoke_grant(request: Request, grant_id: Id, ctx: WebContext = Depends(csrf_checked),
                 form: FormData = Depends(form_data)) -> Response:
    with get_database().write() as s:
        G.revoke_grant(s, ctx.actor, grant_id, str(form.get("reason") or ""))
    return redirect(f"/console/share/grants/{grant_id}?done=revoke")


@router.post("/console/share/grants/{grant_id:id}/deliveries")
def request_delivery(request: Request, grant_id: Id, ctx: WebContext = Depends(csrf_checked),
                     form: FormData = Depends(form_data)) -> Response:
    service_rows.request_delivery(get_database(), ctx.actor, grant_id, str(form.get("format") or "csv"))
    return redirect(f"/console/share/grants/{grant_id}?done=delivery")


@router.get("/console/share/deliveries/{delivery_id:id}/download")
def download_delivery(request: Request, delivery_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    data, name = service_rows.download(get_database(), ctx.actor, delivery_id)
    kind = "text/csv; charset=utf-8" if name.endswith(".csv") else "application/vnd.apache.parquet"
    return Response(data, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/console/share/grants/{grant_id:id}/verify")
def verify_claims(request: Request, grant_id: Id, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    """The verification form: one key item and value, claimed values for any other granted items;
    the answer is match / no-match per claimed item, shown on the grant's page."""
    key_item = str(form.get("key_item") or "").strip()
    key_value = str(form.get("key_value") or "").strip()
    claims = {str(k)[len("claim."):]: str(v).strip() for k, v in form.multi_items()
              if str(k).startswith("claim.") and str(v).strip() and str(k)[len("claim."):] != key_item}
    kept = {"key_item": key_item, "key_value": key_value, "claims": claims}
    try:
        got = verify.verify(get_database(), ctx.actor, grant_id, {key_item: key_value} if key_item else {}, claims)
    except ValidationFailed as exc:
        return _grant_page(request, ctx, grant_id, status_code=422, verify_form=kept,
                           errors=field_errors(exc.errors, ctx.lang))
    return _grant_page(request, ctx, grant_id, verify_form=kept, verify_result=got["match"])


@router.get("/console/share/usage")
def usage_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    by = request.query_params.get("by") or "grant"
    by = by if by in share_console.SERIES_BY else "grant"
    raw_days = request.query_params.get("days") or str(USAGE_DAYS)
    asked = parse_int(raw_days, 0)
    days = min(max(asked, 1), share_console.MAX_DAYS) if asked is not None else USAGE_DAYS
    db = get_database()
    G.USAGE.flush(db)
    with db.read() as s:
        usage = share_console.usage_series(s, ctx.actor, by=by, days=days)
    busy = [(i, day) for i, day in enumerate(usage["days"]) if any(x["data"][i] for x in usage["series"])]
    chart = {"days": usage["days"], "series": [{"name": x["name"], "data": x["data"]} for x in usage["series"]]}
    return render(request, "share/usage.html", usage=usage, busy=busy, by=by, by_labels=BY_LABELS, days=days,
                  chart=chart)
