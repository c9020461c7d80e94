"""`ybz bench sandbox`: grouped aggregates through the whole sandbox path over a BASE_ROWS-row
resource (× scale).

Setup in a temporary home: a province, a provider org, an operator org with a 运营方 user, a
resource of five items (区县, 年龄, 性别, 收入, 身份证号; no key items, so the zone's current
state needs no de-duplication) with rows ingested through the real pipeline, graded items, an
authorization. Each timed call is `sandbox.submit_query`: parse and check
(sqlglot), plan the release, read the referenced items from the zone into Arrow, run on a fresh
locked DuckDB connection, k-check, differencing check, output digest, Parquet output, run row and
ledger event. Baseline in the same run: plain DuckDB running the same aggregate straight on the
batch's Parquet files. Goal (issue 7): < 2 s per grouped aggregate over 1,000,000 rows.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any

import numpy as np
import pyarrow as pa

from .. import workdays
from ..access import Actor
from ..catalog import service as catalog
from ..catalog.model import ResourceItem
from ..catalog.schemas import ItemIn, ResourceIn, SystemIn
from ..codes import make_uscc
from ..collect.pipeline import ingest_arrow
from ..config import get_settings
from ..db import get_database
from ..operate import authorizations as auths
from ..operate import sandbox
from ..operate.sql_guard import Refusal
from ..orgs import service as orgs
from ..orgs.model import User
from ..orgs.service import RoleSpec
from ..setup import initialize
from ..zone.engine import get_engine
from ..zone.model import Batch
from ..zone.service import literal
from . import bench_environment

BASE_ROWS = 1_000_000
COUNTIES = [f"{name}{'区' if i % 3 == 0 else '县'}" for i, name in enumerate(
    ["东川", "西畴", "南涧", "北岭", "新平", "安宁", "永胜", "富源", "宜良", "华坪", "景谷", "临沧", "双柏", "易门",
     "峨山", "元江"])]
QUERIES = {
    "by_county": "SELECT 区县, count(*) AS n, avg(收入) AS avg_income FROM {v} GROUP BY 区县",
    "county_sex_filtered": ("SELECT 区县, 性别, count(*) AS n, sum(收入) AS total, stddev_samp(收入) AS sd "
                            "FROM {v} WHERE 年龄 >= 30 GROUP BY 1, 2"),
    "by_age_having": "SELECT 年龄, count(*) AS n, avg(收入) AS avg_income FROM {v} GROUP BY 年龄 HAVING count(*) >= 10",
}


def _rows(n: int) -> pa.RecordBatch:
    rng = np.random.default_rng(11)
    idx = np.arange(n)
    return pa.RecordBatch.from_pydict({
        "区县": pa.array(np.array(COUNTIES)[rng.integers(0, len(COUNTIES), n)].tolist()),
        "年龄": pa.array(rng.integers(18, 90, n).astype(str).tolist()),
        "性别": pa.array(np.where(rng.random(n) < 0.5, "男", "女").tolist()),
        "收入": pa.array(np.round(rng.gamma(2.0, 3000.0, n), 2).astype(str).tolist()),
        "身份证号": pa.array([f"99010119{y}0101{i % 10000:04d}" for y, i in
                          zip((1940 + idx % 60).tolist(), idx.tolist(), strict=True)]),
    })


def _setup(rows: int) -> tuple[int, int, Any]:

    initialize()
    system, db = Actor.system(), get_database()
    grades = {"区县": "一般-1级", "年龄": "一般-1级", "性别": "一般-1级", "收入": "一般-3级", "身份证号": "一般-3级"}
    with db.write() as s:
        orgs.create_region(s, system, code="990000", name="云岭省", parent_code=None)
        prov = orgs.create_org(s, system, name="基准人社厅", uscc=make_uscc("11990000MB0000001"), kind="政府部门",
                               region_code="990000")
        oper = orgs.create_org(s, system, name="基准数据运营有限公司", uscc=make_uscc("91990000MA0000002"),
                               kind="授权运营机构", region_code="990000")
        sys_id = catalog.create_system(s, system, SystemIn(org_id=prov.id, name="社保系统")).id
        r = catalog.create_resource(s, system, ResourceIn(
            system_id=sys_id, name="居民收入（基准）", abstract="沙箱基准测试用的居民收入信息。", org_id=prov.id,
            category_code="101001", library="基础库", format_kind="数据库", share_type="有条件共享",
            share_condition="履职使用", share_method="接口", open_type="不予开放", update_cycle="每日",
            items=[ItemIn(name="区县", data_type="C"), ItemIn(name="年龄", data_type="I"),
                   ItemIn(name="性别", data_type="C"), ItemIn(name="收入", data_type="N"),
                   ItemIn(name="身份证号", data_type="C")]))
        catalog.submit_resource(s, system, r.id)
        catalog.publish_resource(s, system, r.id)
        user = orgs.create_user(s, system, username="bench_operator", display_name="bench", password=None,
                                roles=[RoleSpec("运营方", oper.uscc, None)])
        rid, oper_id, user_id = r.id, oper.id, user.id
    ingest_arrow(db, system, rid, [_rows(rows)], source={"kind": "bench"})
    today = workdays.today()
    with db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = grades[item.name]
        auth = auths.create_authorization(
            s, system, operator_org_id=oper_id, scope_kind="场景", scope="基准", purpose="沙箱基准",
            resources=[{"resource_id": rid, "items": list(grades)}], starts_on=today, ends_on=today, fee_cap_fen=0)
        actor = orgs.actor_for(s, s.get(User, user_id))
        return rid, auth.id, actor


def _baseline(rid: int, sql: str) -> float:
    """The same aggregate by plain DuckDB on the batch's Parquet files (no checks, no output)."""

    with get_database().read() as s:
        batch = s.query(Batch).filter_by(resource_id=rid).one()
        files = ", ".join(literal(str(get_settings().zone / batch.path / f)) for f in batch.files)
    con = get_engine().connect()
    try:
        t0 = time.perf_counter()
        con.sql(sql.format(v=f"read_parquet([{files}])")).fetchall()
        return time.perf_counter() - t0
    finally:
        con.close()


def _exhaustion_stop(runs: int, limit: float = 2.0) -> dict[str, Any]:
    """Issue 16: a query that would run for ever (a four-way cross join) is stopped within the
    time limit + 1 s, killed by the runner's wall clock; the time from submitting to the refusal."""
    import pyarrow as pa


    table = pa.table({"a": list(range(2000))})
    times, codes = [], set()
    for _ in range(max(1, runs)):
        t = time.perf_counter()
        try:
            sandbox.run_locked("SELECT count(*) FROM t a, t b, t c, t d", {"t": table}, timeout=limit, memory_mb=256)
            codes.add("finished")
        except Refusal as exc:
            codes.add(exc.code)
        times.append(time.perf_counter() - t)
    worst = max(times)
    return {"limit_s": limit, "median_stop_s": round(statistics.median(times), 2), "max_stop_s": round(worst, 2),
            "codes": sorted(codes), "within_limit_plus_1s": worst <= limit + 1.0}


def run(runs: int = 5, scale: float = 1.0) -> dict[str, Any]:
    rows = max(10_000, int(BASE_ROWS * scale))
    with tempfile.TemporaryDirectory(prefix="ybz-bench-sandbox-") as home, \
            bench_environment(YBZ_HOME=home, YBZ_DB_URL=None, YBZ_ZONE=None):

        t0 = time.monotonic()
        rid, auth_id, actor = _setup(rows)
        setup_s = time.monotonic() - t0
        db = get_database()
        results: dict[str, Any] = {}
        for name, template in QUERIES.items():
            sql = template.format(v=f"r_{rid}")
            full, plain, states = [], [], set()
            for _ in range(max(1, runs)):
                t = time.perf_counter()
                run_ = sandbox.submit_query(db, actor, auth_id, sql)
                states.add(run_.state)
                groups = run_.row_count
                full.append(time.perf_counter() - t)
                plain.append(_baseline(rid, template))
            med, base = statistics.median(full), statistics.median(plain)
            results[name] = {"median_s": round(med, 3), "max_s": round(max(full), 3), "groups": groups,
                             "states": sorted(states), "duckdb_median_s": round(base, 3),
                             "ratio_to_duckdb": round(med / base, 1) if base else None}
    worst = max(r["median_s"] for r in results.values())
    stop = _exhaustion_stop(runs)
    return {"benchmark": "sandbox", "rows": rows, "runs": runs, "setup_seconds": round(setup_s, 1),
            "queries": results, "worst_median_s": worst, "goal_s": 2.0, "meets_goal": worst < 2.0,
            "exhaustion": stop,
            "load_average": [round(x, 2) for x in os.getloadavg()]}
