"""CAS single logout with the real django-cas-server: signing out at the CAS server makes it POST
a SAML logoutRequest naming the service ticket to the platform, which ends the local session
that ticket opened (and only that one), with a ledger entry; a forged or malformed request ends
nothing and answers the same."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.conftest import e2e_world  # noqa: F401  (the test world on SQLite)
from tests.live_server import serve_app
from tests.sso.conftest import CAS_PASSWORD, HIDDEN
from tests.sso.test_oidc_login import events
from yibenzhang.orgs.model import WebSession


@pytest.fixture
def cas_app(sso_app_port, e2e_world) -> Iterator[str]:  # noqa: F811
    """The app under uvicorn where the CAS server can reach it (its back channel)."""
    with serve_app(sso_app_port) as url:
        yield url


def sign_in(app: httpx.Client, cas: httpx.Client, username: str = "zhang.market") -> None:
    """A browser (two cookie jars: the app's and the CAS server's) signing in through CAS."""
    start = app.get("/auth/cas/unified/login?next=/console")
    assert start.status_code == 303, start.text
    page = cas.get(start.headers["location"])
    fields = dict(HIDDEN.findall(page.text))
    back = cas.post(str(page.url), data={**fields, "username": username, "password": CAS_PASSWORD})
    assert back.status_code == 302, back.text
    service = urlsplit(back.headers["location"])
    landed = app.get(f"{service.path}?{service.query}")
    assert landed.status_code == 303 and landed.headers["location"] == "/console", landed.text
    assert app.get("/console").status_code == 200


def signed_in(app: httpx.Client) -> bool:
    return app.get("/console").status_code == 200


def session_count(world) -> int:
    with world.db.read() as s:
        return len(s.execute(select(WebSession.id_digest)).all())


def test_signing_out_at_the_cas_server_ends_the_session_it_opened(cas_env, cas_app, e2e_world):  # noqa: F811
    with httpx.Client(base_url=cas_app, timeout=15) as app, httpx.Client(timeout=15) as cas, \
            httpx.Client(base_url=cas_app, timeout=15) as app2, httpx.Client(timeout=15) as cas2:
        sign_in(app, cas)
        sign_in(app2, cas2)  # the same person in another browser, another CAS session
        assert session_count(e2e_world) == 2
        # forged and malformed logout requests end nothing, and get the same answer
        for body in ("<samlp:LogoutRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>"
                     "<samlp:SessionIndex>ST-not-a-ticket</samlp:SessionIndex></samlp:LogoutRequest>",
                     "<not xml", "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"):
            r = app.post("/auth/cas/unified/callback", data={"logoutRequest": body})
            assert (r.status_code, r.text) == (200, "")
        assert signed_in(app) and signed_in(app2)
        out = cas.get(f"{cas_env.url}/logout")  # at the CAS server: it POSTs the logoutRequest back
        assert out.status_code == 200
        deadline = time.monotonic() + 15
        while signed_in(app) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not signed_in(app)
        assert signed_in(app2)  # the other browser's session was not opened by that ticket
        assert session_count(e2e_world) == 1
    (logout,) = [e for e in events(e2e_world, "web.logout") if e.get("single_logout")]
    assert logout["via"] == "cas:unified" and logout["sessions_ended"] == 1
