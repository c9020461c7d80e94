"""The rest of the product API over HTTP: listing and visibility, valuations (stored, reproduced),
入表 and its export, the annual disclosure (JSON and XLSX) and its due date, anonymous access."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.assets.helpers import authorization, make_product, run
from tests.factories import published
from yibenzhang import workdays


def test_product_api_rest(world, client):
    rid = published(world)
    auth = authorization(world, rid)
    pid = make_product(world, auth, [run(world, auth, [rid])])
    op, authority = world.headers("operator_user"), world.headers("reviewer")

    assert client.get("/api/v1/products").status_code == 401
    assert client.get("/api/v1/products", headers=op).json()["total"] == 1
    assert client.get("/api/v1/products", headers=authority).json()["total"] == 1
    assert client.get("/api/v1/products", headers=world.headers("consumer")).json()["total"] == 0
    assert client.get(f"/api/v1/products/{pid}", headers=world.headers("consumer")).status_code == 404

    v = client.post("/api/v1/valuations", headers=authority, json={
        "product_id": pid, "method": "market", "inputs": {"comparables": [
            {"name": "同类报告", "price_fen": 300_000, "factors": {"质量": "0.9", "时效": "1.1"}}]}})
    assert v.status_code == 201 and v.json()["value_fen"] == 297_000
    got = client.get(f"/api/v1/valuations/{v.json()['id']}", headers=op).json()
    assert got["reproduction"]["reproduced"] is True and got["inputs_digest"] == v.json()["inputs_digest"]
    bad = client.post("/api/v1/valuations", headers=op, json={"product_id": pid, "method": "magic", "inputs": {}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "method"
    assert len(client.get(f"/api/v1/valuations?product_id={pid}", headers=op).json()["items"]) == 1

    b = client.post(f"/api/v1/products/{pid}/bookings", headers=op, json={
        "intention": "内部使用",
        "cost_items": [{"item": "脱敏", "amount_fen": 1234}, {"item": "差旅", "amount_fen": 10}]})
    assert b.status_code == 201 and b.json()["asset_class"] == "无形资产" and b.json()["expensed_fen"] == 10
    x = client.get(f"/api/v1/products/bookings/export?product_id={pid}", headers=op)
    assert x.status_code == 200 and load_workbook(io.BytesIO(x.content)).active["F2"].value == "脱敏"
    c = client.get(f"/api/v1/products/bookings/export?product_id={pid}&format=csv", headers=op)
    assert "脱敏,12.34,资本化" in c.content.decode("utf-8-sig")

    d = client.get("/api/v1/products/disclosure?year=2026", headers=op)
    assert d.status_code == 200 and d.json()["due"] == "2027-03-31" and len(d.json()["products"]) == 1
    xl = client.get(f"/api/v1/products/disclosure?year=2026&format=xlsx&operator_org_id={world.orgs['operator'].id}",
                    headers=authority)
    assert xl.status_code == 200 and "产品与价格" in load_workbook(io.BytesIO(xl.content)).sheetnames
    assert client.get("/api/v1/products/disclosure-due?year=2025").json()["due"] == "2026-03-31"
    assert client.post("/api/v1/certificates/verify", json={"nonsense": True}).json()["reason"] == "malformed"


def test_publicity_list_is_public(world, client):
    from datetime import timedelta

    from yibenzhang.assets import compliance, registration

    rid = published(world)
    auth = authorization(world, rid)
    pid = make_product(world, auth, [run(world, auth, [rid])])
    today = workdays.today()
    with world.db.write() as s:
        compliance.submit_for_review(s, world.actor("operator_user"), pid)
        compliance.sign_off(s, world.actor("reviewer"), pid,
                            [{"kind": k, "verdict": "通过", "note": "符合"} for k in (1, 2, 5, 7)])
        reg = registration.apply(s, world.actor("operator_user"), pid, rights={
            "数据资源持有权": "甲", "数据加工使用权": "乙", "数据产品经营权": "乙"}, today=today)
        registration.accept(s, world.actor("reviewer"), reg.id, today=today)
        registration.formal_check(s, world.actor("reviewer"), reg.id, today=today)
        registration.object_to(s, world.actor("citizen"), reg.id, "私人意见文本", today=today)
        reg_id = reg.id
    items = client.get("/api/v1/registrations/publicity").json()["items"]
    assert [i["id"] for i in items] == [reg_id] and items[0]["rights"]["数据产品经营权"] == "乙"
    assert "私人意见文本" not in str(items)
    page = client.get("/products/publicity")
    assert page.status_code == 200 and f'id="publicity-{reg_id}"' in page.text
    with world.db.read() as s:
        assert registration.in_publicity(s, today=today + timedelta(days=60)) == []
