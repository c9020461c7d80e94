"""Classification pages: /console/resources/{id}/classification (items with categories, grade,
evidence, confirm/override forms, the resource grade and a masked preview as a chosen role would
see the rows) and /console/classification (the authority's review list and the 重要数据目录).

Thin adapters over classify.service (which decides who may do what) and, for the preview,
classify.policies.preview (engineer M's masking), used only when it is installed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from ..catalog.model import ResourceItem
from ..classify import service as svc
from ..classify.grading import GRADE_LABELS, get_rules
from ..classify.routes import XLSX
from ..db import get_database
from ..errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ..i18n import N_
from ..params import Id
from ..registry import module_available
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

STATE_CLASS = {svc.UNSUGGESTED: "draft", svc.PENDING: "submitted", svc.STATE_CONFIRMED: "published",
               svc.STATE_OVERRIDDEN: "returned"}
# Who receives the rows by each exit path (DOMAIN §4-§7): the preview shows what that role sees.
VIEWERS = ((N_("共享"), N_("数据使用方（共享）")), (N_("开放下载"), N_("社会公众（开放下载）")),
           (N_("运营结果"), N_("运营方（运营结果）")),
           (N_("控制台预览"), N_("数据专员（控制台预览）")))
PREVIEW_ROWS = 10


def _preview(ctx: WebContext, resource_id: Id, exit_path: str) -> dict[str, Any] | None:
    """Rows as they would leave by `exit_path`, masked by engineer M's policies; None when masking
    is not installed or the viewer may not read rows (insiders only)."""
    if not module_available("yibenzhang.classify.policies"):
        return None
    # deferred: keeps duckdb, sqlglot out of this module's import
    from ..classify import policies

    try:  # the service decides who may read rows (insiders only): anyone else sees no preview
        table = policies.preview(get_database(), ctx.actor, resource_id, exit_path, PREVIEW_ROWS)
    except (PermissionDenied, NotFound):
        return None
    except DomainError as exc:
        return {"error": exc.message_in(ctx.lang), "columns": [], "rows": []}
    columns = []
    for f in table.schema:
        if f.name.startswith("_"):
            continue  # _batch, _row: the zone's bookkeeping
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        columns.append({"name": f.name, "grade": meta.get("grade"), "operator": meta.get("operator")})
    names = [c["name"] for c in columns]
    rows = [[row.get(n) for n in names] for row in table.select(names).to_pylist()] if names else []
    denied = (table.schema.metadata or {}).get(b"denied", b"").decode()
    return {"error": None, "columns": columns, "rows": rows, "denied": [d for d in denied.split(",") if d]}


def _page(request: Request, ctx: WebContext, resource_id: Id, *, errors: dict[int, dict[str, list[str]]] | None = None,
          values: dict[int, dict[str, Any]] | None = None, status_code: int = 200) -> Response:
    with get_database().read() as s:
        view = svc.classification(s, ctx.actor, resource_id)
    rules = get_rules()
    exit_path = request.query_params.get("exit") or VIEWERS[0][0]
    if exit_path not in dict(VIEWERS):
        exit_path = VIEWERS[0][0]
    categories = [(code, rule.name) for code, rule in rules.categories.items()]
    preview = _preview(ctx, view["resource_id"], exit_path)
    if preview is not None and not preview["rows"] and not preview["error"]:
        preview["empty"] = _why_empty(ctx, view, preview, exit_path)
    return render(request, "classify/resource.html", status_code=status_code, c=view, state_class=STATE_CLASS,
                  grades=GRADE_LABELS, categories=categories, viewers=VIEWERS, exit_path=exit_path,
                  preview=preview, errors=errors or {}, values=values or {},
                  done=request.query_params.get("done"))


def _why_empty(ctx: WebContext, view: dict[str, Any], preview: dict[str, Any], exit_path: str) -> str:
    """The real reason the masked preview shows no rows: no data, no confirmed grade (ungraded
    items never leave: fail closed), or the exit's policy lets no item out."""
    rows = svc.rows_available(get_database(), view["resource_id"])
    if rows == 0:
        return ctx.t("尚未归集数据")
    if preview["columns"]:
        return ctx.t("暂无数据可预览。")
    if not any(it["grade"] for it in view["items"]):
        return ctx.t("已归集 {n} 行，但尚无信息项确认分级：未确认分级的信息项一律不提供，请先确认分级。", n=rows)
    return ctx.t("已归集 {n} 行，但按“{exit}”出口的脱敏策略，没有可提供的信息项。", n=rows, exit=ctx.t(exit_path))


@router.get("/console/resources/{resource_id}/classification")
def classification_page(request: Request, resource_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    return _page(request, ctx, resource_id)


@router.post("/console/resources/{resource_id}/classification/suggest")
def suggest(request: Request, resource_id: Id, ctx: WebContext = Depends(csrf_checked),
            form: FormData = Depends(form_data)) -> Response:
    svc.suggest(get_database(), ctx.actor, resource_id, full_scan=bool(form.get("full_scan")))
    return redirect(f"/console/resources/{resource_id}/classification?done=suggest")


@router.post("/console/items/{item_id}/confirm")
def confirm(request: Request, item_id: Id, ctx: WebContext = Depends(csrf_checked)) -> Response:
    with get_database().write() as s:
        decision = svc.confirm(s, ctx.actor, item_id)
    return redirect(f"/console/resources/{decision.resource_id}/classification?done=confirm#item-{item_id}")


@router.post("/console/items/{item_id}/override")
def override(request: Request, item_id: Id, ctx: WebContext = Depends(csrf_checked),
             form: FormData = Depends(form_data)) -> Response:
    grade = str(form.get("grade") or "").strip()
    reason = str(form.get("reason") or "").strip()
    categories = [str(c) for c in form.getlist("categories") if str(c).strip()]
    try:
        with get_database().write() as s:
            decision = svc.override(s, ctx.actor, item_id, grade, categories, reason)
    except ValidationFailed as exc:
        with get_database().read() as s:
            item = s.get(ResourceItem, item_id)
            resource_id = item.resource_id if item else 0
        return _page(request, ctx, resource_id, errors={item_id: field_errors(exc.errors, ctx.lang)},
                     values={item_id: {"grade": grade, "reason": reason, "categories": categories}},
                     status_code=422)
    return redirect(f"/console/resources/{decision.resource_id}/classification?done=override#item-{item_id}")


@router.get("/console/classification")
def review_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    region = request.query_params.get("region") or None
    with get_database().read() as s:
        review = svc.review(s, ctx.actor, region)
        important = svc.important_catalogue(s, ctx.actor, region)
    return render(request, "classify/review.html", review=review, important=important, region=region,
                  state_class=STATE_CLASS)


@router.get("/console/classification/important.xlsx")
def important_xlsx(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    region = request.query_params.get("region") or None
    data, _n = svc.export_important_xlsx(get_database(), ctx.actor, region)

    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="important-data-{region or "all"}.xlsx"'})
