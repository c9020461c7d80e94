"""The console's lineage page (issue 18): `/console/lineage?resource=CODE` — a resource's
sources and batches upstream, and downstream every grant by consumer organization (deliveries,
daily data calls, each column's masking), open downloads, sandbox runs and products, as an
ECharts graph (static script, CSP without inline scripts) with the same figures in tables
beside it. `lineage.graph.for_resource` decides what the viewer may see; the page shows it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ..db import get_database
from ..errors import DomainError
from ..i18n import N_
from ..lineage import graph
from . import auth
from .auth import console_user
from .render import WebContext, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)
CATEGORIES = (("source", N_("来源")), ("resource", N_("数据资源")), ("consumer", N_("共享使用方")),
              ("open", N_("开放下载")),
              ("sandbox", N_("沙箱运行")), ("product", N_("数据产品")))


@router.get("/console/lineage")
def lineage_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    code = (request.query_params.get("resource") or "").strip()[:40]
    result, error = None, None
    if code:
        try:
            with get_database().read() as s:
                result = graph.for_resource(s, ctx.actor, code)
        except DomainError as exc:
            if exc.status >= 500:
                raise
            error = exc
    chart = None
    if result is not None:
        labels = dict(CATEGORIES)
        chart = {"categories": [ctx.t(label) for _, label in CATEGORIES],
                 "nodes": [{**n, "category": list(labels).index(n["category"]),
                            "name": ctx.t("开放下载") if n["id"] == "open" else n["name"]}
                           for n in result["graph"]["nodes"]],
                 "links": result["graph"]["links"]}
    return render(request, "lineage/resource.html", status_code=error.status if error else 200, code=code,
                  result=result, chart=chart,
                  error=error.message_in(ctx.lang) if error else None, error_code=error.code if error else None)
