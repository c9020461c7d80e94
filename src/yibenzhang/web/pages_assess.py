"""The assessment dashboard /console/assess (?region=CODE drills into a region, ?org=ID into an
org and its resources), the printable report and XLSX export, and the target forms. Tables and
links work without JavaScript; ECharts (vendored) draws the charts from JSON embedded in the page."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from ..assess import exports, kpis
from ..assess import model as targets
from ..assess import scorecards as cards
from ..assess.cli import fmt
from ..db import get_database
from ..errors import ErrorBag, NotFound, ValidationFailed
from ..i18n import translate
from ..orgs.model import Region
from ..params import Id, parse_id
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

TILES = ("records_collected", "open_datasets", "catalogue_coverage", "duty_on_time_rate", "fresh_rate",
         "quality_overall", "share_on_time_rate", "share_median_days", "objections_on_time_rate")


def _scope_args(request: Request) -> tuple[str | None, int | None]:
    region = request.query_params.get("region") or None
    org = request.query_params.get("org") or None
    if org and parse_id(org) is None:
        raise NotFound(f"机构 {org}", "org_not_found")
    return region, parse_id(org)


def _trail(s: Any, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Breadcrumbs: the region chain down to the scope (and the org)."""
    code = data["scope"]["region_code"]
    if data["scope"]["org_id"] and data["orgs"]:
        code = data["orgs"][0]["region_code"]
    out: list[dict[str, Any]] = []
    region = s.query(Region).filter(Region.code == code).first() if code else None
    while region is not None:
        out.insert(0, {"name": region.name, "href": f"/console/assess?region={region.code}"})
        region = region.parent
    if data["scope"]["org_id"]:
        out.append({"name": data["scope"]["org_name"], "href": None})
    return out


def _chart_data(data: dict[str, Any], lang: str) -> str:
    def t(text: str) -> str:
        return translate(text, lang)

    tree: dict[str | None, list[dict[str, Any]]] = {}
    for r in data.get("regions", []):
        tree.setdefault(r["parent_code"], []).append(r)

    def node(r: dict[str, Any]) -> dict[str, Any]:
        kids = [node(k) for k in tree.get(r["code"], [])]
        own = r["published"] - sum(k["published"] for k in tree.get(r["code"], []))
        if kids and own > 0:
            kids.insert(0, {"name": f'{r["name"]}{t("（本级）")}', "value": own, "code": r["code"]})
        out = {"name": r["name"], "value": r["published"], "code": r["code"], "records": r["records_collected"]}
        if kids:
            out["children"] = kids
        return out

    codes = {r["code"] for r in data.get("regions", [])}
    roots = [node(r) for r in data.get("regions", []) if r["parent_code"] not in codes]
    return json.dumps({
        "targets": [{"name": f'{t(x["label"])} {x["due_on"]}', "progress": x["progress"]} for x in data["targets"]],
        "records": data.get("trends", {}).get("records_per_month", []),
        "open": data.get("trends", {}).get("open_datasets", []),
        "regions": roots,
        "labels": {"progress": t("进度"), "records": t("归集数据量"), "open": t("开放数据集"),
                   "resources": t("已发布资源")},
    }, ensure_ascii=False).replace("</", "<\\/")


def _page(request: Request, ctx: WebContext, errors: dict[str, list[str]] | None = None,
          values: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    region, org = _scope_args(request)
    with get_database().read() as s:
        data = exports.gather(s, ctx.actor, region, org)
        resources = cards.org_resources(s, ctx.actor, data["scope"]["org_id"]) if data["scope"]["org_id"] else None
        trail = _trail(s, data)
        target_rows = [targets.target_dict(t) for t in targets.list_targets(s, ctx.actor)]
        may_set = targets._can_set(s, ctx.actor, "/") or bool(ctx.actor.reviewer_paths())
    by_key = {row["key"]: row for row in data["table"]}
    tiles = [by_key[k] for k in TILES]
    return render(request, "assess/dashboard.html", status_code=status_code, d=data, tiles=tiles, trail=trail,
                  resources=resources, chart=_chart_data(data, ctx.lang), fmt=fmt, target_rows=target_rows,
                  metrics=targets.TARGET_METRICS, may_set=may_set, errors=errors or {}, v=values or {},
                  query=request.url.query, done=request.query_params.get("done"))


@router.get("/console/assess")
def dashboard(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return _page(request, ctx)


@router.get("/console/assess/report")
def report(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    region, org = _scope_args(request)
    with get_database().read() as s:
        data = exports.gather(s, ctx.actor, region, org)
    return HTMLResponse(exports.report_html(data, ctx.lang))


@router.get("/console/assess/export.xlsx")
def export(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    region, org = _scope_args(request)
    with get_database().read() as s:
        data = exports.gather(s, ctx.actor, region, org)
    return Response(exports.xlsx(data, ctx.lang),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="assessment-{data["today"]}.xlsx"'})


def _date(bag: ErrorBag, form: FormData, name: str) -> date | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        bag.add(name, "date_format", "“{value}”不是有效日期（应为YYYY-MM-DD）", value=raw)
    return None


def _number(bag: ErrorBag, form: FormData, name: str) -> float | None:
    raw = str(form.get(name) or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        bag.add(name, "number_format", "“{value}”不是有效数值", value=raw)
    return None


@router.post("/console/assess/targets")
def add_target(request: Request, ctx: WebContext = Depends(csrf_checked),
               form: FormData = Depends(form_data)) -> Response:
    values = {k: str(form.get(k) or "") for k in ("metric", "value", "due_on", "scope", "basis")}
    try:
        bag = ErrorBag()
        value, due = _number(bag, form, "value"), _date(bag, form, "due_on")
        for name, got in (("value", value), ("due_on", due)):
            if got is None and not values[name].strip():
                bag.add(name, "required", "必填项不能为空")
        bag.raise_if_any()
        assert value is not None and due is not None
        with get_database().write() as s:
            targets.create_target(s, ctx.actor, metric=values["metric"], value=value, due_on=due,
                                  scope=values["scope"].strip() or targets.PLATFORM, basis=values["basis"])
    except ValidationFailed as exc:
        return _page(request, ctx, field_errors(exc.errors, ctx.lang), values, status_code=422)
    return redirect("/console/assess?done=target#targets")


@router.post("/console/assess/targets/{target_id:id}/{action}")
def change_target(request: Request, target_id: Id, action: str, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    try:
        with get_database().write() as s:
            if action == "revise":
                bag = ErrorBag()
                value, due = _number(bag, form, "value"), _date(bag, form, "due_on")
                start = _date(bag, form, "effective_from")
                bag.raise_if_any()
                targets.revise_target(s, ctx.actor, target_id, value=value, due_on=due, effective_from=start)
            elif action == "retire":
                targets.retire_target(s, ctx.actor, target_id)
            else:
                raise NotFound(action, "not_found")
    except ValidationFailed as exc:
        return _page(request, ctx, field_errors(exc.errors, ctx.lang), {"target_id": target_id}, status_code=422)
    return redirect(f"/console/assess?done={action}#targets")


__all__ = ["kpis", "router"]
