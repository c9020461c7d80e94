"""一人一档 (issue 21 item 4): the permission matrix (roles × own/other org × granted/ungranted
items) over HTTP; only granted items, masked by the 共享 policy for their grades, with provenance;
every look-up in the access log without the key; rate limited; never in the open portal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD
from tests.library.conftest import A15, A
from yibenzhang import workdays
from yibenzhang.access import Actor
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.library import run
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec
from yibenzhang.share import grants as G

GRANTED = ["公民身份号码", "姓名", "出生日期", "户籍地址"]  # 户籍地址 stays ungraded: withheld (fail closed)
GRADES = {"公民身份号码": "一般-4级", "姓名": "一般-3级", "出生日期": "一般-3级", "联系电话": "一般-3级"}


@pytest.fixture
def db(sqlite_db):
    """The matrix is about permissions, not the store: SQLite only (the library's store tests
    run on both)."""
    return sqlite_db


@pytest.fixture
def granted(lib):
    w = lib.world
    run.fuse(w.db, Actor.system(), lib.library)
    with w.db.write() as s:
        for item in s.execute(select(ResourceItem).where(ResourceItem.resource_id == lib.library)).scalars():
            item.grade = GRADES.get(item.name, item.grade)
        today = workdays.today()
        grant = G.issue_grant(s, Actor.system(), request_id=None, consumer_org_id=w.orgs["market"].id,
                              resource_id=lib.library, items=GRANTED, mode="接口", row_scope=None,
                              valid_from=today, valid_to=today + timedelta(days=30), rate_limit_per_minute=20)
        user = orgs.create_user(s, Actor.system(), username="hospital_consumer", display_name="hc",
                                password=PASSWORD, roles=[RoleSpec("数据使用方", w.orgs["hospital"].uscc, None)])
        w.actors["hospital_consumer"] = orgs.actor_for(s, user)
        grant_id = grant.id
    G.BUCKETS.reset()
    return lib, grant_id


ROLES = {  # username: (what they are, allowed)
    "consumer": ("consumer of the grant's org", True),
    "hospital_consumer": ("consumer of another org", False),
    "market_steward": ("steward of the grant's org (not a consumer)", False),
    "police_steward": ("steward of a source org", False),
    "reviewer": ("the authority's reviewer", False),
    "admin": ("platform admin", False),
    "auditor": ("auditor", False),
    "citizen": ("the public", False),
}


MATRIX_ITEMS = {"all": None, "granted": ["姓名"], "ungranted": ["姓名", "联系电话"]}


def test_permission_matrix(granted, client) -> None:
    """Every role × own/other org × granted/ungranted items: only the grant's org's consumers
    read, only granted items, masked; nothing else leaks (one world for the whole matrix)."""
    lib, grant_id = granted
    w = lib.world
    headers = {user: w.headers(user) for user in ROLES}
    for user, (what, allowed) in ROLES.items():
        for case, items in MATRIX_ITEMS.items():
            body = {"grant_id": grant_id, "key": A15} | ({"items": items} if items else {})
            res = client.post(f"/api/v1/libraries/{lib.library}/record", json=body, headers=headers[user])
            check(lib, res, allowed, items, f"{what} / {case}")


def check(lib, res, allowed: bool, items: list[str] | None, case: str) -> None:
    if not allowed:
        assert res.status_code == 403 and res.json()["code"] == "grant_wrong_org", case
        assert "张三" not in res.text and A not in res.text, case
        return
    if items and "联系电话" in items:
        assert res.status_code == 422, case
        assert res.json()["errors"][0]["code"] == "item_not_granted" and "张三" not in res.text, case
        return
    assert res.status_code == 200, (case, res.text)
    got = res.json()
    assert set(got["values"]) <= set(GRANTED) and "联系电话" not in res.text, case
    if items is None:
        # 4级 ID: encrypted for the receiving department; 3级 name and birth date: clear; ungraded: withheld
        assert set(got["values"]) == {"公民身份号码", "姓名", "出生日期"} and got["withheld"] == ["户籍地址"]
        assert got["values"]["公民身份号码"] != A and A not in res.text and A15 not in res.text
        assert got["masking"]["公民身份号码"] == "sm4"
        assert got["values"]["出生日期"] == "1990-03-07"
    assert got["values"]["姓名"] == "张三", case
    prov = got["provenance"]["姓名"]
    assert prov["resource_id"] == lib.sources[0] and prov["resource_code"] == lib.codes[0], case
    assert prov["batch_id"] and prov["collected_at"], case


def test_lookups_logged_rate_limited_never_open(granted, client) -> None:
    lib, grant_id = granted
    w = lib.world
    h = w.headers("consumer")
    url = f"/api/v1/libraries/{lib.library}/record"
    assert client.post(url, json={"grant_id": grant_id, "key": A}, headers=h).status_code == 200
    missing = client.post(url, json={"grant_id": grant_id, "key": "110101200001010016"}, headers=h)
    assert missing.status_code in (404, 422)
    bad = client.post(url, json={"grant_id": grant_id, "key": "12345"}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "key_format"
    with w.db.read() as s:
        events = [json.loads(e.content) for e in s.execute(select(LedgerEvent).where(
            LedgerEvent.action == "data.read")).scalars()]
    mine = [e for e in events if e.get("exit") == "library.record"]
    assert len(mine) == 3 and mine[0]["items"] and mine[0]["rows"] == 1
    assert all(A not in json.dumps(e, ensure_ascii=False) for e in mine)
    assert mine[0]["subject"] and mine[0]["subject"] != A
    # rate limit: at most the grant's (or the 核验) per-minute limit
    codes = [client.post(url, json={"grant_id": grant_id, "key": A}, headers=h).status_code for _ in range(25)]
    assert 429 in codes
    # never in the open portal / CKAN API
    assert lib.codes and client.get("/api/3/action/package_list").status_code == 200
    with w.db.read() as s:
        from yibenzhang.catalog.model import Resource

        assert s.get(Resource, lib.library).open_type == "不予开放"
    listed = client.get("/api/3/action/package_list").text
    with w.db.read() as s:
        from yibenzhang.catalog.model import Resource

        assert s.get(Resource, lib.library).code not in listed
