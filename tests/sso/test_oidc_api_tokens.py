"""The provider's access tokens on the API (issue 18): a JWT access token (RFC 9068) that the real
OpenID Provider issues for the platform's resource indicator is accepted as a bearer token,
checked against the provider's JWKS, audience and times, and acts as the linked platform user;
every other token is refused with a stable code, and the platform's own tokens keep working."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.sso.conftest import CLIENT_ID, OpenIdProvider, login_at_provider
from tests.sso.servers import API_AUDIENCE

CALLBACK = "http://testserver/auth/oidc/gov/callback"


def provider_tokens(op: OpenIdProvider, login: str, resource: str | None = API_AUDIENCE) -> dict:
    """The code flow with PKCE as an API client runs it (here: a script), asking for the
    platform's resource; the token endpoint's answer."""
    meta = httpx.get(f"{op.issuer}/.well-known/openid-configuration").json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"client_id": CLIENT_ID, "response_type": "code", "scope": "openid", "redirect_uri": CALLBACK,
             "code_challenge": challenge, "code_challenge_method": "S256", "state": secrets.token_urlsafe(8),
             "nonce": secrets.token_urlsafe(8)}
    if resource:
        query["resource"] = resource
    callback = login_at_provider(f"{meta['authorization_endpoint']}?{urlencode(query)}", login)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    if resource:
        form["resource"] = resource
    response = httpx.post(meta["token_endpoint"], data=form, auth=(CLIENT_ID, op.client_secret))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def api_env(oidc_env: OpenIdProvider, monkeypatch: pytest.MonkeyPatch) -> OpenIdProvider:
    monkeypatch.setenv("YBZ_OIDC_GOV_API_AUDIENCE", API_AUDIENCE)
    return oidc_env


def link(world, client, subject: str = "police.steward", username: str = "police_steward") -> int:
    linked = client.post("/api/v1/sso/identities", headers=world.headers("secadmin"),
                         json={"provider": "gov", "subject": subject, "username": username})
    assert linked.status_code == 201, linked.text
    return linked.json()["id"]


def me(client, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_a_provider_access_token_acts_as_the_linked_user(api_env, world, client):
    link(world, client)
    token = provider_tokens(api_env, "police.steward")["access_token"]
    assert token.count(".") == 2  # a JWT access token, for the platform's audience
    response = me(client, token)
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "police_steward" and response.json()["authenticated"] is True
    # the platform's own tokens are unaffected
    assert client.get("/api/v1/me", headers=world.headers("consumer")).json()["username"] == "consumer"


def refusal(client, token: str) -> str:
    response = me(client, token)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["detail"] and body["detail_en"]
    return body["code"]


def test_refusals_have_stable_codes(api_env, world, client):
    ident = link(world, client)
    op = api_env
    now = int(time.time())
    claims = {"iss": op.issuer, "sub": "police.steward", "aud": API_AUDIENCE, "iat": now, "exp": now + 600,
              "client_id": CLIENT_ID, "jti": secrets.token_hex(8), "scope": "api"}
    assert me(client, op.sign(claims, typ="at+jwt")).status_code == 200  # signed by the provider's key: valid
    assert refusal(client, op.sign({**claims, "aud": "https://another.api"}, typ="at+jwt")) == "oidc_token_audience"
    assert refusal(client, op.sign({**claims, "exp": now - 3600, "iat": now - 7200}, typ="at+jwt")) == \
        "oidc_token_expired"
    assert refusal(client, op.sign({**claims, "iss": "http://127.0.0.1:9/evil"}, typ="at+jwt")) == \
        "oidc_token_issuer"
    assert refusal(client, op.sign(claims)) == "oidc_token_type"  # no at+jwt: e.g. an ID token
    good = op.sign(claims, typ="at+jwt")
    header, payload, signature = good.split(".")
    forged = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b"police.steward", b"police.approve")).rstrip(b"=").decode()
    assert refusal(client, f"{header}.{forged}.{signature}") == "oidc_token_invalid"  # tampered payload
    assert refusal(client, op.sign({**claims, "sub": "wang.market"}, typ="at+jwt")) == "oidc_token_not_linked"
    # an ID token from the real provider is not an access token
    id_token = provider_tokens(op, "police.steward", resource=None)["id_token"]
    assert refusal(client, id_token) in ("oidc_token_type", "oidc_token_audience")
    # disabled identity: refused; the platform's own token of the same user still works
    assert client.post(f"/api/v1/sso/identities/{ident}/disabled", headers=world.headers("secadmin"),
                       json={"disabled": True}).status_code == 200
    assert refusal(client, good) == "oidc_token_identity_disabled"


def test_without_an_api_audience_provider_tokens_are_not_accepted(oidc_env, world, client):
    link(world, client)
    now = int(time.time())
    token = oidc_env.sign({"iss": oidc_env.issuer, "sub": "police.steward", "aud": API_AUDIENCE, "iat": now,
                           "exp": now + 600}, typ="at+jwt")
    assert refusal(client, token) == "bad_token"  # the feature is off: an unknown bearer token


def test_refusals_of_a_providers_tokens_are_in_the_ledger_without_the_token(api_env, world, client):
    """Each refusal of a token that names the provider is a `sso.refused` entry with its code (the
    subject's digest once the signature holds); a token of no configured issuer leaves none; no
    entry holds the token or the subject in clear."""
    import json

    from sqlalchemy import select

    from yibenzhang.ledger.model import LedgerEvent
    from yibenzhang.sso.service import subject_digest

    link(world, client)
    op = api_env
    now = int(time.time())
    claims = {"iss": op.issuer, "sub": "police.steward", "aud": API_AUDIENCE, "iat": now, "exp": now + 600}
    good = op.sign(claims, typ="at+jwt")
    header, payload, signature = good.split(".")
    tokens = {
        "oidc_token_audience": op.sign({**claims, "aud": "https://another.api"}, typ="at+jwt"),
        "oidc_token_expired": op.sign({**claims, "exp": now - 3600, "iat": now - 7200}, typ="at+jwt"),
        "oidc_token_type": op.sign(claims),
        "oidc_token_invalid": f"{header}.{payload}.{signature[::-1]}",
        "oidc_token_not_linked": op.sign({**claims, "sub": "wang.market"}, typ="at+jwt"),
    }
    for code, token in tokens.items():
        assert refusal(client, token) == code
    assert refusal(client, op.sign({**claims, "iss": "http://127.0.0.1:9/evil"}, typ="at+jwt")) == "oidc_token_issuer"
    assert me(client, good).status_code == 200
    with world.db.read() as s:
        events = s.execute(select(LedgerEvent).where(LedgerEvent.action == "sso.refused")).scalars().all()
        contents = [json.loads(e.content) for e in events]
    assert sorted(c["code"] for c in contents) == sorted(tokens)  # not the unknown issuer's, not the good one
    assert {c["provider"] for c in contents} == {"gov"} and {c["detail"] for c in contents} == {"api"}
    by_code = {c["code"]: c for c in contents}
    assert by_code["oidc_token_expired"]["subject"] == subject_digest("gov", "police.steward")[:16]
    assert by_code["oidc_token_not_linked"]["subject"] == subject_digest("gov", "wang.market")[:16]
    assert "subject" not in by_code["oidc_token_invalid"] and "subject" not in by_code["oidc_token_type"]
    stored = json.dumps(contents, ensure_ascii=False)
    assert "police.steward" not in stored and "wang.market" not in stored
    assert not [t for t in tokens.values() if t.split(".")[2][:16] in stored]
