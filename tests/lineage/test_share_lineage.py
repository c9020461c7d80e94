"""Lineage of share deliveries: the chain batch → resource → grant → consumer organization can be
rebuilt from the OpenLineage events alone, with each delivered column's masking operator; a
delivery that is given up is a FAIL."""

from __future__ import annotations

from sqlalchemy import select

from tests.share.test_grants import ROWS, issue, share_fixture  # noqa: F401  (the `share` fixture)
from yibenzhang.catalog.model import Resource
from yibenzhang.jobs import Worker
from yibenzhang.lineage.model import LineageEvent
from yibenzhang.share import service_rows


def stored(world) -> list[dict]:
    with world.db.read() as s:
        return [r.event for r in s.execute(select(LineageEvent).order_by(LineageEvent.id)).scalars()]


def test_the_chain_from_batch_to_consumer_is_in_the_events(share, lineage_schema):
    w = share.world
    gid = issue(share, mode="文件", items=["姓名", "公民身份号码", "宗教信仰", "内部备注"])
    d = service_rows.request_delivery(w.db, w.actor("consumer"), gid, "csv")
    assert Worker(w.db, run_tickers=False).run(once=True) == 1
    events = stored(w)
    for event in events:
        lineage_schema.validate(event)
    # Rebuild the graph from the events alone: dataset → dataset edges through each run.
    edges = {(f"{i['namespace']}:{i['name']}", f"{o['namespace']}:{o['name']}")
             for e in events if e["eventType"] == "COMPLETE" for i in e["inputs"] for o in e["outputs"]}
    with w.db.read() as s:
        code = s.get(Resource, share.rid).code
    market = w.orgs["market"].uscc
    resource = f"yibenzhang:resource/{code}"
    copy = f"yibenzhang/org/{market}:grant/{gid}/delivery/{d.id}"
    assert ("yibenzhang:source/test/" + code, resource) in edges  # the batch's source → the resource
    assert (resource, copy) in edges  # the resource → the market regulator's copy, through the grant
    delivery = next(e for e in events if e["job"]["name"] == f"share.grant-{gid}.delivery")
    (out,) = delivery["outputs"]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == len(ROWS["姓名"])
    lineage_cols = out["facets"]["columnLineage"]["fields"]
    assert set(lineage_cols) == {"姓名", "公民身份号码", "宗教信仰"}  # 内部备注 (ungraded) never leaves
    for name, field in lineage_cols.items():
        (source_field,) = field["inputFields"]
        assert source_field["name"] == f"resource/{code}" and source_field["field"] == name
        (t,) = source_field["transformations"]
        assert t["masking"] == (t["description"] != "none")
    religion = lineage_cols["宗教信仰"]["inputFields"][0]["transformations"][0]
    assert religion["masking"] is True and religion["description"].startswith("sm4")  # grade 4: encrypted
    assert "张" not in str(delivery)  # names of columns, never their values


def test_a_delivery_given_up_is_a_fail(share, lineage_schema):
    w = share.world
    gid = issue(share, mode="文件", items=["内部备注"])  # ungraded: withheld by the 共享 policy
    service_rows.request_delivery(w.db, w.actor("consumer"), gid, "csv")
    Worker(w.db, run_tickers=False).run(once=True)
    fail = [e for e in stored(w) if e["job"]["name"] == f"share.grant-{gid}.delivery"]
    assert [e["eventType"] for e in fail] == ["FAIL"]
    assert fail[0]["run"]["facets"]["errorMessage"]["message"] == "delivery_nothing_to_serve"
    lineage_schema.validate(fail[0])


def two_deliveries(share) -> tuple[int, int, str]:
    """A file grant to the market org and one to the city police, each delivered once; the two
    grants' ids and the resource's code."""
    w = share.world
    market_grant = issue(share, mode="文件", items=["姓名", "宗教信仰"])
    city_grant = issue(share, org="city_police", mode="文件", items=["姓名"])
    for gid, who in ((market_grant, "consumer"), (city_grant, "city_consumer")):
        service_rows.request_delivery(w.db, w.actor(who), gid, "csv")
    assert Worker(w.db, run_tickers=False).run(once=True) == 2
    with w.db.read() as s:
        return market_grant, city_grant, s.get(Resource, share.rid).code


def test_lineage_view_shows_each_viewer_what_they_may_see(share, client):
    """The permission matrix of `GET /api/v1/lineage/resources/{code}` (and `ybz lineage`)."""
    w = share.world
    market_grant, city_grant, code = two_deliveries(share)

    def view(username: str):
        headers = w.headers(username) if username != "anonymous" else {}
        return client.get(f"/api/v1/lineage/resources/{code}", headers=headers)

    for insider in ("police_steward", "police_approver", "reviewer", "admin", "auditor"):
        body = view(insider).json()
        assert "complete" in body, (insider, body)
        assert body["complete"] is True and body["sources"] and body["batch_states"] == {"COMPLETE": 1}
        assert {c["grant_id"] for c in body["consumers"]} == {market_grant, city_grant}
    market = view("consumer").json()  # a consumer sees what its own org received, nothing else
    assert market["complete"] is False and market["sources"] == [] and market["batches"] == []
    assert [(c["grant_id"], c["org"], c["columns"]["宗教信仰"][:3]) for c in market["consumers"]] == [
        (market_grant, "云岭省市场监督管理局", "sm4")]
    assert view("county_steward").json()["consumers"] == []  # another org: received nothing
    assert view("citizen").status_code == 404  # the public does not even learn the resource exists
    assert view("anonymous").status_code == 401


def test_ybz_lineage_prints_the_same(share):
    import json

    from typer.testing import CliRunner

    from yibenzhang.cli import app

    w = share.world
    gid = issue(share, mode="文件", items=["姓名"])
    service_rows.request_delivery(w.db, w.actor("consumer"), gid, "csv")
    Worker(w.db, run_tickers=False).run(once=True)
    with w.db.read() as s:
        code = s.get(Resource, share.rid).code
    result = CliRunner().invoke(app, ["lineage", code, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["resource"] == code and [c["grant_id"] for c in body["consumers"]] == [gid]
    assert CliRunner().invoke(app, ["lineage", "nope", "--json"]).exit_code == 2
