"""A kill -9 at any point of a batch leaves the resource exactly as it was; `clean_leftovers`
(run by `ybz init`) removes what the killed process left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.collect.conftest import rows_csv
from tests.s3_support import zone_parquet
from yibenzhang.config import get_settings
from yibenzhang.zone import service as zone
from yibenzhang.zone.engine import get_engine
from yibenzhang.zone.storage import clean_leftovers

SCRIPT = textwrap.dedent("""
    import sys
    from yibenzhang.access import Actor
    from yibenzhang.collect.pipeline import ingest_file
    from yibenzhang.db import get_database
    ingest_file(get_database(), Actor.system(), int(sys.argv[1]), sys.argv[2])
""")


def state(world, resource_id: int) -> tuple[list, list]:
    with world.db.read() as s:
        rel = zone.current_relation(s, resource_id)
        batches = [(b["seq"], b["status"], b["row_count"]) for b in zone.list_batches(s, world.actor("admin"),
                                                                                     resource_id)]
    return get_engine().sql(f"SELECT * FROM {rel} ORDER BY _row").to_pylist(), batches


def spawn(world, home: Path, resource_id: int, path: Path, crash_at: str | None) -> subprocess.Popen:
    env = {**os.environ, "YBZ_HOME": str(home), "YBZ_DB_URL": world.db.url,
           "YBZ_SECRET_KEY": os.environ["YBZ_SECRET_KEY"]}
    env.pop("YBZ_TEST_CRASH_AT", None)
    if crash_at:
        env["YBZ_TEST_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(resource_id), str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


BATCH_ONE = re.compile(r"/000001(\.[0-9a-f]{12})?/part-000000\.parquet$")  # S3: the batch's own prefix


@pytest.mark.parametrize("crash_at", ["staged", "uploading", "renamed", "before_commit", "while_writing"])
def test_kill_9_leaves_no_partial_batch(world, people, home, tmp_path, crash_at):
    from yibenzhang.collect.pipeline import ingest_file

    first = tmp_path / "first.csv"
    first.write_text(rows_csv(["张三,110101199003077777,2023-05-01,1,是,1"]), encoding="utf-8")
    ingest_file(world.db, world.actor("police_steward"), people, first)
    before = state(world, people)
    second = tmp_path / "second.csv"
    rows = [f"人{i},{110101199000000000 + i},2023-05-01,{i},是,1" for i in range(20000)]
    second.write_text(rows_csv(rows), encoding="gb18030")
    zone_root = get_settings().zone
    if crash_at == "while_writing":
        proc = spawn(world, home, people, second, None)
        staging = zone_root / ".staging"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p for p in staging.glob("*/*") if p.name != ".lock" and p.parent.name != ".duckdb_tmp"):
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    else:
        proc = spawn(world, home, people, second, crash_at)
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    assert state(world, people) == before
    assert clean_leftovers(zone_root) >= 1
    left = zone_parquet()  # on S3: the orphan prefix is gone (its writer's lease died with it)
    assert len(left) == 1 and BATCH_ONE.search(left[0]), left
    assert not [p for p in (zone_root / ".staging").iterdir() if not p.name.startswith(".")]
    # the next batch publishes normally, with the next sequence number
    ingest_file(world.db, world.actor("police_steward"), people, second)
    assert state(world, people)[1][-1] == (2, "已发布", 20000)


def test_clean_leftovers_spares_a_live_writer(sqlite_db, tmp_path):
    from yibenzhang.zone.storage import Staging

    zone_root = get_settings().zone
    with Staging(zone_root) as live:
        (live.path / "part.parquet").write_bytes(b"x")
        assert clean_leftovers(zone_root) == 0
        assert live.path.exists()
    assert not live.path.exists()


def test_the_s3_sweep_spares_a_live_writer_and_takes_a_dead_one(sqlite_db, zone_store, monkeypatch):
    """On S3 (no flock): a prefix no manifest row names is swept only when its writer's lease is
    dead — expired, or its process gone on this host; an unleased prefix only past the lease
    period. On the local zone the same writer is spared by its flock (test above)."""
    import json
    import socket

    from yibenzhang.zone.storage import LEASE, Staging
    from yibenzhang.zone.store import get_store

    store = get_store()
    if not store.is_s3:
        assert zone_store == "local"
        return
    zone_root = get_settings().zone
    rel = "990000/X/R/000001"
    with Staging(zone_root) as live:
        (live.path / "part-000000.parquet").write_bytes(b"x")
        prefix = live.move_to(rel)
        assert prefix.startswith(rel + ".")
        assert clean_leftovers(zone_root) == 0  # a live writer: its lease is fresh, its pid alive
        assert store.exists(f"{prefix}/part-000000.parquet")
        body = json.loads(store.read_bytes(f"{prefix}/{LEASE}"))
        # another host's fresh lease is honoured
        store.write_bytes(f"{prefix}/{LEASE}", json.dumps({**body, "host": "elsewhere"}).encode())
        assert clean_leftovers(zone_root) == 0
        # a dead process on this host: swept at once, whatever the expiry says
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
        live._stop_lease(delete=False)  # the heartbeat would rewrite the lease
        store.write_bytes(f"{prefix}/{LEASE}", json.dumps(
            {**body, "host": socket.gethostname(), "pid": int(dead.stdout)}).encode())
        assert clean_leftovers(zone_root) == 1
        assert not store.exists(f"{prefix}/part-000000.parquet")
        # an expired lease of another host, too
        (live.path / "again.parquet").write_bytes(b"y")
        other = live.move_to("990000/X/R/000002")
        live._stop_lease(delete=False)
        store.write_bytes(f"{other}/{LEASE}", json.dumps({**body, "host": "elsewhere", "expires": 0}).encode())
        assert clean_leftovers(zone_root) == 1
        # no lease at all: spared within the lease period, swept after it
        store.write_bytes("990000/X/R/000003.000000000000/part-000000.parquet", b"z")
        assert clean_leftovers(zone_root) == 0
        monkeypatch.setenv("YBZ_ZONE_LEASE_SECONDS", "0")
        from yibenzhang.config import reset_settings

        reset_settings()
        assert clean_leftovers(zone_root) == 1
        live.published_prefix = None
