"""HTTP: /api/v1/catalog/import, /export, /template.xlsx."""

from __future__ import annotations

import io
import json

from python_calamine import CalamineWorkbook
from rdflib import Graph

from tests.catalog.io_helpers import fill_template, item_row, resource_row
from tests.factories import published

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_template_download(client):
    r = client.get("/api/v1/catalog/template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"] and ".xlsx" in r.headers["content-disposition"]
    assert CalamineWorkbook.from_filelike(io.BytesIO(r.content)).sheet_names[0] == "信息资源"


def test_export_formats(client, world):
    published(world, name="公开数据", open_type="无条件开放")
    h = world.headers("police_steward")
    r = client.get("/api/v1/catalog/export", params={"format": "csv"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf") and "公开数据" in r.content.decode("utf-8-sig")
    assert 'filename="catalog-' in r.headers["content-disposition"]
    r = client.get("/api/v1/catalog/export", params={"format": "json"})  # anonymous: the open ones
    assert [x["name"] for x in r.json()] == ["公开数据"]
    r = client.get("/api/v1/catalog/export", params={"format": "dcat-jsonld"})
    assert r.headers["content-type"].startswith("application/ld+json")
    assert len(Graph().parse(data=r.text, format="json-ld")) > 10
    r = client.get("/api/v1/catalog/export", params={"format": "pdf"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "format_unsupported"


def test_import_endpoint(client, world):
    h = world.headers("police_steward")
    good = fill_template([resource_row(world, 1, "接口导入")], [item_row(1, "字段甲")])
    files = {"file": ("目录.xlsx", good, XLSX)}
    r = client.post("/api/v1/catalog/import", files=files, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["created_count"] == 1

    assert client.post("/api/v1/catalog/import", files=files).status_code == 401

    bad = fill_template([resource_row(world, 1, "好的"), resource_row(world, 2, "坏的", 共享类型="有条件共享")],
                        [item_row(1, "字段甲"), item_row(2, "字段乙")])
    r = client.post("/api/v1/catalog/import", files={"file": ("bad.xlsx", bad, XLSX)}, headers=h)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "import_rejected"
    assert [(e["row"], e["column"], e["code"]) for e in body["errors"]] == [(3, "共享条件", "share_condition_required")]

    r = client.post("/api/v1/catalog/import", files={"file": ("bad.xlsx", bad, XLSX)}, data={"partial": "true"},
                    headers=h)
    assert r.status_code == 200 and r.json()["created_count"] == 1 and r.json()["skipped_count"] == 1

    r = client.post("/api/v1/catalog/import", files={"file": ("x.xlsx", b"this is not excel", XLSX)}, headers=h)
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "file_unreadable" and r.json()["detail_en"]

    data = json.dumps([{"name": "JSON导入", "unknown_field": 1}], ensure_ascii=False).encode()
    r = client.post("/api/v1/catalog/import", files={"file": ("a.json", data, "application/json")}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_value"
