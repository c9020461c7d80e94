"""Nothing the pages draw comes from another host (issue 17): every template, our stylesheet and
scripts, and the API documentation pages reference only this server. The crawl checks every page
it visits the same way (tests/test_crawl.py); the browser tests check the requests themselves."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.crawl_support import CSS_URL, PageScan, is_external

WEB = Path(__file__).resolve().parents[2] / "src" / "yibenzhang" / "web"
ABSOLUTE = re.compile(r"""["'`(]((?:https?:)?//[^"'`)\s]+)""")


def test_no_template_loads_anything_from_another_host() -> None:
    templates = sorted((WEB / "templates").rglob("*.html"))
    assert len(templates) >= 40
    found = {}
    for path in templates:
        scan = PageScan()
        scan.feed(path.read_text(encoding="utf-8"))
        if scan.external_resources():
            found[str(path.relative_to(WEB))] = scan.external_resources()
    assert found == {}


def test_our_own_styles_and_scripts_name_no_other_host() -> None:
    own = [p for p in (WEB / "static").iterdir() if p.suffix in (".css", ".js")]
    assert {p.name for p in own} >= {"ybz.css"}
    found = {}
    for path in own:
        text = path.read_text(encoding="utf-8")
        refs = CSS_URL.findall(text) if path.suffix == ".css" else ABSOLUTE.findall(text)
        if any(is_external(r) for r in refs):
            found[path.name] = [r for r in refs if is_external(r)]
    assert found == {}


def test_api_docs_pages_load_their_assets_from_this_server(client: TestClient) -> None:
    pages = (("/docs", "/static/apidocs/swagger-ui-bundle.js"), ("/redoc", "/static/apidocs/redoc.standalone.js"))
    for page, asset in pages:
        response = client.get(page)
        assert response.status_code == 200
        scan = PageScan()
        scan.feed(response.text)
        assert asset in scan.resources and scan.external_resources() == [], (page, scan.resources)
        # the browser itself refuses other hosts there (ReDoc draws a logo from its CDN regardless)
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert client.get(asset).status_code == 200
    assert "validatorUrl" in client.get("/docs").text  # Swagger UI's online validator badge is off
