"""The CKAN Action API read by the real ckanapi client over HTTP, and its envelopes and errors."""

from __future__ import annotations

import ckanapi
import pytest


def test_ckanapi_lists_searches_and_shows(world, open_catalog, live):
    ckan = ckanapi.RemoteCKAN(live, user_agent="ybz-tests/1.0")
    assert ckan.action.status_show()["ckan_version"].startswith("2.")
    names = ckan.action.package_list()
    assert len(names) == 4 and all(n == n.lower() and "/" not in n for n in names)

    found = ckan.action.package_search(q="学校", facet="true", **{"facet.field": ["organization", "res_format"]})
    assert found["count"] == 1
    pkg = found["results"][0]
    assert pkg["title"] == "中小学学校名录"
    assert pkg["organization"]["title"] == "云岭省市场监督管理局"
    assert {t["name"] for t in pkg["tags"]} == {"学校", "教育"}
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "XLSX", "JSON", "Parquet"]
    assert pkg["resources"][0]["url"].endswith(f"/open/datasets/{open_catalog['schools']}/download.csv")
    assert found["search_facets"]["res_format"]["items"][0]["count"] == 1

    org = pkg["organization"]["name"]
    by_org = ckan.action.package_search(fq=f"organization:{org}", rows=10,
                                        **{"facet.field": ["tags", "groups"]})
    assert {p["title"] for p in by_org["results"]} == {"中小学学校名录", "食品经营许可信息"}
    assert by_org["facets"]["groups"]["education"] == 1
    tagged = ckan.action.package_search(fq='tags:"公交"')
    assert [p["title"] for p in tagged["results"]] == ["公交线路站点信息"]
    with_files = ckan.action.package_search(fq="res_format:CSV")
    assert with_files["count"] == 1
    paged = ckan.action.package_search(rows=2, start=2, sort="name asc")
    assert paged["count"] == 4 and len(paged["results"]) == 2

    shown = ckan.action.package_show(id=pkg["name"])
    assert shown["id"] == pkg["id"] and shown["notes"]
    assert ckan.action.package_show(id=pkg["id"])["name"] == pkg["name"]
    res = ckan.action.resource_show(id=pkg["resources"][1]["id"])
    assert res["format"] == "XLSX" and res["package_id"] == pkg["id"]

    orgs = ckan.action.organization_list(all_fields=True)
    assert {o["title"] for o in orgs} == {"云岭省市场监督管理局", "云岭省人民医院", "春城市公安局"}
    market = ckan.action.organization_show(id=org, include_datasets=True)
    assert market["package_count"] == 2 and len(market["packages"]) == 2
    assert "education" in ckan.action.group_list()
    assert "公交" in ckan.action.tag_list()

    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="101001-999999")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id=str(open_catalog["closed"]))
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(fq="author:nobody")


def test_envelopes_over_get_and_post(client, open_catalog):
    got = client.get("/api/3/action/package_search", params={"q": "医疗", "rows": 1})
    assert got.status_code == 200
    body = got.json()
    assert body["success"] is True and body["help"].endswith("help_show?name=package_search")
    assert body["result"]["count"] == 1
    posted = client.post("/api/3/action/package_show", json={"id": str(open_catalog["hospitals"])})
    assert posted.json()["result"]["title"] == "医疗机构基本信息"
    missing = client.get("/api/3/action/package_show", params={"id": str(open_catalog["draft"])})
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    assert missing.json()["error"]["__type"] == "Not Found Error"
    unknown = client.get("/api/3/action/package_create")
    assert unknown.status_code == 400 and unknown.json()["error"]["__type"] == "Bad request"
    bad = client.get("/api/3/action/package_search", params={"rows": "lots"})
    assert bad.status_code == 409 and bad.json()["error"]["__type"] == "Validation Error"
    assert client.post("/api/3/action/package_list", content=b"{not json").status_code == 400
