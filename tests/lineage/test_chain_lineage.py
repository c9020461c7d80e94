"""Lineage producers of session 3 (issue 18): sandbox runs, products, compaction, and the per-day
summaries of grant data calls and open downloads. Every event is valid against the vendored
OpenLineage schema, and the chain resource → sandbox run → product is rebuilt from the events
alone."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
from sqlalchemy import select

from tests.assets.helpers import product_data
from tests.collect.conftest import people  # noqa: F401  (a keyed resource of the police)
from tests.operate.conftest import approved, op  # noqa: F401  (an operator authorization)
from tests.share.test_grants import ROWS, issue, share_fixture  # noqa: F401  (the `share` fixture)
from yibenzhang import workdays
from yibenzhang.assets import products
from yibenzhang.catalog.model import Resource
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.lineage import daily
from yibenzhang.lineage.model import LineageEvent
from yibenzhang.open import usage as open_usage
from yibenzhang.operate import sandbox
from yibenzhang.share import grants as G
from yibenzhang.share import service_rows
from yibenzhang.zone import compact as C


def stored(world, prefix: str = "") -> list[dict]:
    with world.db.read() as s:
        rows = s.execute(select(LineageEvent).order_by(LineageEvent.id)).scalars()
        return [r.event for r in rows if r.job_name.startswith(prefix)]


def edges(events: list[dict]) -> set[tuple[str, str]]:
    """dataset → dataset through each completed run: the graph a lineage server draws."""
    return {(f"{i['namespace']}:{i['name']}", f"{o['namespace']}:{o['name']}")
            for e in events if e["eventType"] == "COMPLETE" for i in e["inputs"] for o in e["outputs"]}


def reachable(graph: set[tuple[str, str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for a, b in graph:
            if a == node and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def code_of(world, rid: int) -> str:
    with world.db.read() as s:
        return s.get(Resource, rid).code


def test_resource_to_sandbox_run_to_product_is_rebuilt_from_the_events(op, lineage_schema):  # noqa: F811
    w = op.world
    sql = f"SELECT 区县, count(*) AS n FROM r_{op.resource_id} WHERE 区县 IN ('甲', '乙') GROUP BY 区县"
    released = sandbox.submit_query(op.db, op.actor(), op.auth_id, sql)
    rows_run = sandbox.submit_query(op.db, op.actor(), op.auth_id,
                                    f"SELECT 区县, 性别 AS s FROM r_{op.resource_id} WHERE 区县 = '甲' LIMIT 5")
    refused = sandbox.submit_query(op.db, op.actor(), op.auth_id, f"SELECT min(收入) FROM r_{op.resource_id}")
    assert released.state == "已放行" and refused.reason_code == "lineage_aggregate"
    assert rows_run.state == "待审核"  # row-level output waits for a checker (issue 16)…
    assert approved(w, rows_run)["state"] == "已放行"  # …and feeds a product once approved
    with op.db.write() as s:
        product = products.create_product(s, op.actor(), authorization_id=op.auth_id,
                                          data=product_data([released.id, rows_run.id]))
        pid = product.id
    with op.db.write() as s:
        products.update_product(s, op.actor(), pid, {"source_run_ids": [released.id]})
    events = stored(w)
    for event in events:
        lineage_schema.validate(event)
    code, uscc = code_of(w, op.resource_id), w.orgs["operator"].uscc
    resource = f"yibenzhang:resource/{code}"
    run_ds = f"yibenzhang/org/{uscc}:sandbox/run/{released.id}"
    product_ds = f"yibenzhang/org/{uscc}:product/{pid}"
    graph = edges(events)
    assert (resource, run_ds) in graph and (run_ds, product_ds) in graph
    assert product_ds in reachable(graph, resource)  # resource → sandbox run → product
    sandbox_events = [e for e in events if e["job"]["name"] == f"sandbox.auth-{op.auth_id}.query"]
    assert [e["eventType"] for e in sandbox_events] == ["COMPLETE", "COMPLETE", "FAIL"]
    agg, row_level, fail = sandbox_events
    (out,) = agg["outputs"]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == released.row_count == 2
    assert [f["name"] for f in out["facets"]["schema"]["fields"]] == ["区县", "n"]
    (row_out,) = row_level["outputs"]
    (source_field,) = row_out["facets"]["columnLineage"]["fields"]["s"]["inputFields"]
    assert (source_field["name"], source_field["field"]) == (f"resource/{code}", "性别")  # the alias's item
    assert fail["run"]["facets"]["errorMessage"]["message"] == "lineage_aggregate"
    assert "SELECT" not in str(events) and "min(" not in str(events)  # never the SQL text
    built = [e for e in events if e["job"]["name"] == f"product.{pid}"]
    assert [e["job"]["facets"]["jobType"]["jobType"] for e in built] == ["PRODUCT_CREATE", "PRODUCT_UPDATE"]
    assert len(built[0]["inputs"]) == 2 and len(built[1]["inputs"]) == 1  # the edit dropped a run


SCHEMA = pa.schema([("姓名", pa.string()), ("公民身份号码", pa.string()), ("月收入", pa.string())])


def test_compaction_is_a_run_from_the_resource_to_itself_in_its_own_transaction(world, people, lineage_schema):  # noqa: F811
    for rows, mode in (([("甲", "110101199003077777", "1.00"), ("乙", "110101198001011234", "2.50")], "全量"),
                       ([("丙", "440301200012310011", "9")], "更新")):
        cols = [list(c) for c in zip(*rows, strict=True)]
        ingest_arrow(world.db, world.actor("police_steward"), people, [pa.record_batch(cols, schema=SCHEMA)],
                     source={"kind": "push"}, mode=mode)
    done = C.compact(world.db, world.actor("police_steward"), people)
    assert done["compacted"] and done["rows"] == 3
    code = code_of(world, people)
    (event,) = stored(world, f"zone.compact.{code}")
    lineage_schema.validate(event)
    assert event["eventType"] == "COMPLETE"
    assert event["inputs"][0]["name"] == event["outputs"][0]["name"] == f"resource/{code}"
    assert event["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 3
    assert C.compact(world.db, world.actor("police_steward"), people)["compacted"] is False
    assert len(stored(world, f"zone.compact.{code}")) == 1  # nothing compacted, nothing emitted


def test_grant_calls_are_summarised_per_grant_and_day_once(share, lineage_schema):
    w = share.world
    gid = issue(share, items=["姓名", "宗教信仰"])
    for _ in range(3):
        service_rows.rows(w.db, w.actor("consumer"), gid, {}, limit=4)
    G.USAGE.flush(w.db)
    today = workdays.today()
    assert daily.summarize(w.db, today)["grant_days"] == 0  # the day is not over yet
    assert daily.summarize(w.db, today + timedelta(days=1))["grant_days"] == 1
    assert daily.summarize(w.db, today + timedelta(days=1))["grant_days"] == 0  # never twice
    (event,) = stored(w, f"share.grant-{gid}.calls")
    lineage_schema.validate(event)
    (out,) = event["outputs"]
    assert out["namespace"] == f"yibenzhang/org/{w.orgs['market'].uscc}"
    assert out["name"] == f"grant/{gid}/calls/{today.isoformat()}"
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 3 * 4  # rows returned over the day
    period = event["run"]["facets"]["nominalTime"]
    assert period["nominalStartTime"] < period["nominalEndTime"]  # the local day, in UTC
    religion = out["facets"]["columnLineage"]["fields"]["宗教信仰"]["inputFields"][0]["transformations"][0]
    assert religion["masking"] is True
    assert all(v not in str(event) for v in ROWS["姓名"])  # names and counts, never values


def test_open_downloads_are_summarised_per_dataset_and_day(world, people, lineage_schema):  # noqa: F811
    yesterday = workdays.today() - timedelta(days=1)
    with world.db.write() as s:
        open_usage.add(s, people, open_usage.download_kind("csv"), 3, day=yesterday)
        open_usage.add(s, people, open_usage.download_kind("parquet"), 2, day=yesterday)
        open_usage.add(s, people, open_usage.API, 7, day=yesterday)  # API calls are not downloads
        open_usage.add(s, people, open_usage.download_kind("csv"), 1)  # today: not over yet
    assert daily.summarize(world.db)["download_days"] == 1
    code = code_of(world, people)
    (event,) = stored(world, f"open.download.{code}")
    lineage_schema.validate(event)
    (out,) = event["outputs"]
    assert (out["namespace"], out["name"]) == ("yibenzhang/public", f"resource/{code}/download/{yesterday}")
    assert out["outputFacets"]["outputStatistics"]["fileCount"] == 5
    assert daily.summarize(world.db)["download_days"] == 0


def test_a_registered_product_is_an_event_from_its_sandbox_outputs(world, lineage_schema):
    from tests.assets.test_products_service import _passed, _to_publicity
    from yibenzhang.assets import registration

    pid = _passed(world)
    day = date(2026, 3, 2)
    rid = _to_publicity(world, pid, day)
    with world.db.write() as s:
        code = registration.assign_code(s, world.actor("reviewer"), rid, today=day + timedelta(days=60)).code
    built = stored(world, f"product.{pid}")
    for event in built:
        lineage_schema.validate(event)
    kinds = [e["job"]["facets"]["jobType"]["jobType"] for e in built]
    assert kinds[0] == "PRODUCT_CREATE" and kinds[-1] == "PRODUCT_REGISTER" and code
    with world.db.read() as s:
        runs = s.get(products.Product, pid).source_run_ids
    assert {i["name"] for i in built[-1]["inputs"]} == {f"sandbox/run/{r}" for r in runs}
