"""The auditor's question (`GET /api/v1/lineage/items/{resource}?item=…&from=…&to=…`): every
organization that received item X of resource R in period P, with the grant and the masking
applied — from the lineage events alone; and the resource view's graph and its permissions."""

from __future__ import annotations

from datetime import timedelta

from tests.share.test_grants import issue, share_fixture  # noqa: F401  (the `share` fixture)
from yibenzhang import workdays
from yibenzhang.catalog.model import Resource
from yibenzhang.jobs import Worker
from yibenzhang.lineage import daily
from yibenzhang.share import grants as G
from yibenzhang.share import service_rows


def _setup(share):
    w = share.world
    file_grant = issue(share, mode="文件", items=["姓名", "宗教信仰"])
    city_grant = issue(share, org="city_police", mode="文件", items=["姓名"])
    api_grant = issue(share, items=["宗教信仰"])
    for gid, who in ((file_grant, "consumer"), (city_grant, "city_consumer")):
        service_rows.request_delivery(w.db, w.actor(who), gid, "csv")
    assert Worker(w.db, run_tickers=False).run(once=True) == 2
    service_rows.rows(w.db, w.actor("consumer"), api_grant, {}, limit=2)
    G.USAGE.flush(w.db)
    daily.summarize(w.db, workdays.today() + timedelta(days=1))
    with w.db.read() as s:
        code = s.get(Resource, share.rid).code
    return code, file_grant, city_grant, api_grant


def test_every_org_that_received_an_item_with_grant_and_masking(share, client):
    w = share.world
    code, file_grant, city_grant, api_grant = _setup(share)
    today = workdays.today().isoformat()
    url = f"/api/v1/lineage/items/{code}"
    body = client.get(url, params={"item": "宗教信仰", "from": today, "to": today},
                      headers=w.headers("auditor")).json()
    got = {(r["exit"], r["grant_id"], r["org"], r["masking"][:3]) for r in body["recipients"]}
    assert got == {("delivery", file_grant, "云岭省市场监督管理局", "sm4"),
                   ("calls", api_grant, "云岭省市场监督管理局", "sm4")}  # the city police never got it
    names = client.get(url, params={"item": "姓名"}, headers=w.headers("police_steward")).json()["recipients"]
    assert {(r["grant_id"], r["exit"]) for r in names} == {(file_grant, "delivery"), (city_grant, "delivery")}
    assert all(r["rows"] == 6 and r["times"] == 1 for r in names)
    before = (workdays.today() - timedelta(days=3)).isoformat()
    assert client.get(url, params={"item": "宗教信仰", "to": before},
                      headers=w.headers("auditor")).json()["recipients"] == []  # outside the period


def test_item_question_refusals_have_stable_codes(share, client):
    w = share.world
    code, *_ = _setup(share)
    url = f"/api/v1/lineage/items/{code}"
    denied = client.get(url, params={"item": "姓名"}, headers=w.headers("consumer"))
    assert denied.status_code == 403 and denied.json()["code"] == "lineage_item_denied"
    missing = client.get(url, params={"item": "没有这项"}, headers=w.headers("auditor"))
    assert missing.status_code == 404 and missing.json()["code"] == "lineage_item_not_found"
    bad = client.get(url, params={"item": "姓名", "from": "2026-13-01"}, headers=w.headers("auditor"))
    assert bad.status_code == 422 and bad.json()["code"] == "lineage_period_invalid"
    reversed_ = client.get(url, params={"item": "姓名", "from": "2026-02-01", "to": "2026-01-01"},
                           headers=w.headers("auditor"))
    assert reversed_.status_code == 422 and reversed_.json()["detail_en"]
    assert client.get(url, params={"item": "姓名"}).status_code == 401
    assert client.get(url, params={"item": "姓名"}, headers=w.headers("citizen")).status_code == 404


def test_the_graph_holds_only_what_the_viewer_may_see(share, client):
    w = share.world
    code, file_grant, city_grant, api_grant = _setup(share)

    def graph(username: str) -> dict:
        body = client.get(f"/api/v1/lineage/resources/{code}", headers=w.headers(username)).json()
        return body["graph"]

    full = graph("auditor")
    ids = {n["id"] for n in full["nodes"]}
    assert {f"grant-{file_grant}", f"grant-{city_grant}", f"grant-{api_grant}", "resource"} <= ids
    assert any(n["category"] == "source" for n in full["nodes"])
    market = graph("consumer")
    assert {n["id"] for n in market["nodes"]} == {"resource", f"grant-{file_grant}", f"grant-{api_grant}"}
    assert all(link["source"] == "resource" for link in market["links"])
    city = graph("city_consumer")
    assert {n["id"] for n in city["nodes"]} == {"resource", f"grant-{city_grant}"}
