"""The permission matrix of every share endpoint (requests, seals, grants, rows, deliveries,
verification, usage, revocation) × every role of the test world (plus the city and county consumers
and the anonymous caller) × a grant or request of the caller's own org and of another org: the
expected answer is allow or deny, never a 500, and a denial never carries data (both backends).

Own/other: the market's grants and request (consumer, market_steward) against the city police's
(city_consumer, city_steward); the provider is the provincial police, its authority the province's
reviewer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.factories import USERS
from yibenzhang import workdays

from .test_data_service import no_leak
from .test_grants import ROWS, issue, share_fixture  # noqa: F401  (the `share` fixture)

TODAY = workdays.today()
ROLES = [*USERS, "city_consumer", "county_consumer", "anonymous"]
PROVIDER_SIDE = {"police_steward", "police_approver", "reviewer", "admin"}
# who acts for each consumer org in any role / as a data user (数据使用方)
ORG_USERS = {"market": {"consumer", "market_steward"}, "city_police": {"city_consumer", "city_steward"}}
DATA_USERS = {"market": {"consumer"}, "city_police": {"city_consumer"}}
SAFE_ITEMS = {"姓名", "行政区划代码"}


class Caller:
    def __init__(self, client: Any, world: Any) -> None:
        self.client, self.world, self.tokens = client, world, {}

    def __call__(self, method: str, who: str, path: str, body: Any = None) -> Any:
        if who != "anonymous" and who not in self.tokens:
            self.tokens[who] = self.world.headers(who)
        r = self.client.request(method, path, json=body, headers=self.tokens.get(who, {}))
        assert r.status_code < 500, (method, path, who, r.text)
        no_leak(r.content.decode("utf-8", "replace"), SAFE_ITEMS)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"]
        return r


def expect(name: str, got: dict[str, int], allowed: set[str], ok: tuple[int, ...] = (200,),
           denied: tuple[int, ...] = (403, 404)) -> None:
    wrong = {}
    for who, code in got.items():
        if who == "anonymous" and "anonymous" not in allowed:
            good = code == 401
        elif who in allowed:
            good = code in ok
        else:
            good = code in denied
        if not good:
            wrong[who] = code
    assert wrong == {}, (name, wrong)


def _request(call: Caller, who: str, rid: int) -> int:
    body = {"resource": rid, "items": ["姓名"], "mode": "接口", "purpose": "核对", "basis": "履行法定职责",
            "scenario": "窗口", "period_from": TODAY.isoformat(), "period_to": (TODAY + timedelta(days=9)).isoformat()}
    r = call("POST", who, "/api/v1/share-requests", body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_share_request_endpoints_own_and_other_org(client, share):
    call = Caller(client, share.world)
    reqs = {"market": _request(call, "consumer", share.rid), "city_police": _request(call, "city_steward", share.rid)}
    for org, req in reqs.items():
        readers = ORG_USERS[org] | PROVIDER_SIDE | {"auditor"}
        got = {who: call("GET", who, f"/api/v1/share-requests/{req}").status_code for who in ROLES}
        expect(f"get {org}", got, readers, denied=(404,))
        # the provider's step: its approver only (the authority only once overdue)
        got = {who: call("POST", who, f"/api/v1/share-requests/{req}/decide",
                         {"decision": "approve", "reason": "同意"}).status_code
               for who in ROLES if who != "police_approver"}
        expect(f"decide {org}", got, set(), denied=(403, 404))
        got = {who: call("POST", who, f"/api/v1/share-requests/{req}/withdraw").status_code
               for who in ROLES if who not in ORG_USERS[org]}
        expect(f"withdraw {org}", got, set())
        who = sorted(ORG_USERS[org])[0]
        assert call("POST", who, f"/api/v1/share-requests/{req}/withdraw").json()["state"] == "已撤回"
    # each sees only the requests it may read
    for who in ROLES:
        r = call("GET", who, "/api/v1/share-requests")
        if who == "anonymous":
            assert r.status_code == 401
            continue
        ids = {x["id"] for x in r.json()["items"]}
        assert ids == {i for org, i in reqs.items() if who in ORG_USERS[org] | PROVIDER_SIDE | {"auditor"}}, who


def test_grant_and_data_endpoints_own_and_other_org(client, share):
    from yibenzhang.jobs import Worker

    w = share.world
    call = Caller(client, w)
    grants = {org: {"rows": issue(share, org=org, items=sorted(SAFE_ITEMS)),
                    "verify": issue(share, org=org, mode="核验", items=["公民身份号码", "姓名"]),
                    "file": issue(share, org=org, mode="文件", items=sorted(SAFE_ITEMS))} for org in ORG_USERS}
    deliveries = {}
    for org, g in grants.items():
        r = call("POST", sorted(DATA_USERS[org])[0], f"/api/v1/grants/{g['file']}/deliveries", {"format": "csv"})
        assert r.status_code == 202
        deliveries[org] = r.json()["id"]
    Worker(w.db, run_tickers=False).run(once=True)

    for org, g in grants.items():
        see = ORG_USERS[org] | PROVIDER_SIDE | {"auditor"}
        users = DATA_USERS[org]
        got = {who: call("GET", who, f"/api/v1/grants/{g['rows']}").status_code for who in ROLES}
        expect(f"show {org}", got, see, denied=(404,))
        got = {who: call("GET", who, f"/api/v1/grants/{g['rows']}/rows").status_code for who in ROLES}
        expect(f"rows {org}", got, users)
        claim = {"key": {"公民身份号码": ROWS["公民身份号码"][0]}, "claims": {"姓名": "欧阳娜娜"}}
        got = {who: call("POST", who, f"/api/v1/grants/{g['verify']}/verify", claim).status_code for who in ROLES}
        expect(f"verify {org}", got, users)
        got = {who: call("POST", who, f"/api/v1/grants/{g['file']}/deliveries", {"format": "parquet"}).status_code
               for who in ROLES}
        expect(f"deliver {org}", got, users, ok=(202,))
        got = {who: call("GET", who, f"/api/v1/deliveries/{deliveries[org]}").status_code for who in ROLES}
        expect(f"delivery status {org}", got, see, denied=(404,))
        # download once: everybody else is refused first, then the grantee takes it, then it is gone
        path = f"/api/v1/deliveries/{deliveries[org]}/download"
        got = {who: call("GET", who, path).status_code for who in ROLES if who not in users}
        expect(f"download {org}", got, set())
        grantee = sorted(users)[0]
        assert call("GET", grantee, path).status_code == 200
        assert call("GET", grantee, path).status_code == 410
        # revoke: the provider side only, each on a fresh grant of this org
        for who in ROLES:
            gid = issue(share, org=org, items=["姓名"])
            code = call("POST", who, f"/api/v1/grants/{gid}/revoke", {"reason": "职责调整"}).status_code
            expect(f"revoke {org}", {who: code}, PROVIDER_SIDE)

    # issue: the provider side only
    body = {"consumer_org_id": w.orgs["market"].id, "resource_id": share.rid, "items": ["姓名"], "mode": "接口",
            "valid_from": TODAY.isoformat(), "valid_to": (TODAY + timedelta(days=5)).isoformat()}
    got = {who: call("POST", who, "/api/v1/grants", body).status_code for who in ROLES}
    expect("issue", got, PROVIDER_SIDE, ok=(201,))

    # lists and usage: everyone signed in, each sees only the grants of its own side
    market, city = set(grants["market"].values()), set(grants["city_police"].values())
    for who in ROLES:
        listed = call("GET", who, "/api/v1/grants")
        usage = call("GET", who, "/api/v1/share-usage")
        if who == "anonymous":
            assert listed.status_code == usage.status_code == 401
            continue
        ids = {g["id"] for g in listed.json()}
        used = {g["grant_id"] for g in usage.json()["grants"]}
        want_market = who in ORG_USERS["market"] | PROVIDER_SIDE | {"auditor"}
        want_city = who in ORG_USERS["city_police"] | PROVIDER_SIDE | {"auditor"}
        assert (market <= ids, city <= ids) == (want_market, want_city), who
        assert (bool(market & ids), bool(city & ids)) == (want_market, want_city), who
        assert (market <= used, city <= used) == (want_market, want_city), who
        for other in ("market", "city_police"):
            g = grants[other]["rows"]
            r = call("GET", who, f"/api/v1/share-usage?grant_id={g}")
            assert bool(r.json()["grants"]) == (who in ORG_USERS[other] | PROVIDER_SIDE | {"auditor"}), (who, other)

    # seals: anyone, signed in or not, may verify
    got = {who: call("POST", who, "/api/v1/seals/verify", {"content": {}, "seal": {}}).status_code for who in ROLES}
    expect("seal verify", got, set(ROLES))


def test_console_pages_never_fail(client, share, signed_in):
    """Every sharing page for every role that can sign in: a page or a clear refusal, never a 500."""
    gid = issue(share, mode="文件", items=["姓名"])
    pages = ["/console/share", "/console/share?tab=todo", "/console/share?tab=overdue", "/console/share/usage",
             f"/console/share/grants/{gid}", "/console/share/deliveries/999/download", "/console/share/999"]
    for who in USERS:
        client.cookies.clear()
        signed_in(who)
        for path in pages:
            r = client.get(path)
            assert r.status_code < 500, (who, path, r.text)
            assert r.status_code in (200, 404), (who, path, r.status_code)
            no_leak(r.text, SAFE_ITEMS)
        page = client.get(f"/console/share/grants/{gid}")
        assert (page.status_code == 200) == (who in ORG_USERS["market"] | PROVIDER_SIDE | {"auditor"}), who


def test_console_json_endpoints(client, share):
    w = share.world
    call = Caller(client, w)
    gids = {org: issue(share, org=org, items=sorted(SAFE_ITEMS)) for org in ORG_USERS}
    files = {org: issue(share, org=org, mode="文件", items=["姓名"]) for org in ORG_USERS}
    for org, gid in gids.items():
        for params in ({}, {"filter.公民身份号码": "x"}):
            r = client.get(f"/api/v1/grants/{gid}/rows", params=params, headers=w.headers(sorted(DATA_USERS[org])[0]))
            assert r.status_code in (200, 400)
        call("POST", sorted(DATA_USERS[org])[0], f"/api/v1/grants/{files[org]}/deliveries", {"format": "csv"})
    for who in ROLES:
        r = call("GET", who, "/api/v1/share-usage/series?by=grant&days=7")
        if who == "anonymous":
            assert r.status_code == 401
            continue
        body = r.json()
        assert len(body["days"]) == 7 and body["days"][-1] == TODAY.isoformat()
        keys = {x["key"] for x in body["series"]}
        for org, gid in gids.items():
            sees = who in ORG_USERS[org] | PROVIDER_SIDE | {"auditor"}
            assert (gid in keys) == sees, (who, org)
            if sees:
                x = next(x for x in body["series"] if x["key"] == gid)
                assert x["data"][-1] == x["calls"] == 2 and x["refused"] == 1
        by_org = call("GET", who, "/api/v1/share-usage/series?by=org").json()
        assert by_org["calls"] == body["calls"]
        for org, gid in files.items():
            got = call("GET", who, f"/api/v1/grants/{gid}/deliveries")
            sees = who in ORG_USERS[org] | PROVIDER_SIDE | {"auditor"}
            assert got.status_code == (200 if sees else 404), (who, org, got.text)
            if sees:
                assert [d["status"] for d in got.json()] == ["排队"]
    for bad in ("by=year", "days=0", "days=400"):
        r = call("GET", "consumer", f"/api/v1/share-usage/series?{bad}")
        assert r.status_code == 422, (bad, r.text)
