"""The row service of a grant (接口) and its file delivery (文件).

Each call is one DuckDB query over the resource's current relation (a consistent snapshot):
granted items only, masked for exit path 共享 (grade per item; ungraded → the strictest), the
grant's 回流 row scope applied, equality filters on granted items that leave in clear, keyset
pagination. The cursor is the row's place in the zone (`_batch`, `_row`), never a key value: a
key item may be ungranted or masked, and a cursor must not carry it out in clear.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import update

from .. import jobs
from ..access import Actor
from ..catalog.model import Resource
from ..classify import masking
from ..classify import policies as P
from ..config import get_settings
from ..db import Database, utcnow
from ..errors import DomainError, NotFound, PermissionDenied
from ..zone.engine import get_engine
from ..zone.service import current_relation, quote
from . import grants as G

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class Shape:
    """What a grant lets out of its resource: the masking plan, column types, scope."""

    grant_id: int
    relation: str
    plan: P.MaskPlan
    types: dict[str, str]
    scope_sql: str  # "" or a condition on the division item


def shape(session: Any, grant: G.Grant) -> Shape:
    resource = session.get(Resource, grant.resource_id)
    granted = set(grant.items)
    items = [i for i in P.resource_items(session, resource) if i.name in granted]
    plan = P.plan(items, G.EXIT_PATH, purpose=f"share-grant:{grant.id}")
    scope = ""
    if grant.row_scope:
        col = G.division_item(resource)
        prefix = G.scope_prefix(str(grant.row_scope["region_code"]))
        # A scoped grant without its division item cannot be served safely: fail closed.
        scope = f"starts_with(CAST({quote(col)} AS VARCHAR), '{prefix}')" if col else "false"
    return Shape(grant.id, current_relation(session, resource.id), plan,
                 {i.name: i.sql_type for i in items}, scope)


# One DuckDB connection per thread: a fresh one per call costs more than the query.
_local = threading.local()


def connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = get_engine().connect()
    return con


def _json_value(v: Any) -> Any:
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _filters_sql(sh: Shape, filters: dict[str, str]) -> tuple[list[str], list[Any]]:
    clear = {c.name for c in sh.plan.leaving if masking.OPERATORS[c.operator.name].clear}
    conds, params = [], []
    for name, value in filters.items():
        if name not in sh.types:
            raise DomainError("filter_not_granted", "不能按未授权的信息项“{name}”筛选", name=name)
        if name not in clear:
            raise DomainError("filter_masked", "信息项“{name}”按策略脱敏后共享，不能按其原值筛选", name=name)
        conds.append(f"{quote(name)} = CAST(? AS {sh.types[name]})")
        params.append(value)
    return conds, params


def _cursor(after: str | None) -> tuple[int, int] | None:
    if not after:
        return None
    try:
        b, r = after.split(".", 1)
        return int(b), int(r)
    except ValueError:
        raise DomainError("cursor_invalid", "分页游标无效：{value}", value=after) from None


def query_page(sh: Shape, filters: dict[str, str], limit: int, after: str | None) -> pa.Table:
    conds, params = _filters_sql(sh, filters)
    if sh.scope_sql:
        conds.append(sh.scope_sql)
    cur = _cursor(after)
    if cur:
        conds.append("(_batch, _row) > (?, ?)")
        params += list(cur)
    where = f"WHERE {' AND '.join(conds)} " if conds else ""
    sql = sh.plan.sql(sh.relation, sh.types, passthrough=("_batch", "_row"),
                      tail=f"{where}ORDER BY _batch, _row LIMIT {int(limit)}")
    con = connection()
    masking.prepare(con, sql)
    return con.execute(sql, params).to_arrow_table()


def rows(db: Database, actor: Actor, grant_id: int, filters: dict[str, str], *, limit: int = DEFAULT_LIMIT,
         after: str | None = None) -> dict[str, Any]:
    limit = max(1, min(int(limit), MAX_LIMIT))
    with db.read() as s:
        grant = G.usable_grant(s, actor, grant_id, "接口")
        sh = shape(s, grant)
        s.expunge(grant)  # used after the read ends (ids, items, rate)
    try:
        G.check_rate(grant, "rows")
        table = query_page(sh, filters, limit, after)
    except DomainError as exc:
        _record(db, actor, grant, "rows", list(filters), 0, exc.code)
        raise
    n = table.num_rows
    nxt = None
    if n == limit:
        nxt = f"{table.column('_batch')[n - 1].as_py()}.{table.column('_row')[n - 1].as_py()}"
    table = table.drop_columns(["_batch", "_row"])
    cols = table.column_names
    data = [[_json_value(v) for v in col.to_pylist()] for col in table.columns]
    out_rows = [dict(zip(cols, vals, strict=True)) for vals in zip(*data, strict=True)] if cols else [{}] * n
    _record(db, actor, grant, "rows", list(filters), n, "ok")
    return {"grant_id": grant.id, "items": cols, "denied": sh.plan.denied,
            "masking": {c.name: str(c.operator) for c in sh.plan.leaving}, "rows": out_rows, "next": nxt}


def _record(db: Database, actor: Actor, grant: G.Grant, kind: str, filters: list[str], n: int, outcome: str) -> None:
    with db.write() as s:
        G.record_usage(s, actor, s.get(G.Grant, grant.id), kind, filters=filters, rows=n, outcome=outcome)


# --- file delivery ------------------------------------------------------------------------------


def delivery_dir() -> Path:
    return get_settings().home / "deliveries"


def request_delivery(db: Database, actor: Actor, grant_id: int, fmt: str) -> G.Delivery:
    if fmt not in FORMATS:
        raise DomainError("delivery_format", "未知的取值“{value}”，可选：{allowed}", value=fmt,
                          allowed="、".join(FORMATS))
    with db.write() as s:
        grant = G.usable_grant(s, actor, grant_id, "文件")
        G.check_rate(grant, "delivery")
        d = G.Delivery(grant_id=grant.id, format=fmt, status="排队", requested_by=actor.username, created_at=utcnow())
        s.add(d)
        s.flush()
        # The platform runs the job on the grantee's behalf (the grantee holds no job rights).
        job = jobs.enqueue(s, Actor.system(), "share.deliver", {"delivery_id": d.id})
        d.job_id = job.id
        G.record_usage(s, actor, grant, "delivery", outcome="ok")
        s.flush()
        s.expunge(d)
        return d


@jobs.register("share.deliver")
def deliver(db: Database, job: Any) -> dict[str, Any]:
    """Write the grant's whole masked scope to a file (temporary name, then renamed)."""
    delivery_id = int(job.payload["delivery_id"])
    with db.read() as s:
        d = s.get(G.Delivery, delivery_id)
        grant = s.get(G.Grant, d.grant_id)
        sh = shape(s, grant)
        fmt = d.format
    conds = [sh.scope_sql] if sh.scope_sql else []
    where = f"WHERE {' AND '.join(conds)} " if conds else ""
    sql = sh.plan.sql(sh.relation, sh.types, tail=f"{where}ORDER BY _batch, _row")
    table = masking.execute(sql)
    target = delivery_dir()
    target.mkdir(parents=True, exist_ok=True)
    final = target / f"{delivery_id}.{fmt}"
    tmp = target / f".{delivery_id}.{fmt}.tmp"
    if fmt == "csv":
        pacsv.write_csv(table, tmp)
    else:
        pq.write_table(table, tmp)
    os.replace(tmp, final)
    with db.write() as s:
        d = s.get(G.Delivery, delivery_id)
        d.status, d.path, d.rows, d.ready_at = "就绪", final.name, table.num_rows, utcnow()
    return {"rows": table.num_rows}


def get_delivery(db: Database, actor: Actor, delivery_id: int) -> dict[str, Any]:
    with db.read() as s:
        d = s.get(G.Delivery, delivery_id)
        if d is None or not G.can_see(s, actor, s.get(G.Grant, d.grant_id)):
            raise NotFound(f"交付文件 {delivery_id}", "delivery_not_found")
        return delivery_dict(d)


def delivery_dict(d: G.Delivery) -> dict[str, Any]:
    return {"id": d.id, "grant_id": d.grant_id, "format": d.format, "status": d.status, "job_id": d.job_id,
            "rows": d.rows, "created_at": d.created_at, "ready_at": d.ready_at, "downloaded_at": d.downloaded_at}


def download(db: Database, actor: Actor, delivery_id: int) -> tuple[bytes, str]:
    """The file, once: the first download claims it (an atomic update) and the file is deleted."""
    with db.write() as s:
        d = s.get(G.Delivery, delivery_id)
        if d is None:
            raise NotFound(f"交付文件 {delivery_id}", "delivery_not_found")
        grant = s.get(G.Grant, d.grant_id)
        if not actor.acts_for_org(grant.consumer_org_id, G.Role.CONSUMER):
            if G.can_see(s, actor, grant):
                raise PermissionDenied("下载他人的交付文件", "grant_wrong_org")
            raise NotFound(f"交付文件 {delivery_id}", "delivery_not_found")
        if d.status == "已下载":
            raise G.Gone("delivery_gone", "交付文件 {id} 已下载过一次，文件已删除；如需再取请重新申请交付", id=d.id)
        if d.status != "就绪":
            raise G.GrantUnusable("delivery_not_ready", "交付文件 {id} 尚未生成（{status}）", id=d.id, status=d.status)
        claimed = s.execute(update(G.Delivery).where(G.Delivery.id == d.id, G.Delivery.status == "就绪")
                            .values(status="已下载", downloaded_at=utcnow())).rowcount
        if claimed != 1:
            raise G.Gone("delivery_gone", "交付文件 {id} 已下载过一次，文件已删除；如需再取请重新申请交付", id=d.id)
        path = delivery_dir() / d.path
        data = path.read_bytes()
        G.record_usage(s, actor, grant, "download", rows=d.rows or 0)
        name = f"grant{grant.id}-delivery{d.id}.{d.format}"
    path.unlink(missing_ok=True)
    return data, name
