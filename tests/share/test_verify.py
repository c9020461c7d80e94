"""Verification (核验) over HTTP (both backends): match per claimed item, never the stored value;
granted items only; a 核验 grant only; rate limited harder than rows."""

from __future__ import annotations

import pytest

from yibenzhang.share import grants as G

from .test_grants import ROWS, issue, share_fixture  # noqa: F401  (the `share` fixture)

# Issue 14: every test here runs on the local zone and on the S3 zone (a real SeaweedFS).
pytestmark = pytest.mark.usefixtures("zone_store")


def post(client, headers, gid, key, claims):
    return client.post(f"/api/v1/grants/{gid}/verify", json={"key": key, "claims": claims}, headers=headers)


def test_match_per_item_without_values(client, share):
    w = share.world
    gid = issue(share, mode="核验", items=["公民身份号码", "姓名", "宗教信仰"])
    h = w.headers("consumer")
    r = post(client, h, gid, {"公民身份号码": "990101199003071234"}, {"姓名": "欧阳娜娜", "宗教信仰": "道教"})
    assert r.status_code == 200, r.text
    assert r.json()["match"] == {"姓名": True, "宗教信仰": False}
    assert "佛教" not in r.text and "990101199003071234" not in r.text
    unknown = post(client, h, gid, {"公民身份号码": "000000000000000000"}, {"姓名": "欧阳娜娜"}).json()
    assert unknown["match"] == {"姓名": False}  # no record answers as a wrong claim


def test_only_granted_items_and_only_verify_grants(client, share):
    w = share.world
    h = w.headers("consumer")
    gid = issue(share, mode="核验", items=["公民身份号码", "姓名"])
    r = post(client, h, gid, {"公民身份号码": "990101199003071234"}, {"宗教信仰": "佛教"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "item_not_granted"
    rows_grant = issue(share, items=["公民身份号码", "姓名"])
    assert post(client, h, rows_grant, {"公民身份号码": "1"}, {"姓名": "x"}).json()["code"] == "grant_mode"


def test_verification_is_rate_limited_more_strictly(client, share, monkeypatch):
    monkeypatch.setattr(G, "VERIFY_PER_MINUTE", 3)
    w = share.world
    gid = issue(share, mode="核验", items=["公民身份号码", "姓名"], rate=600)
    h = w.headers("consumer")
    codes = [post(client, h, gid, {"公民身份号码": "990101199003071234"}, {"姓名": n}).status_code
             for n in ROWS["姓名"]]
    assert codes == [200, 200, 200, 429, 429, 429]
    r = post(client, h, gid, {"公民身份号码": "990101199003071234"}, {"姓名": "欧阳娜娜"})
    assert r.json()["code"] == "rate_limited" and "欧阳娜娜" not in r.text
    G.USAGE.flush(w.db)  # usage is buffered; statistics flush it the same way
    with w.db.read() as s:
        outcomes = [u.outcome for u in s.query(G.GrantUsage).filter_by(grant_id=gid)]
    assert outcomes.count("rate_limited") == 4 and outcomes.count("ok") == 3


@pytest.mark.parametrize("scope,expect", [("990101", True), ("990201", False)])
def test_verification_respects_the_row_scope(client, share, scope, expect):
    w = share.world
    gid = issue(share, org="county_civil", mode="核验", items=["公民身份号码", "姓名"], scope={"region_code": scope})
    r = post(client, w.headers("county_consumer"), gid, {"公民身份号码": "990101199003071234"}, {"姓名": "欧阳娜娜"})
    assert r.json()["match"] == {"姓名": expect}
