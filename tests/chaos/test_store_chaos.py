"""Issue 20's chaos pass, the server and the stores: the API server killed with SIGKILL under a
load of writes; PostgreSQL restarting (and down) under load, with a worker waiting through it;
the zone's disk full. Each ends in a clear error (503 / 507 problem+json) or a retried success,
nothing half-written is visible, and the evidence chain verifies."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import need
from tests.factories import resource_in
from yibenzhang.catalog.model import Resource, ResourceItem
from yibenzhang.ledger import service as ledger
from yibenzhang.ledger.model import LedgerEvent

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_whole(db) -> None:
    """Every resource has all its items and its creation event; the chain verifies."""
    with db.read() as s:
        report = ledger.verify(s)
        assert report.ok, report.as_dict()
        per = dict(s.execute(select(ResourceItem.resource_id, func.count()).group_by(ResourceItem.resource_id)).all())
        names = s.execute(select(Resource.id, Resource.name).where(Resource.name.startswith("压测"))).all()
        created = s.scalar(select(func.count()).select_from(LedgerEvent).where(
            LedgerEvent.action == "catalog.resource.create", LedgerEvent.subject_id.in_([str(i) for i, _ in names])))
    assert all(per.get(rid) == 3 for rid, _ in names), per
    assert created == len(names)


def resource_body(world, n: int) -> dict:
    return resource_in(world, name=f"压测资源{n}").model_dump(mode="json")


class Load:
    """Threads creating resources through the API until stopped; every answer's status kept."""

    def __init__(self, call, threads: int = 4) -> None:
        self.call, self.statuses, self.stop = call, [], threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def _run(self, i: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                self.statuses.append(self.call(i * 100_000 + n))
            except (httpx.TransportError, OSError):
                self.statuses.append("down")
                time.sleep(0.05)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


# --- the API server killed under load ------------------------------------------------------------


def start_server(world, home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "YBZ_HOME": str(home), "YBZ_DB_URL": world.db.url}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "yibenzhang.api:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not start")


def test_the_server_killed_under_load_leaves_whole_writes_and_a_verifying_chain(world, home):
    port = free_port()
    token = world.headers("police_steward")
    server = start_server(world, home, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=token, timeout=30) as http:
            def create(n: int) -> int:
                return http.post("/api/v1/resources", json=resource_body(world, n)).status_code

            with Load(create) as load:
                deadline = time.monotonic() + 60
                while load.statuses.count(201) < 12 and time.monotonic() < deadline:
                    time.sleep(0.05)
                server.send_signal(signal.SIGKILL)  # mid-request: writes are in flight
                server.wait(10)
                time.sleep(0.3)
        assert server.returncode == -signal.SIGKILL
        errors = server.stderr.read().decode()[-3000:] if server.stderr else ""
        assert load.statuses.count(201) >= 12 and not [s for s in load.statuses if s not in (201, "down")], errors
        assert_whole(world.db)
        from fastapi.testclient import TestClient

        from yibenzhang.api import create_app

        # and the store serves the next writer (a fresh app on it, as a restarted server would be)
        again = TestClient(create_app()).post("/api/v1/resources", json=resource_body(world, 0), headers=token)
        assert again.status_code == 201, again.text
        assert_whole(world.db)
    finally:
        server.kill()
        server.wait(10)


# --- PostgreSQL restarting under load --------------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster of this test's own (the shared one stays untouched)."""

    def __init__(self, root: Path) -> None:
        self.data, self.sock, self.port = root / "data", root / "sock", free_port()
        self.sock.mkdir()
        # PostgreSQL refuses to run as root: as root, run it as the `postgres` account.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(root, "postgres")
            shutil.chown(self.sock, "postgres")
        self.run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                 "-E", "UTF8", "--locale=C")
        self.ctl("start")

    def run(self, *cmd: str) -> None:
        done = subprocess.run([*self.as_user, *cmd], capture_output=True)
        assert done.returncode == 0, (cmd, done.stdout.decode()[-1000:], done.stderr.decode()[-1000:])

    def ctl(self, *args: str) -> None:
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.data / "log"), "-w",
                 "-t", "60", *args)

    def url(self, name: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    need((PG_BIN / "initdb").exists(), "PostgreSQL 15 server binaries (initdb, pg_ctl)")
    root = Path(tempfile.mkdtemp(prefix="ybz-pg-"))  # short: the socket path has a length limit
    c = Cluster(root)
    try:
        yield c
    finally:
        with contextlib.suppress(AssertionError):
            c.ctl("stop", "-m", "immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_world(cluster: Cluster, home: Path, monkeypatch: pytest.MonkeyPatch):
    import psycopg

    from tests.factories import build_world
    from yibenzhang.catalog.taxonomy import seed_categories
    from yibenzhang.config import reset_settings
    from yibenzhang.db import get_database, reset_databases
    from yibenzhang.migrating import migrate

    with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE DATABASE ybz")
    url = cluster.url("ybz")
    migrate(url)
    monkeypatch.setenv("YBZ_DB_URL", url)
    reset_settings()
    reset_databases()
    with get_database().write() as s:
        seed_categories(s)
    yield build_world(get_database())
    reset_databases()


def test_postgresql_restarting_under_load_is_a_503_then_a_retried_success(cluster, pg_world, tmp_path):
    from fastapi.testclient import TestClient

    from tests.factories import published
    from tests.test_jobs_schedules import _source
    from yibenzhang import jobs
    from yibenzhang.api import create_app
    from yibenzhang.collect import pull
    from yibenzhang.db import utcnow

    world = pg_world
    client = TestClient(create_app(), raise_server_exceptions=False)
    token = world.headers("police_steward")

    def create(n: int) -> int:
        return client.post("/api/v1/resources", json=resource_body(world, n), headers=token).status_code

    # a worker waits through the outage and runs the pull that fell due meanwhile
    rid = published(world)
    with world.db.write() as s:
        sid = pull.create_schedule(s, world.actor("police_steward"), rid, url=f"sqlite:///{_source(tmp_path)}",
                                   query="SELECT 姓名, 公民身份号码 FROM people").id
        job = pull.run_schedule_now(s, world.actor("police_steward"), sid)
        job.run_at = utcnow() + timedelta(seconds=3)
        job_id = job.id
    worker = jobs.Worker(world.db, run_tickers=False, poll_seconds=0.2, backoff_base=0.5, backoff_cap=1.0)
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    try:
        with Load(create, threads=3) as load:
            while load.statuses.count(201) < 5:
                time.sleep(0.05)
            cluster.ctl("restart", "-m", "fast")  # sessions cut mid-transaction
            while load.statuses.count(201) < 10:
                time.sleep(0.05)
            cluster.ctl("stop", "-m", "fast")
            down = client.post("/api/v1/resources", json=resource_body(world, 0), headers=token)
            time.sleep(3.5)  # the pull falls due while the store is down; the worker keeps waiting
            cluster.ctl("start")
            while load.statuses.count(201) < 15:
                time.sleep(0.05)
        assert down.status_code == 503 and down.headers["content-type"].startswith("application/problem+json")
        assert down.json()["code"] == "store_unavailable" and down.headers["retry-after"]
        assert set(load.statuses) <= {201, 503}, sorted({str(s) for s in load.statuses})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with world.db.read() as s:
                if s.get(jobs.Job, job_id).status in ("成功", "放弃"):
                    break
            time.sleep(0.2)
        assert runner.is_alive()
        with world.db.read() as s:
            assert s.get(jobs.Job, job_id).status == "成功"
    finally:
        worker.stop()
        runner.join(30)
    assert_whole(world.db)


# --- the zone's disk full --------------------------------------------------------------------------


@pytest.fixture
def small_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 4 MiB tmpfs as the zone (mounting needs root or CAP_SYS_ADMIN)."""
    from yibenzhang.config import reset_settings

    mnt = tmp_path / "zone"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    need(done.returncode == 0, f"a small tmpfs for the zone (mount: {done.stderr.decode().strip()})")
    monkeypatch.setenv("YBZ_ZONE", str(mnt))
    reset_settings()
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
        reset_settings()


def fill(root: Path, leave: int) -> Path:
    filler = root / "filler.bin"
    free = shutil.disk_usage(root).free
    with open(filler, "wb") as f:
        f.truncate(0)
        f.write(b"\0" * max(0, free - leave))
    return filler


def test_a_full_zone_is_a_507_with_nothing_published_then_the_retry_succeeds(client, world, small_zone, tmp_path):
    from tests.collect.conftest import ITEMS, rows_csv
    from tests.factories import published
    from yibenzhang.collect.pipeline import ingest_file
    from yibenzhang.errors import StorageFull
    from yibenzhang.zone.model import Batch

    rid = published(world, items=ITEMS)
    csv = tmp_path / "big.csv"
    csv.write_text(rows_csv([f"人{i},{110101199000000000 + i},2023-05-01,{i},是,{i % 7}" for i in range(30_000)]),
                   encoding="utf-8")
    steward = world.actor("police_steward")
    filler = fill(small_zone, 48 * 1024)

    with pytest.raises(StorageFull):  # the ingest itself: a clear error, its staging removed
        ingest_file(world.db, steward, rid, csv)
    h = world.headers("police_steward")
    with open(csv, "rb") as f:  # the upload: a 507 problem+json
        r = client.post(f"/api/v1/resources/{rid}/batches", files={"file": ("big.csv", f, "text/csv")}, headers=h)
    assert r.status_code == 507 and r.json()["code"] == "storage_full", r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Batch).where(Batch.resource_id == rid)) == 0
    staging = small_zone / ".staging"
    assert not staging.exists() or not [p for p in staging.iterdir() if not p.name.startswith(".")]

    filler.unlink()  # the administrator frees space; the same file goes in whole
    report = ingest_file(world.db, steward, rid, csv)
    assert report.status == "已发布" and report.rows_accepted == 30_000
    with world.db.read() as s:
        report = ledger.verify(s)
    assert report.ok
