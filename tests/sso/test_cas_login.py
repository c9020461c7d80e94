"""Sign-in through a real CAS 3.0 server (django-cas-server): the service ticket validated at
/p3/serviceValidate, the user mapped like an OpenID Connect subject, refusals with whom to ask,
a replayed ticket and a wrong state refused with a ledger entry and no session."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from tests.sso.conftest import CONTACT, login_at_cas, path_of
from tests.sso.test_oidc_login import events
from yibenzhang.orgs.model import User, WebSession
from yibenzhang.sso.model import SsoIdentity


def start(client) -> str:
    response = client.get("/auth/cas/unified/login?next=/console", follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def cas_login(client, username: str):
    return client.get(path_of(login_at_cas(start(client), username)), follow_redirects=False)


def sessions(world) -> int:
    with world.db.read() as s:
        return s.execute(select(func.count()).select_from(WebSession)).scalar_one()


def test_login_goes_to_the_cas_server_with_a_service_bound_to_this_browser(cas_env, client):
    url = start(client)
    assert url.startswith(f"{cas_env.url}/login?")
    service = parse_qs(urlsplit(url).query)["service"][0]
    assert service.startswith("http://testserver/auth/cas/unified/callback?state=")
    assert client.cookies.get("ybz_sso_state") == parse_qs(urlsplit(service).query)["state"][0]
    page = client.get("/login")
    assert 'href="/auth/cas/unified/login?next=/console"' in page.text and "政务统一身份认证（CAS）" in page.text


def test_first_cas_login_creates_the_user_of_the_claimed_org(cas_env, world, client):
    response = cas_login(client, "zhang.market")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"
    assert "数据使用方" in client.get("/console").text
    with world.db.read() as s:
        ident = s.execute(select(SsoIdentity)).scalar_one()
        assert ident.provider == "unified"
        user = s.get(User, ident.user_id)
        assert [(ra.role, ra.org_id) for ra in user.roles] == [("数据使用方", world.orgs["market"].id)]
    assert events(world, "web.login")[0]["via"] == "cas:unified"


def test_cas_user_of_no_org_is_refused_with_whom_to_ask(cas_env, world, client):
    response = cas_login(client, "li.no.org")
    assert response.status_code == 403 and "sso_no_org" in response.text and CONTACT in response.text
    assert sessions(world) == 0
    assert events(world, "sso.refused")[-1]["code"] == "sso_no_org"


def test_replayed_ticket_and_wrong_state_are_refused(cas_env, world, client):
    callback = login_at_cas(start(client), "zhang.market")
    assert client.get(path_of(callback), follow_redirects=False).status_code == 303
    client.cookies.clear()
    with world.db.write() as s:
        s.query(WebSession).delete()
    # The same callback again: its state was used up.
    assert client.get(path_of(callback), follow_redirects=False).status_code == 400
    # The used ticket under a fresh sign-in's state: the CAS server refuses it.
    ticket = parse_qs(urlsplit(callback).query)["ticket"][0]
    fresh = parse_qs(urlsplit(parse_qs(urlsplit(start(client)).query)["service"][0]).query)["state"][0]
    replay = client.get(f"/auth/cas/unified/callback?state={fresh}&ticket={ticket}", follow_redirects=False)
    assert replay.status_code == 401 and "sso_ticket_refused" in replay.text
    # A state that this browser was not given.
    forged = path_of(login_at_cas(start(client), "zhang.market")).replace("state=", "state=x")
    assert client.get(forged, follow_redirects=False).status_code == 400
    assert sessions(world) == 0
    codes = [e["code"] for e in events(world, "sso.refused")]
    assert codes == ["sso_state_mismatch", "sso_ticket_refused", "sso_state_mismatch"]
    assert events(world, "sso.refused")[1]["detail"] in ("INVALID_TICKET", "INVALID_SERVICE")
