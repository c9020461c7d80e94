"""Database pulls: stream a table or query from any SQLAlchemy URL into the zone, full or
incremental by a since-column; and the schedules that run them on a resource's 更新周期.

Rows come off a server-side cursor (stream_results + yield_per) in chunks and are turned into
all-string Arrow record batches column by column (pyarrow builds and casts each column in C; no
Python loop per row): the pipeline maps and coerces them like any file's.

Incremental pulls are bounded: the upper value of the since-column is read first, then only
rows with last < value <= upper are taken, and both bounds go into the batch's `source`. The
remembered last value therefore lives in the batch manifest, published in the pipeline's own
transaction; `collect_pull_cursors` is a cache of it written right after the batch (a crash in
between is healed on the next pull by reading the newest published batch of that source).
Only a published batch advances the cursor: a held batch (too many rejects) is pulled again.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from .. import jobs
from ..access import Actor, can_read_all, require
from ..catalog import service as catalog
from ..catalog.model import Resource
from ..config import get_settings
from ..crypto import canonical_json, sm3_hex, sm4_decrypt, sm4_encrypt, sm4_key
from ..db import Database, utcnow
from ..enums import Role, UpdateCycle
from ..errors import ErrorBag, ValidationFailed
from ..i18n import N_
from ..ledger import service as ledger
from ..registry import load
from .model import CollectSchedule, PullCursor

CHUNK_ROWS = 50_000  # rows per record batch: ~20 string columns stay well under 100 MB
LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # schedules run on Beijing time; timestamps shown in it
REALTIME_MINUTES = 5  # 实时 resources are pulled every 5 minutes (a pull, not a stream)
DEFAULT_HOUR = 2  # daily and longer cycles run at 02:00, outside office hours
MODES = ("全量", "追加", "更新")  # zone.model.BatchMode values
INCREMENTAL_MODES = ("追加", "更新")
PUBLISHED = "已发布"  # zone.model.BatchStatus.PUBLISHED
NOTHING_NEW = N_("无新数据")
KIND = "collect.pull"


# --- sources ---------------------------------------------------------------------------------


def _url(raw: str) -> sa.engine.URL:
    try:
        return sa.engine.make_url(raw)
    except ArgumentError:
        raise ValidationFailed("pull_bad_url", "数据库连接地址“{value}”无法识别", value=_masked(raw)) from None


def _masked(raw: str) -> str:
    head, sep, tail = raw.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return raw
    scheme, _, cred = head.partition("//")
    return f"{scheme}//{cred.split(':', 1)[0]}:***@{tail}"


def display_url(raw: str) -> str:
    """The URL with its password masked: the only form ever shown or logged."""
    return _url(raw).render_as_string(hide_password=True)


def source_key(url: str, table: str | None, query: str | None, since_column: str | None) -> str:
    """Identifies a source regardless of its password (a changed password keeps the cursor)."""
    bare = _url(url)._replace(password=None).render_as_string(hide_password=False)
    return sm3_hex(canonical_json({"url": bare, "table": table, "query": query, "since": since_column}))


def _from(table: str | None, query: str | None) -> sa.FromClause:
    if bool(table) == bool(query):
        raise ValidationFailed("pull_table_or_query", "请指定数据表或查询语句（二者取其一）")
    if table:
        schema, _, name = table.rpartition(".")
        return sa.table(name, schema=schema or None)
    return sa.text(query.strip().rstrip(";")).columns().subquery("ybz_src")  # type: ignore[union-attr]


def _engine(url: str) -> sa.Engine:
    # No pool: a pull opens one connection for its duration and gives it back to the source.
    return sa.create_engine(url, poolclass=NullPool)


def encode_value(value: Any) -> dict[str, Any]:
    """A since-column value as JSON that decodes to the same Python type (bound with its type)."""
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    return {"type": "str", "value": str(value)}


def decode_value(data: dict[str, Any] | None) -> Any:
    if not data:
        return None
    kind, value = data.get("type"), data.get("value")
    return {
        "int": int, "float": float, "bool": bool, "decimal": Decimal, "str": str,
        "datetime": datetime.fromisoformat, "date": date.fromisoformat,
    }[kind](value)  # type: ignore[index]


def since_upper(url: str, *, table: str | None = None, query: str | None = None, since_column: str,
                after: Any = None) -> Any:
    """The largest since_column value above `after` now in the source (None: nothing new)."""
    src = _from(table, query)
    stmt = select(sa.func.max(sa.column(since_column))).select_from(src)
    if after is not None:
        stmt = stmt.where(sa.column(since_column) > sa.bindparam("after", after))
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(stmt).scalar()
    finally:
        engine.dispose()


def stream_batches(
    url: str, *, table: str | None = None, query: str | None = None, since_column: str | None = None,
    after: Any = None, upto: Any = None, chunk_rows: int = CHUNK_ROWS, drop: tuple[str, ...] = (),
) -> Iterator[pa.RecordBatch]:
    """Record batches of all-string columns from the source, `chunk_rows` at a time, read through
    a server-side cursor. At least one (possibly empty) batch is yielded so the columns are known."""
    src = _from(table, query)
    stmt = select(sa.literal_column("*")).select_from(src)
    if since_column and after is not None:
        stmt = stmt.where(sa.column(since_column) > sa.bindparam("after", after))
    if since_column and upto is not None:
        stmt = stmt.where(sa.column(since_column) <= sa.bindparam("upto", upto))
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(stmt)
            names = list(result.keys())
            keep = [i for i, n in enumerate(names) if n not in drop]
            out_names = [names[i] for i in keep]
            sent = False
            for rows in result.partitions(chunk_rows):
                columns = list(zip(*rows, strict=True))
                yield pa.RecordBatch.from_arrays([as_strings(columns[i]) for i in keep], names=out_names)
                sent = True
            if not sent:
                yield pa.RecordBatch.from_arrays([pa.array([], pa.string()) for _ in keep], names=out_names)
    finally:
        engine.dispose()


def as_strings(values: tuple[Any, ...] | list[Any] | pa.Array) -> pa.Array:
    """One column of driver values as an Arrow string array (NULLs stay null). Dates as
    YYYY-MM-DD, timestamps as YYYY-MM-DD HH:MM:SS in Beijing time when the source has a zone."""
    if isinstance(values, pa.Array):
        arr = values
        if pa.types.is_string(arr.type):
            return arr
    else:
        try:
            arr = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            # Mixed types (SQLite's dynamic typing, say): each value's own text form.
            return _texts(values)
    t = arr.type
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_timestamp(t):
        # Whole seconds (strftime's %S would add the unit's fraction), in Beijing time if zoned.
        arr = arr.cast(pa.timestamp("s", str(LOCAL_TZ) if t.tz is not None else None), safe=False)
        return pc.strftime(arr, format="%Y-%m-%d %H:%M:%S")
    if pa.types.is_string(t):
        return arr
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            return arr.cast(pa.string())
        except pa.ArrowInvalid:
            return pa.array([None if v is None else v.hex() for v in arr.to_pylist()], pa.string())
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _texts(values)


def _texts(values: Any) -> pa.Array:
    """Each value's own text form: the slow path, for columns Arrow cannot type or cast."""
    items = values.to_pylist() if isinstance(values, pa.Array) else values
    return pa.array([None if v is None else str(v) for v in items], pa.string())


# --- the pull -----------------------------------------------------------------------------------


def _collectable(session: Session, actor: Actor, resource: int | str) -> Resource:
    res = catalog.get_resource(session, actor, resource)
    require(actor.is_admin or actor.acts_for_org(res.org_id, Role.STEWARD), "采集数据")
    return res


def _default_mode(res: Resource, since_column: str | None, mode: str | None) -> str | None:
    if mode is not None and mode not in MODES:
        raise ValidationFailed("pull_bad_mode", "未知的取值“{value}”，可选：{allowed}", value=mode,
                               allowed="、".join(MODES))
    if not since_column:
        return mode
    if mode == "全量":
        raise ValidationFailed("pull_incremental_full", "按增量字段采集只能用“追加”或“更新”方式")
    return mode or ("更新" if any(i.is_key for i in res.items) else "追加")


def last_value(session: Session, resource_id: int, key: str) -> tuple[Any, int | None]:
    """The since value remembered for (resource, source): the cursor, or the newer bound recorded
    in a published batch of that source when the cursor write was lost to a crash."""
    cursor = session.get(PullCursor, (resource_id, key))
    value, batch_id = (decode_value(cursor.last_value), cursor.batch_id) if cursor else (None, None)

    batch_model = load("yibenzhang.zone.model:Batch")
    if batch_model is None:
        return value, batch_id
    stmt = (select(batch_model).where(batch_model.resource_id == resource_id, batch_model.status == PUBLISHED)
            .order_by(batch_model.id.desc()).limit(50))
    if batch_id is not None:
        stmt = stmt.where(batch_model.id > batch_id)
    for batch in session.execute(stmt).scalars():
        src = batch.source or {}
        if src.get("source_key") == key and src.get("since_upto") is not None:
            return decode_value(src["since_upto"]), batch.id
    return value, batch_id


@dataclass
class _NoNewRows:
    """The report of an incremental pull that found nothing new (no batch is written)."""

    mode: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": None, "batch_seq": None, "status": NOTHING_NEW, "mode": self.mode, "rows_read": 0,
                "rows_accepted": 0, "rows_rejected": 0, "reject_file": None, "seconds": 0.0,
                "rows_per_s": 0.0, "mb_per_s": 0.0, "quality": None}


def pull_database(
    db: Database, actor: Actor, resource: int | str, url: str, *, table: str | None = None,
    query: str | None = None, since_column: str | None = None, mode: str | None = None,
    progress: Callable[[Any], None] | None = None, chunk_rows: int = CHUNK_ROWS,
    mapping: dict[str, str] | None = None,
) -> Any:
    """Pull a table or query into `resource` (id or code) through the pipeline; returns its
    IngestReport. With since_column, only rows above the remembered value are taken. `mapping`
    (source column → item, "-" to ignore) is the pipeline's."""
    # deferred: keeps duckdb, sqlglot out of this module's import (and tests swap collect.pipeline)
    from . import pipeline

    _from(table, query)  # one of the two, before connecting anywhere
    with db.read() as s:
        res = _collectable(s, actor, resource)
        resource_id, item_names = res.id, {i.name for i in res.items}
        mode = _default_mode(res, since_column, mode)
        key = source_key(url, table, query, since_column)
        after, _ = last_value(s, resource_id, key) if since_column else (None, None)
    parsed = _url(url)
    source: dict[str, Any] = {
        "kind": "database", "driver": parsed.drivername, "host": parsed.host, "database": parsed.database,
        "table": table, "query_sm3": sm3_hex(query.encode()) if query else None, "source_key": key,
        "since_column": since_column,
    }
    upto = None
    if since_column:
        upto = since_upper(url, table=table, query=query, since_column=since_column, after=after)
        if upto is None:
            return _NoNewRows(mode)
        source["since_after"] = encode_value(after) if after is not None else None
        source["since_upto"] = encode_value(upto)
    # The since-column drives the pull; unless it is an item itself it is not a column of the rows.
    drop = (since_column,) if since_column and since_column not in item_names | set(mapping or {}) else ()
    batches = stream_batches(url, table=table, query=query, since_column=since_column, after=after, upto=upto,
                             chunk_rows=chunk_rows, drop=drop)
    try:
        report = pipeline.ingest_arrow(db, actor, resource_id, batches, source=source, mode=mode,
                                       mapping=mapping, progress=progress)
    finally:
        batches.close()  # a failed ingest must not leave the source connection (and its locks) open
    if since_column and report.status == PUBLISHED:
        with db.write() as s:
            remember(s, actor, resource_id, key, since_column, upto, report.batch_id)
    return report


def remember(session: Session, actor: Actor, resource_id: int, key: str, since_column: str, value: Any,
             batch_id: int | None) -> None:
    cursor = session.get(PullCursor, (resource_id, key))
    if cursor is None:
        cursor = PullCursor(resource_id=resource_id, source_key=key, since_column=since_column)
        session.add(cursor)
    cursor.last_value, cursor.batch_id, cursor.updated_at = encode_value(value), batch_id, utcnow()
    # The value itself stays out of the ledger (a since-column might be anything).
    ledger.append(session, actor, "collect.pull_cursor", "resource", resource_id,
                  {"source_key": key, "since_column": since_column, "batch_id": batch_id})


# --- schedules ----------------------------------------------------------------------------------


def next_run(cycle: str, after: datetime, hour: int = DEFAULT_HOUR) -> datetime | None:
    """The next pull strictly after `after` for an 更新周期 (UTC). Periods start on calendar
    boundaries in Beijing time at `hour`: 每日 every day, 每周 Mondays, 每月 the 1st, 每季度
    1 Jan/Apr/Jul/Oct, 每半年 1 Jan/Jul, 每年 1 Jan — calendar days, holidays included (a source
    system runs on holidays too; freshness is judged in working days by quality). 实时 every
    REALTIME_MINUTES; 不定期 never (manual runs only)."""
    c = UpdateCycle.parse(cycle)
    if c is UpdateCycle.REALTIME:
        return after + timedelta(minutes=REALTIME_MINUTES)
    if c is None or c is UpdateCycle.IRREGULAR:
        return None
    local = after.astimezone(LOCAL_TZ)

    def at(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, hour, tzinfo=LOCAL_TZ).astimezone(UTC)

    if c is UpdateCycle.DAILY:
        start, step_days = local.date(), 1
    elif c is UpdateCycle.WEEKLY:
        start, step_days = local.date() - timedelta(days=local.weekday()), 7
    else:
        months = {UpdateCycle.MONTHLY: 1, UpdateCycle.QUARTERLY: 3, UpdateCycle.HALF_YEARLY: 6,
                  UpdateCycle.YEARLY: 12}[c]
        first = date(local.year, (local.month - 1) // months * months + 1, 1)
        cand = at(first)
        while cand <= after:
            m = first.month - 1 + months
            first = date(first.year + m // 12, m % 12 + 1, 1)
            cand = at(first)
        return cand
    cand = at(start)
    while cand <= after:
        start += timedelta(days=step_days)
        cand = at(start)
    return cand


def _sealing_key() -> bytes:
    return sm4_key(get_settings().secret_key, "collect-source-url")


def seal(url: str) -> str:
    return base64.b64encode(sm4_encrypt(_sealing_key(), url.encode())).decode()


def unseal(sealed: str) -> str:
    return sm4_decrypt(_sealing_key(), base64.b64decode(sealed)).decode()


def create_schedule(
    session: Session, actor: Actor, resource: int | str, *, url: str, table: str | None = None,
    query: str | None = None, since_column: str | None = None, mode: str | None = None,
    hour: int = DEFAULT_HOUR,
) -> CollectSchedule:
    res = _collectable(session, actor, resource)
    bag = ErrorBag()
    if not 0 <= hour <= 23:
        bag.add("hour", "schedule_bad_hour", "时刻必须在0到23之间")
    bag.raise_if_any()
    _from(table, query)
    mode = _default_mode(res, since_column, mode)
    shown = display_url(url)
    now = utcnow()
    sched = CollectSchedule(
        resource_id=res.id, org_id=res.org_id, url_sealed=seal(url), url_display=shown, table_name=table,
        query=query, since_column=since_column, mode=mode, hour=hour, enabled=True,
        next_run_at=next_run(res.update_cycle, now, hour), created_by=actor.username, created_at=now, updated_at=now,
    )
    session.add(sched)
    session.flush()
    ledger.append(session, actor, "collect.schedule.create", "resource", res.id, {
        "schedule_id": sched.id, "source": shown, "table": table,
        "query_sm3": sm3_hex(query.encode()) if query else None, "since_column": since_column,
        "mode": mode, "update_cycle": res.update_cycle, "hour": hour,
    })
    return sched


def _schedule(session: Session, actor: Actor, schedule_id: int) -> CollectSchedule:
    sched = session.get(CollectSchedule, schedule_id)
    if sched is None or not (can_read_all(actor) or jobs.can_manage_org_jobs(actor, sched.org_id)):
        raise jobs.not_found("采集计划", schedule_id, "schedule_not_found")
    return sched


def list_schedules(session: Session, actor: Actor, resource: int | str | None = None) -> list[CollectSchedule]:
    stmt = select(CollectSchedule).order_by(CollectSchedule.id)
    if resource is not None:
        stmt = stmt.where(CollectSchedule.resource_id == catalog.get_resource(session, actor, resource).id)
    if not can_read_all(actor):
        stmt = stmt.where(CollectSchedule.org_id.in_(actor.org_ids(Role.STEWARD) or {-1}))
    return list(session.execute(stmt).scalars())


def schedule_dict(session: Session, sched: CollectSchedule) -> dict[str, Any]:
    res = session.get(Resource, sched.resource_id)
    return {
        "id": sched.id, "resource_id": sched.resource_id, "resource_code": res.code if res else None,
        "update_cycle": res.update_cycle if res else None, "org_id": sched.org_id,
        "source": sched.url_display + (f" {sched.table_name}" if sched.table_name else " (查询)"),
        "table": sched.table_name, "since_column": sched.since_column, "mode": sched.mode, "hour": sched.hour,
        "enabled": sched.enabled, "next_run_at": sched.next_run_at, "last_enqueued_at": sched.last_enqueued_at,
        "last_job_id": sched.last_job_id,
    }


def _enqueue_pull(session: Session, actor: Actor, sched: CollectSchedule, now: datetime) -> jobs.Job:
    job = jobs.enqueue(session, actor, KIND, {"schedule_id": sched.id}, dedupe_key=f"schedule:{sched.id}",
                       org_id=sched.org_id, run_at=now)
    sched.last_enqueued_at, sched.last_job_id, sched.updated_at = now, job.id, now
    return job


def run_schedule_now(session: Session, actor: Actor, schedule_id: int) -> jobs.Job:
    sched = _schedule(session, actor, schedule_id)
    require(jobs.can_manage_org_jobs(actor, sched.org_id), "运行采集计划")
    return _enqueue_pull(session, actor, sched, utcnow())


def set_schedule_enabled(session: Session, actor: Actor, schedule_id: int, enabled: bool) -> CollectSchedule:
    sched = _schedule(session, actor, schedule_id)
    require(jobs.can_manage_org_jobs(actor, sched.org_id), "修改采集计划")
    sched.enabled, sched.updated_at = enabled, utcnow()
    ledger.append(session, actor, "collect.schedule.enable" if enabled else "collect.schedule.disable",
                  "resource", sched.resource_id, {"schedule_id": sched.id})
    return sched


@jobs.periodic
def tick(db: Database, now: datetime | None = None) -> list[int]:
    """Queue a pull for every enabled schedule that is due, and move it to its next run. A
    schedule whose previous pull is still queued, running or awaiting a retry gets no second
    job (dedupe key); runs missed while no worker was up collapse into one."""
    now = now or utcnow()
    system = Actor.system()
    queued: list[int] = []
    with db.write() as s:
        due = s.execute(
            select(CollectSchedule).where(CollectSchedule.enabled.is_(True), CollectSchedule.next_run_at <= now)
            .order_by(CollectSchedule.next_run_at).with_for_update(skip_locked=True)
        ).scalars().all()
        for sched in due:
            res = s.get(Resource, sched.resource_id)
            queued.append(_enqueue_pull(s, system, sched, now).id)
            sched.next_run_at = next_run(res.update_cycle, now, sched.hour) if res else None
    return queued


@jobs.register(KIND)
def run_pull_job(db: Database, job: jobs.Job) -> dict[str, Any]:
    """A scheduled pull, run by the platform on the schedule's behalf."""
    with db.read() as s:
        sched = s.get(CollectSchedule, int(job.payload["schedule_id"]))
        if sched is None:
            raise jobs.not_found("采集计划", job.payload["schedule_id"], "schedule_not_found")
        spec = (sched.resource_id, unseal(sched.url_sealed), sched.table_name, sched.query, sched.since_column,
                sched.mode)
    resource_id, url, table, query, since_column, mode = spec
    report = pull_database(db, Actor.system(), resource_id, url, table=table, query=query,
                           since_column=since_column, mode=mode)
    return {"schedule_id": job.payload["schedule_id"], **report.as_dict()}
