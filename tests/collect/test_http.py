"""The HTTP collection flow with bearer tokens (both backends): upload → progress by token until
done → batch manifest → confirm a held batch; who may do what (403/404, never 500); rows preview
only for insiders; problems as problem+json."""

from __future__ import annotations

import time

from tests.collect.conftest import rows_csv
from yibenzhang.config import get_settings

GOOD = [f"人{i},1101011990030{i:05d},2023-01-0{1 + i % 9},{i},是,{1 + i % 5}" for i in range(20)]
BAD = ["坏一,110101199003099991,2023-13-45,1,是,1", "坏二,110101199003099992,2023-01-01,abc,是,1"]


def upload(client, rid: int, headers: dict, data: bytes, name: str = "人口.csv", **fields: str):
    return client.post(f"/api/v1/resources/{rid}/batches", headers=headers, data=fields,
                       files={"file": (name, data, "text/csv")})


def wait_done(client, status_url: str, headers: dict) -> dict:
    deadline = time.monotonic() + 60
    while True:
        state = client.get(status_url, headers=headers)
        assert state.status_code == 200, state.text
        body = state.json()
        if body["status"] != "running" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_upload_progress_batches_and_confirm(client, world, people):
    steward = world.headers("police_steward")
    r = upload(client, people, steward, rows_csv(GOOD + BAD).encode("gb18030"))
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status_url"] == f"/api/v1/ingests/{started['token']}"
    state = wait_done(client, started["status_url"], steward)
    assert state["status"] == "done" and state["percent"] == 100.0 and state["rows"] == 22
    report = state["report"]
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (22, 20, 2)
    assert report["status"] == "待确认"  # 2 of 22 rejected: held for the steward
    assert not list((get_settings().zone / ".staging").glob("*/人口.csv"))  # the upload is gone

    batches = client.get(f"/api/v1/resources/{people}/batches", headers=steward)
    assert batches.status_code == 200
    [batch] = batches.json()
    assert (batch["id"], batch["status"], batch["row_count"], batch["rejected_count"]) == (
        report["batch_id"], "待确认", 20, 2)
    assert batch["source"]["encoding"] == "gb18030" and batch["files"] == ["part-000000.parquet"]
    assert client.get(f"/api/v1/resources/{people}/rows", headers=steward).json()["rows"] == []  # held

    assert client.post(f"/api/v1/batches/{batch['id']}/confirm",
                       headers=world.headers("market_steward")).status_code == 403
    confirmed = client.post(f"/api/v1/batches/{batch['id']}/confirm", headers=steward)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "已发布"
    again = client.post(f"/api/v1/batches/{batch['id']}/confirm", headers=steward)
    assert again.status_code == 409 and again.json()["code"] == "batch_not_held"

    rows = client.get(f"/api/v1/resources/{people}/rows", params={"limit": 5}, headers=steward)
    assert rows.status_code == 200
    body = rows.json()
    assert len(body["rows"]) == 5 and body["rows"][0]["姓名"] == "人0" and body["rows"][0]["_row"] == 2
    counts = client.get("/api/v1/record-counts", headers=steward).json()
    assert {c["resource_id"]: c["records"] for c in counts} == {people: 20}


def test_outsiders_get_403_or_404(client, world, people):
    steward = world.headers("police_steward")
    consumer = world.headers("consumer")
    assert upload(client, people, consumer, rows_csv(GOOD).encode()).status_code == 403
    assert upload(client, people, world.headers("market_steward"), rows_csv(GOOD).encode()).status_code == 403
    assert upload(client, 999999, steward, rows_csv(GOOD).encode()).status_code == 404
    assert client.post(f"/api/v1/resources/{people}/batches", files={
        "file": ("a.csv", b"x", "text/csv")}).status_code == 401  # no token

    started = upload(client, people, steward, rows_csv(GOOD).encode()).json()
    state = wait_done(client, started["status_url"], steward)
    assert state["report"]["status"] == "已发布"
    assert client.get(started["status_url"], headers=consumer).status_code == 404  # not theirs
    assert client.get(started["status_url"], headers=world.headers("admin")).status_code == 200
    assert client.get("/api/v1/ingests/0123456789abcdef", headers=steward).status_code == 404

    for path in (f"/api/v1/resources/{people}/batches", f"/api/v1/resources/{people}/rows"):
        denied = client.get(path, headers=consumer)
        assert denied.status_code == 403, path
        assert denied.headers["content-type"].startswith("application/problem+json")
        assert "人0" not in denied.text
        assert client.get(path, headers=world.headers("market_steward")).status_code == 403
        assert client.get(path, headers=world.headers("admin")).status_code == 200  # the platform
    batch_id = state["report"]["batch_id"]
    assert client.post(f"/api/v1/batches/{batch_id}/discard", headers=consumer).status_code == 403
    assert client.post("/api/v1/batches/999999/confirm", headers=steward).status_code == 404


def test_a_bad_file_fails_with_a_problem_and_nothing_is_kept(client, world, people):
    steward = world.headers("police_steward")
    good = rows_csv(GOOD[:2]).encode("gbk")
    started = upload(client, people, steward, good + b"\xff\xfe,110101199003079999,2023-01-01,1,1,1\n",
                     encoding="GBK")
    assert started.status_code == 202
    state = wait_done(client, started.json()["status_url"], steward)
    assert state["status"] == "failed" and state["report"] is None
    assert state["error"]["code"] == "encoding_invalid" and state["error"]["detail_en"].endswith(
        f"(byte offset {len(good)}) is not valid GB18030")
    assert client.get(f"/api/v1/resources/{people}/batches", headers=steward).json() == []
    assert not [p for p in (get_settings().zone / ".staging").iterdir() if not p.name.startswith(".")]

    refused = upload(client, people, steward, "名字,身份证\n张三,110101199003077777\n".encode())
    state = wait_done(client, refused.json()["status_url"], steward)
    assert state["status"] == "failed" and state["error"]["code"] == "mapping_invalid"
    mapped = upload(client, people, steward, "名字,身份证\n张三,110101199003077777\n".encode(),
                    map="名字=姓名;身份证=公民身份号码")
    state = wait_done(client, mapped.json()["status_url"], steward)
    assert state["status"] == "done" and state["report"]["rows_accepted"] == 1
    bad_mode = upload(client, people, steward, rows_csv(GOOD).encode(), mode="sometimes")
    assert wait_done(client, bad_mode.json()["status_url"], steward)["error"]["code"] == "mode_unknown"
