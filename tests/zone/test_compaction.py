"""Compaction (issue 13): a resource's live batches become one 全量 batch, published atomically,
with its ledger event; reads after equal reads before; a batch published meanwhile is never lost;
a kill -9 leaves the resource as it was; past YBZ_COMPACT_BATCHES the worker does it unasked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
from sqlalchemy import select

from yibenzhang import jobs
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.config import reset_settings
from yibenzhang.errors import Conflict, PermissionDenied
from yibenzhang.ledger.model import LedgerEvent as Event
from yibenzhang.zone import compact as C
from yibenzhang.zone import port as P
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.model import Batch
from yibenzhang.zone.service import compaction_due, live_state, preview_rows
from yibenzhang.zone.store import get_store

SCHEMA = pa.schema([("姓名", pa.string()), ("公民身份号码", pa.string()), ("月收入", pa.string())])


def push(world, resource: int, rows: list[tuple[str, str, str | None]], mode: str = "更新") -> None:
    cols = [list(c) for c in zip(*rows, strict=True)]
    ingest_arrow(world.db, world.actor("police_steward"), resource, [pa.record_batch(cols, schema=SCHEMA)],
                 source={"kind": "push"}, mode=mode)


def read(world, resource: int) -> pa.Table:
    with world.db.read() as s:
        state = live_state(s, resource)
    return named_engine("duckdb").query(state, P.scan(state, state.names))


def test_reads_equal_and_ledger_event(world, people) -> None:
    push(world, people, [("甲", "110101199003077777", "1.00"), ("乙", "110101198001011234", "2.50")], "全量")
    push(world, people, [("甲二", "110101199003077777", None)])  # upsert by key
    push(world, people, [("丙", "440301200012310011", "99999999.99")])
    before = read(world, people)
    steward = world.actor("police_steward")
    done = C.compact(world.db, steward, people)
    assert done["compacted"] and done["batches"] == 3 and done["rows"] == 3 and done["engine"] == "duckdb"
    assert read(world, people).equals(before)
    with world.db.read() as s:
        events = s.execute(select(Event).where(Event.action == "zone.batch.compact")).scalars().all()
        assert len(events) == 1 and events[0].subject_id == str(done["batch_id"])
        batch = s.get(Batch, done["batch_id"])
        assert batch.mode == "全量" and batch.source["kind"] == "compaction" and len(batch.digest) == 64
        preview = preview_rows(s, steward, people)
    assert [r["姓名"] for r in preview["rows"]] == ["乙", "甲二", "丙"]  # the order reads had: batch, then row
    # a later batch lands after the compacted rows, and compacting again keeps the order
    push(world, people, [("丁", "320102197707070707", "3")])
    again = read(world, people)
    assert C.compact(world.db, steward, people)["compacted"]
    assert read(world, people).equals(again)


def test_permission(world, people) -> None:
    push(world, people, [("甲", "110101199003077777", "1.00")], "全量")
    push(world, people, [("乙", "110101198001011234", "2.00")])
    for user in ("consumer", "market_steward", "citizen"):
        with pytest.raises(PermissionDenied):
            C.compact(world.db, world.actor(user), people)


def test_a_batch_published_meanwhile_is_never_lost(world, people, monkeypatch) -> None:
    push(world, people, [("甲", "110101199003077777", "1.00")], "全量")
    push(world, people, [("乙", "110101198001011234", "2.00")])
    real_write = named_engine("duckdb").write

    def write_then_race(state, plan, folder):  # another steward publishes while we write
        written = real_write(state, plan, folder)
        push(world, people, [("丙", "440301200012310011", "3.00")])
        return written

    monkeypatch.setattr(named_engine("duckdb"), "write", write_then_race)
    with pytest.raises(Conflict) as caught:
        C.compact(world.db, world.actor("police_steward"), people, engine="duckdb")
    assert caught.value.code == "compact_raced"
    assert sorted(r["姓名"] for r in read(world, people).to_pylist()) == ["丙", "乙", "甲"]


SCRIPT = textwrap.dedent("""
    import sys
    from yibenzhang.access import Actor
    from yibenzhang.db import get_database
    from yibenzhang.zone.compact import compact
    compact(get_database(), Actor.system(), int(sys.argv[1]))
""")


@pytest.mark.parametrize("crash_at", ["compact_staged", "renamed", "before_commit"])
def test_kill_9_during_compaction_changes_nothing(world, people, home, crash_at) -> None:
    push(world, people, [("甲", "110101199003077777", "1.00")], "全量")
    push(world, people, [("乙", "110101198001011234", "2.00")])
    before = read(world, people)
    with world.db.read() as s:
        parts = live_state(s, people).parts
    env = {**os.environ, "YBZ_HOME": str(home), "YBZ_DB_URL": world.db.url, "YBZ_TEST_CRASH_AT": crash_at}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(people)], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert read(world, people).equals(before)
    with world.db.read() as s:
        assert live_state(s, people).parts == parts
    assert C.compact(world.db, world.actor("police_steward"), people)["compacted"]  # and it can be redone
    assert read(world, people).equals(before)


def test_worker_compacts_past_the_setting(world, people, monkeypatch) -> None:
    monkeypatch.setenv("YBZ_COMPACT_BATCHES", "3")
    reset_settings()
    push(world, people, [("甲", "110101199003077777", "1.00")], "全量")
    for i in range(3):
        push(world, people, [(f"人{i}", f"11010119900307{i:04d}", str(i))])
    before = read(world, people)
    with world.db.read() as s:
        queued = [(j.id, j.payload) for j in s.execute(select(jobs.Job).where(jobs.Job.kind == C.JOB_KIND)).scalars()]
    assert queued == [(queued[0][0], {"resource_id": people})]  # one, though two batches were past the limit
    jobs.load_handlers()
    assert jobs.Worker(world.db, name="t").run(once=True) >= 1
    with world.db.read() as s:
        job = s.get(jobs.Job, queued[0][0])
        assert job.status == "成功", (job.status, job.last_error)
        assert len(live_state(s, people).parts) == 1
    assert read(world, people).equals(before)


def test_the_worker_compacts_past_the_bytes_of_increments(world, people, monkeypatch) -> None:
    """YBZ_COMPACT_BYTES: the Parquet bytes of the batches on top of the last 全量 (recorded at
    publication as `stored_bytes`), not their number, decide; the base's own bytes do not count."""
    monkeypatch.setenv("YBZ_COMPACT_BATCHES", "0")
    reset_settings()
    big = [(f"人{i}", f"1101011990{i:08d}", str(i)) for i in range(2000)]
    push(world, people, big, "全量")
    with world.db.read() as s:
        base = s.execute(select(Batch).where(Batch.resource_id == people)).scalar_one()
        base_bytes = base.source["stored_bytes"]
        assert base_bytes == sum(get_store().size(f"{base.path}/{f}") for f in base.files) > 0
    monkeypatch.setenv("YBZ_COMPACT_BYTES", str(base_bytes))  # the base alone is never past it
    reset_settings()
    push(world, people, [("甲", "110101199003077777", "1.00")])
    with world.db.read() as s:
        assert not compaction_due(s, people)
        assert not s.execute(select(jobs.Job).where(jobs.Job.kind == C.JOB_KIND)).first()
    push(world, people, big)  # an increment as large as the base: with the first, past the bytes
    with world.db.read() as s:
        assert compaction_due(s, people)
        queued = [j.payload for j in s.execute(select(jobs.Job).where(jobs.Job.kind == C.JOB_KIND)).scalars()]
    assert queued == [{"resource_id": people}]
    monkeypatch.setenv("YBZ_COMPACT_BYTES", "0")  # 0: never, whatever the bytes
    reset_settings()
    with world.db.read() as s:
        assert not compaction_due(s, people)


def test_api_queues_compaction(world, people, client) -> None:
    push(world, people, [("甲", "110101199003077777", "1.00")], "全量")
    r = client.post(f"/api/v1/resources/{people}/compact", headers=world.headers("police_steward"))
    assert r.status_code == 202 and r.json()["kind"] == C.JOB_KIND
    again = client.post(f"/api/v1/resources/{people}/compact", headers=world.headers("police_steward"))
    assert again.json()["id"] == r.json()["id"]  # one at a time per resource
    denied = client.post(f"/api/v1/resources/{people}/compact", headers=world.headers("consumer"))
    assert denied.status_code == 403
    bad = client.post(f"/api/v1/resources/{people}/compact?engine=oracle", headers=world.headers("police_steward"))
    assert bad.status_code == 422
