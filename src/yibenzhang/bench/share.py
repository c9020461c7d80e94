"""`ybz bench share`: the row service of a grant under load, and verification.

A BASE_ROWS-row resource in a temporary home, a 接口 grant and a 核验 grant, the app served by
uvicorn in a separate process on loopback, 32 concurrent clients for 30 s × scale requesting
pages (keyset pagination, half of them filtered on a division code); then verification for
10 s × scale. Rate limits are off (YBZ_SHARE_RATE_LIMIT=off). Baseline: the same page as a plain
DuckDB query over the zone's Parquet in this process. Goals (issue 5): p99 < 100 ms at ≥ 300
requests/s; verification ≥ 1,000 checks/s.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from . import bench_environment

BASE_ROWS = 1_000_000
CLIENTS = 32
PAGE = 50
CODES = [f"99{c:02d}{d:02d}" for c in range(1, 9) for d in range(1, 9)]


def _rows(n: int) -> pa.RecordBatch:
    rng = np.random.default_rng(7)
    idx = np.arange(n)
    codes = np.array(CODES)[rng.integers(0, len(CODES), n)]
    ids = pa.array([f"{c}19900101{i:04d}" for c, i in zip(codes.tolist(), (idx % 10000).tolist(), strict=True)])
    return pa.RecordBatch.from_pydict({
        "姓名": pa.array(np.char.add("居民", (idx % 99991).astype(str)).tolist()),
        "公民身份号码": ids, "行政区划代码": pa.array(codes.tolist()),
        "登记序号": pa.array(idx.astype(str).tolist())})


def _setup(rows: int) -> tuple[int, int, str]:
    from ..access import Actor
    from ..catalog import service as catalog
    from ..catalog.model import ResourceItem
    from ..catalog.schemas import ItemIn, ResourceIn, SystemIn
    from ..codes import make_uscc
    from ..collect.pipeline import ingest_arrow
    from ..db import get_database
    from ..orgs import service as orgs
    from ..orgs.service import RoleSpec
    from ..setup import initialize
    from ..share import grants as G

    initialize()
    system, db = Actor.system(), get_database()
    with db.write() as s:
        orgs.create_region(s, system, code="990000", name="云岭省", parent_code=None)
        prov = orgs.create_org(s, system, name="基准公安厅", uscc=make_uscc("11990000MB0000001"), kind="政府部门",
                               region_code="990000")
        cons = orgs.create_org(s, system, name="基准市场监管局", uscc=make_uscc("11990000MB0000002"),
                               kind="政府部门", region_code="990000")
        sys_id = catalog.create_system(s, system, SystemIn(org_id=prov.id, name="人口系统")).id
        r = catalog.create_resource(s, system, ResourceIn(
            system_id=sys_id, name="人口基本信息（基准）", abstract="共享基准测试用的人口基本信息。", org_id=prov.id,
            category_code="101001", library="基础库", format_kind="数据库", share_type="有条件共享",
            share_condition="履职使用", share_method="接口", open_type="不予开放", update_cycle="每日",
            items=[ItemIn(name=n, data_type="C") for n in ("姓名", "公民身份号码", "行政区划代码", "登记序号")]))
        orgs.create_user(s, system, username="bench_consumer", display_name="bench", password=None,
                         roles=[RoleSpec("数据使用方", cons.uscc, None)])
        rid, cons_id = r.id, cons.id
    ingest_arrow(db, system, rid, [_rows(rows)], source={"kind": "bench"})
    with db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = "一般-2级"
        kw = dict(request_id=None, consumer_org_id=cons_id, resource_id=rid, row_scope=None,
                  valid_from=date.today(), valid_to=date.today() + timedelta(days=1), rate_limit_per_minute=60)
        rows_g = G.issue_grant(s, system, items=["姓名", "行政区划代码", "登记序号"], mode="接口", **kw).id
        verify_g = G.issue_grant(s, system, items=["公民身份号码", "姓名"], mode="核验", **kw).id
        _, token = orgs.create_token(s, system, username="bench_consumer")
    return rows_g, verify_g, token


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _load(base: str, token: str, seconds: float, call: Any) -> tuple[list[float], int]:
    import httpx

    lat: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=30) as client:
        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            state: dict[str, Any] = {}
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                ok = await call(client, rng, state)
                lat.append(time.perf_counter() - t0)
                errors += 0 if ok else 1
        await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
    return lat, errors


def _rows_call(grant: int) -> Any:
    async def call(client: Any, rng: random.Random, state: dict[str, Any]) -> bool:
        params: dict[str, Any] = {"limit": PAGE}
        if state.get("next") and state.get("pages", 0) < 5:
            params["after"] = state["next"]
            params.update(state["filter"])
            state["pages"] += 1
        else:
            state["filter"] = {"filter.行政区划代码": rng.choice(CODES)} if rng.random() < 0.5 else {}
            state["pages"] = 0
            params.update(state["filter"])
        r = await client.get(f"/api/v1/grants/{grant}/rows", params=params)
        state["next"] = r.json().get("next") if r.status_code == 200 else None
        return r.status_code == 200
    return call


def _verify_call(grant: int) -> Any:
    async def call(client: Any, rng: random.Random, state: dict[str, Any]) -> bool:
        code = rng.choice(CODES)
        r = await client.post(f"/api/v1/grants/{grant}/verify", json={
            "key": {"公民身份号码": f"{code}19900101{rng.randrange(10000):04d}"}, "claims": {"姓名": "居民1"}})
        return r.status_code == 200
    return call


def _baseline(rows_g: int, samples: int = 200) -> float:
    """p50 of the same pages as one plain DuckDB query over the zone (no HTTP, no masking)."""
    from ..db import get_database
    from ..share import grants as G
    from ..zone.engine import get_engine
    from ..zone.service import current_relation

    with get_database().read() as s:
        rel = current_relation(s, s.get(G.Grant, rows_g).resource_id)
    con = get_engine().connect()
    rng = random.Random(1)
    times = []
    for _ in range(samples):
        code = rng.choice(CODES)
        t0 = time.perf_counter()
        con.execute(f'SELECT "姓名", "行政区划代码", "登记序号", _batch, _row FROM {rel} WHERE "行政区划代码" = ? '
                    f"ORDER BY _batch, _row LIMIT {PAGE}", [code]).fetchall()
        times.append(time.perf_counter() - t0)
    con.close()
    return statistics.median(times)


def _pct(lat: list[float], q: float) -> float:
    return float(np.percentile(np.array(lat), q)) * 1000 if lat else float("nan")


def run(runs: int = 1, scale: float = 1.0) -> dict[str, Any]:

    rows = max(1000, int(BASE_ROWS * scale))
    seconds = max(3.0, 30.0 * scale)
    with tempfile.TemporaryDirectory(prefix="ybz-bench-share-") as home, \
            bench_environment(YBZ_HOME=home, YBZ_DB_URL=None, YBZ_ZONE=None, YBZ_SHARE_RATE_LIMIT="off"):
        server = None
        try:
            t0 = time.monotonic()
            rows_g, verify_g, token = _setup(rows)
            setup_s = time.monotonic() - t0
            port = _port()
            server = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "yibenzhang.api:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning", "--no-access-log"], env=dict(os.environ))
            base = f"http://127.0.0.1:{port}"
            import httpx
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/v1/grants/{rows_g}/rows?limit=1",
                                 headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            lat, errors = asyncio.run(_load(base, token, seconds, _rows_call(rows_g)))
            vlat, verrors = asyncio.run(_load(base, token, max(3.0, seconds / 3), _verify_call(verify_g)))
            baseline = _baseline(rows_g)
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
    p50, p99 = _pct(lat, 50), _pct(lat, 99)
    rps = len(lat) / seconds
    vps = len(vlat) / max(3.0, seconds / 3)
    return {"benchmark": "share", "rows": rows, "clients": CLIENTS, "seconds": seconds, "page": PAGE,
            "setup_seconds": round(setup_s, 1), "requests": len(lat), "errors": errors,
            "requests_per_s": round(rps, 1), "p50_ms": round(p50, 1), "p99_ms": round(p99, 1),
            "duckdb_page_p50_ms": round(baseline * 1000, 2), "ratio_p50_to_duckdb": round(p50 / (baseline * 1000), 1),
            "verify_checks_per_s": round(vps, 1), "verify_p99_ms": round(_pct(vlat, 99), 1),
            "verify_errors": verrors,
            "goals": {"p99_ms_lt_100": p99 < 100, "rps_ge_300": rps >= 300, "verify_ge_1000": vps >= 1000},
            "notes": ("one run (runs ignored); rate limits off; usage buffered per process, written every"
                      " second with one ledger summary per grant per flush")}
