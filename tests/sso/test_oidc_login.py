"""Sign-in through a real OpenID Provider (node-oidc-provider): the code flow with PKCE, the
mapping of a subject to a platform user, first-login provisioning, refusals with whom to ask,
and the administrator's link / unlink / disable."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from tests.factories import PASSWORD
from tests.sso.conftest import CLIENT_ID, CONTACT, login_at_provider, path_of
from tests.web.conftest import csrf_of
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.orgs.model import User, WebSession
from yibenzhang.sso.model import SsoIdentity


def start(client, next_url: str = "/console") -> str:
    response = client.get(f"/auth/oidc/gov/login?next={next_url}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def sso_login(client, login: str):
    callback = login_at_provider(start(client), login)
    return client.get(path_of(callback), follow_redirects=False)


def events(world, action: str) -> list[dict]:
    with world.db.read() as s:
        rows = s.execute(select(LedgerEvent).where(LedgerEvent.action == action).order_by(LedgerEvent.seq)).scalars()
        return [{"subject": r.subject_id, **json.loads(r.content)} for r in rows]


def session_count(world) -> int:
    with world.db.read() as s:
        return s.execute(select(func.count()).select_from(WebSession)).scalar_one()


def test_authorization_request_uses_pkce_nonce_and_state(oidc_env, client):
    url = start(client)
    assert url.startswith(oidc_env.issuer)
    q = parse_qs(urlsplit(url).query)
    assert q["client_id"] == [CLIENT_ID] and q["response_type"] == ["code"]
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
    assert len(q["nonce"][0]) >= 32 and len(q["state"][0]) >= 32
    assert q["redirect_uri"] == ["http://testserver/auth/oidc/gov/callback"]
    assert client.cookies.get("ybz_sso_state") == q["state"][0]


def test_login_page_lists_the_provider_by_name(oidc_env, client):
    page = client.get("/login?next=/console/catalog")
    assert "云岭省统一身份认证" in page.text
    assert 'href="/auth/oidc/gov/login?next=/console/catalog"' in page.text
    assert client.get("/api/v1/sso/providers").json() == [
        {"name": "gov", "label": "云岭省统一身份认证", "protocol": "oidc", "login": "/auth/oidc/gov/login"}]


def test_first_login_creates_a_user_of_the_claimed_org_with_the_default_role(oidc_env, world, client):
    response = sso_login(client, "wang.market")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"
    console = client.get("/console")
    assert console.status_code == 200 and "数据使用方" in console.text
    with world.db.read() as s:
        ident = s.execute(select(SsoIdentity)).scalar_one()
        user = s.get(User, ident.user_id)
        assert [(ra.role, ra.org_id) for ra in user.roles] == [("数据使用方", world.orgs["market"].id)]
        assert user.password_hash is None and user.display_name == "王市场"
        assert len(ident.subject_digest) == 64  # the subject is kept only as a keyed digest
        user_id = user.id
    (login,) = events(world, "web.login")
    assert login["via"] == "oidc:gov" and login["factor"] == "sso" and login["subject"] == str(user_id)
    (provision,) = events(world, "sso.provision")
    assert provision["org_id"] == world.orgs["market"].id and provision["role_claim_ignored"] is False
    # No token, code, subject or name in any event of the sign-in.
    with world.db.read() as s:
        text = " ".join(s.execute(select(LedgerEvent.content)).scalars())
    assert "wang.market" not in text and "王市场" not in text and "eyJ" not in text
    # The second sign-in finds the same user by the subject.
    client.cookies.clear()
    assert sso_login(client, "wang.market").status_code == 303
    with world.db.read() as s:
        assert s.execute(select(func.count()).select_from(SsoIdentity)).scalar_one() == 1


def test_a_claim_never_grants_admin(oidc_env, world, client):
    assert sso_login(client, "zhao.claims.admin").status_code == 303
    with world.db.read() as s:
        user = s.get(User, s.execute(select(SsoIdentity.user_id)).scalar_one())
        assert [ra.role for ra in user.roles] == ["数据使用方"]
    (provision,) = events(world, "sso.provision")
    assert provision["role_claim_ignored"] is True
    assert client.get("/api/v1/sso/identities").status_code in (401, 403)


def test_no_org_is_refused_with_whom_to_ask_and_no_session(oidc_env, world, client):
    for login in ("li.unknown.org", "chen.no.org"):
        client.cookies.clear()
        response = sso_login(client, login)
        assert response.status_code == 403
        assert "sso_no_org" in response.text and CONTACT in response.text
        assert "ybz_session" not in response.headers.get("set-cookie", "")
    assert session_count(world) == 0
    refusals = events(world, "sso.refused")
    assert [r["code"] for r in refusals] == ["sso_no_org", "sso_no_org"]
    assert all(len(r["subject"]) == 16 and "li." not in r["subject"] for r in refusals)


def test_without_auto_create_an_unknown_person_is_told_whom_to_ask(oidc_env, world, client, monkeypatch):
    monkeypatch.delenv("YBZ_OIDC_GOV_AUTO_CREATE")
    response = sso_login(client, "wang.market")
    assert response.status_code == 403 and "sso_not_linked" in response.text and CONTACT in response.text
    assert events(world, "sso.refused")[0]["code"] == "sso_not_linked"


def test_linked_identity_signs_in_as_the_platform_user_and_skips_local_totp(oidc_env, world, client, monkeypatch):
    monkeypatch.setenv("YBZ_MFA_REQUIRED_ROLES", "数据专员")  # a password sign-in would need a second factor
    from yibenzhang.config import reset_settings

    reset_settings()
    admin = world.headers("secadmin")
    linked = client.post("/api/v1/sso/identities", headers=admin,
                         json={"provider": "gov", "subject": "police.steward", "username": "police_steward"})
    assert linked.status_code == 201, linked.text
    response = sso_login(client, "police.steward")
    assert response.status_code == 303 and response.headers["location"] == "/console"
    assert "数据专员" in client.get("/console").text
    assert events(world, "sso.link")[0]["subject"] == str(world.users["police_steward"])
    # Logout ends the local session, and sends the browser on to the provider's end-session endpoint.
    csrf = csrf_of(client.get("/console").text)
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/auth/oidc/gov/logout"
    hop = client.get("/auth/oidc/gov/logout")
    refresh = hop.headers["refresh"].removeprefix("0;url=")
    assert refresh.startswith(f"{oidc_env.issuer}/session/end?client_id={CLIENT_ID}")
    assert "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2F" in refresh
    assert refresh in hop.text.replace("&amp;", "&")  # the link, for a browser that ignores Refresh
    import httpx

    assert httpx.get(refresh).status_code == 200  # the provider accepts the request
    assert client.get("/console", follow_redirects=False).headers["location"].startswith("/login")
    assert session_count(world) == 0
    # Disabled: refused (and the user's sessions end); enabled again: signs in; unlinked: refused.
    ident = linked.json()["id"]
    assert client.post(f"/api/v1/sso/identities/{ident}/disabled", headers=admin,
                       json={"disabled": True}).json()["disabled"] is True
    refused = sso_login(client, "police.steward")
    assert refused.status_code == 403 and "sso_identity_disabled" in refused.text
    client.post(f"/api/v1/sso/identities/{ident}/disabled", headers=admin, json={"disabled": False})
    assert sso_login(client, "police.steward").status_code == 303
    assert client.delete(f"/api/v1/sso/identities/{ident}", headers=admin).status_code == 204
    assert session_count(world) == 0  # unlinking ended the session that came through it
    monkeypatch.delenv("YBZ_OIDC_GOV_AUTO_CREATE")
    assert sso_login(client, "police.steward").status_code == 403
    assert [e["code"] for e in events(world, "sso.refused")] == ["sso_identity_disabled", "sso_not_linked"]
    assert [len(events(world, a)) for a in ("sso.disable", "sso.enable", "sso.unlink")] == [1, 1, 1]


def test_only_the_security_administrator_links(oidc_env, world, client):
    body = {"provider": "gov", "subject": "x", "username": "consumer"}
    assert client.post("/api/v1/sso/identities", headers=world.headers("police_steward"), json=body).status_code == 403
    assert client.post("/api/v1/sso/identities", headers=world.headers("admin"), json=body).status_code == 403
    assert client.post("/api/v1/sso/identities", headers=world.headers("secadmin"),
                       json={**body, "provider": "nope"}).status_code == 404
    assert client.post("/api/v1/sso/identities", headers=world.headers("secadmin"), json=body).status_code == 201
    assert client.post("/api/v1/sso/identities", headers=world.headers("secadmin"), json=body).status_code == 409


def test_unknown_provider_is_a_404_page(oidc_env, client):
    response = client.get("/auth/oidc/nope/login")
    assert response.status_code == 404 and "sso_provider_not_found" in response.text


def test_password_login_still_works_beside_sso(oidc_env, client):
    page = client.get("/login")
    response = client.post("/login", data={"username": "consumer", "password": PASSWORD,
                                           "csrf_token": csrf_of(page.text), "next": "/console"},
                           follow_redirects=False)
    assert response.status_code == 303


def test_a_provider_that_is_down_gets_a_clear_page_not_a_500(oidc_env, world, client, monkeypatch):
    from yibenzhang.sso import oidc

    monkeypatch.setenv("YBZ_OIDC_GOV_ISSUER", "http://127.0.0.1:9")  # nothing listens there
    oidc.forget_cache()
    response = client.get("/auth/oidc/gov/login", follow_redirects=False)
    assert response.status_code == 503 and "sso_provider_unreachable" in response.text
    assert events(world, "sso.refused")[-1]["code"] == "sso_provider_unreachable"
