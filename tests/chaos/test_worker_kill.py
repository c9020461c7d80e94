"""Issue 20's chaos pass, the worker and the command line: a process killed with SIGKILL in the
middle of each kind of job — a collection pull, a share delivery, a quality run, a classification —
leaves nothing half-published, the evidence chain verifies, and the job is retried to one
whole success once its lease runs out (a pull, a delivery) or the command is run again (quality
and classification run in the caller's process).

The kill comes from inside, at a named point (`zone.storage.crash_point`, YBZ_TEST_CRASH_AT), as in
tests/zone/test_crash.py: deterministic, and the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import published
from tests.share.test_grants import share_fixture  # noqa: F401  (the `share` fixture)
from yibenzhang import jobs
from yibenzhang.collect import pull
from yibenzhang.config import get_settings
from yibenzhang.ledger import service as ledger
from yibenzhang.zone.model import Batch
from yibenzhang.zone.storage import clean_leftovers

LEASE = 1.0  # the killed worker's lease: the next worker may reclaim the job this soon
ROWS = 3000


def spawn(world, home: Path, script: str, crash_at: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "YBZ_HOME": str(home), "YBZ_DB_URL": world.db.url, "YBZ_TEST_CRASH_AT": crash_at}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], env=env, capture_output=True,
                          timeout=120)


def assert_killed(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


def assert_ledger_verifies(world) -> None:
    with world.db.read() as s:
        report = ledger.verify(s)
    assert report.ok, report.as_dict()


WORKER = f"""
    from yibenzhang.db import get_database
    from yibenzhang.jobs import Worker
    Worker(get_database(), lease_seconds={LEASE}, run_tickers=False).run(once=True)
"""


def _source(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (姓名 TEXT, 公民身份号码 TEXT)")
    conn.executemany("INSERT INTO people VALUES (?, ?)",
                     [(f"人{i}", f"{110101199000000000 + i}") for i in range(ROWS)])
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def _job(world, job_id: int) -> jobs.Job:
    with world.db.read() as s:
        job = s.get(jobs.Job, job_id)
        s.expunge(job)
        return job


def _retry_after_lease(world) -> int:
    time.sleep(LEASE + 0.2)
    return jobs.Worker(world.db, run_tickers=False).run(once=True)


# The batch staged and renamed but not committed (the other points are tests/zone/test_crash.py's).
@pytest.mark.parametrize("crash_at", ["before_commit"])
def test_a_pull_killed_mid_job_publishes_nothing_then_retries_to_one_batch(world, home, tmp_path, crash_at):
    rid = published(world)
    with world.db.write() as s:
        sid = pull.create_schedule(s, world.actor("police_steward"), rid, url=_source(tmp_path / "src.db"),
                                   table="people").id
        job_id = pull.run_schedule_now(s, world.actor("police_steward"), sid).id
    assert_killed(spawn(world, home, WORKER, crash_at))
    job = _job(world, job_id)
    assert job.status == jobs.JobStatus.RUNNING.value and job.attempts == 1  # held by a dead worker
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Batch).where(Batch.resource_id == rid)) == 0
    assert_ledger_verifies(world)
    zone = get_settings().zone
    clean_leftovers(zone)  # what `ybz init` / a worker start does with a dead writer's staging

    assert _retry_after_lease(world) == 1
    job = _job(world, job_id)
    assert job.status == jobs.JobStatus.SUCCEEDED.value and job.attempts == 2, job.last_error
    with world.db.read() as s:
        batches = s.execute(select(Batch.seq, Batch.status, Batch.row_count).where(Batch.resource_id == rid)).all()
    assert [tuple(b) for b in batches] == [(1, "已发布", ROWS)]
    assert not [p for p in (zone / ".staging").iterdir() if not p.name.startswith(".")]
    assert_ledger_verifies(world)


# The file written under its temporary name; in place under its final name but not recorded.
@pytest.mark.parametrize("crash_at", ["delivery_written", "delivery_renamed"])
def test_a_delivery_killed_mid_job_is_not_ready_then_retries_to_one_whole_file(client, share, home, crash_at):
    from tests.share.test_grants import ROWS as SHARE_ROWS
    from tests.share.test_grants import issue
    from yibenzhang.share.service_rows import delivery_dir

    w = share.world
    gid = issue(share, mode="文件", items=["姓名", "行政区划代码"])
    h = w.headers("consumer")
    did = client.post(f"/api/v1/grants/{gid}/deliveries", json={"format": "csv"}, headers=h).json()["id"]
    assert_killed(spawn(w, home, WORKER, crash_at))
    shown = client.get(f"/api/v1/deliveries/{did}", headers=h).json()
    assert shown["status"] == "排队"  # never 就绪 with a file half there
    early = client.get(f"/api/v1/deliveries/{did}/download", headers=h)
    assert early.status_code == 403 and early.json()["code"] == "delivery_not_ready"
    assert_ledger_verifies(w)

    assert _retry_after_lease(w) == 1
    assert client.get(f"/api/v1/deliveries/{did}", headers=h).json()["status"] == "就绪"
    assert sorted(p.name for p in delivery_dir().iterdir()) == [f"{did}.csv"]  # no temporary file left
    got = client.get(f"/api/v1/deliveries/{did}/download", headers=h)
    assert got.status_code == 200 and len(got.content.decode().splitlines()) == 1 + len(SHARE_ROWS["姓名"])
    assert_ledger_verifies(w)


STEP = """
    import sys
    from yibenzhang.access import Actor
    from yibenzhang.db import get_database
    if sys.argv[1] == "quality":
        from yibenzhang.quality.service import assess_current
        assess_current(get_database(), Actor.system(), int(sys.argv[2]))
    else:
        from yibenzhang.classify.service import suggest
        suggest(get_database(), Actor.system(), int(sys.argv[2]))
"""


@pytest.mark.parametrize("kind", ["quality", "classify"])
def test_a_quality_run_or_classification_killed_before_commit_keeps_nothing(world, home, kind):
    import pyarrow as pa

    from yibenzhang.classify.model import ClassificationSuggestion
    from yibenzhang.collect.pipeline import ingest_arrow
    from yibenzhang.quality.model import QualityRun

    rid = published(world)
    ingest_arrow(world.db, world.actor("police_steward"), rid,
                 [pa.RecordBatch.from_pydict({"姓名": ["张三", "李四"],
                                              "公民身份号码": ["110101199003071234", "530102198512120018"]})],
                 source={"kind": "test"})
    table = QualityRun if kind == "quality" else ClassificationSuggestion

    def stored() -> int:
        with world.db.read() as s:
            return s.scalar(select(func.count()).select_from(table).where(table.resource_id == rid))

    before = stored()
    assert_killed(spawn(world, home, STEP, f"{kind}_stored", kind, str(rid)))
    assert stored() == before
    assert_ledger_verifies(world)
    if kind == "quality":  # run again: a whole success
        from yibenzhang.quality.service import assess_current

        assess_current(world.db, world.actor("police_steward"), rid)
    else:
        from yibenzhang.classify.service import suggest

        suggest(world.db, world.actor("police_steward"), rid)
    assert stored() > before
    assert_ledger_verifies(world)
