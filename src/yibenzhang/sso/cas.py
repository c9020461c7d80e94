"""The CAS 3.0 client: `/login?service=…` at the server, then the service ticket validated at
`/p3/serviceValidate` (the response's user and attributes become the claims; `sub` is the user).

Single logout: the CAS server POSTs a SAML 2.0 `logoutRequest` naming the service ticket to the
service URL when the person signs out there; the local session that ticket opened ends
(`single_logout`; tickets and sessions are kept as digests only).

CAS has no `state`: ours rides in the service URL (`…/callback?state=…`), is also held in the
browser's cookie and kept server-side like an OpenID Connect sign-in's, so a callback from a
sign-in this browser did not start is refused. A ticket is good once at the server.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import delete

from ..access import Actor
from ..config import get_settings
from ..crypto import hmac_sm3_hex, sm3_hex
from ..db import Database, utcnow
from ..ledger import service as ledger
from ..orgs import sessions
from ..orgs.model import WebSession
from . import oidc
from .config import Provider
from .model import SsoCasSession, SsoLogin
from .oidc import LOGIN_MINUTES, SsoRefused

NS = "{http://www.yale.edu/tp/cas}"
HTTP_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 1_000_000


def service_url(callback: str, state: str) -> str:
    return f"{callback}?{urlencode({'state': state})}"


def begin(db: Database, p: Provider, callback: str, next_url: str) -> tuple[str, str]:
    """(the server's login URL, the state for the browser's cookie)."""
    state = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as s:
        s.execute(delete(SsoLogin).where(SsoLogin.created_at < now - timedelta(minutes=LOGIN_MINUTES)))
        s.add(SsoLogin(state_digest=oidc._digest(state), provider=p.name, nonce="", code_verifier="",
                       next_url=next_url, created_at=now))
    return f"{p.server_url}/login?{urlencode({'service': service_url(callback, state)})}", state


def _refused(detail: str) -> SsoRefused:
    return SsoRefused("sso_ticket_refused", "统一身份认证平台未确认本次登录的票据（可能已被使用或已过期），请重新登录",
                      detail=detail[:64])


def parse(body: bytes) -> dict[str, Any]:
    """The claims of a CAS 3.0 serviceResponse, or a refusal with the server's failure code."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise _refused("bad_response") from exc
    failure = root.find(f"{NS}authenticationFailure")
    if failure is not None:
        raise _refused(failure.get("code") or "authenticationFailure")
    success = root.find(f"{NS}authenticationSuccess")
    user = success.findtext(f"{NS}user") if success is not None else None
    if success is None or not user or not user.strip():
        raise _refused("bad_response")
    claims: dict[str, Any] = {}
    attributes = success.find(f"{NS}attributes")
    for el in attributes if attributes is not None else []:
        key = el.tag.removeprefix(NS)
        value = (el.text or "").strip()
        if key in claims:  # a repeated attribute is a multi-valued one
            claims[key] = [*(claims[key] if isinstance(claims[key], list) else [claims[key]]), value]
        else:
            claims[key] = value
    claims["sub"] = user.strip()
    return claims


def validate(p: Provider, callback: str, state: str, ticket: str | None) -> dict[str, Any]:
    if not ticket:
        raise oidc.state_mismatch()
    params = {"service": service_url(callback, state), "ticket": ticket}
    try:
        response = httpx.get(f"{p.server_url}/p3/serviceValidate", params=params, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise oidc.unreachable() from exc
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise _refused("response_too_large")
    return parse(response.content)


# --- single logout (the CAS server's logoutRequest) --------------------------------------------

SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"
LOGOUT_REQUEST_MAX = 10_000


def ticket_digest(provider_name: str, ticket: str) -> str:
    return hmac_sm3_hex(get_settings().secret_key.encode(), f"cas-ticket:{provider_name}:{ticket}".encode())


def remember(db: Database, p: Provider, ticket: str, session_raw: str, user_id: int) -> None:
    """After a CAS sign-in: the ticket that opened this session (digests only). Rows older than a
    session's lifetime go at the same time (their sessions have ended anyway)."""

    now = utcnow()
    with db.write() as s:
        s.execute(delete(SsoCasSession).where(SsoCasSession.created_at < now - sessions.lifetime()))
        s.merge(SsoCasSession(ticket_digest=ticket_digest(p.name, ticket), provider=p.name,
                              session_digest=sm3_hex(session_raw.encode()), user_id=user_id, created_at=now))


def logout_ticket(body: str) -> str | None:
    """The service ticket a SAML 2.0 LogoutRequest names (its SessionIndex), or None."""
    if not body or len(body) > LOGOUT_REQUEST_MAX or "<!DOCTYPE" in body.upper() or "<!ENTITY" in body.upper():
        return None  # no DTDs: a logout request never needs one
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != f"{SAMLP}LogoutRequest":
        return None
    ticket = (root.findtext(f"{SAMLP}SessionIndex") or "").strip()
    return ticket or None


def single_logout(db: Database, p: Provider, body: str) -> bool:
    """End the local session a CAS server's logoutRequest names. True when one ended; the
    ledger records it (web.logout via cas:<name>, single logout). An unknown ticket is ignored."""

    ticket = logout_ticket(body)
    if ticket is None:
        return False
    with db.write() as s:
        row = s.get(SsoCasSession, ticket_digest(p.name, ticket))
        if row is None:
            return False
        ended = s.execute(delete(WebSession).where(WebSession.id_digest == row.session_digest)).rowcount or 0
        s.delete(row)
        ledger.append(s, Actor.system(), "web.logout", "user", row.user_id,
                      {"via": f"cas:{p.name}", "single_logout": True, "sessions_ended": int(ended)})
    return bool(ended)
