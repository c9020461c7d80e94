"""`ybz bench share`: the row service of a grant under load, and verification.

A BASE_ROWS-row resource in a temporary home, a 接口 grant and a 核验 grant, the app
(`yibenzhang.api:create_app`, the same app `ybz serve` runs) served by uvicorn in a separate
process on loopback, 32 concurrent clients for 30 s × scale requesting pages (keyset
pagination, half of them filtered on a division code), then verification for 10 s × scale,
repeated `runs` times against the same server; the median run is reported with every run.

The clients are one asyncio process speaking HTTP/1.1 over 32 keep-alive connections with a
minimal parser (httpx's client cost ≈1 ms of CPU per request, as much as the server, on the same
two cores). Each response's status is checked and each page's JSON parsed for its cursor.
Rate limits are off (YBZ_SHARE_RATE_LIMIT=off). Baseline: the same mix of pages as one plain
DuckDB query over the zone's Parquet in this process (no HTTP, no masking, no snapshot).
The server's CPU per request (from /proc) says where the time goes. Goals (issue 5):
p99 < 100 ms at ≥ 300 requests/s; verification ≥ 1,000 checks/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
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
from ..db import get_database
from ..orgs import service as orgs
from ..orgs.service import RoleSpec
from ..setup import initialize
from ..share import grants as G
from ..zone.engine import get_engine
from ..zone.service import current_relation
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
                  valid_from=workdays.today(), valid_to=workdays.today() + timedelta(days=1), rate_limit_per_minute=60)
        rows_g = G.issue_grant(s, system, items=["姓名", "行政区划代码", "登记序号"], mode="接口", **kw).id
        verify_g = G.issue_grant(s, system, items=["公民身份号码", "姓名"], mode="核验", **kw).id
        _, token = orgs.create_token(s, system, username="bench_consumer")
    return rows_g, verify_g, token


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) and of its live children (the workers of
    a multi-worker server), from /proc; NaN where there is none."""
    def own(p: int) -> tuple[float, int]:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[1])
    try:
        total = own(pid)[0]
    except (OSError, ValueError, IndexError):
        return float("nan")
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != pid:
            try:
                cpu, parent = own(int(entry))
            except (OSError, ValueError, IndexError):
                continue
            total += cpu if parent == pid else 0.0
    return total


def _request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _load(port: int, seconds: float, call: Any) -> tuple[list[float], int]:
    """CLIENTS keep-alive connections, each sending its next request when the answer is in."""
    lat: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def worker(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        state: dict[str, Any] = {}
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                req = call(rng, state)
                t0 = time.perf_counter()
                writer.write(req)
                head = await reader.readuntil(b"\r\n\r\n")
                i = head.lower().find(b"content-length:")
                body = await reader.readexactly(int(head[i + 15:head.index(b"\r\n", i)]))
                lat.append(time.perf_counter() - t0)
                ok = head[9:12] == b"200"
                errors += 0 if ok else 1
                state["body"] = body if ok else None
        finally:
            writer.close()
    await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
    return lat, errors


def _next_page(rng: random.Random, state: dict[str, Any]) -> tuple[str | None, str | None]:
    """The clients' walk: a new query (half of them filtered on one division code) or the next
    page of the current one (up to 5 pages)."""
    body = state.get("body")
    nxt = json.loads(body).get("next") if body else None
    if nxt and state.get("pages", 0) < 5:
        state["pages"] += 1
        return state["code"], nxt
    state["code"] = rng.choice(CODES) if rng.random() < 0.5 else None
    state["pages"] = 0
    return state["code"], None


def _rows_call(grant: int, token: str) -> Any:
    from urllib.parse import quote

    def call(rng: random.Random, state: dict[str, Any]) -> bytes:
        code, after = _next_page(rng, state)
        path = f"/api/v1/grants/{grant}/rows?limit={PAGE}"
        if code:
            path += f"&{quote('filter.行政区划代码')}={code}"
        if after:
            path += f"&after={after}"
        return _request("GET", path, token)
    return call


def _verify_call(grant: int, token: str) -> Any:
    def call(rng: random.Random, state: dict[str, Any]) -> bytes:
        code = rng.choice(CODES)
        body = json.dumps({"key": {"公民身份号码": f"{code}19900101{rng.randrange(10000):04d}"},
                           "claims": {"姓名": "居民1"}}).encode()
        return _request("POST", f"/api/v1/grants/{grant}/verify", token, body)
    return call


def _baseline(rows_g: int, samples: int = 300) -> float:
    """p50 of the clients' mix of pages as one plain DuckDB query each over the zone (no HTTP,
    no masking, no snapshot), with the cursor as a keyset condition."""

    with get_database().read() as s:
        rel = current_relation(s, s.get(G.Grant, rows_g).resource_id)
    con = get_engine().connect()
    rng = random.Random(1)
    state: dict[str, Any] = {}
    times = []
    for _ in range(samples):
        code, after = _next_page(rng, state)
        conds, params = [], []
        if code:
            conds.append('"行政区划代码" = ?')
            params.append(code)
        if after:
            conds.append("(_batch, _row) > (?, ?)")
            params += [int(x) for x in after.split(".")]
        where = f"WHERE {' AND '.join(conds)} " if conds else ""
        t0 = time.perf_counter()
        got = con.execute(f'SELECT "姓名", "行政区划代码", "登记序号", _batch, _row FROM {rel} {where}'
                          f"ORDER BY _batch, _row LIMIT {PAGE}", params).fetchall()
        times.append(time.perf_counter() - t0)
        last = got[-1] if len(got) == PAGE else None
        state["body"] = json.dumps({"next": f"{last[-2]}.{last[-1]}" if last else None}).encode()
    con.close()
    return statistics.median(times)


def _pct(lat: list[float], q: float) -> float:
    return float(np.percentile(np.array(lat), q)) * 1000 if lat else float("nan")


def _measure(pid: int, port: int, seconds: float, call: Any) -> dict[str, Any]:
    c0, t0 = _cpu_seconds(pid), time.process_time()
    lat, errors = asyncio.run(_load(port, seconds, call))
    c1, t1 = _cpu_seconds(pid), time.process_time()
    n = max(1, len(lat))
    return {"requests": len(lat), "errors": errors, "per_s": round(len(lat) / seconds, 1),
            "p50_ms": round(_pct(lat, 50), 1), "p99_ms": round(_pct(lat, 99), 1),
            "server_cpu_ms_per_request": round(1000 * (c1 - c0) / n, 3),
            "client_cpu_ms_per_request": round(1000 * (t1 - t0) / n, 3),
            "load_average": round(os.getloadavg()[0], 2)}


def _wait_ready(port: int, path: str, token: str) -> None:
    """Until the server answers a first row call (which also builds the grant's snapshot)."""
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(_request("GET", path, token))
                if sock.recv(64)[9:12] == b"200":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the bench server did not answer")


def _serve_and_measure(workers: int, factory: str, rows_g: int, verify_g: int, token: str, seconds: float,
                       vseconds: float, runs: int) -> dict[str, Any]:
    """One server with `workers` processes: `runs` rounds of rows then verification load."""
    server = None
    try:
        port = _port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
            env=dict(os.environ))
        t0 = time.monotonic()
        _wait_ready(port, f"/api/v1/grants/{rows_g}/rows?limit=1", token)
        # every worker builds its own snapshots: warm them all before measuring
        _measure(server.pid, port, 2.0 * workers, _rows_call(rows_g, token))
        first_s = time.monotonic() - t0
        _measure(server.pid, port, 2.0 * workers, _verify_call(verify_g, token))  # warm the verification snapshots
        row_runs, verify_runs, baselines = [], [], []
        for _ in range(runs):
            row_runs.append(_measure(server.pid, port, seconds, _rows_call(rows_g, token)))
            verify_runs.append(_measure(server.pid, port, vseconds, _verify_call(verify_g, token)))
            baselines.append(_baseline(rows_g))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    order = sorted(range(runs), key=lambda i: row_runs[i]["per_s"])
    mid = order[runs // 2]
    med, vmed = row_runs[mid], sorted(verify_runs, key=lambda r: r["per_s"])[runs // 2]
    base_ms = baselines[mid] * 1000
    return {"server_workers": workers, "first_call_seconds": round(first_s, 1),
            "requests_per_s": med["per_s"], "p50_ms": med["p50_ms"], "p99_ms": med["p99_ms"],
            "errors": sum(r["errors"] for r in row_runs),
            "duckdb_page_p50_ms": round(base_ms, 2), "ratio_p50_to_duckdb": round(med["p50_ms"] / base_ms, 1),
            "verify_checks_per_s": vmed["per_s"], "verify_p50_ms": vmed["p50_ms"], "verify_p99_ms": vmed["p99_ms"],
            "verify_errors": sum(r["errors"] for r in verify_runs),
            "each_run": {"rows": row_runs, "verify": verify_runs,
                         "duckdb_page_p50_ms": [round(b * 1000, 2) for b in baselines]},
            "goals": {"p99_ms_lt_100": med["p99_ms"] < 100, "rps_ge_300": med["per_s"] >= 300,
                      "verify_ge_1000": vmed["per_s"] >= 1000}}


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:
    """YBZ_BENCH_SHARE_WORKERS: the server's worker count, or several ("1,2", `ybz bench share
    --workers 1,2`) measured one after the other on the same resource in one run, with the ratio
    of each one's requests/s to the first's (issue 14: workers scale)."""
    rows = max(1000, int(BASE_ROWS * scale))
    seconds = max(3.0, 30.0 * scale)
    vseconds = max(3.0, seconds / 3)
    runs = max(1, runs)
    counts = [max(1, int(x)) for x in (os.environ.get("YBZ_BENCH_SHARE_WORKERS") or "1").split(",") if x.strip()]
    # The app served: the platform's own (with the data service's fast path) unless named.
    factory = os.environ.get("YBZ_BENCH_SHARE_APP") or "yibenzhang.api:create_app"
    with tempfile.TemporaryDirectory(prefix="ybz-bench-share-") as home, \
            bench_environment(YBZ_HOME=home, YBZ_DB_URL=None, YBZ_ZONE=None, YBZ_SHARE_RATE_LIMIT="off"):
        t0 = time.monotonic()
        rows_g, verify_g, token = _setup(rows)
        setup_s = time.monotonic() - t0
        each = [_serve_and_measure(n, factory, rows_g, verify_g, token, seconds, vseconds, runs) for n in counts]
    first = each[0]
    out = {"benchmark": "share", "rows": rows, "clients": CLIENTS, "seconds": seconds, "page": PAGE,
           "runs": runs, "app": factory, "setup_seconds": round(setup_s, 1), **first,
           "notes": ("median run by requests/s (its own same-run DuckDB baseline for the ratio); rate limits off;"
                     " first_call_seconds includes building each worker's in-memory snapshots; every call's usage"
                     " record is committed before its answer (issue 14), summaries written from the stored"
                     " records every second")}
    if len(each) > 1:
        out["by_workers"] = [{k: v for k, v in e.items() if k != "each_run"} for e in each]
        out["each_by_workers"] = [e["each_run"] for e in each]
        out["scaling"] = {f"{e['server_workers']}_to_{first['server_workers']}":
                          round(e["requests_per_s"] / first["requests_per_s"], 2) for e in each[1:]}
        out["goals"] = {**first["goals"], "scaling_ge_1_6": all(v >= 1.6 for v in out["scaling"].values()),
                        "p99_ms_lt_100_all": all(e["p99_ms"] < 100 for e in each)}
    return out
