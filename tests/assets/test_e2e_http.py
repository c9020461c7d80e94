"""Issue 7 acceptance, over HTTP on both backends: authorize an operator, run allowed and refused
sandbox queries, build a product, fail and then pass compliance review, register it with a
publication period (code refused on its last day, given the day after), verify the certificate,
tamper with it and see verification fail, record revenue within and above the cap."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pyarrow as pa
import pytest

from tests.factories import published
from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.assets import registration
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.config import get_settings
from yibenzhang.workdays import add_workdays

CAP = 80_000  # fen
GRADES = {"区县": "一般-1级", "年龄": "一般-1级", "收入": "一般-3级", "身份证号": "一般-3级"}


def _rows() -> pa.RecordBatch:
    counties = [("甲", 30), ("乙", 20)]
    data: dict[str, list[str]] = {"区县": [], "年龄": [], "收入": [], "身份证号": []}
    n = 0
    for name, count in counties:
        for _ in range(count):
            data["区县"].append(name)
            data["年龄"].append(str(20 + n % 40))
            data["收入"].append(str(3000 + 10 * n))
            data["身份证号"].append(f"99010119900101{n:04d}")
            n += 1
    return pa.RecordBatch.from_pydict(data)


@pytest.fixture
def resource(world) -> int:
    items = [ItemIn(name="区县", data_type="C"), ItemIn(name="年龄", data_type="I"),
             ItemIn(name="收入", data_type="N"), ItemIn(name="身份证号", data_type="C", length=18)]
    rid = published(world, name="居民收入", items=items)
    ingest_arrow(world.db, Actor.system(), rid, [_rows()], source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = GRADES[item.name]
    return rid


def _ok(resp, status: int = 200) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()


def test_product_asset_chain_over_http(world, client, resource, monkeypatch):
    authority, operator = world.headers("reviewer"), world.headers("operator_user")
    today = workdays.today()

    # 1. The authority authorizes the operator.
    auth = _ok(client.post("/api/v1/operate/authorizations", headers=authority, json={
        "operator_org_id": world.orgs["operator"].id, "scope_kind": "全域",
        "resources": [{"resource_id": resource, "items": ["区县", "年龄", "收入", "身份证号"]}],
        "purpose": "区县收入结构分析", "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(), "fee_cap_fen": CAP}), 201)

    # 2. Sandbox: an aggregate is released, an escape attempt is refused (and recorded).
    released = _ok(client.post("/api/v1/operate/sandbox/queries", headers=operator, json={
        "authorization_id": auth["id"],
        "sql": f"SELECT 区县, count(*) AS 人数, avg(CAST(收入 AS DOUBLE)) AS 平均收入 "
               f"FROM r_{resource} GROUP BY 区县"}), 201)
    assert released["state"] == "已放行" and released["output_digest"]
    refused = client.post("/api/v1/operate/sandbox/queries", headers=operator, json={
        "authorization_id": auth["id"], "sql": "SELECT * FROM read_csv('/etc/passwd')"})
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    refused_run = refused.json()["run_id"]

    # 3. A product: from a refused run it cannot be built; the price edge is the fee cap.
    body = {"authorization_id": auth["id"], "name": "区县收入结构报告", "kind": "数据报告",
            "description": "各区县居民人数与平均收入。", "use": "金融机构评估区域消费能力", "scenario": "",
            "source_run_ids": [released["id"]], "pricing_category": "产业发展", "price_fen": CAP + 1}
    bad = client.post("/api/v1/products", headers=operator, json={**body, "source_run_ids": [refused_run]})
    assert bad.status_code == 422 and "run_not_released" in [e["code"] for e in bad.json()["errors"]]
    above = client.post("/api/v1/products", headers=operator, json=body)
    assert above.status_code == 422 and [e["code"] for e in above.json()["errors"]] == ["price_above_cap"]
    product = _ok(client.post("/api/v1/products", headers=operator, json={**body, "price_fen": CAP}), 201)
    assert product["price_fen"] == CAP and product["state"] == "草稿"
    pid = product["id"]

    # 4. Compliance review fails (no scenario; personal items without consent), with reasons and rules.
    review = _ok(client.post(f"/api/v1/products/{pid}/review", headers=operator))
    assert review["state"] == "不通过"
    assert {(f["kind"], f["rule_en"]) for f in review["failed"]} == {(3, "001:1236 Art. 27(3)"),
                                                                      (4, "001:1236 Art. 27(4)")}
    assert all(f["reason"] and f["reason_en"] for f in review["failed"])
    shown = _ok(client.get(f"/api/v1/products/{pid}", headers=operator))
    assert shown["state"] == "合规未通过" and len(shown["review"]["failed"]) == 2

    # … the operator fixes it and it passes after the reviewer's sign-off.
    _ok(client.patch(f"/api/v1/products/{pid}", headers=operator, json={
        "scenario": "银行网点布局", "pi_consent": True, "pi_consent_ref": "授权协议附件3 个人同意记录"}))
    review = _ok(client.post(f"/api/v1/products/{pid}/review", headers=operator))
    assert review["state"] == "待签核" and review["awaiting_signoff"] == [1, 2, 5, 7]
    assert client.post(f"/api/v1/products/{pid}/review/signoff", headers=operator, json={
        "items": [{"kind": 1, "verdict": "通过", "note": "x"}]}).status_code == 403
    review = _ok(client.post(f"/api/v1/products/{pid}/review/signoff", headers=authority, json={
        "items": [{"kind": k, "verdict": "通过", "note": "经核查符合要求"} for k in (1, 2, 5, 7)]}))
    assert review["state"] == "通过"

    # 5. Registration with a publication period: no code on its last day, a code the day after.
    start = date(2026, 9, 25)
    monkeypatch.setattr(registration, "_today", lambda: start)
    reg = _ok(client.post("/api/v1/registrations", headers=operator, json={
        "product_id": pid, "kind": "首次", "rights": {"数据资源持有权": "云岭省公安厅",
                                                     "数据加工使用权": "云岭数据运营有限公司",
                                                     "数据产品经营权": "云岭数据运营有限公司"}}), 201)
    _ok(client.post(f"/api/v1/registrations/{reg['id']}/accept", headers=authority))
    reg = _ok(client.post(f"/api/v1/registrations/{reg['id']}/check", headers=authority))
    last = add_workdays(start, get_settings().rules.registration_publicity_days)
    assert reg["state"] == "公示" and reg["publicity_until"] == last.isoformat()
    monkeypatch.setattr(registration, "_today", lambda: last)
    _ok(client.post(f"/api/v1/registrations/{reg['id']}/objections", headers=world.headers("citizen"),
                    json={"note": "请说明数据来源"}), 201)
    early = client.post(f"/api/v1/registrations/{reg['id']}/code", headers=authority)
    assert early.status_code == 409 and early.json()["code"] == "publicity_not_over"
    monkeypatch.setattr(registration, "_today", lambda: last + timedelta(days=1))
    blocked = client.post(f"/api/v1/registrations/{reg['id']}/code", headers=authority)
    assert blocked.status_code == 409 and blocked.json()["code"] == "objection_open"
    _ok(client.post(f"/api/v1/registrations/{reg['id']}/objections/1/resolve", headers=authority,
                    json={"upheld": False, "answer": "来源为授权沙箱的聚合结果"}))
    coded = _ok(client.post(f"/api/v1/registrations/{reg['id']}/code", headers=authority))
    assert coded["state"] == "赋码" and coded["code"] == f"YBZ-990000-{last.year}-000001"

    # 6. The certificate verifies for anyone; a tampered one fails with a clear reason.
    cert = _ok(client.get(f"/api/v1/registrations/{reg['id']}/certificate", headers=operator))
    assert cert["content"]["product"]["sources"][0]["output_digest"] == released["output_digest"]
    ok = _ok(client.post("/api/v1/certificates/verify", json=cert))
    assert ok["valid"] is True and ok["code"] == coded["code"]
    tampered = copy.deepcopy(cert)
    tampered["content"]["product"]["price_fen"] = 1
    out = _ok(client.post("/api/v1/certificates/verify", json=tampered))
    assert out["valid"] is False and out["reason"] == "digest_mismatch" and out["message_en"]
    tampered = copy.deepcopy(cert)
    tampered["content"]["rights"]["数据产品经营权"] = "冒名公司"
    assert _ok(client.post("/api/v1/certificates/verify", json=tampered))["reason"] == "signature_mismatch"

    # 7. Revenue within the cap, then above it: the excess is carried into the next period.
    within = _ok(client.post(f"/api/v1/products/{pid}/revenue", headers=operator,
                             json={"period": "2026-10", "units": 3, "amount_fen": 3 * CAP}), 201)
    assert within["within_cap"] and within["excess_fen"] == 0
    above = _ok(client.post(f"/api/v1/products/{pid}/revenue", headers=operator,
                            json={"period": "2026-11", "units": 3, "amount_fen": 3 * CAP + 500}), 201)
    assert above["excess_fen"] == 500 and not above["within_cap"]
    nxt = _ok(client.post(f"/api/v1/products/{pid}/revenue", headers=operator,
                          json={"period": "2026-12", "units": 1, "amount_fen": 100}), 201)
    assert nxt["deduction_fen"] == 500 and nxt["allowed_fen"] == CAP - 500

    # The ledger chain still verifies after the whole flow.
    assert _ok(client.get("/api/v1/ledger/verify", headers=world.headers("admin")))["ok"] is True
