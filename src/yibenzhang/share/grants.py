"""Grants (共享授权): what a consumer org may take from a resource, how, for how long — and the
record of every call made under one (DOMAIN §5, issue 5).

A grant names the consumer org, the resource, the granted items, the mode (接口 rows, 文件
delivery, 核验 verification), an optional row scope for 回流, its period and rate limit; its
masking exit path is always 共享. It is revoked with a reason, expires by itself after valid_to
(status computed from the date, so no job is needed) and is renewed only by a new request.

Rate limits are fixed windows per grant and minute counted in a storage all workers share
(ratelimit.py; issue 14); YBZ_SHARE_RATE_LIMIT=off switches them off (benchmarks).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, delete, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import ops, workdays
from ..access import Actor, require
from ..catalog.model import Resource
from ..crypto import sm3_hex
from ..db import Base, UTCDateTime, get_database, utcnow
from ..enums import Role
from ..errors import DomainError, ErrorBag, NotFound, PermissionDenied
from ..i18n import N_
from ..ledger import access_log
from ..ledger import service as ledger
from ..orgs.model import Org, Region, User

MODES = ("接口", "文件", "核验")
ACTIVE, REVOKED, EXPIRED, PENDING = N_("有效"), N_("已撤销"), N_("已过期"), N_("未生效")
EXIT_PATH = N_("共享")
# Verification answers one yes/no per field, so it is limited harder than rows: at most this many
# checks per grant and minute whatever the grant's own rate (enumeration must not pay).
VERIFY_PER_MINUTE = int(os.environ.get("YBZ_SHARE_VERIFY_PER_MINUTE") or 30)
# Digits of a division code that name a region of each level (GB/T 2260): province 2, city 4, county 6.
DIVISION_ITEM = re.compile(r"区划|行政区域代码|region_code|division", re.IGNORECASE)


class GrantUnusable(DomainError):
    """A call outside what the grant allows (revoked, expired, wrong org, wrong mode)."""

    status = 403
    title = "授权不可用"


class RateLimited(DomainError):
    status = 429
    title = "调用过于频繁"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.params.get("retry_after") or 60)}


class Gone(DomainError):
    status = 410
    title = "资源已不存在"


class Grant(Base):
    __tablename__ = "share_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)  # share.requests (P's), if any
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    items: Mapped[list[Any]] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(8))
    row_scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer)
    exit_path: Mapped[str] = mapped_column(String(16), default=EXIT_PATH)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    def status_on(self, day: date | None = None) -> str:
        day = day or workdays.today()
        if self.revoked_at is not None:
            return REVOKED
        if day > self.valid_to:
            return EXPIRED
        if day < self.valid_from:
            return PENDING
        return ACTIVE

    @property
    def status(self) -> str:
        return self.status_on()


class GrantUsage(Base):
    """One call under a grant: who, when, which items were filtered on (names only, never
    values), how many rows left, and the outcome (ok or the error code)."""

    __tablename__ = "share_usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("share_grants.id"), index=True)
    resource_id: Mapped[int] = mapped_column(Integer, index=True)
    consumer_org_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # rows | verify | delivery | download
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filters: Mapped[list[Any]] = mapped_column(JSON)
    # The items the call returned (names; the access log's "what", issue 23); None: nothing left.
    items: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(40))
    # The ledger event that seals this record (its share.usage summary, or the call's own event);
    # None for a moment after the call (issue 14: written from the stored records).
    summary_seq: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)


class Delivery(Base):
    """A file of a grant's rows, written by a job into YBZ_HOME and downloadable once."""

    __tablename__ = "share_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("share_grants.id"), index=True)
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))  # 排队 | 就绪 | 已下载 | 失败
    job_id: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(String(500))
    rows: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- who may do what ---------------------------------------------------------------------------


def _provider_side(session: Session, actor: Actor, resource: Resource) -> bool:
    """The provider org's approver or steward, the authority over the provider's region, the admin."""
    if actor.is_admin or actor.acts_for_org(resource.org_id, Role.APPROVER, Role.STEWARD):
        return True
    region = session.get(Region, session.get(Org, resource.org_id).region_id)
    return region is not None and actor.reviews_region(region.path)


def can_see(session: Session, actor: Actor, grant: Grant) -> bool:
    if actor.is_admin or actor.is_auditor or actor.acts_for_org(grant.consumer_org_id):
        return True
    return _provider_side(session, actor, session.get(Resource, grant.resource_id))


def division_item(resource: Resource) -> str | None:
    """The item holding a division code (for 回流 row scopes): the first item whose name or
    description says 行政区划代码 / 区划 (or region_code / division)."""
    for item in resource.items:
        if DIVISION_ITEM.search(item.name) or DIVISION_ITEM.search(item.description or ""):
            return item.name
    return None


def scope_prefix(region_code: str) -> str:
    """A division code's prefix for its level: 990000 → 99, 990100 → 9901, 990101 → 990101."""
    code = region_code.strip()
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


# --- service -----------------------------------------------------------------------------------


def issue_grant(session: Session, actor: Actor, *, request_id: int | None, consumer_org_id: int, resource_id: int,
                items: list[str], mode: str, row_scope: dict[str, Any] | None, valid_from: date, valid_to: date,
                rate_limit_per_minute: int) -> Grant:
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotFound(f"信息资源 {resource_id}", "resource_not_found")
    # An unconditional resource is granted at once on the consumer's own request (issue 5).
    unconditional = resource.share_type == "无条件共享" and actor.acts_for_org(consumer_org_id, Role.CONSUMER)
    require(_provider_side(session, actor, resource) or unconditional, "签发共享授权")
    if resource.share_type == "不予共享":
        raise GrantUnusable("grant_not_shareable", "该资源不予共享，不能签发授权")
    bag = ErrorBag()
    if session.get(Org, consumer_org_id) is None:
        bag.add("consumer_org_id", "org_not_found", "未找到：{what}", what=f"机构 {consumer_org_id}")
    known = {i.name for i in resource.items}
    if not items:
        bag.add("items", "grant_items_empty", "至少授权一个信息项")
    for i, name in enumerate(items):
        if name not in known:
            bag.add(f"items.{i}", "item_unknown", "资源没有信息项“{name}”", name=name)
    if mode not in MODES:
        bag.add("mode", "grant_mode", "未知的取值“{value}”，可选：{allowed}", value=mode, allowed="、".join(MODES))
    if valid_to < valid_from:
        bag.add("valid_to", "grant_period", "截止日期早于起始日期")
    if rate_limit_per_minute <= 0:
        bag.add("rate_limit_per_minute", "grant_rate", "调用频率上限须为正数")
    if row_scope:
        code = str(row_scope.get("region_code") or "")
        if set(row_scope) != {"region_code"} or session.execute(
                select(Region.id).where(Region.code == code)).first() is None:
            bag.add("row_scope", "grant_scope", "行范围须为已知的行政区划代码：{value}", value=code)
        elif division_item(resource) is None:
            bag.add("row_scope", "grant_scope_item", "资源没有行政区划代码信息项，不能按区划授权")
    bag.raise_if_any()
    grant = Grant(request_id=request_id, consumer_org_id=consumer_org_id, resource_id=resource_id,
                  items=list(dict.fromkeys(items)), mode=mode, row_scope=row_scope or None, valid_from=valid_from,
                  valid_to=valid_to, rate_limit_per_minute=rate_limit_per_minute, exit_path=EXIT_PATH,
                  created_by=actor.username, created_at=utcnow())
    session.add(grant)
    session.flush()
    ledger.append(session, actor, "share.grant.issue", "share_grant", grant.id, {
        "request_id": request_id, "consumer_org_id": consumer_org_id, "resource_id": resource_id,
        "items": grant.items, "mode": mode, "row_scope": grant.row_scope, "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat(), "rate_limit_per_minute": rate_limit_per_minute})
    return grant


def get_grant(session: Session, actor: Actor, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None or not can_see(session, actor, grant):
        raise NotFound(f"共享授权 {grant_id}", "grant_not_found")
    return grant


def revoke_grant(session: Session, actor: Actor, grant_id: int, reason: str) -> Grant:
    grant = get_grant(session, actor, grant_id)
    require(_provider_side(session, actor, session.get(Resource, grant.resource_id)), "撤销共享授权")
    if not (reason or "").strip():
        bag = ErrorBag()
        bag.add("reason", "reason_required", "须说明理由")
        bag.raise_if_any()
    if grant.revoked_at is not None:
        raise GrantUnusable("grant_revoked", "授权 {id} 已撤销", id=grant.id)
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = utcnow(), actor.username, reason.strip()
    ledger.append(session, actor, "share.grant.revoke", "share_grant", grant.id, {"reason": grant.revoke_reason})
    return grant


def grants_for(session: Session, actor: Actor, *, org_id: int | None = None,
               resource_id: int | None = None) -> list[Grant]:
    """Grants the actor may see, optionally those of a consumer org or of a resource."""
    q = select(Grant).order_by(Grant.id)
    if org_id is not None:
        q = q.where(Grant.consumer_org_id == org_id)
    if resource_id is not None:
        q = q.where(Grant.resource_id == resource_id)
    return [g for g in session.execute(q).scalars() if can_see(session, actor, g)]


def usable_grant(session: Session, actor: Actor, grant_id: int, mode: str) -> Grant:
    """The grant for a data call: the consumer org's own users only, active today, of `mode`."""
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"共享授权 {grant_id}", "grant_not_found")
    return check_usable(actor, grant, mode)


def check_usable(actor: Actor, grant: Any, mode: str) -> Any:
    """The checks of `usable_grant` on a grant or a cached GrantView (status from today's date,
    so a cached view expires on time)."""
    if not actor.acts_for_org(grant.consumer_org_id, Role.CONSUMER):
        raise PermissionDenied("使用他人的共享授权", "grant_wrong_org")
    status = grant.status
    if status == REVOKED:
        raise GrantUnusable("grant_revoked", "授权 {id} 已撤销", id=grant.id)
    if status == EXPIRED:
        raise GrantUnusable("grant_expired", "授权 {id} 已于 {day} 到期，请重新申请", id=grant.id,
                            day=grant.valid_to.isoformat())
    if status == PENDING:
        raise GrantUnusable("grant_not_yet_valid", "授权 {id} 自 {day} 起生效", id=grant.id,
                            day=grant.valid_from.isoformat())
    if grant.mode != mode:
        raise GrantUnusable("grant_mode", "授权 {id} 的方式是“{mode}”，不能这样调用", id=grant.id, mode=grant.mode)
    return grant


def grant_dict(g: Grant) -> dict[str, Any]:
    return {"id": g.id, "request_id": g.request_id, "consumer_org_id": g.consumer_org_id,
            "resource_id": g.resource_id, "items": g.items, "mode": g.mode, "row_scope": g.row_scope,
            "valid_from": g.valid_from, "valid_to": g.valid_to, "rate_limit_per_minute": g.rate_limit_per_minute,
            "exit_path": g.exit_path, "status": g.status, "created_by": g.created_by, "created_at": g.created_at,
            "revoked_at": g.revoked_at, "revoke_reason": g.revoke_reason}


# --- rate limits -------------------------------------------------------------------------------
#
# One fixed window per grant, kind and minute, counted in the storage every worker shares
# (ratelimit.py: the metadata store, or Redis when YBZ_REDIS_URL is set): call N of a grant's
# limit of N passes and call N+1 is refused with 429 and Retry-After, whichever worker answers.


class _Buckets:
    """Compatibility for tests: `BUCKETS.reset()` forgets every window of the current store."""

    def reset(self) -> None:
        from contextlib import suppress

        from sqlalchemy.exc import SQLAlchemyError

        # deferred: keeps limits out of this module's import
        from .. import ratelimit

        with suppress(SQLAlchemyError):  # a store not migrated (yet) holds no windows to forget
            ratelimit.reset()


BUCKETS = _Buckets()


def rate_limits_on() -> bool:
    return (os.environ.get("YBZ_SHARE_RATE_LIMIT") or "on").lower() not in ("off", "0", "false", "no")


def check_rate(grant: Any, kind: str, n: int = 1, *, db: Any = None) -> None:
    """Count one call of `kind` under the grant's limit; RateLimited (429) past it. Call it outside
    any write transaction of `db` (on SQLite the counter takes the write lock itself)."""
    if not rate_limits_on():
        return
    # deferred: keeps limits out of this module's import
    from .. import ratelimit

    limit = grant.rate_limit_per_minute if kind != "verify" else min(grant.rate_limit_per_minute, VERIFY_PER_MINUTE)
    got = ratelimit.hit(db or get_database(), f"share.{kind}", str(grant.id), limit, 60)
    if not got.ok:
        raise RateLimited("rate_limited", "授权 {id} 每分钟最多调用 {limit} 次，请{seconds}秒后再试", id=grant.id,
                          limit=limit, seconds=got.retry_after, retry_after=got.retry_after)


# --- usage ------------------------------------------------------------------------------------


def record_usage(session: Session, actor: Actor, grant: Grant, kind: str, *, filters: list[str] | None = None,
                 rows: int = 0, outcome: str = "ok", items: list[str] | None = None) -> GrantUsage:
    """One usage row and its ledger summary in the caller's transaction (deliveries and
    downloads): item names and counts only, never a value."""
    use = GrantUsage(grant_id=grant.id, resource_id=grant.resource_id, consumer_org_id=grant.consumer_org_id,
                     kind=kind, actor=actor.username, at=utcnow(), filters=sorted(filters or []), rows=rows,
                     outcome=outcome, items=list(items) if items is not None else None)
    session.add(use)
    session.flush()
    event = ledger.append(session, actor, f"share.{kind}", "share_grant", grant.id,
                          {"usage_id": use.id, "filters": use.filters, "items": use.items, "rows": rows,
                           "outcome": outcome})
    session.flush()
    use.summary_seq = event.seq
    ops.count_share_call(kind, outcome)
    return use


def usage_stats(session: Session, actor: Actor, *, grant_id: int | None = None, resource_id: int | None = None,
                org_id: int | None = None) -> dict[str, Any]:
    """Calls and rows per grant (and their totals) that the actor may see. Every call's record
    is stored before its answer is sent, so nothing needs flushing first."""
    grants = grants_for(session, actor, org_id=org_id, resource_id=resource_id)
    if grant_id is not None:
        grants = [g for g in grants if g.id == grant_id]
    ids = [g.id for g in grants]
    per: dict[int, dict[str, Any]] = {g.id: {"grant_id": g.id, "resource_id": g.resource_id,
                                             "consumer_org_id": g.consumer_org_id, "calls": 0, "rows": 0,
                                             "refused": 0, "by_kind": {}} for g in grants}
    if ids:
        q = (select(GrantUsage.grant_id, GrantUsage.kind, GrantUsage.outcome,
                    func.count(), func.coalesce(func.sum(GrantUsage.rows), 0))
             .where(GrantUsage.grant_id.in_(ids))
             .group_by(GrantUsage.grant_id, GrantUsage.kind, GrantUsage.outcome))
        for gid, kind, outcome, n, rows in session.execute(q):
            ok = outcome == "ok"
            p = per[gid]
            p["calls"] += int(n)
            p["rows"] += int(rows)
            p["refused"] += 0 if ok else int(n)
            p["by_kind"][kind] = p["by_kind"].get(kind, 0) + int(n)
    out = list(per.values())
    return {"grants": out, "calls": sum(p["calls"] for p in out), "rows": sum(p["rows"] for p in out),
            "refused": sum(p["refused"] for p in out)}


# --- the data service's usage records (the hot path) --------------------------------------------
#
# Each row or verification call's usage record is INSERTed and committed before its answer is
# sent (one short statement of its own, no ledger lock): a worker killed with SIGKILL loses no
# record of an answered call, and every worker's records are in the one store. The ledger
# summaries are written from the STORED records, not from a process's memory: every
# FLUSH_SECONDS (and before anything reads them) the records no summary seals yet are taken
# (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite: two workers never seal the same
# record) and sealed by ONE "share.usage" event per grant and caller, appended AS THAT CALLER:
# calls, rows, outcomes, kinds, item names filtered on — never a value, never another person.
# Each record then names its summary (`summary_seq`), so a process that dies between the two
# loses nothing: the next summariser, in any process, seals what is left.

FLUSH_SECONDS = float(os.environ.get("YBZ_SHARE_USAGE_FLUSH_SECONDS") or 1.0)
SUMMARY_BATCH = int(os.environ.get("YBZ_SHARE_USAGE_SUMMARY_BATCH") or 500)  # short write locks on SQLite


class _UsageLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dbs: dict[int, Any] = {}  # databases with records this process wrote (to summarise)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, db: Any, actor: Actor, grant: Any, kind: str, *, filters: list[str] | None = None,
            rows: int = 0, outcome: str = "ok", items: list[str] | None = None) -> None:
        """Store one call's record now (committed when this returns)."""
        rec = {"grant_id": grant.id, "resource_id": grant.resource_id, "consumer_org_id": grant.consumer_org_id,
               "kind": kind, "actor": actor.username, "at": utcnow(), "filters": sorted(filters or []),
               "rows": rows, "outcome": outcome, "items": items}
        with db.engine.connect() as conn:
            conn.execute(insert(GrantUsage), [rec])
            conn.commit()
        ops.count_share_call(kind, outcome)
        if id(db) not in self._dbs or self._thread is None or not self._thread.is_alive():
            with self._lock:
                self._dbs[id(db)] = db
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="ybz-share-usage", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the records are stored; the next round seals them
                logging.getLogger(__name__).exception("share usage summary failed; retried next round")

    def pending(self, db: Any = None) -> int:
        """Stored records that no summary seals yet (of `db`, or of every database seen)."""
        dbs = [db] if db is not None else list(self._dbs.values())
        n = 0
        for d in dbs:
            with d.engine.connect() as conn:
                n += int(conn.execute(select(func.count()).select_from(GrantUsage)
                                      .where(GrantUsage.summary_seq.is_(None))).scalar() or 0)
        return n

    def flush(self, db: Any = None) -> int:
        """Seal the stored records no summary seals yet (of `db` only, when given); returns how many."""
        dbs = [db] if db is not None else list(self._dbs.values())
        done = 0
        for d in dbs:
            while True:
                n = _summarise(d)
                done += n
                if n < SUMMARY_BATCH:
                    break
        return done

    def discard(self, db: Any) -> None:
        """Forget a database that is going away (tests)."""
        with self._lock:
            self._dbs.pop(id(db), None)


def _summarise(db: Any) -> int:
    """One transaction: take up to SUMMARY_BATCH unsealed records and append their summaries."""

    with db.write() as s:
        q = select(GrantUsage).where(GrantUsage.summary_seq.is_(None)).order_by(GrantUsage.id).limit(SUMMARY_BATCH)
        if not db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        uses = list(s.execute(q).scalars())
        if not uses:
            return 0
        names = sorted({u.actor for u in uses})
        ids = dict(s.execute(select(User.username, User.id).where(User.username.in_(names))).all())
        per: dict[tuple[int, str], list[GrantUsage]] = {}
        for u in uses:
            per.setdefault((u.grant_id, u.actor), []).append(u)
        for (gid, name), us in sorted(per.items()):
            by_kind: dict[str, int] = {}
            by_outcome: dict[str, int] = {}
            for u in us:
                by_kind[u.kind] = by_kind.get(u.kind, 0) + 1
                by_outcome[u.outcome] = by_outcome.get(u.outcome, 0) + 1
            caller = Actor(user_id=ids.get(name), username=name)
            event = ledger.append(s, caller, "share.usage", "share_grant", gid, {
                "calls": len(us), "rows": sum(u.rows for u in us), "by_kind": by_kind, "by_outcome": by_outcome,
                "filters": sorted({f for u in us for f in u.filters}),
                "usage_ids": [min(u.id for u in us), max(u.id for u in us)],
                "records_sm3": usage_digest([(u.id, u) for u in us]),
                "from": min(u.at for u in us).isoformat(), "to": max(u.at for u in us).isoformat()})
            s.flush()
            s.execute(update(GrantUsage).where(GrantUsage.id.in_([u.id for u in us]))
                      .values(summary_seq=event.seq))
        return len(uses)


_FIELD, _NAME = "\x1f", "\x1e"  # ASCII unit and record separators: never in a name or code


def usage_digest(records: list[tuple[int, Any]]) -> str:
    """SM3 over the usage rows in id order: id, time (µs since the epoch) and fields, one line
    each; the rows are dicts as written or GrantUsage objects as read back. Plain joins, no JSON
    (≈1 µs a record: the flush stays cheap on the hot path)."""
    lines = []
    for uid, r in sorted(records, key=lambda p: p[0]):
        get = r.get if isinstance(r, dict) else r.__dict__.get
        at = get("at")
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        lines.append(_FIELD.join((str(uid), str(round(at.timestamp() * 1_000_000)), get("kind"), get("actor"),
                                  _NAME.join(get("filters") or ()), _NAME.join(get("items") or ()),
                                  str(get("rows")), get("outcome"))))
    return sm3_hex("\n".join(lines).encode("utf-8"))


USAGE = _UsageLog()


# --- the access log (issue 23): the data service's per-call records are its entries -------------

_EXITS = {"rows": access_log.SHARE_ROWS, "download": access_log.SHARE_DELIVERY, "verify": access_log.SHARE_VERIFY}


def _access_entries(session: Session, since: datetime | None, until: datetime | None,
                    limit: int) -> list[dict[str, Any]]:
    """Calls that read rows (a delivery *request* reads nothing; its download does)."""
    q = select(GrantUsage).where(GrantUsage.kind.in_(list(_EXITS))).order_by(GrantUsage.id)
    if since is not None:
        q = q.where(GrantUsage.at >= since)
    if until is not None:
        q = q.where(GrantUsage.at < until)
    return [{"at": u.at, "actor": u.actor, "exit": _EXITS[u.kind], "resource_id": u.resource_id,
             "items": list(u.items if u.items is not None else u.filters), "rows": u.rows, "outcome": u.outcome,
             "grant_id": u.grant_id, "ref": f"share_usage:{u.id}"}
            for u in session.execute(q.limit(limit)).scalars()]


def _access_prune(session: Session, before: datetime) -> int:
    return int(session.execute(delete(GrantUsage).where(GrantUsage.at < before)).rowcount or 0)


access_log.register_source("share_usage", _access_entries, _access_prune, lambda: USAGE.flush())


@dataclass(frozen=True)
class GrantView:
    """A grant's fields as cached by the data service (detached from any session)."""

    id: int
    consumer_org_id: int
    resource_id: int
    items: tuple[str, ...]
    mode: str
    row_scope: dict[str, Any] | None
    valid_from: date
    valid_to: date
    rate_limit_per_minute: int
    revoked: bool

    @classmethod
    def of(cls, g: Grant) -> GrantView:
        return cls(g.id, g.consumer_org_id, g.resource_id, tuple(g.items), g.mode, g.row_scope, g.valid_from,
                   g.valid_to, g.rate_limit_per_minute, g.revoked_at is not None)

    @property
    def status(self) -> str:
        day = workdays.today()
        if self.revoked:
            return REVOKED
        if day > self.valid_to:
            return EXPIRED
        if day < self.valid_from:
            return PENDING
        return ACTIVE
