"""Collection and quality pages: the 数据归集 section of a resource's detail page, the console's
upload with live progress, held-batch decisions, the reject file, the quality page and the
org/region scores board.

Thin adapters: uploads go through collect.routes' own upload and progress functions (one
background mechanism for the API and the console), decisions through collect.batches, quality
through quality.service. A page only chooses which buttons and links to offer.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import BackgroundTasks, Depends, Request, Response
from fastapi.responses import FileResponse
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from ..access import Actor, can_edit_catalogue, can_review
from ..catalog import service as catalog
from ..catalog.model import Resource
from ..collect import batches as collected
from ..collect import pipeline, uploads
from ..collect import routes as collect_routes
from ..collect.mapping import IGNORE
from ..collect.rejects import preview
from ..collect.rejects import reject_file as rejects_of
from ..db import get_database
from ..errors import DomainError, NotFound, ValidationFailed
from ..i18n import N_
from ..orgs.model import Region
from ..params import Id
from ..plugins import rule_kinds
from ..quality import service as quality
from ..quality.scores import DIMENSION_WEIGHTS
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, redirect, render

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
BATCH_CLASS = {"已发布": "published", "待确认": "submitted", "已作废": "retired"}
ENCODINGS = ("UTF-8", "GBK", "GB18030")
POLL_MS = 500  # the upload page asks for its progress fragment this often
BATCHES_SHOWN = 50  # newest batches listed on the detail page
# Results that are not a rule kind's (a rule kind's label is its own: plugins.rule_kinds()).
RESULT_KINDS = {"library_conflict": N_("与资源库权威值一致")}
FORMAT_NAMES = {"id_card": N_("公民身份号码（GB 11643）"), "uscc": N_("统一社会信用代码（GB 32100）"),
                "mobile": N_("手机号码"),
                "landline": N_("固定电话"), "phone": N_("联系电话"), "bank_card": N_("银行卡号（Luhn）"),
                "division": N_("行政区划代码（GB/T 2260）"), "email": N_("电子邮箱"), "date_text": N_("日期文本")}


def local_time(at: datetime | str | None) -> str:
    if at is None:
        return ""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo("UTC"))
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _region_path(s: Session, resource: Resource) -> str:
    region = s.get(Region, resource.region_id)
    return region.path if region else "/"


def is_insider(s: Session, actor: Actor, resource: Resource) -> bool:
    """Provider org, the region's reviewers, admin and auditors see the collection manifest
    (counts and sources only, never rows)."""
    if not actor.is_authenticated:
        return False
    return collected.can_read_rows(actor, resource) or can_review(actor, _region_path(s, resource))


def collection_view(s: Session, actor: Actor, resource: Resource) -> dict[str, Any] | None:
    """The detail page's 数据归集 section, or None for those who may not see it."""
    if not is_insider(s, actor, resource):
        return None
    rows = collected.newest(s, resource.id, BATCHES_SHOWN)
    batches = []
    for b in rows:
        src = b.source or {}
        batches.append({
            "id": b.id, "seq": b.seq, "mode": b.mode, "status": b.status, "accepted": b.row_count,
            "rejected": b.rejected_count, "source": src.get("file") or src.get("table") or src.get("kind") or "",
            "source_kind": src.get("kind") or "", "by": b.created_by, "at": local_time(b.created_at),
            "has_rejects": bool(b.reject_path)})
    steward = can_edit_catalogue(actor, resource.org_id)
    # Until a batch is published, record_count is the catalogue's declared figure, not rows held.
    published = collected.has_published(s, resource.id)
    return {"records": (resource.record_count or 0) if published else (0 if rows else None), "batches": batches,
            "held": [b for b in batches if b["status"] == collected.HELD],
            "may_collect": steward and resource.status != "已停用", "may_decide": steward,
            "may_download": steward}


# --- upload -------------------------------------------------------------------------------------


def _resource_info(s: Session, actor: Actor, resource_id: Id) -> dict[str, Any]:
    r = catalog.get_resource(s, actor, resource_id)
    return {"id": r.id, "code": r.code, "name": r.name, "keyed": any(i.is_key for i in r.items)}


def upload_form(request: Request, resource_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    pipeline.check_can_collect(get_database(), ctx.actor, resource_id)  # 404 unseen, 403 not the steward
    with get_database().read() as s:
        info = _resource_info(s, ctx.actor, resource_id)
    return render(request, "upload.html", r=info, modes=collected.MODES, encodings=ENCODINGS, v={}, errors={})


def upload_submit(request: Request, resource_id: Id, background: BackgroundTasks,
                  ctx: WebContext = Depends(csrf_checked), form: FormData = Depends(form_data)) -> Response:
    upload = form.get("file")
    values = {k: str(form.get(k) or "").strip() for k in ("mode", "encoding", "sheet")}
    if not isinstance(upload, UploadFile) or not upload.filename:
        pipeline.check_can_collect(get_database(), ctx.actor, resource_id)
        with get_database().read() as s:
            info = _resource_info(s, ctx.actor, resource_id)
        return render(request, "upload.html", status_code=422, r=info, modes=collected.MODES,
                      encodings=ENCODINGS, v=values, errors={"file": [ctx.t("请选择要上传的文件")]})
    pipeline.check_can_collect(get_database(), ctx.actor, resource_id)
    options = {"fmt": None, "encoding": values["encoding"] or None, "sheet": values["sheet"] or None,
               "mode": values["mode"] or None}
    staging, path = collect_routes.stage_upload(upload)
    try:
        check = pipeline.check_columns(get_database(), ctx.actor, resource_id, path, encoding=options["encoding"],
                                       sheet=options["sheet"])
    except DomainError as exc:
        # An unreadable file (empty, wrong encoding, not a spreadsheet): the form again with the
        # reason beside the file field, so the next step is to pick another file or encoding.
        staging.close()
        with get_database().read() as s:
            info = _resource_info(s, ctx.actor, resource_id)
        return render(request, "upload.html", status_code=422, r=info, modes=collected.MODES,
                      encodings=ENCODINGS, v=values, errors={"file": [_message(ctx, exc)]})
    if check.ok:
        started = collect_routes.start_ingest(ctx.actor, resource_id, background, staging, path,
                                              {**options, "mapping": None})
        return redirect(f"/console/ingests/{started['token']}")
    # The columns do not map by name: the mapping step, not an error.
    try:
        token = uploads.hold(get_database(), ctx.actor, resource_id, staging, path, options, check)
    except BaseException:
        staging.close()
        raise
    return redirect(f"/console/uploads/{token}/mapping")


def _message(ctx: WebContext, exc: DomainError) -> str:
    problem = exc.as_problem()
    detail = problem.get("detail_en") if ctx.lang == "en" and problem.get("detail_en") else problem.get("detail")
    return str(detail or exc.code)


# --- the mapping step (issue 15) ------------------------------------------------------------------


def _mapping_view(request: Request, ctx: WebContext, token: str, chosen: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    state = uploads.held(get_database(), token, ctx.actor)
    opts = state["options"]
    check = pipeline.check_columns(get_database(), ctx.actor, state["resource_id"], state["path"],
                                   encoding=opts["encoding"], sheet=opts["sheet"],
                                   mapping={c: v for c, v in (chosen or {}).items() if v} or None,
                                   known=state["check"])
    with get_database().read() as s:
        info = _resource_info(s, ctx.actor, state["resource_id"])
    choice = chosen if chosen is not None else {c: (v or "") for c, v in check.suggested.items()}
    by_column: dict[str, list[str]] = {}
    general: list[str] = []
    for p in check.problems:
        # the page's own words for a column without an item (the CLI's message names --map)
        text = (ctx.t("请为源列“{column}”选择对应的信息项，或选择“不导入此列”", **p["params"])
                if p["code"] == "column_unknown" else ctx.t(p["message"], **p["params"]))
        kind, _, name = p["field"].partition(".")
        if kind in ("columns", "map") and name in check.columns:
            by_column.setdefault(name, []).append(text)
        else:
            general.append(text)
    rows = [{"i": i, "column": c, "choice": choice.get(c, ""), "suggested": check.suggested.get(c),
             "errors": by_column.get(c, [])} for i, c in enumerate(check.columns)]
    mapped = {v for v in choice.values() if v and v != IGNORE}
    return render(request, "mapping.html", status_code=status_code, r=info, token=token, rows=rows,
                  items=check.items, missing=[i for i in check.items if i["name"] not in mapped],
                  problems=general + [e for r in rows for e in r["errors"]] if chosen is not None else [],
                  file=state["path"].name, source=check.source, ignore=IGNORE)


def mapping_form(request: Request, token: str, ctx: WebContext = Depends(console_user)) -> Response:
    return _mapping_view(request, ctx, token)


def mapping_submit(request: Request, token: str, background: BackgroundTasks,
                   ctx: WebContext = Depends(csrf_checked), form: FormData = Depends(form_data)) -> Response:
    state = uploads.held(get_database(), token, ctx.actor)
    if form.get("action") == "cancel":
        uploads.take(get_database(), token, ctx.actor)[1].close()
        return redirect(f"/console/resources/{state['resource_id']}/upload")
    columns = state["check"].columns  # read once, at upload (an XLSX is read whole)
    chosen = {c: str(form.get(f"col-{i}") or "").strip() for i, c in enumerate(columns)}
    mapping = {c: v for c, v in chosen.items() if v}
    check = pipeline.check_columns(get_database(), ctx.actor, state["resource_id"], state["path"],
                                   mapping=mapping, known=state["check"])
    if not check.ok:
        return _mapping_view(request, ctx, token, chosen, status_code=422)
    state, staging = uploads.take(get_database(), token, ctx.actor)
    started = collect_routes.start_ingest(ctx.actor, state["resource_id"], background, staging,
                                          state["path"], {**state["options"], "mapping": mapping})
    return redirect(f"/console/ingests/{started['token']}")


def _progress(ctx: WebContext, token: str) -> dict[str, Any]:
    state = collect_routes.ingest_progress(token, ctx.actor)  # 404 unless it is the user's own
    elapsed = max(time.time() - float(state.get("started") or time.time()), 1e-3)
    report = state.get("report") or {}
    error = state.get("error")
    return {
        "token": token, "resource_id": state["resource_id"], "status": state["status"],
        "rows": state.get("rows") or 0, "percent": state.get("percent"),
        "mb": round((state.get("bytes") or 0) / 1e6, 2), "total_mb": round((state.get("total_bytes") or 0) / 1e6, 2),
        "mb_per_s": report.get("mb_per_s") if report else round((state.get("bytes") or 0) / 1e6 / elapsed, 2),
        "report": report or None, "quality": report.get("quality") if report else None,
        "rejects": _reject_preview(ctx, report),
        "error": (error.get("detail_en") if ctx.lang == "en" and error.get("detail_en") else error.get("detail"))
        if error else None, "error_code": error.get("code") if error else None,
    }


REJECTS_SHOWN = 20  # first rejects listed on the upload's result page


def _reject_preview(ctx: WebContext, report: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not report or not report.get("rows_rejected"):
        return []

    with get_database().read() as s:
        return preview(s, ctx.actor, report["batch_id"], REJECTS_SHOWN)


def ingest_page(request: Request, token: str, ctx: WebContext = Depends(console_user)) -> Response:
    p = _progress(ctx, token)
    with get_database().read() as s:
        info = _resource_info(s, ctx.actor, p["resource_id"])
    return render(request, "ingest.html", r=info, p=p, poll_ms=POLL_MS)


def ingest_fragment(request: Request, token: str, ctx: WebContext = Depends(console_user)) -> Response:
    return render(request, "_ingest_progress.html", p=_progress(ctx, token), poll_ms=POLL_MS)


# --- batches ------------------------------------------------------------------------------------


def batch_decision(request: Request, batch_id: Id, action: str, ctx: WebContext = Depends(csrf_checked)) -> Response:
    if action not in collected.DECISIONS:
        raise NotFound(action, "not_found")
    with get_database().write() as s:
        resource_id = collected.decide(s, ctx.actor, batch_id, action).resource_id
    return redirect(f"/catalog/{resource_id}?done={action}#collection")


def reject_file(request: Request, batch_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    """The reject file holds the values as sent (personal data): the provider's steward only,
    and each download is in the ledger (counts, never values)."""

    with get_database().write() as s:  # one service for the API and the page (either store)
        path, name = rejects_of(s, ctx.actor, batch_id)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=name)


# --- quality ------------------------------------------------------------------------------------


def _chart_json(history: list[dict[str, Any]], lang: str, t: Any) -> Markup:
    """The score history for ybz-quality.js, safe inside a <script type="application/json">."""
    dims = list(DIMENSION_WEIGHTS)
    data = {
        "labels": [local_time(h["at"]) for h in history],
        "series": [{"name": t("总分"), "data": [h["overall"] for h in history]}]
        + [{"name": t(d), "data": [(h["scores"] or {}).get(d) for h in history]} for d in dims],
        "lang": lang,
    }
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def quality_page(request: Request, resource_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    with get_database().read() as s:
        view = quality.resource_quality(s, ctx.actor, resource_id)
        resource = s.get(Resource, view["resource_id"])
        assert resource is not None
        # The same rule as quality.service (which checks again on POST): provider or authority.
        may_assess = can_edit_catalogue(ctx.actor, resource.org_id) or can_review(ctx.actor,
                                                                                  _region_path(s, resource))
    latest = view["latest"]
    if latest:
        latest["at"] = local_time(latest["created_at"])
    return render(request, "quality.html", q=view, latest=latest, dims=list(DIMENSION_WEIGHTS),
                  chart=_chart_json(view["history"], ctx.lang, ctx.t), may_assess=may_assess,
                  rule_kinds={**{k.name: k.label for k in rule_kinds().values()}, **RESULT_KINDS},
                  format_names=FORMAT_NAMES,
                  done=request.query_params.get("done"))


def quality_assess(request: Request, resource_id: Id, ctx: WebContext = Depends(csrf_checked)) -> Response:
    quality.assess_current(get_database(), ctx.actor, resource_id)
    return redirect(f"/console/resources/{resource_id}/quality?done=assess")


def quality_board(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    level = request.query_params.get("level") or "org"
    if level not in ("org", "region"):
        raise ValidationFailed("quality_level", "未知的取值“{value}”，可选：{allowed}", value=level,
                               allowed="org、region")
    with get_database().read() as s:
        rows = quality.scores_by(s, ctx.actor, level)
    return render(request, "quality_scores.html", rows=rows, level=level, dims=list(DIMENSION_WEIGHTS),
                  weights=DIMENSION_WEIGHTS)


def register(router: Any) -> None:
    add = router.add_api_route
    add("/console/resources/{resource_id}/upload", upload_form, methods=["GET"], include_in_schema=False)
    add("/console/resources/{resource_id}/upload", upload_submit, methods=["POST"], include_in_schema=False)
    add("/console/uploads/{token}/mapping", mapping_form, methods=["GET"], include_in_schema=False)
    add("/console/uploads/{token}/mapping", mapping_submit, methods=["POST"], include_in_schema=False)
    add("/console/ingests/{token}", ingest_page, methods=["GET"], include_in_schema=False)
    add("/console/ingests/{token}/progress", ingest_fragment, methods=["GET"], include_in_schema=False)
    add("/console/batches/{batch_id}/rejects", reject_file, methods=["GET"], include_in_schema=False)
    add("/console/batches/{batch_id}/{action}", batch_decision, methods=["POST"], include_in_schema=False)
    add("/console/resources/{resource_id}/quality", quality_page, methods=["GET"], include_in_schema=False)
    add("/console/resources/{resource_id}/quality/assess", quality_assess, methods=["POST"],
        include_in_schema=False)
    add("/console/quality", quality_board, methods=["GET"], include_in_schema=False)

