"""End to end over HTTP (both backends): a city and a county consumer request the police's
conditional resource through /api/v1/share-requests; approved (two steps) and refused requests,
the grant's rows (回流 scope), verification and revocation, checking on EVERY response that no
ungranted item and no unmasked protected value appears. (Unconditional, not-shareable and expiry
are covered per service in test_requests.py / test_data_service.py; not yet walked here.)"""

from __future__ import annotations

from datetime import timedelta

from yibenzhang import workdays

from .test_data_service import no_leak
from .test_grants import share_fixture  # noqa: F401  (the `share` fixture)

TODAY = workdays.today()


def test_conditional_request_to_rows_verification_and_revocation(client, share):
    w = share.world
    seen: list = []

    def call(method, who, path, json=None, allowed=frozenset({"姓名", "行政区划代码"}), **params):
        r = client.request(method, path, json=json, params=params or None, headers=w.headers(who))
        assert r.status_code < 500, r.text
        no_leak(r.text, set(allowed))
        seen.append(r)
        return r

    body = {"resource": share.rid, "items": ["姓名", "行政区划代码"], "mode": "接口", "purpose": "基层治理",
            "basis": "履行法定职责", "scenario": "县级网格管理", "period_from": TODAY.isoformat(),
            "period_to": (TODAY + timedelta(days=30)).isoformat(), "region_scope": "990101"}
    r = call("POST", "county_consumer", "/api/v1/share-requests", body)
    assert r.status_code == 201, r.text
    req = r.json()["id"]
    refused = call("POST", "city_consumer", "/api/v1/share-requests", {**body, "region_scope": "990100"}).json()["id"]
    r = call("POST", "police_approver", f"/api/v1/share-requests/{refused}/decide",
             {"decision": "拒绝", "reason": "用途不明确"})
    assert r.status_code == 200, r.text
    for who in ("police_approver", "reviewer"):
        r = call("POST", who, f"/api/v1/share-requests/{req}/decide", {"decision": "批准", "reason": "履职需要"})
        assert r.status_code == 200, r.text
    grants = call("GET", "county_consumer", "/api/v1/grants").json()
    mine = [g for g in grants if g["request_id"] == req]
    assert len(mine) == 1 and not [g for g in grants if g["request_id"] == refused]
    gid = mine[0]["id"]
    rows = call("GET", "county_consumer", f"/api/v1/grants/{gid}/rows").json()["rows"]
    assert rows and {x["行政区划代码"] for x in rows} == {"990101"}  # 回流: the county's own rows only
    assert all(set(x) <= {"姓名", "行政区划代码"} for x in rows)
    assert call("GET", "city_consumer", f"/api/v1/grants/{gid}/rows").status_code in (403, 404)
    r = call("POST", "police_approver", f"/api/v1/grants/{gid}/revoke", {"reason": "职责调整"})
    assert r.status_code == 200, r.text
    r = call("GET", "county_consumer", f"/api/v1/grants/{gid}/rows")  # within the cache's seconds
    assert (r.status_code, r.json()["code"]) == (403, "grant_revoked")
    assert len(seen) >= 10
