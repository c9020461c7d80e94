"""Collection schedules: next run per 更新周期, the sealed source URL, tick with dedupe, the
scheduled pull job through the worker, and the jobs API."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import published
from yibenzhang import jobs
from yibenzhang.access import Actor
from yibenzhang.collect import pull
from yibenzhang.collect.model import CollectSchedule
from yibenzhang.crypto import sm4_decrypt, sm4_encrypt, sm4_key
from yibenzhang.errors import PermissionDenied
from yibenzhang.ledger.model import LedgerEvent

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args):
    return datetime(*args, tzinfo=BJ).astimezone(UTC)


@pytest.mark.parametrize("cycle, after, expected", [
    ("每日", bj(2024, 5, 6, 1, 0), bj(2024, 5, 6, 2)),  # before today's hour: today
    ("每日", bj(2024, 5, 6, 2, 0), bj(2024, 5, 7, 2)),  # at/after it: tomorrow
    ("每日", bj(2024, 12, 31, 23, 0), bj(2025, 1, 1, 2)),
    ("每周", bj(2024, 5, 8, 12), bj(2024, 5, 13, 2)),  # Wednesday → next Monday
    ("每周", bj(2024, 9, 30, 3), bj(2024, 10, 7, 2)),  # across the National Day holiday: calendar days
    ("每月", bj(2024, 1, 31, 12), bj(2024, 2, 1, 2)),
    ("每月", bj(2024, 12, 1, 2), bj(2025, 1, 1, 2)),
    ("每季度", bj(2024, 5, 8), bj(2024, 7, 1, 2)),
    ("每季度", bj(2024, 11, 8), bj(2025, 1, 1, 2)),
    ("每半年", bj(2024, 5, 8), bj(2024, 7, 1, 2)),
    ("每半年", bj(2024, 7, 1, 3), bj(2025, 1, 1, 2)),
    ("每年", bj(2024, 1, 1, 1), bj(2024, 1, 1, 2)),
    ("每年", bj(2024, 5, 8), bj(2025, 1, 1, 2)),
    ("实时", bj(2024, 5, 8, 10, 0), bj(2024, 5, 8, 10, 5)),
    ("不定期", bj(2024, 5, 8), None),
])
def test_next_run_per_update_cycle(cycle, after, expected):
    assert pull.next_run(cycle, after, 2) == expected


def test_sm4_round_trip_and_tamper():
    key = sm4_key("secret", "purpose")
    blob = sm4_encrypt(key, b"postgresql://u:p@h/db")
    assert sm4_decrypt(key, blob) == b"postgresql://u:p@h/db"
    assert sm4_encrypt(key, b"x") != sm4_encrypt(key, b"x")  # random IV
    with pytest.raises(ValueError):
        sm4_decrypt(key, blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(ValueError):
        sm4_decrypt(sm4_key("other", "purpose"), blob)


def _source(tmp_path, rows=((1, "张三", "11010519491231002X", 10),)):
    path = tmp_path / "src.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (id INTEGER, 姓名 TEXT, 公民身份号码 TEXT, changed INTEGER)")
    conn.executemany("INSERT INTO people VALUES (?,?,?,?)", rows)
    conn.commit()
    conn.close()
    return path


def test_schedule_seals_url_and_ticks_once(world, tmp_path):
    db = world.db
    rid = published(world)  # 每日
    with db.write() as s:
        sched = pull.create_schedule(s, world.actor("police_steward"), rid, url="postgresql://u:topsecret@h/db",
                                     table="people", since_column="changed")
        sid = sched.id
        shown = pull.schedule_dict(s, sched)
        assert "topsecret" not in str(shown) and "topsecret" not in sched.url_sealed
        assert pull.unseal(sched.url_sealed) == "postgresql://u:topsecret@h/db"
        assert sched.mode == "更新"  # incremental on a resource with a key item
    with db.read() as s:
        contents = s.execute(select(LedgerEvent.content)).scalars().all()
        assert not any("topsecret" in (c or "") for c in contents)
        next_at = s.get(CollectSchedule, sid).next_run_at
    assert pull.tick(db, now=next_at - timedelta(seconds=1)) == []
    first = pull.tick(db, now=next_at)
    assert len(first) == 1
    # A day later the previous pull is still queued: no second job for the same schedule.
    with db.read() as s:
        later = s.get(CollectSchedule, sid).next_run_at
    assert later == next_at + timedelta(days=1)
    assert pull.tick(db, now=later) == first
    with db.read() as s:
        assert len(jobs.list_jobs(s, Actor.system(), kind="collect.pull")) == 1


def test_schedule_permissions_and_irregular(world):
    db = world.db
    rid = published(world, update_cycle="不定期")
    with db.write() as s, pytest.raises(PermissionDenied):
        pull.create_schedule(s, world.actor("market_steward"), rid, url="sqlite:///x.db", table="t")
    with db.write() as s:
        sched = pull.create_schedule(s, world.actor("police_steward"), rid, url="sqlite:///x.db", table="t")
        assert sched.next_run_at is None
        sid = sched.id
    assert pull.tick(db, now=datetime.now(UTC) + timedelta(days=400)) == []
    with db.write() as s:
        job = pull.run_schedule_now(s, world.actor("police_steward"), sid)
        assert job.kind == "collect.pull" and job.dedupe_key == f"schedule:{sid}"


def test_scheduled_pull_runs_through_worker(world, tmp_path):
    """End to end with the real pipeline: a schedule's job pulls the source into the zone."""
    db = world.db
    rid = published(world)
    path = _source(tmp_path)
    with db.write() as s:
        sid = pull.create_schedule(s, world.actor("police_steward"), rid, url=f"sqlite:///{path}",
                                   query="SELECT 姓名, 公民身份号码, changed FROM people",
                                   since_column="changed").id
        job_id = pull.run_schedule_now(s, world.actor("police_steward"), sid).id
    jobs.Worker(db, run_tickers=False, kinds=("collect.pull",)).run(once=True)
    with db.read() as s:
        job = s.get(jobs.Job, job_id)
        assert job.status == "成功", job.last_error
        assert job.result["rows_read"] == 1 and job.result["schedule_id"] == sid


def test_failed_pull_visible_and_retried_over_http(client, world):
    db = world.db
    rid = published(world)
    with db.write() as s:
        sid = pull.create_schedule(s, world.actor("police_steward"), rid, url="sqlite:////nonexistent/dir/x.db",
                                   table="people").id
        job_id = pull.run_schedule_now(s, world.actor("police_steward"), sid).id
        s.get(jobs.Job, job_id).max_attempts = 1
    jobs.Worker(db, run_tickers=False, kinds=("collect.pull",)).run(once=True)
    police = world.orgs["police"].id
    h = world.headers("police_steward")
    r = client.get(f"/api/v1/jobs?org_id={police}&failed=true", headers=h)
    assert r.status_code == 200 and [j["id"] for j in r.json()] == [job_id]
    assert r.json()[0]["status"] == "放弃" and r.json()[0]["last_error"]
    assert client.get(f"/api/v1/jobs?org_id={police}", headers=world.headers("market_steward")).status_code == 403
    assert client.get("/api/v1/jobs", headers=world.headers("market_steward")).json() == []
    assert len(client.get("/api/v1/jobs", headers=world.headers("admin")).json()) == 1
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=world.headers("market_steward")).status_code == 404
    r = client.post(f"/api/v1/jobs/{job_id}/retry", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "排队"
    r = client.get(f"/api/v1/resources/{rid}/schedules", headers=h)
    assert r.status_code == 200 and r.json()[0]["id"] == sid
