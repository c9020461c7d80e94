"""HTTP push: the provider org's steward token may post rows; anyone else gets 403; rejects
come back with row indexes and reasons."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.factories import published
from yibenzhang.collect.push import rows_to_batch
from yibenzhang.errors import ValidationFailed

ID_OK = "11010519491231002X"


def test_rows_to_batch_union_of_keys_all_strings():
    b = rows_to_batch([{"a": 1, "b": "x"}, {"a": 2.5, "c": True}, {"b": None}])
    assert b.schema.names == ["a", "b", "c"] and all(pa.types.is_string(t) for t in b.schema.types)
    assert b.column(0).to_pylist() == ["1", "2.5", None]
    assert b.column(2).to_pylist() == [None, "true", None]
    assert rows_to_batch([{"a": 1}, {"a": "x"}]).column(0).to_pylist() == ["1", "x"]
    with pytest.raises(ValidationFailed):
        rows_to_batch([{"a": {"nested": 1}}])


def test_push_by_provider_steward(client, world):
    rid = published(world)
    rows = [{"姓名": "张三", "公民身份号码": ID_OK, "出生日期": "1949-12-31"},
            {"姓名": "李四", "公民身份号码": "110105194912310029", "出生日期": "1949年12月31日"},
            {"姓名": "王五", "公民身份号码": "110105194912310010", "出生日期": "not a date"}]
    r = client.post(f"/api/v1/resources/{rid}/rows", json={"rows": rows, "mode": "更新"},
                    headers=world.headers("police_steward"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows_read"] == 3 and body["rows_accepted"] == 2 and body["rows_rejected"] == 1
    assert body["mode"] == "更新" and body["batch_id"]
    [reject] = body["rejects"]
    assert reject["index"] == 2 and reject["row"] == 3 and reject["item"] == "出生日期"
    assert reject["reason"] and reject["reason_en"] and reject["code"]


@pytest.mark.parametrize("user", ["market_steward", "admin", "police_approver", "consumer"])
def test_push_forbidden_for_others(client, world, user):
    rid = published(world)
    r = client.post(f"/api/v1/resources/{rid}/rows", json={"rows": [{"姓名": "张三", "公民身份号码": ID_OK}]},
                    headers=world.headers(user))
    assert r.status_code in (403, 404), r.text  # 404 where the resource is not even visible
    if user in ("market_steward", "admin"):
        assert r.status_code == 403 and r.json()["code"] == "push_forbidden"


def test_push_needs_a_token_and_limits(client, world, monkeypatch):
    rid = published(world)
    assert client.post(f"/api/v1/resources/{rid}/rows", json={"rows": []}).status_code == 401
    h = world.headers("police_steward")
    r = client.post(f"/api/v1/resources/{rid}/rows", json={"rows": [{"姓名": "a"}], "mode": "全量"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "push_bad_mode"
    monkeypatch.setenv("YBZ_PUSH_MAX_ROWS", "2")
    r = client.post(f"/api/v1/resources/{rid}/rows", json={"rows": [{"姓名": "a"}] * 3}, headers=h)
    assert r.status_code == 413 and r.json()["code"] == "push_too_many_rows"
