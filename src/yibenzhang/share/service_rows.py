"""The row service of a grant (接口) and its file delivery (文件).

What a call returns is the grant's masked view of the resource's current relation: granted
items only, masked for exit path 共享 (grade per item; ungraded → the strictest), the grant's
回流 row scope applied, equality filters on granted items that leave in clear, keyset
pagination. The cursor is the row's place in the zone (`_batch`, `_row`), never a key value: a
key item may be ungranted or masked, and a cursor must not carry it out in clear.

The view is computed once per resource version into an in-memory snapshot (`snapshot.py`), so
a page is a binary search and a slice; a resource beyond the snapshot limits (or with
YBZ_SHARE_SNAPSHOTS=off) is served by one query per call over the same plan. Both give the same
rows (tests/share/test_speed_paths.py). Every read is a port plan (zone.port: a sqlglot tree whose
filter values, scope prefix and cursor are literals) run by the in-process engine.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select, update
from sqlglot import exp

from .. import jobs
from ..access import Actor
from ..catalog.model import Resource
from ..classify import masking
from ..classify import policies as P
from ..config import get_settings
from ..db import Database, utcnow
from ..errors import Conflict, DomainError, NotFound, PermissionDenied, StorageFull, is_no_space
from ..i18n import N_
from ..ledger.model import LedgerAnchor, LedgerEvent
from ..ledger.service import ANCHOR_ID
from ..orgs.model import Org
from ..params import INT32_MAX, parse_int
from ..zone import port
from ..zone.engine import EngineError, Work, engine_for, json_value
from ..zone.functions import Function
from ..zone.service import column_type, live_state
from ..zone.storage import crash_point
from . import grants as G
from . import snapshot

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class Shape:
    """What a grant lets out of its resource: the masking plan, column types, scope."""

    grant_id: int
    state: port.LiveState
    plan: P.MaskPlan
    types: dict[str, str]
    scope: exp.Expression | None  # None or a condition on the division item (copy it into a plan)
    record_count: int | None = None  # current rows of the resource (snapshot size limit)
    view: str = ""  # the whole masked, scoped view in zone order: what a snapshot holds (its key)
    view_plan: exp.Select | None = None  # that view as a plan (None: every item withheld)
    functions: tuple[Function, ...] = ()  # the keyed masking functions the plans call

    @property
    def snapshot_ok(self) -> bool:
        return bool(self.view) and snapshot.enabled() and (self.record_count or 0) <= snapshot.MAX_ROWS

    @cached_property
    def items(self) -> list[str]:
        """The items a call returns (computed once per cached shape: one list shared by every
        usage record of the hot path)."""
        return [c.name for c in self.plan.leaving]


def shape(session: Any, grant: Any) -> Shape:
    resource = session.get(Resource, grant.resource_id)
    granted = set(grant.items)
    items = [i for i in _mask_items(session, resource) if i.name in granted]
    plan = P.plan(items, G.EXIT_PATH, purpose=f"share-grant:{grant.id}")
    scope = None
    if grant.row_scope:
        col = G.division_item(resource)
        prefix = G.scope_prefix(str(grant.row_scope["region_code"]))
        # A scoped grant without its division item cannot be served safely: fail closed.
        scope = exp.func("starts_with", exp.Cast(this=port.col(col), to=port.sql_type("VARCHAR")),
                         exp.Literal.string(prefix)) if col else exp.false()
    state = live_state(session, resource.id)
    types = {i.name: i.sql_type for i in items}
    if not plan.leaving:
        return Shape(grant.id, state, plan, types, scope, resource.record_count)
    view_plan = plan.query(types, passthrough=port.META, where=_copy(scope), order=port.META)
    view = f"{state.fingerprint}\n{view_plan.sql(dialect='duckdb')}"
    return Shape(grant.id, state, plan, types, scope, resource.record_count, view, view_plan,
                 tuple(P.functions(view_plan)))


def _copy(expression: exp.Expression | None) -> exp.Expression | None:
    return expression.copy() if expression is not None else None


def servable(session: Any, grant: Any) -> dict[str, Any]:
    """What the grant's masking plan lets leave today: a grant whose every item is withheld
    (grades not confirmed, or not shareable) serves nothing, and the consumer and the provider are
    told so on the grant, not by a delivery that fails later."""
    return servable_items(session, grant.resource_id, grant.items, f"share-grant:{grant.id}")


def servable_items(session: Any, resource_id: int, items: list[str], purpose: str) -> dict[str, Any]:
    """servable() of items not yet granted: what a request's approver is told before approving."""
    resource = session.get(Resource, resource_id)
    wanted = set(items)
    plan = P.plan([i for i in _mask_items(session, resource) if i.name in wanted], G.EXIT_PATH, purpose=purpose)
    return {"serves_nothing": not plan.leaving, "withheld_items": plan.denied}


def _mask_items(session: Any, resource: Resource) -> list[P.MaskItem]:
    """policies.resource_items without the recognizers on the request path: stored categories
    (decision, else suggestions) and grades; an item with none falls back to its name's
    categories, recognized once per process (same answer as before, memoized)."""

    known = P._stored_categories(session, resource)
    return [P.MaskItem(i.name, tuple(known[i.id]) if i.id in known else _by_name(i.name, i.description),
                       i.grade, column_type(i)) for i in resource.items]


@lru_cache(maxsize=4096)
def _by_name(name: str, description: str | None) -> tuple[str, ...]:
    return tuple(P._categories_by_name(name, description))


# --- the per-grant cache --------------------------------------------------------------------------
#
# A grant's view and shape (items, masking plan and SQL, scope, relation) are kept CACHE_SECONDS,
# keyed by the database, the grant's id and the ledger head: revoking a grant, publishing a batch
# or changing a classification appends a ledger event, which moves the head, so the cache never
# serves a revoked grant or a stale relation. Validity dates are checked on every call.

CACHE_SECONDS = float(os.environ.get("YBZ_SHARE_CACHE_SECONDS") or 5.0)
_cache: dict[tuple[int, int], tuple[float, tuple[int, str], G.GrantView, Shape]] = {}
_cache_lock = threading.Lock()
_refreshing = threading.Lock()


_HEAD_SQL = f"SELECT seq, digest FROM {LedgerAnchor.__tablename__} WHERE id = {int(ANCHOR_ID)}"


def ledger_head(db: Database) -> tuple[int, str]:
    """The ledger's last sequence number and digest: one indexed read on a pooled DB-API
    connection (no ORM session, no transaction on SQLite), the one database round trip of a
    warm data-service call."""
    conn = db.engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute(_HEAD_SQL)
        row = cur.fetchone()
        cur.close()
    finally:
        conn.close()
    return (int(row[0]), str(row[1])) if row else (0, "")


# The caches of the data calls are valid for an "epoch": the ledger head, except that events the
# data service itself appends (its usage summaries, every second under load) do not
# start a new one — a revocation, publication, classification, role or token change does. Without
# this, every usage flush made all concurrent callers re-resolve token, grant and shape at once.
UNEVENTFUL = ("share.usage",)
_epochs: dict[int, tuple[tuple[int, str], tuple[int, str]]] = {}  # id(db) → (head seen, its epoch)


def _eventful_between(db: Database, after_seq: int, upto_seq: int) -> bool:
    q = (select(LedgerEvent.seq).where(LedgerEvent.seq > after_seq, LedgerEvent.seq <= upto_seq,
                                       LedgerEvent.action.not_in(UNEVENTFUL)).limit(1))
    with db.engine.connect() as conn:
        return conn.execute(q).first() is not None


def data_epoch(db: Database) -> tuple[int, str]:
    """The epoch the data calls' caches are checked against (one read of the ledger head; one
    more, indexed by sequence number, when the head has moved)."""
    head = ledger_head(db)
    seen = _epochs.get(id(db))
    if seen is not None and seen[0] == head:
        return seen[1]
    quiet = seen is not None and head[0] > seen[0][0] and not _eventful_between(db, seen[0][0], head[0])
    epoch = seen[1] if quiet and seen is not None else head
    _epochs[id(db)] = (head, epoch)
    return epoch


def grant_and_shape(db: Database, actor: Actor, grant_id: int, mode: str,
                    head: tuple[int, str] | None = None) -> tuple[G.GrantView, Shape]:
    """The usable grant (checked for this actor, mode and today) and its shape, cached."""
    key = (id(db), int(grant_id))
    now = time.monotonic()
    head = head or data_epoch(db)
    hit = _cache.get(key)
    must = hit is None or hit[1] != head
    # Past CACHE_SECONDS in the same epoch, one caller refreshes and the others go on with the
    # entry (nothing recorded has changed); a new epoch makes every caller wait for fresh facts.
    if must or (now - hit[0] > CACHE_SECONDS and _refreshing.acquire(blocking=False)):
        try:
            with db.read() as s:
                grant = s.get(G.Grant, grant_id)
                if grant is None:
                    raise NotFound(f"共享授权 {grant_id}", "grant_not_found")
                hit = (now, head, G.GrantView.of(grant), shape(s, grant))
            with _cache_lock:
                old = _cache.get(key)
                _cache[key] = hit
            if old is not None and old[3].view != hit[3].view:
                snapshot.discard(old[3].view)  # a superseded version: free its memory now
        finally:
            if not must:
                _refreshing.release()
    assert hit is not None
    view, sh = hit[2], hit[3]
    G.check_usable(actor, view, mode)
    return view, sh


def cached(db: Database, grant_id: int, head: tuple[int, str]) -> tuple[G.GrantView, Shape] | None:
    """The cached grant and shape if still valid under `head` (no database access)."""
    hit = _cache.get((id(db), int(grant_id)))
    if hit is None or hit[1] != head:
        return None
    return hit[2], hit[3]


def warm(db: Database, grant_id: int, head: tuple[int, str]) -> bool:
    """Whether a row call on this grant needs no query and no build (served from memory)."""
    hit = cached(db, grant_id, head)
    return hit is not None and hit[1].snapshot_ok and snapshot.has(hit[1].view)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _json_heads.clear()
        _epochs.clear()
    snapshot.clear()
    _cast.cache_clear()


_SPECIAL = (bytes, date, datetime, Decimal)


def _filters(sh: Shape, filters: dict[str, str]) -> list[exp.Expression]:
    """Equality filters on granted items that leave in clear, each value a literal cast to its
    item's type (a value that is not one is refused: `filter_value_invalid`)."""
    clear = {c.name for c in sh.plan.leaving if masking.OPERATORS[c.operator.name].clear}
    conds = []
    for name, value in filters.items():
        if name not in sh.types:
            raise DomainError("filter_not_granted", "不能按未授权的信息项“{name}”筛选", name=name)
        if name not in clear:
            raise DomainError("filter_masked", "信息项“{name}”按策略脱敏后共享，不能按其原值筛选", name=name)
        conds.append(port.equals(name, value, sh.types[name]))
    return conds


def _cursor(after: str | None) -> tuple[int, int] | None:
    if not after:
        return None
    # batch.row as issued by a page: a batch id fits 31 bits and a row number 32 (the snapshot's
    # keys are batch << 32 | row); anything else was never issued.
    b, _, r = after.partition(".")
    batch, row = parse_int(b, 0, INT32_MAX), parse_int(r, 0, 2**32 - 1)
    if batch is None or row is None or not (b.isdigit() and r.isdigit()):
        raise DomainError("cursor_invalid", "分页游标无效：{value}", value=after[:40])
    return batch, row


def _typed(sql_type: str, value: str, name: str) -> Any:
    """A filter value as the engine's CAST(value AS type) makes it (what the per-call query
    compares)."""
    if sql_type.upper() == "VARCHAR":
        return value
    return _cast(sql_type, value, name)


@lru_cache(maxsize=4096)
def _cast(sql_type: str, value: str, name: str) -> Any:
    try:
        return engine_for(Work.LOOKUP).value(port.typed(value, sql_type))
    except EngineError:
        raise DomainError("filter_value_invalid", "筛选值“{value}”不是信息项“{name}”的有效取值", value=value,
                          name=name) from None


def _json_texts(table: pa.Table) -> pa.Table:
    """Each row of `table` as one JSON object text, by the engine, in the table's order."""
    fields = [exp.PropertyEQ(this=port.ident(n), expression=port.col(n)) for n in table.column_names]
    plan = exp.select(exp.func("to_json", exp.Struct(expressions=fields))).from_(port.RELATION)
    return engine_for(Work.PAGE).rows(table, plan)


def row_snapshot(sh: Shape) -> snapshot.Snapshot:
    assert sh.view_plan is not None

    def build() -> pa.Table:
        return engine_for(Work.PAGE).rows(sh.state, sh.view_plan, functions=sh.functions)

    def wrap(table: pa.Table, seconds: float) -> snapshot.Snapshot:
        snap = snapshot.Snapshot.of(table, seconds)
        if snap.json_safe:  # each row's JSON once, by the engine, in the snapshot's order
            texts = _json_texts(snap.table).column(0).combine_chunks()
            if len(texts) == snap.num_rows:
                snap.json = texts
        return snap
    return snapshot.get(sh.view, snapshot.timed(build, wrap))


def query_page(sh: Shape, filters: dict[str, str], limit: int, after: str | None) -> tuple[list[str], list[tuple]]:
    if sh.snapshot_ok:
        _filters(sh, filters)  # the same refusals as the query path
        equal = {name: _typed(sh.types[name], value, name) for name, value in filters.items()}
        return row_snapshot(sh).page(equal, limit, _cursor(after))
    return query_page_sql(sh, filters, limit, after)


def page_plan(sh: Shape, filters: dict[str, str], limit: int, after: str | None) -> exp.Select:
    """A page as a plan: the grant's masked projection with the filters, the scope and the
    keyset cursor in its inner projection, before any masking; every value a literal."""
    conds = _filters(sh, filters)
    for name, value in filters.items():  # the snapshot path's refusal of a value not of the type
        _typed(sh.types[name], value, name)
    if sh.scope is not None:
        conds.append(sh.scope.copy())
    cur = _cursor(after)
    if cur:
        conds.append(port.after(port.META, cur))
    return sh.plan.query(sh.types, passthrough=port.META, where=port.all_of(conds), order=port.META,
                         limit=int(limit))


def query_page_sql(sh: Shape, filters: dict[str, str], limit: int, after: str | None) -> tuple[list[str], list[tuple]]:
    """One query per page (resources beyond the snapshot limits)."""
    plan = page_plan(sh, filters, limit, after)
    table = engine_for(Work.PAGE).rows(sh.state, plan, functions=sh.functions)
    return table.column_names, port.rows_of(table)


def rows(db: Database, actor: Actor, grant_id: int, filters: dict[str, str], *, limit: int = DEFAULT_LIMIT,
         after: str | None = None, head: tuple[int, str] | None = None) -> dict[str, Any]:
    limit = max(1, min(int(limit), MAX_LIMIT))
    grant, sh = grant_and_shape(db, actor, grant_id, "接口", head)
    try:
        G.check_rate(grant, "rows", db=db)
        names, got = query_page(sh, filters, limit, after)
    except DomainError as exc:
        _record(db, actor, grant, "rows", list(filters), 0, exc.code)
        raise
    n = len(got)
    nxt = f"{got[-1][-2]}.{got[-1][-1]}" if n == limit else None  # (_batch, _row) come last
    cols = names[:-2]
    out_rows = [dict(zip(cols, row, strict=False)) for row in got]
    # Only columns holding a value JSON cannot carry (bytes, dates, decimals) are converted.
    for c in {c for r in out_rows for c, v in r.items() if isinstance(v, _SPECIAL)}:
        for r in out_rows:
            r[c] = json_value(r[c])
    _record(db, actor, grant, "rows", list(filters), n, "ok", sh.items)
    return {"grant_id": grant.id, "items": cols, "denied": sh.plan.denied,
            "masking": {c.name: str(c.operator) for c in sh.plan.leaving}, "rows": out_rows, "next": nxt}


_json_heads: dict[tuple[int, str], str] = {}


def rows_json(db: Database, actor: Actor, grant_id: int, filters: dict[str, str], *, limit: int = DEFAULT_LIMIT,
              after: str | None = None, head: tuple[int, str] | None = None) -> bytes | None:
    """`rows` as JSON bytes, joined from the snapshot's per-row JSON texts (the HTTP hot path);
    None when the grant's view has no JSON texts (then use `rows`)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    grant, sh = grant_and_shape(db, actor, grant_id, "接口", head)
    if not sh.snapshot_ok:
        return None
    snap = row_snapshot(sh)
    if snap.json is None:
        return None
    try:
        G.check_rate(grant, "rows", db=db)
        _filters(sh, filters)
        equal = {name: _typed(sh.types[name], value, name) for name, value in filters.items()}
        texts, last = snap.page_json(equal, limit, _cursor(after))
    except DomainError as exc:
        _record(db, actor, grant, "rows", list(filters), 0, exc.code)
        raise
    n = len(texts)
    start = _json_heads.get((grant.id, sh.view))
    if start is None:
        start = json.dumps({"grant_id": grant.id, "items": snap.table.column_names, "denied": sh.plan.denied,
                            "masking": {c.name: str(c.operator) for c in sh.plan.leaving}},
                           ensure_ascii=False, separators=(",", ":"))[:-1]
        _json_heads[(grant.id, sh.view)] = start
    nxt = f'"{last[0]}.{last[1]}"' if n == limit and last else "null"
    _record(db, actor, grant, "rows", list(filters), n, "ok", sh.items)
    return f'{start},"rows":[{",".join(texts)}],"next":{nxt}}}'.encode()


def _record(db: Database, actor: Actor, grant: Any, kind: str, filters: list[str], n: int, outcome: str,
            items: list[str] | None = None) -> None:
    """The call's usage record — the access log of this exit (issue 23): item names and the row
    count, never a value; stored (committed) before the answer is sent (issue 14)."""
    G.USAGE.add(db, actor, grant, kind, filters=filters, rows=n, outcome=outcome, items=items)


def _file_items(data: bytes, fmt: str) -> list[str]:
    """The column names of a delivery file (what left, as it left)."""
    if fmt == "csv":
        import csv
        import io

        head = data.split(b"\n", 1)[0].decode("utf-8-sig")
        return next(csv.reader(io.StringIO(head)), [])
    return pq.read_schema(pa.BufferReader(data)).names


# --- file delivery ------------------------------------------------------------------------------


def delivery_dir() -> Path:
    return get_settings().home / "deliveries"


def request_delivery(db: Database, actor: Actor, grant_id: int, fmt: str) -> G.Delivery:
    if fmt not in FORMATS:
        raise DomainError("delivery_format", "未知的取值“{value}”，可选：{allowed}", value=fmt,
                          allowed="、".join(FORMATS))
    with db.read() as s:
        G.check_rate(G.usable_grant(s, actor, grant_id, "文件"), "delivery", db=db)  # before the write lock
    with db.write() as s:
        grant = G.usable_grant(s, actor, grant_id, "文件")
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


DELIVERY_STATES_EN = {"排队": "queued", "就绪": "ready", "已下载": "downloaded", "失败": "failed"}


def _delivery_failed(session: Any, job: jobs.Job) -> None:
    """The job's failure shown on its delivery (same transaction): given up → 失败; a failed
    attempt that will be retried leaves it 排队 (delivery_dict shows the reason and the retry)."""
    if job.status == jobs.JobStatus.GAVE_UP.value:
        d = session.get(G.Delivery, int(job.payload.get("delivery_id", 0)))
        if d is not None and d.status == "排队":
            d.status = "失败"
            # deferred: keeps httpx out of this module's import
            from ..lineage import share as lineage

            grant = session.get(G.Grant, d.grant_id)
            lineage.failed(session, resource_code=session.get(Resource, grant.resource_id).code, grant_id=grant.id,
                           code=job.error_code or "delivery_failed")


# A DomainError in a delivery is a rule (masking policy, grant state), the same on every retry.
@jobs.register("share.deliver", final=(DomainError,), on_failure=_delivery_failed)
def deliver(db: Database, job: Any) -> dict[str, Any]:
    """Write the grant's whole masked scope to a file (temporary name, then renamed)."""
    delivery_id = int(job.payload["delivery_id"])
    with db.read() as s:
        d = s.get(G.Delivery, delivery_id)
        grant = s.get(G.Grant, d.grant_id)
        sh = shape(s, grant)
        fmt = d.format
    if not sh.plan.leaving:  # every granted item withheld: say what would make the grant serve
        raise DomainError(
            "delivery_nothing_to_serve",
            "授权的信息项全部被脱敏策略拦截，没有可交付的内容：请提供方确认信息项分级后重新申请交付")
    plan = sh.plan.query(sh.types, where=_copy(sh.scope), order=port.META)
    engine = engine_for(Work.DELIVERY, input_bytes=sh.state.bytes, keyed=bool(sh.functions))
    table = engine.query(sh.state, plan, functions=sh.functions)
    target = delivery_dir()
    target.mkdir(parents=True, exist_ok=True)
    final = target / f"{delivery_id}.{fmt}"
    tmp = target / f".{delivery_id}.{fmt}.tmp"
    try:
        if fmt == "csv":
            pacsv.write_csv(table, tmp)
        else:
            pq.write_table(table, tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if is_no_space(exc):
            raise StorageFull() from None
        raise
    crash_point("delivery_written")
    os.replace(tmp, final)  # a retry after a crash writes the same names again: one file, whole
    crash_point("delivery_renamed")
    with db.write() as s:
        d = s.get(G.Delivery, delivery_id)
        d.status, d.path, d.rows, d.ready_at = N_("就绪"), final.name, table.num_rows, utcnow()
        _delivery_lineage(s, d, table, final.stat().st_size, {c.name: str(c.operator) for c in sh.plan.leaving})
    return {"rows": table.num_rows}


def _delivery_lineage(s: Any, d: G.Delivery, table: Any, size: int, operators: dict[str, str]) -> None:
    """Issue 18: the delivery's OpenLineage event, in the transaction that makes it ready."""
    # deferred: keeps httpx out of this module's import
    from ..lineage import share as lineage

    grant = s.get(G.Grant, d.grant_id)
    columns = [(f.name, str(f.type), operators.get(f.name, "none")) for f in table.schema]
    lineage.delivered(s, resource_code=s.get(Resource, grant.resource_id).code,
                      consumer_uscc=s.get(Org, grant.consumer_org_id).uscc, grant_id=grant.id, delivery_id=d.id,
                      rows=table.num_rows, columns=columns, size=size)


def get_delivery(db: Database, actor: Actor, delivery_id: int) -> dict[str, Any]:
    with db.read() as s:
        d = s.get(G.Delivery, delivery_id)
        if d is None or not G.can_see(s, actor, s.get(G.Grant, d.grant_id)):
            raise NotFound(f"交付文件 {delivery_id}", "delivery_not_found")
        return delivery_dict(d, s.get(jobs.Job, d.job_id) if d.job_id else None)


def _reason(text: str | None, code: str | None) -> str | None:
    """A job's error text without its leading `code: ` (the code is a field of its own)."""
    if text and code and text.startswith(f"{code}: "):
        return text[len(code) + 2:]
    return text


def delivery_dict(d: G.Delivery, job: jobs.Job | None = None) -> dict[str, Any]:
    """A delivery as its consumer and the provider see it: state, and while it is failing or
    failed, why (code, zh and en) and when the next try comes — never only a job id to chase."""
    out = {"id": d.id, "grant_id": d.grant_id, "format": d.format, "status": d.status,
           "status_en": DELIVERY_STATES_EN.get(d.status, d.status), "job_id": d.job_id, "rows": d.rows,
           "created_at": d.created_at, "ready_at": d.ready_at, "downloaded_at": d.downloaded_at,
           "error_code": None, "reason": None, "reason_en": None, "attempts": None, "retry_at": None}
    if job is not None and job.error_code and d.status in ("排队", "失败"):
        out.update(error_code=job.error_code, reason=_reason(job.last_error, job.error_code),
                   reason_en=_reason(job.last_error_en, job.error_code), attempts=job.attempts,
                   retry_at=job.run_at if job.status == jobs.JobStatus.FAILED.value else None)
    return out


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
        if d.status == "失败":
            job = s.get(jobs.Job, d.job_id) if d.job_id else None
            raise Conflict("delivery_failed", "交付文件 {id} 生成失败：{reason}", id=d.id,
                           reason=_reason(job.last_error, job.error_code) if job else "")
        if d.status != "就绪":
            raise G.GrantUnusable("delivery_not_ready", "交付文件 {id} 尚未生成（{status}）", id=d.id, status=d.status)
        claimed = s.execute(update(G.Delivery).where(G.Delivery.id == d.id, G.Delivery.status == "就绪")
                            .values(status=N_("已下载"), downloaded_at=utcnow())).rowcount
        if claimed != 1:
            raise G.Gone("delivery_gone", "交付文件 {id} 已下载过一次，文件已删除；如需再取请重新申请交付", id=d.id)
        path = delivery_dir() / d.path
        data = path.read_bytes()
        # The access log of this exit (issue 23): the file's own columns and rows, never a value.
        G.record_usage(s, actor, grant, "download", rows=d.rows or 0, items=_file_items(data, d.format))
        name = f"grant{grant.id}-delivery{d.id}.{d.format}"
    path.unlink(missing_ok=True)
    return data, name
