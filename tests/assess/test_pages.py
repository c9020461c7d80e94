"""The dashboard without a browser: tables and links read without JavaScript, drill-down by query
parameters, exports, the target forms (CSRF, validation shown on the page), who sees what."""

from __future__ import annotations

import json
import re

from tests.assess.test_kpis import state  # noqa: F401  (the known state fixture)
from tests.web.conftest import signed_in  # noqa: F401


def test_dashboard_drill_down(world, state, client, signed_in):  # noqa: F811
    signed_in("admin")
    page = client.get("/console/assess")
    assert page.status_code == 200
    html = page.text
    for marker in ('id="kpi-tiles"', 'id="chart-targets"', 'id="chart-records"', 'id="chart-open"',
                   'id="chart-regions"', 'id="region-table"', 'id="scorecards"', 'id="target-form"',
                   "/static/vendor/echarts.min.js", "/static/ybz-assess.js"):
        assert marker in html, marker
    data = json.loads(re.search(r'<script type="application/json" id="assess-data">(.*?)</script>', html, re.S)[1])
    assert data["regions"][0]["code"] == "990000" and data["regions"][0]["value"] == 4
    assert {t["name"].split()[0] for t in data["targets"]} >= {"归集数据量", "开放数据集"}
    assert 'href="/console/assess?region=990100"' in html
    police = world.orgs["police"].id
    assert f'href="/console/assess?org={police}"' in html
    org_page = client.get(f"/console/assess?org={police}").text
    assert 'id="todo-list"' in org_page and "户籍迁移信息" in org_page and 'id="org-resources"' in org_page
    assert f'href="/catalog/{state["monthly"]}"' in org_page
    region_page = client.get("/console/assess?region=990100").text
    assert "春城市" in region_page
    report = client.get("/console/assess/report?region=990000")
    assert report.status_code == 200 and "考核评估报告" in report.text
    xlsx = client.get(f"/console/assess/export.xlsx?org={police}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    en = client.get("/console/assess?lang=en").text
    assert "Assessment" in en and "Records collected" in en


def test_target_forms(world, state, client, signed_in):  # noqa: F811
    csrf = signed_in("reviewer")
    bad = client.post("/console/assess/targets", data={"csrf_token": csrf, "metric": "open_datasets", "value": "abc",
                                                       "due_on": "", "scope": ""})
    assert bad.status_code == 422 and 'id="err-value"' in bad.text and 'id="err-due_on"' in bad.text
    ok = client.post("/console/assess/targets", data={"csrf_token": csrf, "metric": "fresh_rate", "value": "0.95",
                                                      "due_on": "2026-06-30", "scope": "", "basis": "年度要点"},
                     follow_redirects=False)
    assert ok.status_code == 303
    page = client.get("/console/assess").text
    tid = int(re.findall(r'data-target="(\d+)"', page)[-1])
    r = client.post(f"/console/assess/targets/{tid}/revise", data={"csrf_token": csrf, "value": "0.9",
                                                                   "effective_from": "2099-01-01"},
                    follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/console/assess/targets", data={"metric": "fresh_rate", "value": "1", "due_on": "2026-06-30"})
    assert r.status_code == 403  # no CSRF token


def test_steward_and_public(world, state, client, signed_in):  # noqa: F811
    signed_in("police_steward")
    page = client.get("/console/assess").text
    assert 'id="target-form"' not in page and "云岭省公安厅" in page and "云岭省市场监督管理局" not in page
    forbidden = client.get(f"/console/assess?org={world.orgs['market'].id}")
    assert forbidden.status_code == 403
    client.cookies.clear()
    assert client.get("/console/assess", follow_redirects=False).status_code in (302, 303)
