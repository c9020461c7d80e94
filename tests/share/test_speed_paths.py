"""The data service's fast paths give exactly the answers of the per-call DuckDB query (both
backends): in-memory row snapshots (pages, filters, cursors, 回流 scope, masking), digest
snapshots for verification (normalisation, unknown keys, scope), invalidation when a batch is
published, and the cached actor/grant never outliving a revocation."""

from __future__ import annotations

import pyarrow as pa
import pytest

from yibenzhang.errors import DomainError
from yibenzhang.share import grants as G
from yibenzhang.share import service_rows as SR
from yibenzhang.share import snapshot
from yibenzhang.share import verify as V

from .test_grants import ROWS, issue, share_fixture  # noqa: F401  (the `share` fixture)

SM4 = "宗教信仰"  # encrypted with a fresh IV per value: equal shape, never equal text


def shape_of(share, gid):
    w = share.world
    with w.db.read() as s:
        return SR.shape(s, s.get(G.Grant, gid))


def all_pages(fetch, sh, filters, limit):
    out, after = [], None
    while True:
        names, rows = fetch(sh, filters, limit, after)
        out.append((names, rows))
        if len(rows) < limit:
            return out
        after = f"{rows[-1][-2]}.{rows[-1][-1]}"


def comparable(pages):
    out = []
    for names, rows in pages:
        keep = [i for i, n in enumerate(names) if n != SM4]
        out.append(([names[i] for i in keep], [tuple(r[i] for i in keep) for r in rows]))
    return out


FILTERS = [{}, {"行政区划代码": "990101"}, {"行政区划代码": "990201"}, {"行政区划代码": "990101", "姓名": "张伟"},
           {"姓名": "无此人"}]


@pytest.mark.parametrize("scope", [None, {"region_code": "990100"}, {"region_code": "990101"}])
def test_snapshot_pages_equal_query_pages(share, scope):
    org = "city_police" if scope else "market"
    gid = issue(share, org=org, items=["姓名", "宗教信仰", "行政区划代码", "内部备注"], scope=scope)
    sh = shape_of(share, gid)
    assert sh.snapshot_ok
    for filters in FILTERS:
        for limit in (1, 2, 4, 100):
            fast = all_pages(SR.query_page, sh, filters, limit)
            slow = all_pages(SR.query_page_sql, sh, filters, limit)
            assert comparable(fast) == comparable(slow), (limit, filters, scope)
            i = fast[0][0].index(SM4)
            for (_, f), (_, q) in zip(fast, slow, strict=True):
                assert [r[i] is None for r in f] == [r[i] is None for r in q]
                assert not {r[i] for r in f} & set(ROWS[SM4])


def test_snapshot_refuses_what_the_query_refuses(share):
    gid = issue(share, items=["姓名", "宗教信仰", "行政区划代码"])
    sh = shape_of(share, gid)
    for filters, code in (({"公民身份号码": "x"}, "filter_not_granted"), ({SM4: "佛教"}, "filter_masked")):
        with pytest.raises(DomainError) as exc:
            SR.query_page(sh, filters, 10, None)
        assert exc.value.code == code
    with pytest.raises(DomainError) as exc:
        SR.query_page(sh, {}, 10, "x.y")
    assert exc.value.code == "cursor_invalid"
    with pytest.raises(DomainError) as exc:
        SR._typed("BIGINT", "not a number", "登记序号")
    assert exc.value.code == "filter_value_invalid"
    assert SR._typed("BIGINT", "42", "登记序号") == 42


def test_a_published_batch_is_served_at_once(client, share):
    from yibenzhang.collect.pipeline import ingest_arrow

    w = share.world
    gid = issue(share, items=["姓名", "行政区划代码"])
    h = w.headers("consumer")
    first = client.get(f"/api/v1/grants/{gid}/rows", params={"limit": 100}, headers=h).json()
    assert len(first["rows"]) == 6
    extra = {k: [v[0]] for k, v in ROWS.items()}
    extra["公民身份号码"] = ["990101200101010055"]
    extra["姓名"] = ["新来者"]
    ingest_arrow(w.db, w.actor("police_steward"), share.rid, [pa.RecordBatch.from_pydict(extra)],
                 source={"kind": "test"}, mode="追加")
    after = client.get(f"/api/v1/grants/{gid}/rows", params={"limit": 100}, headers=h).json()
    assert [r["姓名"] for r in after["rows"]] == [*ROWS["姓名"], "新来者"]


def test_revocation_is_effective_with_everything_cached(client, share):
    w = share.world
    gid = issue(share, items=["姓名"])
    h = w.headers("consumer")
    for _ in range(3):  # warm every cache (token, grant, snapshot)
        assert client.get(f"/api/v1/grants/{gid}/rows", headers=h).status_code == 200
    with w.db.write() as s:
        G.revoke_grant(s, w.actor("police_approver"), gid, "职责调整")
    r = client.get(f"/api/v1/grants/{gid}/rows", headers=h)
    assert (r.status_code, r.json()["code"]) == (403, "grant_revoked")


def test_token_revocation_is_effective_with_everything_cached(client, share):
    from yibenzhang.orgs import service as orgs
    from yibenzhang.orgs.model import ApiToken

    w = share.world
    gid = issue(share, items=["姓名"])
    with w.db.write() as s:
        token, raw = orgs.create_token(s, w.actor("admin"), username="consumer")
        tid = token.id
    h = {"Authorization": f"Bearer {raw}"}
    for _ in range(3):
        assert client.get(f"/api/v1/grants/{gid}/rows", headers=h).status_code == 200
    with w.db.write() as s:
        orgs.revoke_token(s, w.actor("admin"), tid)
        assert s.get(ApiToken, tid).revoked_at is not None
    r = client.get(f"/api/v1/grants/{gid}/rows", headers=h)
    assert (r.status_code, r.json()["code"]) == (401, "bad_token")


CLAIMS = [
    ({"公民身份号码": "990101199003071234"}, {"姓名": "欧阳娜娜", SM4: "佛教"}),
    ({"公民身份号码": " 990101199003071234\u3000"}, {"姓名": "\u3000欧阳娜娜 ", SM4: "道教"}),
    ({"公民身份号码": "\t990101199003071234"}, {"姓名": "欧阳娜娜"}),
    ({"公民身份号码": "000000000000000000"}, {"姓名": "欧阳娜娜"}),
    ({"公民身份号码": "990201199912120033", "行政区划代码": "990201"}, {"姓名": "赵强", SM4: "基督教"}),
    ({"公民身份号码": "990201199912120033", "行政区划代码": "990101"}, {"姓名": "赵强"}),
    ({"行政区划代码": "990101"}, {"姓名": "张伟", SM4: "佛教"}),  # two rows: any of them matches
    ({"行政区划代码": 990101}, {"姓名": "张伟"}),
]


@pytest.mark.parametrize("scope", [None, {"region_code": "990101"}])
def test_verification_snapshot_equals_the_query(share, monkeypatch, scope):
    w = share.world
    org = "county_civil" if scope else "market"
    who = "county_consumer" if scope else "consumer"
    gid = issue(share, org=org, mode="核验", items=["公民身份号码", "姓名", SM4, "行政区划代码"], scope=scope)
    fast = [V.verify(w.db, w.actor(who), gid, k, c)["match"] for k, c in CLAIMS]
    assert snapshot.STATS["built"] >= 1
    monkeypatch.setenv("YBZ_SHARE_SNAPSHOTS", "off")
    slow = [V.verify(w.db, w.actor(who), gid, k, c)["match"] for k, c in CLAIMS]
    assert fast == slow
    if scope is None:
        assert fast[0] == {"姓名": True, SM4: True} and fast[1] == {"姓名": True, SM4: False}
        assert fast[3] == {"姓名": False} and fast[6] == {"姓名": True, SM4: True}


def test_snapshot_cache_is_bounded_and_shared(share, monkeypatch):
    same = [issue(share, items=["姓名", "行政区划代码"]) for _ in range(2)]
    snapshot.clear()
    for gid in same:  # no keyed operator: two grants of the same shape share one snapshot
        SR.query_page(shape_of(share, gid), {}, 2, None)
    assert len(snapshot._cache) == 1
    one = next(iter(snapshot._cache.values())).nbytes
    monkeypatch.setattr(snapshot, "MAX_BYTES", int(one * 2.5))
    evicted = snapshot.STATS["evicted"]
    for items in (["姓名"], ["行政区划代码"], ["姓名", "宗教信仰"]):
        SR.query_page(shape_of(share, issue(share, items=items)), {}, 2, None)
    assert len(snapshot._cache) <= 3 and snapshot.STATS["evicted"] > evicted


def test_large_resources_use_the_query(share, monkeypatch):
    gid = issue(share, items=["姓名", "行政区划代码"])
    monkeypatch.setattr(snapshot, "MAX_ROWS", 3)
    sh = shape_of(share, gid)
    assert not sh.snapshot_ok
    snapshot.clear()
    _, rows = SR.query_page(sh, {"行政区划代码": "990101"}, 10, None)
    assert [r[0] for r in rows] == ["欧阳娜娜", "张伟"] and not snapshot._cache


def test_fast_path_answers_exactly_as_the_routes(share):
    """share.fastpath (dispatch ahead of the router, wired by api.create_app) gives the routes'
    statuses and bodies: compared with the same app with the middleware taken out."""
    from fastapi.testclient import TestClient

    from yibenzhang.api import create_app
    from yibenzhang.share.fastpath import DataServiceFastPath

    w = share.world
    app = create_app()
    assert any(m.cls is DataServiceFastPath for m in app.user_middleware)
    plain = create_app()
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not DataServiceFastPath]
    client = TestClient(plain)
    rows_g = issue(share, items=["姓名", "行政区划代码", "内部备注"])
    verify_g = issue(share, mode="核验", items=["公民身份号码", "姓名"])
    h = w.headers("consumer")
    key = {"公民身份号码": "990101199003071234"}
    calls = [
        ("GET", f"/api/v1/grants/{rows_g}/rows", {"limit": 2}, None, h),
        ("GET", f"/api/v1/grants/{rows_g}/rows", {"limit": 2, "after": "garbage"}, None, h),
        ("GET", f"/api/v1/grants/{rows_g}/rows", {"filter.行政区划代码": "990101"}, None, h),
        ("GET", f"/api/v1/grants/{rows_g}/rows", {"filter.公民身份号码": "1"}, None, h),
        ("GET", f"/api/v1/grants/{rows_g}/rows", {"limit": "many"}, None, h),
        ("GET", f"/api/v1/grants/{rows_g}/rows", {}, None, {}),
        ("GET", f"/api/v1/grants/{rows_g}/rows", {}, None, {"Authorization": "Bearer nope"}),
        ("GET", f"/api/v1/grants/{rows_g}/rows", {}, None, w.headers("city_consumer")),
        ("GET", "/api/v1/grants/999999/rows", {}, None, h),
        ("GET", f"/api/v1/grants/{verify_g}/rows", {}, None, h),
        ("POST", f"/api/v1/grants/{verify_g}/verify", None, {"key": key, "claims": {"姓名": "欧阳娜娜"}}, h),
        ("POST", f"/api/v1/grants/{verify_g}/verify", None, {"key": key, "claims": {"宗教信仰": "佛教"}}, h),
        ("POST", f"/api/v1/grants/{verify_g}/verify", None, {"key": key}, h),
        ("POST", f"/api/v1/grants/{verify_g}/verify", None, {"key": key, "claims": []}, h),
        ("POST", f"/api/v1/grants/{rows_g}/verify", None, {"key": key, "claims": {"姓名": "x"}}, h),
    ]
    with TestClient(app) as fast:
        for method, path, params, body, headers in calls:
            a = client.request(method, path, params=params, json=body, headers=headers)
            b = fast.request(method, path, params=params, json=body, headers=headers)
            assert (a.status_code, a.json()) == (b.status_code, b.json()), (method, path, params, body)
            assert a.headers["content-type"] == b.headers["content-type"]
        r = fast.post(f"/api/v1/grants/{verify_g}/verify", content=b"not json", headers=h)
        assert r.status_code == 422 and r.json()["code"] == "request_invalid"
        with w.db.write() as s:
            G.revoke_grant(s, w.actor("police_approver"), rows_g, "职责调整")
        r = fast.get(f"/api/v1/grants/{rows_g}/rows", headers=h)
        assert (r.status_code, r.json()["code"]) == (403, "grant_revoked")


@pytest.mark.parametrize("items", [["姓名", "行政区划代码"], ["姓名", SM4, "行政区划代码", "内部备注"]])
def test_json_pages_equal_row_pages(share, items):
    """The hot path's JSON joined from per-row texts is the very body `rows` gives."""
    import json

    w = share.world
    gid = issue(share, items=items)
    actor = w.actor("consumer")
    for filters in FILTERS:
        for limit in (1, 2, 100):
            after = None
            while True:
                raw = SR.rows_json(w.db, actor, gid, filters, limit=limit, after=after)
                body = SR.rows(w.db, actor, gid, filters, limit=limit, after=after)
                assert raw is not None, "text columns: the JSON texts are built"
                assert json.loads(raw) == body, (filters, limit, after)
                after = body["next"]
                if after is None:
                    break


def test_usage_summaries_keep_the_caches_other_events_renew_them(client, share):
    w = share.world
    gid = issue(share, items=["姓名"])
    h = w.headers("consumer")
    assert client.get(f"/api/v1/grants/{gid}/rows", headers=h).status_code == 200
    epoch = SR.data_epoch(w.db)
    head = SR.ledger_head(w.db)
    assert G.USAGE.flush(w.db) >= 1  # appends a share.usage summary: the head moves ...
    assert SR.ledger_head(w.db) != head
    assert SR.data_epoch(w.db) == epoch  # ... but not the epoch
    with w.db.write() as s:
        G.revoke_grant(s, w.actor("police_approver"), gid, "职责调整")
    assert SR.data_epoch(w.db) != epoch
    r = client.get(f"/api/v1/grants/{gid}/rows", headers=h)
    assert (r.status_code, r.json()["code"]) == (403, "grant_revoked")
