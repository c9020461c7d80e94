"""`ybz bench assess`: the KPI computation of `ybz assess` on a demo-like province scaled to
100,000 resources (× scale).

Generates (once per scale, cached under ./.bench/) the search benchmark's province — 1 province,
16 cities, 4–6 counties each, one org per department per region — with 100,000 resources by bulk
insert, and around them what assessment reads: zone batch manifests (1–4 per collected resource,
2023–today), duty changes, conditional share requests with decisions, objections, latest quality
runs, share grants and usage. Then times, `runs` times each:
- `ybz assess`'s computation (assess.kpis.compute, no breakdown) as the platform — the goal (< 2 s);
- the dashboard's (with per-region and per-org breakdown and trends) and the scorecards with to-dos;
- the baseline in the same run: `SELECT org_id, count(*) FROM resources GROUP BY org_id`.
Reports medians, the ratio to the baseline and the load average. SQLite by default;
YBZ_BENCH_DB_URL may point at an empty (or previously built) PostgreSQL database.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..assess import kpis, scorecards
from ..catalog.model import DutyChange, Resource
from ..catalog.taxonomy import seed_categories
from ..db import Database
from ..quality.model import QualityRun
from ..quality.objections import Objection
from ..share.grants import Grant, GrantUsage
from ..share.requests import ShareRequest
from ..workdays import add_workdays
from ..zone.model import Batch
from . import bench_environment
from .search import _insert_places, generate_resources

RESOURCES = 100_000
GOAL_SECONDS = 2.0
SHARE_REQUESTS = 20_000
OBJECTIONS = 10_000
GRANTS = 2_000
USAGE = 100_000


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Any:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _bulk(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for part in _chunks(rows):
        session.execute(insert(table), part)


def generate(session: Session, n: int, seed: int = 3) -> dict[str, int]:
    """The province and everything assessment reads, deterministic for a seed."""

    seed_categories(session)
    orgs, _regions = _insert_places(session)
    rng = random.Random(seed)
    today = workdays.today()
    start = datetime(2023, 1, 1, tzinfo=UTC)
    span = (datetime.now(UTC) - start).total_seconds()
    res_rows: list[dict[str, Any]] = []
    batches: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    published: list[tuple[int, int, int]] = []  # (resource id, org id, region id)
    seqs: dict[str, int] = {}
    for rid, spec in enumerate(generate_resources(orgs, n, 2, seed), start=1):
        org, cat = spec["org"], spec["category_code"]
        seqs[cat] = seqs.get(cat, 0) + 1
        is_pub = spec["status"] in ("已发布", "已停用")
        record_count = None
        if spec["status"] == "已发布":
            published.append((rid, org["id"], org["region_id"]))
            if rng.random() < 0.75:
                for seq in range(1, rng.randint(1, 4) + 1):
                    at = start + timedelta(seconds=rng.random() * span)
                    record_count = rng.randint(1_000, 5_000_000)
                    batches.append({"resource_id": rid, "seq": seq, "mode": "全量", "status": "已发布",
                                    "path": f"r{rid}/{seq}", "files": [], "row_count": record_count,
                                    "rejected_count": 0, "schema": {}, "source": {}, "digest": "0" * 64,
                                    "created_by": "bench", "created_at": at, "published_at": at})
                overall = round(rng.uniform(60, 100), 2)
                runs.append({"resource_id": rid, "scope": "current", "org_id": org["id"], "region_id": org["region_id"],
                             "row_count": record_count, "rule_count": 5, "scores": {"准确性": overall},
                             "overall": overall, "seconds": 0.1, "created_by": "bench",
                             "created_at": datetime.now(UTC)})
        res_rows.append({
            "id": rid, "code": f"{cat}/{seqs[cat]:06d}", "category_code": cat, "name": spec["name"],
            "abstract": spec["abstract"], "org_id": org["id"], "region_id": org["region_id"],
            "system_id": org["system_id"], "library": spec["library"], "format_kind": spec["format_kind"],
            "share_type": spec["share_type"], "share_condition": None, "share_basis": None, "share_method": "接口",
            "open_type": spec["open_type"], "returnable": False, "update_cycle": spec["update_cycle"],
            "keywords": [], "status": spec["status"], "version": 1, "published_version": 1 if is_pub else None,
            "publish_date": spec["created_at"].date() if is_pub else None, "record_count": record_count,
            "created_at": spec["created_at"], "updated_at": spec["created_at"],
            "published_at": spec["created_at"] + timedelta(days=3) if is_pub else None,
        })
    _bulk(session, Resource, res_rows)
    _bulk(session, Batch, batches)
    _bulk(session, QualityRun, runs)

    due_memo: dict[tuple[date, int], date] = {}

    def due(day: date, k: int) -> date:
        if (day, k) not in due_memo:
            due_memo[(day, k)] = add_workdays(day, k)
        return due_memo[(day, k)]

    def some_day() -> date:
        return today - timedelta(days=rng.randint(0, 400))

    duty = []
    for org in orgs:
        for _ in range(rng.randint(0, 3)):
            occurred = some_day()
            d = due(occurred, 10)
            fulfilled = rng.choice([None, occurred + timedelta(days=rng.randint(1, 30))])
            duty.append({"org_id": org["id"], "occurred_on": occurred, "description": "机构职能调整", "due_on": d,
                         "fulfilled_on": fulfilled if fulfilled is None or fulfilled <= today else None,
                         "created_by": "bench", "created_at": datetime.now(UTC)})
    _bulk(session, DutyChange, duty)

    requests = []
    for _ in range(SHARE_REQUESTS):
        rid, org_id, region_id = rng.choice(published)
        asked = some_day()
        step_due = due(asked, 10)
        state = rng.choices(["已批准", "已拒绝", "待提供方审批", "待主管部门审核"], [60, 15, 15, 10])[0]
        decided = asked + timedelta(days=rng.randint(1, 25))
        decisions = [] if state.startswith("待") else [
            {"step": "待提供方审批", "verdict": "批准", "reason": "符合条件", "by": "bench", "org_id": org_id,
             "on": min(decided, today).isoformat(), "on_time": min(decided, today) <= step_due}]
        requests.append({"resource_id": rid, "provider_org_id": org_id, "region_id": region_id,
                         "consumer_org_id": rng.choice(orgs)["id"], "items": ["a"], "mode": "接口", "purpose": "审核",
                         "basis": "职责", "scenario": "窗口", "period_from": asked, "period_to": asked + timedelta(365),
                         "share_type": "有条件共享", "state": state, "requested_on": asked,
                         "step_started_on": asked, "step_due": step_due if state.startswith("待") else None,
                         "escalated": False, "decisions": decisions, "created_at": datetime.now(UTC),
                         "updated_at": datetime.now(UTC)})
    _bulk(session, ShareRequest, requests)

    objections = []
    for _ in range(OBJECTIONS):
        rid, org_id, region_id = rng.choice(published)
        filed = some_day()
        state = rng.choices(["待答复", "已驳回", "已更正", "已受理", "已撤回"], [15, 35, 35, 10, 5])[0]
        answered = filed + timedelta(days=rng.randint(1, 10)) if state != "待答复" else None
        objections.append({"resource_id": rid, "org_id": org_id, "region_id": region_id, "items": ["a"],
                           "claim": "值有误", "state": state, "filed_by": "bench", "filed_on": filed,
                           "answer_due": due(filed, 5), "correct_due": due(filed, 10), "answered_on": answered,
                           "corrected_on": answered if state == "已更正" else None,
                           "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)})
    _bulk(session, Objection, objections)

    grants = []
    for gid in range(1, GRANTS + 1):
        rid, _org_id, _region_id = rng.choice(published)
        grants.append({"id": gid, "consumer_org_id": rng.choice(orgs)["id"], "resource_id": rid, "items": ["a"],
                       "mode": "接口", "valid_from": today - timedelta(days=100), "valid_to": today + timedelta(365),
                       "rate_limit_per_minute": 60, "created_by": "bench", "created_at": datetime.now(UTC)})
    _bulk(session, Grant, grants)
    usage = []
    for _ in range(USAGE):
        g = rng.choice(grants)
        usage.append({"grant_id": g["id"], "resource_id": g["resource_id"], "consumer_org_id": g["consumer_org_id"],
                      "kind": "rows", "actor": "bench", "at": datetime.now(UTC), "filters": [], "rows": 10,
                      "outcome": "ok"})
    _bulk(session, GrantUsage, usage)
    if session.get_bind().dialect.name == "postgresql":  # ids were given explicitly
        for table in ("resources", "share_grants"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"))
    return {"resources": n, "orgs": len(orgs), "batches": len(batches), "quality_runs": len(runs),
            "duty_changes": len(duty), "share_requests": len(requests), "objections": len(objections),
            "share_usage": len(usage)}


def _prepare(scale: float) -> tuple[str, dict[str, Any]]:
    from ..migrating import migrate  # deferred: Alembic only when a benchmark builds its store

    n = max(100, int(RESOURCES * scale))
    url = os.environ.get("YBZ_BENCH_DB_URL")
    if not url:
        cache = Path.cwd() / ".bench"
        cache.mkdir(exist_ok=True)
        url = f"sqlite:///{cache / f'assess-{scale:g}.sqlite3'}"
    migrate(url)
    db = Database(url)
    info: dict[str, Any] = {"url": url.split("@")[-1]}
    try:
        with db.read() as s:
            have = s.execute(text("SELECT count(*) FROM resources")).scalar_one()
        if have >= n:
            info["generated"] = "cached"
            info["resources"] = have
            return url, info
        if have:
            raise RuntimeError(f"{url} holds another catalogue; point YBZ_BENCH_DB_URL at an empty database")
        t0 = time.perf_counter()
        with db.write() as s:
            info.update(generate(s, n))
        info["generated"] = f"{time.perf_counter() - t0:.1f}s"
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        return url, info
    finally:
        db.dispose()


def run(runs: int = 5, scale: float = 1.0) -> dict[str, Any]:
    """Build or reuse the province for `scale`, then time the computations `runs` times, in a
    temporary YBZ_HOME so the user's own store is never touched."""
    with tempfile.TemporaryDirectory(prefix="ybz-bench-") as home, bench_environment(YBZ_HOME=home):
        return _run(runs, scale)


def _timed(fn: Any, cpu: list[float] | None = None) -> tuple[float, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    return time.perf_counter() - t0, out


def _run(runs: int, scale: float) -> dict[str, Any]:

    url, info = _prepare(scale)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    db = Database(url)
    system = Actor.system()
    times: dict[str, list[float]] = {"assess": [], "dashboard": [], "scorecards": [], "baseline": []}
    ratios: list[float] = []
    cpu: list[float] = []  # this process's CPU seconds of `ybz assess` (the machine is shared)
    try:
        with db.read() as s:  # warm the working-day cache and the store's pages once
            kpis.compute(s, system, breakdown=False)
        totals: dict[str, Any] = {}
        for _ in range(max(1, runs)):
            with db.read() as s:
                sec, out = _timed(lambda s=s: kpis.compute(s, system, breakdown=False), cpu)
                totals = out["totals"]
                base, _ = _timed(lambda s=s: s.execute(
                    text("SELECT org_id, count(*) FROM resources GROUP BY org_id")).all())
            times["assess"].append(sec)
            times["baseline"].append(base)
            ratios.append(sec / base if base else float("nan"))
            with db.read() as s:
                times["dashboard"].append(_timed(lambda s=s: kpis.compute(s, system))[0])
                times["scorecards"].append(_timed(lambda s=s: scorecards.scorecards(s, system))[0])
        med = {k: round(statistics.median(v), 4) for k, v in times.items()}
        return {
            "benchmark": "assess", "scale": scale, "runs": runs, "date": date.today().isoformat(), **info,
            "seconds_median": med, "seconds_all": {k: [round(x, 4) for x in v] for k, v in times.items()},
            "goal": f"ybz assess computation < {GOAL_SECONDS} s at 100,000 resources",
            "goal_met": med["assess"] < GOAL_SECONDS if scale >= 1 else None,
            "assess_cpu_seconds_median": round(statistics.median(cpu), 4),
            "baseline": "SELECT org_id, count(*) FROM resources GROUP BY org_id, same run",
            "ratio_assess_to_baseline": round(statistics.median(ratios), 1),
            "figures": {k: totals.get(k) for k in ("records_collected", "published", "open_datasets", "fresh",
                                                   "stale", "share_decided", "objections_total", "share_calls")},
            "load_avg_1m": {"before": load_before,
                            "after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
        }
    finally:
        db.dispose()
