"""HTTP adapters for collection and the zone: file upload into a resource (run in the
background, progress readable by its token), the batch manifest, held-batch decisions, a small
row preview for insiders, and record counts."""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from ..access import Actor
from ..apidocs import file_responses
from ..config import get_settings
from ..db import get_database
from ..deps import read_session, require_user
from ..errors import DomainError, NotFound, StorageFull, is_no_space
from ..params import KEY_MAX, LONG_TEXT_MAX, TEXT_MAX, Id, Key
from ..zone import service as zone
from ..zone.storage import Staging
from . import pipeline
from .mapping import parse_map

router = APIRouter(tags=["collect"])

# Progress of uploads being ingested by this process, by token (kept for an hour).
_INGESTS: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()
KEEP_SECONDS = 3600


def _state(token: str, **changes: Any) -> None:
    with _LOCK:
        _INGESTS[token].update(changes)


def _run_upload(token: str, actor: Actor, resource_id: Id, staging: Staging, path: Path,
                options: dict[str, Any]) -> None:
    def progress(p: pipeline.Progress) -> None:
        _state(token, rows=p.rows, bytes=p.bytes, total_bytes=p.total_bytes,
               percent=round(100 * p.bytes / p.total_bytes, 1) if p.total_bytes else None)

    try:
        report = pipeline.ingest_file(get_database(), actor, resource_id, path, progress=progress, **options)
        _state(token, status="done", percent=100.0, rows=report.rows_read, report=report.as_dict())
    except DomainError as exc:
        _state(token, status="failed", error=exc.as_problem())
    except Exception:  # an unexpected failure is still reported to the uploader, without detail
        _state(token, status="failed", error={"code": "internal_error", "detail": "内部错误",
                                              "detail_en": "internal error"})
        raise
    finally:
        staging.close()


@router.post("/api/v1/resources/{resource_id}/batches", status_code=202)
def upload_batch(
    resource_id: Id,
    background: BackgroundTasks,
    file: UploadFile = File(..., description="CSV / XLSX / JSON / Parquet"),
    fmt: str | None = Form(None, alias="format", max_length=TEXT_MAX),
    encoding: str | None = Form(None, max_length=TEXT_MAX),
    sheet: str | None = Form(None, max_length=TEXT_MAX),
    mode: str | None = Form(None, max_length=TEXT_MAX),
    mapping: str | None = Form(None, alias="map", description="源列=信息项, one per line or ';'-separated",
                               max_length=LONG_TEXT_MAX),
    actor: Actor = Depends(require_user),
) -> dict[str, Any]:
    """Upload a file into a resource; the ingest runs in the background. Poll
    `GET /api/v1/ingests/{token}` for rows, bytes, percent, status and the final report."""
    pipeline.check_can_collect(get_database(), actor, resource_id)
    options = {"fmt": fmt, "encoding": encoding, "sheet": sheet, "mode": mode,
               "mapping": parse_map([p for p in re.split(r"[;\n]", mapping or "") if p.strip()])}
    staging, path = stage_upload(file, fmt)
    return start_ingest(actor, resource_id, background, staging, path, options)


def stage_upload(file: UploadFile, fmt: str | None = None) -> tuple[Staging, Path]:
    """The uploaded file in a private staging folder (removed once ingested or abandoned)."""
    staging = Staging(get_settings().zone)  # the upload is private until ingested, then removed
    name = Path(file.filename or "upload").name
    path = staging.path / (name if Path(name).suffix else f"{name}.{fmt or 'csv'}")
    try:
        with open(path, "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
    except OSError as exc:  # the zone is full: nothing stays behind; a full disk is a 507
        staging.close()
        if is_no_space(exc):
            raise StorageFull() from None
        raise
    return staging, path


def start_ingest(actor: Actor, resource_id: int, background: BackgroundTasks, staging: Staging, path: Path,
                 options: dict[str, Any]) -> dict[str, Any]:
    """Ingest a staged upload in the background; its progress is readable by the token."""
    token = uuid.uuid4().hex
    with _LOCK:
        now = time.time()
        for old in [k for k, v in _INGESTS.items() if now - v["started"] > KEEP_SECONDS]:
            _INGESTS.pop(old, None)
        _INGESTS[token] = {"token": token, "resource_id": resource_id, "user": actor.username, "status": "running",
                           "rows": 0, "bytes": 0, "total_bytes": path.stat().st_size, "percent": 0.0,
                           "report": None, "error": None, "started": now}
    background.add_task(_run_upload, token, actor, resource_id, staging, path, options)
    return {"token": token, "status_url": f"/api/v1/ingests/{token}"}


@router.get("/api/v1/ingests/{token}")
def ingest_progress(token: Key, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with _LOCK:
        state = dict(_INGESTS.get(token) or {})
    if not state or (state["user"] != actor.username and not actor.is_admin):
        raise NotFound(f"归集任务 {token}", "ingest_not_found")
    return state


@router.get("/api/v1/resources/{resource_id}/batches")
def list_batches(resource_id: Id, actor: Actor = Depends(require_user),
                 s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return zone.list_batches(s, actor, resource_id)


@router.post("/api/v1/resources/{resource_id}/compact", status_code=202)
def compact_resource(resource_id: Id, engine: Literal["duckdb", "spark"] | None = None,
                     actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Queue the compaction of the resource's live batches into one 全量 batch (the worker runs
    it on the engine the rule picks, or `engine`). The provider's steward or the platform."""
    from .. import jobs
    from ..zone.compact import request_compaction

    with get_database().write() as s:
        return jobs.job_dict(request_compaction(s, actor, resource_id, engine=engine))


@router.post("/api/v1/batches/{batch_id}/confirm")
def confirm_batch(batch_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return zone.batch_dict(zone.confirm_batch(s, actor, batch_id))


@router.post("/api/v1/batches/{batch_id}/discard")
def discard_batch(batch_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return zone.batch_dict(zone.discard_batch(s, actor, batch_id))


@router.get("/api/v1/batches/{batch_id}/rejects", response_class=FileResponse,
            responses=file_responses("text/csv"))
def batch_rejects(batch_id: Id, actor: Actor = Depends(require_user)) -> FileResponse:
    """The batch's reject file (CSV, UTF-8 with BOM): line, item, code, reason zh/en, value as
    sent. The provider's steward only."""
    from .rejects import reject_file

    with get_database().write() as s:
        path, name = reject_file(s, actor, batch_id)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=name)


@router.get("/api/v1/resources/{resource_id}/rows")
def preview_rows(resource_id: Id, limit: int = Query(20, ge=1, le=200), actor: Actor = Depends(require_user),
                 s: Session = Depends(read_session)) -> dict[str, Any]:
    return zone.preview_rows(s, actor, resource_id, limit)


@router.get("/api/v1/record-counts")
def record_counts(level: str = Query("resource", pattern="^(resource|org|region)$", max_length=KEY_MAX),
                  s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return zone.record_counts(s, level)


# --- uploads waiting for a mapping (the console's mapping step, issue 15) -----------------------

_PENDING: dict[str, dict[str, Any]] = {}


def hold_upload(actor: Actor, resource_id: int, staging: Staging, path: Path, options: dict[str, Any],
                check: Any = None) -> str:
    """Keep a staged upload whose columns do not map as they are, until its uploader maps them
    (or abandons it: it is removed after KEEP_SECONDS, or by `ybz init`)."""
    token = uuid.uuid4().hex
    now = time.time()
    with _LOCK:
        stale = [k for k, v in _PENDING.items() if now - v["started"] > KEEP_SECONDS]
        for old in stale:
            _PENDING.pop(old)["staging"].close()
        _PENDING[token] = {"token": token, "resource_id": resource_id, "user": actor.username, "staging": staging,
                           "path": path, "options": dict(options), "check": check, "started": now}
    return token


def pending_upload(token: str, actor: Actor) -> dict[str, Any]:
    """A held upload; only its uploader sees it (another user gets the same 404 as a wrong token)."""
    with _LOCK:
        state = _PENDING.get(token)
    if state is None or state["user"] != actor.username:
        raise NotFound(f"待映射的上传 {token}", "upload_not_found")
    return state


def release_upload(token: str, actor: Actor) -> dict[str, Any]:
    """Take a held upload out of the waiting list (to ingest it, or to drop it)."""
    state = pending_upload(token, actor)
    with _LOCK:
        _PENDING.pop(token, None)
    return state
