"""Open-data action pages: apply for a 有条件开放 dataset (/datasets/{id}/apply), my applications
and API keys (/open/my), demands (/demands, /demands/new, /demands/{id}), showcase (/showcase,
/showcase/new), open plans (/open-plans, exportable) and the provider's console (/console/open:
applications with deadlines, demands to answer, showcase to review, the org's open plan).
Thin adapters over open.*, which decide who may read and do what."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from .. import workdays
from ..config import get_settings
from ..db import get_database
from ..enums import Role
from ..errors import DomainError, FieldError, NotFound, ValidationFailed
from ..i18n import N_
from ..open import applications as apps
from ..open import demands as dem
from ..open import keys as key_service
from ..open import plans
from ..open import showcase as show
from ..open.datasets import get_open_resource, is_unconditional
from ..open.model import DEMAND_DOMAINS
from ..open.portal_query import find_dataset
from ..orgs.model import Org
from ..params import Id, parse_int
from ..quality import objections as objection_service
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render, web_context

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

STATE_CLASS = {"待审批": "submitted", "已批准": "published", "已拒绝": "returned", "已撤回": "draft",
               "待答复": "submitted", "已答复": "published", "已逾期": "returned", "待审核": "submitted",
               "已发布": "published", "有效": "published", "已吊销": "retired", "已过期": "retired",
               "已开放": "published", "计划中": "submitted"}
PAGE_SIZE = 50
MY_OBJECTIONS = 50  # the newest objections a person filed, on 我的


def _field(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def _int(raw: str | None) -> int | None:
    return parse_int(raw, 0)


def _error_fields(exc: ValidationFailed, ctx: WebContext, fallback: str) -> dict[str, list[str]]:
    errors = field_errors(exc.errors, ctx.lang)
    return errors or {fallback: [exc.message_in(ctx.lang)]}


# --- applying for a conditional dataset ------------------------------------------------------------


def _apply_form(request: Request, resource_id: str, values: dict[str, Any], errors: dict[str, list[str]],
                status_code: int = 200, problem: str | None = None) -> Response:
    with get_database().read() as s:
        res = get_open_resource(s, resource_id)
        info = {"id": res.id, "code": res.code, "name": res.name, "open_type": res.open_type,
                "open_condition": res.open_condition, "unconditional": is_unconditional(res)}
    return render(request, "open/apply.html", status_code=status_code, resource=info, v=values, errors=errors,
                  agreement=apps.AGREEMENT, agreement_version=apps.AGREEMENT_VERSION, problem=problem,
                  rules=get_settings().rules)


@router.get("/datasets/{resource_id}/apply")
def apply_page(request: Request, resource_id: str, ctx: WebContext = Depends(console_user)) -> Response:
    return _apply_form(request, resource_id, {}, {})


@router.post("/datasets/{resource_id}/apply")
def apply_submit(request: Request, resource_id: str, ctx: WebContext = Depends(csrf_checked),
                 form: FormData = Depends(form_data)) -> Response:
    values = {"purpose": _field(form, "purpose"), "scenario": _field(form, "scenario"),
              "agreement": bool(form.get("agreement"))}
    try:
        with get_database().write() as s:
            app = apps.apply(s, ctx.actor, resource_id, purpose=values["purpose"], scenario=values["scenario"],
                             agreement=values["agreement"])
            app_id = app.id
    except ValidationFailed as exc:
        return _apply_form(request, resource_id, values, _error_fields(exc, ctx, "purpose"), status_code=422)
    except DomainError as exc:
        if exc.status != 409:
            raise
        return _apply_form(request, resource_id, values, {}, status_code=409, problem=exc.message_in(ctx.lang))
    return redirect(f"/open/my?done=apply#application-{app_id}")


# --- my applications and keys --------------------------------------------------------------------


def _my_page(request: Request, ctx: WebContext, new_key: dict[str, Any] | None = None) -> Response:
    with get_database().read() as s:
        rows, _ = apps.list_applications(s, ctx.actor, view="mine", limit=200)
        mine = [apps.application_dict(s, a) for a in rows]
        for a in mine:  # offer the download only where the file holds data (as the dataset page does)
            found = find_dataset(s, a["resource_id"])
            a["downloadable"] = bool(found and found.has_data)
        keys = [key_service.key_dict(k) for k in key_service.keys_of(s, ctx.actor)]
        demands_rows, _ = dem.list_demands(s, requester_id=ctx.actor.user_id or -1, limit=200)
        my_demands = [dem.demand_dict(s, d, ctx.actor) for d in demands_rows]
        entries = [show.entry_dict(s, e) for e in show.mine(s, ctx.actor)]
        filed, _ = objection_service.list_objections(s, ctx.actor, mine=True, limit=MY_OBJECTIONS)
        objections = [objection_service.objection_dict(s, o) for o in filed]
    return render(request, "open/my.html", applications=mine, keys=keys, new_key=new_key, demands=my_demands,
                  showcase=entries, objections=objections, state_class=STATE_CLASS,
                  done=request.query_params.get("done"))


@router.get("/open/my")
def my_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return _my_page(request, ctx)


@router.post("/open/my/applications/{app_id}/{action}")
def my_application_action(request: Request, app_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
                          form: FormData = Depends(form_data)) -> Response:
    with get_database().write() as s:
        if action == "key":
            key, raw = apps.take_key(s, ctx.actor, app_id)
            new_key = {**key_service.key_dict(key), "key": raw}
        elif action == "withdraw":
            apps.withdraw(s, ctx.actor, app_id)
            new_key = None
        else:
            raise NotFound(action, "not_found")
    if new_key is not None:  # shown once, on this response only
        return _my_page(request, ctx, new_key=new_key)
    return redirect(f"/open/my?done={action}")


@router.post("/open/my/keys/{key_id}/revoke")
def my_key_revoke(request: Request, key_id: Id, ctx: WebContext = Depends(csrf_checked)) -> Response:
    with get_database().write() as s:
        key_service.revoke_key(s, ctx.actor, key_id)
    return redirect("/open/my?done=revoke")


# --- demands -------------------------------------------------------------------------------------


@router.get("/demands")
def demands_page(request: Request) -> Response:
    ctx = web_context(request)
    state = request.query_params.get("state") or None
    q = request.query_params.get("q") or None
    page = max(1, _int(request.query_params.get("page")) or 1)
    with get_database().read() as s:
        rows, total = dem.list_demands(s, state=state, q=q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        views = [dem.demand_dict(s, d, ctx.actor) for d in rows]
    return render(request, "open/demands.html", rows=views, total=total, state=state, q=q or "", page=page,
                  pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), states=dem.St.values(),
                  state_class=STATE_CLASS, done=request.query_params.get("done"), rules=get_settings().rules)


def _demand_form(request: Request, values: dict[str, Any], errors: dict[str, list[str]],
                 status_code: int = 200) -> Response:
    return render(request, "open/demand_new.html", status_code=status_code, v=values, errors=errors,
                  domains=DEMAND_DOMAINS, rules=get_settings().rules)


@router.get("/demands/new")
def demand_new(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return _demand_form(request, {}, {})


@router.post("/demands/new")
def demand_create(request: Request, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    values = {k: _field(form, k) for k in ("title", "description", "domain", "contact", "region_code")}
    try:
        with get_database().write() as s:
            d = dem.create_demand(s, ctx.actor, title=values["title"], description=values["description"],
                                  domain=values["domain"] or None, contact=values["contact"] or None,
                                  region_code=values["region_code"] or None)
            demand_id = d.id
    except ValidationFailed as exc:
        return _demand_form(request, values, _error_fields(exc, ctx, "title"), status_code=422)
    return redirect(f"/demands/{demand_id}?done=create")


@router.get("/demands/{demand_id}")
def demand_detail(request: Request, demand_id: Id) -> Response:
    ctx = web_context(request)
    with get_database().read() as s:
        d = dem.get_demand(s, demand_id)
        view = dem.demand_dict(s, d, ctx.actor)
        can_answer = dem.can_answer(s, ctx.actor, d) and d.state in dem.OPEN_STATES
    return render(request, "open/demand.html", d=view, can_answer=can_answer, state_class=STATE_CLASS,
                  done=request.query_params.get("done"), errors={})


@router.post("/demands/{demand_id}/answer")
def demand_answer(request: Request, demand_id: Id, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    try:
        with get_database().write() as s:
            dem.answer_demand(s, ctx.actor, demand_id, _field(form, "answer"))
    except ValidationFailed as exc:
        with get_database().read() as s:
            view = dem.demand_dict(s, dem.get_demand(s, demand_id), ctx.actor)
        return render(request, "open/demand.html", status_code=422, d=view, can_answer=True,
                      state_class=STATE_CLASS, done=None, errors=_error_fields(exc, ctx, "answer"))
    return redirect(f"/demands/{demand_id}?done=answer")


# --- showcase ------------------------------------------------------------------------------------


@router.get("/showcase")
def showcase_page(request: Request) -> Response:
    page = max(1, _int(request.query_params.get("page")) or 1)
    with get_database().read() as s:
        rows, total = show.listed(s, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        views = [show.entry_dict(s, e) for e in rows]
    return render(request, "open/showcase.html", rows=views, total=total, page=page,
                  pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), done=request.query_params.get("done"))


def _showcase_form(request: Request, values: dict[str, Any], errors: dict[str, list[str]],
                   status_code: int = 200) -> Response:
    return render(request, "open/showcase_new.html", status_code=status_code, v=values, errors=errors)


@router.get("/showcase/new")
def showcase_new(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return _showcase_form(request, {"datasets": request.query_params.get("dataset", "")}, {})


@router.post("/showcase/new")
def showcase_submit(request: Request, ctx: WebContext = Depends(csrf_checked),
                    form: FormData = Depends(form_data)) -> Response:
    values = {k: _field(form, k) for k in ("name", "description", "url", "datasets")}
    ids = [p for p in values["datasets"].replace("，", ",").replace(" ", ",").split(",") if p.strip()]
    try:
        with get_database().write() as s:
            show.submit(s, ctx.actor, name=values["name"], description=values["description"],
                        url=values["url"] or None, resource_ids=ids)
    except ValidationFailed as exc:
        errors = _error_fields(exc, ctx, "name")
        if "resource_ids" in errors:
            errors["datasets"] = errors.pop("resource_ids")
        return _showcase_form(request, values, errors, status_code=422)
    return redirect("/open/my?done=showcase")


# --- open plans ----------------------------------------------------------------------------------


def _export(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...], fmt: str, name: str) -> Response:
    from urllib.parse import quote

    data = plans.export(rows, columns, fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"open-{fmt}.{fmt}\"; filename*=UTF-8''{quote(name)}.{fmt}"})


@router.get("/open-plans")
def open_plans_page(request: Request) -> Response:
    year = _int(request.query_params.get("year")) or workdays.today().year
    org_id = _int(request.query_params.get("org"))
    fmt = request.query_params.get("format")
    with get_database().read() as s:
        rows = plans.plan_rows(s, year=year, org_id=org_id)
        found = s.get(Org, org_id) if org_id else None
        org = {"id": found.id, "name": found.name} if found else None
        if fmt:
            label = f"{year}年度开放计划" + (f"-{org['name']}" if org else "")
            return _export(rows, plans.PLAN_COLUMNS, fmt, label)
        orgs = plans.plan_orgs(s, year)
        years = sorted({*plans.plan_years(s), workdays.today().year}, reverse=True)
    return render(request, "open/plans.html", rows=rows, year=year, years=years, orgs=orgs, org=org,
                  state_class=STATE_CLASS)


@router.get("/open-plans/catalogue")
def open_catalogue(request: Request) -> Response:
    org_id = _int(request.query_params.get("org"))
    if org_id is None:
        raise NotFound("机构", "org_not_found")
    fmt = request.query_params.get("format")
    with get_database().read() as s:
        rows = plans.catalogue_rows(s, org_id)
        found = s.get(Org, org_id)
        org = {"id": found.id, "name": found.name} if found else None
    if fmt:
        return _export(rows, plans.CATALOGUE_COLUMNS, fmt, f"开放目录-{org['name'] if org else org_id}")
    return render(request, "open/catalogue.html", rows=rows, org=org)


# --- the provider's console ----------------------------------------------------------------------


TABS = (("todo", N_("待我审批")), ("overdue", N_("已逾期")), ("all", N_("全部")))


@router.get("/console/open")
def console_open(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    tab = request.query_params.get("tab") or "todo"
    if tab not in dict(TABS):
        tab = "all"
    actor = ctx.actor
    year = workdays.today().year
    with get_database().read() as s:
        kwargs: dict[str, Any] = {"view": "provider", "limit": 200}
        if tab == "todo":
            kwargs["state"] = apps.St.PENDING.value
        elif tab == "overdue":
            kwargs["overdue"] = True
        rows, total = apps.list_applications(s, actor, **kwargs)
        applications = [apps.application_dict(s, a, with_text=True) for a in rows]
        demands = [dem.demand_dict(s, d, actor) for d in dem.demands_to_answer(s, actor)]
        reviews = [show.entry_dict(s, e) for e in show.to_review(s, actor)]
        steward_orgs = [{"id": o.id, "name": o.name} for o in
                        (s.get(Org, i) for i in sorted(actor.org_ids(Role.STEWARD))) if o is not None]
        plan_rows = [r for o in steward_orgs for r in plans.plan_rows(s, year=year, org_id=o["id"])]
        org_resources = [{"id": r.id, "name": r.name, "org_id": r.org_id}
                         for r in plans.org_resources(s, [o["id"] for o in steward_orgs])]
    return render(request, "open/console.html", tab=tab, tabs=TABS, applications=applications, total=total,
                  demands=demands, reviews=reviews, steward_orgs=steward_orgs,
                  plan_rows=plan_rows, org_resources=org_resources, year=year, state_class=STATE_CLASS,
                  done=request.query_params.get("done"), rules=get_settings().rules, errors={}, v={})


@router.get("/console/open/applications/{app_id}")
def console_application(request: Request, app_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    with get_database().read() as s:
        app = apps.get_application(s, ctx.actor, app_id)
        view = apps.application_dict(s, app)
        can_decide = apps.can_decide(ctx.actor, app) and app.state == apps.St.PENDING.value
    return render(request, "open/application.html", a=view, can_decide=can_decide, state_class=STATE_CLASS,
                  done=request.query_params.get("done"), errors={})


@router.post("/console/open/applications/{app_id}/decide")
def console_decide(request: Request, app_id: Id, ctx: WebContext = Depends(csrf_checked),
                   form: FormData = Depends(form_data)) -> Response:
    try:
        with get_database().write() as s:
            apps.decide(s, ctx.actor, app_id, _field(form, "decision"), _field(form, "reason"))
    except ValidationFailed as exc:
        with get_database().read() as s:
            view = apps.application_dict(s, apps.get_application(s, ctx.actor, app_id))
        return render(request, "open/application.html", status_code=422, a=view, can_decide=True,
                      state_class=STATE_CLASS, done=None, errors=_error_fields(exc, ctx, "reason"))
    return redirect(f"/console/open/applications/{app_id}?done=decide")


@router.post("/console/open/showcase/{entry_id}/review")
def console_review(request: Request, entry_id: Id, ctx: WebContext = Depends(csrf_checked),
                   form: FormData = Depends(form_data)) -> Response:
    with get_database().write() as s:
        show.review(s, ctx.actor, entry_id, _field(form, "decision"), _field(form, "reason") or None)
    return redirect("/console/open?done=review#showcase")


@router.post("/console/open/plans")
def console_plan_add(request: Request, ctx: WebContext = Depends(csrf_checked),
                     form: FormData = Depends(form_data)) -> Response:
    planned = _field(form, "planned_date")
    try:
        when = date.fromisoformat(planned) if planned else None
    except ValueError:
        raise ValidationFailed("validation_failed", "请求的内容不合法", errors=[
            FieldError("planned_date", "date", "日期格式应为YYYY-MM-DD", {})]) from None
    with get_database().write() as s:
        plans.add_entry(s, ctx.actor, org_id=_int(_field(form, "org_id")) or 0,
                        year=_int(_field(form, "year")) or workdays.today().year,
                        planned_quarter=_int(_field(form, "planned_quarter")) or 0,
                        resource_id=_int(_field(form, "resource_id")), title=_field(form, "title") or None,
                        open_type=_field(form, "open_type") or None, planned_date=when,
                        note=_field(form, "note") or None)
    return redirect("/console/open?done=plan#plan")


@router.post("/console/open/plans/{entry_id}/remove")
def console_plan_remove(request: Request, entry_id: Id, ctx: WebContext = Depends(csrf_checked)) -> Response:
    with get_database().write() as s:
        plans.remove_entry(s, ctx.actor, entry_id)
    return redirect("/console/open?done=plan#plan")
