"""The open-data rows API: pages of an open dataset's current rows, masked as downloads, with
equality filters on returned columns (those leaving in clear: filtering a masked column by its
original value would reveal it), offset or keyset paging, and a rate limit per API key or per
client IP (Rules.open_api_calls_per_minute)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from .. import ratelimit
from ..classify import masking
from ..config import get_settings
from ..db import get_database
from ..errors import DomainError
from ..params import parse_int
from ..zone import port
from ..zone.engine import Work, engine_for, json_value
from .downloads import SNAPSHOT, Shape, file_for

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000  # deeper pages use the keyset cursor (`after`)
WINDOW_SECONDS = 60.0


class RateLimited(DomainError):
    status = 429
    title = "调用过于频繁"

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__("open.rate_limited", "每分钟最多调用{limit}次，请{seconds}秒后再试",
                         limit=limit, seconds=retry_after)
        self.retry_after = retry_after


class Limiter:
    """Fixed one-minute windows per key, counted where every worker counts (ratelimit.py: the
    metadata store or Redis): calls 1..N pass, call N+1 waits for the window's end."""

    @property
    def clock(self) -> Callable[[], float]:
        return ratelimit._clock[0]

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:  # tests: the store counters' clock
        ratelimit.set_clock(clock)

    def hit(self, key: str, limit: int) -> None:
        got = ratelimit.hit(get_database(), "open.rows", key, limit, int(WINDOW_SECONDS))
        if not got.ok:
            raise RateLimited(limit, got.retry_after)

    def reset(self) -> None:
        ratelimit.reset()


LIMITER = Limiter()


def check_rate(key: str) -> None:
    LIMITER.hit(key, get_settings().rules.open_api_calls_per_minute)


ORDER = "_n"  # the snapshot's row number, 1..N in the zone's order (downloads.snapshot_sql)


def _filters(sh: Shape, filters: dict[str, str]) -> list[Any]:
    """Equality filters on columns leaving in clear; a value that is not one of the column's
    type equals nothing (TRY_CAST). Values are literals of the plan, never SQL text."""
    clear = {c.name for c in sh.plan.leaving if masking.OPERATORS[c.operator.name].clear}
    leaving = set(sh.columns)
    conds = []
    for name, value in filters.items():
        if name not in leaving:
            raise DomainError("open_filter_unknown", "不能按“{name}”筛选：开放数据中没有该字段", name=name)
        if name not in clear:
            raise DomainError("open_filter_masked", "字段“{name}”脱敏后开放，不能按其原值筛选", name=name)
        conds.append(port.equals(name, value, sh.types.get(name, "VARCHAR"), strict=False))
    return conds


def _after(raw: str | None) -> int | None:
    if not raw:
        return None
    cursor = parse_int(raw, 0)  # `_n` of the last row seen: beyond int64 it was never issued
    if cursor is None or not raw.isdigit():
        raise DomainError("open_cursor_invalid", "分页游标无效：{value}", value=raw[:40])
    return cursor


def plan(sh: Shape, filters: dict[str, str], *, limit: int, offset: int, after: int | None) -> exp.Select:
    """The page as a plan over the snapshot: every column, the filters, `_n` after the cursor,
    in `_n` order."""
    conds = _filters(sh, filters)
    if after is not None:
        conds.append(port.after([ORDER], [after]))
    skip = offset
    if not conds and offset:  # `_n` is 1..N without gaps: an offset alone is a range, skipping row groups
        conds.append(port.after([ORDER], [offset]))
        skip = 0
    query = exp.select("*").from_(port.RELATION)
    where = port.all_of(conds)
    if where is not None:
        query = query.where(where)
    query = query.order_by(port.col(ORDER)).limit(limit)
    return query.offset(skip) if skip else query


def page(sh: Shape, filters: dict[str, str], *, limit: int = DEFAULT_LIMIT, offset: int = 0,
         after: str | None = None) -> dict[str, Any]:
    """One page from the resource's masked snapshot (built once per shape: downloads.file_for),
    read by the in-process engine (an interactive call)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, min(int(offset), MAX_OFFSET))
    cur = _after(after)
    if cur is not None:
        offset = 0
    query = plan(sh, filters, limit=limit, offset=offset, after=cur)
    snapshot = file_for(sh, SNAPSHOT)
    table = engine_for(Work.PAGE).rows(port.Files((str(snapshot),)), query)
    names, got = table.column_names, port.rows_of(table)
    cols = names[:-1]
    rows = [{c: json_value(v) for c, v in zip(cols, row, strict=False)} for row in got]
    full = len(got) == limit
    return {
        "dataset_id": sh.resource_id, "columns": cols, "denied": sh.plan.denied,
        "masking": {c.name: str(c.operator) for c in sh.plan.leaving}, "limit": limit, "offset": offset,
        "rows": rows, "next_offset": offset + limit if full and cur is None else None,
        "next": str(got[-1][-1]) if full else None,
    }
