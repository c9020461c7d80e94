"""The OpenID Connect relying party: authorization code flow with PKCE (S256), state and nonce,
discovery, ID-token checks (signature against the provider's JWKS, issuer, audience, azp,
expiry, nonce, at_hash) and userinfo.

Authlib does the protocol (its OAuth2 client builds the request and exchanges the code; its
`CodeIDToken` checks the ID token's claims) and joserfc, the Authlib project's JOSE library,
checks the signature. Every failure is an `SsoRefused` with a stable code; no token, code or
claim value is ever logged or kept beyond the request.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingKeyError,
)
from joserfc.jwk import KeySet
from sqlalchemy import delete

from ..config import get_settings
from ..crypto import constant_time_equal, hmac_sm3_hex
from ..db import Database, utcnow
from ..errors import DomainError
from ..i18n import N_
from .config import Provider
from .model import SsoLogin

LOGIN_MINUTES = 10  # a sign-in must come back from the provider within this time
HTTP_TIMEOUT = 10.0
METADATA_TTL = 3600.0
# Asymmetric signatures only: `none` and HS* (keyed with the client secret) are refused.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class SsoRefused(DomainError):
    """A sign-in through a provider that did not succeed: a stable code, zh + en reason, and
    whom to ask (`contact`) when the person can do nothing about it themselves."""

    status = 401
    title = "统一身份认证登录未成功"

    def __init__(self, code: str, message: str, *, status: int | None = None, contact: str | None = None,
                 detail: str | None = None, **params: Any) -> None:
        if contact is not None:
            params["contact"] = contact  # messages name it as {contact}
        super().__init__(code, message, **params)
        if status is not None:
            self.status = status
        self.contact = contact
        self.detail = detail  # for the ledger only (an OAuth error code, a claim name), never shown


def state_mismatch() -> SsoRefused:
    return SsoRefused("sso_state_mismatch", "登录请求已失效或与本浏览器不匹配，请重新登录", status=400)


def unreachable() -> SsoRefused:
    return SsoRefused("sso_provider_unreachable", "暂时无法连接统一身份认证平台，请稍后再试", status=503)


# --- discovery and keys (cached per process: both are public and change rarely) --------------

_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def _get_json(url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, **kwargs)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise unreachable() from exc
    if not isinstance(body, dict):
        raise unreachable()
    return body


def metadata(p: Provider) -> dict[str, Any]:
    """The provider's discovery document; its `issuer` must be the configured one exactly
    (OpenID Connect Discovery 4.3)."""
    with _lock:
        hit = _cache.get(p.metadata_url)
    if hit and time.monotonic() - hit[0] < METADATA_TTL:
        return hit[1]
    meta = _get_json(p.metadata_url)
    if meta.get("issuer", "").rstrip("/") != p.issuer:
        raise SsoRefused("sso_issuer_mismatch", "统一身份认证平台的配置与本平台登记的不一致，请联系平台管理员",
                         status=503, detail="discovery issuer")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not meta.get(key):
            raise unreachable()
    with _lock:
        _cache[p.metadata_url] = (time.monotonic(), meta)
    return meta


def _keys(meta: dict[str, Any], refresh: bool = False) -> KeySet:
    url = meta["jwks_uri"]
    with _lock:
        hit = _cache.get(url)
    if hit and not refresh and time.monotonic() - hit[0] < METADATA_TTL:
        return hit[1]
    keys = KeySet.import_key_set(_get_json(url))  # type: ignore[arg-type]
    with _lock:
        _cache[url] = (time.monotonic(), keys)
    return keys


def forget_cache() -> None:
    with _lock:
        _cache.clear()


# --- the flow ---------------------------------------------------------------------------------


def _digest(state: str) -> str:
    return hmac_sm3_hex(get_settings().secret_key.encode(), f"sso-state:{state}".encode())


def _client(p: Provider, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(client_id=p.client_id, client_secret=p.client_secret, scope=p.scopes,
                        redirect_uri=redirect_uri, code_challenge_method="S256", timeout=HTTP_TIMEOUT)


def begin(db: Database, p: Provider, redirect_uri: str, next_url: str) -> tuple[str, str]:
    """Start a sign-in: (the provider's authorization URL, the state for the browser's cookie).
    The state, nonce and PKCE verifier are kept server-side until the callback uses them."""
    meta = metadata(p)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    now = utcnow()
    with db.write() as s:
        s.execute(delete(SsoLogin).where(SsoLogin.created_at < now - timedelta(minutes=LOGIN_MINUTES)))
        s.add(SsoLogin(state_digest=_digest(state), provider=p.name, nonce=nonce, code_verifier=verifier,
                       next_url=next_url, created_at=now))
    with _client(p, redirect_uri) as client:
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state,
                                                 code_verifier=verifier, nonce=nonce)
    return url, state


def take_login(db: Database, p: Provider, state: str | None, cookie_state: str | None) -> SsoLogin:
    """The sign-in this callback belongs to, removed so it cannot be used twice. The state must
    equal the one this browser was given (login CSRF) and be known, fresh and of this provider."""
    if not state or not cookie_state or not constant_time_equal(state, cookie_state):
        raise state_mismatch()
    with db.write() as s:
        row = s.get(SsoLogin, _digest(state))
        if row is None:
            raise state_mismatch()
        s.delete(row)
        login = SsoLogin(state_digest=row.state_digest, provider=row.provider, nonce=row.nonce,
                         code_verifier=row.code_verifier, next_url=row.next_url, created_at=row.created_at)
    if login.provider != p.name or utcnow() - login.created_at > timedelta(minutes=LOGIN_MINUTES):
        raise state_mismatch()
    return login


def _token_refused(detail: str) -> SsoRefused:
    return SsoRefused("sso_code_refused", "统一身份认证平台未接受本次登录的授权码（可能已被使用或已过期），请重新登录",
                      detail=detail)


def exchange(p: Provider, redirect_uri: str, login: SsoLogin, code: str) -> dict[str, Any]:
    """Trade the code (with the PKCE verifier) for tokens at the token endpoint."""
    meta = metadata(p)
    try:
        with _client(p, redirect_uri) as client:
            token = client.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                       code_verifier=login.code_verifier)
    except (OAuthError, OAuth2Error) as exc:
        raise _token_refused(str(exc.error or "oauth_error")[:64]) from exc
    except httpx.HTTPError as exc:
        raise unreachable() from exc
    except ValueError as exc:  # a body that is not JSON
        raise _token_refused("bad_token_response") from exc
    if not token.get("id_token") or not token.get("access_token"):
        raise _token_refused("no_id_token")
    return dict(token)


_CLAIM_REFUSALS = {
    "iss": ("sso_id_token_issuer", N_("身份令牌的签发方不是所配置的统一身份认证平台")),
    "aud": ("sso_id_token_audience", N_("身份令牌不是签发给本平台的")),
    "azp": ("sso_id_token_audience", N_("身份令牌不是签发给本平台的")),
    "nonce": ("sso_id_token_nonce", N_("身份令牌与本次登录请求不对应（nonce 不符）")),
}


def _invalid(detail: str) -> SsoRefused:
    return SsoRefused("sso_id_token_invalid", "身份令牌校验失败（签名或内容无效）", detail=detail)


def verify_id_token(p: Provider, id_token: str, *, nonce: str, access_token: str | None = None,
                    now: float | None = None) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, times and nonce are right."""
    meta = metadata(p)
    offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algs = [a for a in offered if a in SIGNING_ALGS]
    try:
        try:
            token = jwt.decode(id_token, _keys(meta), algorithms=algs)
        except (InvalidKeyIdError, MissingKeyError, ValueError):
            token = jwt.decode(id_token, _keys(meta, refresh=True), algorithms=algs)  # the provider rotated its keys
    except BadSignatureError as exc:
        raise _invalid("signature") from exc
    except (JoseError, ValueError) as exc:
        raise _invalid(type(exc).__name__) from exc
    claims = CodeIDToken(token.claims, token.header,
                         options={"iss": {"essential": True, "value": p.issuer},
                                  "aud": {"essential": True, "value": p.client_id},
                                  "sub": {"essential": True}},
                         params={"nonce": nonce, "client_id": p.client_id, "access_token": access_token})
    try:
        claims.validate(now=int(now if now is not None else time.time()), leeway=p.leeway_seconds)
    except ExpiredTokenError as exc:
        raise SsoRefused("sso_id_token_expired", "身份令牌已过期，请重新登录", detail="exp") from exc
    except ClaimError as exc:
        code, message = _CLAIM_REFUSALS.get(exc.claim, ("sso_id_token_invalid", "身份令牌校验失败（签名或内容无效）"))
        raise SsoRefused(code, message, detail=exc.claim) from exc
    except JoseError as exc:
        raise _invalid(type(exc).__name__) from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _invalid("sub")
    return dict(claims)


def userinfo(p: Provider, access_token: str, subject: str) -> dict[str, Any]:
    """The userinfo claims; their `sub` must be the ID token's (OpenID Connect Core 5.3.2)."""
    meta = metadata(p)
    url = meta.get("userinfo_endpoint")
    if not url:
        return {}
    info = _get_json(url, headers={"Authorization": f"Bearer {access_token}"})
    if info.get("sub") != subject:
        raise SsoRefused("sso_userinfo_mismatch", "统一身份认证平台返回的用户信息与身份令牌不一致", detail="sub")
    return info


def finish(db: Database, p: Provider, redirect_uri: str, login: SsoLogin, *, code: str | None,
           error: str | None) -> dict[str, Any]:
    """The claims of a completed sign-in (ID token checked, userinfo merged under it)."""
    if error:
        raise SsoRefused("sso_provider_refused", "统一身份认证平台未完成登录，请重新登录", detail=error[:64])
    if not code:
        raise state_mismatch()
    token = exchange(p, redirect_uri, login, code)
    claims = verify_id_token(p, token["id_token"], nonce=login.nonce, access_token=token["access_token"])
    info = userinfo(p, token["access_token"], claims["sub"])
    return {**info, **claims}


def logout_url(p: Provider, post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) where the provider offers it:
    its end-session endpoint with our client id and where to come back. None when it has none or
    cannot be reached (the local sign-out has happened anyway)."""
    try:
        endpoint = metadata(p).get("end_session_endpoint")
    except SsoRefused:
        return None
    if not endpoint:
        return None
    query = urlencode({"client_id": p.client_id, "post_logout_redirect_uri": post_logout_redirect_uri})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
