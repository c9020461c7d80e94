"""The data service over HTTP (both backends): only granted items leave, masked per policy;
filters, pagination, 回流 scope, expiry and revocation; delivery once; usage without values;
and the permission matrix of every grant endpoint × role × own/other org."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from yibenzhang import workdays
from yibenzhang.share import grants as G

from .test_grants import PROTECTED, ROWS, issue, share_fixture  # noqa: F401  (the `share` fixture)

# Issue 14: every test here runs on the local zone and on the S3 zone (a real SeaweedFS).
pytestmark = pytest.mark.usefixtures("zone_store")


def no_leak(text: str, allowed_items: set[str]) -> None:
    """Every response is scanned: no protected value, no ungranted item's value."""
    for v in PROTECTED:
        assert v not in text
    for item, values in ROWS.items():
        if item not in allowed_items:
            for v in values:
                assert v not in text, (item, v)


def get_rows(client, headers, gid, **params):
    r = client.get(f"/api/v1/grants/{gid}/rows", params=params, headers=headers)
    return r


def test_rows_carry_only_granted_items_masked(client, share):
    w = share.world
    gid = issue(share, items=["姓名", "宗教信仰", "行政区划代码", "内部备注"])
    h = w.headers("consumer")
    r = get_rows(client, h, gid, limit=4)
    assert r.status_code == 200, r.text
    body = r.json()
    no_leak(r.text, {"姓名", "行政区划代码"})
    assert body["items"] == ["姓名", "宗教信仰", "行政区划代码"] and body["denied"] == ["内部备注"]
    assert all(set(row) == set(body["items"]) for row in body["rows"])
    assert [row["姓名"] for row in body["rows"]] == ROWS["姓名"][:4]  # 一般-3级 names are shared in clear
    assert body["masking"]["宗教信仰"] == "sm4" and body["rows"][0]["宗教信仰"] != "佛教"
    nxt = get_rows(client, h, gid, limit=4, after=body["next"]).json()
    assert [row["姓名"] for row in nxt["rows"]] == ROWS["姓名"][4:] and nxt["next"] is None


def test_filters_on_granted_clear_items_only(client, share):
    w = share.world
    gid = issue(share, items=["姓名", "宗教信仰", "行政区划代码"])
    h = w.headers("consumer")
    r = get_rows(client, h, gid, **{"filter.行政区划代码": "990201"})
    assert [row["姓名"] for row in r.json()["rows"]] == ["赵强", "孙丽"]
    for item, code in (("公民身份号码", "filter_not_granted"), ("内部备注", "filter_not_granted"),
                       ("宗教信仰", "filter_masked")):
        r = get_rows(client, h, gid, **{f"filter.{item}": "x"})
        assert r.status_code == 400 and r.json()["code"] == code, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert get_rows(client, h, gid, after="garbage").json()["code"] == "cursor_invalid"


def test_return_to_lower_levels_scope(client, share):
    w = share.world
    county = issue(share, org="county_civil", items=["姓名", "行政区划代码"], scope={"region_code": "990101"})
    city = issue(share, org="city_police", items=["姓名", "行政区划代码"], scope={"region_code": "990100"})
    rows = get_rows(client, w.headers("county_consumer"), county).json()["rows"]
    assert {r["行政区划代码"] for r in rows} == {"990101"} and len(rows) == 2
    rows = get_rows(client, w.headers("city_consumer"), city).json()["rows"]
    assert {r["行政区划代码"] for r in rows} == {"990101", "990102", "990100"}
    # a filter cannot widen the scope
    r = get_rows(client, w.headers("county_consumer"), county, **{"filter.行政区划代码": "990201"})
    assert r.json()["rows"] == []


def test_expired_revoked_wrong_mode_and_rate_limit_are_clear_errors(client, share):
    w = share.world
    h = w.headers("consumer")
    old = issue(share, valid_from=workdays.today() - timedelta(days=9), valid_to=workdays.today() - timedelta(days=1))
    assert get_rows(client, h, old).json()["code"] == "grant_expired"
    gid = issue(share, items=["姓名"], rate=2)
    assert get_rows(client, h, gid).status_code == 200
    with w.db.write() as s:
        G.revoke_grant(s, w.actor("police_approver"), gid, "职责调整")
    r = get_rows(client, h, gid)
    assert (r.status_code, r.json()["code"]) == (403, "grant_revoked")
    verify_only = issue(share, mode="核验")
    assert get_rows(client, h, verify_only).json()["code"] == "grant_mode"
    limited = issue(share, items=["姓名"], rate=2)
    codes = [get_rows(client, h, limited).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_delivery_is_downloadable_once_by_the_grantee(client, share, monkeypatch):
    from yibenzhang.jobs import Worker

    w = share.world
    gid = issue(share, mode="文件", items=["姓名", "宗教信仰", "内部备注"])
    h = w.headers("consumer")
    r = client.post(f"/api/v1/grants/{gid}/deliveries", json={"format": "csv"}, headers=h)
    assert r.status_code == 202, r.text
    did = r.json()["id"]
    assert client.get(f"/api/v1/deliveries/{did}/download", headers=h).json()["code"] == "delivery_not_ready"
    Worker(w.db, run_tickers=False).run(once=True)
    assert client.get(f"/api/v1/deliveries/{did}", headers=h).json()["status"] == "就绪"
    other = client.get(f"/api/v1/deliveries/{did}/download", headers=w.headers("city_steward"))
    assert other.status_code == 404
    got = client.get(f"/api/v1/deliveries/{did}/download", headers=h)
    assert got.status_code == 200
    text = got.content.decode()
    assert text.splitlines()[0] == '"姓名","宗教信仰"' and len(text.splitlines()) == 7
    no_leak(text, {"姓名"})
    again = client.get(f"/api/v1/deliveries/{did}/download", headers=h)
    assert again.status_code == 410 and again.json()["code"] == "delivery_gone"
    assert "重新申请" in again.json()["detail"]


def test_usage_is_recorded_without_personal_data(client, share):
    from yibenzhang.ledger.model import LedgerEvent

    w = share.world
    gid = issue(share, items=["姓名", "行政区划代码"])
    h = w.headers("consumer")
    get_rows(client, h, gid, **{"filter.行政区划代码": "990101"})
    get_rows(client, h, gid, **{"filter.公民身份号码": "990101199003071234"})
    stats = client.get("/api/v1/share-usage", params={"grant_id": gid}, headers=h).json()
    assert stats["calls"] == 2 and stats["rows"] == 2 and stats["refused"] == 1
    assert client.get("/api/v1/share-usage", params={"resource_id": share.rid},
                      headers=w.headers("police_steward")).json()["calls"] == 2
    assert client.get("/api/v1/share-usage", headers=w.headers("city_consumer")).json()["calls"] == 0
    with w.db.read() as s:
        uses = s.query(G.GrantUsage).filter_by(grant_id=gid).order_by(G.GrantUsage.id).all()
        assert [(u.filters, u.rows, u.outcome, u.actor) for u in uses] == [
            (["行政区划代码"], 2, "ok", "consumer"), (["公民身份号码"], 0, "filter_not_granted", "consumer")]
        events = s.query(LedgerEvent).filter(LedgerEvent.action.like("share.%")).all()
        dump = json.dumps([e.content for e in events], ensure_ascii=False)
    for values in ROWS.values():
        for v in values:
            assert v not in dump


# --- permission matrix ------------------------------------------------------------------------

ROLES = ["consumer", "city_consumer", "market_steward", "police_steward", "police_approver", "reviewer",
         "other_reviewer", "auditor", "admin", "citizen"]
# who may read rows / verify / ask a delivery of the market's grants: the market's consumers only
DATA_USERS = {"consumer"}
PROVIDER_SIDE = {"police_steward", "police_approver", "reviewer", "admin"}
SEE = DATA_USERS | PROVIDER_SIDE | {"auditor", "market_steward"}


@pytest.mark.parametrize("who", ROLES)
def test_permission_matrix(client, share, who):
    w = share.world
    rows_g, verify_g, file_g = issue(share), issue(share, mode="核验"), issue(share, mode="文件")
    h = w.headers(who)
    calls = {
        "rows": (client.get(f"/api/v1/grants/{rows_g}/rows", headers=h), DATA_USERS),
        "verify": (client.post(f"/api/v1/grants/{verify_g}/verify", headers=h,
                               json={"key": {"公民身份号码": "990101199003071234"}, "claims": {"姓名": "欧阳娜娜"}}),
                   DATA_USERS),
        "deliver": (client.post(f"/api/v1/grants/{file_g}/deliveries", headers=h, json={"format": "csv"}),
                    DATA_USERS),
        "show": (client.get(f"/api/v1/grants/{rows_g}", headers=h), SEE),
        "usage": (client.get("/api/v1/share-usage", headers=h), set(ROLES)),
        "issue": (client.post("/api/v1/grants", headers=h, json={
            "consumer_org_id": w.orgs["market"].id, "resource_id": share.rid, "items": ["姓名"], "mode": "接口",
            "valid_from": str(workdays.today()),
            "valid_to": str(workdays.today() + timedelta(days=5))}), PROVIDER_SIDE),
        "revoke": (client.post(f"/api/v1/grants/{rows_g}/revoke", headers=h, json={"reason": "测试"}),
                   PROVIDER_SIDE),
    }
    for name, (r, allowed) in calls.items():
        assert r.status_code < 500, (name, r.text)
        if who in allowed:
            assert r.status_code in (200, 201, 202), (name, who, r.text)
        else:
            assert r.status_code in (403, 404), (name, who, r.status_code, r.text)
            assert r.json()["code"]
        no_leak(r.text, {"姓名", "公民身份号码", "行政区划代码"})
    if who == "citizen":
        assert calls["usage"][0].json()["grants"] == []
    anon = client.get(f"/api/v1/grants/{rows_g}/rows")
    assert anon.status_code == 401
