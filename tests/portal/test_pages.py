"""Portal pages without a browser: home counts, facets and sorting, the dataset page (masked
preview, chart data, downloads or apply), English, and 404 for what is not open."""

from __future__ import annotations

import json
import re


def test_home_counts_and_highlights(client, open_catalog):
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert '<span class="num" id="stat-resources">4</span>' in page.text
    assert '<span class="num" id="stat-orgs">3</span>' in page.text
    assert "户籍人口基本信息" not in page.text  # 不予开放
    assert 'href="/datasets?domain=education"' in page.text
    for link in ("/datasets", "/demands", "/showcase", "/open-plans"):
        assert f'href="{link}"' in page.text
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text and "Open data" in en.text and "开放数据集" not in en.text


def test_list_with_words_facets_and_sorting(client, open_catalog):
    page = client.get("/datasets", params={"q": "学校"})
    assert page.status_code == 200
    assert re.findall(r'<li class="result" data-id="(\d+)"', page.text) == [str(open_catalog["schools"])]
    page = client.get("/datasets", params={"open_type": "有条件开放"})
    ids = re.findall(r'<li class="result" data-id="(\d+)"', page.text)
    assert sorted(map(int, ids)) == sorted([open_catalog["bus"], open_catalog["licences"]])
    assert 'aria-pressed="true"' in page.text and 'data-facet="domain"' in page.text
    page = client.get("/datasets", params={"domain": "health"})
    assert re.findall(r'data-id="(\d+)"', page.text) == [str(open_catalog["hospitals"])]
    newest = re.findall(r'<li class="result" data-id="(\d+)"', client.get("/datasets?sort=newest").text)
    assert newest[0] == str(open_catalog["licences"])
    for sort in ("downloads", "quality", "relevance", "bogus"):
        assert client.get(f"/datasets?sort={sort}").status_code == 200
    english = client.get("/datasets?lang=en&open_type=conditional")
    assert "open on conditions" in english.text.lower() or "conditional" in english.text.lower()
    partial = client.get("/datasets?q=医疗", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "医疗机构基本信息" in partial.text


def test_dataset_page_preview_chart_and_downloads(client, open_catalog):
    page = client.get(f"/datasets/{open_catalog['schools']}")
    assert page.status_code == 200
    text = page.text
    assert "中小学学校名录" in text and 'id="preview-table"' in text
    assert "春城第一中学" in text
    assert f'/open/datasets/{open_catalog["schools"]}/download.csv' in text
    assert f'/objections/new?resource={open_catalog["schools"]}' in text
    assert "/api/3/action/package_show?id=" in text and "/rows?limit=100" in text
    chart = json.loads(re.search(r'id="dataset-chart-data">(.*?)</script>', text, re.S).group(1))
    assert chart["kind"] == "year" and sum(chart["values"]) == 6
    assert "王建国" not in text  # a person's name leaves masked (or not at all)


def test_conditional_dataset_asks_to_apply(client, open_catalog):
    page = client.get(f"/datasets/{open_catalog['bus']}")
    assert page.status_code == 200
    assert f'/login?next=/datasets/{open_catalog["bus"]}/apply' in page.text
    assert "download.csv" not in page.text


def test_not_open_is_404(client, open_catalog):
    for key in ("closed", "draft"):
        page = client.get(f"/datasets/{open_catalog[key]}")
        assert page.status_code == 404
        assert "<html" in page.text  # an HTML error page, not problem+json
    assert client.get("/datasets/999999").status_code == 404
