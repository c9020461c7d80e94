"""HTTP adapters for catalogue import and export (/api/v1/catalog/...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..apidocs import JSON_LD, XLSX, file_responses
from ..db import get_database
from ..deps import read_session, require_user, resolve_actor
from ..errors import DomainError
from ..params import KEY_MAX, TEXT_MAX, Id, Key
from . import io
from .schemas import ResourceIn

router = APIRouter(tags=["catalog"])

# A catalogue file is metadata: tens of thousands of resources fit well below this.
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _download(data: bytes, fmt: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "ignore").decode() or f"catalog.{io.EXTENSIONS[fmt]}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=data, media_type=io.CONTENT_TYPES[fmt], headers={"Content-Disposition": disposition})


@router.post("/api/v1/catalog/import")
def import_catalog(
    file: UploadFile = File(..., description="xlsx (the template), csv or json"),
    partial: bool = Form(False, description="Import the good rows and list the skipped ones."),
    fmt: str | None = Form(None, alias="format", description="xlsx | csv | json (default: detected)",
                           max_length=TEXT_MAX),
    partial_q: bool = Query(False, alias="partial"),
    actor: Actor = Depends(require_user),
) -> dict[str, Any]:
    """Import a catalogue file. All-or-nothing unless `partial`: a bad row rejects the file with
    422 `import_rejected`, every error carrying its sheet, row and column."""
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise DomainError("file_too_large", "文件超过{n}MB上限", n=MAX_IMPORT_BYTES // (1024 * 1024))
    if fmt is None and file.filename and "." in file.filename:
        ext = file.filename.rsplit(".", 1)[1].lower()
        fmt = ext if ext in (*io.IMPORT_FORMATS, "xls") else None
    with get_database().write() as s:
        report = io.import_catalog(s, actor, data, fmt, partial=partial or partial_q)
    return report.as_dict()


# Every format export_catalog answers; the JSON file is a list of ResourceIn (what import reads back).
# (FastAPI writes the model's schema under application/json.)
_EXPORT = file_responses(XLSX, "text/csv", "text/turtle", "application/ld+json",
                         schemas={"application/ld+json": JSON_LD})
_EXPORT[200]["model"] = list[ResourceIn]


@router.get("/api/v1/catalog/export", response_class=Response, responses=_EXPORT)
def export_catalog(
    request: Request,
    fmt: str = Query("xlsx", alias="format", description="xlsx | csv | json | dcat-ttl | dcat-jsonld",
                     max_length=KEY_MAX),
    org_id: Id | None = None,
    status: Key | None = None,
    actor: Actor = Depends(resolve_actor),
    s: Session = Depends(read_session),
) -> Response:
    """The catalogue as the caller may see it, as a download."""
    fmt = fmt.lower()
    if fmt not in io.FORMATS:
        raise DomainError("format_unsupported", "不支持的文件格式“{value}”", value=fmt)
    data = io.export_catalog(s, actor, fmt, org_id=org_id, status=status, base_url=str(request.base_url))
    return _download(data, fmt, f"catalog-{workdays.today():%Y%m%d}.{io.EXTENSIONS[fmt]}")


@router.get("/api/v1/catalog/template.xlsx", response_class=Response, responses=file_responses(XLSX))
def template() -> Response:
    """The empty Excel template departments fill in."""
    return _download(io.template_bytes(), "xlsx", "信息资源目录模板.xlsx")
