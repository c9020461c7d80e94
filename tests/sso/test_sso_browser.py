"""In Chromium: sign in through the real OpenID Provider's own login page (and the real CAS
server's), land in the console as the mapped role, sign out; a person whose claims name no org on
the platform is refused with the message that says whom to ask."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import e2e_world  # noqa: F401  (the test world on SQLite; the browser fixture is the root conftest's)
from tests.live_server import serve_app
from tests.sso.conftest import CAS_PASSWORD, CONTACT


@pytest.fixture
def sso_server(sso_app_port, e2e_world) -> Iterator[str]:  # noqa: F811
    """The app under uvicorn on the port whose callback the provider has registered."""
    with serve_app(sso_app_port) as url:
        yield url


def sign_in_at_provider(page, server: str, login: str) -> None:
    page.goto(f"{server}/login")
    page.click("#sso-gov")
    page.wait_for_selector("input[name=login]")  # the provider's own page
    assert page.url.startswith("http://127.0.0.1:") and f"{server}" not in page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button.login-submit")


def test_sign_in_through_the_provider_lands_in_the_console_as_the_mapped_role(oidc_env, browser, sso_server):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        assert page.goto(f"{sso_server}/login").ok
        assert page.inner_text("#sso-gov") == "云岭省统一身份认证"
        sign_in_at_provider(page, sso_server, "wang.market")
        page.wait_for_url(f"{sso_server}/console")
        assert "数据使用方" in page.inner_text(".badge.role")
        # Sign out: the local session ends, then the provider's own sign-out page, then back here.
        page.click("form[action='/logout'] button")
        page.wait_for_url(f"{oidc_env.issuer}/session/end**")
        page.click("button[value=yes]")
        page.wait_for_url(f"{sso_server}/")
        page.goto(f"{sso_server}/console")
        assert page.url.startswith(f"{sso_server}/login")
    finally:
        context.close()


def test_a_person_of_no_known_org_is_refused_with_whom_to_ask(oidc_env, browser, sso_server):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        sign_in_at_provider(page, sso_server, "li.unknown.org")
        page.wait_for_selector("#sso-refused")
        assert page.url.startswith(f"{sso_server}/auth/oidc/gov/callback")
        assert "您所在的单位未在本平台登记" in page.inner_text("#sso-refused")
        assert page.inner_text("#sso-contact") == CONTACT
        page.goto(f"{sso_server}/console")
        assert page.url.startswith(f"{sso_server}/login")  # no session was opened
    finally:
        context.close()


def test_sign_in_through_cas_lands_in_the_console_and_signs_out(cas_env, browser, sso_server):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{sso_server}/login")
        page.click("#sso-unified")
        page.wait_for_selector("#id_username")  # the CAS server's own page
        assert page.url.startswith(cas_env.url)
        page.fill("#id_username", "zhang.market")
        page.fill("#id_password", CAS_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{sso_server}/console")
        assert "数据使用方" in page.inner_text(".badge.role")
        page.click("form[action='/logout'] button")
        page.wait_for_url(f"{sso_server}/")
        page.goto(f"{sso_server}/console")
        assert page.url.startswith(f"{sso_server}/login")
    finally:
        context.close()
