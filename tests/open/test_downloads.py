"""Downloads and the rows API (both backends): masked per the 开放下载 policy, anonymous for
无条件开放; 有条件开放 needs an approved applicant or a key for that dataset; counts per day."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from yibenzhang import workdays
from yibenzhang.open import applications as apps

from .conftest import PROTECTED, ROWS

# Issue 14: every test here runs on the local zone and on the S3 zone (a real SeaweedFS).
pytestmark = pytest.mark.usefixtures("zone_store")


OPENED = ["站点名称", "区县代码", "客流量", "出生日期"]


def no_leak(data: bytes | str) -> None:
    text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
    for v in PROTECTED:
        assert v not in text


def test_csv_is_utf8_with_bom_and_masked(client, opendata):
    r = client.get(f"/open/datasets/{opendata.free}/download.csv")
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"].startswith("public")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == OPENED
    assert len(lines) == 7 and lines[1].startswith("翠湖站,990101,120,1990")
    no_leak(r.content)


@pytest.mark.parametrize("fmt", ["json", "parquet", "xlsx"])
def test_other_formats(client, opendata, fmt):
    r = client.get(f"/open/datasets/{opendata.free}/download.{fmt}")
    assert r.status_code == 200, r.text
    if fmt == "json":
        rows = json.loads(r.content)
        assert [row["站点名称"] for row in rows] == ROWS["站点名称"] and set(rows[0]) == set(OPENED)
        no_leak(r.content)
    elif fmt == "parquet":
        table = pq.read_table(io.BytesIO(r.content))
        assert table.column_names == OPENED and table.num_rows == 6
    else:
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(r.content), read_only=True).active
        values = [list(row) for row in ws.iter_rows(values_only=True)]
        assert values[0] == OPENED and values[1][0] == "翠湖站" and len(values) == 7
    assert client.get(f"/open/datasets/{opendata.free}/download.txt").status_code == 422


def test_not_open_and_unknown_are_not_found(client, opendata):
    for rid in (opendata.closed, 999999):
        r = client.get(f"/open/datasets/{rid}/download.csv")
        assert r.status_code == 404 and r.json()["code"] == "open_dataset_not_found"
        assert client.get(f"/api/v1/open/datasets/{rid}/rows").status_code == 404


def test_conditional_needs_an_approved_application_or_key(client, opendata):
    w = opendata.world
    url = f"/open/datasets/{opendata.cond}/download.csv"
    assert client.get(url).status_code == 401
    citizen = w.headers("citizen")
    r = client.get(url, headers=citizen)
    assert r.status_code == 403 and r.json()["code"] == "open_apply_required"
    with w.db.write() as s:
        app = apps.apply(s, w.actor("citizen"), opendata.cond, purpose="研究门诊分布", scenario="论文",
                         agreement=True)
        apps.decide(s, w.actor("police_approver"), app.id, "approve", "用途合规")
        app_id = app.id
    got = client.get(url, headers=citizen)
    assert got.status_code == 200 and got.headers["cache-control"] == "private, no-store"
    # the key: for this dataset only
    key = client.post(f"/api/v1/open/applications/{app_id}/key", headers=citizen).json()["key"]
    assert client.get(url, headers={"X-API-Key": key}).status_code == 200
    assert client.get(f"{url}?api_key={key}").status_code == 200
    other = client.get(f"/open/datasets/{opendata.cond2}/download.csv", headers={"X-API-Key": key})
    assert other.status_code == 403 and other.json()["code"] == "open_key_scope"
    rows = client.get(f"/api/v1/open/datasets/{opendata.cond2}/rows", headers={"X-API-Key": key})
    assert rows.status_code == 403
    bad = client.get(url, headers={"X-API-Key": key[:-3] + "xyz"})
    assert bad.status_code == 401 and bad.json()["code"] == "open_key_invalid"
    # revoked: no more
    key_id = client.get("/api/v1/open/keys", headers=citizen).json()["items"][0]["id"]
    assert client.post(f"/api/v1/open/keys/{key_id}/revoke", headers=citizen).status_code == 200
    assert client.get(url, headers={"X-API-Key": key}).status_code == 401


def test_downloads_and_calls_are_counted_per_day(client, opendata):
    from yibenzhang.open import kpi
    from yibenzhang.open.model import OpenUsage

    for _ in range(3):
        client.get(f"/open/datasets/{opendata.free}/download.csv")
    client.get(f"/open/datasets/{opendata.free}/download.json")
    client.get(f"/api/v1/open/datasets/{opendata.free}/rows")
    with opendata.world.db.read() as s:
        today = workdays.today()
        counts = {u.kind: u.count for u in s.query(OpenUsage).filter_by(resource_id=opendata.free, day=today)}
        assert counts == {"download.csv": 3, "download.json": 1, "api": 1}
        f = kpi.figures(s)
        assert (f["downloads"], f["api_calls"], f["open_datasets"]) == (4, 1, 3)


def test_rows_pages_filters_and_masking(client, opendata):
    url = f"/api/v1/open/datasets/{opendata.free}/rows"
    body = client.get(url, params={"limit": 4}).json()
    assert body["columns"] == OPENED and set(body["denied"]) == {"公民身份号码", "内部备注"}
    assert [r["站点名称"] for r in body["rows"]] == ROWS["站点名称"][:4]
    assert body["rows"][0]["出生日期"] != "1990-03-07" and str(body["rows"][0]["出生日期"]).startswith("1990")
    assert body["next_offset"] == 4
    rest = client.get(url, params={"limit": 4, "offset": 4}).json()
    assert [r["站点名称"] for r in rest["rows"]] == ROWS["站点名称"][4:] and rest["next_offset"] is None
    keyset = client.get(url, params={"limit": 4, "after": body["next"]}).json()
    assert [r["站点名称"] for r in keyset["rows"]] == ROWS["站点名称"][4:]
    filtered = client.get(url, params={"区县代码": "990201"}).json()
    assert [r["站点名称"] for r in filtered["rows"]] == ["石林站", "宜良站"]
    assert client.get(url, params={"客流量": "300"}).json()["rows"][0]["站点名称"] == "金马站"
    assert client.get(url, params={"客流量": "not-a-number"}).json()["rows"] == []
    for name, code in (("公民身份号码", "open_filter_unknown"), ("出生日期", "open_filter_masked")):
        r = client.get(url, params={name: "x"})
        assert r.status_code == 400 and r.json()["code"] == code
    no_leak(client.get(url).text)
