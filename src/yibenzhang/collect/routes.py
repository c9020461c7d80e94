"""HTTP adapters for collection and the zone: file upload into a resource (run in the
background, progress readable by its token), the batch manifest, held-batch decisions, a small
row preview for insiders, and record counts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from .. import jobs
from ..access import Actor
from ..apidocs import file_responses
from ..catalog.counts import record_counts as record_counts_of
from ..config import get_settings
from ..db import get_database
from ..deps import read_session, require_user
from ..errors import DomainError, StorageFull, is_no_space
from ..i18n import N_
from ..params import KEY_MAX, LONG_TEXT_MAX, TEXT_MAX, Id, Key
from ..zone import service as zone
from ..zone.compact import request_compaction
from ..zone.storage import Staging
from . import pipeline, uploads
from .mapping import parse_map
from .rejects import reject_file

router = APIRouter(tags=["collect"])

def _run_upload(token: str, actor: Actor, resource_id: Id, staging: Staging, path: Path,
                options: dict[str, Any]) -> None:
    db = get_database()
    write = uploads.Throttled(db, token)

    def progress(p: pipeline.Progress) -> None:
        write(rows=p.rows, bytes=p.bytes, total_bytes=p.total_bytes,
              percent=round(100 * p.bytes / p.total_bytes, 1) if p.total_bytes else None)

    try:
        report = pipeline.ingest_file(db, actor, resource_id, path, progress=progress, **options)
        uploads.record(db, token, "done", percent=100.0, rows=report.rows_read, report=report.as_dict())
    except DomainError as exc:
        uploads.record(db, token, "failed", error=exc.as_problem())
    except Exception:  # an unexpected failure is still reported to the uploader, without detail
        uploads.record(db, token, "failed", error={"code": "internal_error", "detail": N_("内部错误"),
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
    """Ingest a staged upload in the background; its progress is readable by the token, on any
    worker (collect.uploads)."""
    try:
        token = uploads.start(get_database(), actor, resource_id, path.stat().st_size)
    except BaseException:
        staging.close()
        raise
    background.add_task(_run_upload, token, actor, resource_id, staging, path, options)
    return {"token": token, "status_url": f"/api/v1/ingests/{token}"}


@router.get("/api/v1/ingests/{token}")
def ingest_progress(token: Key, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    return uploads.progress(get_database(), token, actor)


@router.get("/api/v1/resources/{resource_id}/batches")
def list_batches(resource_id: Id, actor: Actor = Depends(require_user),
                 s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return zone.list_batches(s, actor, resource_id)


@router.post("/api/v1/resources/{resource_id}/compact", status_code=202)
def compact_resource(resource_id: Id, engine: Literal["duckdb", "spark"] | None = None,
                     actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """Queue the compaction of the resource's live batches into one 全量 batch (the worker runs
    it on the engine the rule picks, or `engine`). The provider's steward or the platform."""

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
    return record_counts_of(s, level)


