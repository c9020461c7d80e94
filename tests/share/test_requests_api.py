"""/api/v1/share-requests and /api/v1/seals/verify over HTTP: the permission matrix (every endpoint ×
every role × own/other org: allow or deny, never a 500) and the sealed document round trip."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import USERS, published
from yibenzhang import workdays

ROLES = [*USERS, "anonymous"]
TODAY = workdays.today()


def body(resource_id: int, **kw) -> dict:
    data = {"resource": resource_id, "items": ["姓名", "公民身份号码"], "mode": "核验", "purpose": "身份核验",
            "basis": "履行法定职责", "scenario": "窗口办事核验身份", "period_from": TODAY.isoformat(),
            "period_to": (TODAY + timedelta(days=90)).isoformat()}
    data.update(kw)
    return data


class Calls:
    def __init__(self, world, client):
        self.world, self.client, self.tokens = world, client, {}

    def headers(self, who: str) -> dict:
        if who == "anonymous":
            return {}
        if who not in self.tokens:
            self.tokens[who] = self.world.headers(who)
        return self.tokens[who]

    def post(self, who, path, json=None):
        return self.client.post(path, json=json if json is not None else {}, headers=self.headers(who))

    def get(self, who, path):
        return self.client.get(path, headers=self.headers(who))


def new_request(calls: Calls, rid: int) -> int:
    r = calls.post("consumer", "/api/v1/share-requests", body(rid))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def check(matrix: dict[str, int], got: dict[str, int]) -> None:
    assert {k: got[k] for k in matrix} == matrix
    assert all(code < 500 for code in got.values())


def test_permission_matrix(world, client):
    calls = Calls(world, client)
    rid = published(world)  # the police's, conditional, province level
    readers = {"admin", "reviewer", "police_steward", "police_approver", "consumer", "market_steward", "auditor"}

    # create: the users of a consumer org other than the provider
    got = {who: calls.post(who, "/api/v1/share-requests", body(rid)).status_code for who in ROLES}
    allowed = {"consumer", "market_steward", "city_steward", "city_data_steward", "county_steward"}
    check({who: 201 if who in allowed else 409 if who == "police_steward" else 401 if who == "anonymous"
           else 403 for who in ROLES}, got)

    # list: every signed-in user (each sees only what they may read)
    got = {who: calls.get(who, "/api/v1/share-requests?view=mine").status_code for who in ROLES}
    check({who: 401 if who == "anonymous" else 200 for who in ROLES}, got)
    assert calls.get("citizen", "/api/v1/share-requests").json()["total"] == 0
    assert calls.get("other_reviewer", "/api/v1/share-requests").json()["total"] == 0
    assert calls.get("consumer", "/api/v1/share-requests?view=mine").json()["total"] == 2  # market's two
    assert calls.get("police_approver", "/api/v1/share-requests?view=to_decide").json()["total"] == 5  # one per creator
    assert calls.get("reviewer", "/api/v1/share-requests?view=to_decide").json()["total"] == 0
    assert calls.get("consumer", "/api/v1/share-requests?view=whatever").status_code == 422

    req = new_request(calls, rid)
    # get one: the consumer org, the provider, the region's authority, admin and auditors
    got = {who: calls.get(who, f"/api/v1/share-requests/{req}").status_code for who in ROLES}
    check({who: 200 if who in readers else 401 if who == "anonymous" else 404 for who in ROLES}, got)

    # decide the provider's step: only the provider's approver (the authority only once overdue)
    decision = {"decision": "approve", "reason": "同意"}
    got = {who: calls.post(who, f"/api/v1/share-requests/{req}/decide", decision).status_code
           for who in ROLES if who != "police_approver"}
    check({who: 403 if who in readers else 401 if who == "anonymous" else 404
           for who in ROLES if who != "police_approver"}, got)
    assert calls.post("police_approver", f"/api/v1/share-requests/{req}/decide", decision).status_code == 200
    # the authority's step: only the region's reviewer (or one above it) and the admin
    got = {who: calls.post(who, f"/api/v1/share-requests/{req}/decide", decision).status_code
           for who in ROLES if who not in ("reviewer", "admin")}
    check({who: 403 if who in readers else 401 if who == "anonymous" else 404
           for who in ROLES if who not in ("reviewer", "admin")}, got)
    r = calls.post("reviewer", f"/api/v1/share-requests/{req}/decide", decision)
    assert r.status_code == 200 and r.json()["state"] == "已批准"
    assert calls.post("reviewer", f"/api/v1/share-requests/{req}/decide", decision).status_code == 409

    # withdraw: the consumer org only
    req = new_request(calls, rid)
    got = {who: calls.post(who, f"/api/v1/share-requests/{req}/withdraw").status_code
           for who in ROLES if who not in ("consumer", "market_steward")}
    check({who: 403 if who in readers else 401 if who == "anonymous" else 404
           for who in ROLES if who not in ("consumer", "market_steward")}, got)
    assert calls.post("market_steward", f"/api/v1/share-requests/{req}/withdraw").status_code == 200
    assert calls.post("consumer", f"/api/v1/share-requests/{req}/withdraw").status_code == 409

    # escalate: the admin (the daily job) only
    got = {who: calls.post(who, "/api/v1/share-requests/escalate").status_code for who in ROLES}
    check({who: 200 if who == "admin" else 401 if who == "anonymous" else 403 for who in ROLES}, got)

    # unknown ids and bad bodies are clear errors
    assert calls.get("consumer", "/api/v1/share-requests/99999").status_code == 404
    assert calls.post("consumer", "/api/v1/share-requests", {"resource": rid}).status_code == 422
    problem = calls.post("consumer", "/api/v1/share-requests", body(rid, items=["姓名", "公民身份号码", "出生日期"]))
    assert problem.status_code == 422 and problem.json()["code"] == "minimum_necessary"


def test_seal_verification_is_open_to_anyone(world, client):
    calls = Calls(world, client)
    rid = published(world, share_type="无条件共享", share_condition=None)
    r = calls.post("consumer", "/api/v1/share-requests", body(rid, mode="接口"))
    assert r.status_code == 201 and r.json()["state"] == "已批准"
    doc = calls.get("consumer", f"/api/v1/share-requests/{r.json()['id']}").json()["seal"]
    for who in ("anonymous", "citizen"):
        assert calls.post(who, "/api/v1/seals/verify", doc).json()["valid"] is True
    changed = {**doc, "content": {**doc["content"], "period_to": "2099-12-31"}}
    out = calls.post("anonymous", "/api/v1/seals/verify", changed).json()
    assert out["valid"] is False and out["reason"] == "signature_mismatch"
    for junk in ({}, {"content": {}, "seal": {"algorithm": "SM2-SM3", "org_uscc": "x", "signature": "zz"}},
                 {"content": {}, "seal": {**doc["seal"], "signature": "00"}}):
        res = calls.post("anonymous", "/api/v1/seals/verify", junk)
        assert res.status_code == 200 and res.json()["valid"] is False
