"""OpenLineage events of collection batches: valid against the vendored spec, START and COMPLETE
sharing a run id, the resource as output with its schema and the batch's row count, FAIL when a
batch breaks; delivered through the outbox to a real HTTP receiver that is down first and then
up — nothing lost, each event delivered once, in order."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.collect.conftest import ITEMS, rows_csv
from tests.factories import published
from yibenzhang import jobs
from yibenzhang.catalog.model import Resource
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.errors import DomainError
from yibenzhang.lineage import outbox
from yibenzhang.lineage.model import LineageEvent

ROWS = ["张三,110101199003077777,2023-05-01,12,是,3", "李四,110101199003071234,2023-05-02,13,否,4",
        "王五,110101199003075555,2023-05-03,14,是,5"]


@pytest.fixture
def people(world) -> int:
    return published(world, items=ITEMS)


def stored(world, job: str | None = "collect.") -> list[dict]:
    """The outbox's events in order (by default the collection runs' only: an ingest also
    assesses quality, which has its own events)."""
    with world.db.read() as s:
        rows = s.execute(select(LineageEvent).order_by(LineageEvent.id)).scalars()
        return [r.event for r in rows if job is None or r.job_name.startswith(job)]


def test_a_batch_emits_start_and_complete_with_schema_and_row_count(world, people, tmp_path, lineage_schema):
    path = tmp_path / "people.csv"
    path.write_text(rows_csv(ROWS), encoding="utf-8")
    report = ingest_file(world.db, world.actor("police_steward"), people, path, mode="全量")
    events = stored(world)
    for event in events:
        lineage_schema.validate(event)
        datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    start, complete = events
    assert start["run"]["runId"] == complete["run"]["runId"]
    with world.db.read() as s:
        code = s.get(Resource, people).code
    assert complete["job"] == {**start["job"], "name": f"collect.{code}"}
    assert complete["inputs"] == [{"namespace": "file", "name": "people.csv"}]
    (output,) = complete["outputs"]
    assert output["name"] == f"resource/{code}" and output["namespace"] == "yibenzhang"
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == report.rows_accepted == 3
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [i.name for i in ITEMS]
    # No row value leaves in an event.
    assert "张三" not in str(events) and "110101199003077777" not in str(events)


def test_a_failed_batch_emits_fail_under_the_same_run(world, people, tmp_path, lineage_schema):
    path = tmp_path / "empty.csv"
    path.write_text(rows_csv([]), encoding="utf-8")
    with pytest.raises(DomainError):
        ingest_file(world.db, world.actor("police_steward"), people, path, mode="全量")
    events = stored(world)
    for event in events:
        lineage_schema.validate(event)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"].startswith("file_no_rows")


def test_a_crash_in_the_engine_emits_fail(world, people, tmp_path, monkeypatch, lineage_schema):
    from yibenzhang.collect import pipeline

    def broken(*args, **kwargs):
        raise MemoryError()  # the process survives, the batch does not

    monkeypatch.setattr(pipeline, "sm3_files", broken)
    path = tmp_path / "people.csv"
    path.write_text(rows_csv(ROWS), encoding="utf-8")
    with pytest.raises(MemoryError):
        ingest_file(world.db, world.actor("police_steward"), people, path, mode="全量")
    events = stored(world)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"] == "MemoryError"
    lineage_schema.validate(events[1])


def test_outbox_keeps_every_event_while_the_receiver_is_down_and_delivers_each_once(
        world, people, tmp_path, receiver, monkeypatch, lineage_schema):
    monkeypatch.setenv("YBZ_LINEAGE_URL", receiver.url)
    for n in range(2):
        path = tmp_path / f"batch{n}.csv"
        path.write_text(rows_csv(ROWS[: n + 2]), encoding="utf-8")
        ingest_file(world.db, world.actor("police_steward"), people, path, mode="全量")
    worker = jobs.Worker(world.db, lease_seconds=30, poll_seconds=0.1)
    # Down: the worker tries, nothing is lost, nothing is marked delivered.
    worker.run(once=True)
    with world.db.read() as s:
        rows = [(r.delivered_at, r.attempts, r.last_error)
                for r in s.execute(select(LineageEvent).order_by(LineageEvent.id)).scalars()]
    assert len(rows) == 6 and all(delivered is None for delivered, _, _ in rows)  # 2 × START, COMPLETE, quality
    assert rows[0][1] == 1 and rows[0][2] and rows[1][1] == 0  # the first failed; order kept
    # Up, and the retry is due: every event arrives, once, in order.
    receiver.up()
    with world.db.write() as s:
        for r in s.execute(select(LineageEvent)).scalars():
            r.next_attempt_at = r.created_at
    worker.run(once=True)
    assert receiver.received == stored(world, None)
    collected = [e for e in receiver.received if e["job"]["name"].startswith("collect.")]
    assert [e["eventType"] for e in collected] == ["START", "COMPLETE", "START", "COMPLETE"]
    for event in receiver.received:
        lineage_schema.validate(event)
    counts = [e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"]
              for e in collected if e["eventType"] == "COMPLETE"]
    assert counts == [2, 3]
    # Nothing more to send: another round sends nothing again.
    worker.run(once=True)
    assert outbox.deliver(world.db) == {"sent": 0, "failed": 0}
    assert len(receiver.received) == 6
    with world.db.read() as s:
        assert all(r.delivered_at is not None for r in s.execute(select(LineageEvent)).scalars())


def test_without_an_endpoint_events_are_kept_and_no_job_is_queued(world, people, tmp_path, monkeypatch):
    monkeypatch.delenv("YBZ_LINEAGE_URL", raising=False)
    path = tmp_path / "people.csv"
    path.write_text(rows_csv(ROWS), encoding="utf-8")
    ingest_file(world.db, world.actor("police_steward"), people, path, mode="全量")
    outbox.queue_delivery(world.db)
    with world.db.read() as s:
        assert s.execute(select(jobs.Job).where(jobs.Job.kind == outbox.KIND)).first() is None
    assert len(stored(world)) == 2


def test_the_schema_check_refuses_what_the_spec_refuses(lineage_schema):
    """The checker is not a formality: a bad run id, a missing field or a bad facet is caught."""
    from jsonschema import ValidationError

    from yibenzhang.lineage import events

    good = events.run_event("COMPLETE", events.new_run_id(), "collect.x", outputs=[events.resource_dataset(
        "x", facets={"schema": events.schema_facet({"a": "VARCHAR"})},
        output_facets={"outputStatistics": events.output_statistics(3)})])
    lineage_schema.validate(good)
    bad_run = {**good, "run": {"runId": "not-a-uuid", "facets": {}}}
    no_time = {k: v for k, v in good.items() if k != "eventTime"}
    bad_facet = {**good, "outputs": [{**good["outputs"][0], "outputFacets": {
        "outputStatistics": {**events.output_statistics(3), "rowCount": "three"}}}]}
    for bad in (bad_run, no_time, bad_facet):
        with pytest.raises(ValidationError):
            lineage_schema.validate(bad)


def test_a_killed_batch_is_closed_with_fail(world, people, home, tmp_path, monkeypatch, lineage_schema):
    """kill -9 after staging: no COMPLETE was written; the worker's sweep closes the run with FAIL."""
    import signal

    from tests.zone.test_crash import spawn

    path = tmp_path / "people.csv"
    path.write_text(rows_csv(ROWS), encoding="utf-8")
    proc = spawn(world, home, people, path, "staged")
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert [e["eventType"] for e in stored(world)] == ["START"]
    assert outbox.close_abandoned(world.db) == 0  # not yet: a batch may run long
    monkeypatch.setenv("YBZ_LINEAGE_ABANDON_MINUTES", "0")
    assert outbox.close_abandoned(world.db) == 1
    assert outbox.close_abandoned(world.db) == 0  # closed once
    start, fail = stored(world)
    assert fail["eventType"] == "FAIL" and fail["run"]["runId"] == start["run"]["runId"]
    assert fail["run"]["facets"]["errorMessage"]["message"].startswith("abandoned")
    lineage_schema.validate(fail)


def test_a_quality_run_emits_its_assertions_on_the_resource(world, people, tmp_path, lineage_schema):
    from yibenzhang.quality import service as quality

    path = tmp_path / "people.csv"
    path.write_text(rows_csv(ROWS), encoding="utf-8")
    ingest_file(world.db, world.actor("police_steward"), people, path, mode="全量")  # assesses the batch
    run = quality.assess_current(world.db, world.actor("police_steward"), people)
    events = stored(world, "quality.")
    assert [e["eventType"] for e in events] == ["COMPLETE", "COMPLETE"]  # the batch's and the current state's
    for event in events:
        lineage_schema.validate(event)
    (dataset,) = events[-1]["inputs"]
    with world.db.read() as s:
        assert dataset["name"] == f"resource/{s.get(Resource, people).code}"
    assert dataset["inputFacets"]["dataQualityMetrics"]["rowCount"] == run["rows"] == 3
    assertions = dataset["facets"]["dataQualityAssertions"]["assertions"]
    assert len(assertions) == run["rules"]
    assert sum(not a["success"] for a in assertions) == run["failed_rules"]
    assert {"not_null", "format"} <= {a["assertion"] for a in assertions}
