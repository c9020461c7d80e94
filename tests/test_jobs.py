"""The durable job queue: enqueue, claim under a lease, reclaim, retry with backoff, give up,
dedupe — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from yibenzhang import jobs
from yibenzhang.access import Actor
from yibenzhang.db import utcnow
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent

CALLS: list[int] = []


@jobs.register("test.ok")
def _ok(db, job):
    CALLS.append(job.id)
    return {"rows": 3, "note": "done"}


@jobs.register("test.boom")
def _boom(db, job):
    raise RuntimeError("source down: 110101199003077777 [parameters: ('张三',)]")


def _enqueue(db, kind="test.ok", **kw):
    with db.write() as s:
        return jobs.enqueue(s, Actor.system(), kind, {"n": 1}, **kw).id


def _job(db, job_id):
    with db.read() as s:
        job = s.get(jobs.Job, job_id)
        s.expunge(job)  # keep its loaded values after the read transaction ends
        return job


def _actions(db, job_id):
    with db.read() as s:
        return list(s.execute(select(LedgerEvent.action).where(
            LedgerEvent.subject_type == "job", LedgerEvent.subject_id == str(job_id)).order_by(LedgerEvent.seq)
        ).scalars())


def test_enqueue_claim_succeed_with_ledger(db):
    job_id = _enqueue(db)
    w = jobs.Worker(db, name="w1", run_tickers=False)
    ran = w.run_one()
    assert ran is not None and ran.id == job_id
    job = _job(db, job_id)
    assert job.status == "成功" and job.attempts == 1 and job.result == {"rows": 3, "note": "done"}
    assert job.locked_by is None and job.active_key is None and job.finished_at is not None
    assert _actions(db, job_id) == ["job.enqueue", "job.start", "job.succeed"]
    assert w.run_one() is None  # nothing else due


def test_future_jobs_wait(db):
    job_id = _enqueue(db, run_at=utcnow() + timedelta(hours=1))
    assert jobs.claim(db, "w") is None
    assert jobs.claim(db, "w", now=utcnow() + timedelta(hours=2)).id == job_id


def test_dedupe_key_allows_one_active_job(db):
    a = _enqueue(db, dedupe_key="schedule:1")
    b = _enqueue(db, dedupe_key="schedule:1")
    assert a == b
    assert _enqueue(db, dedupe_key="schedule:2") != a
    jobs.Worker(db, run_tickers=False, kinds=("test.ok",)).run(once=True)
    assert _job(db, a).status == "成功"
    c = _enqueue(db, dedupe_key="schedule:1")  # finished: a new pull may be queued
    assert c != a


def test_expired_lease_is_reclaimed_and_late_finisher_discarded(db):
    job_id = _enqueue(db)
    first = jobs.claim(db, "dead-worker", lease_seconds=60)
    assert first.id == job_id
    assert jobs.claim(db, "other") is None  # leased: nobody else takes it
    later = utcnow() + timedelta(seconds=61)
    again = jobs.claim(db, "other", now=later)
    assert again.id == job_id and again.attempts == 2
    # The first worker comes back: its outcome no longer counts.
    assert jobs.finish(db, first, "dead-worker", result={"rows": 1}) is None
    assert jobs.finish(db, again, "other", result={"rows": 2}) == "成功"
    assert _job(db, job_id).result == {"rows": 2}
    assert _actions(db, job_id) == ["job.enqueue", "job.start", "job.start", "job.succeed"]


def test_retry_with_backoff_then_give_up(db):
    job_id = _enqueue(db, "test.boom", max_attempts=3)
    w = jobs.Worker(db, name="w", run_tickers=False, backoff_base=10, backoff_cap=15)
    before = utcnow()
    w.run_one()
    job = _job(db, job_id)
    assert job.status == "失败" and job.attempts == 1
    assert timedelta(seconds=9) < job.run_at - before < timedelta(seconds=12)
    # No personal data in the recorded error: parameters dropped, long digit runs masked.
    assert "110101199003077777" not in job.last_error and "张三" not in job.last_error
    assert job.last_error.startswith("RuntimeError: source down")
    assert w.run_one() is None  # not due yet
    second = jobs.claim(db, "w", now=job.run_at + timedelta(seconds=1))
    jobs.finish(db, second, "w", error=RuntimeError("again"), backoff_base=10, backoff_cap=15)
    job = _job(db, job_id)
    assert job.status == "失败" and job.attempts == 2
    assert job.run_at - job.updated_at == timedelta(seconds=15)  # 20 s capped at 15
    third = jobs.claim(db, "w", now=job.run_at + timedelta(seconds=1))
    jobs.finish(db, third, "w", error=RuntimeError("last"))
    job = _job(db, job_id)
    assert job.status == "放弃" and job.attempts == 3 and job.active_key is None
    assert jobs.claim(db, "w", now=utcnow() + timedelta(days=1)) is None
    assert _actions(db, job_id)[-1] == "job.give_up"


def test_backoff_doubles_and_caps():
    assert [jobs.backoff_seconds(n, 30, 3600) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert jobs.backoff_seconds(20, 30, 3600) == 3600


def test_steward_sees_and_retries_own_org_jobs(world):
    db = world.db
    police, market = world.orgs["police"].id, world.orgs["market"].id
    with db.write() as s:
        mine = jobs.enqueue(s, world.actor("police_steward"), "test.boom", {}, org_id=police, max_attempts=1).id
        theirs = jobs.enqueue(s, Actor.system(), "test.ok", {}, org_id=market).id
        with pytest.raises(PermissionDenied):
            jobs.enqueue(s, world.actor("police_steward"), "test.ok", {}, org_id=market)
    jobs.Worker(db, run_tickers=False, kinds=("test.boom",)).run(once=True)
    with db.read() as s:
        seen = [j.id for j in jobs.list_jobs(s, world.actor("police_steward"))]
        assert seen == [mine]
        assert [j.id for j in jobs.list_jobs(s, world.actor("police_steward"), failed=True)] == [mine]
        assert {j.id for j in jobs.list_jobs(s, world.actor("admin"))} >= {mine, theirs}
        with pytest.raises(PermissionDenied):
            jobs.list_jobs(s, world.actor("police_steward"), org_id=market)
        with pytest.raises(NotFound):
            jobs.get_job(s, world.actor("market_steward"), mine)
    with db.write() as s:
        with pytest.raises(NotFound):
            jobs.retry_job(s, world.actor("market_steward"), mine)
        with pytest.raises(Conflict):
            jobs.retry_job(s, Actor.system(), theirs)  # still queued
        job = jobs.retry_job(s, world.actor("police_steward"), mine)
        assert job.status == "排队" and job.attempts == 0
    assert _actions(db, mine)[-1] == "job.retry"


def test_two_workers_never_run_one_job_twice(db):
    running: set[int] = set()
    ran: list[int] = []
    lock = threading.Lock()
    overlaps: list[int] = []

    @jobs.register("test.slow")
    def _slow(db_, job):
        with lock:
            if job.id in running:
                overlaps.append(job.id)
            running.add(job.id)
        time.sleep(0.01)
        with lock:
            running.discard(job.id)
            ran.append(job.id)
        return {}

    ids = [_enqueue(db, "test.slow") for _ in range(12)]
    workers = [jobs.Worker(db, name=f"w{i}", run_tickers=False, kinds=("test.slow",)) for i in range(2)]
    threads = [threading.Thread(target=w.run, kwargs={"once": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(ran) == sorted(ids) and not overlaps
    with db.read() as s:
        assert {j.status for j in s.execute(select(jobs.Job).where(jobs.Job.id.in_(ids))).scalars()} == {"成功"}


def test_running_worker_keeps_its_lease(db):
    """A handler running longer than the lease renews it: a second worker cannot take the job."""
    started = threading.Event()

    @jobs.register("test.long")
    def _long(db_, job):
        started.set()
        time.sleep(1.2)
        return {}

    job_id = _enqueue(db, "test.long")
    w = jobs.Worker(db, name="holder", lease_seconds=0.45, run_tickers=False, kinds=("test.long",))
    t = threading.Thread(target=w.run_one)
    t.start()
    assert started.wait(10)
    stolen = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        got = jobs.claim(db, "thief", lease_seconds=0.45, kinds=("test.long",))
        if got is not None:
            stolen.append(got.id)
        time.sleep(0.1)
    t.join(10)
    assert stolen == []
    assert _job(db, job_id).status == "成功" and _job(db, job_id).attempts == 1


def test_unknown_kind_fails_visibly(db):
    job_id = _enqueue(db, "test.nobody-handles-this", max_attempts=1)
    jobs.Worker(db, run_tickers=False).run(once=True)
    job = _job(db, job_id)
    assert job.status == "放弃" and job.last_error.startswith("job_kind_unknown")


def test_safe_error_strips_sql_parameters():
    exc = ValidationFailed("x", "请求的内容不合法")
    assert jobs.safe_error(exc) == "x: 请求的内容不合法"
    text = jobs.safe_error(RuntimeError("(psycopg.errors.UniqueViolation) dup\n[SQL: INSERT] [parameters: {'a': 1}]"))
    assert "parameters" not in text and text.startswith("RuntimeError: (psycopg.errors.UniqueViolation) dup")


def test_the_worker_loads_every_stage_packages_handlers():
    from yibenzhang import jobs

    jobs.load_handlers()
    assert {"collect.pull", "objections.escalate"} <= set(jobs._handlers)


def test_a_daily_job_is_queued_for_tomorrow_morning_on_the_one_clock(db):
    """jobs.daily keeps one job queued for tomorrow at its time in the configured zone (China by
    default): the server's own date and zone (often UTC, eight hours behind) are not the clock."""
    from datetime import datetime
    from datetime import time as dt_time

    from yibenzhang import workdays
    from yibenzhang.config import get_settings

    ticker = jobs.daily("test.daily", dt_time(0, 10), lambda db, job: {})
    try:
        ticker(db)
        ticker(db)  # one job, not two
        with db.read() as s:
            queued = s.execute(select(jobs.Job.run_at).where(jobs.Job.kind == "test.daily")).scalars().all()
        expected = datetime.combine(workdays.today() + timedelta(days=1), dt_time(0, 10), tzinfo=get_settings().tz)
        assert queued == [expected]
    finally:
        jobs._handlers.pop("test.daily", None)
        jobs._tickers.remove(ticker)
