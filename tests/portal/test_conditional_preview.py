"""A 有条件开放 dataset's rows leave only to whom its downloads and rows API serve them (an
approved applicant, the provider's people, the administrator): the portal's dataset page showed
its first rows and the chart over them to anyone (found in session 4; the rows API answered 401)."""

from __future__ import annotations

from tests.open.conftest import ROWS, opendata  # noqa: F401  (fixture)
from tests.web.conftest import login


def test_a_conditional_datasets_page_shows_no_rows_to_the_public(client, opendata):  # noqa: F811
    assert client.get(f"/api/v1/open/datasets/{opendata.cond}/rows").status_code == 401
    page = client.get(f"/datasets/{opendata.cond}")
    assert page.status_code == 200
    assert 'id="preview-table"' not in page.text and 'id="dataset-chart-data"' not in page.text
    assert "申请获批后可预览数据" in page.text
    assert not [v for v in ROWS["站点名称"] if v in page.text]
    english = client.get(f"/datasets/{opendata.cond}?lang=en")
    assert "once your application is approved" in english.text and "翠湖站" not in english.text


def test_the_providers_steward_sees_the_preview(client, opendata):  # noqa: F811
    assert login(client, "police_steward").status_code == 303
    page = client.get(f"/datasets/{opendata.cond}")
    assert 'id="preview-table"' in page.text and "翠湖站" in page.text
    assert "申请获批后可预览数据" not in page.text


def test_an_unconditional_datasets_page_shows_its_rows_to_anyone(client, opendata):  # noqa: F811
    page = client.get(f"/datasets/{opendata.free}")
    assert 'id="preview-table"' in page.text and "翠湖站" in page.text
