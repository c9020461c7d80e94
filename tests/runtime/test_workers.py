"""Issue 14's acceptance with a real `ybz serve --workers 4` (a subprocess on a free port, over a
PostgreSQL store): the workers behave as one platform.

- a grant's rate limit of N calls is exact across workers: N pass, the others are refused (429,
  `rate_limited`, Retry-After), whichever worker answers;
- a revocation is refused on the very next call, in every worker;
- a worker killed with SIGKILL in the middle of a 32-client load loses no usage record: the
  records stored are at least the answered calls (and at most those plus the calls in flight);
  every record is then sealed by a ledger summary written as its caller, and the chain verifies;
- /metrics, parsed by prometheus_client's parser, sums every worker (one truth);
- /readyz answers 503 naming the zone or the database when that part is down.

Calls go over a fresh connection each, so the kernel hands them to different workers; which
workers answered is read from each worker's own metrics file (PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.redis_support import free_port, redis_url  # noqa: F401  (fixture)
from tests.share.test_grants import issue, share_fixture  # noqa: F401  (the `share` fixture)
from tests.sso.servers import stop
from yibenzhang import ratelimit
from yibenzhang.ledger import service as ledger
from yibenzhang.share import grants as G

WORKERS = 4
pytestmark = pytest.mark.parametrize("db", ["postgresql"], indirect=True)


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, metrics_dir: Path, home: Path) -> None:
        self.proc, self.port, self.metrics_dir, self.home = proc, port, metrics_dir, home

    def call(self, method: str, path: str, headers: dict[str, str] | None = None,
             body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def workers(self) -> list[int]:
        """The worker processes (children of the server that are not multiprocessing helpers)."""
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid and b"resource_tracker" not in cmd:
                out.append(int(entry.name))
        return sorted(out)

    def answered_by(self, route: str) -> Counter[int]:
        """Requests of `route` each worker counted (its own metrics file)."""
        from prometheus_client.mmap_dict import MmapedDict

        got: Counter[int] = Counter()
        for path in self.metrics_dir.glob("counter_*.db"):
            pid = int(path.stem.split("_")[1])
            for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
                name, _, labels, _ = json.loads(key)
                if name == "ybz_http_requests" and labels.get("route") == route:
                    got[pid] += int(value)
        return got


@pytest.fixture
def limits_in() -> str:
    """Where the workers count rate limits: the metadata store (default) or Redis."""
    return "store"


@pytest.fixture
def server(share, tmp_path, limits_in, request):
    """`ybz serve --workers 4` over the test's PostgreSQL store and home; stopped by its pid."""
    w = share.world
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    env = {**os.environ, "YBZ_DB_URL": w.db.url, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "YBZ_SHARE_USAGE_FLUSH_SECONDS": "0.5"}
    env.pop("YBZ_REDIS_URL", None)
    if limits_in == "redis":
        env["YBZ_REDIS_URL"] = request.getfixturevalue("redis_url")
    metrics_dir.mkdir()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen([sys.executable, "-c", "from yibenzhang.cli import app; app()", "serve", "--port",
                             str(port), "--workers", str(WORKERS)], env=env, stdout=log, stderr=subprocess.STDOUT)
    srv = Server(proc, port, metrics_dir, Path(os.environ["YBZ_HOME"]))
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if srv.call("GET", "/healthz")[0] == 200 and len(srv.workers()) >= WORKERS:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.25)
        yield srv
    finally:
        stop(proc.pid, grace=30)
        for pid in srv.workers():  # a worker left behind by a killed supervisor
            os.kill(pid, signal.SIGKILL)
        log.close()
        w.db.engine.dispose()


def rows_path(gid: int) -> str:
    return f"/api/v1/grants/{gid}/rows?limit=2"


ROWS_ROUTE = "/api/v1/grants/{grant_id}/rows"


@pytest.mark.parametrize("limits_in", ["store", "redis"])
def test_a_grants_rate_limit_is_exact_across_workers(server, share, limits_in):
    w = share.world
    h = w.headers("consumer")
    n = 12
    gid = issue(share, items=["姓名"], rate=n)
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda _: server.call("GET", rows_path(gid), h), range(3 * n)))
    codes = Counter(status for status, _, _ in got)
    assert codes == {200: n, 429: 2 * n}, codes
    for status, headers, body in got:
        if status == 429:
            problem = json.loads(body)
            assert problem["code"] == "rate_limited" and 1 <= int(headers["retry-after"]) <= 60
            assert headers["content-type"].startswith("application/problem+json")
    assert len(server.answered_by(ROWS_ROUTE)) >= 2  # more than one worker answered
    # sequentially on a fresh grant: call N passes, call N+1 is refused
    gid = issue(share, items=["姓名"], rate=3)
    assert [server.call("GET", rows_path(gid), h)[0] for _ in range(4)] == [200, 200, 200, 429]
    with w.db.read() as s:  # every call, refused ones too, is a usage record
        assert s.scalar(select(func.count()).select_from(G.GrantUsage)) == 3 * n + 4
        counters = s.scalar(select(func.count()).select_from(ratelimit.RateCounter))
    assert counters == (2 if limits_in == "store" else 0)  # Redis holds them when it is configured


def test_a_revocation_is_refused_on_the_next_call_in_every_worker(server, share):
    w = share.world
    h = w.headers("consumer")
    gid = issue(share, items=["姓名"], rate=100_000)
    before = server.answered_by(ROWS_ROUTE)
    with ThreadPoolExecutor(8) as pool:  # every worker caches the grant, its shape and the token
        assert {s for s, _, _ in pool.map(lambda _: server.call("GET", rows_path(gid), h), range(64))} == {200}
    warmed = server.answered_by(ROWS_ROUTE) - before
    assert len(warmed) == WORKERS, warmed
    status, _, body = server.call("POST", f"/api/v1/grants/{gid}/revoke",
                                  {**w.headers("police_approver"), "Content-Type": "application/json"},
                                  json.dumps({"reason": "职责调整"}).encode())
    assert status == 200, body
    before = server.answered_by(ROWS_ROUTE)
    with ThreadPoolExecutor(8) as pool:
        after = list(pool.map(lambda _: server.call("GET", rows_path(gid), h), range(64)))
    assert {(s, json.loads(b)["code"]) for s, _, b in after} == {(403, "grant_revoked")}
    refused_by = server.answered_by(ROWS_ROUTE) - before
    assert len(refused_by) == WORKERS, refused_by  # every worker refused, none served from its cache


def test_kill_9_of_a_worker_under_load_loses_no_usage_record(server, share):
    w = share.world
    h = w.headers("consumer")
    gid = issue(share, items=["姓名", "行政区划代码"], rate=10_000_000)
    stop = threading.Event()
    answered = Counter()
    failed = [0]
    lock = threading.Lock()

    def client(_: int) -> None:
        while not stop.is_set():
            try:
                status, _, _ = server.call("GET", rows_path(gid), h)
            except (OSError, http.client.HTTPException):
                with lock:
                    failed[0] += 1  # no answer: the worker died under this call
                continue
            with lock:
                answered[status] += 1

    def answered_so_far() -> int:
        with lock:
            return sum(answered.values())

    def until(n: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while answered_so_far() < n and time.monotonic() < deadline:
            time.sleep(0.1)

    with ThreadPoolExecutor(8) as pool:  # warm every worker first (a cold call builds the grant's shape)
        assert {s for s, _, _ in pool.map(lambda _: server.call("GET", rows_path(gid), h), range(64))} == {200}
    victim = server.workers()[0]
    with ThreadPoolExecutor(32) as pool:
        futures = [pool.submit(client, i) for i in range(32)]
        until(200, 120)
        os.kill(victim, signal.SIGKILL)
        at_kill = answered_so_far()
        until(at_kill + 200, 120)
        stop.set()
        for f in futures:
            f.result()
    assert set(answered) == {200}, answered
    total = sum(answered.values()) + 64
    assert total - 64 > at_kill >= 200  # calls were answered before and after the kill
    with w.db.read() as s:
        stored = s.scalar(select(func.count()).select_from(G.GrantUsage).where(G.GrantUsage.grant_id == gid))
    # every answered call's record was committed before its answer; a call cut off by the kill
    # may have its record without an answer (at most one per client)
    assert total <= stored <= total + 32 + failed[0], (total, stored, failed[0])
    # the records are sealed by summaries written as their caller (the surviving workers' or ours); a
    # surviving worker may be sealing some right now (FOR UPDATE SKIP LOCKED: ours skips them until it commits)
    deadline = time.monotonic() + 30
    while True:
        G.USAGE.flush(w.db)
        with w.db.read() as s:
            unsealed = s.scalar(select(func.count()).select_from(G.GrantUsage).where(
                G.GrantUsage.summary_seq.is_(None)))
        if unsealed == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert unsealed == 0
    with w.db.read() as s:
        summaries = [json.loads(c) | {"_actor": a} for a, c in s.execute(select(
            ledger.LedgerEvent.actor, ledger.LedgerEvent.content).where(
            ledger.LedgerEvent.action == "share.usage", ledger.LedgerEvent.subject_id == str(gid)))]
        assert sum(x["calls"] for x in summaries) == stored
        assert {x["_actor"] for x in summaries} == {"consumer"}  # the caller, not the system
        assert all("actors" not in x for x in summaries)
        report = ledger.verify(s)
    assert report.ok, report.as_dict()


def test_metrics_of_all_workers_in_one_scrape(server, share):
    from prometheus_client.parser import text_string_to_metric_families

    w = share.world
    h = w.headers("consumer")
    gid = issue(share, items=["姓名"], rate=100_000)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: server.call("GET", rows_path(gid), h), range(40)))
    server.call("GET", "/api/v1/grants/999999/rows", h)  # a reject (404)
    status, headers, body = server.call("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    calls = {(s.labels["kind"], s.labels["outcome"]): s.value
             for s in families["ybz_share_calls"].samples if s.name == "ybz_share_calls_total"}
    assert calls[("rows", "ok")] == 40  # every worker's calls, summed
    latency = [s for s in families["ybz_http_request_duration_seconds"].samples
               if s.name.endswith("_count") and s.labels["route"] == ROWS_ROUTE]
    assert sum(s.value for s in latency) >= 41
    assert not any("999999" in s.labels.get("route", "") for f in families.values() for s in f.samples)
    rejects = {(s.labels["route"], s.labels["status"]): s.value for s in families["ybz_http_rejects"].samples
               if s.name == "ybz_http_rejects_total"}
    assert rejects[(ROWS_ROUTE, "404")] == 1
    depth = {s.labels["state"]: s.value for s in families["ybz_job_queue_depth"].samples}
    assert set(depth) >= {"queued", "running", "failed", "gave_up"}
    assert len(server.answered_by(ROWS_ROUTE)) >= 2


def test_readyz_names_the_failing_part(server, share, pg_url):
    status, _, body = server.call("GET", "/readyz")
    assert status == 200 and json.loads(body)["parts"] == {"database": "ok", "zone": "ok", "engine": "ok"}
    zone = server.home / "zone"
    moved = zone.with_name("zone-away")
    zone.rename(moved)
    try:
        status, headers, body = server.call("GET", "/readyz")
        problem = json.loads(body)
        assert status == 503 and problem["code"] == "not_ready" and problem["failing"] == ["zone"]
        assert "zone" in problem["detail"] and headers["retry-after"]
    finally:
        moved.rename(zone)
    assert server.call("GET", "/readyz")[0] == 200
    name = share.world.db.url.rsplit("/", 1)[1]
    from tests.conftest import _pg_admin

    admin = _pg_admin()
    try:
        with admin.connect() as conn:  # the database refuses connections and drops those it has
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})
        share.world.db.engine.dispose()
        status, _, body = server.call("GET", "/readyz")
        problem = json.loads(body)
        assert status == 503 and problem["failing"] == ["database"], problem
        assert server.call("GET", "/healthz")[0] == 200  # alive, not ready
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    deadline = time.monotonic() + 30
    while server.call("GET", "/readyz")[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _multipart(name: str, content: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "ybz" + os.urandom(8).hex()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_an_uploads_progress_is_answered_by_every_worker(server, share):
    """The browser polls an ingest's progress; whichever worker answers knows it (it lived in
    the receiving worker's memory before: three polls in four were a 404 with four workers)."""
    w = share.world
    lines = ["姓名,公民身份号码,宗教信仰,行政区划代码,内部备注"]
    lines += [f"人{i},99010119900307{i:04d},无,990101,备注" for i in range(2000)]
    body, kind = _multipart("人口.csv", "\r\n".join(lines).encode(), {"mode": "更新"})
    status, _, raw = server.call("POST", f"/api/v1/resources/{share.rid}/batches",
                                 {**w.headers("police_steward"), "Content-Type": kind}, body)
    assert status == 202, raw
    token = json.loads(raw)["token"]
    before = server.answered_by("/api/v1/ingests/{token}")
    deadline = time.monotonic() + 120
    with ThreadPoolExecutor(8) as pool:
        while True:
            got = list(pool.map(lambda _: server.call("GET", f"/api/v1/ingests/{token}",
                                                      w.headers("police_steward")), range(16)))
            assert {s for s, _, _ in got} == {200}, [(s, b[:200]) for s, _, b in got if s != 200]
            states = [json.loads(b) for _, _, b in got]
            if all(s["status"] == "done" for s in states) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert states[0]["status"] == "done" and states[0]["report"]["rows_read"] == 2000, states[0]
    assert len(server.answered_by("/api/v1/ingests/{token}") - before) >= 2  # more than one worker knew it
    other = server.call("GET", f"/api/v1/ingests/{token}", w.headers("consumer"))
    assert other[0] == 404  # not the uploader's: the same answer as a wrong token
