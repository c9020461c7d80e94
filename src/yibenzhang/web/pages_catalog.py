"""Catalogue pages: the portal's browse/search and resource detail, the console's own
catalogue, edit form and review queue. Thin adapters: catalog.service decides who sees and does
what; a page only chooses which buttons to offer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi import Depends, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ..access import Actor, can_edit_catalogue, can_review, require
from ..catalog import review_queue as review
from ..catalog import service
from ..catalog.model import Category, Resource
from ..config import get_settings
from ..db import get_database
from ..enums import DataType, FormatKind, Library, OpenType, Role, ShareMethod, ShareType, UpdateCycle
from ..errors import NotFound, ValidationFailed
from ..i18n import N_
from ..orgs import service as orgs
from ..orgs.model import Org
from ..params import INT32_MAX, Id, parse_id, parse_int
from ..search import query as search
from . import forms, pages_collect, pages_home
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render, web_context

PAGE_SIZE = 20
FILTERS = ("q", "org_id", "region_code", "resource_class", "category_code", "library", "share_type", "open_type",
           "format_kind", "update_cycle", "status", "sort")
# search.query names facets "org" and "region"; their filters are org_id and region_code.
FACET_PARAMS = {"org": "org_id", "region": "region_code"}
SORTS = (("relevance", N_("按相关度")), ("newest", N_("按更新时间")), ("name", N_("按名称")))
FACET_TITLES = {
    "resource_class": N_("资源分类"), "org": N_("提供方"), "region": N_("地区"), "library": N_("所属库"),
    "share_type": N_("共享类型"), "open_type": N_("开放类型"), "format_kind": N_("格式"),
    "update_cycle": N_("更新周期"),
    "status": N_("状态"), "category_code": N_("分类"),
}
STATUS_CLASS = {"草稿": "draft", "待审核": "submitted", "已退回": "returned", "已发布": "published",
                "已停用": "retired"}
ENUMS = {"library": Library, "format_kind": FormatKind, "share_type": ShareType, "share_method": ShareMethod,
         "open_type": OpenType, "update_cycle": UpdateCycle}


# --- search -------------------------------------------------------------------------------------


def _query_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key in FILTERS:
        raw = request.query_params.get(key, "").strip()
        if raw:
            params[key] = parse_id(raw) or raw if key == "org_id" and raw.isdigit() else raw
    if isinstance(params.get("org_id"), str):
        params.pop("org_id")
    return params


def run_search(s: Session, actor: Actor, params: dict[str, Any], limit: int, offset: int) -> Any:
    """search.query.search_resources when present; a plain listing until it lands."""

    if hasattr(search, "search_resources"):
        return search.search_resources(s, actor, search.SearchQuery(**params, limit=limit, offset=offset))
    return _fallback_search(s, actor, params, limit, offset)


def _fallback_search(s: Session, actor: Actor, params: dict[str, Any], limit: int, offset: int) -> Any:
    stmt = service.visible_to(select(Resource), actor)
    for key in ("org_id", "library", "share_type", "open_type", "format_kind", "update_cycle", "status",
                "category_code"):
        if key in params:
            stmt = stmt.where(getattr(Resource, key) == params[key])
    if params.get("q"):
        stmt = stmt.where(Resource.name.contains(params["q"]) | Resource.abstract.contains(params["q"]))
    sub = stmt.subquery()
    total = s.execute(select(func.count()).select_from(sub)).scalar_one()
    facets: dict[str, list[dict[str, Any]]] = {}
    for key in ("library", "share_type", "open_type", "format_kind", "update_cycle", "status", "org_id"):
        col = sub.c[key]
        rows = s.execute(select(col, func.count()).group_by(col).order_by(func.count().desc())).all()
        facets[key.removesuffix("_id")] = [{"value": v, "count": n} for v, n in rows]
    for entry in facets["org"]:
        org = s.get(Org, entry["value"])
        entry["name"] = org.name if org else str(entry["value"])
    rows = s.execute(stmt.order_by(Resource.updated_at.desc(), Resource.id.desc()).limit(limit).offset(offset))
    items = [_summary(s, r) for r in rows.scalars()]
    return SimpleNamespace(total=total, items=items, facets=facets)


def _summary(s: Session, r: Resource) -> dict[str, Any]:
    org = s.get(Org, r.org_id)
    return {"id": r.id, "code": r.code, "name": r.name, "abstract": r.abstract, "org_name": org.name if org else "",
            "status": r.status, "share_type": r.share_type, "open_type": r.open_type,
            "update_cycle": r.update_cycle, "format_kind": r.format_kind}


def catalog_search(request: Request) -> Response:
    ctx = web_context(request)
    params = _query_params(request)
    page = parse_int(request.query_params.get("page"), 1, INT32_MAX // 1000) or 1
    with get_database().read() as s:
        result = run_search(s, ctx.actor, params, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max((result.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    template = "catalog_browse.html" if request.headers.get("HX-Request") else "catalog.html"
    return render(request, template, result=result, params=params, page=page, pages=pages,
                  facet_titles=FACET_TITLES, facet_params=FACET_PARAMS, sorts=SORTS)


# --- detail -------------------------------------------------------------------------------------


def _region_path(s: Session, region_code: str | None) -> str:
    return orgs.get_region_by_code(s, region_code).path if region_code else "/"


def detail(request: Request, resource_id: Id) -> Response:
    ctx = web_context(request)
    diff = None
    with get_database().read() as s:
        resource = service.get_resource(s, ctx.actor, resource_id)
        view = service.view_for(s, ctx.actor, resource)
        versions = service.list_versions(s, ctx.actor, resource.id)
        flags = service.one_source_flags_for(s, resource)
        a = request.query_params.get("diff_a", "")
        b = request.query_params.get("diff_b", "")
        if parse_id(a) is not None:
            diff = service.diff_versions(s, ctx.actor, resource.id, parse_id(a), parse_id(b))
        path = _region_path(s, view.get("region_code"))
        org_id = resource.org_id
        collection = pages_collect.collection_view(s, ctx.actor, resource)
        may_review = ctx.actor.is_authenticated and can_review(ctx.actor, path)
        # The reviewer sees what changed against the published version before deciding.
        review_diff = None
        if may_review and resource.status == "待审核" and resource.published_version is not None:
            review_diff = service.diff_versions(s, ctx.actor, resource.id, resource.published_version, None)
    may_edit = ctx.actor.is_authenticated and can_edit_catalogue(ctx.actor, org_id)
    return render(request, "detail.html", r=view, versions=versions, flags=flags, diff=diff, review_diff=review_diff,
                  diff_a=a, diff_b=b, may_edit=may_edit, may_review=may_review, status_class=STATUS_CLASS,
                  done=request.query_params.get("done"), collection=collection,
                  batch_class=pages_collect.BATCH_CLASS)


# --- console: my catalogue, the form, actions ---------------------------------------------------


def console_home(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    if not ctx.actor.is_government:  # the public's own space is 我的 on the portal, not a government console
        return redirect("/open/my")
    return pages_home.home(request, ctx)  # issue 17: each role's work, with counts


def my_catalog(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    org_ids = sorted(ctx.actor.org_ids(Role.STEWARD)) or sorted(ctx.actor.org_ids())
    groups = []
    with get_database().read() as s:
        for org_id in org_ids:
            rows, total = service.list_resources(s, ctx.actor, org_id=org_id, limit=200)
            groups.append({"org": orgs.get_org(s, org_id), "rows": rows, "total": total})
        # Rendered inside the session: the rows are live ORM objects.
        return render(request, "my_catalog.html", groups=groups, status_class=STATUS_CLASS)


def _form_choices(s: Session, actor: Actor) -> dict[str, Any]:
    if actor.is_admin:
        org_list = orgs.list_orgs(s)
    else:
        org_list = [orgs.get_org(s, i) for i in sorted(actor.org_ids(Role.STEWARD))]
    systems = [(o, service.list_systems(s, o.id)) for o in org_list]
    nodes = list(s.execute(select(Category).order_by(Category.code)).scalars())
    names = {n.code: n.name for n in nodes}
    groups: dict[str, list[Category]] = {}
    for n in nodes:
        if n.level >= 3:
            groups.setdefault(n.code[:3], []).append(n)
    categories = [
        (f"{names.get(code[:1], '')} / {names.get(code, code)}", options) for code, options in groups.items()
    ]
    return {"orgs": org_list, "systems": systems, "categories": categories, "enums": ENUMS,
            "data_types": list(DataType)}


def _render_form(request: Request, s: Session, ctx: WebContext, *, resource_id: Id | None, values: dict[str, Any],
                 rows: list[dict[str, Any]], errors: dict[str, list[str]] | None = None, extra_rows: int = 0,
                 status_code: int = 200) -> Response:
    rows = rows + [forms.blank_row() for _ in range(extra_rows)]
    if not values.get("org_id") and len(ctx.actor.org_ids(Role.STEWARD)) == 1:
        values["org_id"] = str(next(iter(ctx.actor.org_ids(Role.STEWARD))))
    return render(request, "edit.html", status_code=status_code, resource_id=resource_id, v=values, rows=rows,
                  errors=errors or {}, **_form_choices(s, ctx.actor))


def new_form(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    require(ctx.actor.is_admin or bool(ctx.actor.org_ids(Role.STEWARD)), "编目")
    with get_database().read() as s:
        return _render_form(request, s, ctx, resource_id=None, values={}, rows=[], extra_rows=forms.MORE_ROWS)


def _editable(s: Session, actor: Actor, resource_id: Id) -> Resource:
    resource = service.get_resource(s, actor, resource_id)  # 404 when invisible
    require(can_edit_catalogue(actor, resource.org_id), "编目")
    return resource


def edit_form(request: Request, resource_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    with get_database().read() as s:
        resource = _editable(s, ctx.actor, resource_id)
        values, rows = forms.values_from_resource(service.resource_dict(s, resource))
        return _render_form(request, s, ctx, resource_id=resource.id, values=values, rows=rows, extra_rows=2)


def _save(request: Request, ctx: WebContext, form: FormData, resource_id: Id | None) -> Response:
    parsed = forms.parse_form(form)
    db = get_database()
    if form.get("action") == "more_rows":
        with db.read() as s:
            return _render_form(request, s, ctx, resource_id=resource_id, values=parsed.values, rows=parsed.rows,
                                extra_rows=forms.MORE_ROWS)
    errors = list(parsed.errors)
    saved_id = None
    assert parsed.data is not None
    try:
        with db.write() as s:
            if errors:  # still collect every other error for one round trip
                service.validate_resource(s, parsed.data, s.get(Org, parsed.data.org_id) if parsed.data.org_id
                                          else None)
                raise ValidationFailed("validation_failed", "请求的内容不合法", errors=[])
            if resource_id is None:
                saved_id = service.create_resource(s, ctx.actor, parsed.data).id
            else:
                saved_id = service.update_resource(s, ctx.actor, resource_id, parsed.data).id
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if saved_id is not None and not errors:
        return redirect(f"/catalog/{saved_id}?done=saved")
    with db.read() as s:
        return _render_form(request, s, ctx, resource_id=resource_id, values=parsed.values, rows=parsed.rows,
                            errors=field_errors(errors, ctx.lang), extra_rows=1, status_code=422)


def create_submit(request: Request, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    return _save(request, ctx, form, None)


def edit_submit(request: Request, resource_id: Id, ctx: WebContext = Depends(csrf_checked),
                form: FormData = Depends(form_data)) -> Response:
    with get_database().read() as s:
        _editable(s, ctx.actor, resource_id)
    return _save(request, ctx, form, resource_id)


ACTIONS = {
    "submit": lambda s, a, rid, reason: service.submit_resource(s, a, rid),
    "withdraw": lambda s, a, rid, reason: service.withdraw_resource(s, a, rid),
    # From the console a reviewer decides on the resource's page, always with a reason (issue 17).
    "publish": lambda s, a, rid, reason: service.decide_review(s, a, rid, "publish", reason),
    "return": lambda s, a, rid, reason: service.decide_review(s, a, rid, "return", reason),
    "retire": lambda s, a, rid, reason: service.retire_resource(s, a, rid, reason),
}


def resource_action(request: Request, resource_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
                    form: FormData = Depends(form_data)) -> Response:
    if action not in ACTIONS:
        raise NotFound(action, "not_found")
    with get_database().write() as s:
        ACTIONS[action](s, ctx.actor, resource_id, str(form.get("reason") or ""))
    back = str(form.get("back") or "")
    if back == "review":
        return redirect(f"/console/review?done={action}")
    return redirect(f"/catalog/{resource_id}?done={action}")


def review_decide(request: Request, resource_id: Id, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    """The decision form on the resource's page; back to the queue for the next one."""
    decision = str(form.get("decision") or "")
    with get_database().write() as s:
        service.decide_review(s, ctx.actor, resource_id, decision, str(form.get("reason") or ""))
    return redirect(f"/console/review?done={decision}")


REVIEW_PAGE_SIZE = 20


def review_queue(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    q = request.query_params
    page = parse_int(q.get("page"), 1, INT32_MAX // 1000) or 1
    query = review.ReviewQuery(
        org_id=parse_id(q.get("org_id") or ""), region_code=q.get("region_code") or None,
        kind=q.get("kind") or None, state=q.get("state") or "待审核", overdue=q.get("overdue") == "1",
        sort=q.get("sort") or "due", limit=REVIEW_PAGE_SIZE, offset=(page - 1) * REVIEW_PAGE_SIZE)
    with get_database().read() as s:
        result = review.review_page(s, ctx.actor, query)
    pages = max((result.total + REVIEW_PAGE_SIZE - 1) // REVIEW_PAGE_SIZE, 1)
    return render(request, "review.html", result=result, q=query, page=page, pages=pages, kinds=review.KINDS,
                  states=review.STATES, status_class=STATUS_CLASS, done=request.query_params.get("done"),
                  review_workdays=get_settings().rules.catalogue_review_workdays)


def register(router: Any) -> None:
    add = router.add_api_route
    # "/" is the open-data portal's home (web/pages_portal.py)
    add("/catalog", catalog_search, methods=["GET"], include_in_schema=False)
    add("/catalog/{resource_id}", detail, methods=["GET"], include_in_schema=False)
    add("/console", console_home, methods=["GET"], include_in_schema=False)
    add("/console/catalog", my_catalog, methods=["GET"], include_in_schema=False)
    add("/console/catalog/new", new_form, methods=["GET"], include_in_schema=False)
    add("/console/catalog/new", create_submit, methods=["POST"], include_in_schema=False)
    add("/console/catalog/{resource_id}/edit", edit_form, methods=["GET"], include_in_schema=False)
    add("/console/catalog/{resource_id}/edit", edit_submit, methods=["POST"], include_in_schema=False)
    add("/console/catalog/{resource_id}/decide", review_decide, methods=["POST"], include_in_schema=False)
    add("/console/catalog/{resource_id}/{action}", resource_action, methods=["POST"], include_in_schema=False)
    add("/console/review", review_queue, methods=["GET"], include_in_schema=False)
