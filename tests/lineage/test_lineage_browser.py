"""In the browser: the console's lineage page draws a resource's graph with the vendored ECharts
(a static script: the strict CSP reports no violation), with tables beside it; the auditor sees
the sources and every consumer, a consumer only what its own org received."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import e2e_world, page, server  # noqa: F401  (the live app and its browser page)
from tests.e2e.steps import fill_login, png_is_not_blank, sign_out
from tests.lineage.test_share_lineage import two_deliveries
from tests.share.test_grants import share_fixture  # noqa: F401  (the `share` fixture)


@pytest.fixture
def world(e2e_world):  # noqa: F811  (the share fixture over the live app's database)
    return e2e_world


def test_lineage_graph_in_the_console_filtered_by_viewer(page, share, tmp_path):  # noqa: F811
    market_grant, city_grant, code = two_deliveries(share)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    target = "/console/lineage?" + urlencode({"resource": code})
    page.goto("/login?" + urlencode({"next": target}))
    fill_login(page, "auditor")
    page.wait_for_load_state()
    assert page.url.endswith(target), page.url
    chart = page.locator("#lineage-chart[data-ready]")
    chart.wait_for()
    # resource + its source + two consumers
    assert int(chart.get_attribute("data-ready")) == 4
    assert page.locator("#lineage-sources tbody tr").count() == 1
    rows = page.locator("#lineage-consumers tbody tr")
    assert rows.count() == 2 and "sm4" in page.locator(f'tr[data-grant="{market_grant}"]').inner_text()
    shot = tmp_path / "lineage.png"
    page.locator("#lineage-chart").screenshot(path=str(shot))
    assert png_is_not_blank(shot)
    sign_out(page)

    page.goto("/login?" + urlencode({"next": target}))
    fill_login(page, "consumer")
    page.wait_for_url("**/console/lineage?*")
    page.locator("#lineage-chart[data-ready]").wait_for()
    assert int(page.locator("#lineage-chart").get_attribute("data-ready")) == 2  # resource + its own grant
    assert page.locator("#lineage-partial").is_visible() and page.locator("#lineage-sources").count() == 0
    assert page.locator(f'tr[data-grant="{city_grant}"]').count() == 0
    page.goto("/console/lineage?resource=NOPE-404")
    assert page.locator("#lineage-error").get_attribute("data-code") == "resource_not_found"
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
