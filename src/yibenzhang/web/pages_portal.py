"""The open-data portal: the home page (/), the dataset list (/datasets) and a dataset's page
(/datasets/{id}), plus the licence page. Read-only and readable without JavaScript; the chart
is drawn from JSON embedded in the page when scripts run.

Thin adapters: open.portal_query lists and counts, open.datasets decides what is open,
open.access what the visitor may do, open.downloads/rows_api how rows leave (masked for 开放下载).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalog import service as catalog
from ..catalog.model import ResourceVersion
from ..collect.batches import published as published_batches
from ..db import get_database
from ..enums import OpenType, UpdateCycle
from ..errors import DomainError, NotFound
from ..i18n import N_
from ..open import portal_query as pq
from ..open.access import access_for
from ..open.datasets import get_open_resource
from ..open.portal_query import DOMAIN_LABELS, PortalQuery
from ..params import INT32_MAX, parse_id, parse_int
from ..quality.model import QualityRun
from .auth import WebRoute
from .render import render, web_context

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 20
PREVIEW_ROWS = 10
CHART_MAX_VALUES = 12  # a column with more distinct values is not charted by value
FILTERS = ("q", "domain", "org_id", "region_code", "format", "update_cycle", "open_type", "sort")
FACET_PARAMS = {"domain": "domain", "org": "org_id", "region": "region_code", "format": "format",
                "update_cycle": "update_cycle", "open_type": "open_type"}
FACET_TITLES = {"domain": "领域", "org": "部门", "region": "地区", "format": "格式", "update_cycle": "更新周期",
                "open_type": "开放类型"}
SORTS = (("relevance", N_("按相关度")), ("newest", N_("最新发布")), ("downloads", N_("下载最多")),
         ("quality", N_("质量最好")))
DOWNLOADS = (("csv", "CSV"), ("xlsx", "XLSX"), ("json", "JSON"), ("parquet", "Parquet"))


def _params(request: Request) -> dict[str, str]:
    return {k: v.strip() for k in FILTERS if (v := request.query_params.get(k, "")).strip()}


def _query(params: dict[str, str], page: int) -> PortalQuery:
    org = params.get("org_id", "")
    cycle = UpdateCycle.parse(params["update_cycle"]) if "update_cycle" in params else None
    open_type = OpenType.parse(params["open_type"]) if "open_type" in params else None
    return PortalQuery(q=params.get("q", ""), domain=params.get("domain"), org_id=parse_id(org),
                       region_code=params.get("region_code"), format=params.get("format"),
                       update_cycle=cycle.value if cycle else params.get("update_cycle"),
                       open_type=open_type.value if open_type else params.get("open_type"),
                       sort=params.get("sort", "") if params.get("sort") in dict(SORTS) else "",
                       limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return parse_int(raw, 1, INT32_MAX // PAGE_SIZE) or 1


def home(request: Request) -> Response:
    with get_database().read() as s:
        data = pq.highlights(s)
    counts = {e["value"]: e["count"] for e in data["domains"]}
    domains = [{"value": slug, "label": label, "count": counts.get(slug, 0)}
               for slug, label, _, _ in pq.DOMAINS]
    return render(request, "portal/home.html", h=data, domains=domains)


def datasets(request: Request) -> Response:
    params = _params(request)
    page = _page_number(request)
    with get_database().read() as s:
        result = pq.query_open(s, _query(params, page))
    pages = max((result.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    template = "portal/_results.html" if request.headers.get("HX-Request") else "portal/datasets.html"
    return render(request, template, result=result, params=params, page=page, pages=pages,
                  facet_titles=FACET_TITLES, facet_params=FACET_PARAMS, sorts=SORTS, domain_labels=DOMAIN_LABELS)


# --- a dataset's page ------------------------------------------------------------------------------

_derived: OrderedDict[str, Any] = OrderedDict()  # masked SQL → (preview, chart): new batch or grade, new SQL
_derived_lock = threading.Lock()


def _remember(key: str, make: Any) -> Any:
    with _derived_lock:
        if key in _derived:
            _derived.move_to_end(key)
            return _derived[key]
    value = make()
    with _derived_lock:
        _derived[key] = value
        while len(_derived) > 512:
            _derived.popitem(last=False)
    return value


def _preview_and_chart(sh: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The first rows (the open rows API's first page) and the chart over the Parquet download
    (built once per masked SQL and shared with downloads): the same masking as the files."""
    # deferred: keeps duckdb, limits, sqlglot out of this module's import
    from ..open import charts, rows_api

    # deferred: keeps duckdb, sqlglot out of this module's import
    from ..open import downloads as dl

    preview = rows_api.page(sh, {}, limit=PREVIEW_ROWS)
    return preview, charts.chart(dl.file_for(sh, "parquet"), max_values=CHART_MAX_VALUES)


NOTHING_OPEN = N_("按开放数据的脱敏策略，本数据集没有可公开的信息项")
APPLY_TO_SEE = N_("有条件开放的数据集：申请获批后可预览数据。")


def _rows(s: Session, resource: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None, Any]:
    """(masked preview, chart, why there is none, the dataset's shape)."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from ..open import downloads as dl

    sh = dl.shape(s, resource)
    if not sh.plan.leaving:
        return None, None, NOTHING_OPEN, sh
    try:
        key = sh.sql()
    except DomainError:
        return None, None, NOTHING_OPEN, sh
    preview, chart = _remember(key, lambda: _preview_and_chart(sh))
    return preview, chart, None, sh


def dataset(request: Request, dataset_id: str) -> Response:
    ctx = web_context(request)

    with get_database().read() as s:
        d = pq.find_dataset(s, dataset_id)
        resource = get_open_resource(s, d.id if d else dataset_id)  # NotFound for anything not open
        if d is None:  # open by the live row but not as published: not yet public
            resource_id = dataset_id
            raise NotFound(f"开放数据集 {resource_id}", "open_dataset_not_found")
        view = catalog.published_view(s, resource) or {}
        access = access_for(s, ctx.actor, resource)
        versions = [{"version": v, "published_at": at} for v, at in s.execute(
            select(ResourceVersion.version, ResourceVersion.published_at)
            .where(ResourceVersion.resource_id == d.id).order_by(ResourceVersion.version.desc()))]
        batches = published_batches(s, d.id, 20)
        run = s.execute(select(QualityRun).where(QualityRun.resource_id == d.id)
                        .order_by(QualityRun.id.desc()).limit(1)).scalar_one_or_none()
        quality = {"overall": run.overall, "scores": dict(run.scores or {}), "at": run.created_at} if run else None
        preview, chart, no_rows, sh = None, None, None, None
        if batches and access["can_download"]:
            preview, chart, no_rows, sh = _rows(s, resource)
        elif batches:  # rows and the chart over them are what an approved application gives, as downloads
            no_rows = APPLY_TO_SEE
    if preview is not None and sh is not None:  # issue 23: the preview is an exit like the rows API
        # deferred: keeps duckdb, sqlglot out of this module's import
        from ..open import downloads as dl

        dl.log_read(get_database(), ctx.actor, sh, dl.PREVIEW_EXIT, rows=len(preview["rows"]))
    base = str(request.base_url).rstrip("/")
    return render(request, "portal/dataset.html", d=d, v=view, access=access, versions=versions, batches=batches,
                  quality=quality, preview=preview, no_rows=no_rows, downloads=DOWNLOADS, base=base,
                  chart_json=json.dumps(chart, ensure_ascii=False).replace("</", "<\\/") if chart else None,
                  chart=chart, domain_labels=DOMAIN_LABELS)


def licence(request: Request) -> Response:
    return render(request, "portal/licence.html")


router.add_api_route("/", home, methods=["GET"])
router.add_api_route("/datasets", datasets, methods=["GET"])
router.add_api_route("/datasets/{dataset_id}", dataset, methods=["GET"])
router.add_api_route("/licence", licence, methods=["GET"])
