"""Attacks on the sign-in, with the real OpenID Provider doing the flow: each is refused with a
stable code and a clear message, leaves a ledger entry, and never opens a session.

Tampered ID tokens come from a proxy in front of the provider's token endpoint: either the
provider's token with its payload changed (the signature no longer matches), or new claims
signed with the provider's own key (only the claims are wrong)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.sso.conftest import login_at_provider, path_of
from tests.sso.test_oidc_login import events, start
from yibenzhang.orgs.model import WebSession


@pytest.fixture
def via_proxy(oidc_env, tamper_proxy, monkeypatch):
    """The platform reads the provider's discovery through the tampering proxy."""
    from yibenzhang.sso import oidc

    monkeypatch.setenv("YBZ_OIDC_GOV_METADATA_URL", f"{tamper_proxy.url}/.well-known/openid-configuration")
    oidc.forget_cache()
    tamper_proxy.mode = None
    yield tamper_proxy
    tamper_proxy.mode = None
    oidc.forget_cache()


def no_session(world, response) -> None:
    assert "ybz_session" not in response.headers.get("set-cookie", "")
    with world.db.read() as s:
        assert s.execute(select(func.count()).select_from(WebSession)).scalar_one() == 0


def refused(world, response, code: str, status: int = 401) -> dict:
    assert response.status_code == status, response.text
    assert code in response.text and "统一身份认证登录未成功" in response.text
    no_session(world, response)
    last = events(world, "sso.refused")[-1]
    assert last["code"] == code and last["provider"] == "gov"
    return last


MODES = [
    ("tampered", "sso_id_token_invalid", "signature"),
    ("unsigned", "sso_id_token_invalid", None),
    ("audience", "sso_id_token_audience", "aud"),
    ("expired", "sso_id_token_expired", "exp"),
    ("nonce", "sso_id_token_nonce", "nonce"),
    ("issuer", "sso_id_token_issuer", "iss"),
]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the checks are the platform's code, not the store's
@pytest.mark.parametrize(("mode", "code", "detail"), MODES, ids=[m[0] for m in MODES])
def test_bad_id_token_is_refused(via_proxy, world, client, mode, code, detail):
    # The untampered token through the same proxy signs in (the proxy itself is harmless) …
    ok = client.get(path_of(login_at_provider(start(client), "wang.market")), follow_redirects=False)
    assert ok.status_code == 303, ok.text
    client.cookies.clear()
    with world.db.write() as s:
        s.query(WebSession).delete()
    # … and the tampered one is refused.
    via_proxy.mode = mode
    response = client.get(path_of(login_at_provider(start(client), "wang.market")), follow_redirects=False)
    assert via_proxy.seen[-1] == mode
    entry = refused(world, response, code)
    if detail:
        assert entry["detail"] == detail
    assert "eyJ" not in str(entry)  # no token in the ledger
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_replayed_code_is_refused(oidc_env, world, client):
    callback = login_at_provider(start(client), "wang.market")
    assert client.get(path_of(callback), follow_redirects=False).status_code == 303
    client.cookies.clear()
    with world.db.write() as s:
        s.query(WebSession).delete()
    # The same callback again: its state was used up.
    refused(world, client.get(path_of(callback), follow_redirects=False), "sso_state_mismatch", 400)
    # The code again, under a fresh sign-in's state: the provider refuses it (used already).
    fresh_state = start(client).split("state=")[1].split("&")[0]
    code = callback.split("code=")[1].split("&")[0]
    replay = client.get(f"/auth/oidc/gov/callback?code={code}&state={fresh_state}", follow_redirects=False)
    entry = refused(world, replay, "sso_code_refused")
    assert entry["detail"] == "invalid_grant"


def test_wrong_state_is_refused(oidc_env, world, client):
    callback = login_at_provider(start(client), "wang.market")
    state = callback.split("state=")[1].split("&")[0]
    forged = path_of(callback).replace(f"state={state}", "state=forged-by-an-attacker")
    refused(world, client.get(forged, follow_redirects=False), "sso_state_mismatch", 400)
    # The right state from a browser that did not start this sign-in (no cookie): login CSRF.
    client.cookies.clear()
    refused(world, client.get(path_of(callback), follow_redirects=False), "sso_state_mismatch", 400)


def test_provider_error_is_refused(oidc_env, world, client):
    state = start(client).split("state=")[1].split("&")[0]
    response = client.get(f"/auth/oidc/gov/callback?error=access_denied&state={state}", follow_redirects=False)
    assert refused(world, response, "sso_provider_refused")["detail"] == "access_denied"
