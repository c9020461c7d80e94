"""Downloads of open datasets: the resource's current rows from the zone, masked for the 开放下载
exit path (denied items are left out), written by DuckDB straight to a file — CSV (UTF-8 with a
BOM, so Excel opens Chinese text), XLSX, JSON or Parquet.

Files are cached by the SM3 digest of the masked plan and the live state it reads (which names the
batch files, the items and their operators): a new batch, a new grade or a new policy gives a new
plan and a new file; Parquet batches never change, so a cached file is never stale. Each download
is counted per day. Files are written by the engine of an export (zone.engine: a masked exit stays
on DuckDB) through the port: the plan is a sqlglot tree, never SQL text built here."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from sqlglot import exp

from ..access import Actor, require
from ..catalog.model import Resource
from ..classify import policies as P
from ..config import get_settings
from ..crypto import sm3_hex
from ..errors import DomainError, Unauthenticated
from ..ledger.access_log import OPEN_PREVIEW, record_read
from ..ledger.model import LedgerAnchor
from ..ledger.service import ANCHOR_ID
from ..zone import port
from ..zone.engine import Work, engine_for
from ..zone.service import column_type, live_state
from . import keys as key_service
from .access import has_approved_application
from .datasets import is_unconditional
from .model import OpenApiKey

FORMATS = ("csv", "xlsx", "json", "parquet")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
BOM = "\ufeff".encode()
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
PREVIEW_EXIT = OPEN_PREVIEW  # the portal's dataset page, in the access log
PURPOSE = P.OPEN_DOWNLOAD  # one pseudonym key for every open download: joins across open datasets work


class DownloadFailed(DomainError):
    status = 422
    title = "无法生成下载文件"


@dataclass(frozen=True)
class Shape:
    """What leaves for one resource: the masking plan over its live state."""

    resource_id: int
    state: port.LiveState
    plan: P.MaskPlan
    types: dict[str, str]

    def query(self) -> exp.Select:
        """The download: every leaving item masked, in the zone's order."""
        return self.plan.query(self.types, order=port.META)

    def sql(self) -> str:
        """The download's plan as text with the live state it reads: the key of its files (and of
        the portal's preview). masking_all_denied when nothing leaves."""
        return f"{self.state.fingerprint}\n{self.query().sql(dialect='duckdb')}"

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.plan.leaving]


@lru_cache(maxsize=4096)
def _by_name(name: str, description: str | None) -> tuple[str, ...]:
    return tuple(P._categories_by_name(name, description))


def shape(session: Session, resource: Resource) -> Shape:
    """Stored categories (decision, else suggestions) and confirmed grades; an item with none
    is recognized by its name once per process. Ungraded items count as 核心 (fail closed)."""
    known = P._stored_categories(session, resource)
    items = [P.MaskItem(i.name, tuple(known[i.id]) if i.id in known else _by_name(i.name, i.description),
                        i.grade, column_type(i)) for i in resource.items]
    return Shape(resource.id, live_state(session, resource.id), P.plan(items, P.OPEN_DOWNLOAD, purpose=PURPOSE),
                 {i.name: i.sql_type for i in items})


# Shapes are kept CACHE_SECONDS per (database, resource), keyed by the ledger head: publishing a
# batch, confirming a grade or changing the catalogue appends a ledger event, which moves the
# head, so a cached shape never outlives what it was built from.
CACHE_SECONDS = 5.0
_shapes: dict[tuple[str, int], tuple[float, tuple[int, str], Shape]] = {}
_shapes_lock = threading.Lock()


def _ledger_head(session: Session) -> tuple[int, str]:
    from sqlalchemy import select


    row = session.execute(select(LedgerAnchor.seq, LedgerAnchor.digest).where(LedgerAnchor.id == ANCHOR_ID)).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


def cached_shape(session: Session, resource: Resource) -> Shape:
    key = (str(session.get_bind().engine.url), resource.id)
    head = _ledger_head(session)
    now = time.monotonic()
    with _shapes_lock:
        got = _shapes.get(key)
    if got is not None and got[1] == head and now - got[0] < CACHE_SECONDS:
        return got[2]
    sh = shape(session, resource)
    with _shapes_lock:
        if len(_shapes) > 10_000:
            _shapes.clear()
        _shapes[key] = (now, head, sh)
    return sh


def clear_cache() -> None:
    with _shapes_lock:
        _shapes.clear()


# --- who may download ---------------------------------------------------------------------------


def raw_key_of(headers: Any, query: Any) -> str | None:
    """`X-API-Key` header or `?api_key=`."""
    return (headers.get("x-api-key") or query.get("api_key") or "").strip() or None


def authorize(session: Session, actor: Actor, resource: Resource, raw_key: str | None,
              today: date | None = None) -> OpenApiKey | None:
    """无条件开放: anyone. 有条件开放: an API key scoped to the dataset, or a signed-in applicant
    whose application was approved (the provider's own people and the admin too)."""
    if raw_key:
        key = key_service.key_for(session, raw_key, today)
        if not is_unconditional(resource):
            key_service.require_scope(key, resource.id)
        return key
    if is_unconditional(resource):
        return None
    if actor.user_id is not None and (has_approved_application(session, actor.user_id, resource.id)
                                      or actor.is_admin or actor.acts_for_org(resource.org_id)):
        return None
    if not actor.is_authenticated:
        raise Unauthenticated("open_apply_required", "有条件开放的数据集须登录并经申请批准后使用")
    require(False, "使用有条件开放数据集（须先申请并获批准）", "open_apply_required")
    return None


# --- producing files ----------------------------------------------------------------------------


def cache_dir() -> Path:
    return get_settings().home / "open_downloads"


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def file_for(sh: Shape, fmt: str) -> Path:
    """The download file for this shape and format, built once (temporary name, then renamed)."""
    if fmt not in (*FORMATS, SNAPSHOT):
        raise DownloadFailed("open_format", "未知的取值“{value}”，可选：{allowed}", value=fmt,
                             allowed="、".join(FORMATS))
    plan = snapshot_plan(sh) if fmt == SNAPSHOT else sh.query()
    digest = sm3_hex(f"{fmt}\n{sh.state.fingerprint}\n{plan.sql(dialect='duckdb')}".encode())[:32]
    folder = cache_dir()
    final = folder / f"{sh.resource_id}-{digest}.{fmt}"
    if final.exists():
        return final
    with _lock(final.name):
        if final.exists():
            return final
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{final.name}.{uuid.uuid4().hex}.tmp"
        try:
            _write(sh, plan, fmt, tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        for old in folder.glob(f"{sh.resource_id}-*.{fmt}"):  # superseded versions
            if old != final:
                old.unlink(missing_ok=True)
    return final


# The rows API reads a masked snapshot of the current rows, numbered in their order (`_n`), so a
# page costs a Parquet scan with row-group skipping instead of rebuilding the current state (the
# key de-duplication is a window over every row) on every call.
SNAPSHOT = "rows"
SNAPSHOT_ROW_GROUP = 16_384


_NUMBERED = "SELECT * EXCLUDE (_batch, _row), row_number() OVER (ORDER BY _batch, _row) AS _n FROM s ORDER BY _n"


def snapshot_plan(sh: Shape) -> exp.Select:
    """The masked rows numbered 1..N in the zone's order (`_n`), for the rows API."""
    inner = sh.plan.query(sh.types, passthrough=port.META)
    return port.parse(_NUMBERED).from_(inner.subquery("s"))


def _write(sh: Shape, plan: exp.Select, fmt: str, target: Path) -> None:
    engine = engine_for(Work.EXPORT, input_bytes=sh.state.bytes)  # one ordered file: in process
    functions = P.functions(plan)
    if fmt == "xlsx":
        with engine.reader(sh.state, plan, functions=functions) as reader:
            _write_xlsx(reader, target)
        return
    raw = target.with_suffix(".raw") if fmt == "csv" else target
    engine.export(sh.state, plan, str(raw), "parquet" if fmt == SNAPSHOT else fmt, functions=functions,
                  row_group=SNAPSHOT_ROW_GROUP if fmt == SNAPSHOT else None)
    if fmt == "csv":
        try:
            with open(target, "wb") as out, open(raw, "rb") as src:
                out.write(BOM)
                while chunk := src.read(1 << 20):
                    out.write(chunk)
        finally:
            raw.unlink(missing_ok=True)


def _write_xlsx(reader: Any, target: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(list(reader.schema.names))
    written = 0
    for batch in reader:
        written += batch.num_rows
        if written > XLSX_MAX_ROWS:
            raise DownloadFailed("open_xlsx_too_large", "数据超过XLSX的行数上限{n}行，请下载CSV或Parquet",
                                 n=XLSX_MAX_ROWS)
        for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
            ws.append(list(row))
    wb.save(target)


# --- the access log (issue 23) ------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _file_rows(path: str) -> int:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def key_ref(key: OpenApiKey | None) -> tuple[int, int] | None:
    """The (key id, holder's user id) of an API key, taken while its session is open."""
    return (key.id, key.user_id) if key is not None else None


def log_read(db: Any, actor: Actor, sh: Shape, exit: str, *, rows: int | None = None,
             key: tuple[int, int] | None = None) -> None:
    """A download (rows None: the whole dataset) or a rows call of a dataset whose leaving items
    hold personal information goes to the access log: item names and the row count, never a
    value; an API key names its holder. Datasets without personal items are counted only."""
    if not sh.plan.personal:
        return

    n = _file_rows(str(file_for(sh, SNAPSHOT))) if rows is None else rows
    detail = {"api_key_id": key[0], "key_user_id": key[1]} if key is not None else None
    with db.write() as s:
        record_read(s, actor, exit=exit, resource_id=sh.resource_id, items=sh.columns, rows=n, detail=detail)


def filename(resource: Resource, fmt: str) -> str:
    """The file's name (Starlette sends it RFC 5987-encoded when it is not ASCII)."""
    safe = "".join(ch for ch in resource.name if ch not in '/\\:*?"<>|').strip() or f"dataset-{resource.id}"
    return f"{safe}.{fmt}"
