"""The acceptance story of issue 5, over HTTP on both backends, in one place.

Three orgs: the provincial police (provider), the city police (city consumer) and the county
civil-affairs bureau (county consumer). Walked in order: unconditional (granted at once, sealed,
rows of the city's own region), conditional approved (two steps, 回流 scope, sensitive item masked)
and refused (at either step), not shareable (refused at once with the basis), expiry (the clock
moves past the grant's last day), revocation, verification (match / no-match per field, never the
stored value) and file delivery. EVERY response is kept and scanned: no protected value in clear,
no value of an item nobody was granted, and no row response naming an item outside its grant.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest

from yibenzhang import workdays
from yibenzhang.share import grants as G

from .test_grants import ITEMS, PROTECTED, ROWS, share_fixture  # noqa: F401  (the `share` fixture)

TODAY = workdays.today()
# Granted in clear somewhere in the story (so they may appear); everything else never leaves in clear.
CLEAR_OK = {"姓名", "行政区划代码"}
NEVER = [*PROTECTED, *ROWS["公民身份号码"]]  # sensitive, ungraded and the key item (verification only)
COUNTY_NAMES = {n for n, code in zip(ROWS["姓名"], ROWS["行政区划代码"], strict=True) if code == "990101"}
CITY_NAMES = {n for n, code in zip(ROWS["姓名"], ROWS["行政区划代码"], strict=True) if code.startswith("9901")}


def graded_resource(world: Any, share_type: str, **overrides: Any) -> int:
    """A published police resource with the share fixture's items, grades and six rows."""
    from tests.factories import published
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.catalog.schemas import ItemIn
    from yibenzhang.classify.model import ClassificationDecision
    from yibenzhang.collect.pipeline import ingest_arrow

    items = [ItemIn(name=n, data_type=t, length=50, is_key=(n == "公民身份号码")) for n, t, _, _ in ITEMS]
    rid = published(world, name=overrides.pop("name", "人口共享信息"), share_type=share_type, items=items, **overrides)
    if share_type == "不予共享":
        return rid
    ingest_arrow(world.db, world.actor("police_steward"), rid, [pa.RecordBatch.from_pydict(ROWS)],
                 source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            _, _, grade, cats = next(i for i in ITEMS if i[0] == item.name)
            item.grade = grade
            if grade:
                s.add(ClassificationDecision(item_id=item.id, resource_id=rid, kind="调整", grade=grade,
                                             categories=cats, reason="test", decided_by="police_steward"))
    return rid


class Story:
    """Every HTTP call of the story goes through here: status < 500 and the leak scan, always."""

    def __init__(self, client: Any, world: Any) -> None:
        self.client, self.world = client, world
        self.headers: dict[str, dict[str, str]] = {}
        self.seen: list[tuple[str, str, int, str]] = []

    def call(self, method: str, who: str | None, path: str, body: Any = None, **params: Any) -> Any:
        if who and who not in self.headers:
            self.headers[who] = self.world.headers(who)
        r = self.client.request(method, path, json=body, params=params or None,
                                headers=self.headers.get(who or "", {}))
        assert r.status_code < 500, (path, r.text)
        text = r.content.decode("utf-8", "replace")
        for value in NEVER:
            assert value not in text, (path, value)
        self.seen.append((method, path, r.status_code, text))
        return r

    def request(self, who: str, rid: int, items: list[str], mode: str = "接口", **extra: Any) -> dict[str, Any]:
        body = {"resource": rid, "items": items, "mode": mode, "purpose": "基层治理", "basis": "履行法定职责",
                "scenario": "网格化管理", "period_from": TODAY.isoformat(),
                "period_to": (TODAY + timedelta(days=60)).isoformat(), **extra}
        r = self.call("POST", who, "/api/v1/share-requests", body)
        assert r.status_code == 201, r.text
        return r.json()

    def decide(self, who: str, req_id: int, decision: str, reason: str = "履职需要") -> dict[str, Any]:
        r = self.call("POST", who, f"/api/v1/share-requests/{req_id}/decide", {"decision": decision, "reason": reason})
        assert r.status_code == 200, r.text
        return r.json()

    def rows(self, who: str, grant_id: int, granted: set[str], **params: Any) -> Any:
        r = self.call("GET", who, f"/api/v1/grants/{grant_id}/rows", **params)
        if r.status_code == 200:
            body = r.json()
            assert set(body["items"]) <= granted and all(set(row) <= granted for row in body["rows"])
            for name in {n for n, *_ in ITEMS} - granted:  # an ungranted item is not even named
                assert name not in r.text, (name, r.text)
        return r


@pytest.fixture(autouse=True)
def _fresh_buckets():
    G.BUCKETS.reset()
    yield
    G.BUCKETS.reset()


def test_the_whole_sharing_story(client, share, monkeypatch):
    w = share.world
    st = Story(client, w)
    conditional = share.rid  # the fixture's police resource: 有条件共享, graded, six rows
    unconditional = graded_resource(w, "无条件共享", share_condition=None, name="人口公开共享信息")
    closed = graded_resource(w, "不予共享", share_condition=None, share_basis="《某某条例》第十条",
                             name="涉密人口信息")

    # 1. Unconditional: granted at once, sealed by the provider; the city gets its own region's rows.
    req = st.request("city_consumer", unconditional, ["姓名", "行政区划代码"])
    assert req["state"] == "已批准" and req["grant_id"] and req["region_scope"] == "990100"
    assert req["decisions"][0]["step"] == "无条件共享"
    check = st.call("POST", None, "/api/v1/seals/verify", req["seal"]).json()
    assert check["valid"] is True and check["org_name"] == "云岭省公安厅"
    r = st.rows("city_consumer", req["grant_id"], {"姓名", "行政区划代码"})
    assert r.status_code == 200 and {x["姓名"] for x in r.json()["rows"]} == CITY_NAMES
    assert {x["行政区划代码"][:4] for x in r.json()["rows"]} == {"9901"}

    # 2. Conditional, approved: provider's approver, then the authority; 回流 to the county's own code.
    granted = {"姓名", "宗教信仰", "行政区划代码"}
    req = st.request("county_consumer", conditional, sorted(granted), extra_items_reason="核对宗教事务备案")
    assert req["state"] == "待提供方审批" and req["region_scope"] == "990101" and req["step_due"]
    # the consumer cannot decide; the authority cannot skip the provider's step while it is on time
    for who in ("county_consumer", "reviewer"):
        r = st.call("POST", who, f"/api/v1/share-requests/{req['id']}/decide", {"decision": "批准", "reason": "x"})
        assert r.status_code == 403, r.text
    todo = st.call("GET", "police_approver", "/api/v1/share-requests", view="to_decide").json()
    assert req["id"] in {x["id"] for x in todo["items"]}
    assert st.decide("police_approver", req["id"], "批准")["state"] == "待主管部门审核"
    approved = st.decide("reviewer", req["id"], "批准")
    assert approved["state"] == "已批准" and [d["step"] for d in approved["decisions"]] == [
        "待提供方审批", "待主管部门审核"]
    assert st.call("POST", None, "/api/v1/seals/verify", approved["seal"]).json()["valid"] is True
    tampered = {**approved["seal"], "content": {**approved["seal"]["content"], "items": ["公民身份号码"]}}
    assert st.call("POST", None, "/api/v1/seals/verify", tampered).json()["valid"] is False
    county_grant = approved["grant_id"]
    grant = st.call("GET", "county_consumer", f"/api/v1/grants/{county_grant}").json()
    assert grant["row_scope"] == {"region_code": "990101"} and set(grant["items"]) == granted
    body = st.rows("county_consumer", county_grant, granted).json()
    assert {x["姓名"] for x in body["rows"]} == COUNTY_NAMES  # 回流: the county's own rows only
    assert body["masking"]["宗教信仰"] == "sm4"
    # a filter cannot widen the scope, an ungranted or masked item cannot be filtered on
    assert st.rows("county_consumer", county_grant, granted, **{"filter.行政区划代码": "990201"}).json()["rows"] == []
    for item, code in (("公民身份号码", "filter_not_granted"), ("宗教信仰", "filter_masked")):
        r = st.rows("county_consumer", county_grant, granted, **{f"filter.{item}": "x"})
        assert (r.status_code, r.json()["code"]) == (400, code)
    # the grant is the county's: the city consumer and the provider cannot take rows through it
    for who in ("city_consumer", "police_approver"):
        assert st.rows(who, county_grant, granted).status_code in (403, 404)

    # 3. Conditional, refused: at the provider's step and at the authority's, always with a reason.
    first = st.request("city_consumer", conditional, ["姓名"])
    refused = st.decide("police_approver", first["id"], "拒绝", "用途与职责不符")
    assert refused["state"] == "已拒绝" and refused["grant_id"] is None and refused["seal"] is None
    second = st.request("city_consumer", conditional, ["行政区划代码"])
    st.decide("police_approver", second["id"], "批准")
    refused = st.decide("reviewer", second["id"], "拒绝", "已有替代数据来源")
    assert refused["state"] == "已拒绝" and refused["decisions"][-1]["reason"] == "已有替代数据来源"
    assert refused["grant_id"] is None
    shown = st.call("GET", "city_consumer", f"/api/v1/share-requests/{second['id']}").json()
    assert {x["id"] for x in shown["related"]} >= {first["id"]}  # one org's requests for one resource together

    # 4. Not shareable: refused at once, the basis given.
    closed_req = st.request("city_consumer", closed, ["姓名"])
    assert closed_req["state"] == "已拒绝" and closed_req["grant_id"] is None
    assert "《某某条例》第十条" in closed_req["decisions"][0]["reason"]

    # 5. Expiry: a grant whose period ends today serves today and refuses tomorrow, clearly.
    short = st.request("city_consumer", conditional, ["姓名", "行政区划代码"], period_to=TODAY.isoformat())
    st.decide("police_approver", short["id"], "批准")
    short_grant = st.decide("reviewer", short["id"], "批准")["grant_id"]
    assert st.rows("city_consumer", short_grant, {"姓名", "行政区划代码"}).status_code == 200

    with monkeypatch.context() as m:
        m.setattr(workdays, "today", lambda: TODAY + timedelta(days=1))  # the one clock, a day on
        r = st.rows("city_consumer", short_grant, {"姓名", "行政区划代码"})
        assert (r.status_code, r.json()["code"]) == (403, "grant_expired")
        assert TODAY.isoformat() in r.json()["detail"] and "重新申请" in r.json()["detail"]
        assert st.call("GET", "city_consumer", f"/api/v1/grants/{short_grant}").json()["status"] == "已过期"

    # 6. Verification: match / no-match per field, a key outside the county's scope finds nothing.
    ver = st.request("county_consumer", conditional, ["公民身份号码", "姓名"], mode="核验")
    st.decide("police_approver", ver["id"], "批准")
    ver_grant = st.decide("reviewer", ver["id"], "批准")["grant_id"]
    path = f"/api/v1/grants/{ver_grant}/verify"
    inside, outside = ROWS["公民身份号码"][0], ROWS["公民身份号码"][4]  # 990101 / 990201 rows
    ok = st.call("POST", "county_consumer", path, {"key": {"公民身份号码": inside}, "claims": {"姓名": "欧阳娜娜"}})
    assert ok.json()["match"] == {"姓名": True}
    wrong = st.call("POST", "county_consumer", path, {"key": {"公民身份号码": inside}, "claims": {"姓名": "张三"}})
    assert wrong.json()["match"] == {"姓名": False} and "欧阳娜娜" not in wrong.text
    far = st.call("POST", "county_consumer", path, {"key": {"公民身份号码": outside}, "claims": {"姓名": "赵强"}})
    assert far.json()["match"] == {"姓名": False}
    bad = st.call("POST", "county_consumer", path, {"key": {"公民身份号码": inside}, "claims": {"宗教信仰": "佛教"}})
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (422, "item_not_granted")
    assert st.rows("county_consumer", ver_grant, set()).json()["code"] == "grant_mode"

    # 7. File delivery under an unconditional grant: produced by a job, downloadable once.
    from yibenzhang.jobs import Worker

    file_req = st.request("city_consumer", unconditional, ["姓名", "宗教信仰"], mode="文件",
                          extra_items_reason="核对宗教事务备案")
    d = st.call("POST", "city_consumer", f"/api/v1/grants/{file_req['grant_id']}/deliveries", {"format": "csv"})
    assert d.status_code == 202, d.text
    Worker(w.db, run_tickers=False).run(once=True)
    got = st.call("GET", "city_consumer", f"/api/v1/deliveries/{d.json()['id']}/download")
    assert got.status_code == 200 and got.text.splitlines()[0] == '"姓名","宗教信仰"'
    assert {line.split(",")[0].strip('"') for line in got.text.splitlines()[1:]} == CITY_NAMES
    assert st.call("GET", "city_consumer", f"/api/v1/deliveries/{d.json()['id']}/download").status_code == 410

    # 8. Revocation: the provider revokes with a reason; the next call is refused (no stale cache).
    r = st.call("POST", "police_approver", f"/api/v1/grants/{county_grant}/revoke", {"reason": "职责调整"})
    assert r.status_code == 200 and r.json()["status"] == "已撤销"
    r = st.rows("county_consumer", county_grant, granted)
    assert (r.status_code, r.json()["code"]) == (403, "grant_revoked")

    # Usage: per grant and org, counted without values; the ledger holds no personal value either.
    usage = st.call("GET", "county_consumer", "/api/v1/share-usage").json()
    per = {g["grant_id"]: g for g in usage["grants"]}
    assert per[county_grant]["calls"] >= 4 and per[ver_grant]["by_kind"].get("verify", 0) >= 3
    assert st.call("GET", "city_consumer", "/api/v1/share-usage", grant_id=county_grant).json()["grants"] == []
    from yibenzhang.ledger.model import LedgerEvent

    with w.db.read() as s:
        dump = json.dumps([e.content for e in s.query(LedgerEvent).all()], ensure_ascii=False)
    for values in ROWS.values():
        for v in values:
            if v not in ("990101", "990100", "990102", "990201"):  # division codes are scopes, not personal
                assert v not in dump, v
    assert len(st.seen) >= 45
