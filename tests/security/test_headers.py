"""Security headers on every page a crawl visits, anonymous and signed in (issue 23 item 6)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.crawl_support import crawl
from yibenzhang.api import create_app
from yibenzhang.config import reset_settings
from yibenzhang.web.headers import STRICT_SCRIPTS

TEMPLATES = Path(__file__).parents[2] / "src" / "yibenzhang" / "web" / "templates"


def _check(response: httpx.Response, https: bool = False) -> list[str]:
    h, path = response.headers, response.request.url.path
    wrong = []
    csp = h.get("content-security-policy", "")
    if "frame-ancestors 'none'" not in csp or "object-src 'none'" not in csp:
        wrong.append("csp")
    if STRICT_SCRIPTS not in h.get("content-security-policy-report-only", "") + csp:
        wrong.append("csp scripts")
    if h.get("x-frame-options") != "DENY" or h.get("x-content-type-options") != "nosniff":
        wrong.append("frame/nosniff")
    if h.get("referrer-policy") != "same-origin":
        wrong.append("referrer")
    if path.startswith(("/console", "/api/", "/login")) and h.get("cache-control") != "no-store":
        wrong.append("cache-control")
    if https != ("strict-transport-security" in h):
        wrong.append("hsts")
    return [f"{path}: {w}" for w in wrong]


def _crawl_checked(client: TestClient, role: str, starts: list[str], https: bool = False) -> tuple[int, list[str]]:
    seen: list[httpx.Response] = []
    client.event_hooks["response"].append(lambda r: seen.append(r))
    crawl(client, role, starts, limit=60)
    return len(seen), [w for r in seen for w in _check(r, https)]


def test_every_crawled_page_carries_the_headers(client, world, signed_in):
    n, wrong = _crawl_checked(client, "anonymous", ["/", "/login", "/api/v1/me"])
    assert n > 5 and not wrong, wrong
    signed_in("police_steward")
    n, wrong = _crawl_checked(client, "police_steward", ["/console"])
    assert n > 5 and not wrong, wrong


def test_hsts_only_behind_tls(world):
    with TestClient(create_app(), base_url="https://testserver") as https:
        assert not _check(https.get("/"), https=True)
        assert not _check(https.get("/login"), https=True)


def test_strict_scripts_by_the_setting(world, monkeypatch):
    monkeypatch.setenv("YBZ_CSP_STRICT_SCRIPTS", "1")
    reset_settings()
    with TestClient(create_app()) as c:
        r = c.get("/login")
    assert r.headers["content-security-policy"].endswith(STRICT_SCRIPTS)
    assert "content-security-policy-report-only" not in r.headers


def test_the_login_and_security_pages_need_no_inline_script():
    """The pages of this issue already satisfy the strict policy (no inline code or handlers)."""
    import re

    for name in ("login.html", "account_security.html"):
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text) and not re.search(r"\son[a-z]+=", text), name
