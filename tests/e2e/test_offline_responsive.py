"""Offline and on every screen (issue 17): /docs and /redoc draw with no internet; the portal's
main pages and the console home fit a phone (390×844) and a laptop (1366×768) without sideways
scrolling of the page, and no page asks any other host for anything (Playwright's request log,
with every request off this server refused as a government network without internet would)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.portal.catalog_data import build_open_catalog

from .steps import sign_in

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
SCREENS = {"phone": PHONE, "laptop": LAPTOP}


@dataclass
class Offline:
    """Every request the pages made; those to another host are refused and remembered."""

    server: str
    requests: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).netloc != urlsplit(self.server).netloc and not url.startswith(("data:", "blob:")):
            self.external.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()


def open_context(browser, server: str, viewport: dict[str, int]):
    context = browser.new_context(base_url=server, locale="zh-CN", viewport=viewport)
    log = Offline(server)
    context.route("**/*", log.route)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page, log


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return int(page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                             " - document.documentElement.clientWidth"))


def lines(locator) -> int:
    """On how many lines the element's text is laid out."""
    return int(locator.evaluate("e => { const r = document.createRange(); r.selectNodeContents(e);"
                                " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size }"))


def test_api_docs_draw_without_the_internet(browser, server):
    context, page, log = open_context(browser, server, LAPTOP)
    try:
        page.goto("/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "Yibenzhang API" in page.locator(".swagger-ui .info .title").inner_text()
        assert page.locator(".opblock-tag").count() >= 5  # the operations are listed, grouped by tag
        page.goto("/redoc")
        page.wait_for_selector("redoc h1", timeout=30000)
        assert "Yibenzhang API" in page.locator("redoc h1").first.inner_text()
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert log.external == [], log.external
    assert any(u.endswith("/static/apidocs/swagger-ui-bundle.js") for u in log.requests)
    assert any(u.endswith("/static/apidocs/redoc.standalone.js") for u in log.requests)


@pytest.fixture
def catalog_ids(e2e_world) -> dict[str, int]:
    return build_open_catalog(e2e_world)


def _portal_pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """(path, a selector that must be visible): the public's main pages."""
    return [("/", "#stat-resources"), ("/datasets", "#result-total"),
            (f"/datasets/{ids['schools']}", "#preview-table"), (f"/datasets/{ids['bus']}", "h1"),
            ("/demands", "h1"), ("/showcase", "h1"), ("/open-plans", "h1"), ("/catalog", "h1"),
            ("/licence", "h1"), ("/login", "#username")]


def _shoot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_portal_and_console_fit_the_screen_and_stay_on_this_server(browser, server, catalog_ids, screen,
                                                                   tmp_path):
    context, page, log = open_context(browser, server, SCREENS[screen])
    too_wide: dict[str, int] = {}
    try:
        for path, selector in _portal_pages(catalog_ids):
            page.goto(path)
            page.wait_for_selector(selector)
            if overflow(page) > 0:
                too_wide[path] = overflow(page)
            _shoot(page, tmp_path, f"{screen}{path.replace('/', '_') or '_home'}")
        # the preview's cells hold whole words: a date keeps to one line
        page.goto(f"/datasets/{catalog_ids['schools']}")
        date_cell = page.locator("#preview-table td", has_text="1952-09-01").first
        assert lines(date_cell) == 1, screen
        name_header = page.locator("#preview-table th", has_text="学校名称").first
        assert lines(name_header) == 1, screen
        for username in ("reviewer", "police_steward", "citizen"):
            sign_in(page, username, "/console" if username != "citizen" else "/open/my")
            if overflow(page) > 0:
                too_wide[f"{username}:{page.url}"] = overflow(page)
            _shoot(page, tmp_path, f"{screen}_{username}_home")
            page.context.clear_cookies()
    finally:
        context.close()
    assert too_wide == {}, f"pages wider than the {screen} screen (px): {too_wide}; screenshots in {tmp_path}"
    assert log.external == [], log.external


def test_the_phone_navigation_collapses_and_opens(browser, server, catalog_ids):
    context, page, log = open_context(browser, server, PHONE)
    try:
        page.goto("/datasets")
        nav = page.locator("nav.main-nav")
        toggle = page.locator("header .nav-toggle")
        assert toggle.is_visible()
        assert toggle.get_attribute("aria-expanded") == "false"
        assert not page.locator("nav.main-nav a[href='/demands']").is_visible()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        page.locator("nav.main-nav a[href='/demands']").click()
        page.wait_for_url("**/demands")
        links = nav.locator("a")
        page.set_viewport_size(LAPTOP)
        assert not page.locator("header .nav-toggle").is_visible()
        heights = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
        assert len(heights) == 1  # one row on a laptop
    finally:
        context.close()
    assert log.external == []
